"""Adam: steps scaled by running estimates of the gradient's first and second moments.

    m <- m + (1 - beta_1)(g - m);   v <- v + (1 - beta_2)(g^2 - v);   (amsgrad: v_hat <- max(v_hat, v))
    w <- w - lr_t * m / (sqrt(v) + epsilon),   lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
(Keras folds both bias corrections into lr_t, so epsilon is added to the uncorrected sqrt(v).)
Defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False.
Slots in Keras' order: "momentum", "velocity" interleaved per variable, then "velocity_hat".
"""
import numpy as np

from glassnet.optimizers.base import Optimizer, _number


class Adam(Optimizer):
    """Kingma & Ba's Adam, with the AMSGrad variant (keras.optimizers.Adam)."""

    _elementwise = True

    _cycled_hyperparameter = "beta_1"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        cls = type(self).__name__
        self.beta_1 = _number(cls, "beta_1", beta_1, allow_none=False)
        self.beta_2 = _number(cls, "beta_2", beta_2, allow_none=False)
        self.epsilon = _number(cls, "epsilon", epsilon, allow_none=False)
        self.amsgrad = bool(amsgrad)
        self._constants = None  # _step_coefficients' cache

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _step_coefficients(self, learning_rate, f):
        beta_1 = self._hyper("beta_1")
        t = f(self._step() + 1)
        # The scalars that do not change from step to step, converted once per (f, hyperparameters):
        # the same values, so the same bits, and ~1.5 us less a step on a tiny net.
        key = (f, beta_1, self.beta_2, self.epsilon)
        cached = self._constants
        if cached is None or cached[0] != key:
            cached = self._constants = (key, f(1), f(beta_1), f(self.beta_2),
                                        (f(1 - beta_1), f(1 - self.beta_2), f(self.epsilon)))
        _, one, b1, b2, (one_minus_beta_1, one_minus_beta_2, epsilon) = cached
        # np.power, not **: NumPy's power loop and the scalar ** round differently in some last bits
        lr_t = learning_rate * np.sqrt(one - np.power(b2, t)) / (one - np.power(b1, t))
        return one_minus_beta_1, one_minus_beta_2, lr_t, epsilon

    def _update_arrays(self, w, g, slots, coefficients):
        # Keras' formulas, in place: 12 passes over w's size, two scratch arrays, no temporaries.
        one_minus_beta_1, one_minus_beta_2, lr_t, epsilon = coefficients
        m, v = slots[0], slots[1]
        tmp, den = self._scratch(w, 0), self._scratch(w, 1)
        np.subtract(g, m, out=tmp)  # m += (g - m) * (1 - beta_1)
        tmp *= one_minus_beta_1
        m += tmp
        np.square(g, out=tmp)  # v += (g^2 - v) * (1 - beta_2)
        tmp -= v
        tmp *= one_minus_beta_2
        v += tmp
        if self.amsgrad:
            v_hat = slots[2]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.sqrt(v, out=den)  # w -= m * lr_t / (sqrt(v) + epsilon)
        den += epsilon
        np.multiply(m, lr_t, out=tmp)
        tmp /= den
        w -= tmp

    def _compiled_update(self, rules):
        cls = type(self)
        if self.amsgrad or cls._update_arrays is not Adam._update_arrays \
                or cls._step_coefficients is not Adam._step_coefficients:
            return None
        return lambda params, grad, offsets, slots, c: rules.adam(params, grad, offsets, slots[0], slots[1], *c)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad})
        return config
