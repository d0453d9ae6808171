"""ZeroPadding, Cropping, UpSampling (1-D and 2-D): shapes (eager and symbolic), gradients,
numbers against Keras 3, configs, errors."""
import json

import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers

CASES = [
    ("ZeroPadding1D", dict(), (2, 5, 3)),
    ("ZeroPadding1D", dict(padding=(1, 3)), (2, 4, 2)),
    ("ZeroPadding2D", dict(), (2, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=2), (1, 3, 3, 1)),
    ("ZeroPadding2D", dict(padding=(1, 2)), (1, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=((1, 2), (3, 0))), (2, 3, 4, 2)),
    ("Cropping1D", dict(), (2, 5, 3)),
    ("Cropping1D", dict(cropping=(0, 2)), (2, 6, 2)),
    ("Cropping2D", dict(), (2, 3, 4, 2)),
    ("Cropping2D", dict(cropping=1), (2, 5, 4, 2)),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), (1, 5, 6, 3)),
    ("UpSampling1D", dict(), (2, 4, 3)),
    ("UpSampling1D", dict(size=3), (2, 3, 2)),
    ("UpSampling2D", dict(), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=(2, 3)), (1, 3, 2, 2)),
    ("UpSampling2D", dict(interpolation="bilinear"), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear"), (1, 4, 3, 2)),
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
    free = (None,) * (len(shape) - 2) + shape[-1:]
    want = (None,) * (len(shape) - 1) + shape[-1:]
    assert layer(gn.Input(shape=free)).shape == want
    assert layer.compute_output_shape((None,) + free) == want


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


def test_values_by_hand():
    x = np.arange(1, 5, dtype="float32").reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(L.ZeroPadding2D(((1, 0), (0, 1)))(x).numpy()[0, :, :, 0],
                                  [[0, 0, 0], [1, 2, 0], [3, 4, 0]])
    np.testing.assert_array_equal(L.UpSampling2D()(x).numpy()[0, :, :, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    np.testing.assert_array_equal(L.Cropping2D(((1, 0), (0, 1)))(x).numpy()[0, :, :, 0], [[3]])
    seq = np.arange(5, dtype="float32").reshape(1, 5, 1)
    np.testing.assert_array_equal(L.Cropping1D((1, 2))(seq).numpy()[0, :, 0], [1, 2])
    np.testing.assert_array_equal(L.UpSampling1D(2)(seq).numpy()[0, :4, 0], [0, 0, 1, 1])
    # bilinear, half-pixel centres: 2x on [0, 1] gives [0, 0.25, 0.75, 1]
    line = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    np.testing.assert_allclose(L.UpSampling2D((1, 2), interpolation="bilinear")(line).numpy()[0, 0, :, 0],
                               [0, 0.25, 0.75, 1])


def test_gradients_go_back_where_the_values_came_from():
    x = gn.tensor(np.ones((1, 3, 3, 1), "float32"), requires_grad=True)
    L.UpSampling2D((2, 3))(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((1, 3, 3, 1), 6.0))
    x.grad = None
    L.Cropping2D(((1, 0), (0, 1)))(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[0, 0, 0], [1, 1, 0], [1, 1, 0]])


@pytest.mark.parametrize("name", ['ZeroPadding1D', 'ZeroPadding2D', 'Cropping1D', 'Cropping2D', 'UpSampling1D', 'UpSampling2D'])
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
def test_rank_errors():
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3.*Reshape\(\(28, 28, 1\)\) or x\[\.\.\., None\]"):
        L.ZeroPadding2D()(gn.Input(shape=(28, 28)))
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=4.*use UpSampling2D"):
        L.UpSampling1D()(_x((1, 2, 2, 1)))
    with pytest.raises(ValueError, match=r'layer "cropping1.*expected ndim=3, found ndim=2'):
        L.Cropping1D()(_x((2, 5)))


def test_cropping_too_much():
    layer = L.Cropping2D(((2, 1), (0, 0)))
    with pytest.raises(ValueError, match=r'Cropping2D "cropping2.*must leave at least one.*\(3, 4\)'):
        layer(_x((1, 3, 4, 1)))
    with pytest.raises(ValueError, match="must leave at least one"):
        L.Cropping1D((2, 2))(_x((1, 4, 1)))
    with pytest.raises(ValueError, match="must leave at least one"):
        L.Cropping1D(3)(gn.Input(shape=(6, 1)))


@pytest.mark.parametrize("make, pattern", [
    (lambda: L.ZeroPadding2D(-1), "must be non-negative"),
    (lambda: L.ZeroPadding2D((1, 2, 3)), "`padding` should be an int, a tuple of 2 ints"),
    (lambda: L.ZeroPadding1D((1, 2, 3)), "`padding` must be an int or a tuple of 2 ints"),
    (lambda: L.Cropping2D(((1, 2), (3,))), r"`cropping\[1\]` must be an int or a tuple of 2 ints"),
    (lambda: L.Cropping1D(-1), "must be non-negative"),
    (lambda: L.UpSampling1D(0), "`size` must be a positive integer"),
    (lambda: L.UpSampling1D(1.5), "`size` must be a positive integer"),
    (lambda: L.UpSampling2D((2, 0)), "`size` must be positive"),
    (lambda: L.UpSampling2D(interpolation="bicubic"), r"interpolation must be one of \('nearest', 'bilinear'\)"),
    (lambda: L.UpSampling2D(data_format="channels_first"), "only data_format='channels_last'"),
    (lambda: L.ZeroPadding2D(data_format="channels_first"), "only data_format='channels_last'"),
])
def test_bad_arguments(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()
