"""Weight penalties added to the loss, by Keras 3 name (keras.regularizers).

    Dense(64, kernel_regularizer="l2")             # 0.01 * sum(w^2) joins the training loss
    gn.regularizers.L1L2(l1=1e-5, l2=1e-4)(w)      # a scalar Tensor, differentiable in w

A regularizer is a callable ``(weight) -> scalar Tensor`` built on ``glassnet.ops``, so its
gradient flows into the weight; get_config/from_config and ``serialize`` use Keras' layout.
"""
import inspect
import math

import numpy as np

from glassnet.serialization import deserialize_object, serialize_object
from glassnet import ops
from glassnet.tensor import Tensor, as_tensor

EPSILON = 1e-7  # keras.backend.epsilon()


def _weight(x):
    x = as_tensor(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = ops.cast(x, "float32")
    return x


def _zero(x):
    """A penalty of 0 in x's dtype (no graph: nothing to differentiate)."""
    return Tensor(np.zeros((), dtype=x.dtype))


class Regularizer:
    """Base class (keras.regularizers.Regularizer): ``__call__(x)`` returns the penalty of x."""

    def __call__(self, x):
        return _zero(_weight(x))

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


def validate_float_arg(value, name):
    """``value`` as a float, or a ValueError unless it is a finite number >= 0."""
    if (not isinstance(value, (float, int, np.floating, np.integer)) or isinstance(value, bool)
            or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float, received {name}={value!r}")
    return float(value)


class L1(Regularizer):
    """l1 * sum(|x|)."""

    def __init__(self, l1=0.01):
        self.l1 = validate_float_arg(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        x = _weight(x)
        return self.l1 * ops.sum(ops.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 * sum(x^2) (weight decay added to the loss; no 1/2 factor, as in Keras)."""

    def __init__(self, l2=0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = _weight(x)
        return self.l2 * ops.sum(ops.square(x))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2). The class defaults are 0 (no penalty), as in Keras;
    the string "l1_l2" gives l1=l2=0.01, as Keras documents."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, "l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = _weight(x)
        terms = []
        if self.l1:
            terms.append(self.l1 * ops.sum(ops.abs(x)))
        if self.l2:
            terms.append(self.l2 * ops.sum(ops.square(x)))
        if not terms:
            return _zero(x)
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor * mean over pairs i < j of |<v_i, v_j>|, v the L2-normalised rows (``mode="rows"``)
    or columns (``"columns"``) of a 2-D weight: pushes them towards being orthogonal.

    A Dense kernel (in, units) in rows mode: the input rows; a matrix with a single row
    (column) has no pairs and gets penalty 0 (Keras divides by zero there)."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = validate_float_arg(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f'OrthogonalRegularizer: invalid value for argument `mode`, expected one of "rows", "columns", received mode={mode!r}')
        self.mode = mode

    def __call__(self, inputs):
        x = _weight(inputs)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2, received inputs.shape={x.shape}")
        axis = 1 if self.mode == "rows" else 0
        size = x.shape[1 - axis]
        if size < 2:
            return _zero(x)
        # Keras' normalize: x * min(1/|x|, 1/eps), written as 1/sqrt(max(|x|^2, eps^2)) so
        # an all-zero row has a finite gradient
        sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
        v = x / ops.sqrt(ops.maximum(sq, EPSILON ** 2))
        product = ops.matmul(v, v.T) if self.mode == "rows" else ops.matmul(v.T, v)
        off_diagonal = product * (1.0 - np.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * ops.sum(ops.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def l1_l2(l1=0.01, l2=0.01):
    """An L1L2 regularizer with both factors 0.01 by default (the string "l1_l2")."""
    return L1L2(l1=l1, l2=l2)


# Keras also exports each class under its snake_case name
l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS_DICT = {
    "Regularizer": Regularizer, "regularizer": Regularizer, "L1": L1, "l1": L1, "L2": L2, "l2": L2,
    "L1L2": L1L2, "l1l2": L1L2, "l1_l2": l1_l2,
    "OrthogonalRegularizer": OrthogonalRegularizer, "orthogonal_regularizer": OrthogonalRegularizer,
}
_MODULE = "keras.regularizers"


def _unknown(identifier):
    return ValueError(
        f"Could not interpret regularizer identifier: {identifier!r}. Valid names: "
        f"{', '.join(sorted(ALL_OBJECTS_DICT))}; or a config dict, a Regularizer, or a "
        f"callable weight -> scalar"
    )


def serialize(regularizer):
    """The regularizer as Keras' config dict {"module", "class_name", "config", "registered_name"}."""
    return serialize_object(regularizer, ALL_OBJECTS_DICT, _MODULE, "Regularizer")


def deserialize(config, custom_objects=None):
    """A regularizer from a name or a config dict; only built-ins and ``custom_objects`` can be named."""
    return deserialize_object(config, ALL_OBJECTS_DICT, custom_objects, _unknown, factories=(l1_l2,))


def get(identifier):
    """A regularizer from a name ("l2"), a config dict, a class, an instance or a callable."""
    if identifier is None:
        return None
    obj = deserialize(identifier) if isinstance(identifier, (str, dict)) else identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise _unknown(identifier)
