"""SimpleRNN, LSTM, GRU, RNN(cell), Bidirectional, TimeDistributed.

Three independent checks of the fused whole-sequence ops (glassnet/layers/rnn_fused.py):
a composed reference written here with plain ops per step, the layers' own step-by-step
path (``use_fused = False``), and real Keras 3 with the same weights.
"""
import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.layers import rnn_parts
from tests.layers.keras_reference import assert_matches_keras, keras_or_skip

L = gn.layers
RNNS = [L.SimpleRNN, L.LSTM, L.GRU]
N_STATES = {L.SimpleRNN: 1, L.LSTM: 2, L.GRU: 1}
MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [0, 0, 1, 1, 0]], bool)


def _f64(cls, units=4, **kw):
    return cls(units, dtype="float64", bias_initializer="random_normal", **kw)


def _run(layer, x, seed=0, **kwargs):
    """Outputs, input gradient and weight gradients of <cotangent, outputs>."""
    xt = gn.tensor(x, requires_grad=True)
    states = kwargs.get("initial_state") or []
    for s in states:
        s.grad = None
    out = layer(xt, **kwargs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for w in layer.trainable_weights:
        w.grad = None
    rng = np.random.default_rng(seed)
    total = sum((o * gn.tensor(rng.standard_normal(o.shape))).sum() for o in outs)
    total.backward()
    return ([o.numpy().copy() for o in outs] + [xt.grad.copy()] + [w.grad.copy() for w in layer.trainable_weights]
            + [s.grad.copy() for s in states])


def _fused_equals_composed(layer, x, **kwargs):
    fused = _run(layer, x, **kwargs)
    layer.use_fused = False
    layer.cell._rng = None  # the same dropout masks again (seeded)
    composed = _run(layer, x, **kwargs)
    assert len(fused) == len(composed)
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ---- a composed LSTM written here, independent of the layer code -----------------------------
def _lstm_by_hand(x, kernel, rec, bias, mask=None):
    u = rec.shape[0]
    h = c = gn.tensor(np.zeros((x.shape[0], u)))
    outs = []
    for t in range(x.shape[1]):
        z = ops.matmul(x[:, t], kernel) + ops.matmul(h, rec) + bias
        i, f = ops.sigmoid(z[:, :u]), ops.sigmoid(z[:, u:2 * u])
        g, o = ops.tanh(z[:, 2 * u:3 * u]), ops.sigmoid(z[:, 3 * u:])
        c_new = f * c + i * g
        h_new = o * ops.tanh(c_new)
        if mask is not None:
            m = mask[:, t, None]
            h_new, c_new = ops.where(m, h_new, h), ops.where(m, c_new, c)
        h, c = h_new, c_new
        outs.append(h)
    return ops.stack(outs, axis=1)


@pytest.mark.parametrize("mask", [None, MASK])
def test_fused_lstm_equals_plain_ops_by_hand(mask):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 2))
    layer = _f64(L.LSTM, return_sequences=True)
    layer(x)
    k, r, b = layer.trainable_weights
    got = _run(layer, x, mask=mask)
    xt = gn.tensor(x, requires_grad=True)
    for w in (k, r, b):
        w.grad = None
    y = _lstm_by_hand(xt, k, r, b, mask)
    (y * gn.tensor(np.random.default_rng(0).standard_normal(y.shape))).sum().backward()
    for a, want in zip(got, [y.numpy(), xt.grad, k.grad, r.grad, b.grad]):
        np.testing.assert_allclose(a, want, rtol=1e-10, atol=1e-12)


# ---- fused op == the layer's own step-by-step path (float64) -------------------------------
@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("kw", [{}, {"return_sequences": True}, {"go_backwards": True, "return_state": True},
                                {"return_sequences": True, "go_backwards": True, "zero_output_for_mask": True}])
@pytest.mark.parametrize("mask", [None, MASK])
def test_fused_equals_step_by_step(cls, kw, mask):
    x = np.random.default_rng(1).standard_normal((3, 5, 2))
    _fused_equals_composed(_f64(cls, **kw), x, mask=mask)


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("dropout,recurrent_dropout", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)])
def test_fused_equals_step_by_step_with_dropout_initial_state_and_mask(cls, dropout, recurrent_dropout):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 2))
    init = [gn.tensor(rng.standard_normal((3, 4)), requires_grad=True) for _ in range(N_STATES[cls])]
    layer = _f64(cls, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=7, return_sequences=True,
                 return_state=True)
    _fused_equals_composed(layer, x, mask=MASK, initial_state=init, training=True)


