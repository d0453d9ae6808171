"""glassnet.activations: values against Keras 3 (torch backend), gradients, get/serialize."""
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations

os.environ["KERAS_BACKEND"] = "torch"

# sparsemax is checked against its definition instead: Keras 3.15.1's is wrong whenever more
# than one logit is in the support (keras-team/keras#23425, fixed by #23469)
KERAS_BUGGY = {"sparsemax"}
# float32: a few ulps of the output, plus a few ulps of the *input* where a formula cancels
# (x + sqrt(x^2 + b) at x << 0, x * (1 + erf(x / sqrt 2)) at x << 0, exp(x) - 1 near 0):
# there the two libraries round differently and neither is exact in float32
RTOL, ATOL = 2e-6, 2e-7


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _inputs(dtype="float32"):
    """Random values at three scales plus the edges: 0, tiny, kinks (±1, ±3, ±6), large."""
    rng = np.random.default_rng(0)
    edges = np.array([0, 1e-8, 1e-3, 0.5, 1, 2.9, 3, 3.1, 6, 20, 30, 88, 100, 1e4])
    x = np.concatenate([rng.standard_normal(300) * 3, rng.standard_normal(100) * 50, edges, -edges])
    return x.astype(dtype).reshape(-1, 4)


def _keras_fn(keras, name):
    from keras.src import activations as keras_activations

    return keras_activations.ALL_OBJECTS_DICT[name]


def _close(got, want, x):
    want = np.asarray(want)
    scale = np.maximum(1.0, np.abs(x)) if np.shape(x) == want.shape else 1.0
    with np.errstate(invalid="ignore"):
        err = np.where(got == want, 0.0, np.abs(got.astype(np.float64) - want))
    bad = err > RTOL * np.abs(want) + ATOL * scale
    assert not bad.any(), (
        f"{bad.sum()} of {bad.size} differ; worst at x={np.broadcast_to(x, want.shape)[bad][0] if np.shape(x) == want.shape else '?'}: "
        f"glassnet {got[bad][0]!r} vs keras {want[bad][0]!r}"
    )


def test_names_cover_keras(keras):
    from keras.src import activations as keras_activations

    assert set(keras_activations.ALL_OBJECTS_DICT) <= set(activations.ALL_OBJECTS_DICT)


@pytest.mark.parametrize("name", sorted(activations.ALL_OBJECTS_DICT))
def test_default_values_equal_keras(keras, name):
    if name in KERAS_BUGGY:
        pytest.skip("Keras' sparsemax is wrong; see test_sparsemax_*")
    x = _inputs()
    args = (0.5, -2.0) if name == "threshold" else ()
    with np.errstate(over="ignore"):  # exponential(1e4) is inf in both
        got = activations.get(name)(gn.tensor(x), *args)
    assert isinstance(got, gn.Tensor) and got.dtype == np.float32
    assert got.shape == (x.shape[:-1] + (2,) if name == "glu" else x.shape)
    _close(got.numpy(), _keras_fn(keras, name)(x, *args), x)


@pytest.mark.parametrize("name,kwargs", [
    ("relu", dict(negative_slope=0.1)),
    ("relu", dict(max_value=6.0)),
    ("relu", dict(max_value=2.5)),
    ("relu", dict(threshold=1.5)),
    ("relu", dict(threshold=-1.0)),
    ("relu", dict(negative_slope=0.3, max_value=4.0)),
    ("relu", dict(negative_slope=0.3, threshold=2.0)),
    ("relu", dict(negative_slope=0.5, max_value=10.0, threshold=5.0)),
    ("leaky_relu", dict(negative_slope=0.01)),
    ("elu", dict(alpha=0.5)),
    ("celu", dict(alpha=2.0)),
    ("gelu", dict(approximate=True)),
    ("softmax", dict(axis=0)),
    ("softmax", dict(axis=None)),
    ("log_softmax", dict(axis=0)),
    ("log_softmax", dict(axis=None)),
    ("glu", dict(axis=0)),
    ("soft_shrink", dict(threshold=1.0)),
    ("hard_shrink", dict(threshold=2.0)),
    ("squareplus", dict(b=1.0)),
])
def test_argument_values_equal_keras(keras, name, kwargs):
    x = _inputs()[:100]
    got = getattr(activations, name)(gn.tensor(x), **kwargs)
    _close(got.numpy(), _keras_fn(keras, name)(x, **kwargs), x)


def test_keras_docstring_relu_examples():
    x = gn.tensor([-10.0, -5.0, 0.0, 5.0, 10.0])
    np.testing.assert_array_equal(activations.relu(x).numpy(), [0, 0, 0, 5, 10])
    np.testing.assert_array_equal(activations.relu(x, negative_slope=0.5).numpy(), [-5, -2.5, 0, 5, 10])
    np.testing.assert_array_equal(activations.relu(x, max_value=5.0).numpy(), [0, 0, 0, 5, 5])
    np.testing.assert_array_equal(activations.relu(x, threshold=5.0).numpy(), [0, 0, 0, 0, 10])


