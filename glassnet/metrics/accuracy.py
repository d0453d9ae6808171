"""Accuracy metrics: exact match, binary (thresholded), categorical (argmax of one-hot),
sparse categorical (argmax against integer labels) and top-k, as in Keras 3.

Each function returns one 0./1. value per sample (float32); the classes average them."""
import numpy as np

from glassnet import backend
from glassnet.losses.base import squeeze_or_expand_to_same_rank
from glassnet.metrics.base import MeanMetricWrapper, to_array


def _floatx(matches):
    return matches.astype(backend.floatx())


def _pred(y_pred):
    y_pred = to_array(y_pred)
    return y_pred if y_pred.dtype.kind == "f" else y_pred.astype(backend.floatx())


def accuracy(y_true, y_pred):
    """1 where y_true == y_pred exactly."""
    y_pred = _pred(y_pred)
    y_true = to_array(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _floatx(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) equals y_true."""
    y_pred = to_array(y_pred)
    y_true = to_array(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return _floatx(y_true == y_pred)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_true) == argmax(y_pred) over the last axis (one-hot labels)."""
    y_true = np.argmax(to_array(y_true), axis=-1)
    y_pred = _pred(y_pred)
    y_true = y_true.astype(y_pred.dtype)
    shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = np.squeeze(y_true, -1)
        reshape = True
    matches = _floatx(y_true == np.argmax(y_pred, axis=-1).astype(y_true.dtype))
    return matches.reshape(shape) if reshape else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) over the last axis equals the integer label."""
    y_pred = _pred(y_pred)
    y_true = to_array(y_true, y_pred.dtype)
    shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = np.squeeze(y_true, -1)
        reshape = True
    matches = _floatx(y_true == np.argmax(y_pred, axis=-1).astype(y_true.dtype))
    if reshape:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = np.squeeze(matches, -1)
    return matches


def in_top_k(targets, predictions, k):
    """Whether the target's score is at least the k-th largest score (ties count as in)."""
    targets = targets.astype(np.int64)
    n = predictions.shape[-1]
    if k >= n:
        return np.ones(targets.shape, bool)
    kth = np.partition(predictions, n - k, axis=-1)[:, n - k]
    return np.take_along_axis(predictions, targets[:, None], axis=-1)[:, 0] >= kth


def _top_k_matches(y_true, y_pred, k):
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    flat = y_true.reshape(-1) if y_true.ndim > 1 else y_true
    matches = _floatx(in_top_k(flat, y_pred, k))
    return matches.reshape(shape) if y_true.ndim > 1 else matches


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the one-hot target class is among the k highest scores."""
    y_pred = _pred(y_pred)
    y_true = np.argmax(to_array(y_true, y_pred.dtype), axis=-1)
    return _top_k_matches(y_true, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1 where the integer label is among the k highest scores (or, with
    ``from_sorted_ids``, among the first k ids of y_pred, which are sorted by score)."""
    y_pred = _pred(y_pred) if not from_sorted_ids else to_array(y_pred)
    y_true = to_array(y_true)
    if not from_sorted_ids:
        return _top_k_matches(y_true.astype(np.int32), y_pred, k)
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    flat = y_true.reshape(-1) if y_true.ndim > 1 else y_true
    matches = _floatx(np.any(flat[:, None] == y_pred[:, :k], axis=1))
    return matches.reshape(shape) if y_true.ndim > 1 else matches


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly (use the string "accuracy" in compile to
    get the binary / categorical / sparse variant chosen for you)."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches 0/1 labels."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches argmax of one-hot labels."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is in the top ``k`` predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is in the top ``k`` predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
