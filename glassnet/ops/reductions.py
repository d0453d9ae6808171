"""Reductions over axes: sum, mean, max, min, var, std, logsumexp, argmax, argmin."""
import numpy as np

from glassnet.autograd import Op
from glassnet.ops._util import normalize_axis
from glassnet.tensor import Tensor, as_tensor


def _expand(g, shape, axes, keepdims):
    """Give a reduced gradient back its reduced axes so it broadcasts against the input."""
    if not keepdims:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


class Sum(Op):
    """z = sum x over axes;  dz/dx = 1 (g broadcast back)."""
    name = "sum"

    def forward(self, x, axes=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return np.asarray(x.sum(axis=axes, keepdims=keepdims))

    def backward(self, g):
        return (_expand(g, self.shape, self.axes, self.keepdims),)


class Mean(Op):
    """z = mean x over axes;  dz/dx = 1/n."""
    name = "mean"

    def forward(self, x, axes=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.n = int(np.prod([x.shape[a] for a in axes]))
        return np.asarray(x.mean(axis=axes, keepdims=keepdims))

    def backward(self, g):
        return (_expand(g / np.asarray(self.n, g.dtype), self.shape, self.axes, self.keepdims),)


class Max(Op):
    """z = max x over axes;  dz/dx = 1 at the maxima (split evenly between ties), else 0."""
    name = "max"
    reduce = staticmethod(np.max)

    def forward(self, x, axes=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        self.x, self.axes, self.keepdims = x, axes, keepdims
        self.z = np.asarray(self.reduce(x, axis=axes, keepdims=True))
        return self.z if keepdims else np.squeeze(self.z, axis=axes)

    def backward(self, g):
        hit = self.x == self.z
        count = hit.sum(axis=self.axes, keepdims=True)
        if not self.keepdims:
            g = np.expand_dims(g, self.axes)
        return ((g / count) * hit,)


class Min(Max):
    """z = min x over axes;  dz/dx = 1 at the minima (split evenly between ties), else 0."""
    name = "min"
    reduce = staticmethod(np.min)


def _reduce(cls, x, axis, keepdims):
    x = as_tensor(x)
    axes = normalize_axis(cls.name, axis, x.ndim)
    return cls.apply(x, axes=axes, keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all axes)."""
    return _reduce(Sum, x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (None: all axes)."""
    return _reduce(Mean, x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    """Largest value over ``axis``."""
    return _reduce(Max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Smallest value over ``axis``."""
    return _reduce(Min, x, axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis``: mean((x - mean x)^2), population form (ddof=0) as in Keras."""
    x = as_tensor(x)
    axes = normalize_axis("var", axis, x.ndim)
    n = int(np.prod([x.shape[a] for a in axes]))
    if n - ddof <= 0:
        raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom over {n} values")
    centred = x - mean(x, axes, keepdims=True)
    total = sum(centred * centred, axes, keepdims=keepdims)
    return total / (n - ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over ``axis``: sqrt(var)."""
    from glassnet.ops.math import sqrt
    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(e^x)) over ``axis``, shifted by the (constant) max so it cannot overflow."""
    from glassnet.ops.math import exp, log
    x = as_tensor(x)
    axes = normalize_axis("logsumexp", axis, x.ndim)
    shift = np.max(x.data, axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype, copy=False)
    out = log(sum(exp(x - Tensor._from_op(shift, None)), axes, keepdims=True)) + Tensor._from_op(shift, None)
    return out if keepdims else squeeze_axes(out, axes)


def squeeze_axes(x, axes):
    from glassnet.ops.shape import reshape
    shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


def _arg(fn, name, x, axis, keepdims):
    x = as_tensor(x)
    if axis is not None:
        normalize_axis(name, axis, x.ndim)
    return Tensor._from_op(np.asarray(fn(x.data, axis=axis, keepdims=keepdims)), None)


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value along ``axis`` (flattened when None); no gradient."""
    return _arg(np.argmax, "argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value along ``axis`` (flattened when None); no gradient."""
    return _arg(np.argmin, "argmin", x, axis, keepdims)
