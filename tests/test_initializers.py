"""glassnet.initializers: exact values where Keras' are deterministic, distributions where
they are random (another RNG cannot give Keras' numbers), seeding, get/serialize."""
import math
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import initializers
from glassnet import random as gn_random

os.environ["KERAS_BACKEND"] = "torch"

BIG = (400, 500)  # 200k draws: sample mean/std within ~0.5% of the truth


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


# ---- deterministic initializers --------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda m: m.Zeros(), lambda m: m.Ones(), lambda m: m.Constant(2.5), lambda m: m.Constant(-3),
    lambda m: m.Identity(), lambda m: m.Identity(gain=0.5),
])
@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (4, 1)])
def test_constant_initializers_equal_keras(keras, make, shape):
    got = make(initializers)(shape)
    want = np.asarray(make(keras.initializers)(shape))
    assert got.dtype == np.float32 and isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, want)


def test_constant_initializers_dtypes_and_shapes():
    assert initializers.Zeros()((2, 3), dtype="float64").dtype == np.float64
    assert initializers.Ones()([4], dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(initializers.Constant(7)(3, dtype="int64"), [7, 7, 7])
    assert initializers.Zeros()(()).shape == ()
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0])((2, 2)), [[1, 2], [1, 2]])
    with pytest.raises(ValueError, match="does not broadcast"):
        initializers.Constant([1.0, 2.0])((3,))
    with pytest.raises(ValueError, match="2D matrices"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="non-negative ints"):
        initializers.Zeros()((2, -1))


def test_floatx_is_the_default_dtype():
    gn.backend.set_floatx("float64")
    try:
        assert initializers.GlorotUniform(seed=1)((3, 3)).dtype == np.float64
        assert initializers.Zeros()((2,)).dtype == np.float64
    finally:
        gn.backend.set_floatx("float32")


# ---- fans ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (7,), (5, 3), (3, 16, 8), (3, 3, 4, 32), (2, 3, 3, 6, 5)])
def test_compute_fans_equal_keras(keras, shape):
    from keras.src.initializers.random_initializers import compute_fans

    assert initializers.compute_fans(shape) == compute_fans(shape)
    assert initializers.compute_fans((4, 6, 8), [0, 1], [2]) == compute_fans((4, 6, 8), [0, 1], [2]) == (24, 8)


def test_conv_kernel_fans_count_the_receptive_field():
    assert initializers.compute_fans((3, 3, 16, 32)) == (3 * 3 * 16, 3 * 3 * 32)


# ---- random distributions --------------------------------------------------------------

def _stats(x):
    return float(x.mean()), float(x.std())


def test_random_normal_distribution():
    x = initializers.RandomNormal(mean=1.0, stddev=2.0, seed=0)(BIG)
    assert x.dtype == np.float32 and x.shape == BIG
    mean, std = _stats(x)
    assert abs(mean - 1.0) < 0.02 and abs(std - 2.0) < 0.02


def test_random_uniform_distribution():
    x = initializers.RandomUniform(minval=-1.0, maxval=3.0, seed=0)(BIG)
    assert x.min() >= -1.0 and x.max() < 3.0
    mean, std = _stats(x)
    assert abs(mean - 1.0) < 0.02 and abs(std - 4 / math.sqrt(12)) < 0.01
    d = initializers.RandomUniform(seed=0)(BIG)
    assert d.min() >= -0.05 and d.max() < 0.05


def test_truncated_normal_is_cut_at_two_stddev():
    x = initializers.TruncatedNormal(mean=0.5, stddev=0.1, seed=0)(BIG)
    assert np.abs(x - 0.5).max() <= 0.2 + 1e-6
    mean, std = _stats(x)
    assert abs(mean - 0.5) < 1e-3
    assert abs(std - 0.1 * initializers.random_initializers.TRUNCATED_STD) < 1e-3
    # its std after truncation is the constant Keras divides by
    assert abs(initializers.random_initializers.TRUNCATED_STD - 0.87962566103423978) < 1e-15


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_std(mode, distribution):
    shape = (5, 5, 40, 60)  # fan_in 1000, fan_out 1500
    n = {"fan_in": 1000, "fan_out": 1500, "fan_avg": 1250}[mode]
    x = initializers.VarianceScaling(scale=2.0, mode=mode, distribution=distribution, seed=3)(shape)
    want = math.sqrt(2.0 / n)
    assert abs(x.std() - want) / want < 0.01 and abs(x.mean()) < want * 0.01
    if distribution == "uniform":
        assert np.abs(x).max() <= math.sqrt(3) * want
    if distribution == "truncated_normal":
        assert np.abs(x).max() <= 2 * want / initializers.random_initializers.TRUNCATED_STD


