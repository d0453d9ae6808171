"""Probabilistic losses: crossentropies (binary, focal, categorical, sparse), KL divergence
and Poisson, with Keras 3's formulas: probabilities are clipped to [1e-7, 1 - 1e-7], and
categorical predictions are first renormalised to sum to 1 along the class axis."""
import warnings

import numpy as np

from glassnet import ops
from glassnet.losses.base import EPSILON, Loss, LossFunctionWrapper, as_pred, check_broadcast, prepare
from glassnet.losses.fused import SigmoidCrossEntropy, SparseCrossEntropy, SparseSoftmaxCrossEntropy
from glassnet.tensor import Tensor


def _check_axis(loss_name, axis, ndim):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{loss_name}: `axis` must be an int, received axis={axis!r}")
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{loss_name}: axis {axis} is out of range for y_pred with {ndim} dimensions")
    return int(axis) % max(ndim, 1)


def _binary_elementwise(y_true, y_pred, from_logits):
    """Per-element binary crossentropy (Keras' ops.binary_crossentropy)."""
    if from_logits:
        return SigmoidCrossEntropy.apply(y_pred, target=y_true)
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))


def _check_same_shape(loss_name, y_true, y_pred, hint=""):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{loss_name}: y_true and y_pred must have the same shape, received "
            f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}{hint}"
        )


