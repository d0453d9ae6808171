"""glassnet.constraints: projections equal Keras 3's, NumPy in and out, get/serialize."""
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import constraints

os.environ["KERAS_BACKEND"] = "torch"


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _weights(shape, seed=0):
    # scales spread so some vectors are inside the norm bounds and some outside
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * rng.uniform(0.05, 2.0, shape[-1])).astype(np.float32)


CASES = [
    lambda m: m.MaxNorm(), lambda m: m.MaxNorm(max_value=1.5, axis=1), lambda m: m.NonNeg(),
    lambda m: m.UnitNorm(), lambda m: m.UnitNorm(axis=-1), lambda m: m.MinMaxNorm(),
    lambda m: m.MinMaxNorm(min_value=0.5, max_value=2.0, rate=0.3, axis=0),
    lambda m: m.MinMaxNorm(min_value=1.0, max_value=1.5, rate=1.0, axis=1),
]


@pytest.mark.parametrize("make", CASES)
@pytest.mark.parametrize("shape", [(6, 4), (1, 5), (9, 1)])
def test_values_equal_keras(keras, make, shape):
    w = _weights(shape)
    got = make(constraints)(w)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == shape
    want = np.asarray(make(keras.constraints)(keras.ops.convert_to_tensor(w)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make", [
    lambda m: m.MaxNorm(1.0, axis=[0, 1, 2]), lambda m: m.UnitNorm(axis=[0, 1, 2]),
    lambda m: m.MinMaxNorm(0.2, 0.8, 0.5, axis=[0, 1, 2]),
])
def test_conv_kernel_axes_equal_keras(keras, make):
    w = _weights((3, 3, 4, 5))
    want = np.asarray(make(keras.constraints)(keras.ops.convert_to_tensor(w)))
    np.testing.assert_allclose(make(constraints)(w), want, rtol=1e-6, atol=1e-7)


def test_norms_after_projection():
    w = _weights((8, 6)).astype(np.float64)
    norms = lambda a: np.sqrt((a ** 2).sum(axis=0))  # noqa: E731
    assert (norms(constraints.MaxNorm(1.0)(w)) <= 1.0 + 1e-9).all()
    np.testing.assert_allclose(norms(constraints.UnitNorm()(w)), 1.0, rtol=1e-6)
    n = norms(constraints.MinMaxNorm(0.5, 1.5)(w))
    assert ((n >= 0.5 - 1e-6) & (n <= 1.5 + 1e-6)).all()
    small = np.full((4, 1), 0.1)  # norm 0.2, already within max: unchanged up to epsilon
    np.testing.assert_allclose(constraints.MaxNorm(2)(small), small, rtol=1e-6)


def test_tensor_in_numpy_out_and_dtypes():
    t = gn.tensor(np.array([[-1.0, 2.0], [3.0, -4.0]]))
    out = constraints.NonNeg()(t)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 2], [3, 0]])
    np.testing.assert_array_equal(constraints.NonNeg()(np.array([-2, 3])), [0, 3])
    assert constraints.UnitNorm()(np.array([[3], [4]])).dtype == np.float32  # ints become floatx
    base = constraints.Constraint()
    w = np.ones(3)
    assert base(w) is w


def test_get():
    assert constraints.get(None) is None
    for name, cls in [("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                      ("unit_norm", constraints.UnitNorm), ("min_max_norm", constraints.MinMaxNorm),
                      ("MaxNorm", constraints.MaxNorm), ("NonNeg", constraints.NonNeg)]:
        assert type(constraints.get(name)) is cls
    assert constraints.get("max_norm").get_config() == {"max_value": 2, "axis": 0}
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm)
    inst = constraints.MaxNorm(3)
    assert constraints.get(inst) is inst
    fn = np.abs
    assert constraints.get(fn) is fn
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: 'maxnorm'.*max_norm"):
        constraints.get("maxnorm")
    with pytest.raises(ValueError, match="Could not interpret"):
        constraints.get(2)


def test_names_cover_keras(keras):
    from keras.src import constraints as keras_constraints

    assert set(keras_constraints.ALL_OBJECTS_DICT) <= set(constraints.ALL_OBJECTS_DICT)


@pytest.mark.parametrize("make", CASES)
def test_serialize_matches_keras_and_round_trips(keras, make):
    ours, theirs = make(constraints), make(keras.constraints)
    want = keras.constraints.serialize(theirs)
    assert constraints.serialize(ours) == want
    back = constraints.deserialize(want)
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    assert type(constraints.get(constraints.serialize(ours))) is type(ours)


def test_list_axis_survives_a_round_trip():
    c = constraints.deserialize({"class_name": "UnitNorm", "config": {"axis": [0, 1, 2]}})
    out = c(_weights((2, 2, 3, 4)))
    np.testing.assert_allclose(np.sqrt((out ** 2).sum(axis=(0, 1, 2))), 1.0, rtol=1e-5)


def test_custom_objects():
    class Clip(constraints.Constraint):
        def __call__(self, w):
            return np.clip(w, -1, 1)

    config = constraints.serialize(Clip())
    with pytest.raises(ValueError, match="Could not interpret"):
        constraints.deserialize(config)
    assert isinstance(constraints.deserialize(config, custom_objects={"Clip": Clip}), Clip)
