"""Gradchecks and values for arithmetic, math and activation ops (float64)."""
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops

BINARY_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((2, 1, 4), (3, 1)), ((1,), (5, 2)), ((), (2, 3)), ((4, 1), (1, 5))]


@pytest.mark.parametrize("fn", [ops.add, ops.subtract, ops.multiply, ops.divide, ops.maximum, ops.minimum])
@pytest.mark.parametrize("sa,sb", BINARY_SHAPES)
def test_binary_gradcheck_with_broadcasting(fn, sa, sb, rng):
    a = rng.standard_normal(sa)
    b = rng.standard_normal(sb)
    if fn is ops.divide:
        b = np.sign(b) * (np.abs(b) + 0.5)
    assert gn.gradcheck(fn, a, b)
    np.testing.assert_allclose(fn(a, b).numpy(), {
        ops.add: np.add, ops.subtract: np.subtract, ops.multiply: np.multiply,
        ops.divide: np.divide, ops.maximum: np.maximum, ops.minimum: np.minimum}[fn](a, b))


@pytest.mark.parametrize("sa,sb", BINARY_SHAPES[:4])
def test_power_gradcheck_both_inputs(sa, sb, rng):
    a = rng.uniform(0.5, 2.0, sa)
    b = rng.standard_normal(sb)
    assert gn.gradcheck(ops.power, a, b)


def test_operators_match_functions(rng):
    a = gn.tensor(rng.standard_normal((2, 3)))
    b = gn.tensor(rng.uniform(1, 2, (3,)))
    for got, want in [(a + b, a.numpy() + b.numpy()), (a - b, a.numpy() - b.numpy()),
                      (a * b, a.numpy() * b.numpy()), (a / b, a.numpy() / b.numpy()),
                      (b ** 2, b.numpy() ** 2), (2 ** b, 2 ** b.numpy()), (-a, -a.numpy()),
                      (1 - a, 1 - a.numpy()), (3 / b, 3 / b.numpy()), (abs(a), np.abs(a.numpy()))]:
        np.testing.assert_allclose(got.numpy(), want)


def test_python_scalars_keep_float32():
    x = gn.tensor([1.0, 2.0])
    assert x.dtype == np.float32
    for y in (x + 1, x * 2.5, 1.5 - x, x / 3, x ** 2, 2 ** x, ops.maximum(x, 0.5)):
        assert y.dtype == np.float32


def test_float64_is_kept():
    x = gn.tensor(np.array([1.0, 2.0]))
    assert x.dtype == np.float64
    assert (x * 2.0).dtype == np.float64


UNARY = [
    (ops.exp, np.exp, (-2, 2)), (ops.log, np.log, (0.2, 3)), (ops.log1p, np.log1p, (-0.5, 3)),
    (ops.sqrt, np.sqrt, (0.2, 3)), (ops.square, np.square, (-2, 2)), (ops.tanh, np.tanh, (-3, 3)),
    (ops.abs, np.abs, (-2, 2)), (ops.negative, np.negative, (-2, 2)),
    (ops.erf, np.vectorize(math.erf), (-3, 3)),
    (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (-6, 6)),
    (ops.relu, lambda x: np.maximum(x, 0), (-2, 2)),
    (ops.relu6, lambda x: np.clip(x, 0, 6), (-3, 9)),
    (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), (-2, 2)),
    (ops.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), (-2, 2)),
    (ops.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)), (-2, 2)),
    (ops.softplus, lambda x: np.log1p(np.exp(x)), (-5, 5)),
    (ops.softsign, lambda x: x / (1 + np.abs(x)), (-3, 3)),
    (ops.gelu, lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2))), (-3, 3)),
    (lambda x: ops.gelu(x, approximate=True),
     lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), (-3, 3)),
    (ops.silu, lambda x: x / (1 + np.exp(-x)), (-4, 4)),
    (ops.hard_sigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), (-5, 5)),
    (ops.hard_silu, lambda x: x * np.clip(x / 6 + 0.5, 0, 1), (-5, 5)),
    (ops.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), (-3, 3)),
]


