"""The array module and default float type: the one seam between glassnet and NumPy.

Everything above this file gets its array library from ``xp`` so that a GPU array module
(CuPy) can be slotted in later without touching ops or layers.
"""
import numpy as np

xp = np

_FLOATX = "float32"


def floatx():
    """The default float dtype name for new weights and Python floats ("float32")."""
    return _FLOATX


def set_floatx(dtype):
    """Set the default float dtype ("float16", "float32" or "float64"), as keras.config does."""
    global _FLOATX
    name = np.dtype(dtype).name
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"set_floatx: expected one of float16, float32, float64, received {dtype!r}")
    _FLOATX = name


def is_float(dtype):
    """True for floating dtypes, the only ones that carry gradients."""
    return np.issubdtype(dtype, np.floating)
