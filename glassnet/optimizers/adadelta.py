"""Adadelta: Adagrad's step, but over a decaying window and in the units of the weights.

    E[g^2] <- rho E[g^2] + (1 - rho) g^2;   d = -sqrt(E[d^2] + eps) / sqrt(E[g^2] + eps) * g
    E[d^2] <- rho E[d^2] + (1 - rho) d^2;   w <- w + lr * d
Defaults: learning_rate=0.001, rho=0.95, epsilon=1e-7.
Slots: "accumulated_grad", "accumulated_delta_var" interleaved per variable.
"""
import numpy as np

from glassnet.optimizers.base import Optimizer, _number


class Adadelta(Optimizer):
    """Zeiler's Adadelta (keras.optimizers.Adadelta)."""

    _elementwise = True

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho = _number("Adadelta", "rho", rho, allow_none=False)
        self.epsilon = _number("Adadelta", "epsilon", epsilon, allow_none=False)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"]
        )

    def _step_coefficients(self, learning_rate, f):
        return learning_rate, f(self.rho), f(1 - self.rho), f(self.epsilon)

    def _update_arrays(self, w, g, slots, coefficients):
        learning_rate, rho, one_minus_rho, eps = coefficients
        acc_g, acc_d = slots
        delta, tmp = self._scratch(w, 0), self._scratch(w, 1)
        acc_g *= rho
        np.multiply(g, g, out=tmp)
        tmp *= one_minus_rho
        acc_g += tmp
        np.add(acc_d, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta *= g
        np.add(acc_g, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        delta /= tmp
        np.negative(delta, out=delta)
        acc_d *= rho
        np.multiply(delta, delta, out=tmp)
        tmp *= one_minus_rho
        acc_d += tmp
        delta *= learning_rate
        w += delta

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
