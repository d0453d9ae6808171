"""Convolution layers: shapes (eager and symbolic), gradients, numbers against Keras 3,
configs, errors."""
import json

import numpy as np
import pytest

import glassnet as gn
from tests.layers.fused_paths import grads_of, watched
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers

# (layer class name, kwargs, input shape): every case is run against Keras, gradchecked,
# shape-checked and config round-tripped
CASES = [
    ("Conv2D", dict(filters=4, kernel_size=3), (2, 7, 6, 3)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), strides=2, padding="same"), (2, 7, 8, 3)),
    ("Conv2D", dict(filters=3, kernel_size=2, strides=2, padding="same"), (1, 6, 7, 2)),  # even kernel
    ("Conv2D", dict(filters=4, kernel_size=3, strides=(2, 1), use_bias=False), (2, 7, 5, 2)),
    ("Conv2D", dict(filters=3, kernel_size=3, dilation_rate=2, padding="same"), (2, 9, 8, 2)),
    ("Conv2D", dict(filters=4, kernel_size=(2, 3), dilation_rate=(2, 1)), (1, 7, 6, 2)),
    ("Conv2D", dict(filters=6, kernel_size=3, groups=3, padding="same"), (2, 5, 6, 3)),
    ("Conv2D", dict(filters=2, kernel_size=1, activation="relu"), (2, 3, 4, 5)),
    ("Conv2D", dict(filters=3, kernel_size=5, padding="same", activation="tanh"), (1, 5, 5, 1)),
    ("Conv1D", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 10, 3)),
    ("Conv1D", dict(filters=3, kernel_size=2, padding="causal", dilation_rate=2), (2, 9, 2)),
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", strides=2), (2, 8, 2)),
    ("Conv1D", dict(filters=4, kernel_size=3, groups=2, activation="sigmoid"), (2, 8, 4)),
    ("Conv2D", dict(filters=3, kernel_size=3, strides=2, padding="same", activation="softmax"), (2, 7, 6, 2)),
    ("Conv2D", dict(filters=4, kernel_size=2, dilation_rate=2, activation="sigmoid", use_bias=False), (1, 6, 7, 3)),
    ("Conv2D", dict(filters=4, kernel_size=3, groups=2, activation="relu"), (2, 6, 5, 4)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=(3, 2), strides=2, output_padding=1), (1, 3, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=4, strides=2, padding="same"), (1, 3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3), (2, 3, 2, 2)),  # stride > kernel
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"), (1, 4, 5, 2)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 5, 2)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=4, strides=2, use_bias=False), (2, 4, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3), (2, 6, 5, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2), (2, 7, 6, 3)),
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), dilation_rate=2, activation="relu"), (1, 7, 8, 2)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 7, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3), (2, 6, 5, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, strides=2, padding="same", depth_multiplier=2), (1, 7, 7, 2)),
    ("SeparableConv2D", dict(filters=3, kernel_size=2, dilation_rate=2, use_bias=False), (2, 6, 6, 2)),
    ("SeparableConv1D", dict(filters=4, kernel_size=3, padding="same", depth_multiplier=2), (2, 8, 3)),
    ("SeparableConv2D", dict(filters=3, kernel_size=3, activation="tanh"), (2, 6, 5, 2)),
]


def _id(case):
    name, kw, shape = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def _randomize(layer, rng):
    """Non-zero weights everywhere (so biases are tested too)."""
    layer.set_weights([rng.standard_normal(w.shape).astype(w.dtype) * 0.5 for w in layer.weights])


