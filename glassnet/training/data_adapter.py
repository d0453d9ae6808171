"""Turn what ``fit``/``evaluate``/``predict`` receive into batches.

Accepted: NumPy arrays (or Tensors), lists/tuples and dicts of them, Python generators
yielding ``(x, y)`` / ``(x, y, sample_weight)``, and ``gn.utils.PyDataset``. Arrays are
checked once up front (lengths agree, no NaN) so bad data fails before any weight moves.
"""
import math

import numpy as np

from glassnet.tensor import Tensor


def _flat(struct):
    if struct is None:
        return []
    if isinstance(struct, dict):
        return [a for k in struct for a in _flat(struct[k])]
    if isinstance(struct, (list, tuple)):
        return [a for s in struct for a in _flat(s)]
    return [struct]


def _map(fn, struct):
    if struct is None:
        return None
    if isinstance(struct, dict):
        return {k: _map(fn, v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map(fn, v) for v in struct)
    return fn(struct)


def _as_array(a):
    if isinstance(a, Tensor):
        return a.data
    arr = np.asarray(a)
    if arr.dtype == object:
        raise TypeError(f"expected numeric arrays, received an array of Python objects ({type(a).__name__})")
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)  # Keras' floatx: float64 data trains in float32
    return arr


def is_array_like(x):
    return all(isinstance(a, (np.ndarray, Tensor, list)) or np.isscalar(a) for a in _flat(x)) and bool(_flat(x))


def check_finite(name, struct):
    for a in _flat(struct):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = np.argwhere(~np.isfinite(a))[0]
            raise ValueError(
                f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)}, value "
                f"{a[tuple(bad)]}); clean or impute the data before training"
            )


def _plain(a):
    return type(a) is np.ndarray and a.ndim and a.dtype != np.float64 and a.dtype != object


def prepare_arrays(x, y=None, sample_weight=None, class_weight=None, check=True):
    """x, y and sample_weight as arrays (float64 -> float32), checked once: the same number of
    samples everywhere, no NaN or inf in x and y; class_weight folded into the sample weights.
    Returns (x, y, sample_weight, number of samples)."""
    if _plain(x) and (y is None or _plain(y)) and sample_weight is None and class_weight is None:
        # one array each with nothing to convert (train_on_batch's usual case): the same
        # checks without the walks over structures, 1.5 us of a tiny net's 70 us step
        n = x.shape[0]
        if n and (y is None or y.shape[0] == n):
            # check_finite's test inline (no walk over a structure); it runs only to raise
            if check and x.dtype.kind == "f" and not np.isfinite(x).all():
                check_finite("x", x)
            if check and y is not None and y.dtype.kind == "f" and not np.isfinite(y).all():
                check_finite("y", y)
            return x, y, None, n
    x = _map(_as_array, x)
    y = _map(_as_array, y)
    sample_weight = None if sample_weight is None else _as_array(sample_weight)
    arrays = [("x", a) for a in _flat(x)] + [("y", a) for a in _flat(y)]
    if sample_weight is not None:
        arrays.append(("sample_weight", sample_weight))
    lengths = {a.shape[0] if a.ndim else 1 for _, a in arrays}
    if len(lengths) > 1:
        detail = ", ".join(f"{n}: {a.shape[0] if a.ndim else 1} samples" for n, a in arrays)
        raise ValueError(f"Data cardinality is ambiguous: the arrays have different lengths ({detail}); "
                         f"x, y and sample_weight must all have the same number of samples")
    n = lengths.pop() if lengths else 0
    if n == 0:
        raise ValueError("No data: x has 0 samples")
    if check:
        check_finite("x", x)
        check_finite("y", y)
    if class_weight is not None:
        sample_weight = _class_weights(y, class_weight, sample_weight)
    return x, y, sample_weight, n