@pytest.mark.parametrize("cls,kw", [(L.SimpleRNN, {"activation": "relu"}), (L.LSTM, {"activation": "relu"}),
                                    (L.LSTM, {"recurrent_activation": "linear"}), (L.GRU, {"activation": "linear"}),
                                    (L.GRU, {"recurrent_activation": "relu"})])
def test_fused_with_other_activations(cls, kw):
    x = np.random.default_rng(3).standard_normal((3, 5, 2))
    layer = _f64(cls, return_sequences=True, **kw)
    assert layer._fused_args() is not None
    _fused_equals_composed(layer, x, mask=MASK)


@pytest.mark.parametrize("kw", [{}, {"go_backwards": True, "activation": "relu"}])
def test_fused_lstm_backward_twice_on_one_graph(kw):
    """The fused LSTM's backward writes its gradients over the saved activations; a second
    backward on the same graph (gn.explain does one) runs the forward again, with the same
    dropout masks, and adds exactly the same gradients."""
    rng = np.random.default_rng(5)
    x = gn.tensor(rng.standard_normal((3, 5, 2)), requires_grad=True)
    layer = _f64(L.LSTM, dropout=0.3, recurrent_dropout=0.4, seed=3, return_sequences=True, return_state=True,
                 **kw)
    outs = layer(x, mask=MASK, training=True)
    total = sum((o * gn.tensor(rng.standard_normal(o.shape))).sum() for o in outs)
    total.backward()
    first = [x.grad.copy()] + [w.grad.copy() for w in layer.trainable_weights]
    total.backward()
    second = [x.grad] + [w.grad for w in layer.trainable_weights]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(b, 2 * a)
    # and the first backward was the composed cell's (same masks: the cell's seeded generator)
    layer.use_fused = False
    layer.cell._rng = None
    for w in layer.trainable_weights:
        w.grad = None
    x.grad = None
    outs = layer(x, mask=MASK, training=True)
    rng = np.random.default_rng(5)
    rng.standard_normal((3, 5, 2))  # the draw for x above: the same cotangents follow
    sum((o * gn.tensor(rng.standard_normal(o.shape))).sum() for o in outs).backward()
    for a, b in zip(first, [x.grad] + [w.grad for w in layer.trainable_weights]):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_unsupported_activation_falls_back_to_steps():
    layer = L.LSTM(3, activation="softsign")
    assert layer._fused_args() is None
    assert L.GRU(3, reset_after=False)._fused_args() is None
    assert layer(np.ones((2, 4, 3), "float32")).shape == (2, 3)


# ---- gradcheck in float64 ------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("kw", [{"return_sequences": True}, {"go_backwards": True, "return_state": True}])
def test_gradcheck(cls, kw):
    x = np.random.default_rng(4).standard_normal((2, 4, 3))
    layer = _f64(cls, units=3, **kw)
    layer(x)
    assert gn.gradcheck(lambda x: layer(x), x, params=layer.trainable_weights)


@pytest.mark.parametrize("cls", RNNS)
def test_gradcheck_with_mask_initial_state_and_dropout(cls):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 2))
    states = [rng.standard_normal((3, 3)) for _ in range(N_STATES[cls])]
    layer = _f64(cls, units=3, return_sequences=True, return_state=True, dropout=0.3, recurrent_dropout=0.3, seed=1)
    layer(x)

    def f(x, *init):
        layer.cell._rng = None  # the same masks on every evaluation
        return layer(x, initial_state=list(init), mask=MASK, training=True)

    assert gn.gradcheck(f, x, *states, params=layer.trainable_weights)


# ---- shapes, weights, config ---------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_output_shapes(cls, return_sequences, return_state, go_backwards):
    layer = cls(5, return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards)
    out = layer(np.zeros((2, 7, 3), "float32"))
    main = (2, 7, 5) if return_sequences else (2, 5)
    if return_state:
        assert isinstance(out, tuple) and len(out) == 1 + N_STATES[cls]
        assert out[0].shape == main and all(s.shape == (2, 5) for s in out[1:])
    else:
        assert out.shape == main and out.dtype == np.float32


