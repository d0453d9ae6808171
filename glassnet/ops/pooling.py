"""Pooling, channels_last, 1-D and 2-D: max_pool and avg_pool (Keras ``ops`` semantics).

Windows are strided slices of the (padded) input, one per window offset (a loop over the
pool_size cells, never over pixels); overlapping windows work the same way. Backward sends
each window's gradient back through the same slices with strided adds into a buffer.
"""
import numpy as np

from glassnet import compiled, parallel
from glassnet.autograd import Op
from glassnet.ops._util import check_float
from glassnet.ops.conv import _ints, batch_blocks, same_padding, wants_blocks
from glassnet.tensor import as_tensor


def _offsets(pool, strides, out_hw):
    """(a, b, slices) for every window offset: the slice of the padded input it reads."""
    (KH, KW), (sh, sw), (OH, OW) = pool, strides, out_hw
    for a in range(KH):
        for b in range(KW):
            yield a * KW + b, (slice(None), slice(a, a + sh * (OH - 1) + 1, sh), slice(b, b + sw * (OW - 1) + 1, sw))


def _crop(xp, pads):
    (t, bo), (l, r) = pads
    return xp[:, t:xp.shape[1] - bo, l:xp.shape[2] - r]


class MaxPool(Op):
    """y = max over each window;  dx = g routed to the window's first maximum (row-major order).
    A big batch runs as blocks on glassnet's threads (ops.conv.batch_blocks), each writing its part."""
    name = "max_pool"

    def forward(self, x, pool, strides, pads):
        self.xshape = x.shape
        x4 = x[:, None] if x.ndim == 3 else x
        xp = np.pad(x4, ((0, 0), *pads, (0, 0)), constant_values=-np.inf) if any(map(any, pads)) else x4
        out_hw = _out_hw(xp.shape, pool, strides)
        out = np.empty((xp.shape[0],) + out_hw + (xp.shape[3],), xp.dtype)
        idx = np.empty(out.shape, np.uint8 if pool[0] * pool[1] < 256 else np.intp) if self.needs[0] else None
        self.pool, self.strides, self.pads, self.xpshape = pool, strides, pads, xp.shape
        self.wants_blocks = wants_blocks(xp.shape[0], xp.size)
        self.blocks = blocks = batch_blocks(xp.shape[0], xp.size)
        if blocks is None:
            _max_windows(xp, out, idx, pool, strides)
        else:
            parallel.run(lambda sl: _max_windows(xp[sl], out[sl], None if idx is None else idx[sl], pool, strides),
                         blocks)
        self.idx = idx
        return out.reshape((x.shape[0],) + out.shape[2:]) if x.ndim == 3 else out

    def backward(self, g):
        g4 = g.reshape(self.idx.shape)
        disjoint = all(s >= k for s, k in zip(self.strides, self.pool))
        # windows that tile the input exactly write every cell below: no zero fill needed
        tiled = disjoint and all(s == k and n == o * s for s, k, n, o in
                                 zip(self.strides, self.pool, self.xpshape[1:3], self.idx.shape[1:3]))
        dxp = (np.empty if tiled else np.zeros)(self.xpshape, g.dtype)
        if self.blocks is None:
            self._route(g4, self.idx, dxp, disjoint, tiled)
        else:
            parallel.run(lambda sl: self._route(g4[sl], self.idx[sl], dxp[sl], disjoint, tiled), self.blocks)
        return (_crop(dxp, self.pads).reshape(self.xshape),)

    def _route(self, g4, idx, dxp, disjoint, tiled):
        """Each window's gradient into the cell its maximum came from (dxp: zeros, or tiled)."""
        kernels = compiled.hot()
        if kernels is not None and disjoint:  # one compiled pass; overlapping windows keep NumPy's sum order
            kernels.pooling.max_pool_backward(g4, idx, dxp, *self.pool, *self.strides, tiled)
            return
        hit = np.empty(idx.shape, bool)
        for k, sl in _offsets(self.pool, self.strides, idx.shape[1:3]):
            np.equal(idx, k, out=hit)
            if disjoint:
                # windows do not overlap: each input cell belongs to one window, so the
                # routed gradient is written straight into its slice (2 passes per offset)
                np.multiply(g4, hit, out=dxp[sl])
            else:
                dxp[sl] += g4 * hit


_NO_INDEX = np.empty((0, 0, 0, 0), np.uint8)


def _max_windows(xp, out, idx, pool, strides):
    """out = the max of each window of xp, idx = the offset of its first maximum (when not None)."""
    kernels = compiled.hot()  # once training is hot, with numba: one compiled pass, the same numbers
    if kernels is not None:
        kernels.pooling.max_pool_forward(xp, out, _NO_INDEX if idx is None else idx, *pool, *strides, idx is not None)
        return
    if idx is not None:
        step, hit = np.empty(out.shape, idx.dtype), np.empty(out.shape, bool)
    for k, sl in _offsets(pool, strides, out.shape[1:3]):
        v = xp[sl]
        if k == 0:
            np.copyto(out, v)
            if idx is not None:
                idx.fill(0)
            continue
        if idx is not None:
            # strict ">" keeps the first maximum, as TensorFlow and PyTorch do. Branch-free
            # idx += hit * (k - idx) (idx < k always): masked copies (np.copyto where=) on
            # half-true masks were 30-50x slower (22 ms vs 0.5 ms for 128x26x26x32)
            np.greater(v, out, out=hit)
            np.subtract(k, idx, out=step)
            np.multiply(step, hit, out=step)
            idx += step
        np.maximum(out, v, out=out)


