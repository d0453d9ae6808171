"""Adagrad: per-coordinate steps shrinking with the sum of all past squared gradients.

    a <- a + g^2;   w <- w - lr * g / sqrt(a + epsilon)
Defaults: learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7. Slot: "accumulator".
"""
import numpy as np

from glassnet.optimizers.base import Optimizer, _number


class Adagrad(Optimizer):
    """Duchi et al.'s Adagrad (keras.optimizers.Adagrad)."""

    _elementwise = True

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.initial_accumulator_value = _number("Adagrad", "initial_accumulator_value", initial_accumulator_value,
                                                 allow_none=False)
        self.epsilon = _number("Adagrad", "epsilon", epsilon, allow_none=False)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(var_list, "accumulator",
                                                          initializer=self.initial_accumulator_value)

    def _step_coefficients(self, learning_rate, f):
        return learning_rate, f(self.epsilon)

    def _update_arrays(self, w, g, slots, coefficients):
        learning_rate, epsilon = coefficients
        a = slots[0]
        den, tmp = self._scratch(w, 0), self._scratch(w, 1)
        np.multiply(g, g, out=tmp)
        a += tmp
        np.add(a, epsilon, out=den)
        np.sqrt(den, out=den)
        np.multiply(g, learning_rate, out=tmp)
        tmp /= den
        w -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
