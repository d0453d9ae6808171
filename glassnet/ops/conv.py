"""Convolution, channels_last, Keras 3 kernel layouts: conv (1-D/2-D); conv_transpose.py
builds the transposed convolution on its im2col / col2im.

    y[n, i, j, f] = sum_{a, b, c} x_pad[n, i*s + a*d, j*s + b*d, c] * w[a, b, c, f]

(cross-correlation, no kernel flip, as in Keras). The work is one GEMM: the input patches
are copied into an im2col matrix ``cols`` of shape (N*OH*OW, KH*KW*C) and multiplied by the
kernel viewed as (KH*KW*C, F). Backward: dW = cols^T @ G; dx = col2im(G @ W^T): for each
kernel offset, G @ W[a, b]^T added into a strided slice of a padded buffer, then cropped.
1-D convolution runs the 2-D code with height 1; groups run as a batched matmul.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from glassnet import blas, parallel
from glassnet.autograd import Op
from glassnet.ops import conv_gemm
from glassnet.ops._util import bias_grad, check_float, sum_in_order
from glassnet.tensor import as_tensor

_RANK_NAMES = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)"}


# ---- argument normalisation ----------------------------------------------------------
def _ints(op, name, value, rank):
    """``value`` (int or sequence of ``rank`` ints, each >= 1) as a tuple of ``rank`` ints."""
    if isinstance(value, (int, np.integer)):
        out = (int(value),) * rank
    else:
        try:
            out = tuple(int(v) for v in value)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a tuple of {rank} ints, received {value!r}") from None
        if len(out) != rank:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {rank} ints for a {rank}-D op, received {value!r}")
    if min(out) < 1:
        raise ValueError(f"{op}: {name} must be positive, received {value!r}")
    return out


def same_padding(size, k_eff, stride):
    """TensorFlow/Keras "same": output ceil(size/stride); pad total split with the extra after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def _padding(op, padding, sizes, k_effs, strides):
    """Per spatial dim (before, after) pads from "valid", "same", "causal", an int or pairs."""
    rank = len(sizes)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return [(0, 0)] * rank
        if mode == "same":
            return [same_padding(n, k, s) for n, k, s in zip(sizes, k_effs, strides)]
        if mode == "causal":
            if rank != 1:
                raise ValueError(f"{op}: padding='causal' is only for 1-D convolution, received a {rank}-D kernel")
            return [(k_effs[0] - 1, 0)]
        raise ValueError(f"{op}: padding must be 'valid', 'same'{', causal' if rank == 1 else ''}, an int or (before, after) pairs, received {padding!r}")
    try:
        if isinstance(padding, (int, np.integer)):
            pads = [(int(padding),) * 2] * rank
        elif rank == 1 and len(padding) == 2 and all(isinstance(p, (int, np.integer)) for p in padding):
            pads = [tuple(int(p) for p in padding)]
        else:
            if len(padding) != rank:
                raise ValueError
            pads = [(int(p), int(p)) if isinstance(p, (int, np.integer)) else tuple(int(q) for q in p) for p in padding]
            if any(len(p) != 2 for p in pads):
                raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int, or {rank} ints / (before, after) pairs, received {padding!r}") from None
    if any(p < 0 for pair in pads for p in pair):
        raise ValueError(f"{op}: padding must not be negative, received {padding!r}")
    return pads


# ---- im2col / col2im -------------------------------------------------------------------
def _im2col(xp, out_hw, k_hw, strides, dilation, groups):
    """Patches of the padded NHWC input as (N*OH*OW, G, KH*KW*Cg), one row per output pixel."""
    N, _, _, C = xp.shape
    (OH, OW), (KH, KW), (sh, sw), (dh, dw) = out_hw, k_hw, strides, dilation
    cg = C // groups
    if cg >= 8:
        # wide channels: one copy of a 7-D strided view (1.5 ms vs 2.8 ms for the offset loop,
        # 32x28x28x32, 3x3): the copy's inner run is KW*C contiguous numbers
        sN, sH, sW, sC = xp.strides
        view = as_strided(xp, (N, OH, OW, groups, KH, KW, cg),
                          (sN, sH * sh, sW * sw, sC * cg, sH * dh, sW * dw, sC), writeable=False)
        cols = np.ascontiguousarray(view)
    else:
        # few channels (first layer): one strided copy per kernel offset runs along OW instead
        # of along C (0.10 ms vs 0.34 ms for 32x28x28x1, 3x3)
        cols = np.empty((N, OH, OW, groups, KH, KW, cg), xp.dtype)
        x5 = xp.reshape(xp.shape[:3] + (groups, cg))
        for a in range(KH):
            for b in range(KW):
                cols[:, :, :, :, a, b, :] = x5[:, a * dh:a * dh + sh * (OH - 1) + 1:sh,
                                                 b * dw:b * dw + sw * (OW - 1) + 1:sw]
    return cols.reshape(N * OH * OW, groups, KH * KW * cg)


