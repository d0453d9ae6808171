"""Metrics with Keras 3's names, formulas and defaults (``keras.metrics``), on NumPy.

    m = gn.metrics.SparseCategoricalAccuracy()
    for x, y in batches:
        m.update_state(y, model(x))
    m.result()        # a Python float
    m.reset_state()

``get("accuracy")`` gives ``Accuracy``, as in Keras; what ``compile(metrics=["accuracy"])``
means (binary, categorical or sparse) is decided by ``resolve_accuracy``.
"""
import inspect

from glassnet.serialization import get_object
from glassnet import losses as _losses
from glassnet.losses.base import to_snake_case
from glassnet.metrics.accuracy import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy, binary_accuracy,
    categorical_accuracy, sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from glassnet.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from glassnet.metrics.confusion import (
    AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives,
)
from glassnet.metrics.f_score import F1Score, FBetaScore
from glassnet.metrics.probabilistic import (
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, Hinge, KLDivergence, Poisson,
    SparseCategoricalCrossentropy, SquaredHinge,
)
from glassnet.metrics.regression import (
    CosineSimilarity, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredError, MeanSquaredLogarithmicError, RootMeanSquaredError,
)
from glassnet.losses import (  # keras.metrics exports the per-sample loss functions too
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_hinge,
    hinge, huber, kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
    squared_hinge,
)

ALL_OBJECTS = (
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError,
    AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore,
)
# Keras' lookup table: class names, their snake_case forms, and the short aliases.
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
})

_FUNCTIONS = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
)}


def _function(name):
    """A metric or loss function by name (for MeanMetricWrapper configs)."""
    fn = _FUNCTIONS.get(name) or _losses.ALL_OBJECTS_DICT.get(name)
    if fn is None or inspect.isclass(fn):
        raise ValueError(f"Unknown metric function {name!r}; known: {', '.join(sorted(_FUNCTIONS))} and the loss functions")
    return fn


def _unknown(identifier):
    names = ", ".join(sorted(k for k in ALL_OBJECTS_DICT if k not in ("Metric", "metric")))
    return ValueError(f"Could not interpret metric identifier: {identifier!r}. Valid names: {names}")


def serialize(metric):
    """A Metric as Keras' config dict ({"module", "class_name", "config", "registered_name"})."""
    if not isinstance(metric, Metric):
        raise ValueError(f"Cannot serialize metric {metric!r}: only glassnet metrics have a config")
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The metric a serialized config names (registered classes and ``custom_objects`` only)."""
    table = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(config, str):
        if config not in table:
            raise _unknown(config)
        return table[config]
    if not isinstance(config, dict) or config.get("class_name") not in table:
        raise _unknown(config.get("class_name") if isinstance(config, dict) else config)
    obj = table[config["class_name"]]
    return obj.from_config(config.get("config") or {}) if inspect.isclass(obj) else obj


def get(identifier):
    """A metric from a name ("accuracy", "mse", "AUC", "precision"), a config dict, a Metric
    instance or class, or any callable (returned as is); None gives None."""
    return get_object(identifier, ALL_OBJECTS_DICT, deserialize, _unknown)


def _loss_kind(loss):
    """"binary", "sparse" or "categorical" from a loss name, function, class or instance."""
    if loss is None:
        return None
    if isinstance(loss, str):
        name = loss
    elif inspect.isclass(loss):
        name = loss.__name__
    elif isinstance(loss, _losses.Loss):
        name = getattr(getattr(loss, "fn", None), "__name__", None) or type(loss).__name__
    else:
        name = getattr(loss, "__name__", type(loss).__name__)
    name = to_snake_case(name).lower()
    if name in ("bce", "binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"):
        return "binary"
    if name.startswith("sparse_categorical"):
        return "sparse"
    if name in ("categorical_crossentropy", "categorical_hinge", "kl_divergence", "kld"):
        return "categorical"
    return None


def resolve_accuracy(loss=None, y_true_shape=None, y_pred_shape=None, name="accuracy"):
    """The metric that ``compile(metrics=["accuracy"])`` (or "acc") means.

    Keras 3 decides from the shapes alone (compile_utils.is_binary_or_sparse_categorical):
    y_pred with one unit is binary; y_true of lower rank than y_pred, or with a last axis
    of 1 against several classes, is sparse; otherwise categorical. When the shapes are not
    known yet, the loss decides (as tf.keras 2 did): binary crossentropy or hinge -> binary,
    sparse categorical crossentropy -> sparse, categorical losses -> categorical. The metric
    is named ``name`` ("accuracy" or "acc"), so logs read "accuracy" as in Keras."""
    if y_true_shape is not None and y_pred_shape is not None:
        t, p = tuple(y_true_shape), tuple(y_pred_shape)
        if not t or not p:
            raise ValueError(f"resolve_accuracy: y_true and y_pred need at least one axis, received {t} and {p}")
        is_binary = p[-1] == 1
        is_sparse = len(t) < len(p) or (t[-1] == 1 and p[-1] > 1)
        kind = "binary" if is_binary else "sparse" if is_sparse else "categorical"
    else:
        kind = _loss_kind(loss)
        if kind is None:
            raise ValueError(
                f"resolve_accuracy: cannot tell whether {name!r} means binary, categorical or sparse "
                f"categorical accuracy from loss {loss!r} without the shapes of y_true and y_pred"
            )
    cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy, "categorical": CategoricalAccuracy}[kind]
    return cls(name=str(name))


__all__ = [c.__name__ for c in ALL_OBJECTS] + list(_FUNCTIONS) + [
    "get", "serialize", "deserialize", "resolve_accuracy",
]
