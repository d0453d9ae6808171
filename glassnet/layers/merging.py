"""Merge layers: combine a list of tensors into one.

Add, Subtract, Multiply, Average, Maximum, Minimum work elementwise (sizes equal or 1,
aligned from the right, as Keras checks them); Concatenate joins along an axis; Dot takes
per-sample dot products. ``gn.layers.add([a, b])`` and friends are the one-call forms.
"""
import numpy as np

from glassnet import ops
from glassnet.layers.layer import Layer
from glassnet.tensor import Tensor


def _array(mask):
    return None if mask is None else np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)


def _masks(inputs, mask):
    if isinstance(mask, (list, tuple)):
        return [_array(m) for m in mask] + [None] * (len(inputs) - len(mask))
    return [None] * len(inputs)


class Merge(Layer):
    """Base of the merge layers: checks the list of inputs and broadcasts them together."""

    _min_inputs, _max_inputs = 1, None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    # ---- checks (on shapes, so build and call say the same) -----------------------
    def _check_list(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            shape = tuple(getattr(inputs, "shape", ())) or inputs
            raise ValueError(
                f'{type(self).__name__} "{self.name}": a merge layer should be called on a list of inputs, '
                f"received a single input{f' of shape {shape}' if hasattr(inputs, 'shape') else ''}; pass [a, b]"
            )
        n = len(inputs)
        if n < self._min_inputs or (self._max_inputs is not None and n > self._max_inputs):
            want = (f"exactly {self._max_inputs}" if self._min_inputs == self._max_inputs
                    else f"at least {self._min_inputs}")
            raise ValueError(f'A `{type(self).__name__}` layer ("{self.name}") should be called on {want} inputs, received {n} inputs')

    def _check_shapes(self, shapes):
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ValueError(f'{type(self).__name__} "{self.name}": cannot merge tensors with different batch sizes, received tensors with shapes {shapes}')
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = self._elementwise_shape(out, s[1:], shapes)
        return out

    def _elementwise_shape(self, a, b, shapes):
        if len(a) < len(b):
            a, b = b, a
        if not b:
            return tuple(a)
        out = list(a[:len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1:
                out.append(j if i == 1 else i)
            elif i != j:
                raise ValueError(
                    f'{type(self).__name__} "{self.name}": inputs have incompatible shapes, received shapes '
                    f"{', '.join(str(tuple(s)) for s in shapes)} (sizes must match or be 1, aligned from the last axis)"
                )
            else:
                out.append(i)
        return tuple(out)

    def build(self, input_shape):
        if not (isinstance(input_shape, (list, tuple)) and input_shape
                and all(isinstance(s, (tuple, list)) for s in input_shape)):
            raise ValueError(
                f'{type(self).__name__} "{self.name}": a merge layer should be called on a list of inputs, '
                f"received a single input of shape {input_shape}; pass [a, b]"
            )
        self._check_list(input_shape)
        self._check_shapes([tuple(s) for s in input_shape])
        self.built = True

    def call(self, inputs, mask=None):
        self._check_list(inputs)
        self._check_shapes([tuple(x.shape) for x in inputs])
        inputs = list(inputs)
        ndim = max(x.ndim for x in inputs)
        # inputs of lower rank get size-1 axes after the batch axis, as Keras
        inputs = [ops.reshape(x, (x.shape[0],) + (1,) * (ndim - x.ndim) + tuple(x.shape[1:])) if x.ndim < ndim else x
                  for x in inputs]
        return self._merge_function(inputs, _masks(inputs, mask))

    def _merge_function(self, inputs, masks):
        raise NotImplementedError

    def _apply_with_masks(self, op, inputs, masks):
        """Fold ``op`` over the inputs; a masked-out position takes the other operand's value,
        so masked entries never win (Keras' rule for Maximum and Minimum)."""
        output = output_mask = None
        for x, m in zip(inputs, masks):
            if m is not None:
                m = np.broadcast_to(m[..., None], x.shape)
            if output is None:
                output, output_mask = x, m
                continue
            if m is not None:
                x = ops.where(m, x, output)
            if output_mask is not None:
                output = ops.where(output_mask, output, x)
            output_mask = output_mask | m if (m is not None and output_mask is not None) else None
            output = op(output, x)
        return output

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = _masks(inputs, mask)
        if any(m is None for m in masks):
            return None
        out = masks[0]
        for m in masks[1:]:
            out = out | m
        return out

    def compute_output_shape(self, input_shape):
        rest = self._check_shapes([tuple(s) for s in input_shape])
        batches = {s[0] for s in input_shape} - {None}
        return ((batches.pop() if len(batches) == 1 else None),) + tuple(rest)


class Add(Merge):
    """y = x1 + x2 + ... (elementwise)."""

    def _merge_function(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """y = x1 - x2 (exactly two inputs)."""

    _min_inputs = _max_inputs = 2

    def _merge_function(self, inputs, masks):
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """y = x1 * x2 * ... (elementwise); masked-out entries count as 1 (0 where all are masked)."""

    def _merge_function(self, inputs, masks):
        all_masked = all(m is not None for m in masks)
        output = output_mask = None
        for x, m in zip(inputs, masks):
            if m is not None:
                m = np.broadcast_to(m[..., None], x.shape)
                x = ops.where(m, x, 1.0)
                if all_masked:
                    output_mask = m if output_mask is None else output_mask | m
            output = x if output is None else output * x
        if all_masked:
            output = ops.where(output_mask, output, 0.0)
        return output


class Average(Merge):
    """y = (x1 + x2 + ...) / n (elementwise)."""

    def _merge_function(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(Merge):
    """y = max(x1, x2, ...) (elementwise; the gradient goes to the largest, split on ties)."""

    def _merge_function(self, inputs, masks):
        return self._apply_with_masks(ops.maximum, inputs, masks)


class Minimum(Merge):
    """y = min(x1, x2, ...) (elementwise; the gradient goes to the smallest, split on ties)."""

    def _merge_function(self, inputs, masks):
        return self._apply_with_masks(ops.minimum, inputs, masks)


class Concatenate(Merge):
    """Join the inputs along ``axis``; every other axis must match."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f'Concatenate "{self.name}": axis must be an int, received {axis!r}')
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        ranks = {len(s) for s in shapes}
        bad = len(ranks) != 1
        if not bad:
            rank = ranks.pop()
            if not -rank <= self.axis < rank:
                raise ValueError(f'Concatenate "{self.name}": axis {self.axis} is out of range for inputs of shapes {shapes}')
            ax = self.axis % rank
            for d in range(rank):
                sizes = {s[d] for s in shapes} - {None}
                if d != ax and len(sizes) > 1:
                    bad = True
        if bad:
            raise ValueError(
                f'A `Concatenate` layer ("{self.name}") requires inputs with matching shapes except for the '
                f"concatenation axis {self.axis}. Received: input_shape={shapes}"
            )
        return None

    def call(self, inputs, mask=None):
        self._check_list(inputs)
        self._check_shapes([tuple(x.shape) for x in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        masks = _masks(inputs, mask)
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                m = np.ones(x.shape, bool)
            elif m.ndim < x.ndim:
                m = np.broadcast_to(m[..., None], x.shape)
            full.append(m)
        return np.concatenate(full, axis=self.axis).any(axis=-1)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        self._check_shapes(shapes)
        out = list(shapes[0])
        ax = self.axis % len(out)
        sizes = [s[ax] for s in shapes]
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def batch_dot(x, y, axes=None):
    """Per-sample dot product of x and y over ``axes`` (one axis of each; Keras' batch_dot).

    (b, n) . (b, n) -> (b, 1); (b, m, n) . (b, n, k) with axes (2, 1) -> (b, m, k).
    """
    x_ndim, y_ndim = x.ndim, y.ndim
    if isinstance(axes, (int, np.integer)):
        axes = [int(axes), int(axes)]
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 1] if y_ndim == 2 else [x_ndim - 1, y_ndim - 2]
    a0, a1 = axes[0] % x_ndim, axes[1] % y_ndim
    orig_x_ndim, orig_y_ndim = x_ndim, y_ndim
    if x_ndim == 2:
        x = ops.expand_dims(x, 1)
        a0, x_ndim = a0 + 1, 3
    if y_ndim == 2:
        y = ops.expand_dims(y, 2)
        y_ndim = 3
    if a0 != x_ndim - 1:   # the contracted axis of x goes last
        x = ops.transpose(x, [i for i in range(x_ndim) if i != a0] + [a0])
    if a1 != 1:            # the contracted axis of y goes right after the batch
        y = ops.transpose(y, [0, a1] + [i for i in range(1, y_ndim) if i != a1])
    x_mid, y_trail = tuple(x.shape[1:-1]), tuple(y.shape[2:])
    x = ops.reshape(x, (x.shape[0], -1, x.shape[-1]))
    y = ops.reshape(y, (y.shape[0], y.shape[1], -1))
    out = ops.matmul(x, y)
    out = ops.reshape(out, (out.shape[0],) + x_mid + y_trail)
    if orig_x_ndim == 2:
        out = ops.squeeze(out, 1)
    elif orig_y_ndim == 2:
        out = ops.squeeze(out, -1)
    return out


def _l2_normalize(x, axis):
    """x / max(||x||, 1e-7) along ``axis`` (Keras' normalize)."""
    sq = ops.sum(x * x, axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(sq, 1e-14))


class Dot(Merge):
    """Per-sample dot product of two inputs along ``axes`` (an int for both, or one axis of
    each); ``normalize=True`` L2-normalises both first, giving the cosine similarity.
    (b, n) and (b, n) -> (b, 1)."""

    _min_inputs = _max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, (int, np.integer)):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f'Dot "{self.name}": axes must be an int or a list of two ints, received axes={axes!r}')
            if len(axes) != 2:
                raise ValueError(f'Dot "{self.name}": axes must contain two elements, received axes={axes!r}')
            if not all(isinstance(a, (int, np.integer)) for a in axes):
                raise ValueError(f'Dot "{self.name}": axes elements must be integers, received axes={axes!r}')
            axes = [int(a) for a in axes]
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = bool(normalize)
        self.supports_masking = True

    def _axes(self, ndims):
        if isinstance(self.axes, int):
            return [self.axes % ndims[0], self.axes % ndims[1]] if self.axes < 0 else [self.axes] * 2
        return [a % n if a < 0 else a for a, n in zip(self.axes, ndims)]

    def _check_shapes(self, shapes):
        s1, s2 = shapes
        if len(s1) < 2 or len(s2) < 2:
            raise ValueError(f'Dot "{self.name}": inputs must have rank >= 2 (a batch axis and a feature axis), received shapes {s1} and {s2}')
        if s1[0] is not None and s2[0] is not None and s1[0] != s2[0]:
            raise ValueError(f'Dot "{self.name}": inputs have different batch sizes, received shapes {s1} and {s2}')
        axes = self._axes((len(s1), len(s2)))
        if any(not 0 <= a < n for a, n in zip(axes, (len(s1), len(s2)))):
            raise ValueError(f'Dot "{self.name}": axes {self.axes} are out of range for inputs of shapes {s1} and {s2}')
        if 0 in axes:
            raise ValueError(f'Dot "{self.name}": cannot take the dot product over the batch axis 0, received axes={self.axes}')
        d1, d2 = s1[axes[0]], s2[axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f'Dot "{self.name}": incompatible input shapes: axis values {d1} (at axis {axes[0]}) != {d2} '
                f"(at axis {axes[1]}). Full input shapes: {s1}, {s2}"
            )
        return axes

    def call(self, inputs, mask=None):
        self._check_list(inputs)
        x1, x2 = inputs
        axes = self._check_shapes([tuple(x1.shape), tuple(x2.shape)])
        if self.normalize:
            x1 = _l2_normalize(x1, axes[0])
            x2 = _l2_normalize(x2, axes[1])
        return batch_dot(x1, x2, axes)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        s1, s2 = [list(s) for s in input_shape]
        axes = self._check_shapes([tuple(s1), tuple(s2)])
        s1.pop(axes[0])
        s2.pop(axes[1])
        s2.pop(0)
        out = s1 + s2
        return tuple(out + [1] if len(out) == 1 else out)

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def add(inputs, **kwargs):
    """Add()(inputs): the elementwise sum of a list of tensors."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Subtract()(inputs): inputs[0] - inputs[1]."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Multiply()(inputs): the elementwise product of a list of tensors."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Average()(inputs): the elementwise mean of a list of tensors."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Maximum()(inputs): the elementwise maximum of a list of tensors."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Minimum()(inputs): the elementwise minimum of a list of tensors."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Concatenate(axis)(inputs): the tensors joined along ``axis``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Dot(axes)(inputs): per-sample dot products of two tensors."""
    return Dot(axes=axes, **kwargs)(inputs)
