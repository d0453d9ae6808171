"""The Loss base class, the function wrapper, and Keras 3's reductions.

A loss is called as ``loss(y_true, y_pred, sample_weight=None)``:

1. ``call(y_true, y_pred)`` gives one value per sample (per timestep for sequences);
2. the mask of ``y_pred`` (``y_pred._keras_mask``) and any mask the loss sets on its
   values (``ignore_class``) are merged into ``sample_weight``;
3. the weighted values are reduced: "sum_over_batch_size" and "mean" divide the sum by
   the number of values (masked-out values count as absent, their weight moves to the
   valid ones), "sum" adds them, "mean_with_sample_weight" divides by the sum of the
   weights, None / "none" returns them per sample.

Only ``y_pred`` carries gradients; ``y_true``, ``sample_weight`` and masks are constants.
"""
import numpy as np

from glassnet import backend, ops
from glassnet.tensor import Tensor

EPSILON = 1e-7  # keras.config.epsilon(): the clip of probabilities away from 0 and 1

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none")

_name_counts = {}


def to_snake_case(name):
    """"SparseCategoricalCrossentropy" -> "sparse_categorical_crossentropy" (as Keras)."""
    import re
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(class_name):
    """A unique snake_case name: "precision", then "precision_1", ... (Keras' auto_name)."""
    base = to_snake_case(class_name)
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {REDUCTIONS}, "
            f"received reduction={reduction!r}"
        )
    return reduction


# ---- inputs ------------------------------------------------------------------------
def as_pred(y_pred, dtype=None):
    """y_pred as a Tensor (keeping its graph); integers become floatx, ``dtype`` casts."""
    if not isinstance(y_pred, Tensor):
        y_pred = Tensor(y_pred)
    if dtype is not None:
        return ops.cast(y_pred, dtype)
    if y_pred.data.dtype.kind != "f":  # backend.is_float, without np.issubdtype's 0.6 us
        return ops.cast(y_pred, backend.floatx())
    return y_pred


def as_true(loss_name, y_true, dtype):
    """y_true as a constant ndarray of ``dtype``; NaN labels are an error, not a NaN loss."""
    arr = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        where = tuple(int(i) for i in np.argwhere(np.isnan(arr))[0])
        raise ValueError(
            f"{loss_name}: y_true contains NaN (first at index {where} of shape {arr.shape}); "
            f"clean or drop those samples before training"
        )
    if arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def prepare(loss_name, y_true, y_pred):
    """(y_true constant array, y_pred Tensor) in y_pred's float dtype."""
    y_pred = as_pred(y_pred)
    return as_true(loss_name, y_true, y_pred.dtype), y_pred


def _expand_last(x):
    return ops.expand_dims(x, -1) if isinstance(x, Tensor) else np.expand_dims(x, -1)


