"""The compiled scatter-add of an Embedding's gradient equals the NumPy one (to float rounding:
NumPy's reduceat adds a run's rows in another order)."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import compiled
from glassnet.ops.indexing import _scatter_add_rows

pytest.importorskip("numba")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("index_dtype", ["int64", "int32"])
def test_equals_the_numpy_scatter(dtype, index_dtype):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 50, 400).astype(index_dtype)  # many repeats, runs of up to ~20 rows
    rows = rng.standard_normal((400, 6)).astype(dtype)
    want = np.zeros((50, 6), dtype)
    _scatter_add_rows(want, idx, rows)
    got = np.zeros((50, 6), dtype)
    compiled.load().scatter.scatter_add_rows(got, idx, rows)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-13, atol=1e-5 if dtype == "float32" else 1e-13)
    untouched = np.setdiff1d(np.arange(50), idx)
    assert not got[untouched].any()


def test_embedding_gradient_once_training_is_hot(monkeypatch):
    ids = np.array([[3, 1, 3], [0, 3, 9]])
    layer = gn.layers.Embedding(10, 4)
    grads = []
    for hot in (None, compiled.load()):
        monkeypatch.setattr(compiled, "hot", lambda: hot)
        out = layer(ids)
        out.backward(np.arange(24, dtype="float32").reshape(2, 3, 4))
        grads.append(layer.embeddings.grad)
        layer.embeddings.grad = None
    want = np.zeros((10, 4), "float32")
    want[3] = [24, 27, 30, 33]  # ids[0, 0], ids[0, 2] and ids[1, 1]: 0..3 + 8..11 + 16..19
    want[1], want[0], want[9] = [4, 5, 6, 7], [12, 13, 14, 15], [20, 21, 22, 23]
    for g in grads:
        np.testing.assert_array_equal(g, want)  # small integers: exact either way