def _warn_if_not_logits(loss_name, y_pred, from_logits):
    """Keras' warning: from_logits=True on the output of a softmax or sigmoid is a mistake."""
    op = getattr(y_pred, "_op", None)
    # a fused layer op names its activation last: "matmul_bias_softmax", "conv_bias_sigmoid"
    activation = None if op is None else op.name.rsplit("_", 1)[-1]
    if from_logits and activation in ("softmax", "sigmoid"):
        warnings.warn(
            f"{loss_name} received from_logits=True, but y_pred was produced by a {activation} "
            f"activation and so holds probabilities, not logits; drop the activation of the last "
            f"layer, or use from_logits=False",
            stacklevel=3,
        )


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-[t log p + (1 - t) log(1 - p)], mean over ``axis``; p clipped to [1e-7, 1 - 1e-7],
    or computed stably from logits. Label smoothing: t -> t (1 - s) + s / 2."""
    _warn_if_not_logits("binary_crossentropy", y_pred, from_logits)
    y_true, y_pred = prepare("binary_crossentropy", y_true, y_pred)
    _check_axis("binary_crossentropy", axis, y_pred.ndim)
    _check_same_shape("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
        y_true = y_true.astype(y_pred.dtype, copy=False)
    return ops.mean(_binary_elementwise(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Focal loss (Lin et al. 2017): (1 - p_t)^gamma * bce, times alpha_t when balancing,
    mean over ``axis``; p_t = t p + (1 - t)(1 - p)."""
    _warn_if_not_logits("binary_focal_crossentropy", y_pred, from_logits)
    y_true, y_pred = prepare("binary_focal_crossentropy", y_true, y_pred)
    _check_same_shape("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = (y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing).astype(y_pred.dtype, copy=False)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = _binary_elementwise(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = bce if gamma == 0 else ops.power(1.0 - p_t, float(gamma)) * bce
    if apply_class_balancing:
        weight = (y_true * alpha + (1 - y_true) * (1 - alpha)).astype(y_pred.dtype, copy=False)
        focal = focal * weight
    return ops.mean(focal, axis=axis)


_CATEGORICAL_HINT = (
    "; use sparse_categorical_crossentropy for integer labels or to_categorical "
    "(gn.utils.to_categorical(y, num_classes)) to one-hot encode them"
)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(t log p) over the class ``axis``; p = y_pred / sum(y_pred) clipped to
    [1e-7, 1 - 1e-7], or log_softmax of logits. Label smoothing: t -> t (1 - s) + s / C."""
    _warn_if_not_logits("categorical_crossentropy", y_pred, from_logits)
    y_true, y_pred = prepare("categorical_crossentropy", y_true, y_pred)
    axis = _check_axis("categorical_crossentropy", axis, y_pred.ndim)
    _check_same_shape("categorical_crossentropy", y_true, y_pred, _CATEGORICAL_HINT)
    if y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape={y_pred.shape}. "
            f"Consider using 'binary_crossentropy' if you only have 2 classes.",
            stacklevel=2,
        )
    if label_smoothing:
        y_true = (y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]).astype(y_pred.dtype, copy=False)
    if from_logits:
        log_prob = ops.log_softmax(y_pred, axis=axis)
    else:
        p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
        log_prob = ops.log(ops.clip(p, EPSILON, 1.0 - EPSILON))
    return -ops.sum(y_true * log_prob, axis=axis)


def _sparse_labels(loss_name, y_true, y_pred, axis, ignore_class):
    """Integer labels of y_pred's shape without the class axis, checked against [0, C)."""
    labels = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis=axis)
    expected = tuple(n for i, n in enumerate(y_pred.shape) if i != axis)
    if labels.shape != expected:
        raise ValueError(
            f"{loss_name}: y_true must hold one integer class label per sample, of shape "
            f"{expected} for y_pred of shape {y_pred.shape}; received y_true.shape={labels.shape}"
            + ("; for one-hot labels use categorical_crossentropy" if labels.shape == y_pred.shape else "")
        )
    if labels.dtype.kind == "f":
        if np.isnan(labels).any():
            raise ValueError(f"{loss_name}: y_true contains NaN")
        if labels.size and not np.array_equal(labels, np.round(labels)):
            bad = labels[labels != np.round(labels)].flat[0]
            raise ValueError(f"{loss_name}: y_true must hold integer class labels, received {bad}")
    elif labels.dtype.kind not in "biu":
        raise ValueError(f"{loss_name}: y_true must hold integer class labels, received dtype {labels.dtype}")
    labels = labels.astype(np.int64, copy=False)
    valid = None
    if ignore_class is not None:
        valid = labels != int(ignore_class)
        labels = np.where(valid, labels, 0)
    n_classes = y_pred.shape[axis]
    out = (labels < 0) | (labels >= n_classes)
    if out.any():
        bad = labels[out].flat[0]
        raise ValueError(
            f"{loss_name}: label {bad} is out of range; labels must be in [0, {n_classes}) for "
            f"y_pred with {n_classes} classes on axis {axis}"
            + ("" if ignore_class is None else f" (or equal ignore_class={ignore_class})")
        )
    return labels, valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """-log p[label] over the class ``axis`` for integer labels, as one fused op: from logits
    logsumexp(x) - x[label] (gradient softmax - onehot), from probabilities Keras' normalise
    and clip. Labels equal to ``ignore_class`` give 0 and are masked out of the reduction."""
    name = "sparse_categorical_crossentropy"
    _warn_if_not_logits(name, y_pred, from_logits)
    y_pred = as_pred(y_pred)
    axis = _check_axis(name, axis, y_pred.ndim)
    if y_pred.ndim < 1:
        raise ValueError(f"{name}: y_pred must be at least rank 1, received shape {y_pred.shape}")
    labels, valid = _sparse_labels(name, y_true, y_pred, axis, ignore_class)
    op = SparseSoftmaxCrossEntropy if from_logits else SparseCrossEntropy
    res = op.apply(y_pred, labels=labels, axis=axis, valid=valid)
    if valid is not None:
        res._keras_mask = valid
    return res


def kl_divergence(y_true, y_pred):
    """sum(t log(t / p)) over the last axis, both clipped to [1e-7, 1]."""
    y_true, y_pred = prepare("kl_divergence", y_true, y_pred)
    check_broadcast("kl_divergence", y_true, y_pred)
    y_true = np.clip(y_true, EPSILON, 1).astype(y_pred.dtype, copy=False)
    y_pred = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(p - t log(p + 1e-7)) over the last axis."""
    y_true, y_pred = prepare("poisson", y_true, y_pred)
    check_broadcast("poisson", y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + EPSILON), axis=-1)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary crossentropy for 0/1 labels (or soft labels), one probability (or logit) each."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy down-weighting easy examples by (1 - p_t)^gamma."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha, "gamma": self.gamma}


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for one-hot (or soft) labels over several classes."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for integer class labels (the fused, fast path of classification)."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class = from_logits, ignore_class

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits, "ignore_class": self.ignore_class}


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence sum(t log(t / p))."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class Poisson(LossFunctionWrapper):
    """Poisson negative log-likelihood p - t log p (up to a constant)."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
