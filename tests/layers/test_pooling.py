"""Pooling layers: shapes (eager and symbolic), gradients, numbers against Keras 3, masks,
configs, errors."""
import json

import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers

CASES = [
    ("MaxPooling2D", dict(), (2, 6, 4, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 6, 2)),
    ("MaxPooling2D", dict(pool_size=(2, 3), strides=(1, 2)), (1, 5, 7, 2)),
    ("MaxPooling2D", dict(pool_size=2, padding="valid"), (1, 5, 5, 2)),  # odd: last row/col dropped
    ("AveragePooling2D", dict(pool_size=2), (2, 6, 4, 3)),  # Keras 3 has no default pool_size here
    # "same" with an even total padding only: see test_average_pooling_same_asymmetric_padding
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 5, 2)),
    ("AveragePooling2D", dict(pool_size=(3, 2), strides=1), (1, 5, 4, 2)),
    ("MaxPooling1D", dict(), (2, 8, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 9, 2)),
    ("AveragePooling1D", dict(pool_size=3, strides=1, padding="same"), (2, 7, 2)),
    ("AveragePooling1D", dict(pool_size=2), (2, 7, 3)),
    ("GlobalMaxPooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalMaxPooling2D", dict(keepdims=True), (2, 3, 4, 2)),
    ("GlobalAveragePooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True), (2, 3, 4, 2)),
    ("GlobalMaxPooling1D", dict(), (2, 6, 3)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (2, 6, 3)),
    ("GlobalAveragePooling1D", dict(), (2, 6, 3)),
    ("GlobalAveragePooling1D", dict(keepdims=True), (2, 6, 3)),
]


def _id(case):
    name, kw, _ = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def _x(shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_keras(case):
    keras = keras_or_skip()
    name, kw, shape = case
    assert_matches_keras(getattr(L, name)(**kw), getattr(keras.layers, name)(**kw), _x(shape))


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_gradcheck(case):
    name, kw, shape = case
    layer = getattr(L, name)(**kw, dtype="float64")
    assert gn.gradcheck(lambda t: layer(t), _x(shape, "float64", seed=1))


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_output_shape_eager_symbolic_and_computed(case):
    name, kw, shape = case
    layer = getattr(L, name)(**kw)
    eager = layer(_x(shape)).shape
    symbolic = layer(gn.Input(shape=shape[1:])).shape
    assert symbolic == (None,) + eager[1:]
    assert tuple(layer.compute_output_shape((None,) + shape[1:])) == symbolic



@pytest.mark.parametrize("case", CASES, ids=_id)
def test_unknown_sizes_stay_unknown(case):
    name, kw, shape = case
    layer = getattr(L, name)(**kw)
    eager = layer(_x(shape)).shape
    free = (None,) * (len(shape) - 2) + shape[-1:]
    want = (None,) + tuple(None if n != 1 else 1 for n in eager[1:-1]) + eager[-1:]
    assert layer.compute_output_shape((None,) + free) == want
    symbolic = layer(gn.Input(shape=free)).shape
    if symbolic != want:
        # input_layer.symbolic_call infers shapes by running the layer on sizes 8 and 9,
        # which pool to the same size when the stride is 2 or more (see the report)
        pytest.xfail(f"base shape probe: {symbolic} instead of {want}")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_config_round_trip(case):
    name, kw, shape = case
    layer = getattr(L, name)(**kw)
    config = layer.get_config()
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert json.dumps(clone.get_config()) == json.dumps(config)
    x = _x(shape)
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize("case", CASES[::2], ids=_id)
def test_config_keys_and_values_match_keras(case):
    keras = keras_or_skip()
    name, kw, _ = case
    ours = json.loads(json.dumps(getattr(L, name)(**kw).get_config()))
    theirs = json.loads(json.dumps(getattr(keras.layers, name)(**kw).get_config()))
    assert set(theirs) <= set(ours)
    for key in set(theirs) - {"name", "dtype"}:
        assert ours[key] == theirs[key], key
    getattr(keras.layers, name).from_config(ours)


def test_max_pool_worked_example():
    """2x2 max pooling of a 4x4 feature map: the largest value of each quarter."""
    fmap = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], "float32")
    y = L.MaxPooling2D()(fmap[None, :, :, None]).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[6, 8], [3, 4]])
    y = L.AveragePooling2D()(fmap[None, :, :, None]).numpy()[0, :, :, 0]
    np.testing.assert_allclose(y, [[3.25, 5.25], [2, 2]])


def test_average_pooling_same_asymmetric_padding():
    """When "same" pads one cell more after than before, the mean is over the real cells only
    (TensorFlow's rule, which Keras documents). Keras' torch backend instead pads by repeating
    the edge value there, so it is checked by hand, not against Keras."""
    x = np.arange(6, dtype="float32").reshape(1, 6, 1)  # pool 3, stride 2: pads (0, 1)
    np.testing.assert_allclose(L.AveragePooling1D(3, 2, "same")(x).numpy()[0, :, 0], [1, 3, 4.5])
    img = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)  # pool 2, stride 1: pads (0, 1)
    y = L.AveragePooling2D(2, 1, "same")(img).numpy()[0, :, :, 0]
    assert y[3, 3] == 15 and y[3, 0] == (12 + 13) / 2 and y[0, 3] == (3 + 7) / 2 and y[0, 0] == 2.5


