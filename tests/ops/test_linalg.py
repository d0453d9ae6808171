"""matmul / dot / outer: values, batched broadcasting and gradchecks."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops

SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
          ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 1)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2))]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_values_and_gradcheck(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    np.testing.assert_allclose(ops.matmul(a, b).numpy(), np.matmul(a, b), rtol=1e-12)
    assert gn.gradcheck(ops.matmul, a, b)


def test_matmul_operator_and_float32(rng):
    a = gn.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    b = gn.tensor(rng.standard_normal((4, 2)).astype(np.float32), requires_grad=True)
    y = a @ b
    assert y.dtype == np.float32
    y.sum().backward()
    assert a.grad.dtype == b.grad.dtype == np.float32


def test_matmul_inner_dimension_error():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions must match, received shapes \(3, 4\) and \(5, 2\)"):
        ops.matmul(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="matmul"):
        ops.matmul(np.ones((2, 3, 4)), np.ones((3, 4, 5)))


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((), (3,))])
def test_dot(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    np.testing.assert_allclose(ops.dot(a, b).numpy(), np.dot(a, b), rtol=1e-12)
    assert gn.gradcheck(ops.dot, a, b)


def test_outer(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(4)
    np.testing.assert_allclose(ops.outer(a, b).numpy(), np.outer(a, b))
    assert gn.gradcheck(ops.outer, a, b)
