"""Initializers that need no randomness: Zeros, Ones, Constant, Identity."""
import numpy as np

from glassnet.initializers.initializer import Initializer, standardize_dtype, standardize_shape


class Zeros(Initializer):
    """All zeros (any numeric or boolean dtype)."""

    def __call__(self, shape, dtype=None):
        return np.zeros(standardize_shape(shape, "Zeros"), dtype=standardize_dtype(dtype, "Zeros"))


class Ones(Initializer):
    """All ones (any numeric or boolean dtype)."""

    def __call__(self, shape, dtype=None):
        return np.ones(standardize_shape(shape, "Ones"), dtype=standardize_dtype(dtype, "Ones"))


class Constant(Initializer):
    """Every element equal to ``value``: a scalar, as Keras documents (an array that broadcasts
    to the shape also works, as it does in Keras)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = standardize_shape(shape, "Constant")
        dt = standardize_dtype(dtype, "Constant")
        value = np.asarray(self.value).astype(dt)
        try:
            return np.broadcast_to(value, shape).copy()
        except ValueError:
            raise ValueError(
                f"Constant: value of shape {value.shape} does not broadcast to the requested shape {shape}"
            ) from None

    def get_config(self):
        value = self.value
        if isinstance(value, (np.ndarray, np.generic)):
            value = value.tolist()
        return {"value": value}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; non-square gives eye(rows, cols)).

    Keras' get_config drops ``gain``; here it is kept, and Keras' ``Identity(**config)``
    reads it back fine."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = standardize_shape(shape, "Identity")
        if len(shape) != 2:
            raise ValueError(
                f"Identity: the identity matrix initializer can only be used for 2D matrices, "
                f"received shape={shape} of rank {len(shape)}"
            )
        dt = standardize_dtype(dtype, "Identity")
        return (self.gain * np.eye(*shape)).astype(dt)

    def get_config(self):
        return {"gain": self.gain}
