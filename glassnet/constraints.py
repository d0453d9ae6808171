"""Weight constraints by Keras 3 name (keras.constraints): projections applied to a weight
after each optimizer step.

    Dense(64, kernel_constraint="max_norm")        # each unit's incoming weights: norm <= 2
    w = gn.constraints.UnitNorm(axis=0)(w)         # a NumPy array in, a NumPy array out

A constraint is a callable ``(w) -> np.ndarray``; it works on plain arrays (a Tensor is read
through ``.data``), since it runs outside the graph. ``axis`` is the axis (or list of axes)
the norm is taken over: 0 for a Dense kernel (in, units), [0, 1, 2] for a Conv2D kernel.
"""
import inspect

import numpy as np

from glassnet.serialization import deserialize_object, serialize_object
from glassnet import backend
from glassnet.tensor import Tensor

EPSILON = 1e-7  # keras.backend.epsilon()


def _array(w):
    """w as a float ndarray (Tensors by their data; integers become floatx, as Keras' norms)."""
    w = np.asarray(w.data if isinstance(w, Tensor) else w)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(backend.floatx())
    return w


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=_axis(axis), keepdims=True))


class Constraint:
    """Base class (keras.constraints.Constraint): ``__call__(w)`` returns the projected w
    (the base returns it unchanged)."""

    def __call__(self, w):
        return w.data if isinstance(w, Tensor) else w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale each weight vector along ``axis`` whose L2 norm exceeds ``max_value`` down to it:
    w * clip(n, 0, max_value) / (eps + n)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """max(w, 0): no negative weights."""

    def __call__(self, w):
        w = np.asarray(w.data if isinstance(w, Tensor) else w)
        return np.maximum(w, 0).astype(w.dtype, copy=False)


class UnitNorm(Constraint):
    """w / (eps + n): each weight vector along ``axis`` gets unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        return (w / (EPSILON + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each weight vector's L2 norm n into [min_value, max_value] at ``rate``:
    w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (eps + n)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras also exports each class under its snake_case name
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
ALL_OBJECTS_DICT.update({"constraint": Constraint, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
                         "non_neg": NonNeg, "unit_norm": UnitNorm})
_MODULE = "keras.constraints"


def _unknown(identifier):
    return ValueError(
        f"Could not interpret constraint identifier: {identifier!r}. Valid names: "
        f"{', '.join(sorted(ALL_OBJECTS_DICT))}; or a config dict, a Constraint, or a callable w -> w"
    )


def serialize(constraint):
    """The constraint as Keras' config dict {"module", "class_name", "config", "registered_name"}."""
    return serialize_object(constraint, ALL_OBJECTS_DICT, _MODULE, "Constraint")


def deserialize(config, custom_objects=None):
    """A constraint from a name or a config dict; only built-ins and ``custom_objects`` can be named."""
    return deserialize_object(config, ALL_OBJECTS_DICT, custom_objects, _unknown)


def get(identifier):
    """A constraint from a name ("max_norm"), a config dict, a class, an instance or a callable."""
    if identifier is None:
        return None
    obj = deserialize(identifier) if isinstance(identifier, (str, dict)) else identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise _unknown(identifier)
