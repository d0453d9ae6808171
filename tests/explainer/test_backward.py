"""gn.explain of backward passes: seed 002's slide f = sigmoid(w0 x0 + w1 x1 + w2), step by step."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.explainer import explain
from tests.explainer import parse_html


def slide_graph(w, x):
    """Seed 002's slide, node by node, from primitive ops, with the slide's names."""
    def named(t, name):
        t.name = name
        return t
    t0 = named(w[0] * x[0], "t0")
    t1 = named(w[1] * x[1], "t1")
    t01 = named(t0 + t1, "t01")
    t012 = named(t01 + w[2], "t012")
    nt = named(-t012, "nt")
    e = named(gn.ops.exp(nt), "e")
    denom = named(e + 1, "denom")
    return named(1 / denom, "f")


def _by_label(exp):
    return {s["label"]: s for s in exp.steps}


def _local(node, wrt):
    """A node's local gradient d node / d wrt (None for constants such as the 1 in 1 + e)."""
    return node["local_gradients"][node["inputs"].index(wrt)]


def test_seed002_slide_values_and_local_gradients():
    # the seed's w = [0, -3, -3], x = [-1, -2]: t012 = 0*-1 + -3*-2 - 3 = 3, f = sigmoid(3)
    w = gn.tensor(np.array([0.0, -3.0, -3.0]), requires_grad=True)
    x = gn.tensor(np.array([-1.0, -2.0]), requires_grad=True)
    exp = explain.backward(slide_graph(w, x), names={"w": w, "x": x})
    n = _by_label(exp)
    s3 = 1 / (1 + np.exp(-3.0))
    denom = 1 + np.exp(-3.0)
    # forward values
    assert n["t0"]["value"] == 0 and n["t1"]["value"] == 6 and n["t01"]["value"] == 6
    assert n["t012"]["value"] == 3 and n["nt"]["value"] == -3
    assert n["e"]["value"] == pytest.approx(np.exp(-3.0))
    assert n["denom"]["value"] == pytest.approx(denom)
    assert n["f"]["value"] == pytest.approx(s3) == pytest.approx(0.9525741268)
    # each node's local gradient(s), as the slide's backward lines compute them
    assert _local(n["f"], "denom") == pytest.approx(-1 / denom ** 2)              # ddenom = -1/denom/denom
    assert n["f"]["inputs"] == ["1", "denom"] and _local(n["f"], "1") is None      # a constant: no gradient
    assert _local(n["denom"], "e") == 1                                          # de = 1 * ddenom
    assert _local(n["e"], "nt") == pytest.approx(np.exp(-3.0))                   # dnt = exp(nt) * de
    assert _local(n["nt"], "t012") == -1                                         # dt012 = -dnt
    assert n["t012"]["inputs"] == ["t01", "w[2]"] and n["t012"]["local_gradients"] == [1, 1]  # dt01, dw2
    assert n["t01"]["inputs"] == ["t0", "t1"] and n["t01"]["local_gradients"] == [1, 1]       # dt0, dt1
    assert n["t0"]["inputs"] == ["w[0]", "x[0]"] and n["t0"]["local_gradients"] == [-1, 0]   # x0, w0
    assert n["t1"]["inputs"] == ["w[1]", "x[1]"] and n["t1"]["local_gradients"] == [-2, -3]  # x1, w1
    # the gradient arriving at each node
    dt012 = s3 * (1 - s3)
    assert n["denom"]["gradient"] == pytest.approx(-1 / denom ** 2)               # ddenom = -0.9074
    assert n["e"]["gradient"] == pytest.approx(-1 / denom ** 2)                   # de
    assert n["nt"]["gradient"] == pytest.approx(-dt012)                           # dnt = -0.04518
    for label in ("t012", "t01", "t0", "t1", "w[2]"):
        assert n[label]["gradient"] == pytest.approx(dt012) == pytest.approx(0.0451766597)
    # every input's gradient
    np.testing.assert_allclose(exp.gradients["w"], [-dt012, -2 * dt012, dt012])   # [-0.04518, -0.09035, 0.04518]
    np.testing.assert_allclose(exp.gradients["x"], [0.0, -3 * dt012])              # [0, -0.1355]
    text = str(exp)
    for number in ("0.9526", "-0.9074", "0.04979", "-0.04518", "0.04518", "-0.09035", "-0.1355"):
        assert number in text
    for expression in ("= w[0] * x[0]", "= t0 + t1", "= t01 + w[2]", "= -t012", "= exp(nt)", "= e + 1", "= 1 / denom"):
        assert expression in text
    assert "[-0.04518, -0.09035, 0.04518]" in text and "[0, -0.1355]" in text
    page = parse_html(exp._repr_html_())
    assert "-0.9074" in page.text and "[0, -0.1355]" in page.text
    # nothing was written into .grad; the real backward agrees
    assert w.grad is None and x.grad is None
    slide_graph(w, x).backward()
    np.testing.assert_allclose(w.grad, exp.gradients["w"])
    np.testing.assert_allclose(x.grad, exp.gradients["x"])


