"""Reductions: values against NumPy and float64 gradchecks over axes and keepdims."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops

CASES = [((5,), None), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 1, 3), 1), ((1,), 0), ((3, 5), None)]


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "logsumexp"])
@pytest.mark.parametrize("shape,axis", CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_values_and_gradcheck(name, shape, axis, keepdims, rng):
    x = rng.standard_normal(shape)
    fn = getattr(ops, name)
    if name == "logsumexp":
        m = x.max(axis=axis, keepdims=True)
        want = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
        if not keepdims:
            want = want.squeeze(axis=axis) if axis is not None else want.reshape(())
    else:
        want = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    got = fn(x, axis=axis, keepdims=keepdims)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    if name == "std" and np.prod([shape[a] for a in np.atleast_1d(axis if axis is not None else range(len(shape)))]) == 1:
        return  # sqrt of a zero variance has no derivative
    assert gn.gradcheck(lambda t: fn(t, axis=axis, keepdims=keepdims), x)


def test_max_splits_gradient_between_ties():
    x = gn.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    ops.max(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])


def test_logsumexp_is_stable():
    x = np.array([1000.0, 1000.0])
    np.testing.assert_allclose(ops.logsumexp(x).numpy(), 1000 + np.log(2))


def test_argmax_argmin_have_no_gradient(rng):
    x = gn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    i = ops.argmax(x, axis=1)
    assert not i.requires_grad
    np.testing.assert_array_equal(i.numpy(), np.argmax(x.numpy(), axis=1))
    np.testing.assert_array_equal(ops.argmin(x).numpy(), np.argmin(x.numpy()))


def test_bad_axis_names_op():
    with pytest.raises(ValueError, match="sum: axis 2 is out of range for a tensor with 2 dimensions"):
        ops.sum(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="max: cannot reduce an empty tensor"):
        ops.max(np.ones((0, 3)))


def test_reductions_keep_float32():
    x = gn.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    for y in (ops.mean(x), ops.var(x, axis=0), ops.std(x + ops.tanh(x) * 0), ops.logsumexp(x, axis=1)):
        assert y.dtype == np.float32
