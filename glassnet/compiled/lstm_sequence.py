"""A whole LSTM sequence's recurrence in one compiled call each way (glassnet.layers.rnn_fused).

With the AVX-512 GEMM (gemm.py) a step's recurrent product at the lstm benchmark's shapes
(32 rows of a batch block x 128 x 512) takes ~20 us, and the Python around it (the product's
wrapper, the op's loop, two compiled calls) took about as long again. Here the loop over the
time steps runs in numba: each step is the recurrent product on the compiled GEMM, then the
pointwise cell step of lstm.py, the same arithmetic as the op's own loop, call for call.
Only unmasked steps without recurrent dropout, the folded gates, float32 and units a multiple
of 16 come here; the op's loop takes everything else.
"""
import numpy as np
from numba import njit

from glassnet.compiled.gemm import gemm
from glassnet.compiled.lstm import backward_step, forward_step

_JIT = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")


@njit(**_JIT)
def forward_sequence(Z, out, C, AC, us, mul, add, tmp, act_sigmoid):
    """For k = 0..T-1: tmp = out[k] @ us, then lstm.forward_step (Z[k] becomes the gates;
    C[k + 1], AC[k] and out[k + 1] are written)."""
    T, B, u = Z.shape[0], out.shape[1], out.shape[2]
    h_rows, h_cols = np.arange(B) * u, np.arange(u)  # the gemm's offset tables (gemm.py)
    u_rows = np.arange(u) * (4 * u)
    t_rows = np.arange(B) * (4 * u)
    us_flat, tmp_flat = us.reshape(u * 4 * u), tmp.reshape(B * 4 * u)
    for k in range(T):
        gemm(out[k].reshape(B * u), h_rows, h_cols, us_flat, u_rows, tmp_flat, t_rows, 4 * u, False)
        forward_step(Z[k], tmp, mul, add, C[k], C[k + 1], AC[k], out[k + 1], act_sigmoid)


@njit(**_JIT)
def backward_sequence(Z, AC, C, dh, g, dc, am, om, ut, act_sigmoid):
    """For k = T-1..0: lstm.backward_step (Z[k] becomes dz_k, dc becomes dc_{k-1}), then
    dh = dz_k @ ut (the gradient reaching h_{k-1})."""
    T, B, u = Z.shape[0], dh.shape[0], dh.shape[1]
    z_rows, z_cols = np.arange(B) * (4 * u), np.arange(4 * u)
    ut_rows = np.arange(4 * u) * u
    d_rows = np.arange(B) * u
    ut_flat, dh_flat = ut.reshape(4 * u * u), dh.reshape(B * u)
    for k in range(T - 1, -1, -1):
        backward_step(Z[k], AC[k], C[k], dh, g[k + 1], dc, am, om, act_sigmoid)
        gemm(Z[k].reshape(B * 4 * u), z_rows, z_cols, ut_flat, ut_rows, dh_flat, d_rows, u, False)