@pytest.mark.parametrize("cls,scale,mode,uniform", [
    ("GlorotUniform", 1, "fan_avg", True), ("GlorotNormal", 1, "fan_avg", False),
    ("HeNormal", 2, "fan_in", False), ("HeUniform", 2, "fan_in", True),
    ("LecunNormal", 1, "fan_in", False), ("LecunUniform", 1, "fan_in", True),
])
def test_named_variance_scalings(cls, scale, mode, uniform):
    shape = (300, 700)
    n = {"fan_in": 300, "fan_avg": 500}[mode]
    x = getattr(initializers, cls)(seed=0)(shape)
    want = math.sqrt(scale / n)
    assert x.dtype == np.float32
    assert abs(x.std() - want) / want < 0.01
    limit = math.sqrt(3) * want if uniform else 2 * want / 0.87962566103423978
    assert np.abs(x).max() <= limit * (1 + 1e-6)
    if uniform:  # uniform fills its range: glorot_uniform's limit is sqrt(6 / (in + out))
        assert np.abs(x).max() > 0.99 * limit


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (3, 3, 4, 8), (2, 5, 3)])
def test_orthogonal(shape):
    w = initializers.Orthogonal(gain=1.0, seed=0)(shape)
    assert w.shape == shape and w.dtype == np.float32
    m = w.reshape(-1, shape[-1]).astype(np.float64)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-6)
    w2 = initializers.Orthogonal(gain=2.0, seed=0)(shape)
    np.testing.assert_allclose(w2, 2 * w, rtol=1e-6)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        initializers.Orthogonal()((5,))


def test_random_initializers_refuse_integer_dtypes():
    with pytest.raises(ValueError, match="floating dtype"):
        initializers.RandomNormal()((2, 2), dtype="int32")
    assert initializers.HeNormal(seed=1)((3, 3), dtype="float64").dtype == np.float64
    assert initializers.GlorotUniform(seed=1)((3, 3), dtype="float16").dtype == np.float16


# ---- seeding (Keras 3 semantics) -----------------------------------------------------

ALL_RANDOM = ["RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform",
              "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal"]


@pytest.mark.parametrize("cls", ALL_RANDOM)
def test_seeded_instance_repeats_and_seeds_differ(cls):
    make = getattr(initializers, cls)
    a = make(seed=7)
    np.testing.assert_array_equal(a((4, 5)), a((4, 5)))
    np.testing.assert_array_equal(a((4, 5)), make(seed=7)((4, 5)))
    assert not np.array_equal(a((4, 5)), make(seed=8)((4, 5)))


def test_unseeded_instance_repeats_like_keras(keras):
    # Keras draws a seed when an unseeded initializer is made: each call gives the same values
    k = keras.initializers.GlorotUniform()
    np.testing.assert_array_equal(np.asarray(k((3, 3))), np.asarray(k((3, 3))))
    g = initializers.GlorotUniform()
    np.testing.assert_array_equal(g((3, 3)), g((3, 3)))
    assert not np.array_equal(g((3, 3)), initializers.GlorotUniform()((3, 3)))


def test_unseeded_instances_follow_the_global_seed():
    gn_random.set_seed(123)
    first = [initializers.get("glorot_uniform")((3, 4)), initializers.RandomNormal()((5,))]
    gn_random.set_seed(123)
    again = [initializers.get("glorot_uniform")((3, 4)), initializers.RandomNormal()((5,))]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_generator_seed_gives_new_values_each_call():
    init = initializers.RandomNormal(seed=np.random.default_rng(0))
    assert not np.array_equal(init((3,)), init((3,)))
    assert init.get_config()["seed"] is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed="abc")
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"


