"""Embedding and Masking: lookups, gradients, masks, errors, Keras parity."""
import warnings

import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers
IDS = np.array([[1, 4, 0, 4], [3, 0, 0, 2]])


def test_lookup_shape_and_values():
    layer = L.Embedding(5, 3)
    out = layer(IDS)
    assert out.shape == (2, 4, 3) and out.dtype == np.float32
    table = layer.get_weights()[0]
    np.testing.assert_array_equal(out.numpy(), table[IDS])
    assert [w.path for w in layer.weights] == [f"{layer.name}/embeddings"]
    assert np.abs(table).max() <= 0.05  # Keras' "uniform": RandomUniform(-0.05, 0.05)
    assert L.Embedding(5, 3).compute_output_shape((None, 7)) == (None, 7, 3)


def test_gradient_sums_repeated_ids():
    layer = L.Embedding(5, 2, dtype="float64")
    out = layer(IDS)
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(g)
    want = np.zeros((5, 2))
    np.add.at(want, IDS, g)
    np.testing.assert_allclose(layer.embeddings.grad, want)


def test_gradcheck_float64():
    layer = L.Embedding(6, 3, dtype="float64")
    layer.build()
    table = layer.embeddings

    def f(dummy):
        return layer(IDS) * dummy

    assert gn.gradcheck(f, np.ones((1, 1, 3)), params=[table])


def test_float_ids_are_truncated_like_keras():
    layer = L.Embedding(5, 2)
    np.testing.assert_array_equal(layer(IDS.astype("float32")).numpy(), layer(IDS).numpy())


def test_mask_zero():
    layer = L.Embedding(5, 3, mask_zero=True)
    out = layer(IDS)
    np.testing.assert_array_equal(out._keras_mask, IDS != 0)
    assert L.Embedding(5, 3)(IDS)._keras_mask is None
    np.testing.assert_array_equal(layer.compute_mask(IDS), IDS != 0)


def test_out_of_range_ids_name_layer_id_and_input_dim():
    layer = L.Embedding(5, 3, name="words")
    with pytest.raises(IndexError, match=r'"words".*id 7.*input_dim=5'):
        layer(np.array([[1, 7]]))
    with pytest.raises(IndexError, match=r"id -1"):
        layer(np.array([[-1, 2]]))


def test_arguments():
    with pytest.raises(ValueError, match="input_dim"):
        L.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        L.Embedding(3, True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        L.Embedding(3, 2, input_length=10)
    assert any("input_length" in str(w.message) for w in caught)
    table = np.arange(6, dtype="float32").reshape(3, 2)
    layer = L.Embedding(3, 2, weights=[table])
    np.testing.assert_array_equal(layer(np.array([[2]])).numpy()[0, 0], table[2])
    config = layer.get_config()
    assert {k: config[k] for k in ("input_dim", "output_dim", "mask_zero")} == {"input_dim": 3, "output_dim": 2, "mask_zero": False}
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert L.Embedding.from_config(config).get_config() == config


def test_matches_keras():
    k = keras_or_skip()
    assert_matches_keras(L.Embedding(5, 3), k.layers.Embedding(5, 3), IDS)


def test_masking_layer():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]], "float32")
    layer = L.Masking()
    out = layer(x)
    np.testing.assert_array_equal(out._keras_mask, [[True, False, True]])
    np.testing.assert_array_equal(out.numpy(), x)
    y = L.Masking(mask_value=2.0)(np.array([[[2.0, 2.0], [2.0, 1.0]]], "float32"))
    np.testing.assert_array_equal(y._keras_mask, [[False, True]])
    np.testing.assert_array_equal(y.numpy(), [[[0.0, 0.0], [2.0, 1.0]]])
    assert L.Masking(mask_value=-1.0).get_config()["mask_value"] == -1.0


def test_masking_then_lstm_matches_keras():
    import torch
    k = keras_or_skip()
    x = np.random.default_rng(0).standard_normal((3, 5, 2)).astype("float32")
    x[0, 3:] = 0
    x[1, :2] = 0
    g = gn.Sequential([L.Masking(), L.LSTM(4, return_sequences=True)])
    km = k.Sequential([k.layers.Masking(), k.layers.LSTM(4, return_sequences=True)])
    out = g(x)
    km(torch.tensor(x))
    km.set_weights(g.get_weights())
    np.testing.assert_allclose(out.numpy(), km(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out._keras_mask, np.any(x != 0, axis=-1))


def test_keras_config_loads():
    from glassnet.layers.serialization import deserialize_layer
    k = keras_or_skip()
    layer = deserialize_layer(k.saving.serialize_keras_object(k.layers.Embedding(7, 2, mask_zero=True)))
    assert (layer.input_dim, layer.output_dim, layer.mask_zero) == (7, 2, True)
