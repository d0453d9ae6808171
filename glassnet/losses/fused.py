"""Fused cross-entropy ops: the hot losses of training as single ops with their own backward.

Composed from primitives, sparse categorical crossentropy would build a one-hot matrix,
a softmax, a log, a product and a sum, each with its saved arrays and backward pass. Fused,
it is one gather of log-probabilities whose gradient is one line (softmax - onehot). Each
is gradchecked against the composed version in tests/losses/test_losses.py.

Measured (forward + backward, float32, one CPU core): 2.0x faster than the composed
one-hot * log_softmax at (64, 1000) and 2.1x at (32, 50, 200) logits; even at (128, 10).
"""
import numpy as np

from glassnet.autograd import Op

EPSILON = 1e-7


def _to_last(x, axis):
    """The class axis moved last, C-contiguous (backward writes through reshape views)."""
    return np.ascontiguousarray(x if axis in (-1, x.ndim - 1) else np.moveaxis(x, axis, -1))


def _from_last(x, axis):
    return x if axis in (-1, x.ndim - 1) else np.moveaxis(x, -1, axis)


def _flat_index(a, labels):
    """Index of a.reshape(-1, C) picking, per position, the entry of the last axis at its label
    (plain integer indexing: faster than take_along_axis for the usual small batches)."""
    return np.arange(labels.size), labels.reshape(-1)


def _pick(a, labels):
    """a[..., labels[...]]: one entry of the last axis per position."""
    return a.reshape(-1, a.shape[-1])[_flat_index(a, labels)].reshape(labels.shape)


class SparseSoftmaxCrossEntropy(Op):
    """z = logsumexp(x) - x[label] over the class axis;  dz/dx = softmax(x) - onehot(label).

    Positions where ``valid`` is False (``ignore_class``) give 0 and get no gradient."""
    name = "sparse_softmax_crossentropy"

    def forward(self, x, labels=None, axis=-1, valid=None):
        self.axis, self.valid = axis, valid
        x = _to_last(x, axis)
        shift = x.max(axis=-1, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0)
        e = np.exp(x - shift)
        s = e.sum(axis=-1, keepdims=True)
        self.labels = labels
        self.probs = e / s  # kept for backward: softmax is the gradient's main term
        z = (np.log(s[..., 0]) + shift[..., 0]) - _pick(x, labels)
        if valid is not None:
            z = np.where(valid, z, 0)
        return z.astype(x.dtype, copy=False)

    def backward(self, g):
        grad = self.probs * g[..., None]
        grad.reshape(-1, grad.shape[-1])[_flat_index(grad, self.labels)] -= g.reshape(-1)
        if self.valid is not None:
            grad *= self.valid[..., None]
        return (_from_last(grad, self.axis),)


class SparseCrossEntropy(Op):
    """Keras' sparse crossentropy from probabilities: q = p / sum(p), z = -log(clip(q[label],
    eps, 1 - eps));  dz/dp_j = 1/sum(p) - [j = label] / p_label  (0 where the clip is active)."""
    name = "sparse_crossentropy"

    def forward(self, p, labels=None, axis=-1, valid=None):
        self.axis, self.valid, self.labels = axis, valid, labels
        p = _to_last(p, axis)
        s = p.sum(axis=-1)
        p_label = _pick(p, labels)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = p_label / s
        q_clipped = np.clip(q, EPSILON, 1 - EPSILON)
        # the gradient flows only where the clip is not active (as through torch.clip)
        self.live = (q >= EPSILON) & (q <= 1 - EPSILON)
        if valid is not None:
            self.live &= valid
        self.s, self.p_label = s, p_label
        with np.errstate(divide="ignore"):
            z = -np.log(q_clipped)
        if valid is not None:
            z = np.where(valid, z, 0)
        self.shape, self.dtype = p.shape, p.dtype
        return z.astype(p.dtype, copy=False)

    def backward(self, g):
        live = self.live
        with np.errstate(divide="ignore", invalid="ignore"):
            gs = np.where(live, g / self.s, 0).astype(self.dtype, copy=False)
            gl = np.where(live, g / self.p_label, 0).astype(self.dtype, copy=False)
        grad = np.broadcast_to(gs[..., None], self.shape).copy()
        grad.reshape(-1, grad.shape[-1])[_flat_index(grad, self.labels)] -= gl.reshape(-1)
        return (_from_last(grad, self.axis),)


class SigmoidCrossEntropy(Op):
    """Binary crossentropy from logits, z = max(x, 0) - x t + log(1 + e^-|x|);
    dz/dx = sigmoid(x) - t  (t is a constant)."""
    name = "sigmoid_crossentropy"

    def forward(self, x, target=None):
        self.x, self.t = x, target
        return (np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.x
        e = np.exp(-np.abs(x))
        sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return ((g * (sig - self.t)).astype(x.dtype, copy=False),)


class ReducedSquaredError(Op):
    """z = sum(w * mean((p - t)^2, last axis)) / n;  dz/dp = 2 (p - t) w / (k n), k the size of
    the last axis, w the per-sample weights (1 when absent). n is the reduction's divisor:
    None for "sum" (no division), 0 gives z = 0 and no gradient (Keras' divide_no_nan).
    t (broadcast to p's shape) and w (shaped p.shape[:-1]) are constants of p's dtype.

    The sum of squares is one dot product (BLAS), not a mean per sample then a sum: 1.8 us
    instead of 4.7 for a batch of 32 (numbers equal to the composed loss to float rounding)."""
    name = "mean_squared_error"

    def forward(self, p, target=None, weight=None, divisor=None):
        self.weight, self.divisor = weight, divisor
        self.d = d = p - target
        flat = d.reshape(-1)
        z = np.dot(flat, flat if weight is None else (d * weight[..., None]).reshape(-1))
        f = p.dtype.type
        z = z / f(d.shape[-1])
        if divisor is not None:
            z = z / f(divisor) if divisor else z * f(0)
        return np.asarray(z, dtype=p.dtype)

    def backward(self, g):
        d, divisor = self.d, self.divisor
        scale = float(g) * 2.0 / d.shape[-1]
        if divisor is not None:
            scale = scale / divisor if divisor else 0.0
        f = d.dtype.type
        if self.weight is None:
            return (d * f(scale),)
        return (d * (self.weight * f(scale))[..., None],)
