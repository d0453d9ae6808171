"""Dense: numbers and gradients against Keras 3, the fused matmul + bias + activation node
against the plain ops, what glass-box hooks see, dtypes."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers.core import fused_activation
from tests.layers.fused_paths import grads_of, watched
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers

# (kwargs, input shape)
CASES = [
    (dict(units=5), (4, 3)),
    (dict(units=5, activation="relu"), (4, 3)),
    (dict(units=3, activation="sigmoid"), (6, 7)),
    (dict(units=4, activation="tanh", use_bias=False), (2, 5)),
    (dict(units=6, activation="softmax"), (3, 4)),
    (dict(units=4, activation="relu"), (2, 3, 5)),     # a sequence: rows folded into the GEMM
    (dict(units=2, activation="softmax"), (2, 1, 3, 4)),
    (dict(units=3, activation="gelu"), (4, 3)),        # not fused: the plain path
]


def _id(case):
    return "-".join(f"{k}={v}" for k, v in case[0].items()) + f"-x{case[1]}"


def _built(kw, shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    layer = L.Dense(**kw, dtype=dtype)
    x = rng.standard_normal(shape).astype(dtype)
    layer(x)
    layer.set_weights([rng.standard_normal(w.shape).astype(dtype) * 0.7 for w in layer.weights])
    return layer, x


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_keras(case):
    keras = keras_or_skip()
    kw, shape = case
    layer, x = _built(kw, shape)
    assert_matches_keras(layer, keras.layers.Dense(**kw), x)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_gradcheck_inputs_and_weights(case):
    kw, shape = case
    layer, x = _built(kw, shape, dtype="float64", seed=1)
    assert gn.gradcheck(lambda t: layer(t), x, params=layer.trainable_weights)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fused_node_equals_the_plain_path(case):
    kw, shape = case
    layer, x = _built(kw, shape, seed=2)
    cot = np.random.default_rng(3).standard_normal(shape[:-1] + (kw["units"],)).astype(np.float32)
    fused, fused_grads = grads_of(layer, x, cot)
    with watched():
        plain, plain_grads = grads_of(layer, x, cot)
    act = kw.get("activation", "linear")
    if act == "gelu":
        assert fused.op.name == plain.op.name  # nothing to fuse
    else:
        assert fused.op.name == "matmul" + ("_bias" if kw.get("use_bias", True) else "") + \
            ("" if act == "linear" else "_" + act)
        assert plain.op.name == ("add" if act == "linear" else act)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-5, atol=1e-6)
    for i, (a, b) in enumerate(zip(fused_grads, plain_grads)):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"gradient {i}")


def test_detect_anomaly_sees_matmul_add_and_activation():
    layer, x = _built(dict(units=3, activation="relu"), (2, 4))
    with gn.debug.detect_anomaly():
        y = layer(gn.tensor(x, requires_grad=True))
    assert [y.op.name, y.op.inputs[0].op.name, y.op.inputs[0].op.inputs[0].op.name] == ["relu", "add", "matmul"]
    assert layer(gn.tensor(x, requires_grad=True)).op.name == "matmul_bias_relu"  # hooks gone: fused again


def test_predict_is_the_same_on_both_paths():
    gn.utils.set_random_seed(0)
    model = gn.Sequential([gn.Input((6,)), L.Dense(8, activation="tanh"), L.Dense(4, activation="softmax")])
    x = np.random.default_rng(0).standard_normal((10, 6)).astype(np.float32)
    fused = model.predict(x, verbose=0)
    with watched():
        plain = model.predict(x, verbose=0)
    assert fused.dtype == plain.dtype == np.float32
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept(dtype):
    layer, x = _built(dict(units=3, activation="sigmoid"), (4, 5), dtype=dtype)
    y, grads = grads_of(layer, x, np.ones((4, 3), dtype))
    assert y.op.name == "matmul_bias_sigmoid"
    assert y.dtype == dtype and all(g.dtype == dtype for g in grads)
    half, x16 = _built(dict(units=3, activation="relu"), (4, 5), dtype="float16")
    y16 = half(gn.tensor(x16, requires_grad=True))
    assert y16.dtype == np.float16 and y16.op.name == "relu"  # float16 keeps the plain ops


def test_fused_activation_knows_only_its_own():
    acts = gn.activations
    assert [fused_activation(acts.get(n)) for n in (None, "relu", "sigmoid", "tanh", "softmax")] == \
        ["linear", "relu", "sigmoid", "tanh", "softmax"]
    assert fused_activation(gn.ops.relu) == "relu"

    class Unhashable:
        __hash__ = None

        def __call__(self, x):
            return x

    for other in (acts.gelu, acts.leaky_relu, acts.relu6, lambda x: gn.ops.relu(x), Unhashable(), L.ReLU()):
        assert fused_activation(other) is None
    with watched():
        assert fused_activation(acts.relu) is None
