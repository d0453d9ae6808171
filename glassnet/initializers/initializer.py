"""The Initializer base class and the helpers every initializer shares (shape and dtype checks).

An initializer is a callable ``init(shape, dtype=None) -> np.ndarray``: it makes the starting
values of a weight. Layers call it once, in ``build``, with the weight's shape.
"""
import numpy as np

from glassnet import backend


class Initializer:
    """Base class of all initializers (keras.initializers.Initializer).

    Subclasses implement ``__call__(shape, dtype=None)`` returning a NumPy array of that shape
    (dtype None means ``backend.floatx()``), and ``get_config()`` when they take arguments;
    ``from_config(config)`` is ``cls(**config)``.
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__}: Initializer subclasses must implement __call__(shape, dtype=None)")

    def get_config(self):
        """The constructor arguments as a JSON-serializable dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def standardize_shape(shape, who):
    """``shape`` (an int, or a sequence of ints) as a tuple of non-negative Python ints."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: shape must be a tuple of non-negative ints, received shape={shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{who}: shape must be a tuple of non-negative ints, received shape={shape!r}")
    return dims


def standardize_dtype(dtype, who, floating=False):
    """``dtype`` as a NumPy dtype, ``floatx()`` when None; random values need a float dtype."""
    dt = np.dtype(backend.floatx() if dtype is None else dtype)
    if floating and not np.issubdtype(dt, np.floating):
        raise ValueError(f"{who}: random values need a floating dtype (float16, float32, float64), received dtype={dt}")
    return dt
