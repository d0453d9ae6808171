"""2-D max pooling, compiled (glassnet.ops.pooling.MaxPool, NHWC).

NumPy does a max pooling as a few whole-array passes per window offset (compare, update the
argmax, take the maximum): ~20 passes over the output for a 2x2 pool, and routing the
gradient back is two passes per offset. Here each is one pass: forward reads each window
once and writes its maximum and the offset of its first maximum; backward writes each input
cell once. The results are the NumPy passes' exactly: the same maxima and offsets (strict >
keeps the first maximum, a NaN propagates as np.maximum does and never wins the argmax), and
the gradient routed to the same cells (tests/compiled/test_pooling.py).
"""
from numba import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def max_pool_forward(xp, out, idx, ph, pw, sh, sw, want_idx):
    """out = the max of each (ph, pw) window of xp at strides (sh, sw); idx = the row-major
    offset of its first maximum (written only when ``want_idx``)."""
    n_, oh, ow, c_ = out.shape
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                o = out[n, i, j]
                first = xp[n, i * sh, j * sw]
                for c in range(c_):
                    o[c] = first[c]
                if want_idx:
                    k_row = idx[n, i, j]
                    for c in range(c_):
                        k_row[c] = 0
                for a in range(ph):
                    for b in range(pw):
                        if a == 0 and b == 0:
                            continue
                        k = a * pw + b
                        v_row = xp[n, i * sh + a, j * sw + b]
                        for c in range(c_):
                            v = v_row[c]
                            if v > o[c]:
                                o[c] = v
                                if want_idx:
                                    idx[n, i, j, c] = k
                            elif v != v:  # NaN: np.maximum propagates it; np.greater was False
                                o[c] = v


@njit(**_JIT)
def max_pool_backward(g, idx, dxp, ph, pw, sh, sw, tiled):
    """dxp[window cell of the maximum] += g (dxp zeros), or, when the windows tile dxp exactly
    (``tiled``), every cell of dxp written once: g at the maximum, 0 elsewhere."""
    n_, oh, ow, c_ = g.shape
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                g_row, k_row = g[n, i, j], idx[n, i, j]
                if tiled:
                    for a in range(ph):
                        for b in range(pw):
                            k = a * pw + b
                            d_row = dxp[n, i * sh + a, j * sw + b]
                            for c in range(c_):
                                d_row[c] = g_row[c] if k_row[c] == k else 0
                else:
                    for c in range(c_):
                        k = k_row[c]
                        dxp[n, i * sh + k // pw, j * sw + k % pw, c] += g_row[c]