def _col2im_gemm(gmat, w4, target_shape, out_hw, k_hw, strides, dilation, groups, out=None):
    """Adjoint of im2col + GEMM: target[patch k of row m] += gmat[m] @ w4[k]^T, for every offset k.

    gmat is (N*OH*OW, G*Fg) and w4 is (KH, KW, Cg, G*Fg); target is NHWC with G*Cg channels.
    One small GEMM per kernel offset whose contiguous (M, C) result is added into a strided
    slice: 9.4 ms against 19.4 ms for one (M, KH*KW*C) GEMM followed by a col2im of its
    strided columns (32x28x28x32 -> 64, 3x3, float32, 2 threads).
    """
    N, Hp, Wp, C = target_shape
    (OH, OW), (KH, KW), (sh, sw), (dh, dw) = out_hw, k_hw, strides, dilation
    M, cg = gmat.shape[0], C // groups
    if out is None:
        out = np.zeros(target_shape, np.result_type(gmat, w4))
    else:  # a batch block's part of a bigger buffer
        out[...] = 0
    o5 = out.reshape(N, Hp, Wp, groups, cg)
    if groups > 1:
        gg = gmat.reshape(M, groups, -1).transpose(1, 0, 2)             # (G, M, Fg)
    for a in range(KH):
        for b in range(KW):
            if groups == 1:
                part = gmat @ w4[a, b].T                                  # (M, C)
            else:
                wk = w4[a, b].reshape(cg, groups, -1).transpose(1, 2, 0)  # (G, Fg, Cg)
                part = np.matmul(gg, wk).transpose(1, 0, 2)               # (M, G, Cg)
            o5[:, a * dh:a * dh + sh * (OH - 1) + 1:sh, b * dw:b * dw + sw * (OW - 1) + 1:sw] += part.reshape(N, OH, OW, groups, cg)
    return out


def _pad(x, pads):
    """Zero-pad the two spatial axes of an NHWC array (no copy when there is nothing to pad)."""
    if not any(p for pair in pads for p in pair):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)))


def _crop(xp, pads):
    (t, _), (l, _) = pads
    return xp[:, t:xp.shape[1] - pads[0][1], l:xp.shape[2] - pads[1][1]]


def _gemm_fwd(cols, w2, groups):
    """(M, G, K) patches times (G, K, Fg) kernels -> (M, G*Fg)."""
    if groups == 1:
        return cols[:, 0] @ w2[0]
    out = np.matmul(cols.transpose(1, 0, 2), w2)           # (G, M, Fg)
    return out.transpose(1, 0, 2).reshape(cols.shape[0], -1)


def _gemm_dw(cols, g2, groups):
    """Patches^T times output grads -> (G, K, Fg)."""
    if groups == 1:
        return (cols[:, 0].T @ g2)[None]
    gg = g2.reshape(g2.shape[0], groups, -1).transpose(1, 0, 2)
    return np.matmul(cols.transpose(1, 2, 0), gg)


