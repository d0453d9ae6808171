"""Regression metrics: running means of the regression losses, root mean squared error and
cosine similarity (positive here, unlike the loss)."""
import numpy as np

from glassnet import losses
from glassnet.losses.base import squeeze_or_expand_to_same_rank
from glassnet.losses.regression import l2_normalize
from glassnet.metrics.base import Mean, MeanMetricWrapper, as_result, to_array


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(t) * l2_normalize(p)) along ``axis``: 1 when aligned."""
    y_pred = to_array(y_pred)
    y_pred = y_pred if y_pred.dtype.kind == "f" else y_pred.astype(np.float32)
    y_true = to_array(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return np.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


class _LossMean(MeanMetricWrapper):
    """Running mean of a per-sample loss function; config is name and dtype."""
    _loss = None
    _default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(type(self)._loss, name=name or self._default_name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_LossMean):
    """Running mean of mean((y_true - y_pred)^2)."""
    _loss = staticmethod(losses.mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_LossMean):
    """Running mean of mean(|y_true - y_pred|)."""
    _loss = staticmethod(losses.mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_LossMean):
    """Running mean of 100 * mean(|y_true - y_pred| / |y_true|)."""
    _loss = staticmethod(losses.mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_LossMean):
    """Running mean of mean((log(1 + y_pred) - log(1 + y_true))^2)."""
    _loss = staticmethod(losses.mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCoshError(_LossMean):
    """Running mean of mean(log(cosh(y_pred - y_true)))."""
    _loss = staticmethod(losses.log_cosh)
    _default_name = "logcosh"


class CosineSimilarity(MeanMetricWrapper):
    """Running mean of the cosine similarity between labels and predictions."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class RootMeanSquaredError(Mean):
    """sqrt of the running (weighted) mean of squared errors over all elements seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = to_array(y_true, self.dtype)
        y_pred = to_array(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return as_result(np.sqrt(np.asarray(super().result(), self.dtype)))
