"""Losses with Keras 3's names, formulas, defaults and reductions (``keras.losses``).

    loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    value = loss(y_true, logits)              # a scalar Tensor; value.backward()
    gn.losses.get("mse")                      # the function mean_squared_error, as in Keras

Classes reduce over the batch (``reduction``); the snake_case functions return one value
per sample. Everything is differentiable with respect to y_pred.
"""
import inspect

from glassnet.serialization import get_object
from glassnet.losses.base import (
    Loss, LossFunctionWrapper, reduce_weighted_values, squeeze_or_expand_to_same_rank,
)
from glassnet.losses.hinge import (
    CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge,
)
from glassnet.losses.probabilistic import (
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, KLDivergence, Poisson,
    SparseCategoricalCrossentropy, binary_crossentropy, binary_focal_crossentropy,
    categorical_crossentropy, kl_divergence, poisson, sparse_categorical_crossentropy,
)
from glassnet.losses.regression import (
    CosineSimilarity, Huber, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredError, MeanSquaredLogarithmicError, cosine_similarity, huber, log_cosh,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
    mean_squared_logarithmic_error,
)

ALL_OBJECTS = (
    Loss, LossFunctionWrapper,
    KLDivergence, Poisson, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, LogCosh, Huber,
    Hinge, SquaredHinge, CategoricalHinge,
    kl_divergence, poisson, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy,
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, cosine_similarity, log_cosh, huber,
    hinge, squared_hinge, categorical_hinge,
)

# Keras' lookup table: class names, function names, and the short aliases.
ALL_OBJECTS_DICT = {obj.__name__: obj for obj in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
})


def _unknown(identifier):
    names = ", ".join(sorted(k for k in ALL_OBJECTS_DICT if k not in ("Loss", "LossFunctionWrapper")))
    return ValueError(f"Could not interpret loss identifier: {identifier!r}. Valid names: {names}")


def serialize(loss):
    """A Loss as Keras' config dict ({"module", "class_name", "config", "registered_name"});
    a built-in loss function as its name."""
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    if callable(loss) and getattr(loss, "__name__", None) in ALL_OBJECTS_DICT:
        return loss.__name__
    raise ValueError(f"Cannot serialize loss {loss!r}: only glassnet losses have a config")


def deserialize(config, custom_objects=None):
    """The loss a serialized config names; only registered glassnet losses (plus
    ``custom_objects``) can be named, so loading never runs arbitrary code."""
    table = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(config, str):
        if config not in table:
            raise _unknown(config)
        return table[config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise _unknown(config)
    name, inner = config["class_name"], config.get("config") or {}
    if name == "function":  # Keras' form for a plain function: the name is the config
        return deserialize(inner, custom_objects)
    if name not in table:
        raise _unknown(name)
    obj = table[name]
    if not inspect.isclass(obj):
        return obj
    return obj.from_config(inner)


def get(identifier):
    """A loss from a name ("mse", "categorical_crossentropy", "Huber"), a config dict, a
    Loss instance or class, or any callable; None gives None. As in Keras, snake_case names
    give the per-sample function and class names give an instance."""
    return get_object(identifier, ALL_OBJECTS_DICT, deserialize, _unknown)


__all__ = [obj.__name__ for obj in ALL_OBJECTS] + [
    "get", "serialize", "deserialize", "reduce_weighted_values", "squeeze_or_expand_to_same_rank",
]
