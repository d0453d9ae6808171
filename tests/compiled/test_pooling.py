"""Compiled max pooling equals the NumPy passes exactly: maxima, argmax offsets (first maximum,
NaN propagated) and the routed gradient."""
import numpy as np
import pytest

from glassnet import compiled
from glassnet.ops.pooling import MaxPool

pytest.importorskip("numba")
rng = np.random.default_rng(0)


def _pool(x, pool, strides, pads, kernels, monkeypatch, needs=(True,)):
    monkeypatch.setattr(compiled, "hot", lambda: kernels)
    op = MaxPool()
    op.needs = needs
    y = op.forward(x, pool, strides, pads)
    if not needs[0]:
        return y.copy(), None
    g = (np.arange(y.size) % 7 - 3).reshape(y.shape).astype(x.dtype)
    dx, = op.backward(g)
    return y.copy(), dx


CASES = [((2, 2), (2, 2), [(0, 0), (0, 0)], (3, 8, 8, 5)),    # tiled
         ((2, 2), (2, 2), [(0, 0), (0, 0)], (3, 9, 7, 5)),    # disjoint, an edge left over
         ((3, 3), (3, 3), [(1, 1), (0, 2)], (2, 7, 7, 4)),    # padded with -inf
         ((3, 3), (2, 2), [(1, 1), (1, 1)], (2, 8, 8, 3))]    # overlapping: NumPy's backward


@pytest.mark.parametrize("pool,strides,pads,shape", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equals_the_numpy_passes_exactly(pool, strides, pads, shape, dtype, monkeypatch):
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 1, 1, 0] = x[0, 1, 0, 0]  # ties: the first maximum wins
    x[1, 2, 2, 1] = np.nan
    x[1, 0, 0, 2] = -np.inf
    plain = _pool(x, pool, strides, pads, None, monkeypatch)
    fast = _pool(x, pool, strides, pads, compiled.load(), monkeypatch)
    np.testing.assert_array_equal(fast[0], plain[0])  # NaN where NumPy has NaN
    np.testing.assert_array_equal(fast[1], plain[1])


def test_without_an_input_gradient(monkeypatch):
    x = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    plain = _pool(x, (2, 2), (2, 2), [(0, 0), (0, 0)], None, monkeypatch, needs=(False,))
    fast = _pool(x, (2, 2), (2, 2), [(0, 0), (0, 0)], compiled.load(), monkeypatch, needs=(False,))
    np.testing.assert_array_equal(fast[0], plain[0])
