"""Variable: a Tensor that holds state (a weight, a moving mean, an optimizer slot).

Like ``keras.Variable`` it has a ``name``, a ``path`` ("dense/kernel"), a ``trainable``
flag (trainable floating variables require grad), ``assign`` and friends. Updates made
through ``assign`` happen in place, so every graph and optimizer sees the same array.
"""
import numpy as np

from glassnet import backend
from glassnet.tensor import Tensor, _to_array


class Variable(Tensor):
    """A named, assignable tensor; trainable ones receive gradients and optimizer updates."""

    __slots__ = ("_trainable", "path", "regularizer", "constraint")

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None, path=None):
        if callable(initializer) and not isinstance(initializer, (np.ndarray, Tensor)):
            if shape is None:
                raise ValueError(f"Variable {name!r}: an initializer needs a shape")
            value = initializer(tuple(shape), dtype=dtype or backend.floatx())
        else:
            value = initializer
        arr = _to_array(value, dtype)
        if shape is not None and arr.shape != tuple(shape):
            raise ValueError(f"Variable {name!r}: initial value has shape {arr.shape}, expected {tuple(shape)}")
        super().__init__(np.array(arr, copy=True, order="C"), name=name or "variable")  # C order: gradcheck perturbs views
        self.path = path or self.name
        self.regularizer = None
        self.constraint = None
        self.trainable = trainable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        self._trainable = bool(flag)
        self.requires_grad = self._trainable and backend.is_float(self.data.dtype)

    @property
    def value(self):
        return self

    def assign(self, value):
        """Overwrite in place; a wrong shape is an error naming this variable."""
        arr = _to_array(value)
        if arr.shape != self.data.shape:
            raise ValueError(f"Variable {self.path!r}: cannot assign a value of shape {arr.shape} to shape {self.shape}")
        self.data[...] = arr
        return self

    def assign_add(self, value):
        self.data += _to_array(value).astype(self.data.dtype, copy=False)
        return self

    def assign_sub(self, value):
        self.data -= _to_array(value).astype(self.data.dtype, copy=False)
        return self

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, trainable={self.trainable}>"
