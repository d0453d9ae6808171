"""The Metric base class and the reducing metrics Mean, Sum and MeanMetricWrapper.

A metric keeps running state in non-trainable Variables (float32 like Keras), updated on
NumPy arrays with no graph: ``update_state(y_true, y_pred, sample_weight=None)`` per batch,
``result()`` as a Python float (an ndarray for per-threshold or per-class results),
``reset_state()`` between epochs. Tensors and arrays are both accepted.
"""
import numpy as np

from glassnet import backend
from glassnet.autograd import no_grad
from glassnet.losses.base import apply_mask, auto_name, squeeze_or_expand_to_same_rank
from glassnet.tensor import Tensor
from glassnet.variables import Variable


def to_array(x, dtype=None):
    """x (Tensor, array, list or number) as a NumPy array, optionally cast to ``dtype``."""
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    return arr if dtype is None else arr.astype(dtype, copy=False)


def mask_of(x):
    """The Keras mask carried by a Tensor (``_keras_mask``) as an array, or None."""
    mask = getattr(x, "_keras_mask", None)
    return to_array(mask) if mask is not None else None


def as_result(value):
    """A scalar result as a Python float; a vector stays an ndarray."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


def divide_no_nan(a, b):
    """a / b, 0 where b == 0 (Keras' ops.divide_no_nan)."""
    a, b = np.asarray(a), np.asarray(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b == 0, 0, a / np.where(b == 0, 1, b))
    return out.astype(np.result_type(a, b), copy=False)


class Metric:
    """Base class of metrics (keras.metrics.Metric): create state with ``add_variable`` in
    ``__init__``, implement ``update_state`` and ``result``."""

    def __init__(self, dtype=None, name=None):
        self.name = name or auto_name(self.__class__.__name__)
        self._dtype = np.dtype(dtype or backend.floatx()).name
        self._variables = []

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self):
        """The state Variables (Keras' metric.variables), in creation order."""
        return list(self._variables)

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        if initializer not in ("zeros", None):
            raise ValueError(f"Metric {self.name!r}: only zeros-initialised state is supported, received {initializer!r}")
        var = Variable(np.zeros(tuple(shape), dtype=dtype or self._dtype), trainable=False,
                       name=name, path=f"{self.name}/{name}")
        self._variables.append(var)
        return var

    add_weight = add_variable

    def reset_state(self):
        for v in self._variables:
            v.data[...] = 0

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{self.__class__.__name__}: a Metric subclass must implement update_state")

    def result(self):
        raise NotImplementedError(f"{self.__class__.__name__}: a Metric subclass must implement result")

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{self.__class__.__name__} name={self.name}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype, mask=None):
    """Keras' weighting of per-element values: values reduced to the rank of the weights,
    weighted, then reduced to one value per sample; the weights reduced alike."""
    values = to_array(values, dtype)
    if sample_weight is not None:
        sample_weight = to_array(sample_weight, dtype)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, dtype, reduction="sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values.astype(dtype, copy=False), sample_weight


class Sum(Metric):
    """Running (weighted) sum of the values given."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, np.sum, self.dtype, mask_of(values))
        self.total.assign_add(np.sum(values))

    def result(self):
        return as_result(self.total.data)


class Mean(Metric):
    """Running (weighted) mean: total / count, where count is the sum of the weights."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, np.mean, self.dtype, mask_of(values))
        self.total.assign_add(np.sum(values))
        if sample_weight is not None:
            n = np.sum(sample_weight)
        elif values.ndim >= 1:
            n = values.shape[0]
        else:
            n = 1
        self.count.assign_add(np.asarray(n, self.dtype))

    def result(self):
        return as_result(divide_no_nan(self.total.data, self.count.data))


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)``, one value per sample (any loss
    function or accuracy function works)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or auto_name("MeanMetricWrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = mask_of(y_pred)
        y_true = to_array(y_true)
        y_pred = to_array(y_pred)
        with no_grad():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        sample_weight = apply_mask(
            None if sample_weight is None else to_array(sample_weight, self.dtype), mask, self.dtype, reduction="sum"
        )
        return Mean.update_state(self, values, sample_weight=sample_weight)

    def get_config(self):
        config = {**super().get_config(), "fn": getattr(self._fn, "__name__", str(self._fn))}
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.get("fn")
        if isinstance(fn, dict):  # Keras' {"class_name": "function", "config": name}
            fn = fn.get("config")
        if isinstance(fn, str):
            from glassnet.metrics import _function
            config["fn"] = _function(fn)
        return cls(**config)
