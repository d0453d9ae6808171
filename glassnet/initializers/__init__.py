"""Initializers: the starting values of weights, by Keras 3 name (keras.initializers).

    init = gn.initializers.get("glorot_uniform")      # or GlorotUniform(seed=1), or a config dict
    w = init((784, 128))                               # a float32 NumPy array

Every initializer is a callable ``(shape, dtype=None) -> np.ndarray`` with get_config/from_config.
``get`` accepts a name, a config dict, a class, an instance, any callable, or an array (used as
the values themselves). ``serialize`` writes Keras' dict layout, so configs move between the two.
"""
import inspect

import numpy as np

from glassnet.serialization import deserialize_object, serialize_object
from glassnet.initializers.initializer import Initializer, standardize_dtype, standardize_shape
from glassnet.initializers.constant_initializers import Constant, Identity, Ones, Zeros
from glassnet.initializers.random_initializers import (
    GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal,
    RandomInitializer, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, compute_fans,
)
from glassnet.tensor import Tensor

# Keras also exports each class under its snake_case name, and a few older aliases
zeros = zero = Zeros
ones = one = Ones
constant = Constant
identity = IdentityInitializer = Identity
orthogonal = OrthogonalInitializer = Orthogonal
random_normal = normal = RandomNormal
random_uniform = uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform

_CLASSES = (Initializer, Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform, HeNormal,
            HeUniform, LecunNormal, LecunUniform, Orthogonal, RandomNormal, RandomUniform,
            TruncatedNormal, VarianceScaling)
_SNAKE = {Initializer: "initializer", Constant: "constant", Identity: "identity", Ones: "ones",
          Zeros: "zeros", GlorotNormal: "glorot_normal", GlorotUniform: "glorot_uniform",
          HeNormal: "he_normal", HeUniform: "he_uniform", LecunNormal: "lecun_normal",
          LecunUniform: "lecun_uniform", Orthogonal: "orthogonal", RandomNormal: "random_normal",
          RandomUniform: "random_uniform", TruncatedNormal: "truncated_normal",
          VarianceScaling: "variance_scaling"}
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({name: cls for cls, name in _SNAKE.items()})
ALL_OBJECTS_DICT.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
                         "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros})

_MODULE = "keras.initializers"


def _unknown(identifier):
    return ValueError(
        f"Could not interpret initializer identifier: {identifier!r}. Valid names: "
        f"{', '.join(sorted(ALL_OBJECTS_DICT))}; or a config dict, an Initializer, or a "
        f"callable (shape, dtype=None) -> array"
    )


def serialize(initializer):
    """The initializer as Keras' config dict {"module", "class_name", "config", "registered_name"}."""
    return serialize_object(initializer, ALL_OBJECTS_DICT, _MODULE, "Initializer")


def deserialize(config, custom_objects=None):
    """An initializer from a name or a config dict; only built-in classes and those in
    ``custom_objects`` ({name: class}) can be named, so loading a config never runs other code."""
    return deserialize_object(config, ALL_OBJECTS_DICT, custom_objects, _unknown)

def _from_array(values):
    """An initializer that returns ``values`` (checked against the requested shape)."""
    values = np.asarray(values.data if isinstance(values, Tensor) else values)

    def initialize_fn(shape, dtype=None):
        shape = standardize_shape(shape, "initializer")
        if shape != values.shape:
            raise ValueError(
                f"Expected `shape` to be {values.shape} for direct tensor as initializer. Received shape={shape}"
            )
        return values.astype(standardize_dtype(dtype, "initializer"))

    return initialize_fn


def get(identifier):
    """An initializer from a name ("glorot_uniform"), a config dict, a class, an instance,
    a callable, or an array of initial values. None stays None."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        obj = deserialize(identifier)
    elif isinstance(identifier, (np.ndarray, np.generic, Tensor)):
        obj = _from_array(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise _unknown(identifier)


__all__ = [
    "Initializer", "RandomInitializer", "Zeros", "Ones", "Constant", "Identity", "RandomNormal",
    "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal",
    "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal", "compute_fans",
    "get", "serialize", "deserialize",
]
