"""glassnet.regularizers: penalties equal Keras 3's, gradients check, get/serialize."""
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import regularizers

os.environ["KERAS_BACKEND"] = "torch"


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _weights(shape=(6, 4), seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 0.7).astype(np.float32)


CASES = [
    lambda m: m.L1(), lambda m: m.L1(0.3), lambda m: m.L2(), lambda m: m.L2(1e-4),
    lambda m: m.L1L2(), lambda m: m.L1L2(l1=0.01), lambda m: m.L1L2(l2=0.02), lambda m: m.L1L2(0.1, 0.2),
    lambda m: m.OrthogonalRegularizer(), lambda m: m.OrthogonalRegularizer(0.5, mode="columns"),
    lambda m: m.OrthogonalRegularizer(2.0, mode="rows"),
]


@pytest.mark.parametrize("make", CASES)
@pytest.mark.parametrize("shape", [(6, 4), (3, 9), (1, 5), (5, 1)])
def test_values_equal_keras(keras, make, shape):
    w = _weights(shape)
    got = make(regularizers)(gn.tensor(w))
    assert isinstance(got, gn.Tensor) and got.shape == () and got.dtype == np.float32
    if shape in ((1, 5), (5, 1)) and isinstance(make(regularizers), regularizers.OrthogonalRegularizer):
        return  # a single row/column has no pairs: Keras gives 0/0, we give 0 (next test)
    want = np.asarray(make(keras.regularizers)(keras.ops.convert_to_tensor(w)))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-7)


def test_orthogonal_single_row_or_zero_row():
    reg = regularizers.OrthogonalRegularizer(mode="rows")
    assert reg(np.ones((1, 5), np.float32)).item() == 0.0
    assert regularizers.OrthogonalRegularizer(mode="columns")(np.ones((5, 1), np.float32)).item() == 0.0
    w = _weights((4, 3))
    w[1] = 0  # an all-zero row normalises to zero (Keras' epsilon), not NaN
    value = reg(gn.tensor(w))
    assert np.isfinite(value.item())


def test_orthogonal_is_zero_for_orthogonal_rows_and_max_for_parallel():
    reg = regularizers.OrthogonalRegularizer(factor=1.0)
    assert abs(reg(np.eye(4)).item()) < 1e-12
    # all rows parallel: every |cos| is 1, so the mean over pairs is 1, times factor * 0.5 * 2
    np.testing.assert_allclose(reg(np.ones((3, 4))).item(), 1.0, rtol=1e-6)


def test_orthogonal_against_keras_with_zero_row(keras):
    w = _weights((4, 3))
    w[2] = 0
    for mode in ("rows", "columns"):
        got = regularizers.OrthogonalRegularizer(0.1, mode=mode)(w).numpy()
        want = np.asarray(keras.regularizers.OrthogonalRegularizer(0.1, mode=mode)(keras.ops.convert_to_tensor(w)))
        np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("make", CASES[1:4] + CASES[7:])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5), (1, 1)])
def test_gradcheck_float64(make, shape):
    reg = make(regularizers)
    if isinstance(reg, regularizers.OrthogonalRegularizer) and min(shape) == 1:
        shape = (3, 3)
    w = np.random.default_rng(3).standard_normal(shape)
    w = np.where(np.abs(w) < 0.05, 0.1, w)  # |w| has a kink at 0
    assert gn.gradcheck(lambda t: reg(t), w)


def test_gradient_flows_into_the_weight():
    w = gn.tensor(np.array([[1.0, -2.0], [3.0, 0.5]], dtype=np.float32), requires_grad=True)
    regularizers.L1L2(l1=0.1, l2=0.01)(w).backward()
    np.testing.assert_allclose(w.grad, 0.1 * np.sign(w.numpy()) + 0.02 * w.numpy(), rtol=1e-6)


def test_accepts_numpy_and_keeps_float64():
    w = np.ones((2, 2))
    assert regularizers.L2(0.5)(w).dtype == np.float64
    assert regularizers.L2(0.5)(w).item() == 2.0
    assert regularizers.L1L2()(w).item() == 0.0


def test_bad_arguments():
    for bad in (-0.1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ValueError, match="non-negative float"):
            regularizers.L1(bad)
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2)))
    assert regularizers.L1(None).l1 == 0.01 and regularizers.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


def test_get():
    assert regularizers.get(None) is None
    assert regularizers.get("l1").get_config() == {"l1": 0.01}
    assert regularizers.get("l2").get_config() == {"l2": 0.01}
    # "l1_l2" is Keras' documented shortcut for l1=l2=0.01 (Keras 3.15.1 itself only knows "l1l2")
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert isinstance(regularizers.get("orthogonal_regularizer"), regularizers.OrthogonalRegularizer)
    assert isinstance(regularizers.get("L2"), regularizers.L2)
    assert isinstance(regularizers.get(regularizers.L1), regularizers.L1)
    inst = regularizers.L2(0.3)
    assert regularizers.get(inst) is inst

    def fn(w):
        return gn.ops.sum(w) * 0.0

    assert regularizers.get(fn) is fn
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: 'l3'.*l1_l2"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Could not interpret"):
        regularizers.get(0.01)


def _same_config(got, want):
    """Equal configs, floats to float32 precision (Keras keeps some factors as float32)."""
    assert got.keys() == want.keys()
    for key, value in got.items():
        if isinstance(value, float):
            assert value == pytest.approx(want[key], rel=1e-6), key
        else:
            assert value == want[key], key


@pytest.mark.parametrize("make", CASES)
def test_serialize_matches_keras_and_round_trips(keras, make):
    ours, theirs = make(regularizers), make(keras.regularizers)
    got, want = regularizers.serialize(ours), keras.regularizers.serialize(theirs)
    _same_config({k: v for k, v in got.items() if k != "config"}, {k: v for k, v in want.items() if k != "config"})
    _same_config(got["config"], want["config"])
    back = regularizers.deserialize(want)
    assert type(back) is type(ours)
    _same_config(back.get_config(), ours.get_config())
    assert regularizers.get(got).get_config() == ours.get_config()


def test_custom_objects():
    class Mine(regularizers.Regularizer):
        def __call__(self, x):
            return gn.ops.sum(x)

        def get_config(self):
            return {}

    config = regularizers.serialize(Mine())
    with pytest.raises(ValueError, match="Could not interpret"):
        regularizers.deserialize(config)
    assert isinstance(regularizers.deserialize(config, custom_objects={"Mine": Mine}), Mine)
