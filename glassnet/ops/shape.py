"""Shape ops: reshape, transpose, expand_dims, squeeze, broadcast_to, concatenate, stack,
split, pad, repeat, tile, flip. Their gradients move values back to where they came from."""
import numpy as np

from glassnet.autograd import Op
from glassnet.ops._util import normalize_axis, unbroadcast
from glassnet.tensor import as_tensor


class Reshape(Op):
    """z = x with a new shape;  dx = g reshaped back."""
    name = "reshape"

    def forward(self, x, shape=None):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Op):
    """z = x with axes permuted;  dx = g with the inverse permutation."""
    name = "transpose"

    def forward(self, x, axes=None):
        self.inverse = np.argsort(axes)
        return np.transpose(x, axes)

    def backward(self, g):
        return (np.transpose(g, self.inverse),)


class BroadcastTo(Op):
    """z = x broadcast to a shape;  dx = g summed over the broadcast axes."""
    name = "broadcast_to"

    def forward(self, x, shape=None):
        self.shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, g):
        return (unbroadcast(g, self.shape),)


class Concatenate(Op):
    """z = [x1, x2, ...] joined along an axis;  dx_i = the slice of g that x_i filled."""
    name = "concatenate"

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(self, g):
        return tuple(np.split(g, self.bounds, axis=self.axis))


class Pad(Op):
    """z = x padded with a constant;  dx = the interior slice of g."""
    name = "pad"

    def forward(self, x, pad_width=None, value=0.0):
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return (g[self.inner],)


class Repeat(Op):
    """z = each element of x repeated along an axis;  dx = g summed over each group."""
    name = "repeat"

    def forward(self, x, repeats=None, axis=0):
        self.shape, self.repeats, self.axis = x.shape, repeats, axis
        return np.repeat(x, repeats, axis=axis)

    def backward(self, g):
        axis, n = self.axis, self.shape[self.axis]
        if np.ndim(self.repeats) == 0:
            shape = g.shape[:axis] + (n, int(self.repeats)) + g.shape[axis + 1:]
            return (g.reshape(shape).sum(axis=axis + 1),)
        starts = np.concatenate([[0], np.cumsum(self.repeats)[:-1]])
        out = np.add.reduceat(g, starts, axis=axis) if len(starts) else g
        # reduceat gives g[start] for empty groups; those inputs were never used
        empty = np.asarray(self.repeats) == 0
        if empty.any():
            index = [slice(None)] * g.ndim
            index[axis] = empty
            out[tuple(index)] = 0
        return (out,)


class Tile(Op):
    """z = x tiled;  dx = the sum of g over the tiles."""
    name = "tile"

    def forward(self, x, reps=None):
        self.shape, self.reps = x.shape, reps
        return np.tile(x, reps)

    def backward(self, g):
        shape = []
        for r, n in zip(self.reps, self.shape):
            shape += [r, n]
        summed = g.reshape(shape).sum(axis=tuple(range(0, 2 * len(self.shape), 2)))
        return (summed,)


class Flip(Op):
    """z = x reversed along axes;  dx = g reversed the same way."""
    name = "flip"

    def forward(self, x, axes=None):
        self.axes = axes
        return np.flip(x, axes)

    def backward(self, g):
        return (np.flip(g, self.axes),)


def reshape(x, shape):
    """x with a new shape of the same size (one entry may be -1)."""
    x = as_tensor(x)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    known = int(np.prod([n for n in shape if n != -1]))
    ok = shape.count(-1) <= 1 and (known == x.size if -1 not in shape else known and x.size % known == 0)
    if not ok:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} values) into {shape}")
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose.apply(x, axes=axes)


def expand_dims(x, axis):
    """Insert size-1 axes at ``axis``."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shape = np.expand_dims(np.empty(x.shape, dtype=bool), axes).shape
    return reshape(x, shape)


def squeeze(x, axis=None):
    """Remove size-1 axes (those at ``axis``, or all of them)."""
    x = as_tensor(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axis("squeeze", axis, x.ndim)
        bad = [a for a in axes if x.shape[a] != 1]
        if bad:
            raise ValueError(f"squeeze: axis {bad[0]} has size {x.shape[bad[0]]}, not 1, in shape {x.shape}")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def broadcast_to(x, shape):
    """x repeated (without copying) to ``shape`` by NumPy's broadcasting rules."""
    x = as_tensor(x)
    shape = tuple(shape)
    try:
        ok = np.broadcast_shapes(x.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    if shape == x.shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def concatenate(xs, axis=0):
    """Join tensors along an existing axis; all other axes must match."""
    xs = [as_tensor(x) for x in xs]
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    ndim = xs[0].ndim
    axis_n = normalize_axis("concatenate", axis, ndim)[0] if ndim else 0
    for x in xs:
        if x.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if i != axis_n):
            raise ValueError(
                f"concatenate: all shapes must match except on axis {axis}, received "
                f"{[t.shape for t in xs]}"
            )
    return Concatenate.apply(*xs, axis=axis_n)


def stack(xs, axis=0):
    """Join same-shaped tensors along a new axis."""
    xs = [as_tensor(x) for x in xs]
    if not xs or any(x.shape != xs[0].shape for x in xs):
        raise ValueError(f"stack: all tensors must have the same shape, received {[t.shape for t in xs]}")
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Split into a list of tensors: equal sections, or at the given indices (NumPy rules)."""
    from glassnet.ops.indexing import getitem
    x = as_tensor(x)
    axis = normalize_axis("split", axis, x.ndim)[0]
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of size {n} cannot be split into {k} equal sections")
        cuts = [i * (n // k) for i in range(1, k)]
    else:
        cuts = list(indices_or_sections)
    edges = [0] + cuts + [n]
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        index = [slice(None)] * x.ndim
        index[axis] = slice(lo, hi)
        pieces.append(getitem(x, tuple(index)))
    return pieces


def pad(x, pad_width, constant_values=0.0):
    """Pad with a constant: ``pad_width`` is one (before, after) pair per axis (NumPy form)."""
    x = as_tensor(x)
    width = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (width < 0).any():
        raise ValueError(f"pad: widths must be non-negative, received {pad_width}")
    return Pad.apply(x, pad_width=tuple(map(tuple, width.tolist())), value=constant_values)


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (flattened first when None)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = normalize_axis("repeat", axis, x.ndim)[0]
    if np.ndim(repeats) and len(repeats) != x.shape[axis]:
        raise ValueError(f"repeat: {len(repeats)} repeat counts for an axis of size {x.shape[axis]}")
    return Repeat.apply(x, repeats=repeats, axis=axis)


def tile(x, reps):
    """Tile x ``reps`` times per axis (NumPy rules: reps and shape aligned from the right)."""
    x = as_tensor(x)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    ndim = max(x.ndim, len(reps))
    x = reshape(x, (1,) * (ndim - x.ndim) + x.shape)
    reps = (1,) * (ndim - len(reps)) + reps
    return Tile.apply(x, reps=reps)


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes when None)."""
    x = as_tensor(x)
    return Flip.apply(x, axes=normalize_axis("flip", axis, x.ndim))
