"""gn.explain on activations (value in -> out, derivative) and on Dense neurons (seed 001)."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.explainer import explain
from tests.explainer import parse_html


def test_relu_values_and_derivatives():
    exp = explain(gn.ops.relu, [-2.0, -0.5, 0.0, 1.5])
    assert [(s["input"], s["output"], s["derivative"]) for s in exp.steps] == \
        [(-2, 0, 0), (-0.5, 0, 0), (0, 0, 0), (1.5, 1.5, 1)]
    text = str(exp)
    assert "f(x) = max(0, x);  f'(x) = 1 if x > 0 else 0" in text
    assert "relu'(x)" in text


def test_sigmoid_derivative_is_s_times_one_minus_s():
    x = np.array([-3.0, 0.0, 3.0])
    exp = explain("sigmoid", x)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose([st["output"] for st in exp.steps], s)
    np.testing.assert_allclose([st["derivative"] for st in exp.steps], s * (1 - s))
    assert "0.04518" in str(exp) and "0.9526" in str(exp)        # sigma(3) and sigma'(3)
    assert "f(x) = 1 / (1 + e^-x);  f'(x) = f(x) (1 - f(x))" in str(exp)


def test_activation_layers():
    tanh = explain(gn.layers.Activation("tanh"), [[0.0, 1.0]])
    np.testing.assert_allclose([s["derivative"] for s in tanh.steps], [1, 1 - np.tanh(1) ** 2], rtol=1e-6)
    leaky = explain(gn.layers.LeakyReLU(negative_slope=0.1), [[-2.0, 3.0]])
    np.testing.assert_allclose([s["output"] for s in leaky.steps], [-0.2, 3], rtol=1e-6)
    np.testing.assert_allclose([s["derivative"] for s in leaky.steps], [0.1, 1], rtol=1e-6)
    assert 'LeakyReLU "' in leaky.title


def test_softmax_exponentials_and_normalisation():
    exp = explain(gn.ops.softmax, [1.0, 2.0, 3.0])
    (step,) = exp.steps
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(step["exp"], e)
    assert step["sum"] == pytest.approx(e.sum())
    np.testing.assert_allclose(step["probabilities"], e / e.sum())
    p = e / e.sum()
    np.testing.assert_allclose(step["jacobian"], np.diag(p) - np.outer(p, p))
    text = str(exp)
    assert "sum of e^z = 30.19" in text and "0.6652" in text and "20.09" in text


def test_large_input_is_summarised(rng):
    x = rng.normal(size=(28, 28))
    exp = explain(gn.ops.relu, x)
    text = str(exp)
    assert "shape (28, 28), min " in text and "(8 of 784)" in text
    assert len(text.splitlines()) < 60
    assert len(exp.steps) == 16 and "first 16 of 784 elements" in text
    parse_html(exp._repr_html_())


def _seed001_neuron(activation="tanh"):
    layer = gn.layers.Dense(1, activation=activation)
    layer(np.zeros((1, 4), np.float32))
    layer.set_weights([np.array([[-0.2], [0.0], [0.8], [-0.5]], np.float32), np.zeros(1, np.float32)])
    return layer


def test_seed001_four_pixel_neuron_sums_and_squashes():
    layer = _seed001_neuron()
    exp = explain(layer, [0.5, 0.0, -0.75, 0.75])
    (step,) = exp.steps
    np.testing.assert_allclose(step["products"], [-0.1, 0, -0.6, -0.375], rtol=1e-6)
    assert step["sum"] == pytest.approx(-1.075, abs=1e-6)
    assert step["pre_activation"] == pytest.approx(-1.075, abs=1e-6)
    assert step["output"] == pytest.approx(np.tanh(-1.075), abs=1e-6)
    assert -1 < step["output"] < 1          # "the answer stays between -1 and 1"
    assert step["derivative"] == pytest.approx(1 - np.tanh(-1.075) ** 2, abs=1e-6)
    np.testing.assert_allclose(exp.result, layer(np.array([[0.5, 0, -0.75, 0.75]], np.float32)).numpy())
    text = str(exp)
    assert "sum = -0.1 + 0 - 0.6 - 0.375 = -1.075" in text
    assert "squash: tanh(-1.075) = -0.7913" in text
    for row in ("0.5  ×    -0.2  =        -0.1", "-0.75  ×     0.8  =        -0.6"):
        assert row in text
    page = parse_html(exp._repr_html_())
    assert "-1.075" in page.text and "-0.375" in page.text


def test_dense_softmax_and_units(rng):
    layer = gn.layers.Dense(3, activation="softmax")
    x = rng.normal(size=(2, 5)).astype(np.float32)
    exp = explain(layer, x, sample=1, units=[2])
    (step,) = exp.steps
    W, b = layer.kernel.numpy().astype(np.float64), layer.bias.numpy()
    assert step["sum"] == pytest.approx(float(x[1].astype(np.float64) @ W[:, 2]), rel=1e-6)
    z = x[1].astype(np.float64) @ W + b
    assert step["output"] == pytest.approx(np.exp(z[2]) / np.exp(z).sum(), rel=1e-5)
    assert "softmax across the 3 units" in str(exp)


def test_dense_with_many_inputs_lists_the_largest_products(rng):
    layer = gn.layers.Dense(2)
    x = rng.normal(size=(1, 100)).astype(np.float32)
    exp = explain(layer, x, max_cells=1)
    text = str(exp)
    assert "the 8 largest of 100 products" in text and "sum of the 100 products" in text
    assert "Expanded 1 of 2 units" in text
    assert len(exp.steps[0]["products"]) == 100