def _built(name, kw, shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    layer = getattr(L, name)(**kw, dtype=dtype)
    x = rng.standard_normal(shape).astype(dtype)
    layer(x)
    _randomize(layer, rng)
    return layer, x


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_keras(case):
    keras = keras_or_skip()
    name, kw, shape = case
    layer, x = _built(name, kw, shape)
    assert_matches_keras(layer, getattr(keras.layers, name)(**kw), x)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_gradcheck_inputs_and_weights(case):
    name, kw, shape = case
    layer, x = _built(name, kw, shape, dtype="float64", seed=1)
    assert gn.gradcheck(lambda t: layer(t), x, params=layer.trainable_weights)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_output_shape_eager_symbolic_and_computed(case):
    name, kw, shape = case
    layer, x = _built(name, kw, shape)
    eager = layer(x).shape
    symbolic = layer(gn.Input(shape=shape[1:])).shape
    assert symbolic == (None,) + eager[1:]
    assert tuple(layer.compute_output_shape((None,) + shape[1:])) == symbolic


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_unknown_sizes_stay_unknown(case):
    name, kw, shape = case
    free = (None,) * (len(shape) - 2) + shape[-1:]
    layer = getattr(L, name)(**kw)
    want = (None,) * (len(shape) - 1) + layer(np.zeros(shape, "float32")).shape[-1:]
    assert layer.compute_output_shape((None,) + free) == want
    symbolic = layer(gn.Input(shape=free)).shape
    if symbolic != want:
        # input_layer.symbolic_call infers shapes by running the layer on sizes 8 and 9 (see the report)
        pytest.xfail(f"base shape probe: {symbolic} instead of {want}")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_config_round_trip(case):
    name, kw, shape = case
    layer, x = _built(name, kw, shape)
    config = layer.get_config()
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert json.dumps(clone.get_config()) == json.dumps(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize("case", CASES[::3], ids=_id)
def test_config_keys_and_values_match_keras(case):
    keras = keras_or_skip()
    name, kw, _ = case
    ours = json.loads(json.dumps(getattr(L, name)(**kw).get_config()))
    theirs = json.loads(json.dumps(getattr(keras.layers, name)(**kw).get_config()))
    assert set(theirs) <= set(ours)
    for key in set(theirs) - {"name", "dtype"}:
        assert ours[key] == theirs[key], key
    # and Keras accepts our config as is
    back = getattr(keras.layers, name).from_config(ours)
    assert back.get_config()["kernel_size"] == tuple(ours["kernel_size"])


def test_weight_layouts_and_names_are_keras():
    x = np.zeros((1, 8, 8, 6), "float32")
    c = L.Conv2D(4, (3, 2), groups=2)
    c(x)
    assert [(w.name, w.shape) for w in c.weights] == [("kernel", (3, 2, 3, 4)), ("bias", (4,))]
    t = L.Conv2DTranspose(5, 3)
    t(x)
    assert [(w.name, w.shape) for w in t.weights] == [("kernel", (3, 3, 5, 6)), ("bias", (5,))]
    d = L.DepthwiseConv2D(3, depth_multiplier=2)
    d(x)
    assert [(w.name, w.shape) for w in d.weights] == [("kernel", (3, 3, 6, 2)), ("bias", (12,))]
    s = L.SeparableConv2D(7, 3, depth_multiplier=2)
    s(x)
    assert [(w.name, w.shape) for w in s.weights] == [
        ("depthwise_kernel", (3, 3, 6, 2)), ("pointwise_kernel", (1, 1, 12, 7)), ("bias", (7,))]
    c1 = L.Conv1D(4, 5)
    c1(np.zeros((1, 9, 3), "float32"))
    assert [(w.name, w.shape) for w in c1.weights] == [("kernel", (5, 3, 4)), ("bias", (4,))]


def test_seed_003_example_conv2d_same_760_params():
    layer = L.Conv2D(10, 5, padding="same")
    y = layer(gn.Input(shape=(32, 32, 3)))
    assert y.shape == (None, 32, 32, 10)
    assert layer.count_params() == 760  # 5*5*3*10 + 10


def test_worked_example_by_hand():
    """One 3x3 filter on a 4x4 image: each output is the sum of window * kernel, plus bias."""
    img = np.arange(16, dtype="float64").reshape(1, 4, 4, 1)
    k = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], "float64")  # Sobel x
    layer = L.Conv2D(1, 3, dtype="float64")
    layer(img)
    layer.set_weights([k[:, :, None, None], np.array([0.5])])
    want = [[sum(img[0, i + a, j + b, 0] * k[a, b] for a in range(3) for b in range(3)) + 0.5
             for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(layer(img).numpy()[0, :, :, 0], want)


def test_causal_conv1d_does_not_look_ahead():
    layer = L.Conv1D(2, 3, padding="causal", dilation_rate=2, dtype="float64")
    x = np.random.default_rng(0).standard_normal((1, 10, 2))
    y = layer(x).numpy()
    x2 = x.copy()
    x2[:, 6:] += 1.0  # change the future only
    np.testing.assert_array_equal(layer(x2).numpy()[:, :6], y[:, :6])


def test_transpose_inverts_conv_shape():
    x = gn.Input(shape=(13, 11, 3))
    down = L.Conv2D(4, 3, strides=2, padding="same")(x)
    up = L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=(0, 0))(down)
    assert down.shape == (None, 7, 6, 4)
    assert up.shape == (None, 13, 11, 3)


def test_regularizers_and_constraints_are_attached():
    layer = L.SeparableConv2D(3, 3, depthwise_regularizer="l2", pointwise_regularizer="l1",
                              bias_regularizer="l2", activity_regularizer="l2", depthwise_constraint="non_neg")
    layer(np.ones((1, 5, 5, 2), "float32"))
    assert len(layer.losses) == 4
    assert layer.depthwise_kernel.constraint is not None and layer.pointwise_kernel.constraint is None
    conv = L.Conv2D(2, 3, kernel_regularizer="l2", kernel_constraint="max_norm")
    conv(np.ones((1, 5, 5, 2), "float32"))
    assert len(conv.losses) == 1 and conv.kernel.constraint is not None


def test_aliases_are_keras_names():
    assert L.Convolution2D is L.Conv2D and L.Convolution1D is L.Conv1D
    assert L.SeparableConvolution2D is L.SeparableConv2D
    assert L.Convolution2DTranspose is L.Conv2DTranspose


@pytest.mark.parametrize("name", ['Conv1D', 'Conv2D', 'Conv1DTranspose', 'Conv2DTranspose', 'DepthwiseConv1D', 'DepthwiseConv2D', 'SeparableConv1D', 'SeparableConv2D'])
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


# ---- the fused conv + bias + activation node ---------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fused_node_equals_the_plain_path(case):
    name, kw, shape = case
    layer, x = _built(name, kw, shape, seed=3)
    cot = np.random.default_rng(4).standard_normal(layer(x).shape).astype(np.float32)
    fused, fused_grads = grads_of(layer, x, cot)
    with watched():
        plain, plain_grads = grads_of(layer, x, cot)
    act = kw.get("activation")
    if "Transpose" not in name and act in (None, "relu", "sigmoid", "tanh", "softmax"):
        if act is None and kw.get("use_bias") is False:
            assert fused.op.name == plain.op.name == "conv"  # nothing to fuse
        else:
            assert fused.op.name.startswith("conv_") and plain.op.name != fused.op.name
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-5, atol=1e-6)
    for i, (a, b) in enumerate(zip(fused_grads, plain_grads)):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"gradient {i}")


