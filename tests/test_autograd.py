"""The backward engine: chain rule, forks, accumulation, no_grad, errors."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops


def test_gradients_accumulate_at_forks():
    x = gn.tensor(3.0, requires_grad=True)
    y = x * x + x  # x used three times
    y.backward()
    assert x.grad == pytest.approx(7.0)


def test_gradients_accumulate_across_calls_until_zeroed():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6, 6])
    x.zero_grad()
    assert x.grad is None


def test_shared_subexpression_is_visited_once():
    x = gn.tensor(2.0, requires_grad=True)
    h = x * x
    y = h * h + h  # d/dx (x^4 + x^2) = 4x^3 + 2x
    y.backward()
    assert x.grad == pytest.approx(36.0)


def test_non_scalar_backward_needs_grad():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match=r"grad can be implicitly created only for a scalar output.*\(2,\)"):
        y.backward()
    y.backward(np.array([1.0, 10.0], np.float32))
    np.testing.assert_array_equal(x.grad, [2, 20])
    with pytest.raises(ValueError, match="backward: grad must have the tensor's shape"):
        (x * 2).backward(np.ones(3))


def test_no_grad_records_nothing():
    x = gn.tensor([1.0], requires_grad=True)
    with gn.no_grad():
        y = x * 2
    assert not y.requires_grad and y.op is None
    with pytest.raises(ValueError, match="does not require grad"):
        y.backward()
    with gn.no_grad():
        with gn.enable_grad():
            assert (x * 2).requires_grad
    assert gn.is_grad_enabled()


def test_inputs_without_requires_grad_get_no_gradient():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    c = gn.tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [5, 6])


def test_retain_grad_keeps_intermediate_gradient():
    x = gn.tensor(2.0, requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).backward()
    assert h.grad == pytest.approx(12.0)
    assert x.grad == pytest.approx(36.0)


def test_deep_graph_does_not_hit_recursion_limit():
    x = gn.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-4)


def test_seed002_backprop_slide():
    """f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)), w = [0, -3, -3], x = [-1, -2] (seed 002)."""
    w = gn.tensor(np.array([0.0, -3.0, -3.0]), requires_grad=True)
    x = gn.tensor(np.array([-1.0, -2.0]), requires_grad=True)
    t0 = (w[0] * x[0]).retain_grad()
    t1 = (w[1] * x[1]).retain_grad()
    t01 = (t0 + t1).retain_grad()
    t012 = (t01 + w[2]).retain_grad()
    nt = (-t012).retain_grad()
    e = ops.exp(nt).retain_grad()
    denom = (e + 1).retain_grad()
    f = 1 / denom
    f.backward()
    # forward values on the slide's graph
    assert (t0.item(), t1.item(), t012.item(), nt.item()) == (0.0, 6.0, 3.0, -3.0)
    assert f.item() == pytest.approx(1 / (1 + np.exp(-3.0)))  # 0.9526
    # every local gradient, in the slide's order
    ddenom = -1 / denom.item() ** 2
    assert denom.grad == pytest.approx(ddenom)
    assert e.grad == pytest.approx(1 * ddenom)
    dnt = np.exp(nt.item()) * e.grad
    assert nt.grad == pytest.approx(dnt)
    assert t012.grad == pytest.approx(-dnt)
    assert t01.grad == pytest.approx(t012.grad) and t0.grad == pytest.approx(t01.grad) and t1.grad == pytest.approx(t01.grad)
    np.testing.assert_allclose(w.grad, [x.numpy()[0] * t0.grad, x.numpy()[1] * t1.grad, t012.grad])
    np.testing.assert_allclose(x.grad, [w.numpy()[0] * t0.grad, w.numpy()[1] * t1.grad])
    # and the sigmoid shortcut: df/dz = f (1 - f) = 0.0452
    np.testing.assert_allclose(w.grad, [-0.0452, -0.0904, 0.0452], atol=1e-4)
    np.testing.assert_allclose(x.grad, [0.0, -0.1355], atol=1e-4)


def test_tracers_see_every_op_recorded_or_not_with_its_arguments():
    from glassnet import autograd
    seen = []

    def tracer(op, inputs, kwargs, out):
        seen.append((op.name, [t.shape for t in inputs], dict(kwargs), out.requires_grad, out.shape))

    x = gn.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    autograd.tracers.append(tracer)
    try:
        y = ops.sum(x * 2.0, axis=1)
        with gn.no_grad():
            ops.exp(x)
    finally:
        autograd.tracers.remove(tracer)
    ops.exp(x)  # removed: no longer called
    assert [s[0] for s in seen] == ["multiply", "sum", "exp"]
    assert seen[0][1] == [(2, 3), ()] and seen[1][2] == {"axes": (1,), "keepdims": False}
    assert [s[3] for s in seen] == [True, True, False] and seen[1][4] == y.shape == (2,)


def _conv_graph(seed=0):
    rng = np.random.default_rng(seed)
    x = gn.tensor(rng.standard_normal((2, 6, 6, 3)), requires_grad=True)
    w = gn.tensor(rng.standard_normal((3, 3, 3, 4)), requires_grad=True)
    y = ops.sum(ops.relu(ops.conv(x, w)) * ops.tanh(ops.conv(x, w)))
    return x, w, y


def test_retain_graph_false_gives_the_same_gradients_and_frees_saved_arrays():
    from glassnet import autograd
    x1, w1, y1 = _conv_graph()
    y1.backward()
    x2, w2, y2 = _conv_graph()
    conv_ops = [t._op for t in autograd.topological_order(y2) if t._op.name == "conv"]
    assert conv_ops and all(getattr(op, "cols", None) is not None for op in conv_ops)
    y2.backward(retain_graph=False)
    np.testing.assert_array_equal(x1.grad, x2.grad)
    np.testing.assert_array_equal(w1.grad, w2.grad)
    assert all(getattr(op, "cols", None) is None for op in conv_ops)  # the im2col patches are gone
    assert all(len(op.inputs) == 2 for op in conv_ops)  # the graph's structure stays


def test_second_backward_after_release_is_a_clear_error_and_retained_graphs_accumulate():
    x, w, y = _conv_graph()
    y.backward()
    first = w.grad.copy()
    y.backward(retain_graph=False)  # the default kept the graph: a second pass adds up
    np.testing.assert_allclose(w.grad, 2 * first)
    with pytest.raises(RuntimeError, match="saved arrays were released by an earlier backward with retain_graph=False"):
        y.backward()