def _kernel_groups(w4, groups):
    """(KH, KW, Cg, F) kernel as (G, KH*KW*Cg, Fg)."""
    KH, KW, cg, F = w4.shape
    return w4.reshape(KH * KW * cg, groups, F // groups).transpose(1, 0, 2)


def _kernel_from_groups(dw, shape):
    """(G, KH*KW*Cg, Fg) back to the (KH, KW, Cg, F) kernel layout."""
    return dw.transpose(1, 0, 2).reshape(shape)


# ---- batch blocks on threads ---------------------------------------------------------
# Inside a training step that holds NumPy's BLAS at one thread (glassnet.blas.held: a replayed
# step whose ops want blocks, see training/replay.py), a big convolution or pooling runs as
# batch blocks side by side on glassnet's threads (glassnet.parallel): im2col, GEMM and
# epilogue of a block write into its rows of the one output, and backward adds the blocks'
# kernel gradients. OpenBLAS shares a convnet's skinny GEMMs badly between threads (K = 9 for a
# first 3x3 layer), and the copies and elementwise passes around them ran on one core. keras-io
# MNIST convnet, batch 128, 2 cores, paired in one process: 23.7 -> 20.7 ms a step. Results
# equal one block to float rounding (the kernel gradient sums the blocks' products); a given
# batch size and thread count always splits the same way.
MIN_BLOCK_VALUES = 1 << 18  # output values of a convolution (input values of a pooling)


def wants_blocks(batch, values):
    """Whether an op of this size runs in blocks when BLAS is held at one thread (told to
    glassnet.parallel when it is not held, so that the caller may hold it next time)."""
    wanted = batch >= 2 and values >= MIN_BLOCK_VALUES and parallel.threads() >= 2
    if wanted and not blas.held():
        parallel.note_wanted()
    return wanted


def batch_blocks(batch, values):
    """Slices of the batch, one per thread, while BLAS is held at one thread; else None (the
    op runs whole, with BLAS's own threads)."""
    if not blas.held() or not wants_blocks(batch, values):
        return None
    return parallel.split(batch, min(parallel.threads(), batch))


# ---- conv ------------------------------------------------------------------------------
class Conv(Op):
    """y = x ⋆ w (cross-correlation);  dw = cols(x)^T @ g,  dx = col2im(g @ w^T) (cropped)."""
    name = "conv"

    def forward(self, x, w, strides, pads, dilation, groups, epilogue=None):
        """``epilogue(rows)``: applied in place to the (pixels, filters) output, block by block."""
        self.xshape, self.wshape = x.shape, w.shape
        if w.ndim == 3:                       # 1-D: height 1
            x, w = x[:, None], w[None]
        N, H, W, C = x.shape
        KH, KW, cg, F = w.shape
        xpshape = (N, H + pads[0][0] + pads[0][1], W + pads[1][0] + pads[1][1], C)
        OH = (xpshape[1] - (KH - 1) * dilation[0] - 1) // strides[0] + 1
        OW = (xpshape[2] - (KW - 1) * dilation[1] - 1) // strides[1] + 1
        geom = ((OH, OW), (KH, KW), strides, dilation, groups)
        w2 = _kernel_groups(w, groups)
        self.geom, self.pads, self.xpshape = geom, pads, xpshape
        self.w4 = w if self.needs[0] else None
        self.wants_blocks = groups == 1 and wants_blocks(N, N * OH * OW * F)
        self.blocks = blocks = batch_blocks(N, N * OH * OW * F) if self.wants_blocks else None
        self.gemm = conv_gemm.kernel_for(x, w, groups)
        if self.gemm is not None:
            return self._forward_compiled(x, w, epilogue)
        if blocks is None:
            cols = _im2col(_pad(x, pads), *geom)
            out = _gemm_fwd(cols, w2, groups)
            if epilogue is not None:
                epilogue(out)
            self.cols = cols if self.needs[1] else None
            out = out.reshape(N, OH, OW, F)
        else:
            out = np.empty((N, OH, OW, F), np.result_type(x, w))

            def part(sl):
                cols = _im2col(_pad(x[sl], pads), *geom)
                rows = out[sl].reshape(-1, F)
                np.matmul(cols[:, 0], w2[0], out=rows)
                if epilogue is not None:
                    epilogue(rows)
                return cols if self.needs[1] else None

            self.cols = parallel.run(part, blocks)
        return out.reshape((N,) + out.shape[2:]) if len(self.wshape) == 3 else out

    def _forward_compiled(self, x, w, epilogue):
        """The forward pass as implicit GEMMs (glassnet.ops.conv_gemm), by batch block."""
        (OH, OW), k_hw, strides, dilation, _ = self.geom
        N, F = x.shape[0], w.shape[-1]
        xp = np.ascontiguousarray(_pad(x, self.pads))
        self.tables = rows, cols = conv_gemm.tables(xp.shape, (OH, OW), k_hw, strides, dilation)
        out = np.empty((N * OH * OW, F), np.float32)
        w = np.ascontiguousarray(w)

        def part(sl):
            m0, m1 = sl.start * OH * OW, sl.stop * OH * OW
            conv_gemm.forward(self.gemm, xp, w, rows, cols, out[m0:m1], m0, m1)
            if epilogue is not None:
                epilogue(out[m0:m1])

        self._each_block(part)
        self.xp, self.cols = (xp if self.needs[1] else None), None
        out = out.reshape(N, OH, OW, F)
        return out.reshape((N,) + out.shape[2:]) if len(self.wshape) == 3 else out

    def _each_block(self, fn):
        """fn(batch slice) for each block on glassnet's threads, or once for the whole batch."""
        if self.blocks is None:
            return [fn(slice(0, self.xshape[0]))]
        return parallel.run(fn, self.blocks)

    def backward(self, g):
        dx, dw, _ = self._backward(g)
        return dx, dw

    def _backward(self, g, act_grad=None, need_bias=False):
        """dx, dw and the bias gradient (when ``need_bias``) from g; ``act_grad(g_rows, rows)``
        first turns g into the gradient of the pre-activation, block by block."""
        (OH, OW), (KH, KW), _, _, groups = self.geom
        N = self.xshape[0]
        g2 = g.reshape(N * OH * OW, -1)
        blocks = self.blocks
        if self.gemm is not None:
            return self._backward_compiled(g2, act_grad, need_bias)
        if blocks is None:
            d = g2 if act_grad is None else act_grad(g2, slice(None))
            parts = [self._block_grads(d, self.cols, None, need_bias)]
            dxp = parts[0][0]
        else:
            dxp = np.empty(self.xpshape, g.dtype) if self.needs[0] else None
            per_image = OH * OW

            def part(k_sl):
                k, sl = k_sl
                rows = slice(sl.start * per_image, sl.stop * per_image)
                d = g2[rows] if act_grad is None else act_grad(g2[rows], rows)
                return self._block_grads(d, self.cols[k], None if dxp is None else dxp[sl], need_bias)

            parts = parallel.run(part, list(enumerate(blocks)))
        dx = dw = db = None
        if self.needs[0]:
            dx = _crop(dxp, self.pads).reshape(self.xshape)
        if self.needs[1]:
            dw = _kernel_from_groups(parts[0][1] if len(parts) == 1 else sum_in_order(p[1] for p in parts), self.wshape)
        if need_bias:
            db = parts[0][2] if len(parts) == 1 else sum_in_order(p[2] for p in parts)
        return dx, dw, db

    def _backward_compiled(self, g2, act_grad, need_bias):
        """dx, dw, db with the compiled implicit GEMMs, by batch block (as _backward)."""
        (OH, OW), k_hw, strides, dilation, _ = self.geom
        per_image = OH * OW
        dxp = np.empty(self.xpshape, np.float32) if self.needs[0] else None
        direct = dxp is not None and conv_gemm.input_grad_fits(self.xpshape, k_hw, strides)
        w_flip = conv_gemm.flipped_kernel(self.w4) if direct else None
        rows, cols = self.tables

        def part(sl):
            m0, m1 = sl.start * per_image, sl.stop * per_image
            d = g2[m0:m1] if act_grad is None else act_grad(g2[m0:m1], slice(m0, m1))
            d = np.ascontiguousarray(d, np.float32)
            if direct:
                conv_gemm.input_grad(self.gemm, d, w_flip, k_hw, dilation, (OH, OW), dxp[sl])
            elif dxp is not None:
                _col2im_gemm(d, self.w4, dxp[sl].shape, *self.geom, out=dxp[sl])
            dw = conv_gemm.kernel_grad(self.gemm, self.xp, rows, cols, d, m0, m1) if self.needs[1] else None
            return dw, (bias_grad(d) if need_bias else None)

        parts = self._each_block(part)
        dx = dw = db = None
        if dxp is not None:
            dx = _crop(dxp, self.pads).reshape(self.xshape)
        if self.needs[1]:
            dw = sum_in_order(p[0] for p in parts).reshape(self.wshape)
        if need_bias:
            db = sum_in_order(p[1] for p in parts)
        return dx, dw, db

    def _block_grads(self, d, cols, dxp_part, need_bias):
        """(padded dx of the block or None, dw as (G, K, Fg) or None, db or None) from the
        block's pre-activation gradient rows d and its patches."""
        (OH, OW), _, _, _, groups = self.geom
        dxp = dw = db = None
        if self.needs[0]:
            shape = self.xpshape if dxp_part is None else dxp_part.shape
            dxp = _col2im_gemm(d, self.w4, shape, *self.geom, out=dxp_part)
        if self.needs[1]:
            dw = _gemm_dw(cols, d, groups)
        if need_bias:
            db = bias_grad(d)
        return dxp, dw, db


def _check_inputs(op, x, kernel):
    x, kernel = as_tensor(x), as_tensor(kernel)
    check_float(op, x)
    check_float(op, kernel)
    if kernel.ndim not in (3, 4):
        raise ValueError(
            f"{op}: expected a kernel of rank 3 (k, in, filters) for 1-D or rank 4 "
            f"(kh, kw, in, filters) for 2-D, received shape {kernel.shape}"
        )
    rank = kernel.ndim - 2
    if x.ndim != rank + 2:
        hint = "; add a batch axis (x[None])" if x.ndim == rank + 1 else ""
        raise ValueError(
            f"{op}: a {rank}-D kernel of shape {kernel.shape} expects x of rank {rank + 2} "
            f"{_RANK_NAMES[rank]}, received shape {x.shape}{hint}"
        )
    return x, kernel, rank


def conv(x, kernel, strides=1, padding="valid", dilation_rate=1, groups=1):
    """1-D or 2-D convolution (Keras ``ops.conv``, channels_last), without bias.

    x: (N, *spatial, C_in); kernel: (*k, C_in // groups, F), Keras layout, whose rank picks
    1-D (k, in, F) or 2-D (kh, kw, in, F). Returns (N, *out_spatial, F).
    padding: "valid", "same" (TensorFlow split: any odd extra pixel goes after), "causal"
    (1-D: left pad (k-1)*d), an int, or per-dim ints / (before, after) pairs.
    groups: input channels and filters split into ``groups`` independent convolutions
    (groups == C_in is a depthwise convolution).
    """
    x, kernel, geom = conv_args("conv", x, kernel, strides, padding, dilation_rate, groups)
    return Conv.apply(x, kernel, **geom)


def conv_args(op, x, kernel, strides, padding, dilation_rate, groups):
    """Check conv's arguments; return x and kernel as Tensors and the keyword arguments of
    ``Conv.forward`` (strides, pads, dilation, groups), 1-D ones lifted to height 1."""
    x, kernel, rank = _check_inputs(op, x, kernel)
    strides = _ints(op, "strides", strides, rank)
    dilation = _ints(op, "dilation_rate", dilation_rate, rank)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, received {groups!r}")
    c_in, cg, filters = x.shape[-1], kernel.shape[-2], kernel.shape[-1]
    if c_in % groups or filters % groups:
        raise ValueError(
            f"{op}: groups={groups} must divide the input channels ({c_in}) and the filters "
            f"({filters}); received x of shape {x.shape} and kernel of shape {kernel.shape}"
        )
    if cg * groups != c_in:
        raise ValueError(
            f"{op}: x has {c_in} channels but the kernel of shape {kernel.shape} expects "
            f"{cg * groups} ({cg} per group x {groups} groups); its axis -2 must be "
            f"channels // groups = {c_in // groups}"
        )
    k = kernel.shape[:rank]
    k_eff = [(kk - 1) * d + 1 for kk, d in zip(k, dilation)]
    sizes = x.shape[1:-1]
    pads = _padding(op, padding, sizes, k_eff, strides)
    for n, (b, a), ke in zip(sizes, pads, k_eff):
        if n + b + a < ke:
            raise ValueError(
                f"{op}: the kernel (size {tuple(k)}, dilation {dilation}, so it spans {tuple(k_eff)}) "
                f"is larger than the padded input (spatial shape {sizes}, padding {pads}); "
                f"use a smaller kernel or padding='same'"
            )
    if rank == 1:
        strides, dilation, pads = (1,) + strides, (1,) + dilation, [(0, 0)] + pads
    return x, kernel, dict(strides=strides, pads=pads, dilation=dilation, groups=int(groups))