def test_cs231n_numbers_through_a_plain_function():
    # CS231n's version of the same slide: w = [2, -3, -3] gives f = 0.73, dw = [-0.20, -0.39, 0.20]
    def f(w, x):
        return 1 / (1 + gn.ops.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
    exp = explain(f, [2, -3, -3], [-1, -2], mode="backward")
    assert exp.result == pytest.approx(0.7310585786)
    np.testing.assert_allclose(exp.gradients["w"], [-0.1966119, -0.3932239, 0.1966119], rtol=1e-6)
    np.testing.assert_allclose(exp.gradients["x"], [0.3932239, -0.5898358], rtol=1e-6)
    labels = [s["label"] for s in exp.steps]
    # inputs first, then the graph in topological order, left to right as written
    assert labels[:2] == ["w", "x"] and labels[-1] == "f"
    order = [l for l in labels if l.startswith(("w[", "x[", "t"))]
    assert order[:3] == ["w[0]", "x[0]", "t1"]
    assert "= w[0] * x[0]" in str(exp)
    two = explain(f, [2, -3, -3], [-1, -2], mode="backward", decimals=2)
    assert "0.73" in str(two) and "[-0.20, -0.39, 0.20]" in str(two)


def test_forks_add_up_and_tensor_entry_points():
    x = gn.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = (gn.ops.relu(x) * x).sum()
    a, b = explain(y, names={"x": x}), explain.backward(y, names={"x": x})
    np.testing.assert_array_equal(a.gradients["x"], [2, 0, 6])
    np.testing.assert_array_equal(b.gradients["x"], [2, 0, 6])
    assert "Forks (used more than once, so their gradients are sums): x" in str(a)
    mult = _by_label(a)["t2"]
    np.testing.assert_array_equal(mult["sent"][0], [1, -2, 3])    # to relu(x): d(r*x)/dr = x
    np.testing.assert_array_equal(mult["sent"][1], [1, 0, 3])     # to x: d(r*x)/dx = r
    fwd = explain(y, mode="forward")
    assert "Backward pass" not in str(fwd) and fwd.gradients == {}


def test_non_scalar_output_and_errors():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3
    with pytest.raises(ValueError, match="pass grad="):
        explain.backward(y)
    exp = explain.backward(y, grad=[1.0, 10.0], names={"x": x})
    np.testing.assert_array_equal(exp.gradients["x"], [3, 30])
    with pytest.raises(ValueError, match="no graph"):
        explain(gn.tensor([1.0, 2.0]))
    matmul = explain(lambda a, b: (a @ b).sum(), np.ones((2, 3)), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(matmul.gradients["b"], np.full((3, 2), 2.0))
    assert matmul.steps[-2]["local_gradients"] == [None, None]     # matmul: no elementwise local gradient


def test_a_layers_fused_op_is_spelled_out():
    dense = gn.layers.Dense(2, activation="relu")
    loss = gn.ops.sum(dense(gn.tensor(np.array([[1.0, -2.0, 0.5]], np.float32))))
    text = str(explain(loss))
    assert "matmul_bias_relu  = relu(const(1, 3) @ kernel + bias)" in text
    conv = gn.layers.Conv2D(2, 2)
    out = gn.ops.sum(conv(gn.tensor(np.ones((1, 3, 3, 1), np.float32))))
    assert "= conv(const(1, 3, 3, 1), kernel) + bias" in str(explain(out))