def test_float64_stays_float64():
    x = _inputs("float64")
    for name in ("relu", "gelu", "softmax", "hard_silu", "sparse_plus", "mish", "celu"):
        assert activations.get(name)(gn.tensor(x)).dtype == np.float64


def test_accepts_numpy_and_linear_is_identity():
    x = np.array([-1.0, 2.0], dtype=np.float32)
    assert isinstance(activations.relu(x), gn.Tensor)
    t = gn.tensor(x)
    assert activations.linear(t) is t


@pytest.mark.parametrize("name,kwargs", [
    ("relu", dict(threshold=0.7)), ("relu", dict(negative_slope=0.2, threshold=0.7, max_value=1.5)),
    ("relu", dict(negative_slope=0.1, max_value=1.5)), ("leaky_relu", {}), ("elu", {}),
    ("selu", {}), ("celu", dict(alpha=0.7)), ("softplus", {}), ("softsign", {}),
    ("squareplus", {}), ("soft_shrink", {}), ("hard_shrink", {}), ("sparse_plus", {}),
    ("silu", {}), ("gelu", {}), ("gelu", dict(approximate=True)), ("glu", {}), ("tanh", {}),
    ("tanh_shrink", {}), ("hard_tanh", {}), ("sigmoid", {}), ("sparse_sigmoid", {}),
    ("log_sigmoid", {}), ("exponential", {}), ("hard_sigmoid", {}), ("hard_silu", {}),
    ("mish", {}), ("softmax", dict(axis=0)), ("log_softmax", {}), ("sparsemax", {}),
])
def test_gradcheck(name, kwargs):
    rng = np.random.default_rng(1)
    x = rng.uniform(-4, 4, (3, 6))
    # keep clear of the kinks (0, ±0.5, ±0.7, ±1, ±1.5, ±3) where a one-sided slope is right
    for kink in (0.0, 0.5, 0.7, 1.0, 1.5, 3.0):
        for s in (1, -1):
            near = np.abs(x - s * kink) < 0.05
            x[near] += 0.1
    fn = getattr(activations, name)
    assert gn.gradcheck(lambda t: fn(t, **kwargs), x)


def test_sparsemax_known_values():
    got = activations.sparsemax(gn.tensor([[0.0, 0.5, 1.0], [0.1, 0.2, 0.3]])).numpy()
    np.testing.assert_allclose(got, [[0.0, 0.25, 0.75], [0.7 / 3, 1 / 3, 1.3 / 3]], atol=1e-6)
    got = activations.sparsemax(gn.tensor([0.1, 0.2, 0.3, 0.4, 0.5])).numpy()
    np.testing.assert_allclose(got, [0, 0.1, 0.2, 0.3, 0.4], atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_sparsemax_is_the_simplex_projection(axis):
    """Sums to 1, non-negative, and the KKT conditions of min ||p - x||^2 on the simplex:
    x - p equals one tau on the support and x <= tau off it."""
    x = np.random.default_rng(2).standard_normal((5, 7, 4)) * np.array([0.1, 1, 3, 10])
    p = activations.sparsemax(gn.tensor(x), axis=axis).numpy()
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, atol=1e-12)
    assert (p >= 0).all()
    xs, ps = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis]), np.moveaxis(p, axis, -1).reshape(-1, x.shape[axis])
    for xi, pi in zip(xs, ps):
        tau = (xi - pi)[pi > 0]
        np.testing.assert_allclose(tau, tau[0], atol=1e-12)
        assert (xi[pi == 0] <= tau[0] + 1e-12).all()


def test_get_and_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.get({"class_name": "function", "config": "tanh", "module": "keras.activations"}) is activations.tanh

    def custom(x):
        return x * 2

    assert activations.get(custom) is custom
    assert activations.serialize(activations.relu) == "relu"
    assert activations.serialize(activations.swish) == "silu"
    assert activations.deserialize("gelu") is activations.gelu
    assert activations.deserialize("mine", custom_objects={"mine": custom}) is custom


def test_keras_serialized_names_deserialize(keras):
    for name in ("relu", "softmax", "swish", "hard_swish", "gelu", "selu"):
        fn = getattr(keras.activations, name)
        assert activations.deserialize(keras.activations.serialize(fn)).__name__ == fn.__name__


def test_errors_name_what_was_received():
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: 'relux'.*relu6"):
        activations.get("relux")
    with pytest.raises(ValueError, match="Could not interpret"):
        activations.get(3)
    with pytest.raises(ValueError, match="cannot be serialized"):
        activations.serialize(lambda x: x)
    with pytest.raises(ValueError, match="even"):
        activations.glu(gn.tensor(np.ones((2, 3))))
