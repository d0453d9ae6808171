"""Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""
import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers


def _pair(rng, shape=(3, 4), n=2):
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def test_elementwise_values(rng):
    a, b, c = _pair(rng, n=3)
    np.testing.assert_allclose(L.Add()([a, b, c]).numpy(), a + b + c, rtol=1e-6)
    np.testing.assert_allclose(L.Subtract()([a, b]).numpy(), a - b, rtol=1e-6)
    np.testing.assert_allclose(L.Multiply()([a, b, c]).numpy(), a * b * c, rtol=1e-6)
    np.testing.assert_allclose(L.Average()([a, b, c]).numpy(), (a + b + c) / 3, rtol=1e-6)
    np.testing.assert_array_equal(L.Maximum()([a, b, c]).numpy(), np.maximum(np.maximum(a, b), c))
    np.testing.assert_array_equal(L.Minimum()([a, b]).numpy(), np.minimum(a, b))
    np.testing.assert_allclose(L.add([a, b]).numpy(), a + b, rtol=1e-6)
    np.testing.assert_allclose(L.average([a, b]).numpy(), (a + b) / 2, rtol=1e-6)


def test_broadcasting_and_rank_expansion(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((2, 1, 4)).astype(np.float32)
    assert L.Add()([a, b]).shape == (2, 3, 4)
    c = rng.standard_normal((2, 4)).astype(np.float32)       # rank 2: a size-1 axis after the batch
    np.testing.assert_allclose(L.Add()([a, c]).numpy(), a + c[:, None, :], rtol=1e-6)


def test_symbolic_shapes():
    assert L.Add()([gn.Input((None, 4)), gn.Input((None, 4))]).shape == (None, None, 4)
    assert L.Add()([gn.Input((5, 4)), gn.Input((1, 4))]).shape == (None, 5, 4)
    assert L.Add().compute_output_shape([(None, None, 4), (None, 5, 4)]) == (None, None, 4)   # as Keras
    assert L.Concatenate()([gn.Input((3,)), gn.Input((5,))]).shape == (None, 8)
    assert L.Concatenate(axis=1)([gn.Input((2, 4)), gn.Input((3, 4))]).shape == (None, 5, 4)
    assert L.Dot(axes=1)([gn.Input((6,)), gn.Input((6,))]).shape == (None, 1)
    assert L.Dot(axes=(2, 2))([gn.Input((3, 6)), gn.Input((5, 6))]).shape == (None, 3, 5)
    assert L.Add().compute_output_shape([(None, 3), (None, 3)]) == (None, 3)
    assert L.Concatenate().compute_output_shape([(None, 2), (None, 3)]) == (None, 5)
    assert L.Dot(axes=1).compute_output_shape([(None, 4), (None, 4)]) == (None, 1)


def test_concatenate_and_dot_values(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 2))
    np.testing.assert_array_equal(L.Concatenate()([a, b]).numpy(), np.concatenate([a, b], -1).astype(np.float32))
    np.testing.assert_array_equal(L.concatenate([a, a], axis=1).numpy(), np.concatenate([a, a], 1).astype(np.float32))
    x, y = rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(L.Dot(axes=1)([x, y]).numpy(), (x * y).sum(1, keepdims=True), rtol=1e-5)
    cos = L.Dot(axes=-1, normalize=True)([x, y]).numpy()
    expected = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    np.testing.assert_allclose(cos[:, 0], expected, rtol=1e-5)
    p, q = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    np.testing.assert_allclose(L.Dot(axes=(2, 2))([p, q]).numpy(), np.einsum("bik,bjk->bij", p, q), rtol=1e-5)
    np.testing.assert_allclose(L.Dot(axes=(1, 1))([p, rng.standard_normal((2, 3))]).numpy().shape, (2, 4))


def test_errors():
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="list of inputs"):
        L.Add()(a)
    with pytest.raises(ValueError, match="incompatible shapes"):
        L.Add()([a, np.zeros((2, 4), np.float32)])
    with pytest.raises(ValueError, match="different batch sizes"):
        L.Add()([a, np.zeros((3, 3), np.float32)])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        L.Subtract()([a, a, a])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        L.Concatenate()([np.zeros((2, 3, 4)), np.zeros((2, 2, 4))])
    with pytest.raises(ValueError, match=r"axis values 3 \(at axis 1\) != 4 \(at axis 1\)"):
        L.Dot(axes=1)([a, np.zeros((2, 4), np.float32)])
    with pytest.raises(ValueError, match="two elements"):
        L.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="batch axis"):
        L.Dot(axes=0)([a, a])
    with pytest.raises(ValueError, match="incompatible shapes"):
        L.Add()([gn.Input((3,)), gn.Input((4,))])


@pytest.mark.parametrize("cls,n", [(L.Add, 3), (L.Subtract, 2), (L.Multiply, 3), (L.Average, 2),
                                   (L.Maximum, 3), (L.Minimum, 2)])
def test_gradcheck_elementwise(rng, cls, n):
    layer = cls(dtype="float64")
    xs = [rng.standard_normal((2, 3)) for _ in range(n)]
    assert gn.gradcheck(lambda *ts: layer(list(ts)), *xs)


@pytest.mark.parametrize("layer,shapes", [
    (lambda d: L.Concatenate(axis=1, dtype=d), [(2, 3, 2), (2, 1, 2)]),
    (lambda d: L.Dot(axes=1, dtype=d), [(2, 4), (2, 4)]),
    (lambda d: L.Dot(axes=(2, 1), normalize=True, dtype=d), [(2, 3, 4), (2, 4, 5)]),
])
def test_gradcheck_concatenate_dot(rng, layer, shapes):
    lay = layer("float64")
    xs = [rng.standard_normal(s) for s in shapes]
    assert gn.gradcheck(lambda *ts: lay(list(ts)), *xs)


def test_masks_propagate_and_maximum_ignores_masked(rng):
    a = gn.tensor(np.array([[[5.0], [1.0]]], np.float32))
    b = gn.tensor(np.array([[[2.0], [3.0]]], np.float32))
    a._keras_mask = np.array([[False, True]])
    b._keras_mask = np.array([[True, True]])
    out = L.Maximum()([a, b])
    np.testing.assert_array_equal(out.numpy()[0, :, 0], [2.0, 3.0])     # a's masked 5 never wins
    np.testing.assert_array_equal(out._keras_mask, [[True, True]])
    cat = L.Concatenate(axis=1)([a, b])
    np.testing.assert_array_equal(cat._keras_mask, [[False, True, True, True]])


def test_configs_round_trip():
    for layer in (L.Add(), L.Concatenate(axis=1), L.Dot(axes=(1, 2), normalize=True)):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == {**config, "name": clone.name}


@pytest.mark.parametrize("name,kwargs,shapes", [
    ("Add", {}, [(2, 3, 4)] * 3), ("Subtract", {}, [(2, 3)] * 2), ("Multiply", {}, [(2, 3, 4), (2, 1, 4)]),
    ("Average", {}, [(2, 3)] * 3), ("Maximum", {}, [(2, 5)] * 2), ("Minimum", {}, [(2, 5)] * 3),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 2, 4)]), ("Dot", {"axes": 1}, [(2, 4), (2, 4)]),
    ("Dot", {"axes": (2, 1)}, [(2, 3, 4), (2, 4, 5)]), ("Dot", {"axes": -1, "normalize": True}, [(2, 3, 4), (2, 5, 4)]),
])
def test_matches_keras(rng, name, kwargs, shapes):
    keras = keras_or_skip()
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    assert_matches_keras(getattr(L, name)(**kwargs), getattr(keras.layers, name)(**kwargs), xs)
