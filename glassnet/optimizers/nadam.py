"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule, as Keras 3 does it.

    mu_t = beta_1 (1 - 0.5 * 0.96^t);   P_t = mu_1 ... mu_t  (the slot "variable")
    m <- m + (1 - beta_1)(g - m);   v <- v + (1 - beta_2)(g^2 - v)
    m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t);   v_hat = v / (1 - beta_2^t)
    w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)
Defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7.
Slots: "momentum", "velocity" interleaved per variable, then the scalar product P_t ("variable").
"""
import numpy as np

from glassnet import backend
from glassnet.optimizers.base import Optimizer, _number


class Nadam(Optimizer):
    """Dozat's Nadam (keras.optimizers.Nadam)."""

    _elementwise = True  # P_t is a scalar slot, outside the per-variable slot lists

    _cycled_hyperparameter = "beta_1"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = _number("Nadam", "beta_1", beta_1, allow_none=False)
        self.beta_2 = _number("Nadam", "beta_2", beta_2, allow_none=False)
        self.epsilon = _number("Nadam", "epsilon", epsilon, allow_none=False)

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else backend.floatx()
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype, name="variable")

    def _backend_update_step(self, grads, variables, learning_rate):
        # P_t advances once per step, before the update reads it (as Keras does).
        f = self._u_product.dtype.type
        u_t = f(self._hyper("beta_1")) * (f(1) - f(0.5) * np.power(f(0.96), f(self._step() + 1)))
        self._u_product.data[...] = self._u_product.data * u_t
        super()._backend_update_step(grads, variables, learning_rate)

    def _step_coefficients(self, learning_rate, f):
        beta_1, t = f(self._hyper("beta_1")), self._step()
        u_t = beta_1 * (f(1) - f(0.5) * np.power(f(0.96), f(t + 1)))
        u_t_1 = beta_1 * (f(1) - f(0.5) * np.power(f(0.96), f(t + 2)))
        u_product_t = f(self._u_product.data)
        return (learning_rate, beta_1, f(self.beta_2), u_t, u_t_1, u_product_t, u_product_t * u_t_1,
                np.power(f(self.beta_2), f(t + 1)), f(self.epsilon))

    def _update_arrays(self, w, g, slots, coefficients):
        learning_rate, beta_1, beta_2, u_t, u_t_1, u_product_t, u_product_t_1, beta_2_power, epsilon = coefficients
        f = w.dtype.type
        m, v = slots
        m_hat, tmp = self._scratch(w, 0), self._scratch(w, 1)
        np.subtract(g, m, out=tmp)  # m += (g - m) * (1 - beta_1), as Keras writes it
        tmp *= f(1) - beta_1
        m += tmp
        np.square(g, out=tmp)  # v += (g^2 - v) * (1 - beta_2)
        tmp -= v
        tmp *= f(1) - beta_2
        v += tmp
        np.multiply(m, u_t_1, out=m_hat)
        m_hat /= f(1) - u_product_t_1
        np.multiply(g, f(1) - u_t, out=tmp)
        tmp /= f(1) - u_product_t
        m_hat += tmp
        m_hat *= learning_rate
        np.divide(v, f(1) - beta_2_power, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += epsilon
        m_hat /= tmp
        w -= m_hat

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