def test_weights_shapes_paths_and_defaults():
    x = np.zeros((2, 3, 4), "float32")
    shapes = {
        L.LSTM(5): ("lstm_cell", [(4, 20), (5, 20), (20,)]),
        L.GRU(5): ("gru_cell", [(4, 15), (5, 15), (2, 15)]),
        L.GRU(5, reset_after=False): ("gru_cell", [(4, 15), (5, 15), (15,)]),
        L.SimpleRNN(5): ("simple_rnn_cell", [(4, 5), (5, 5), (5,)]),
    }
    for layer, (cell, want) in shapes.items():
        layer(x)
        assert [(w.path, w.shape) for w in layer.weights] == [
            (f"{layer.name}/{cell}/{n}", s) for n, s in zip(["kernel", "recurrent_kernel", "bias"], want)]
    lstm = next(iter(shapes))
    bias = lstm.cell.bias.numpy()
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])  # unit_forget_bias
    u = lstm.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(u @ u.T, np.eye(5), atol=1e-5)  # orthogonal rows
    assert lstm.units == 5 and lstm.activation is gn.activations.tanh and lstm.recurrent_dropout == 0.0


@pytest.mark.parametrize("layer", [L.LSTM(3, return_sequences=True, dropout=0.1, unit_forget_bias=False),
                                   L.GRU(3, reset_after=False, go_backwards=True), L.SimpleRNN(3, activation="relu")])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert "cell" not in config and config["units"] == 3


def test_rnn_with_a_cell_equals_the_layer():
    x = np.random.default_rng(6).standard_normal((2, 4, 3)).astype("float32")
    lstm = L.LSTM(5, return_sequences=True)
    rnn = L.RNN(L.LSTMCell(5), return_sequences=True)
    lstm(x), rnn(x)
    rnn.set_weights(lstm.get_weights())
    np.testing.assert_allclose(rnn(x).numpy(), lstm(x).numpy(), rtol=1e-6, atol=1e-6)
    # the cell's weights sit under the RNN's path (names depend on what the worker built before)
    assert rnn.cell.name.startswith("lstm_cell") and rnn.weights[0].path == f"{rnn.name}/{rnn.cell.name}/kernel"
    assert type(L.RNN.from_config(rnn.get_config()).cell) is L.LSTMCell


def test_functional_shapes_with_unknown_time():
    inp = gn.Input((None, 3))
    out = L.LSTM(4, return_sequences=True)(inp)
    assert out.shape == (None, None, 4)
    assert L.GRU(4)(inp).shape == (None, 4)
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(inp)
    assert (seq.shape, h.shape, c.shape) == ((None, None, 4), (None, 4), (None, 4))
    model = gn.Model(inp, L.LSTM(4)(out, initial_state=[h, c]))
    assert model(np.zeros((3, 5, 3), "float32")).shape == (3, 4)