def _squeeze_last(x):
    return ops.squeeze(x, -1) if isinstance(x, Tensor) else np.squeeze(x, -1)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Fix a rank difference of one caused by a trailing axis of size 1, as Keras does:
    (batch,) against (batch, 1) becomes (batch, 1) and (batch, 1); a rank-2+ tensor with a
    trailing 1 against one rank lower is squeezed instead. Works on Tensors and arrays."""
    r1, r2 = np.ndim(x1), np.ndim(x2)
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and np.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = _expand_last(x2)
        else:
            x1 = _squeeze_last(x1)
    if r2 == r1 + 1 and np.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = _expand_last(x1)
        else:
            x2 = _squeeze_last(x2)
    return x1, x2


def check_broadcast(loss_name, y_true, y_pred):
    """A clear error for label/prediction shapes that cannot be compared elementwise."""
    try:
        np.broadcast_shapes(np.shape(y_true), np.shape(y_pred))
    except ValueError:
        raise ValueError(
            f"{loss_name}: y_true and y_pred shapes are incompatible, received "
            f"y_true.shape={np.shape(y_true)} and y_pred.shape={np.shape(y_pred)}; they must "
            f"match (a trailing axis of size 1 may be added or dropped)"
        ) from None


# ---- reductions --------------------------------------------------------------------
def apply_mask(sample_weight, mask, dtype, reduction):
    """Fold a boolean mask into the sample weights (NumPy constants).

    For the mean reductions a valid entry gets weight total/valid, so that dividing the
    sum by the total number of entries gives the mean over the valid ones."""
    if mask is None:
        return sample_weight
    mask = np.asarray(mask)
    if reduction in ("mean", "sum_over_batch_size"):
        total = mask.size
        valid = np.count_nonzero(mask)
        weight = total / valid if valid else 0.0
        float_mask = np.where(mask.astype(bool), weight, 0).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    sample_weight = np.asarray(sample_weight, dtype=dtype)
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    _check_weight_shape(sample_weight.shape, float_mask.shape, "mask")
    return sample_weight * float_mask


def _check_weight_shape(weight_shape, shape, what):
    try:
        np.broadcast_shapes(weight_shape, shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {weight_shape} does not match the {what} of shape {shape}; "
            f"give one weight per sample (per timestep for sequence outputs)"
        ) from None


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Sum the (already weighted) values, then divide as the reduction says."""
    if reduction is None or reduction == "none" or values.shape == () or values.shape == (0,):
        return values
    loss = ops.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = float(np.sum(sample_weight, dtype=values.dtype))
        else:
            divisor = float(values.size)
        loss = ops.divide(loss, divisor) if divisor != 0 else loss * 0.0  # divide_no_nan
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras' reduce_weighted_values: merge mask into weights, weight, reduce."""
    reduction = standardize_reduction(reduction)
    values = values if isinstance(values, Tensor) else Tensor(values)
    dtype = values.dtype
    if sample_weight is not None:
        sample_weight = sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight
        sample_weight = np.asarray(sample_weight, dtype=dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        _check_weight_shape(sample_weight.shape, values.shape, "per-sample losses")
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


# ---- classes -----------------------------------------------------------------------
class Loss:
    """Base class of losses (keras.losses.Loss): subclass it and implement ``call``.

        class MyMSE(gn.losses.Loss):
            def call(self, y_true, y_pred):
                return gn.ops.mean(gn.ops.square(y_pred - y_true), axis=-1)

    ``dtype=None`` computes in y_pred's float dtype (float32 stays float32, float64 stays
    float64 for gradient checks); Keras would cast to floatx. A given dtype casts y_pred.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or auto_name(self.__class__.__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else np.dtype(dtype).name

    @property
    def dtype(self):
        return self._dtype or backend.floatx()

    # A function (self, y_true, y_pred, sample_weight) computing the whole call with fused
    # ops, returning None where it does not apply (then the general path below runs).
    _fused = None

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self._fused is not None:
            out = self._fused(self, y_true, y_pred, sample_weight)
            if out is not None:
                return out
        in_mask = getattr(y_pred, "_keras_mask", None)
        if isinstance(in_mask, Tensor):
            in_mask = in_mask.data
        y_pred = as_pred(y_pred, self._dtype)
        y_true = as_true(self.name, y_true, y_pred.dtype)
        losses = self.call(y_true, y_pred)
        if not isinstance(losses, Tensor):
            losses = Tensor(np.asarray(losses, dtype=y_pred.dtype))
        out_mask = losses._keras_mask
        if isinstance(out_mask, Tensor):
            out_mask = out_mask.data
        if in_mask is not None and out_mask is not None:
            mask = np.logical_and(in_mask, out_mask)
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{self.__class__.__name__}: a Loss subclass must implement call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{self.__class__.__name__} name={self.name}>"


# per-sample function -> its fused Loss call (see Loss._fused), registered where it is defined
FUSED_CALLS = {}


class LossFunctionWrapper(Loss):
    """A Loss around a per-sample function ``fn(y_true, y_pred, **kwargs)``; the ranks of
    y_true and y_pred are first aligned as Keras does ((batch,) against (batch, 1))."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        # a subclass that rewrites call() computes something else: it keeps the general path
        if not kwargs and type(self).call is LossFunctionWrapper.call:
            try:
                self._fused = FUSED_CALLS.get(fn)
            except TypeError:  # an unhashable callable object
                pass

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = getattr(self.fn, "__name__", str(self.fn))
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.get("fn")
        if isinstance(fn, dict):  # Keras' {"class_name": "function", "config": name}
            fn = fn.get("config")
        if isinstance(fn, str):
            from glassnet.losses import get
            config["fn"] = get(fn)
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"
