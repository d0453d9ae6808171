"""Hinge losses for maximum-margin classifiers: hinge, squared hinge, categorical hinge.

Labels are expected in {-1, 1}; as in Keras, labels that are all 0 or 1 are first mapped
to -1 and 1 (so the usual binary labels work unchanged)."""
import numpy as np

from glassnet import ops
from glassnet.losses.base import Loss, LossFunctionWrapper, check_broadcast, prepare


def convert_binary_labels_to_hinge(y_true):
    """2t - 1 when every label is 0 or 1, else the labels unchanged."""
    if np.all((y_true == 0) | (y_true == 1)):
        return (2.0 * y_true - 1.0).astype(y_true.dtype, copy=False)
    return y_true


def _margin(name, y_true, y_pred):
    y_true, y_pred = prepare(name, y_true, y_pred)
    check_broadcast(name, y_true, y_pred)
    y_true = convert_binary_labels_to_hinge(y_true)
    return ops.maximum(1.0 - y_true * y_pred, 0.0)


def hinge(y_true, y_pred):
    """mean(max(1 - t p, 0)) over the last axis, t in {-1, 1}."""
    return ops.mean(_margin("hinge", y_true, y_pred), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - t p, 0)^2) over the last axis, t in {-1, 1}."""
    return ops.mean(ops.square(_margin("squared_hinge", y_true, y_pred)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(0, 1 + max over wrong classes of p - p of the true class), t one-hot."""
    y_true, y_pred = prepare("categorical_hinge", y_true, y_pred)
    check_broadcast("categorical_hinge", y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


class Hinge(LossFunctionWrapper):
    """Hinge loss max(1 - t p, 0) for labels in {-1, 1} (or 0/1)."""

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss max(1 - t p, 0)^2."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class CategoricalHinge(LossFunctionWrapper):
    """Multiclass hinge loss for one-hot labels."""

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