# ---- get / serialize -------------------------------------------------------------------

def test_names_cover_keras(keras):
    from keras.src import initializers as keras_initializers

    missing = set(keras_initializers.ALL_OBJECTS_DICT) - set(initializers.ALL_OBJECTS_DICT)
    assert missing == {"STFT", "STFTInitializer", "stft"}


@pytest.mark.parametrize("name,cls", [
    ("zeros", "Zeros"), ("ones", "Ones"), ("constant", "Constant"), ("identity", "Identity"),
    ("IdentityInitializer", "Identity"), ("orthogonal", "Orthogonal"), ("glorot_uniform", "GlorotUniform"),
    ("glorot_normal", "GlorotNormal"), ("he_normal", "HeNormal"), ("he_uniform", "HeUniform"),
    ("lecun_normal", "LecunNormal"), ("lecun_uniform", "LecunUniform"), ("random_normal", "RandomNormal"),
    ("random_uniform", "RandomUniform"), ("truncated_normal", "TruncatedNormal"),
    ("variance_scaling", "VarianceScaling"), ("GlorotUniform", "GlorotUniform"), ("normal", "RandomNormal"),
    ("uniform", "RandomUniform"), ("zero", "Zeros"), ("one", "Ones"),
])
def test_get_by_name(name, cls):
    assert type(initializers.get(name)) is getattr(initializers, cls)


def test_get_other_identifiers():
    assert initializers.get(None) is None
    inst = initializers.HeNormal(seed=1)
    assert initializers.get(inst) is inst
    assert isinstance(initializers.get(initializers.Ones), initializers.Ones)

    def fn(shape, dtype=None):
        return np.full(shape, 3.0, dtype=dtype)

    assert initializers.get(fn) is fn
    arr = np.arange(6.0).reshape(2, 3)
    init = initializers.get(arr)
    np.testing.assert_array_equal(init((2, 3)), arr)
    assert init((2, 3)).dtype == np.float32
    np.testing.assert_array_equal(initializers.get(gn.tensor(arr))((2, 3)), arr)
    with pytest.raises(ValueError, match="Expected `shape` to be"):
        init((3, 2))


def test_unknown_identifier_lists_valid_names():
    with pytest.raises(ValueError, match="Could not interpret initializer identifier: 'glorot'.*glorot_uniform"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="Could not interpret"):
        initializers.get(42)
    with pytest.raises(ValueError, match="Could not interpret"):
        initializers.get({"class_name": "os.system", "config": {}})


@pytest.mark.parametrize("make", [
    lambda m: m.Zeros(), lambda m: m.Constant(1.5), lambda m: m.RandomNormal(0.1, 0.2, seed=3),
    lambda m: m.RandomUniform(-1, 1, seed=4), lambda m: m.TruncatedNormal(stddev=0.3, seed=5),
    lambda m: m.VarianceScaling(2.0, "fan_out", "uniform", seed=6), lambda m: m.GlorotUniform(),
    lambda m: m.HeNormal(seed=1), lambda m: m.Orthogonal(gain=2.0, seed=9), lambda m: m.LecunUniform(seed=2),
])
def test_serialize_equals_keras_and_round_trips(keras, make):
    ours, theirs = make(initializers), make(keras.initializers)
    assert initializers.serialize(ours) == keras.initializers.serialize(theirs)
    back = initializers.deserialize(keras.initializers.serialize(theirs))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    assert type(initializers.get(initializers.serialize(ours))) is type(ours)
    assert type(ours.from_config(ours.get_config())) is type(ours)


def test_seeded_round_trip_gives_the_same_values():
    init = initializers.HeUniform(seed=11)
    again = initializers.deserialize(initializers.serialize(init))
    np.testing.assert_array_equal(init((4, 4)), again((4, 4)))


def test_custom_objects():
    class Mine(initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, 9.0, dtype=dtype or "float32")

    config = initializers.serialize(Mine())
    assert config["class_name"] == "Mine" and config["registered_name"] == "Mine"
    with pytest.raises(ValueError, match="Could not interpret"):
        initializers.deserialize(config)
    assert isinstance(initializers.deserialize(config, custom_objects={"Mine": Mine}), Mine)
