"""Transposed convolution (Keras ``ops.conv_transpose`` / Conv2DTranspose), channels_last:
the input-gradient of ``conv`` as a forward op, so it inverts conv's shape change.

    y = col2im(x @ w^T), cropped;  dx = conv(g, w);  dw = cols(g)^T @ x

It shares conv.py's im2col / col2im; 1-D runs the 2-D code with height 1.
"""
import numpy as np

from glassnet.autograd import Op
from glassnet.ops.conv import _check_inputs, _col2im_gemm, _crop, _im2col, _ints


def deconv_output_length(length, k, padding, output_padding, stride, dilation):
    """Keras' output length of a transposed convolution (keras.src.ops.operation_utils)."""
    k = (k - 1) * dilation + 1
    if output_padding is None:
        return length * stride + max(k - stride, 0) if padding == "valid" else length * stride
    pad = k // 2 if padding == "same" else 0
    return (length - 1) * stride + k - 2 * pad + output_padding


class ConvTranspose(Op):
    """y = col2im(x @ w^T) cropped (the input-gradient of conv);  dx = conv(g, w), dw = cols(g)^T x."""
    name = "conv_transpose"

    def forward(self, x, w, strides, dilation, out_hw, before):
        self.xshape, self.wshape = x.shape, w.shape
        if w.ndim == 3:
            x, w = x[:, None], w[None]
        N, H, W, C = x.shape
        KH, KW, F, _ = w.shape
        full = tuple((n - 1) * s + (k - 1) * d + 1 for n, s, k, d in zip((H, W), strides, (KH, KW), dilation))
        geom = ((H, W), (KH, KW), strides, dilation, 1)
        x2 = x.reshape(N * H * W, C)
        yfull = _col2im_gemm(x2, w, (N,) + full + (F,), *geom)
        # crop `before` pixels; Keras' output may also be longer than `full` (zeros after)
        pads = [(b, f - b - o) for b, o, f in zip(before, out_hw, full)]
        self.geom, self.full, self.pads = geom, full, pads
        self.x2 = x2 if self.needs[1] else None
        self.w2 = w.reshape(KH * KW * F, C) if self.needs[0] else None
        y = _window(yfull, pads)
        return y.reshape((N,) + y.shape[2:]) if len(self.wshape) == 3 else y

    def backward(self, g):
        g4 = g[:, None] if len(self.wshape) == 3 else g
        gfull = _window(g4, [(-b, -a) for b, a in self.pads])
        cols = _im2col(gfull, *self.geom)[:, 0]   # (N*H*W, KH*KW*F)
        dx = dw = None
        if self.needs[0]:
            dx = (cols @ self.w2).reshape(self.xshape)
        if self.needs[1]:
            dw = (cols.T @ self.x2).reshape(self.wshape)
        return dx, dw


def _window(a, pads):
    """Crop (positive) or zero-extend (negative) ``pads`` = [(before, after)] on the spatial axes."""
    if all(b >= 0 and e >= 0 for b, e in pads):
        return _crop(a, [(b, e) for b, e in pads]) if any(b or e for b, e in pads) else a
    ext = [(max(-b, 0), max(-e, 0)) for b, e in pads]
    a = np.pad(_crop(a, [(max(b, 0), max(e, 0)) for b, e in pads]), ((0, 0), *ext, (0, 0)))
    return a


def conv_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation_rate=1):
    """Transposed convolution (Keras ``ops.conv_transpose`` / Conv2DTranspose), without bias.

    x: (N, *spatial, C_in); kernel: (*k, F, C_in) in Keras' Conv2DTranspose layout (note:
    filters before input channels). Returns (N, *out_spatial, F), each out length from
    Keras' ``deconv_output_length``: "valid": n*s + max(k_eff - s, 0); "same": n*s; with
    output_padding p: (n-1)*s + k_eff - 2*pad + p. It is the gradient of ``conv`` with respect
    to its input (TensorFlow's padding split), so it inverts conv's shape change.
    """
    op = "conv_transpose"
    x, kernel, rank = _check_inputs(op, x, kernel)
    strides = _ints(op, "strides", strides, rank)
    dilation = _ints(op, "dilation_rate", dilation_rate, rank)
    if x.shape[-1] != kernel.shape[-1]:
        raise ValueError(
            f"{op}: x has {x.shape[-1]} channels but the kernel of shape {kernel.shape} expects "
            f"{kernel.shape[-1]} (the kernel layout is (*k, filters, in_channels))"
        )
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', received {padding!r}")
    padding = padding.lower()
    if output_padding is not None:
        output_padding = tuple(int(p) for p in ((output_padding,) * rank if isinstance(output_padding, (int, np.integer)) else output_padding))
        if len(output_padding) != rank or any(p < 0 or p >= s for p, s in zip(output_padding, strides)):
            raise ValueError(
                f"{op}: output_padding must be {rank} non-negative ints each smaller than the "
                f"stride {strides}, received {output_padding!r}"
            )
    k = kernel.shape[:rank]
    k_eff = [(kk - 1) * d + 1 for kk, d in zip(k, dilation)]
    sizes = x.shape[1:-1]
    ops_ = output_padding or (None,) * rank
    out = [deconv_output_length(n, kk, padding, p, s, d) for n, kk, p, s, d in zip(sizes, k, ops_, strides, dilation)]
    if min(out) < 1:
        raise ValueError(f"{op}: output size {tuple(out)} is empty for x of shape {x.shape} and kernel {kernel.shape}")
    # where conv(y) with this padding would read: TensorFlow pads `total // 2` before
    before = []
    for n, o, ke, s in zip(sizes, out, k_eff, strides):
        total = max((n - 1) * s + ke - o, 0) if padding == "same" else 0
        before.append(total // 2)
    if rank == 1:
        strides, dilation, out, before = (1,) + strides, (1,) + dilation, [1] + out, [0] + before
    return ConvTranspose.apply(x, kernel, strides=strides, dilation=dilation, out_hw=tuple(out), before=tuple(before))
