"""BatchNormalization (fused op) and LayerNormalization: shapes, gradients, Keras numbers."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.layers.normalization import batch_norm
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip


def _randomise(layer, rng):
    """Non-trivial weights: gamma around 1, beta around 0, positive moving variances."""
    new = []
    for w in layer.weights:
        if w.name == "moving_variance":
            new.append(rng.uniform(0.5, 2.0, w.shape).astype(w.dtype))
        elif w.name == "gamma":
            new.append(rng.uniform(0.5, 1.5, w.shape).astype(w.dtype))
        else:
            new.append(rng.standard_normal(w.shape).astype(w.dtype))
    layer.set_weights(new)


def _composed_bn(x, gamma, beta, axis, eps, mean=None, variance=None):
    """Batch norm written from primitive ops: the reference the fused op must equal."""
    ax = axis % x.ndim
    axes = tuple(i for i in range(x.ndim) if i != ax)
    shape = [1] * x.ndim
    shape[ax] = x.shape[ax]
    if mean is None:
        m, v = ops.mean(x, axes, keepdims=True), ops.var(x, axes, keepdims=True)
    else:
        m, v = gn.tensor(mean.reshape(shape)), gn.tensor(variance.reshape(shape))
    y = (x - m) / ops.sqrt(v + eps)
    if gamma is not None:
        y = y * ops.reshape(gamma, shape)
    if beta is not None:
        y = y + ops.reshape(beta, shape)
    return y


# ---- the fused op ---------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((5, 3), -1), ((4, 3, 2), -1), ((4, 3, 2), 1), ((2, 3, 4, 5), -1),
                                        ((2, 3, 4, 5), 1), ((7, 1), -1), ((3, 4), 0), ((1, 2, 3), -1)])
@pytest.mark.parametrize("fixed", [False, True])
def test_fused_op_equals_composed_and_gradchecks(rng, shape, axis, fixed):
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[axis]
    gamma = gn.tensor(rng.uniform(0.5, 1.5, c), requires_grad=True)
    beta = gn.tensor(rng.standard_normal(c), requires_grad=True)
    mean = rng.standard_normal(c) if fixed else None
    var = rng.uniform(0.5, 2, c) if fixed else None
    for g, b in [(gamma, beta), (gamma, None), (None, beta), (None, None)]:
        params = [p for p in (g, b) if p is not None]
        fused = lambda t: batch_norm(t, g, b, axis, 1e-3, mean=mean, variance=var)[0]
        composed = lambda t: _composed_bn(t, g, b, axis, 1e-3, mean, var)
        xa, xb = gn.tensor(x, requires_grad=True), gn.tensor(x, requires_grad=True)
        ya, yb = fused(xa), composed(xb)
        np.testing.assert_allclose(ya.numpy(), yb.numpy(), rtol=1e-12, atol=1e-12)
        cot = rng.standard_normal(ya.shape)
        for p in params:
            p.grad = None
        (ya * gn.tensor(cot)).sum().backward()
        fused_grads = [xa.grad] + [p.grad.copy() for p in params]
        for p in params:
            p.grad = None
        (yb * gn.tensor(cot)).sum().backward()
        for a, e in zip(fused_grads, [xb.grad] + [p.grad for p in params]):
            np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)
        assert gn.gradcheck(fused, x, params=params)


def test_fused_op_returns_batch_statistics(rng):
    x = rng.standard_normal((6, 4, 3))
    _, mean, var = batch_norm(x, axis=-1)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=(0, 1)), rtol=1e-12)


def test_fused_op_keeps_float32(rng):
    x = gn.tensor(rng.standard_normal((8, 5)).astype(np.float32), requires_grad=True)
    g = gn.tensor(np.ones(5, np.float32), requires_grad=True)
    y, _, _ = batch_norm(x, g, None, -1)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and g.grad.dtype == np.float32


# ---- BatchNormalization layer ---------------------------------------------------------------
def test_batchnorm_weights_and_shapes():
    bn = gn.layers.BatchNormalization()
    y = bn(np.zeros((2, 5, 5, 3), np.float32))
    assert y.shape == (2, 5, 5, 3)
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    np.testing.assert_array_equal(bn.gamma.numpy(), 1)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), 1)
    assert bn.count_params() == 12
    no_affine = gn.layers.BatchNormalization(center=False, scale=False)
    no_affine(np.zeros((2, 3)))
    assert [w.name for w in no_affine.weights] == ["moving_mean", "moving_variance"]
    out = gn.layers.BatchNormalization(axis=1)(gn.Input((4, 7)))
    assert out.shape == (None, 4, 7)


def test_batchnorm_training_uses_batch_statistics_and_updates_moving(rng):
    x = rng.standard_normal((32, 4)).astype(np.float32) * 3 + 2
    bn = gn.layers.BatchNormalization(momentum=0.9)
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), x.var(0) / (x.var(0) + 1e-3), rtol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), rtol=1e-5)
    before = bn.get_weights()
    y_inf = bn(x, training=False).numpy()               # inference: moving statistics, no update
    expected = (x - before[2]) / np.sqrt(before[3] + 1e-3)
    np.testing.assert_allclose(y_inf, expected, rtol=1e-5, atol=1e-5)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_frozen_runs_in_inference_mode(rng):
    x = rng.standard_normal((16, 3)).astype(np.float32)
    bn = gn.layers.BatchNormalization()
    bn(x)
    bn.trainable = False
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)


@pytest.mark.parametrize("axis,shape", [(-1, (6, 3)), (-1, (4, 3, 2)), (1, (4, 3, 2, 2))])
def test_batchnorm_gradcheck_inputs_and_weights(rng, axis, shape):
    bn = gn.layers.BatchNormalization(axis=axis, dtype="float64")
    x = rng.standard_normal(shape)
    bn(x)
    _randomise(bn, rng)
    assert gn.gradcheck(lambda t: bn(t, training=True), x, params=bn.trainable_weights)
    assert gn.gradcheck(lambda t: bn(t, training=False), x, params=bn.trainable_weights)


def test_batchnorm_mask_leaves_masked_steps_out(rng):
    x = rng.standard_normal((2, 5, 3))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], bool)
    bn = gn.layers.BatchNormalization(momentum=0.0, dtype="float64")
    bn(x, training=True, mask=mask)
    kept = x[mask]
    np.testing.assert_allclose(bn.moving_mean.numpy(), kept.mean(0), rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), kept.var(0), rtol=1e-6)
    assert gn.gradcheck(lambda t: bn(t, training=True, mask=mask), x, params=bn.trainable_weights)
    with pytest.raises(ValueError, match="one dimension less"):
        bn(x, training=True, mask=np.ones((2, 5, 3), bool))


def test_batchnorm_errors_and_failed_build_leaves_layer_unchanged():
    with pytest.raises(ValueError, match="renorm"):
        gn.layers.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="momentum"):
        gn.layers.BatchNormalization(momentum=1.5)
    bn = gn.layers.BatchNormalization(axis=3)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        bn(np.zeros((2, 3)))
    assert not bn.built and bn.weights == []
    bn = gn.layers.BatchNormalization()
    bn(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        bn(np.zeros((2, 4)))


def test_batchnorm_config_round_trip(rng):
    bn = gn.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-4, center=False, gamma_regularizer="l2")
    config = bn.get_config()
    assert config["axis"] == 1 and config["momentum"] == 0.9 and config["center"] is False
    clone = gn.layers.BatchNormalization.from_config(config)
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    bn(x)
    clone(x)
    clone.set_weights(bn.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), bn(x).numpy())
    assert len(bn.losses) == 1


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("shape,axis", [((8, 5), -1), ((4, 3, 3, 2), -1), ((4, 3, 5), 1)])
def test_batchnorm_matches_keras(rng, training, shape, axis):
    keras = keras_or_skip()
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    bn = gn.layers.BatchNormalization(axis=axis, momentum=0.8)
    bn(x)
    _randomise(bn, rng)
    assert_matches_keras(bn, keras.layers.BatchNormalization(axis=axis, momentum=0.8), x, training=training,
                         rtol=1e-4, atol=1e-5)


def test_batchnorm_moving_statistics_match_keras(rng):
    keras = keras_or_skip()
    import torch

    bn = gn.layers.BatchNormalization(momentum=0.7)
    kbn = keras.layers.BatchNormalization(momentum=0.7)
    batches = [(rng.standard_normal((6, 4, 3)) * (i + 1) + i).astype(np.float32) for i in range(4)]
    bn(batches[0])
    kbn(torch.tensor(batches[0]))
    _randomise(bn, rng)
    kbn.set_weights(bn.get_weights())
    for b in batches:
        bn(b, training=True)
        kbn(torch.tensor(b), training=True)
    for ours, theirs in zip(bn.get_weights(), kbn.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# ---- LayerNormalization ---------------------------------------------------------------------
def test_layernorm_normalises_each_sample(rng):
    x = rng.standard_normal((3, 4, 6)).astype(np.float32) * 5 + 2
    ln = gn.layers.LayerNormalization()
    y = ln(x).numpy()
    assert y.shape == x.shape
    assert [w.name for w in ln.weights] == ["gamma", "beta"]
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(y, (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3), rtol=1e-4, atol=1e-5)
    ln2 = gn.layers.LayerNormalization(axis=[1, 2])
    ln2(x)
    assert ln2.gamma.shape == (4, 6)
    assert gn.layers.LayerNormalization()(gn.Input((None, 6))).shape == (None, None, 6)


def test_layernorm_gradcheck(rng):
    for kwargs in ({}, {"axis": [1, 2]}, {"center": False}):
        ln = gn.layers.LayerNormalization(dtype="float64", **kwargs)
        x = rng.standard_normal((2, 3, 4))
        ln(x)
        ln.set_weights([rng.standard_normal(w.shape) for w in ln.weights])
        assert gn.gradcheck(lambda t: ln(t, training=True), x, params=ln.trainable_weights)


def test_layernorm_rms_scaling_is_keras_deprecated_mode(rng):
    with pytest.warns(UserWarning, match="deprecated"):
        ln = gn.layers.LayerNormalization(rms_scaling=True)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    y = ln(x).numpy()
    assert [w.name for w in ln.weights] == ["gamma"]
    np.testing.assert_allclose(y, x / np.sqrt(x.var(-1, keepdims=True) + 1e-3), rtol=1e-5)


def test_layernorm_errors_and_config():
    with pytest.raises(TypeError, match="axis"):
        gn.layers.LayerNormalization(axis="last")
    ln = gn.layers.LayerNormalization(axis=2)
    with pytest.raises(ValueError, match="out of bounds"):
        ln(np.zeros((2, 3)))
    assert not ln.built
    config = gn.layers.LayerNormalization(axis=[1, 2], epsilon=1e-5).get_config()
    clone = gn.layers.LayerNormalization.from_config(config)
    assert clone.axis == [1, 2] and clone.epsilon == 1e-5


@pytest.mark.parametrize("kwargs,shape", [({}, (4, 6)), ({"axis": [1, 2]}, (2, 3, 4)), ({"axis": -1}, (2, 3, 4)),
                                          ({"center": False, "scale": False}, (3, 5))])
def test_layernorm_matches_keras(rng, kwargs, shape):
    keras = keras_or_skip()
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    ln = gn.layers.LayerNormalization(**kwargs)
    ln(x)
    ln.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in ln.weights])
    assert_matches_keras(ln, keras.layers.LayerNormalization(**kwargs), x, rtol=1e-4, atol=1e-5)
