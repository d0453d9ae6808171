"""Reshape, Permute, RepeatVector and Lambda."""
import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers


def test_reshape_shapes_eager_and_symbolic(rng):
    x = rng.standard_normal((2, 12)).astype(np.float32)
    assert L.Reshape((3, 4))(x).shape == (2, 3, 4)
    assert L.Reshape((-1, 2))(x).shape == (2, 6, 2)
    np.testing.assert_array_equal(L.Reshape((4, 3))(x).numpy(), x.reshape(2, 4, 3))
    assert L.Reshape((2, -1))(gn.Input((3, 4))).shape == (None, 2, 6)
    assert L.Reshape((-1,))(gn.Input((None, 4))).shape == (None, None)
    assert L.Reshape((3, 4)).compute_output_shape((None, 12)) == (None, 3, 4)
    assert L.Reshape((-1, 4)).compute_output_shape((None, None, 4)) == (None, None, 4)


def test_reshape_errors_name_layer_input_and_target():
    layer = L.Reshape((5, 3), name="to_grid")
    with pytest.raises(ValueError, match=r'Reshape "to_grid".*\(None, 12\).*\(5, 3\)'):
        layer(np.zeros((2, 12)))
    with pytest.raises(ValueError, match=r"\(None, 3, 4\).*\(5, -1\)"):
        L.Reshape((5, -1))(gn.Input((3, 4)))
    with pytest.raises(ValueError, match="at most one"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match="non-negative"):
        L.Reshape((-2, 3))


def test_permute_and_repeat_vector(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    y = L.Permute((3, 1, 2))(x)
    np.testing.assert_array_equal(y.numpy(), x.transpose(0, 3, 1, 2))
    assert L.Permute((2, 1))(gn.Input((None, 7))).shape == (None, 7, None)
    with pytest.raises(ValueError, match="permutation of 1..2"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match="expected ndim=3"):
        L.Permute((2, 1))(x)
    v = rng.standard_normal((2, 3)).astype(np.float32)
    r = L.RepeatVector(4)(v).numpy()
    assert r.shape == (2, 4, 3)
    np.testing.assert_array_equal(r[:, 2], v)
    assert L.RepeatVector(5)(gn.Input((3,))).shape == (None, 5, 3)
    with pytest.raises(TypeError, match="integer"):
        L.RepeatVector(2.5)
    with pytest.raises(ValueError, match="positive"):
        L.RepeatVector(0)
    with pytest.raises(ValueError, match="expected ndim=2"):
        L.RepeatVector(2)(x)


@pytest.mark.parametrize("layer,shape", [(lambda d: L.Reshape((2, -1), dtype=d), (3, 4, 3)),
                                         (lambda d: L.Permute((2, 3, 1), dtype=d), (2, 3, 4, 2)),
                                         (lambda d: L.RepeatVector(3, dtype=d), (2, 4)),
                                         (lambda d: L.Lambda(lambda t: t * t + 1, dtype=d), (2, 3))])
def test_gradcheck(rng, layer, shape):
    lay = layer("float64")
    assert gn.gradcheck(lambda t: lay(t, training=True), rng.standard_normal(shape))


def test_lambda_calls_function_with_arguments_mask_and_training():
    def scale(x, factor, training=None):
        return x * (factor if training else 1.0)
    layer = L.Lambda(scale, arguments={"factor": 3.0})
    x = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(layer(x, training=True).numpy(), 3 * x)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    assert L.Lambda(lambda t: t[:, :2])(gn.Input((5, 3))).shape == (None, 2, 3)
    seen = {}

    def keep_mask(x, mask=None):
        seen["mask"] = mask
        return x
    mask = np.array([[True, False]])
    out = L.Lambda(keep_mask, mask=lambda inputs, m: m)(np.ones((1, 2, 3), np.float32), mask=mask)
    np.testing.assert_array_equal(seen["mask"], mask)
    np.testing.assert_array_equal(out._keras_mask, mask)
    assert L.Lambda(lambda t: t, output_shape=(4,)).compute_output_shape((None, 4)) == (None, 4)


def double(x):
    return x * 2


def test_lambda_config_names_the_function_and_never_its_code():
    layer = L.Lambda(double, output_shape=(3,), arguments={})
    config = layer.get_config()
    assert config["function"]["config"] == "double" and config["function"]["class_name"] == "function"
    assert "code" not in str(config)
    with pytest.raises(ValueError, match=r"custom_objects=\{'double': double\}"):
        L.Lambda.from_config(config)
    clone = L.Lambda.from_config(config, custom_objects={"double": double})
    np.testing.assert_array_equal(clone(np.ones((1, 3), np.float32)).numpy(), 2)
    anonymous = L.Lambda(lambda t: t).get_config()
    with pytest.raises(ValueError, match="define it with `def`"):
        L.Lambda.from_config(anonymous)
    keras_bytecode = dict(config, function={"class_name": "__lambda__", "config": {"code": "4wEAAA=="}})
    with pytest.raises(ValueError, match="never runs code"):
        L.Lambda.from_config(keras_bytecode, custom_objects={"double": double})
    builtin = L.Lambda.from_config(L.Lambda(gn.activations.relu).get_config())
    assert builtin.function is gn.activations.relu


@pytest.mark.parametrize("name,args,shape", [("Reshape", ((2, -1),), (2, 3, 4)), ("Permute", ((2, 1),), (2, 3, 4)),
                                             ("RepeatVector", (3,), (2, 5))])
def test_matches_keras(rng, name, args, shape):
    keras = keras_or_skip()
    x = rng.standard_normal(shape).astype(np.float32)
    assert_matches_keras(getattr(L, name)(*args), getattr(keras.layers, name)(*args), x)


def test_configs_round_trip():
    for layer in (L.Reshape((2, -1)), L.Permute((2, 1)), L.RepeatVector(3)):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": clone.name}