def test_convnet_training_step_and_predict_equal_on_both_paths():
    """The keras-io MNIST convnet (small): one Adam step from the same weights, fused or not."""
    def model():
        gn.utils.set_random_seed(0)
        m = gn.Sequential([gn.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                           L.Conv2D(6, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                           L.Dense(5, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m

    rng = np.random.default_rng(0)
    x, y = rng.random((8, 12, 12, 1)).astype(np.float32), rng.integers(0, 5, 8)
    fused, plain = model(), model()
    loss_fused = fused.train_on_batch(x, y)
    with watched():
        loss_plain = plain.train_on_batch(x, y)
    np.testing.assert_allclose(loss_fused, loss_plain, rtol=1e-6)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    pred = fused.predict(x, verbose=0)
    with watched():
        np.testing.assert_allclose(pred, fused.predict(x, verbose=0), rtol=1e-5, atol=1e-7)


def test_detect_anomaly_sees_conv_add_and_activation():
    layer, x = _built("Conv2D", dict(filters=2, kernel_size=3, activation="relu"), (1, 5, 5, 1))
    with gn.debug.detect_anomaly():
        y = layer(gn.tensor(x, requires_grad=True))
    assert [y.op.name, y.op.inputs[0].op.name, y.op.inputs[0].op.inputs[0].op.name] == ["relu", "add", "conv"]
    assert layer(gn.tensor(x, requires_grad=True)).op.name == "conv_bias_relu"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept(dtype):
    for name, kw, shape in [("Conv2D", dict(filters=3, kernel_size=3, activation="relu"), (2, 5, 5, 2)),
                            ("DepthwiseConv2D", dict(kernel_size=3, activation="sigmoid"), (2, 5, 5, 2)),
                            ("Conv1D", dict(filters=2, kernel_size=3, activation="softmax"), (2, 6, 3))]:
        layer, x = _built(name, kw, shape, dtype=dtype)
        y, grads = grads_of(layer, x, np.ones(layer(x).shape, dtype))
        assert y.op.name.startswith("conv_bias_")
        assert y.dtype == dtype and all(g.dtype == dtype for g in grads)


# ---- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("filters", [0, -3, 2.5, None, True])
def test_filters_must_be_positive_int(filters):
    with pytest.raises(ValueError, match=r"Conv2D .*`filters` must be a positive integer"):
        L.Conv2D(filters, 3)


def test_missing_channels_axis_is_explained_and_builds_nothing():
    layer = L.Conv2D(8, 3)
    with pytest.raises(ValueError) as e:
        layer(gn.Input(shape=(28, 28)))
    msg = str(e.value)
    assert f'layer "{layer.name}"' in msg and "expected ndim=4" in msg and "found ndim=3" in msg
    assert "did you forget a channels axis? use Reshape((28, 28, 1)) or x[..., None]" in msg
    assert not layer.built and layer.weights == []
    with pytest.raises(ValueError, match=r"Reshape\(\(28, 28, 1\)\) or x\[\.\.\., None\]"):
        layer(np.zeros((4, 28, 28), "float32"))
    assert layer(np.zeros((4, 28, 28, 1), "float32")).shape == (4, 26, 26, 8)


def test_other_rank_errors():
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=2.*Reshape\(\(28, 28, 1\)\)"):
        L.Conv2D(2, 3)(np.zeros((2, 784), "float32"))
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=4.*use Conv2D"):
        L.Conv1D(2, 3)(np.zeros((2, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"expected ndim=3.*Reshape\(\(50, 1\)\)"):
        L.Conv1D(2, 3)(gn.Input(shape=(50,)))
    built = L.Conv2D(2, 3)
    built(np.zeros((1, 5, 5, 1), "float32"))
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        built(np.zeros((1, 5, 5), "float32"))


def test_groups_must_divide_filters_and_channels():
    with pytest.raises(ValueError, match=r"filters=4 must be divisible by groups=3"):
        L.Conv2D(4, 3, groups=3)
    with pytest.raises(ValueError, match=r"groups.*positive"):
        L.Conv2D(4, 3, groups=0)
    layer = L.Conv2D(6, 3, groups=3)
    with pytest.raises(ValueError, match=r'Conv2D "conv2.*4 channels must be divisible by groups=3'):
        layer(np.zeros((1, 5, 5, 4), "float32"))
    assert not layer.built and layer.weights == []


def test_channel_count_fixed_after_build():
    layer = L.Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 5, 5, 4), "float32"))


def test_window_larger_than_input():
    layer = L.Conv2D(2, 5)
    with pytest.raises(ValueError, match=r"Conv2D .*larger than the input's spatial size \(3, 3\).*padding='same'"):
        layer(np.zeros((1, 3, 3, 1), "float32"))
    assert not layer.built
    assert L.Conv2D(2, 5, padding="same")(np.zeros((1, 3, 3, 1), "float32")).shape == (1, 3, 3, 2)
    with pytest.raises(ValueError, match="larger than the input"):
        L.Conv1D(2, 3, dilation_rate=3)(np.zeros((1, 6, 1), "float32"))


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(filters=2, kernel_size=3, data_format="channels_first"), "only data_format='channels_last'"),
    (dict(filters=2, kernel_size=3, padding="causal"), "'causal' is only for Conv1D"),
    (dict(filters=2, kernel_size=3, padding="full"), "`padding` must be one of"),
    (dict(filters=2, kernel_size=0), "`kernel_size` must be positive"),
    (dict(filters=2, kernel_size=(3, 3, 3)), "`kernel_size` must be an int or a tuple of 2 ints"),
    (dict(filters=2, kernel_size=3.0), "`kernel_size` must be an int or a tuple of 2 ints"),
    (dict(filters=2, kernel_size=3, strides=0), "`strides` must be positive"),
    (dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "strides > 1 cannot be combined"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        L.Conv2D(**kwargs)


def test_bad_arguments_other_layers():
    with pytest.raises(ValueError, match="output_padding must be smaller than its stride"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="`padding` must be one of"):
        L.Conv2DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"DepthwiseConv2D .*`depth_multiplier` must be a positive integer"):
        L.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match=r"SeparableConv2D .*`filters`"):
        L.SeparableConv2D(0, 3)
    with pytest.raises(ValueError, match="only data_format='channels_last'"):
        L.Conv1D(2, 3, data_format="channels_first")
    with pytest.raises(TypeError, match="unrecognized keyword arguments"):
        L.Conv2D(2, 3, kernal_initializer="zeros")
    assert L.Conv2D(2, 3, padding="SAME").padding == "same"
