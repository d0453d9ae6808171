"""The LSTM cell's pointwise work of one time step, compiled (glassnet.layers.rnn_fused).

Between two recurrent matrix products (NumPy's BLAS), a step of the fused LSTM op does its
gate activations and the carry update: ~10 NumPy calls forward and ~15 backward, each a
pass over a (batch, units) or (batch, 4 units) array. At the lstm benchmark's shapes that is
a third of a single-threaded op, and holding the GIL between calls it keeps the op's two
batch blocks from running side by side. Here it is one call each way, which releases the
GIL (``nogil``) for its whole length.

Only float32, the "folded" gate block (every gate sigmoid or tanh, the Keras defaults, with
the sigmoid columns of the weights pre-scaled by 1/2 so that each gate is
``tanh(z) * mul + add``) and steps without a mask are covered; the op runs its NumPy steps
otherwise. The arithmetic is the NumPy steps', operation for operation, except tanh: libm's
scalar tanhf, all numba can call, is 35x slower than NumPy's vectorised one (103 against 3
us for 16 K values), so ``tanh32`` is a rational approximation that LLVM vectorises (3.2 us):
within 6 units in the last place of tanh over all float32 (NumPy's own is within 1.4),
exact at 0, +-1 at +-inf, NaN for NaN (tests/compiled/test_lstm.py).
"""
import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy")

# tanh(x) ~ x p(x^2) / q(x^2) on [-CLAMP, CLAMP] (the odd/even minimax pair Eigen uses for float),
# x itself below 4e-4, +-1 beyond the clamp (where tanh rounds to +-1 in float32)
_CLAMP = np.float32(7.90531110763549805)
_P = [np.float32(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                              5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                              4.89352455891786e-03)]
_Q = [np.float32(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                              4.89352518554385e-03)]
_P13, _P11, _P9, _P7, _P5, _P3, _P1 = _P
_Q6, _Q4, _Q2, _Q0 = _Q
_TINY = np.float32(0.0004)


@njit(**_JIT, inline="always")
def tanh32(x):
    """tanh of a float32, vectorisable (a comparison, not min/max, so that NaN stays NaN)."""
    c = _CLAMP if x > _CLAMP else (-_CLAMP if x < -_CLAMP else x)
    c2 = c * c
    p = ((((((_P13 * c2 + _P11) * c2 + _P9) * c2 + _P7) * c2 + _P5) * c2 + _P3) * c2 + _P1) * c
    q = ((_Q6 * c2 + _Q4) * c2 + _Q2) * c2 + _Q0
    return c if abs(c) < _TINY else p / q


@njit(**_JIT)
def forward_step(z, rec, mul, add, c_prev, c, ac, h, act_sigmoid):
    """z <- gates = tanh(z + rec) * mul + add (i, f, g, o side by side, in place);
    c = f c_prev + i g;  ac = act(c);  h = o ac.  act is tanh, or sigmoid if ``act_sigmoid``."""
    rows, width = z.shape
    u = width // 4
    half = np.float32(0.5)
    for r in range(rows):
        zr, rr = z[r], rec[r]
        for j in range(width):
            zr[j] = tanh32(zr[j] + rr[j]) * mul[j] + add[j]
        for j in range(u):
            cc = zr[u + j] * c_prev[r, j] + zr[j] * zr[2 * u + j]
            c[r, j] = cc
            if act_sigmoid:
                t = tanh32(cc * half) * half + half
            else:
                t = tanh32(cc)
            ac[r, j] = t
            h[r, j] = zr[3 * u + j] * t


@njit(**_JIT)
def backward_step(a, ac, c_prev, dh, g_step, dc, am, om, act_sigmoid):
    """From dh (+ g_step, the output's gradient at this step) and dc: the gates' gradients
    dz written over their activations ``a`` (in place), and dc <- dc_{t-1}. ``am``/``om``:
    1/0 for sigmoid and 0/1 for tanh columns (act' = (am - a) a + om)."""
    rows, width = a.shape
    u = width // 4
    one = np.float32(1)
    for r in range(rows):
        ar = a[r]
        for j in range(u):
            i, f, g, o = ar[j], ar[u + j], ar[2 * u + j], ar[3 * u + j]
            dhv = dh[r, j] + g_step[r, j]
            acv = ac[r, j]
            d_o = dhv * acv
            if act_sigmoid:
                d_act = (one - acv) * acv
            else:
                d_act = one - acv * acv
            dcv = dc[r, j] + d_act * o * dhv
            d_i = dcv * g
            d_f = dcv * c_prev[r, j]
            d_g = dcv * i
            dc[r, j] = dcv * f
            ar[j] = d_i * ((am[j] - i) * i + om[j])
            ar[u + j] = d_f * ((am[u + j] - f) * f + om[u + j])
            ar[2 * u + j] = d_g * ((am[2 * u + j] - g) * g + om[2 * u + j])
            ar[3 * u + j] = d_o * ((am[3 * u + j] - o) * o + om[3 * u + j])
