"""gn.explain of losses (softmax + cross-entropy, ...) and of optimizer steps (SGD momentum, Adam, ...)."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.explainer import explain
from tests.explainer import parse_html


def test_softmax_cross_entropy_step_by_step():
    loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 0.1]])
    labels = np.array([2, 0])
    exp = explain(loss, labels, logits)
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    per_sample = -np.log(p[[0, 1], labels])
    for s, step in enumerate(exp.steps):
        np.testing.assert_allclose(step["exp"], e[s])                       # exponentials
        assert step["sum"] == pytest.approx(e[s].sum())                      # normalisation
        np.testing.assert_allclose(step["probabilities"], p[s])              # probabilities
        assert step["label"] == labels[s] and step["p_true"] == pytest.approx(p[s, labels[s]])
        assert step["loss"] == pytest.approx(per_sample[s])                  # -log p of the true class
        np.testing.assert_allclose(step["gradient"], (p[s] - np.eye(3)[labels[s]]) / 2, rtol=1e-6)
    assert exp.result == pytest.approx(per_sample.mean())
    assert exp.result == pytest.approx(float(loss(labels, logits)))
    text = str(exp)
    assert "sum of e^z = 30.19" in text and "true class 2: p = 0.6652;  -log p = -log(0.6652) = 0.4076" in text
    assert "loss = mean of the 2 per-sample losses [0.4076, 0.417] = 0.4123" in text
    page = parse_html(exp._repr_html_())
    assert "0.4123" in page.text and "20.09" in page.text


def test_other_losses():
    cce = explain("categorical_crossentropy", [[0, 1, 0]], [[0.2, 0.7, 0.1]])
    assert cce.result == pytest.approx(-np.log(0.7)) and cce.steps[0]["label"] == 1
    fn = explain(gn.losses.sparse_categorical_crossentropy, [1], [[0.5, 1.5]], from_logits=True)
    assert fn.result == pytest.approx(np.log1p(np.exp(-1.0)))
    mse = explain(gn.losses.MeanSquaredError(), [1.0, 2.0], [1.5, 1.0])
    assert mse.result == pytest.approx(0.625)
    assert [s["difference"] for s in mse.steps] == [0.5, -1] and [s["loss"] for s in mse.steps] == [0.25, 1]
    bce = explain(gn.losses.BinaryCrossentropy(), [[1.0, 0.0]], [[0.9, 0.2]])
    assert bce.result == pytest.approx((-np.log(0.9) - np.log(0.8)) / 2, rel=1e-6)
    huber = explain(gn.losses.Huber(), [[0.0, 0.0]], [[0.5, 3.0]])      # no worked form: still the value
    assert huber.result == pytest.approx((0.125 + 2.5) / 2)


def test_sgd_momentum_steps():
    w = gn.Variable(np.array([1.0, -2.0, 0.5], np.float32), name="w")
    g = np.array([0.5, -1.0, 0.0], np.float32)
    opt = gn.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    first = explain(opt, w, g, dry_run=False)
    np.testing.assert_allclose(first.data["slots_after"]["momentum"], [-0.05, 0.1, 0], rtol=1e-6)
    np.testing.assert_allclose(first.result, [0.95, -1.9, 0.5], rtol=1e-6)
    np.testing.assert_allclose(w.numpy(), [0.95, -1.9, 0.5], rtol=1e-6)        # the step was taken
    second = explain(opt, w, g, dry_run=False)
    s0 = second.steps[0]
    assert s0["slots_before"]["momentum"] == pytest.approx(-0.05)
    assert s0["slots_after"]["momentum"] == pytest.approx(0.9 * -0.05 - 0.1 * 0.5)   # v = mu v - lr g
    assert s0["before"] == pytest.approx(0.95) and s0["after"] == pytest.approx(0.95 - 0.095)
    assert s0["computed"] == pytest.approx(s0["after"], rel=1e-6)
    text = str(second)
    assert "v = momentum * v - learning_rate * g = 0.9 * [-0.05, 0.1, 0] - 0.1 * [0.5, -1, 0] = [-0.095, 0.19, 0]" in text
    assert "w = w + v = [0.95, -1.9, 0.5] + [-0.095, 0.19, 0] = [0.855, -1.71, 0.5]" in text
    assert "SGD step 2" in second.title and "equal the optimizer's own step" in text
    parse_html(second._repr_html_())


def test_adam_step_matches_the_formula():
    w = gn.Variable(np.array([1.0, -2.0], np.float64), name="w")
    opt = gn.optimizers.Adam(learning_rate=0.1)
    g = np.array([0.5, -1.0])
    exp = explain(opt, w, g, dry_run=False)
    m = 0.1 * g
    v = 0.001 * g * g
    lr = float(np.float32(0.1))              # the learning rate is a float32 variable, as in Keras
    lr_t = lr * np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = np.array([1.0, -2.0]) - lr_t * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(exp.result, expected, rtol=1e-12)
    np.testing.assert_allclose(exp.data["slots_after"]["momentum"], m)
    np.testing.assert_allclose(exp.data["slots_after"]["velocity"], v)
    np.testing.assert_allclose(exp.data["computed"], exp.result, rtol=1e-12)
    assert "lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)" in str(exp)


def test_dry_run_and_generic_slots():
    w = gn.Variable(np.array([1.0, -2.0], np.float32), name="w")
    opt = gn.optimizers.RMSprop(learning_rate=0.1)
    exp = explain(opt, w, [0.5, -1.0])                                         # dry run by default
    np.testing.assert_array_equal(w.numpy(), [1.0, -2.0])                       # put back
    assert int(opt.iterations.numpy()) == 0 and all(not np.any(v) for v in opt.get_state()[2:])
    np.testing.assert_allclose(exp.data["slots_after"]["velocity"], [0.025, 0.1], rtol=1e-6)
    np.testing.assert_allclose(exp.result, [1 - 0.1 * 0.5 / np.sqrt(0.025 + 1e-7),
                                            -2 + 0.1 / np.sqrt(0.1 + 1e-7)], rtol=1e-5)
    ada = explain(gn.optimizers.Adagrad(learning_rate=0.1), gn.Variable(np.array([1.0], np.float32)), [2.0])
    assert ada.steps[0]["slots_before"]["accumulator"] == pytest.approx(0.1)
    assert ada.steps[0]["slots_after"]["accumulator"] == pytest.approx(4.1)
    w.grad = np.array([1.0, 1.0], np.float32)
    plain = explain(gn.optimizers.SGD(0.5), w)                                  # gradient from .grad
    np.testing.assert_allclose(plain.result, [0.5, -2.5])
