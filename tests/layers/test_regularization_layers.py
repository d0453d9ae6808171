"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, ActivityRegularization."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import random as gn_random
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers


@pytest.mark.parametrize("cls,shape", [(L.SpatialDropout1D, (40, 30, 25)), (L.SpatialDropout2D, (20, 6, 7, 30)),
                                       (L.SpatialDropout3D, (10, 3, 4, 5, 30))])
def test_spatial_dropout_drops_whole_feature_maps(cls, shape):
    x = np.ones(shape, np.float32)
    layer = cls(0.3, seed=1)
    y = layer(x, training=True).numpy()
    assert y.shape == shape and y.dtype == np.float32
    space = tuple(range(1, len(shape) - 1))
    first = y[(slice(None),) + (slice(0, 1),) * len(space)]
    assert (y == first).all()                               # constant over space / time
    keep = first != 0
    assert abs(keep.mean() - 0.7) < 0.05                    # mean of mask ~ 1 - rate
    np.testing.assert_allclose(np.unique(y), [0, 1 / 0.7], rtol=1e-6)
    assert layer(x, training=False) is not None
    np.testing.assert_array_equal(layer(x).numpy(), x)      # identity at inference
    assert cls(0.5)(gn.Input(shape[1:])).shape == (None,) + shape[1:]


def test_spatial_dropout_channels_first_and_errors():
    x = np.ones((50, 20, 3, 3), np.float32)
    y = L.SpatialDropout2D(0.5, data_format="channels_first", seed=0)(x, training=True).numpy()
    assert (y == y[:, :, :1, :1]).all()
    with pytest.raises(ValueError, match="expected ndim=3"):
        L.SpatialDropout1D(0.5)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rate"):
        L.SpatialDropout2D(1.5)
    with pytest.raises(ValueError, match="data_format"):
        L.SpatialDropout2D(0.5, data_format="nhwc")


def test_spatial_dropout_seed_repeats_and_follows_global_seed():
    x = np.ones((8, 4, 6), np.float32)
    a = L.SpatialDropout1D(0.5, seed=3)(x, training=True).numpy()
    b = L.SpatialDropout1D(0.5, seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    state = gn_random.get_state()
    try:
        gn_random.set_seed(9)
        c = L.SpatialDropout1D(0.5)(x, training=True).numpy()
        gn_random.set_seed(9)
        np.testing.assert_array_equal(L.SpatialDropout1D(0.5)(x, training=True).numpy(), c)
    finally:
        gn_random.set_state(state)


def test_gaussian_noise_statistics_and_inference_identity():
    x = np.zeros((200, 100), np.float32)
    layer = L.GaussianNoise(0.5, seed=0)
    y = layer(x, training=True).numpy()
    assert y.dtype == np.float32
    assert abs(y.mean()) < 0.01 and abs(y.std() - 0.5) < 0.01
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(L.GaussianNoise(0.0)(x, training=True).numpy(), x)
    with pytest.raises(ValueError, match="stddev"):
        L.GaussianNoise(-1)


def test_gaussian_dropout_statistics_and_inference_identity():
    x = np.ones((200, 100), np.float32)
    layer = L.GaussianDropout(0.2, seed=0)
    y = layer(x, training=True).numpy()
    assert abs(y.mean() - 1) < 0.01                         # expectation preserved
    assert abs(y.std() - np.sqrt(0.2 / 0.8)) < 0.01
    np.testing.assert_array_equal(layer(x).numpy(), x)
    with pytest.raises(ValueError, match="rate"):
        L.GaussianDropout(1.0)


@pytest.mark.parametrize("make", [lambda d: L.SpatialDropout1D(0.4, dtype=d), lambda d: L.GaussianNoise(0.3, dtype=d),
                                  lambda d: L.GaussianDropout(0.3, dtype=d),
                                  lambda d: L.ActivityRegularization(0.1, 0.2, dtype=d)])
def test_gradcheck_with_a_fixed_draw(rng, make):
    layer = make("float64")
    x = rng.standard_normal((3, 4, 5))

    def f(t):
        layer._rng = np.random.default_rng(5)   # the same noise for every evaluation
        return layer(t, training=True)
    assert gn.gradcheck(f, x)


def test_activity_regularization_adds_the_penalty(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    layer = L.ActivityRegularization(l1=0.1, l2=0.01)
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), x)
    assert len(layer.losses) == 1
    # Keras 3 divides activity penalties by the batch size (checked against keras 3.15.1)
    expected = (0.1 * np.abs(x).sum() + 0.01 * (x ** 2).sum()) / len(x)
    np.testing.assert_allclose(float(layer.losses[0].numpy()), expected, rtol=1e-5)
    xt = gn.tensor(x, requires_grad=True)
    layer(xt)
    layer.losses[0].backward()
    np.testing.assert_allclose(xt.grad, (0.1 * np.sign(x) + 0.02 * x) / len(x), rtol=1e-5)
    config = layer.get_config()
    assert config["l1"] == 0.1 and config["l2"] == 0.01 and "activity_regularizer" not in config
    assert L.ActivityRegularization.from_config(config).l1 == 0.1


def test_configs_round_trip():
    for layer in (L.SpatialDropout1D(0.2, seed=1), L.SpatialDropout2D(0.3, data_format="channels_first"),
                  L.GaussianNoise(0.1, seed=2), L.GaussianDropout(0.4)):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": clone.name}
    assert "data_format" not in L.SpatialDropout1D(0.2).get_config()


@pytest.mark.parametrize("name,args", [("SpatialDropout1D", (0.5,)), ("SpatialDropout2D", (0.5,)),
                                       ("GaussianNoise", (0.3,)), ("GaussianDropout", (0.3,)),
                                       ("ActivityRegularization", (0.1, 0.1))])
def test_inference_matches_keras(rng, name, args):
    keras = keras_or_skip()
    shape = (2, 3, 4, 5) if name == "SpatialDropout2D" else (2, 3, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    assert_matches_keras(getattr(L, name)(*args), getattr(keras.layers, name)(*args), x, training=False)
