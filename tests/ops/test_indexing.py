"""Take's scatter-add gradient (glassnet/ops/indexing.py): every mix of repeated and single
indices against np.add.at, both sort paths, odd table shapes and dtypes."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.ops import indexing

IDS = {
    "no repeats": np.array([[4, 0, 7], [2, 9, 5]]),
    "all the same": np.full((3, 4), 6),
    "runs of 1 to 5": np.array([3, 1, 3, 8, 3, 1, 0, 3, 3, 2, 8]),
    "padding-like": np.array([[5, 2, 0, 0, 0], [7, 0, 0, 0, 0]]),
    "one id": np.array([9]),
    "int32 ids": np.array([[1, 1, 0], [9, 1, 0]], np.int32),
}


def _grad(table, ids, g):
    t = gn.tensor(table, requires_grad=True)
    ops.take(t, ids).backward(g)
    return t.grad


@pytest.mark.parametrize("name", IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_take_gradient_equals_add_at(name, dtype):
    rng = np.random.default_rng(0)
    ids = IDS[name]
    table = rng.standard_normal((10, 3)).astype(dtype)
    g = rng.standard_normal(ids.shape + (3,)).astype(dtype)
    want = np.zeros_like(table)
    np.add.at(want, ids.reshape(-1), g.reshape(-1, 3))
    got = _grad(table, ids, g)
    assert got.dtype == dtype and got.shape == table.shape
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


def test_take_gradient_with_repeats_many_shapes_and_both_sort_paths(monkeypatch):
    rng = np.random.default_rng(1)
    for rows, n, width in [(50, 7, 1), (20000, 6400, 4), (3, 100, 2)]:
        ids = rng.integers(0, rows, n) if n > 7 else np.array([0, 1, 0, 2, 2, 2, 1])
        g = rng.standard_normal((n, width))
        table = np.zeros((rows, width))
        want = np.zeros_like(table)
        np.add.at(want, ids, g)
        fast = _grad(table, ids, g)
        np.testing.assert_allclose(fast, want, rtol=1e-12, atol=1e-12)
        # the stable-sort path (tables too big for unique int64 keys) gives the same bits
        monkeypatch.setattr(indexing, "_UNIQUE_KEY_LIMIT", 0)
        np.testing.assert_array_equal(_grad(table, ids, g), fast)
        monkeypatch.undo()


@pytest.mark.parametrize("table_shape", [(6,), (6, 2, 3)])
def test_take_gradient_of_1d_and_3d_tables(table_shape):
    rng = np.random.default_rng(2)
    table = rng.standard_normal(table_shape)
    ids = np.array([[5, 0], [5, 5]])
    assert gn.gradcheck(lambda t: ops.take(t, ids), table)
    np.testing.assert_array_equal(ops.take(table, ids).numpy(), table[ids])


def test_take_of_no_ids_has_a_zero_gradient():
    t = gn.tensor(np.ones((4, 3)), requires_grad=True)
    out = ops.take(t, np.zeros((2, 0), np.int64))
    assert out.shape == (2, 0, 3)
    out.backward(np.zeros((2, 0, 3)))
    np.testing.assert_array_equal(t.grad, np.zeros((4, 3)))
