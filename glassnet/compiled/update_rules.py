"""Optimizer update rules, compiled: one pass over all variables instead of a dozen NumPy calls.

Each rule is the ``_update_arrays`` of its optimizer (glassnet/optimizers), operation for
operation in the variables' dtype, on the scalars its ``_step_coefficients`` computed; NumPy
and these loops round every elementwise operation the same way, so the results are equal bit
for bit (tests/compiled/test_update_rules.py). Parameters and slots arrive as tuples of flat
views (``params[i]``, ``m[i]``...), the gradients as one flat buffer, variable i's at
``grad[offsets[i]:]``.
"""
import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def adam(params, grad, offsets, m, v, one_minus_beta_1, one_minus_beta_2, lr_t, epsilon):
    """m += (g - m)(1 - beta_1);  v += (g^2 - v)(1 - beta_2);  w -= m lr_t / (sqrt(v) + epsilon)."""
    for i in range(len(params)):
        w, mi, vi = params[i], m[i], v[i]
        o = offsets[i]
        for e in range(w.size):
            g = grad[o + e]
            a = mi[e] + (g - mi[e]) * one_minus_beta_1
            b = vi[e] + (g * g - vi[e]) * one_minus_beta_2
            mi[e] = a
            vi[e] = b
            w[e] -= a * lr_t / (np.sqrt(b) + epsilon)


@njit(**_JIT)
def sgd(params, grad, offsets, learning_rate):
    """w -= lr g."""
    for i in range(len(params)):
        w = params[i]
        o = offsets[i]
        for e in range(w.size):
            w[e] -= grad[o + e] * learning_rate


@njit(**_JIT)
def sgd_momentum(params, grad, offsets, velocity, learning_rate, momentum, nesterov):
    """v = momentum v - lr g;  w += v, or (Nesterov) w += momentum v - lr g, as w -= lr g; w += momentum v."""
    for i in range(len(params)):
        w, vi = params[i], velocity[i]
        o = offsets[i]
        for e in range(w.size):
            step = grad[o + e] * learning_rate
            vel = vi[e] * momentum - step
            vi[e] = vel
            if nesterov:
                w[e] = (w[e] - step) + vel * momentum
            else:
                w[e] += vel

