"""Convolution as implicit GEMMs on the compiled AVX-512 kernel (glassnet.compiled.gemm).

The kernel reads its operands through offset tables, so the patches are never copied into
an im2col matrix: row m of the patch matrix starts at ``rows[m]`` in the padded input and
column p (kernel offset a, b, channel c) adds ``cols[p]``:

    y[m, f]  = sum_p xp[rows[m] + cols[p]] * w[p, f]                  (forward)
    dw[p, f] = sum_m xp[cols[p] + rows[m]] * d[m, f]                  (the same tables, swapped)
    dxp      = the full correlation of d (zero-padded) with the flipped kernel     (stride 1)

For a batch block only the block's slice of ``rows`` is read, so blocks need no copy of
their input either. glassnet.ops.conv uses this path once training is hot, for float32,
groups 1 and a multiple of 16 filters; the input gradient of a strided convolution, or of
one whose input channels are no multiple of 16, stays on NumPy's col2im.
"""
import numpy as np

from glassnet import compiled

_TABLES = {}
_TABLES_MAX = 32


def kernel_for(x, w, groups):
    """The compiled GEMM module when it may run this convolution (float32, groups 1, filters
    a multiple of 16, training hot, an AVX-512 CPU), else None."""
    if groups != 1 or x.dtype != np.float32 or w.dtype != np.float32 or w.shape[-1] % 16:
        return None
    kernels = compiled.hot()
    return None if kernels is None else kernels.gemm


def tables(xpshape, out_hw, k_hw, strides, dilation):
    """(rows, cols): the offset of each output pixel's patch in the flat padded input, and of
    each (a, b, c) kernel position within a patch. Cached per geometry."""
    key = (xpshape, out_hw, k_hw, strides, dilation)
    found = _TABLES.get(key)
    if found is None:
        N, Hp, Wp, C = xpshape
        (OH, OW), (KH, KW), (sh, sw), (dh, dw) = out_hw, k_hw, strides, dilation
        rows = (np.arange(N)[:, None, None] * (Hp * Wp * C) + np.arange(OH)[:, None] * (sh * Wp * C)
                + np.arange(OW) * (sw * C)).reshape(-1)
        cols = (np.arange(KH)[:, None, None] * (dh * Wp * C) + np.arange(KW)[:, None] * (dw * C)
                + np.arange(C)).reshape(-1)
        found = (rows.astype(np.intp), cols.astype(np.intp))
        for t in found:
            t.flags.writeable = False
        if len(_TABLES) >= _TABLES_MAX:
            _TABLES.clear()
        _TABLES[key] = found
    return found


def forward(gemm, xp, w, rows, cols, out_rows, m0, m1):
    """out_rows (the C-contiguous (m1 - m0, F) output rows of pixels m0..m1) = patches @ w."""
    F = w.shape[-1]
    _check_contiguous(out_rows)
    gemm.gemm(xp.reshape(-1), rows[m0:m1], cols, w.reshape(-1), gemm.offsets(cols.shape[0], F),
              out_rows.reshape(-1), gemm.offsets(m1 - m0, F), F, False)


def kernel_grad(gemm, xp, rows, cols, d, m0, m1):
    """The kernel gradient (KH*KW*C, F) from pixels m0..m1, whose pre-activation gradient
    rows are d (C-contiguous, (m1 - m0, F))."""
    F = d.shape[1]
    dw = np.empty((cols.shape[0], F), np.float32)
    gemm.gemm(xp.reshape(-1), cols, rows[m0:m1], d.reshape(-1), gemm.offsets(m1 - m0, F),
              dw.reshape(-1), gemm.offsets(cols.shape[0], F), F, False)
    return dw


def input_grad_fits(xpshape, k_hw, strides):
    """Whether input_grad covers this convolution (stride 1, input channels % 16 == 0)."""
    return strides == (1, 1) and xpshape[-1] % 16 == 0 and xpshape[1] >= k_hw[0] and xpshape[2] >= k_hw[1]


def flipped_kernel(w4):
    """(KH, KW, C, F) -> the (KH*KW*F, C) matrix of the flipped kernel that input_grad reads."""
    return np.ascontiguousarray(w4[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(-1, w4.shape[2])


def input_grad(gemm, d, w_flip, k_hw, dilation, out_hw, dxp):
    """dxp (nb, Hp, Wp, C), the gradient of the block's padded input, from its pre-activation
    gradient d (nb*OH*OW, F): d zero-padded by (k - 1) * dilation on each side, correlated with
    the flipped kernel (stride-1 convolutions)."""
    _check_contiguous(dxp)
    nb, Hp, Wp, C = dxp.shape
    (OH, OW), (KH, KW), (dh, dw) = out_hw, k_hw, dilation
    F = d.shape[1]
    ph, pw = (KH - 1) * dh, (KW - 1) * dw
    gp = np.zeros((nb, OH + 2 * ph, OW + 2 * pw, F), np.float32)
    gp[:, ph:ph + OH, pw:pw + OW] = d.reshape(nb, OH, OW, F)
    rows, cols = tables(gp.shape, (Hp, Wp), k_hw, (1, 1), dilation)
    gemm.gemm(gp.reshape(-1), rows, cols, w_flip.reshape(-1), gemm.offsets(cols.shape[0], C),
              dxp.reshape(-1), gemm.offsets(rows.shape[0], C), C, False)
    return dxp


def _check_contiguous(out):
    if not out.flags.c_contiguous:  # reshape(-1) would copy, and the result would be lost
        raise ValueError(f"conv_gemm: the output must be C-contiguous, received strides {out.strides}")
