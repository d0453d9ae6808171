"""Normalization (adapt, given statistics, invert) and Rescaling."""
import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip


def test_normalization_adapt_standardises_features(rng):
    data = (rng.standard_normal((100, 3)) * [1, 5, 10] + [0, 3, -7]).astype(np.float32)
    norm = gn.layers.Normalization()
    norm.adapt(data)
    assert [w.name for w in norm.weights] == ["mean", "variance", "count"]
    assert norm.trainable_weights == []
    np.testing.assert_allclose(norm.adapt_mean.numpy(), data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.adapt_variance.numpy(), data.var(0), rtol=1e-5)
    y = norm(data).numpy()
    assert y.shape == (100, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, rtol=1e-4)


def test_normalization_adapt_in_batches_equals_whole(rng):
    data = rng.standard_normal((90, 4, 2)) * 3 + 1
    whole, batched = gn.layers.Normalization(axis=-1), gn.layers.Normalization(axis=-1)
    whole.adapt(data)
    batched.adapt([data[:10], data[10:55], data[55:]])
    np.testing.assert_allclose(batched.adapt_mean.numpy(), whole.adapt_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(batched.adapt_variance.numpy(), whole.adapt_variance.numpy(), rtol=1e-5)
    both = gn.layers.Normalization(axis=(1, 2))
    both.adapt(data)
    assert both.adapt_mean.shape == (4, 2)
    scalar = gn.layers.Normalization(axis=None)
    scalar.adapt(data)
    assert scalar.adapt_mean.shape == ()
    np.testing.assert_allclose(scalar.adapt_mean.numpy(), data.mean(), rtol=1e-5)


def test_normalization_given_statistics_and_invert(rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    norm = gn.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25])
    y = norm(x).numpy()
    np.testing.assert_allclose(y, (x - [1, 2, 3]) / [2, 1, 0.5], rtol=1e-6)
    assert norm.weights == []
    inv = gn.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25], invert=True)
    np.testing.assert_allclose(inv(y).numpy(), x, rtol=1e-5, atol=1e-6)
    scalar = gn.layers.Normalization(mean=2.0, variance=4.0)
    np.testing.assert_allclose(scalar(x).numpy(), (x - 2) / 2, rtol=1e-6)
    zero_var = gn.layers.Normalization(mean=0.0, variance=0.0)   # divides by max(std, 1e-7)
    assert np.isfinite(zero_var(x).numpy()).all()
    ints = gn.layers.Normalization(mean=1.0, variance=1.0)(np.arange(4).reshape(2, 2))
    assert ints.dtype == np.float32
    assert gn.layers.Normalization(mean=0.0, variance=1.0)(gn.Input((7,))).shape == (None, 7)


def test_normalization_gradcheck(rng):
    norm = gn.layers.Normalization(dtype="float64")
    norm.adapt(rng.standard_normal((20, 3)))
    assert gn.gradcheck(lambda t: norm(t), rng.standard_normal((4, 3)))


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        gn.layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        gn.layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    norm = gn.layers.Normalization(axis=3)
    with pytest.raises(ValueError, match="axis values must be in"):
        norm.adapt(np.zeros((4, 2)))
    assert not norm.built
    norm = gn.layers.Normalization()
    norm.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"built for inputs of shape \(None, 3\)"):
        norm.adapt(np.ones((4, 5)))
    with pytest.raises(ValueError, match="no data"):
        gn.layers.Normalization().adapt([])
    with pytest.raises(ValueError, match="fixed `mean`"):
        gn.layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((3, 2)))


def test_normalization_config_round_trip(rng):
    norm = gn.layers.Normalization(axis=-1, mean=[0.5, 1.5], variance=[1.0, 4.0], invert=True)
    config = norm.get_config()
    assert config["axis"] == [-1] and config["mean"] == [0.5, 1.5] and config["invert"] is True
    clone = gn.layers.Normalization.from_config(config)
    x = rng.standard_normal((3, 2)).astype(np.float32)
    np.testing.assert_array_equal(clone(x).numpy(), norm(x).numpy())
    adapted = gn.layers.Normalization()
    adapted.adapt(rng.standard_normal((10, 2)))
    copy = gn.layers.Normalization.from_config(adapted.get_config())
    copy.build((None, 2))
    copy.set_weights(adapted.get_weights())
    np.testing.assert_array_equal(copy(x).numpy(), adapted(x).numpy())


@pytest.mark.parametrize("invert", [False, True])
def test_normalization_matches_keras(rng, invert):
    keras = keras_or_skip()
    data = (rng.standard_normal((50, 4)) * 3 + 2).astype(np.float32)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    norm = gn.layers.Normalization(invert=invert)
    norm.adapt(data)
    knorm = keras.layers.Normalization(invert=invert)
    knorm.adapt(data)
    np.testing.assert_allclose(norm.get_weights()[0], knorm.get_weights()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(norm.get_weights()[1], knorm.get_weights()[1], rtol=1e-5)
    assert_matches_keras(norm, knorm, x)


# ---- Rescaling ------------------------------------------------------------------------------
def test_rescaling_maps_pixels_and_outputs_floats():
    pixels = np.array([[0, 127, 255]], np.uint8)
    y = gn.layers.Rescaling(1 / 255)(pixels)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [[0, 127 / 255, 1]], rtol=1e-6)
    y = gn.layers.Rescaling(1 / 127.5, offset=-1)(pixels).numpy()
    np.testing.assert_allclose(y, [[-1, 127 / 127.5 - 1, 1]], rtol=1e-6, atol=1e-7)
    per_channel = gn.layers.Rescaling([1.0, 2.0, 3.0])(np.ones((2, 2, 3), np.float32))
    np.testing.assert_array_equal(per_channel.numpy()[0, 0], [1, 2, 3])
    assert gn.layers.Rescaling(0.5)(gn.Input((4, 4, 3))).shape == (None, 4, 4, 3)


def test_rescaling_gradcheck_config_and_errors(rng):
    layer = gn.layers.Rescaling(0.5, offset=2.0, dtype="float64")
    assert gn.gradcheck(lambda t: layer(t), rng.standard_normal((2, 3)))
    config = gn.layers.Rescaling(np.array([0.5, 2.0]), offset=1).get_config()
    assert config["scale"] == [0.5, 2.0] and config["offset"] == 1
    clone = gn.layers.Rescaling.from_config(config)
    np.testing.assert_allclose(clone(np.ones((1, 2), np.float32)).numpy(), [[1.5, 3.0]])
    with pytest.raises(TypeError, match="scale"):
        gn.layers.Rescaling("big")


def test_rescaling_matches_keras(rng):
    keras = keras_or_skip()
    x = rng.uniform(0, 255, (2, 3, 3, 2)).astype(np.float32)
    assert_matches_keras(gn.layers.Rescaling(1 / 127.5, offset=-1), keras.layers.Rescaling(1 / 127.5, offset=-1), x)
