"""Lion: the sign of an interpolated momentum as the step (Chen et al., 2023).

    w <- w - lr * sign(beta_1 * m + (1 - beta_1) * g);   m <- beta_2 * m + (1 - beta_2) * g
Defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.99. Slot: "momentum".
"""
import numpy as np

from glassnet.optimizers.base import Optimizer, _number


class Lion(Optimizer):
    """EvoLved Sign Momentum (keras.optimizers.Lion); use a 3-10x smaller lr than AdamW."""

    _elementwise = True

    _cycled_hyperparameter = "beta_1"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        _number("Lion", "beta_1", beta_1, allow_none=False)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Lion: argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to "
                f"SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1 = beta_1
        self.beta_2 = _number("Lion", "beta_2", beta_2, allow_none=False)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _step_coefficients(self, learning_rate, f):
        beta_1 = self._hyper("beta_1")
        return learning_rate, f(beta_1), f(1 - beta_1), f(self.beta_2), f(1 - self.beta_2)

    def _update_arrays(self, w, g, slots, coefficients):
        learning_rate, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2 = coefficients
        m = slots[0]
        c, tmp = self._scratch(w, 0), self._scratch(w, 1)
        np.multiply(m, beta_1, out=c)
        np.multiply(g, one_minus_beta_1, out=tmp)
        c += tmp
        np.sign(c, out=c)
        c *= learning_rate
        w -= c
        m *= beta_2
        np.multiply(g, one_minus_beta_2, out=tmp)
        m += tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
