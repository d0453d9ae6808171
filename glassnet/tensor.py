"""Tensor: a NumPy array plus the op that made it, so gradients can flow back.

    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == [2., 4.]

Python floats become float32 (Keras' floatx); NumPy arrays keep their dtype, so float64
stays float64 for gradient checks. Operators and most methods forward to ``glassnet.ops``.
"""
import numpy as np

from glassnet import autograd, backend


def _to_array(data, dtype=None):
    """Data as an ndarray: Python numbers and lists take floatx for floats, arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=np.dtype(dtype))
    given = isinstance(data, (np.ndarray, np.generic))
    arr = np.asarray(data)
    if not given and arr.dtype == np.float64:
        arr = arr.astype(backend.floatx())
    if arr.dtype == object:
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data of mixed or non-numeric values")
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it for autodiff."""

    __slots__ = ("data", "grad", "requires_grad", "_op", "_retain", "name", "_keras_mask", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        self.data = _to_array(data, dtype)
        if requires_grad and not backend.is_float(self.data.dtype):
            raise TypeError(
                f"tensor: only floating tensors can require gradients, received dtype {self.data.dtype}"
            )
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._retain = False
        self.name = name
        self._keras_mask = None

    @classmethod
    def _from_op(cls, data, op):
        """Fast constructor used by ops: no conversion, grad flag from the recording op."""
        t = cls.__new__(cls)
        t.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        t.grad = None
        t.requires_grad = op is not None
        t._op = op
        t._retain = False
        t.name = None
        t._keras_mask = None
        return t

    # ---- array facts -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by a recorded op."""
        return self._op is None

    @property
    def op(self):
        """The op that produced this tensor (None for leaves and unrecorded results)."""
        return self._op

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The underlying NumPy array (shared, not copied)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python number, received shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != np.dtype(backend.floatx()):
            extra += f", dtype={self.data.dtype}"
        if self._op is not None:
            extra += f", op={self._op.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __hash__(self):
        return id(self)

    # ---- autodiff ----------------------------------------------------------------
    def backward(self, grad=None, retain_graph=True):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` that requires grad.

        A scalar needs no ``grad``; anything else needs one of its own shape (as in PyTorch).
        The graph is kept for another backward unless ``retain_graph=False``, which frees what
        each op saved as soon as its backward has run (lower peak memory; the training step
        uses it). Unlike PyTorch, keeping is the default: gn.explain walks a graph twice.
        """
        if not self.requires_grad:
            raise ValueError(
                "backward: this tensor does not require grad and has no graph; create the "
                "inputs with requires_grad=True and compute it outside gn.no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: grad can be implicitly created only for a scalar output, this "
                    f"tensor has shape {self.shape}; pass grad= of that shape, or call .sum() first"
                )
            g = np.ones_like(self.data)
        else:
            g = _to_array(grad).astype(self.data.dtype, copy=False)
            if g.shape != self.data.shape:
                raise ValueError(f"backward: grad must have the tensor's shape {self.shape}, received {g.shape}")
        if self._op is None:
            self.grad = g if self.grad is None else self.grad + g
            return
        autograd.backward(self, g, retain_graph)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor too (leaves always keep theirs)."""
        self._retain = True
        return self

    def zero_grad(self):
        self.grad = None

    def detach(self):
        """The same data, cut from the graph (shares memory, requires no grad)."""
        return Tensor._from_op(self.data, None)

    def requires_grad_(self, flag=True):
        if flag and not backend.is_float(self.data.dtype):
            raise TypeError(f"requires_grad_: only floating tensors can require gradients, dtype is {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def assign(self, value):
        """Overwrite the data in place (same shape), as keras.Variable.assign does."""
        arr = _to_array(value)
        if arr.shape != self.data.shape:
            raise ValueError(f"assign: expected a value of shape {self.shape}, received {arr.shape}")
        self.data[...] = arr
        return self


autograd._make_tensor = Tensor._from_op  # ops build their results without importing this module


def tensor(data, dtype=None, requires_grad=False):
    """Make a Tensor; Python floats become float32, NumPy arrays keep their dtype."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(x, like=None):
    """x as a Tensor; Python and NumPy scalars and lists take the dtype of ``like`` when given
    (as in PyTorch, a scalar never upcasts a tensor: float32 * np.float64(2) stays float32)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and not isinstance(x, np.ndarray):
        arr = np.asarray(x)
        if arr.dtype.kind in "biuf" and backend.is_float(like.dtype):
            return Tensor._from_op(arr.astype(like.dtype), None)
    return Tensor(x)


def _varargs(args):
    """t.reshape(2, 3) and t.reshape((2, 3)) mean the same, as in NumPy."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _install_methods():
    """Operators and methods: thin forwards to glassnet.ops (imported after Tensor exists)."""
    from glassnet import ops

    def binary(fn):
        return lambda self, other: fn(self, other)

    def rbinary(fn):
        return lambda self, other: fn(as_tensor(other, like=self), self)

    T = Tensor
    T.__add__, T.__radd__ = binary(ops.add), rbinary(ops.add)
    T.__sub__, T.__rsub__ = binary(ops.subtract), rbinary(ops.subtract)
    T.__mul__, T.__rmul__ = binary(ops.multiply), rbinary(ops.multiply)
    T.__truediv__, T.__rtruediv__ = binary(ops.divide), rbinary(ops.divide)
    T.__pow__, T.__rpow__ = binary(ops.power), rbinary(ops.power)
    T.__matmul__, T.__rmatmul__ = binary(ops.matmul), rbinary(ops.matmul)
    T.__neg__ = lambda self: ops.negative(self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: ops.abs(self)
    T.__getitem__ = lambda self, idx: ops.getitem(self, idx)
    for name, fn in (("__lt__", np.less), ("__le__", np.less_equal), ("__gt__", np.greater),
                     ("__ge__", np.greater_equal), ("__eq__", np.equal), ("__ne__", np.not_equal)):
        setattr(T, name, (lambda f: lambda self, other: Tensor._from_op(
            f(self.data, other.data if isinstance(other, Tensor) else other), None))(fn))
    T.__hash__ = lambda self: id(self)

    for name in ("exp", "log", "log1p", "sqrt", "square", "tanh", "sigmoid", "relu", "abs",
                 "sum", "mean", "max", "min", "var", "std", "argmax", "argmin", "logsumexp",
                 "expand_dims", "squeeze", "broadcast_to", "flip",
                 "repeat", "tile", "clip", "softmax", "log_softmax", "cast", "matmul", "dot"):
        if hasattr(ops, name):
            setattr(T, name, getattr(ops, name))
    T.astype = ops.cast
    T.flatten = lambda self: ops.reshape(self, (-1,))
    T.reshape = lambda self, *shape: ops.reshape(self, _varargs(shape))
    T.transpose = lambda self, *axes: ops.transpose(self, _varargs(axes) if axes else None)
    T.permute = T.transpose
    T.T = property(lambda self: ops.transpose(self))
