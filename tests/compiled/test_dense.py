"""The compiled Dense-chain step equals the NumPy ops it replaces: the same prediction, loss
and gradients (to float rounding: only the summation order of the products differs)."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.losses.fused import ReducedSquaredError

pytest.importorskip("numba")
from glassnet.compiled import dense  # noqa: E402
from glassnet.compiled.codes import ACTIVATIONS  # noqa: E402

TOL = {"float64": dict(rtol=1e-11, atol=1e-13), "float32": dict(rtol=2e-5, atol=2e-6)}


def _chain(widths, acts, biases, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params, kernel_at, bias_at = [], [], []
    for (n_in, n_out), use_bias in zip(zip(widths, widths[1:]), biases):
        kernel_at.append(len(params))
        params.append(rng.standard_normal((n_in, n_out)).astype(dtype) * 0.7)
        if use_bias:
            bias_at.append(len(params))
            params.append(rng.standard_normal(n_out).astype(dtype) * 0.3)
        else:
            bias_at.append(-1)
    return params, kernel_at, bias_at


def _numpy_step(x, y, params, kernel_at, bias_at, acts, divisor):
    """Forward, loss and backward through glassnet's ops and autograd."""
    weights = [gn.Variable(p) for p in params]
    h = gn.Tensor(x)
    for k, b, act in zip(kernel_at, bias_at, acts):
        h = ops.matmul_bias_act(h, weights[k], None if b < 0 else weights[b], act)
    loss = ReducedSquaredError.apply(h, target=y, weight=None, divisor=divisor)
    loss.backward()
    return h.data, float(loss.data), [w.grad for w in weights]


def _compiled_step(x, y, params, kernel_at, bias_at, acts, divisor):
    dtype = x.dtype
    f = dtype.type
    units = y.shape[1]
    scale = 2.0 / units if divisor is None else 2.0 / units / divisor
    sizes = [p.size for p in params]
    offsets = np.cumsum([0] + sizes[:-1]).astype(np.int64)
    grad = np.full(sum(sizes), np.nan, dtype)
    out = np.empty(y.shape, dtype)
    codes = np.array([ACTIVATIONS[a] for a in acts], np.int64)
    sse, finite = dense.dense_mse_grads(x, y, tuple(p.reshape(-1) for p in params), np.array(kernel_at, np.int64),
                                        np.array(bias_at, np.int64), codes, f(scale), f(1), grad, offsets, out)
    loss = sse / units / (1 if divisor is None else divisor)
    grads = [grad[o:o + p.size].reshape(p.shape) for o, p in zip(offsets, params)]
    return out, loss, grads, finite


CASES = [
    ((2, 16, 16, 1), ("relu", "relu", "linear"), (True, True, True)),
    ((3, 8, 4), ("sigmoid", "tanh"), (True, True)),
    ((5, 7, 6, 3), ("tanh", "linear", "sigmoid"), (True, False, True)),
    ((4, 2), ("linear",), (False,)),
    ((6, 9, 1), ("relu", "sigmoid"), (False, True)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("widths,acts,biases", CASES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_equals_the_numpy_ops(dtype, widths, acts, biases, reduction):
    rng = np.random.default_rng(7)
    rows = 11
    x = rng.standard_normal((rows, widths[0])).astype(dtype)
    y = rng.standard_normal((rows, widths[-1])).astype(dtype)
    params, kernel_at, bias_at = _chain(widths, acts, biases, dtype)
    divisor = rows if reduction == "sum_over_batch_size" else None
    want_out, want_loss, want_grads = _numpy_step(x, y, params, kernel_at, bias_at, acts, divisor)
    out, loss, grads, finite = _compiled_step(x, y, params, kernel_at, bias_at, acts, divisor)
    assert finite
    tol = TOL[dtype]
    np.testing.assert_allclose(out, want_out, **tol)
    np.testing.assert_allclose(loss, want_loss, rtol=tol["rtol"] * 10)
    for got, want in zip(grads, want_grads):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, **tol)


def test_relu_gradient_is_zero_where_the_output_is_zero():
    """act'(z) from the output alone, as the fused NumPy op: no gradient through z = 0."""
    x = np.array([[1.0], [-1.0]])
    params = [np.array([[1.0]]), np.array([0.0])]
    _, _, grads, _ = _compiled_step(x, np.zeros((2, 1)), params, [0], [1], ["relu"], 2)
    _, _, want = _numpy_step(x, np.zeros((2, 1)), params, [0], [1], ["relu"], 2)
    np.testing.assert_array_equal(grads[0], want[0])
    np.testing.assert_array_equal(grads[1], want[1])


@pytest.mark.parametrize("where", ["weight", "target", "input"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_value_is_reported(where, bad):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    params, kernel_at, bias_at = _chain((3, 5, 2), ("tanh", "linear"), (True, True), "float64")
    {"weight": params[2], "target": y, "input": x}[where][1, 1] = bad
    *_, finite = _compiled_step(x, y, params, kernel_at, bias_at, ("tanh", "linear"), 4)
    assert not finite


def test_overflow_is_reported_and_large_finite_values_are_not():
    """A loss that overflows float32 is non-finite; large values that stay finite pass."""
    x = np.full((2, 1), 1e18, np.float32)
    params = [np.full((1, 1), 1e18, np.float32), np.zeros(1, np.float32)]
    *_, finite = _compiled_step(x, np.zeros((2, 1), np.float32), params, [0], [1], ["linear"], None)
    assert not finite  # 1e36 squared overflows float32: the loss itself is inf
    x = np.full((2, 1), 1e8, np.float32)
    params = [np.full((1, 1), 1e8, np.float32), np.zeros(1, np.float32)]
    *_, finite = _compiled_step(x, np.zeros((2, 1), np.float32), params, [0], [1], ["linear"], None)
    assert finite
