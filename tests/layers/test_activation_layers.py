"""ReLU, LeakyReLU, PReLU, ELU, Softmax and Maxout layers."""
import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers


def _away_from_kinks(rng, shape, kinks=(0.0,)):
    """Random values at least 0.05 from every kink, so central differences are exact."""
    x = rng.standard_normal(shape) * 2
    for k in kinks:
        close = np.abs(x - k) < 0.05
        x[close] = k + 0.1
    return x


def test_relu_options():
    x = np.array([-10, -5, 0.0, 1, 5, 10], np.float32)[None]
    np.testing.assert_array_equal(L.ReLU()(x).numpy(), [[0, 0, 0, 1, 5, 10]])
    np.testing.assert_array_equal(L.ReLU(max_value=5)(x).numpy(), [[0, 0, 0, 1, 5, 5]])
    np.testing.assert_array_equal(L.ReLU(negative_slope=0.5)(x).numpy(), [[-5, -2.5, 0, 1, 5, 10]])
    np.testing.assert_array_equal(L.ReLU(threshold=5)(x).numpy(), [[0, 0, 0, 0, 0, 10]])
    assert L.ReLU()(gn.Input((3, 4))).shape == (None, 3, 4)


def test_leaky_relu_elu_values():
    x = np.array([[-2.0, 0.0, 3.0]], np.float32)
    np.testing.assert_allclose(L.LeakyReLU()(x).numpy(), [[-0.6, 0, 3]], rtol=1e-6)
    np.testing.assert_allclose(L.LeakyReLU(negative_slope=0.1)(x).numpy(), [[-0.2, 0, 3]], rtol=1e-6)
    with pytest.warns(UserWarning, match="alpha"):
        assert L.LeakyReLU(alpha=0.2).negative_slope == 0.2
    np.testing.assert_allclose(L.ELU(alpha=2.0)(x).numpy(), [[2 * (np.exp(-2) - 1), 0, 3]], rtol=1e-6)


def test_prelu_alpha_shapes_and_values(rng):
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    p = L.PReLU()
    y = p(x)
    assert p.alpha.shape == (4, 4, 3)
    np.testing.assert_array_equal(y.numpy(), np.maximum(x, 0))      # alpha starts at zero
    shared = L.PReLU(shared_axes=[1, 2], alpha_initializer="ones")
    shared(x)
    assert shared.alpha.shape == (1, 1, 3)
    np.testing.assert_allclose(shared(x).numpy(), x, rtol=1e-6)
    assert L.PReLU(shared_axes=1)(gn.Input((None, 5))).shape == (None, None, 5)
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[0])(x)
    with pytest.raises(ValueError, match="known size"):
        L.PReLU().build((None, None, 5))


def test_softmax_axis_and_mask():
    x = np.array([[1.0, 2.0, 1.0]], np.float32)
    np.testing.assert_allclose(L.Softmax()(x).numpy(), [[0.21194157, 0.5761169, 0.21194157]], rtol=1e-6)
    y = L.Softmax()(x, mask=np.array([[True, False, True]])).numpy()
    np.testing.assert_allclose(y, [[0.5, 0.0, 0.5]], rtol=1e-6)
    y = L.Softmax(axis=[1, 2])(np.zeros((2, 2, 2), np.float32)).numpy()
    np.testing.assert_allclose(y, 0.25, rtol=1e-6)
    y = L.Softmax(axis=1)(np.zeros((2, 4, 3), np.float32)).numpy()
    np.testing.assert_allclose(y.sum(1), 1, rtol=1e-6)
    with pytest.raises(ValueError, match="broadcastable"):
        L.Softmax()(x, mask=np.ones((1, 2), bool))


def test_maxout_is_the_lecture_formula(rng):
    # max(w1^T x + b1, w2^T x + b2) for each unit; columns u*pieces + p
    x = rng.standard_normal((5, 4)).astype(np.float32)
    m = L.Maxout(units=3, pieces=2, bias_initializer="random_normal")
    y = m(x).numpy()
    kernel, bias = m.get_weights()
    assert kernel.shape == (4, 6) and bias.shape == (6,) and y.shape == (5, 3)
    for u in range(3):
        pieces = [x @ kernel[:, u * 2 + p] + bias[u * 2 + p] for p in range(2)]
        np.testing.assert_allclose(y[:, u], np.maximum(*pieces), rtol=1e-5, atol=1e-6)
    assert L.Maxout(2, 3)(gn.Input((7, 4))).shape == (None, 7, 2)
    with pytest.raises(ValueError, match="pieces"):
        L.Maxout(2, 0)


@pytest.mark.parametrize("name,kwargs,kinks", [
    ("ReLU", {}, (0,)),
    ("ReLU", {"max_value": 1.5, "negative_slope": 0.2, "threshold": 0.5}, (0.5, 1.5)),
    ("LeakyReLU", {"negative_slope": 0.1}, (0,)),
    ("ELU", {"alpha": 0.7}, (0,)),
    ("PReLU", {"alpha_initializer": "random_uniform"}, (0,)),
    ("PReLU", {"shared_axes": [1], "alpha_initializer": "random_uniform"}, (0,)),
    ("Softmax", {}, ()),
    ("Softmax", {"axis": [1, 2]}, ()),
    ("Maxout", {"units": 3, "pieces": 2, "bias_initializer": "random_normal"}, ()),
])
def test_gradcheck_inputs_and_weights(rng, name, kwargs, kinks):
    layer = getattr(L, name)(dtype="float64", **kwargs)
    x = _away_from_kinks(rng, (3, 2, 4), kinks)
    layer(x)
    assert gn.gradcheck(lambda t: layer(t, training=True), x, params=layer.trainable_weights)


def test_masked_softmax_gradcheck(rng):
    layer = L.Softmax(dtype="float64")
    mask = rng.random((3, 5)) > 0.3
    mask[:, 0] = True
    assert gn.gradcheck(lambda t: layer(t, mask=mask), rng.standard_normal((3, 5)))


def test_errors_and_configs():
    with pytest.raises(ValueError, match="max_value"):
        L.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope"):
        L.LeakyReLU(negative_slope=-0.1)
    for layer in (L.ReLU(max_value=6.0, negative_slope=0.1), L.LeakyReLU(0.2), L.ELU(0.5), L.Softmax(axis=[1, 2]),
                  L.PReLU(shared_axes=[1]), L.Maxout(4, 3)):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": clone.name}


@pytest.mark.parametrize("name,kwargs", [
    ("ReLU", {}), ("ReLU", {"max_value": 1.0, "negative_slope": 0.3, "threshold": 0.4}),
    ("LeakyReLU", {}), ("ELU", {"alpha": 0.5}), ("PReLU", {"alpha_initializer": "random_uniform"}),
    ("PReLU", {"shared_axes": [1], "alpha_initializer": "random_uniform"}), ("Softmax", {}), ("Softmax", {"axis": 1}),
])
def test_matches_keras(rng, name, kwargs):
    keras = keras_or_skip()
    x = _away_from_kinks(rng, (3, 4, 5), (0.0, 0.4, 1.0)).astype(np.float32)
    assert_matches_keras(getattr(L, name)(**kwargs), getattr(keras.layers, name)(**kwargs), x)


def test_softmax_mask_matches_keras(rng):
    keras = keras_or_skip()
    x = rng.standard_normal((3, 5)).astype(np.float32)
    mask = rng.random((3, 5)) > 0.4
    assert_matches_keras(L.Softmax(), keras.layers.Softmax(), x, call_kwargs={"mask": mask}, grads=False)