class ArrayData:
    """In-memory arrays cut into batches; optionally shuffled each epoch."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, class_weight=None,
                 check=True, steps=None):
        self.x, self.y, self.sample_weight, self.n = prepare_arrays(x, y, sample_weight, class_weight, check)
        if batch_size is None:
            batch_size = 32
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.steps = steps if steps is not None else math.ceil(self.n / self.batch_size)

    def batches(self, rng=None):
        order = None
        if self.shuffle and rng is not None:
            order = rng.permutation(self.n)
        emitted = 0
        while emitted < self.steps:
            for start in range(0, self.n, self.batch_size):
                if emitted >= self.steps:
                    return
                idx = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]

                def pick(a, idx=idx):
                    return a[idx]

                yield (_map(pick, self.x), _map(pick, self.y),
                       None if self.sample_weight is None else self.sample_weight[idx])
                emitted += 1

    def split(self, fraction):
        """Keras' validation_split: the last ``fraction`` of samples, taken before shuffling."""
        if not 0 < fraction < 1:
            raise ValueError(f"validation_split must be in (0, 1), received {fraction}")
        cut = int(self.n * (1 - fraction))
        if cut == 0 or cut == self.n:
            raise ValueError(f"validation_split={fraction} leaves no training or no validation samples out of {self.n}")
        head = lambda a: a[:cut]
        tail = lambda a: a[cut:]
        sw = self.sample_weight
        train = ArrayData(_map(head, self.x), _map(head, self.y), None if sw is None else sw[:cut],
                          self.batch_size, self.shuffle, check=False)
        val = (_map(tail, self.x), _map(tail, self.y), None if sw is None else sw[cut:])
        return train, val


def _class_weights(y, class_weight, sample_weight):
    labels = _flat(y)
    if len(labels) != 1:
        raise ValueError("class_weight is only supported for models with a single output")
    y = labels[0]
    classes = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(y.shape[0], -1)[:, 0].round().astype(int)
    table = np.ones(int(max(max(class_weight), classes.max())) + 1, np.float32)
    for k, w in class_weight.items():
        table[int(k)] = w
    weights = table[classes]
    return weights if sample_weight is None else weights * sample_weight


class GeneratorData:
    """Batches from a Python generator/iterator (or a gn.utils.PyDataset)."""

    def __init__(self, source, steps=None):
        self.source = source
        self.steps = steps
        self.is_dataset = hasattr(source, "__getitem__") and hasattr(source, "__len__")
        if self.is_dataset and steps is None:
            self.steps = len(source)
        self._iter = None

    def batches(self, rng=None):
        if self.is_dataset:
            for i in range(self.steps):
                yield _unpack(self.source[i % len(self.source)])
            if hasattr(self.source, "on_epoch_end"):
                self.source.on_epoch_end()
            return
        if self._iter is None:
            self._iter = iter(self.source)
        count = 0
        while self.steps is None or count < self.steps:
            try:
                item = next(self._iter)
            except StopIteration:
                self._iter = None
                return
            yield _unpack(item)
            count += 1


def _unpack(item):
    if not isinstance(item, tuple):
        return _map(_as_array, item), None, None
    if len(item) == 1:
        return _map(_as_array, item[0]), None, None
    if len(item) == 2:
        return _map(_as_array, item[0]), _map(_as_array, item[1]), None
    if len(item) == 3:
        return _map(_as_array, item[0]), _map(_as_array, item[1]), _as_array(item[2])
    raise ValueError(f"a data generator must yield x, (x, y) or (x, y, sample_weight); received a tuple of {len(item)}")


def adapt(x, y=None, sample_weight=None, batch_size=None, shuffle=False, class_weight=None, steps=None):
    """The right batch source for ``x``."""
    if hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")):
        if y is not None or sample_weight is not None:
            raise ValueError("when x is a generator or PyDataset, it must yield y (and sample_weight) itself; do not pass y")
        return GeneratorData(x, steps)
    if x is None:
        raise ValueError("x is required")
    return ArrayData(x, y, sample_weight, batch_size, shuffle, class_weight, steps=steps)