@pytest.mark.parametrize("fn,ref,domain", UNARY, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 1, 3)])
def test_unary_values_and_gradcheck(fn, ref, domain, shape, rng):
    x = rng.uniform(*domain, shape)
    # keep away from kinks, where central differences are meaningless
    for kink in (0.0, 6.0, -3.0, 3.0):
        x = np.where(np.abs(x - kink) < 1e-3, kink + 0.01, x)
    np.testing.assert_allclose(fn(x).numpy(), ref(x), rtol=1e-12, atol=1e-12)
    assert gn.gradcheck(fn, x)


@pytest.mark.parametrize("fn", [ops.exp, ops.tanh, ops.sigmoid, ops.relu, ops.gelu, ops.softplus, ops.elu, ops.erf])
def test_unary_keeps_float32(fn):
    x = gn.tensor(np.linspace(-3, 3, 11, dtype=np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_sigmoid_and_softplus_do_not_overflow():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = ops.sigmoid(x).numpy()
        p = ops.softplus(x).numpy()
    np.testing.assert_allclose(s, [0, 1.9287498479639178e-22, 0.5, 1, 1])
    np.testing.assert_allclose(p, [0, 1.9287498479639178e-22, np.log(2), 50, 1000])


def test_leaky_relu_and_relu_options(rng):
    x = np.array([-2.0, -0.5, 0.5, 3.0, 8.0])
    np.testing.assert_allclose(ops.leaky_relu(x, negative_slope=0.3).numpy(), [-0.6, -0.15, 0.5, 3, 8])
    np.testing.assert_allclose(ops.relu(x, max_value=6.0).numpy(), [0, 0, 0.5, 3, 6])
    np.testing.assert_allclose(ops.relu(x, negative_slope=0.1).numpy(), [-0.2, -0.05, 0.5, 3, 8])
    assert gn.gradcheck(lambda t: ops.relu(t, negative_slope=0.1, max_value=6.0), x)


def test_clip_gradient_passes_inside_only(rng):
    x = gn.tensor(np.array([-2.0, -0.5, 0.5, 2.0]), requires_grad=True)
    ops.clip(x, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 0])
    assert gn.gradcheck(lambda t: ops.clip(t, -1.0, 1.0), np.array([-2.0, -0.5, 0.5, 2.0]))
    with pytest.raises(ValueError, match="clip"):
        ops.clip(x, 2.0, 1.0)


def test_maximum_splits_ties_evenly():
    a = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = gn.tensor(np.array([1.0, 5.0, 0.0]), requires_grad=True)
    ops.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0, 1])
    np.testing.assert_array_equal(b.grad, [0.5, 1, 0])


@pytest.mark.parametrize("sc,sa,sb", [((3,), (3,), (3,)), ((2, 3), (3,), ()), ((2, 1), (1, 4), (2, 4))])
def test_where_gradcheck(sc, sa, sb, rng):
    cond = rng.random(sc) > 0.5
    assert gn.gradcheck(lambda a, b: ops.where(cond, a, b), rng.standard_normal(sa), rng.standard_normal(sb))
    with pytest.raises(TypeError, match="where: condition must be boolean"):
        ops.where(np.ones(3), np.ones(3), np.ones(3))


def test_cast_round_trip_gradient(rng):
    x = gn.tensor(rng.standard_normal(4), requires_grad=True)
    y = ops.cast(x, "float32")
    assert y.dtype == np.float32
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, 2.0)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(axis, rng):
    x = rng.standard_normal((3, 4)) * 3
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    sm = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(ops.softmax(x, axis=axis).numpy(), sm, rtol=1e-12)
    np.testing.assert_allclose(ops.log_softmax(x, axis=axis).numpy(), np.log(sm), rtol=1e-12)
    assert gn.gradcheck(lambda t: ops.softmax(t, axis=axis), x)
    assert gn.gradcheck(lambda t: ops.log_softmax(t, axis=axis), x)
    # the fused ops equal their composition from primitives
    composed = ops.exp(x) / ops.sum(ops.exp(x), axis=axis, keepdims=True)
    np.testing.assert_allclose(ops.softmax(x, axis=axis).numpy(), composed.numpy(), rtol=1e-12)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(ops.softmax(x).numpy(), [[1, 0, 0]])
        np.testing.assert_allclose(ops.log_softmax(x).numpy(), [[0, -1000, -2000]])
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range"):
        ops.softmax(x, axis=2)


def test_binary_shape_mismatch_names_op():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        ops.add(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="multiply"):
        gn.tensor(np.ones((2, 3))) * gn.tensor(np.ones((3, 2)))
