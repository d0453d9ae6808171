"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    v <- rho * v + (1 - rho) * g^2;    (centered: a <- rho * a + (1 - rho) * g, v_ = v - a^2)
    step = lr * g / sqrt(v_ + epsilon);   w <- w - step
    (momentum > 0: m <- momentum * m + step;  w <- w - m)
Defaults: learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False.
Slots in Keras' order: "velocity", then "momentum" (momentum > 0), then "average_gradient" (centered).
"""
import numpy as np

from glassnet.optimizers.base import Optimizer, _number


class RMSprop(Optimizer):
    """Hinton's RMSprop with plain momentum and the centered variant (keras.optimizers.RMSprop)."""

    _elementwise = True

    _cycled_hyperparameter = "momentum"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho = _number("RMSprop", "rho", rho, allow_none=False)
        self.momentum = _number("RMSprop", "momentum", momentum, allow_none=False)
        self.epsilon = _number("RMSprop", "epsilon", epsilon, allow_none=False)
        self.centered = bool(centered)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0 or getattr(self._learning_rate, "cycle_momentum", False):
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient")

    def _step_coefficients(self, learning_rate, f):
        momentum = f(self._hyper("momentum")) if self._momentums else None
        return learning_rate, f(self.rho), f(1 - self.rho), f(self.epsilon), momentum

    def _update_arrays(self, w, g, slots, coefficients):
        learning_rate, rho, one_minus_rho, epsilon, momentum = coefficients
        v = slots[0]
        den, tmp = self._scratch(w, 0), self._scratch(w, 1)
        v *= rho
        np.multiply(g, g, out=tmp)
        tmp *= one_minus_rho
        v += tmp
        if self.centered:
            a = slots[-1]
            a *= rho
            np.multiply(g, one_minus_rho, out=tmp)
            a += tmp
            np.square(a, out=tmp)
            np.subtract(v, tmp, out=den)  # v - a^2 + epsilon, in Keras' order
            den += epsilon
        else:
            np.add(v, epsilon, out=den)
        np.sqrt(den, out=den)
        np.multiply(g, learning_rate, out=tmp)
        tmp /= den  # the increment lr * g / sqrt(...)
        if momentum is not None:
            m = slots[1]
            m *= momentum
            m += tmp
            w -= m
        else:
            w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
        return config
