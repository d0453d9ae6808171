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

    _fusable = True  # update_step is elementwise over per-variable slots

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

    def update_step(self, gradient, variable, learning_rate):
        w, g, f = variable.data, gradient, variable.dtype.type
        i = self._get_variable_index(variable)
        rho, v = f(self.rho), self._velocities[i].data
        den, tmp = self._scratch(w, 0), self._scratch(w, 1)
        v *= rho
        np.multiply(g, g, out=tmp)
        tmp *= f(1 - self.rho)
        v += tmp
        np.add(v, f(self.epsilon), out=den)
        if self.centered:
            a = self._average_gradients[i].data
            a *= rho
            np.multiply(g, f(1 - self.rho), out=tmp)
            a += tmp
            np.multiply(a, a, out=tmp)
            den -= tmp
        np.sqrt(den, out=den)
        np.multiply(g, learning_rate, out=tmp)
        tmp /= den  # the increment lr * g / sqrt(...)
        if self._momentums:
            m = self._momentums[i].data
            m *= f(self._hyper("momentum"))
            m += tmp
            w -= m
        else:
            w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
        return config
