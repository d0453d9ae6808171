"""Adamax: Adam with the infinity norm in place of the second moment.

    m <- m + (1 - beta_1)(g - m);   u <- max(beta_2 * u, |g|)
    w <- w - lr * m / ((1 - beta_1^t) * (u + epsilon))
Defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7.
Slots: "momentum", "norm" interleaved per variable.
"""
import numpy as np

from glassnet.optimizers.base import Optimizer, _number


class Adamax(Optimizer):
    """Adamax from the Adam paper, section 7 (keras.optimizers.Adamax)."""

    _elementwise = True

    _cycled_hyperparameter = "beta_1"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = _number("Adamax", "beta_1", beta_1, allow_none=False)
        self.beta_2 = _number("Adamax", "beta_2", beta_2, allow_none=False)
        self.epsilon = _number("Adamax", "epsilon", epsilon, allow_none=False)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _step_coefficients(self, learning_rate, f):
        beta_1 = self._hyper("beta_1")
        beta_1_power = np.power(f(beta_1), f(self._step() + 1))
        return learning_rate, f(1 - beta_1), f(self.beta_2), f(self.epsilon), f(1) - beta_1_power

    def _update_arrays(self, w, g, slots, coefficients):
        learning_rate, one_minus_beta_1, beta_2, epsilon, bias_correction = coefficients
        m, u = slots
        tmp, den = self._scratch(w, 0), self._scratch(w, 1)
        np.subtract(g, m, out=tmp)  # m += (g - m) * (1 - beta_1), as Keras writes it
        tmp *= one_minus_beta_1
        m += tmp
        u *= beta_2
        np.abs(g, out=tmp)
        np.maximum(u, tmp, out=u)
        np.add(u, epsilon, out=den)
        den *= bias_correction
        np.multiply(m, learning_rate, out=tmp)
        tmp /= den
        w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