def test_global_average_pooling_1d_mask_matches_keras():
    keras = keras_or_skip()
    import torch

    x = _x((3, 5, 2))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    for keepdims in (False, True):
        ours = L.GlobalAveragePooling1D(keepdims=keepdims)(x, mask=mask).numpy()
        theirs = keras.layers.GlobalAveragePooling1D(keepdims=keepdims)(torch.tensor(x), mask=torch.tensor(mask))
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours[:, 0], np.stack([x[0, :3].mean(0), x[1].mean(0), x[2, :1].mean(0)]), rtol=1e-6)


def test_global_average_pooling_1d_mask_from_previous_layer_and_gradient():
    x = _x((2, 4, 3), "float64")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    layer = L.GlobalAveragePooling1D(dtype="float64")
    t = gn.tensor(x)
    t._keras_mask = mask  # what a masking layer (Embedding(mask_zero=True)) leaves on its output
    out = layer(t)
    np.testing.assert_allclose(out.numpy(), [x[0, :2].mean(0), x[1, :3].mean(0)])
    assert out._keras_mask is None  # the mask stops here, as in Keras
    assert gn.gradcheck(lambda a: layer(a, mask=mask), x)


def test_mask_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, steps\) = \(2, 4\)"):
        L.GlobalAveragePooling1D()(_x((2, 4, 3)), mask=np.ones((2, 3), bool))


def test_max_pooling_gradient_goes_to_the_max_only():
    x = gn.tensor(np.array([[1.0, 3.0], [2.0, 0.5]], "float32")[None, :, :, None], requires_grad=True)
    L.MaxPooling2D()(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[0, 1], [0, 0]])


def test_aliases_are_keras_names():
    assert L.MaxPool2D is L.MaxPooling2D and L.AvgPool1D is L.AveragePooling1D
    assert L.GlobalAvgPool2D is L.GlobalAveragePooling2D and L.GlobalMaxPool1D is L.GlobalMaxPooling1D


def test_defaults_are_keras():
    assert L.MaxPooling2D().pool_size == (2, 2) and L.MaxPooling2D().strides == (2, 2)
    assert L.MaxPooling1D().pool_size == (2,) and L.AveragePooling2D(3).strides == (3, 3)
    assert L.MaxPooling2D(padding="SAME").padding == "same"
    assert L.GlobalAveragePooling2D().keepdims is False


@pytest.mark.parametrize("name", ['MaxPooling1D', 'MaxPooling2D', 'AveragePooling1D', 'AveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D'])
def test_signature_is_keras(name):
    """Keras' arguments, in Keras' order (so positional calls mean the same), same defaults."""
    import inspect

    keras = keras_or_skip()

    def params(cls):
        return [p for p in inspect.signature(cls).parameters.values() if p.kind != p.VAR_KEYWORD]

    ours, theirs = params(getattr(L, name)), params(getattr(keras.layers, name))
    assert [p.name for p in ours[:len(theirs)]] == [p.name for p in theirs]
    for a, b in zip(ours, theirs):
        if b.default is inspect.Parameter.empty:
            continue  # (glassnet gives AveragePooling a default pool_size; Keras 3 has none)
        same = a.default == b.default or (isinstance(b.default, tuple) and a.default in b.default
                                          and b.default == (a.default,) * len(b.default))  # 1 == (1, 1)
        assert same, (a.name, a.default, b.default)


# ---- errors ----------------------------------------------------------------------------
def test_rank_errors_explain_the_fix():
    layer = L.MaxPooling2D()
    with pytest.raises(ValueError) as e:
        layer(gn.Input(shape=(28, 28)))
    msg = str(e.value)
    assert f'layer "{layer.name}"' in msg and "expected ndim=4, found ndim=3" in msg
    assert "Reshape((28, 28, 1)) or x[..., None]" in msg
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=4.*use MaxPooling2D"):
        L.MaxPooling1D()(_x((1, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3.*x\[\.\.\., None\]"):
        L.GlobalAveragePooling2D()(_x((2, 5, 5)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        L.GlobalMaxPooling1D()(_x((2, 5)))


def test_pool_larger_than_input():
    with pytest.raises(ValueError, match=r'MaxPooling2D "max_pooling2.*pool_size \(3, 3\) is larger.*\(2, 2\)'):
        L.MaxPooling2D(3)(_x((1, 2, 2, 1)))
    assert L.MaxPooling2D(3, padding="same")(_x((1, 2, 2, 1))).shape == (1, 1, 1, 1)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(pool_size=0), "`pool_size` must be positive"),
    (dict(pool_size=(2, 2, 2)), "`pool_size` must be an int or a tuple of 2 ints"),
    (dict(strides=0), "`strides` must be positive"),
    (dict(padding="causal"), "`padding` must be one of"),
    (dict(data_format="channels_first"), "only data_format='channels_last'"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        L.AveragePooling2D(**kwargs)
    with pytest.raises(ValueError, match="only data_format='channels_last'"):
        L.GlobalMaxPooling2D(data_format="channels_first")