class AvgPool(Op):
    """y = mean of each window's real (unpadded) cells;  dx = g / count spread over the window."""
    name = "avg_pool"

    def forward(self, x, pool, strides, pads):
        self.xshape = x.shape
        x4 = x[:, None] if x.ndim == 3 else x
        padded = any(map(any, pads))
        xp = np.pad(x4, ((0, 0), *pads, (0, 0))) if padded else x4
        out_hw = _out_hw(xp.shape, pool, strides)
        out = None
        for k, sl in _offsets(pool, strides, out_hw):
            out = xp[sl].copy() if out is None else np.add(out, xp[sl], out=out)
        if padded:
            # padded cells are not counted (Keras/TensorFlow): count = real cells per window
            ones = np.pad(np.ones((1,) + x4.shape[1:3] + (1,), x.dtype), ((0, 0), *pads, (0, 0)))
            count = sum(ones[sl] for _, sl in _offsets(pool, strides, out_hw))
            scale = (1 / count).astype(x.dtype)
        else:
            scale = np.asarray(1 / (pool[0] * pool[1]), x.dtype)
        out *= scale
        self.scale, self.pool, self.strides, self.pads, self.xpshape = scale, pool, strides, pads, xp.shape
        self.out_hw = out_hw
        return out.reshape((x.shape[0],) + out.shape[2:]) if x.ndim == 3 else out

    def backward(self, g):
        g4 = g.reshape((g.shape[0],) + self.out_hw + (g.shape[-1],)) * self.scale
        dxp = np.zeros(self.xpshape, g4.dtype)
        for _, sl in _offsets(self.pool, self.strides, self.out_hw):
            dxp[sl] += g4
        return (_crop(dxp, self.pads).reshape(self.xshape),)


def _out_hw(xpshape, pool, strides):
    return tuple((n - k) // s + 1 for n, k, s in zip(xpshape[1:3], pool, strides))


def _pool(op, cls, x, pool_size, strides, padding):
    x = as_tensor(x)
    check_float(op, x)
    if isinstance(pool_size, (int, np.integer)):
        rank = x.ndim - 2
    else:
        try:
            rank = len(pool_size)
        except TypeError:
            raise TypeError(f"{op}: pool_size must be an int or a tuple of ints, received {pool_size!r}") from None
    if rank not in (1, 2):
        raise ValueError(
            f"{op}: supports 1-D (batch, steps, channels) and 2-D (batch, height, width, channels) "
            f"inputs, received x of shape {x.shape} and pool_size {pool_size!r}"
        )
    if x.ndim != rank + 2:
        raise ValueError(
            f"{op}: a {rank}-D pool_size {pool_size!r} expects x of rank {rank + 2} "
            f"(batch, {'steps' if rank == 1 else 'height, width'}, channels), received shape {x.shape}"
        )
    pool = _ints(op, "pool_size", pool_size, rank)
    strides = pool if strides is None else _ints(op, "strides", strides, rank)
    mode = padding.lower() if isinstance(padding, str) else padding
    sizes = x.shape[1:-1]
    if mode == "valid":
        pads = [(0, 0)] * rank
    elif mode == "same":
        pads = [same_padding(n, k, s) for n, k, s in zip(sizes, pool, strides)]
    else:
        raise ValueError(f"{op}: padding must be 'valid' or 'same', received {padding!r}")
    for n, k, (b, a) in zip(sizes, pool, pads):
        if n + b + a < k:
            raise ValueError(
                f"{op}: pool_size {pool} is larger than the input (spatial shape {sizes}); "
                f"use a smaller pool_size or padding='same'"
            )
    if rank == 1:
        pool, strides, pads = (1,) + pool, (1,) + strides, [(0, 0)] + pads
    return cls.apply(x, pool=pool, strides=strides, pads=pads)


def max_pool(x, pool_size, strides=None, padding="valid"):
    """Max over each window (Keras ``ops.max_pool``, channels_last).

    x: (N, steps, C) or (N, H, W, C); pool_size: int or tuple (its length picks 1-D or 2-D;
    an int takes the rank from x); strides default to pool_size. "same" pads with -inf so
    padded cells never win. Returns (N, *out_spatial, C).
    """
    return _pool("max_pool", MaxPool, x, pool_size, strides, padding)


def avg_pool(x, pool_size, strides=None, padding="valid"):
    """Mean over each window (Keras ``ops.average_pool``, channels_last).

    Same arguments as max_pool; with "same" padding each window averages only its real
    cells (padded cells are not counted), as Keras/TensorFlow do.
    """
    return _pool("avg_pool", AvgPool, x, pool_size, strides, padding)