class MinimalRNNCell(gn.layers.Layer):
    """The custom cell of Keras' RNN documentation: h_t = x_t W + tanh(h_{t-1}) U."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        out = ops.matmul(inputs, self.kernel) + ops.matmul(ops.tanh(states[0]), self.recurrent_kernel)
        return out, [out]


def test_rnn_with_a_custom_cell():
    x = np.random.default_rng(7).standard_normal((2, 4, 3))
    layer = L.RNN(MinimalRNNCell(5, dtype="float64"), return_sequences=True, dtype="float64")
    y = layer(x, mask=MASK[:2, :4])
    assert y.shape == (2, 4, 5) and [w.path for w in layer.weights] == [f"{layer.name}/{layer.cell.name}/kernel",
                                                                         f"{layer.name}/{layer.cell.name}/recurrent_kernel"]
    k, r = layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy()
    h = np.zeros((2, 5))
    for t in range(4):
        new = x[:, t] @ k + np.tanh(h) @ r
        h = np.where(MASK[:2, t, None], new, h)
        np.testing.assert_allclose(y.numpy()[:, t], h, rtol=1e-12)
    assert gn.gradcheck(lambda x: layer(x), x, params=layer.trainable_weights)


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="stateful"):
        L.LSTM(3, stateful=True)
    layer = L.LSTM(3, name="enc")
    with pytest.raises(ValueError, match='"enc".*ndim=3'):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r'"enc".*initial_state must be a list of 2'):
        layer(np.zeros((2, 4, 3), "float32"), initial_state=[np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError, match=r"initial_state\[1\] must have shape"):
        layer(np.zeros((2, 4, 3), "float32"), initial_state=[np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, time\)"):
        layer(np.zeros((2, 4, 3), "float32"), mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="units must be a positive integer"):
        L.GRU(0)


def test_dropout_statistics_and_inference_identity():
    # linear SimpleRNN with W = I, U = 0 outputs x * input-dropout mask: the mask's zeros
    # are a fraction ~rate, the kept values are scaled by 1/(1-rate), and the mask is the
    # same at every step (one mask per sequence, as Keras)
    layer = L.SimpleRNN(50, activation="linear", use_bias=False, dropout=0.4, return_sequences=True, seed=0)
    x = np.ones((200, 3, 50), "float32")
    layer(x)
    layer.set_weights([np.eye(50, dtype="float32"), np.zeros((50, 50), "float32")])
    y = layer(x, training=True).numpy()
    assert abs((y[:, 0] == 0).mean() - 0.4) < 0.02
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)
    np.testing.assert_array_equal(y[:, 0], y[:, 2])
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    # recurrent dropout: per-gate masks for the LSTM (Keras' implementation 1)
    lstm = L.LSTM(4, recurrent_dropout=0.5)
    assert lstm.cell.dropout_mask_count == 4 and L.LSTM(4, dropout=0.5).cell.dropout_mask_count == 1


# ---- against Keras 3 -----------------------------------------------------------------------
def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("name,kw", [
    ("LSTM", {}), ("LSTM", {"return_sequences": True, "return_state": True}),
    ("LSTM", {"go_backwards": True, "return_sequences": True}), ("LSTM", {"use_bias": False, "activation": "relu"}),
    ("GRU", {"return_sequences": True}), ("GRU", {"go_backwards": True, "return_state": True}),
    ("GRU", {"reset_after": False, "return_sequences": True}),
    ("SimpleRNN", {"return_sequences": True, "return_state": True}), ("SimpleRNN", {"go_backwards": True}),
])
def test_matches_keras(name, kw):
    k = keras_or_skip()
    assert_matches_keras(getattr(L, name)(4, **kw), getattr(k.layers, name)(4, **kw), _x((3, 6, 5)))


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_matches_keras_in_training_mode_with_zero_dropout(name):
    k = keras_or_skip()
    assert_matches_keras(getattr(L, name)(4, return_sequences=True), getattr(k.layers, name)(4, return_sequences=True),
                         _x((3, 6, 5)), training=True)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_embedding_mask_then_rnn_matches_keras_sequential(name, return_sequences):
    import torch
    k = keras_or_skip()
    ids = np.array([[3, 5, 0, 0, 0, 0], [0, 0, 2, 7, 1, 4], [4, 0, 6, 0, 9, 8]], "int64")
    g = gn.Sequential([L.Embedding(10, 5, mask_zero=True), getattr(L, name)(4, return_sequences=return_sequences)])
    km = k.Sequential([k.layers.Embedding(10, 5, mask_zero=True), getattr(k.layers, name)(4, return_sequences=return_sequences)])
    out = g(ids)
    km(torch.tensor(ids))
    km.set_weights(g.get_weights())
    k_out = km(torch.tensor(ids))
    np.testing.assert_allclose(out.numpy(), k_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    cot = _x(out.shape, 1)
    (out * gn.tensor(cot)).sum().backward()
    (k_out * torch.tensor(cot)).sum().backward()
    for w, kw in zip(g.trainable_weights, km.trainable_weights):
        np.testing.assert_allclose(w.grad, kw.value.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=w.path)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_matches_keras(merge_mode):
    k = keras_or_skip()
    out = assert_matches_keras(L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=merge_mode),
                               k.layers.Bidirectional(k.layers.LSTM(4, return_sequences=True), merge_mode=merge_mode),
                               _x((3, 6, 5)))
    assert [o.shape for o in out] == ([(3, 6, 8)] if merge_mode == "concat" else [(3, 6, 4)] * (1 + (merge_mode is None)))


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_bidirectional_return_state_matches_keras(name):
    k = keras_or_skip()
    gn_layer = L.Bidirectional(getattr(L, name)(4, return_state=True))
    out = assert_matches_keras(gn_layer, k.layers.Bidirectional(getattr(k.layers, name)(4, return_state=True)),
                               _x((3, 6, 5)))
    assert [o.shape for o in out] == [(3, 8)] + [(3, 4)] * (2 * N_STATES[getattr(L, name)])
    assert [w.path for w in gn_layer.weights][0].endswith("/forward_" + gn_layer.forward_layer.name.removeprefix("forward_") + "/"
                                                          + gn_layer.forward_layer.cell.name + "/kernel")


def test_bidirectional_with_mask_matches_keras_sequential():
    import torch
    k = keras_or_skip()
    ids = np.array([[3, 5, 0, 0], [0, 2, 7, 1], [4, 0, 6, 9]], "int64")
    g = gn.Sequential([L.Embedding(10, 5, mask_zero=True), L.Bidirectional(L.GRU(3, return_sequences=True))])
    km = k.Sequential([k.layers.Embedding(10, 5, mask_zero=True), k.layers.Bidirectional(k.layers.GRU(3, return_sequences=True))])
    out = g(ids)
    km(torch.tensor(ids))
    km.set_weights(g.get_weights())
    np.testing.assert_allclose(out.numpy(), km(torch.tensor(ids)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_bidirectional_paths_config_and_errors():
    layer = L.Bidirectional(L.LSTM(3, return_sequences=True, name="enc"))
    layer(np.zeros((2, 4, 5), "float32"))
    assert [w.path for w in layer.weights][::3] == [f"{layer.name}/forward_enc/lstm_cell/kernel",
                                                    f"{layer.name}/backward_enc/lstm_cell/kernel"]
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    clone = L.Bidirectional.from_config(layer.get_config())
    assert clone.get_config()["layer"]["config"]["units"] == 3
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.LSTM(3), backward_layer=L.LSTM(3))


def test_time_distributed_matches_keras():
    k = keras_or_skip()
    layer = L.TimeDistributed(L.Dense(3, activation="tanh"))
    assert_matches_keras(layer, k.layers.TimeDistributed(k.layers.Dense(3, activation="tanh")), _x((2, 4, 5)))
    assert [w.path for w in layer.weights] == [f"{layer.name}/{layer.layer.name}/kernel", f"{layer.name}/{layer.layer.name}/bias"]


def test_time_distributed_shapes_and_per_step_layers():
    out = L.TimeDistributed(L.Conv2D(2, 3))(np.zeros((2, 3, 6, 6, 1), "float32"))
    assert out.shape == (2, 3, 4, 4, 2)
    x = _x((4, 3, 5))
    bn = L.TimeDistributed(L.BatchNormalization())
    y = bn(x, training=True).numpy()  # statistics per time step, as Keras
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    inp = gn.Input((None, 5))
    assert L.TimeDistributed(L.Dense(2))(inp).shape == (None, None, 2)
    with pytest.raises(ValueError, match="3 dimensions"):
        L.TimeDistributed(L.Dense(2))(np.zeros((2, 5), "float32"))


def test_fusable_activation_names():
    assert rnn_parts.fusable_activation(gn.activations.tanh) == "tanh"
    assert rnn_parts.fusable_activation(gn.activations.get(None)) == "linear"
    assert rnn_parts.fusable_activation(gn.activations.softsign) is None


@pytest.mark.parametrize("make", [
    lambda k: k.layers.LSTM(4, return_sequences=True, dropout=0.1), lambda k: k.layers.GRU(4, reset_after=False),
    lambda k: k.layers.SimpleRNN(4, go_backwards=True),
    lambda k: k.layers.Bidirectional(k.layers.LSTM(4, return_sequences=True), merge_mode="sum"),
    lambda k: k.layers.TimeDistributed(k.layers.Dense(2)), lambda k: k.layers.RNN(k.layers.GRUCell(3)),
])
def test_keras_configs_load_both_ways(make):
    """A Keras layer's serialized config builds the same glassnet layer (same numbers, same
    weight paths), and glassnet's config builds the Keras layer back."""
    import torch
    from glassnet.layers.serialization import deserialize_layer, serialize_layer
    k = keras_or_skip()
    x = _x((2, 5, 3))
    k_layer = make(k)
    want = k_layer(torch.tensor(x)).detach().numpy()
    layer = deserialize_layer(k.saving.serialize_keras_object(k_layer))
    layer(x)
    layer.set_weights(k_layer.get_weights())
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-5, atol=1e-5)
    assert [w.path for w in layer.weights] == [w.path for w in k_layer.weights]
    back = k.saving.deserialize_keras_object(serialize_layer(layer))
    back(torch.tensor(x))
    back.set_weights(layer.get_weights())
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-5)
