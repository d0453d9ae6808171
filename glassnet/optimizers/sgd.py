"""SGD: gradient descent, with (Nesterov) momentum as Keras 3 writes it.

    momentum = 0:  w <- w - lr * g
    momentum > 0:  v <- momentum * v - lr * g;   w <- w + v
    nesterov:      v <- momentum * v - lr * g;   w <- w + momentum * v - lr * g
Defaults: learning_rate=0.01, momentum=0.0, nesterov=False. Slot: "momentum" (only when
momentum > 0, or when a OneCycle schedule cycles it).
"""
import numpy as np

from glassnet.optimizers.base import Optimizer, _number


class SGD(Optimizer):
    """Gradient descent with optional momentum and Nesterov momentum (keras.optimizers.SGD)."""

    _elementwise = True
    _fuse_max_size = 4096  # few passes per step: the flat copies pay off only for smaller variables

    _cycled_hyperparameter = "momentum"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        if _number("SGD", "momentum", momentum, allow_none=False) > 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1], received momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = bool(nesterov)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = []
        if self.momentum != 0 or getattr(self._learning_rate, "cycle_momentum", False):
            self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def _step_coefficients(self, learning_rate, f):
        if not self.momentums:
            if getattr(self._learning_rate, "cycle_momentum", False):
                raise ValueError(f"{self.name} was built with momentum=0 before a momentum-cycling schedule was set")
            return learning_rate, None
        return learning_rate, f(self._hyper("momentum"))

    def _update_arrays(self, w, g, slots, coefficients):
        learning_rate, mu = coefficients
        step = self._scratch(w)
        np.multiply(g, learning_rate, out=step)  # lr * g
        if mu is None:
            w -= step
            return
        v = slots[0]
        v *= mu
        v -= step
        if self.nesterov:
            w -= step
            np.multiply(v, mu, out=step)
            w += step
        else:
            w += v

    def _compiled_update(self, rules):
        cls = type(self)
        if cls._update_arrays is not SGD._update_arrays or cls._step_coefficients is not SGD._step_coefficients:
            return None

        def run(params, grad, offsets, slots, coefficients):
            learning_rate, momentum = coefficients
            if momentum is None:
                rules.sgd(params, grad, offsets, learning_rate)
            else:
                rules.sgd_momentum(params, grad, offsets, slots[0], learning_rate, momentum, self.nesterov)
        return run

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
