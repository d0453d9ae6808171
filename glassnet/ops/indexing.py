"""Indexing: basic slicing and integer-array gathers (embedding lookups), with scatter-add
gradients so that repeated indices accumulate."""
import numpy as np

from glassnet.autograd import Op
from glassnet.tensor import Tensor, as_tensor


def _plain_index(idx):
    """Index with Tensors replaced by their arrays."""
    if isinstance(idx, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    return idx.data if isinstance(idx, Tensor) else idx


def _is_advanced(idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


class GetItem(Op):
    """z = x[idx];  dx = zeros with g added at idx (np.add.at when indices can repeat)."""
    name = "getitem"

    def forward(self, x, idx=None):
        self.shape, self.dtype, self.idx = x.shape, x.dtype, idx
        return np.asarray(x[idx])

    def backward(self, g):
        gx = np.zeros(self.shape, self.dtype)
        if _is_advanced(self.idx):
            np.add.at(gx, self.idx, g)
        else:
            gx[self.idx] = g
        return (gx,)


class Take(Op):
    """z = x.take(indices, axis=0) (rows of a table);  dx = g rows summed into their indices."""
    name = "take"

    def forward(self, x, indices=None):
        self.shape, self.indices = x.shape, indices
        return x[indices]

    def backward(self, g):
        n = self.shape[0]
        flat = self.indices.reshape(-1)
        rows = g.reshape(flat.size, -1)
        # sorting by index then reduceat sums repeated rows in C, much faster than np.add.at
        order = np.argsort(flat, kind="stable")
        sorted_idx = flat[order]
        starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]]) if flat.size else np.zeros(0, int)
        gx = np.zeros((n, rows.shape[1]), g.dtype)
        if flat.size:
            gx[sorted_idx[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return (gx.reshape(self.shape),)


def getitem(x, idx):
    """x[idx] with NumPy indexing (slices, None, Ellipsis, integer and boolean arrays)."""
    x = as_tensor(x)
    idx = _plain_index(idx)
    if isinstance(idx, list):
        idx = np.asarray(idx)
    try:
        return GetItem.apply(x, idx=idx)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor of shape {x.shape})") from None


def take(x, indices):
    """Rows of ``x`` picked by an integer array (an embedding lookup): out[..., :] = x[i]."""
    x = as_tensor(x)
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"take: indices must be integers, received dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[0]):
        bad = idx.max() if idx.max() >= x.shape[0] else idx.min()
        raise IndexError(f"take: index {bad} is out of range for a table of {x.shape[0]} rows (valid: 0..{x.shape[0] - 1})")
    return Take.apply(x, indices=idx)
