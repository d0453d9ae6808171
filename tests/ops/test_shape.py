"""Shape ops and indexing: values against NumPy and gradchecks."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops


@pytest.mark.parametrize("fn,ref", [
    (lambda x: ops.reshape(x, (4, -1)), lambda x: x.reshape(4, -1)),
    (lambda x: ops.transpose(x), lambda x: x.T),
    (lambda x: ops.transpose(x, (1, 0, 2)), lambda x: x.transpose(1, 0, 2)),
    (lambda x: ops.expand_dims(x, 1), lambda x: np.expand_dims(x, 1)),
    (lambda x: ops.squeeze(ops.expand_dims(x, 0), 0), lambda x: x),
    (lambda x: ops.broadcast_to(ops.getitem(x, (slice(None), slice(0, 1))), (3, 2, 5, 4)),
     lambda x: np.broadcast_to(x[:, :1], (3, 2, 5, 4))),
    (lambda x: ops.pad(x, ((1, 0), (0, 2), (1, 1))), lambda x: np.pad(x, ((1, 0), (0, 2), (1, 1)))),
    (lambda x: ops.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1)),
    (lambda x: ops.repeat(x, [1, 0, 3], axis=1), lambda x: np.repeat(x, [1, 0, 3], axis=1)),
    (lambda x: ops.repeat(x, 2), lambda x: np.repeat(x, 2)),
    (lambda x: ops.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3))),
    (lambda x: ops.tile(x, 2), lambda x: np.tile(x, 2)),
    (lambda x: ops.flip(x, 1), lambda x: np.flip(x, 1)),
    (lambda x: ops.flip(x), lambda x: np.flip(x)),
    (lambda x: ops.getitem(x, (slice(None), 1)), lambda x: x[:, 1]),
    (lambda x: ops.getitem(x, (Ellipsis, slice(None, None, -2))), lambda x: x[..., ::-2]),
    (lambda x: ops.getitem(x, np.array([1, 0, 1])), lambda x: x[[1, 0, 1]]),
    (lambda x: ops.getitem(x, (np.array([0, 1, 1]), np.array([2, 0, 2]))), lambda x: x[[0, 1, 1], [2, 0, 2]]),
    (lambda x: ops.getitem(x, x.numpy() > 0) if isinstance(x, gn.Tensor) else None, None),
])
def test_shape_ops(fn, ref, rng):
    x = rng.standard_normal((2, 3, 4))
    if ref is None:  # boolean mask
        t = gn.tensor(x, requires_grad=True)
        y = ops.getitem(t, x > 0)
        np.testing.assert_array_equal(y.numpy(), x[x > 0])
        y.sum().backward()
        np.testing.assert_array_equal(t.grad, (x > 0).astype(float))
        return
    np.testing.assert_allclose(fn(x).numpy(), ref(x))
    assert gn.gradcheck(fn, x)


def test_indexing_operator_and_repeated_indices_accumulate():
    x = gn.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    y = x[np.array([0, 2, 0, 0])]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[3, 3], [0, 0], [1, 1]])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_stack_split(axis, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    np.testing.assert_allclose(ops.concatenate([a, b], axis).numpy(), np.concatenate([a, b], axis))
    np.testing.assert_allclose(ops.stack([a, b], axis).numpy(), np.stack([a, b], axis))
    assert gn.gradcheck(lambda p, q: ops.concatenate([p, q, p], axis), a, b)
    assert gn.gradcheck(lambda p, q: ops.stack([p, q], axis), a, b)
    x = rng.standard_normal((4, 6))
    for parts in (2, [1, 3]):
        got = ops.split(x, parts, axis)
        want = np.split(x, parts, axis)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w)
    assert gn.gradcheck(lambda t: ops.split(t, 2, axis=1)[1] * 2, x)


def test_take_gathers_rows_and_scatters_gradients(rng):
    table = rng.standard_normal((5, 3))
    idx = np.array([[1, 4, 1], [0, 1, 3]])
    np.testing.assert_allclose(ops.take(table, idx).numpy(), table[idx])
    assert gn.gradcheck(lambda t: ops.take(t, idx), table)
    t = gn.tensor(table, requires_grad=True)
    ops.take(t, idx).sum().backward()
    np.testing.assert_array_equal(t.grad[:, 0], [1, 3, 0, 1, 1])


def test_shape_errors_name_the_op():
    x = gn.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 values\) into \(4, 2\)"):
        ops.reshape(x, (4, 2))
    with pytest.raises(ValueError, match="concatenate: all shapes must match except on axis 0"):
        ops.concatenate([x, np.ones((2, 4))], 0)
    with pytest.raises(ValueError, match="split: axis 1 of size 3 cannot be split into 2"):
        ops.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="squeeze: axis 0 has size 2"):
        ops.squeeze(x, 0)
    with pytest.raises(ValueError, match="broadcast_to"):
        ops.broadcast_to(x, (3, 3))
    with pytest.raises(IndexError, match="take: index 5 is out of range for a table of 5 rows"):
        ops.take(np.ones((5, 2)), np.array([0, 5]))
    with pytest.raises(IndexError, match="getitem"):
        x[5]
    with pytest.raises(ValueError, match="transpose"):
        ops.transpose(x, (0, 0))


def test_method_forms(rng):
    x = gn.tensor(rng.standard_normal((2, 3)))
    assert x.reshape(3, 2).shape == (3, 2)
    assert x.reshape((6,)).shape == (6,)
    assert x.T.shape == (3, 2)
    assert x.transpose(1, 0).shape == (3, 2)
    assert x.sum(axis=0).shape == (3,)
    assert x.flatten().shape == (6,)
