"""MultiHeadAttention, Attention, AdditiveAttention: shapes, weights, gradients, masks,
numbers against Keras 3 (torch backend) and a transformer block that trains."""
import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import keras_or_skip

L = gn.layers


def _randomise(layer, rng, scale=0.5):
    layer.set_weights([(rng.standard_normal(w.shape) * scale).astype(w.dtype) for w in layer.weights])


# ---- MultiHeadAttention: shapes and weights -------------------------------------------------
@pytest.mark.parametrize("kwargs,q_shape,v_shape,out_shape", [
    (dict(num_heads=2, key_dim=3), (2, 4, 5), (2, 6, 7), (2, 4, 5)),
    (dict(num_heads=1, key_dim=1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
    (dict(num_heads=3, key_dim=2, value_dim=4, output_shape=8), (2, 4, 5), (2, 6, 7), (2, 4, 8)),
    (dict(num_heads=2, key_dim=2, output_shape=(3, 2)), (2, 4, 5), (2, 6, 5), (2, 4, 3, 2)),
    (dict(num_heads=2, key_dim=3), (2, 3, 4, 5), (2, 2, 3, 7), (2, 3, 4, 5)),
])
def test_output_and_score_shapes(rng, kwargs, q_shape, v_shape, out_shape):
    layer = L.MultiHeadAttention(**kwargs)
    q, v = rng.standard_normal(q_shape), rng.standard_normal(v_shape)
    out, scores = layer(q, v, return_attention_scores=True)
    assert out.shape == out_shape and out.dtype == np.float32
    assert scores.shape == (q_shape[0], kwargs["num_heads"]) + q_shape[1:-1] + v_shape[1:-1]
    np.testing.assert_allclose(scores.numpy().reshape(scores.shape[:2] + (int(np.prod(q_shape[1:-1])), -1)).sum(-1), 1, rtol=1e-5)
    assert layer.compute_output_shape(q_shape, v_shape) == out_shape


def test_weights_order_shapes_and_paths_follow_keras():
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, name="mha")
    layer(np.zeros((1, 4, 5)), np.zeros((1, 6, 7)), np.zeros((1, 6, 8)))
    assert [(w.path, w.shape) for w in layer.weights] == [
        ("mha/query/kernel", (5, 2, 3)), ("mha/query/bias", (2, 3)),
        ("mha/key/kernel", (8, 2, 3)), ("mha/key/bias", (2, 3)),
        ("mha/value/kernel", (7, 2, 4)), ("mha/value/bias", (2, 4)),
        ("mha/attention_output/kernel", (2, 4, 5)), ("mha/attention_output/bias", (5,)),
    ]
    assert layer.count_params() == 5 * 6 + 6 + 8 * 6 + 6 + 7 * 8 + 8 + 8 * 5 + 5
    assert layer.query_dense.kernel is layer.weights[0]
    gated = L.MultiHeadAttention(2, 3, use_gate=True, use_bias=False, name="g")
    gated(np.zeros((1, 4, 5)), np.zeros((1, 6, 7)))
    assert [w.path for w in gated.weights] == ["g/query/kernel", "g/key/kernel", "g/gate/kernel",
                                               "g/value/kernel", "g/attention_output/kernel"]


def test_kernels_are_initialised_independently_with_einsum_fans():
    layer = L.MultiHeadAttention(num_heads=4, key_dim=16)
    layer(np.zeros((1, 3, 64)), np.zeros((1, 3, 64)))
    q, k, v = (w.numpy() for w in layer.weights[0:6:2])
    assert not np.array_equal(q, k) and not np.array_equal(k, v)
    limit = np.sqrt(6.0 / (64 + 4 * 16))   # glorot with fan_in = dim, fan_out = heads * key_dim
    assert np.abs(q).max() <= limit and np.abs(q).max() > 0.9 * limit
    assert np.all(layer.weights[1].numpy() == 0)


# ---- gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,call", [
    (dict(num_heads=2, key_dim=3), {}),
    (dict(num_heads=2, key_dim=2, value_dim=3, output_shape=(2, 2), use_gate=True), dict(use_causal_mask=True)),
    (dict(num_heads=1, key_dim=4, use_bias=False), dict(attention_mask=np.array([[[1, 0, 1, 1]] * 3, [[0, 1, 1, 0]] * 3]))),
])
def test_gradcheck_inputs_and_weights(rng, kwargs, call):
    layer = L.MultiHeadAttention(dtype="float64", **kwargs)
    q = gn.tensor(rng.standard_normal((2, 3, 5)), requires_grad=True)
    v = gn.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    if call.get("use_causal_mask"):
        v = gn.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
    layer(q, v)
    _randomise(layer, rng)
    assert gn.gradcheck(lambda a, b: layer(a, b, **call), q, v, params=layer.trainable_weights)


def test_gradcheck_with_separate_key(rng):
    layer = L.MultiHeadAttention(num_heads=2, key_dim=2, dtype="float64")
    q, v, k = (gn.tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 3, 4), (2, 5, 3), (2, 5, 2)))
    layer(q, v, k)
    _randomise(layer, rng)
    assert gn.gradcheck(lambda a, b, c: layer(a, b, c), q, v, k, params=layer.trainable_weights)


# ---- against Keras -----------------------------------------------------------------------
def _compare_with_keras(rng, kwargs, shapes, call=None, with_scores=True, keras_mask_on_query=None):
    """Same weights in both; outputs, scores and gradients (inputs and weights) must agree."""
    import torch

    keras = keras_or_skip()
    call = dict(call or {})
    arrays = [rng.standard_normal(s) for s in shapes]
    g_layer = L.MultiHeadAttention(dtype="float64", **kwargs)
    k_layer = keras.layers.MultiHeadAttention(dtype="float64", **kwargs)
    g_layer(*arrays)
    k_layer(*[torch.tensor(a) for a in arrays])
    _randomise(g_layer, rng)
    k_layer.set_weights(g_layer.get_weights())

    g_in = [gn.tensor(a, requires_grad=True) for a in arrays]
    k_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    k_call = {key: torch.tensor(val) if isinstance(val, np.ndarray) else val for key, val in call.items()}
    if keras_mask_on_query is not None:
        g_in[0]._keras_mask = keras_mask_on_query
        k_in[0]._keras_mask = torch.tensor(keras_mask_on_query)
    g_out, g_scores = g_layer(*g_in, return_attention_scores=True, **call)
    k_out, k_scores = k_layer(*k_in, return_attention_scores=True, **k_call)
    np.testing.assert_allclose(g_out.numpy(), k_out.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(g_scores.numpy(), k_scores.detach().numpy(), rtol=1e-9, atol=1e-10)
    if not with_scores:   # Keras' fused path (no scores; torch sdpa, ~1e-7 even in float64) agrees too
        k_plain = k_layer(*[torch.tensor(a) for a in arrays], **k_call)
        np.testing.assert_allclose(g_out.numpy(), k_plain.detach().numpy(), rtol=1e-6, atol=1e-6)
    cot = rng.standard_normal(g_out.shape)
    (g_out * gn.tensor(cot)).sum().backward()
    (k_out * torch.tensor(cot)).sum().backward()
    for i, (a, b) in enumerate(zip(g_in, k_in)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=f"input {i}")
    for w, kw in zip(g_layer.trainable_weights, k_layer.trainable_weights):
        np.testing.assert_allclose(w.grad, kw.value.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=w.path)
    return g_out


@pytest.mark.parametrize("kwargs,shapes", [
    (dict(num_heads=2, key_dim=3), [(2, 4, 5), (2, 6, 7)]),
    (dict(num_heads=3, key_dim=2, value_dim=4, output_shape=(3, 2), use_bias=False), [(2, 4, 5), (2, 6, 7), (2, 6, 3)]),
    (dict(num_heads=2, key_dim=3, use_gate=True), [(2, 4, 5), (2, 6, 7)]),
    (dict(num_heads=2, key_dim=3), [(2, 3, 4, 5), (2, 2, 3, 7)]),   # attention over two axes jointly
])
def test_numbers_equal_keras(rng, kwargs, shapes):
    _compare_with_keras(rng, kwargs, shapes, with_scores=False)


def test_masks_equal_keras(rng):
    am = rng.random((2, 4, 6)) > 0.3
    am[:, :, 0] = True
    _compare_with_keras(rng, dict(num_heads=2, key_dim=3), [(2, 4, 5), (2, 6, 7)], dict(attention_mask=am), with_scores=False)
    vm = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    _compare_with_keras(rng, dict(num_heads=2, key_dim=3), [(2, 4, 5), (2, 6, 7)], dict(value_mask=vm), with_scores=False)
    _compare_with_keras(rng, dict(num_heads=2, key_dim=3), [(2, 5, 4), (2, 5, 4)], dict(use_causal_mask=True), with_scores=False)
    _compare_with_keras(rng, dict(num_heads=2, key_dim=3), [(2, 5, 4), (2, 5, 4)],
                        dict(use_causal_mask=True, value_mask=np.array([[1, 1, 1, 0, 0], [1] * 5], bool),
                             attention_mask=rng.random((2, 5, 5)) > 0.2))
    _compare_with_keras(rng, dict(num_heads=2, key_dim=3, sliding_window=2), [(2, 5, 4), (2, 5, 4)], dict(use_causal_mask=True))


def test_query_mask_zeroes_masked_rows_like_keras(rng):
    """A masked query attends to nothing: weights 0, output = the output bias (Keras' explicit
    softmax path; its fused path, used when no scores are returned, differs there)."""
    qm = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    out = _compare_with_keras(rng, dict(num_heads=2, key_dim=3), [(2, 4, 5), (2, 6, 5)], keras_mask_on_query=qm)
    np.testing.assert_array_equal(out._keras_mask, qm)   # the mask goes on with the output


def test_embedding_mask_reaches_the_attention(rng):
    ids = np.array([[3, 5, 2, 0, 0], [1, 2, 3, 4, 6]])
    emb = L.Embedding(8, 4, mask_zero=True)
    x = emb(ids)
    layer = L.MultiHeadAttention(2, 3)
    out, scores = layer(x, x, return_attention_scores=True)
    np.testing.assert_array_equal(scores.numpy()[0, :, :, 3:], 0)        # padding is never attended
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    plain = L.MultiHeadAttention(2, 3)
    plain(x.numpy(), x.numpy())
    plain.set_weights(layer.get_weights())
    explicit = plain(x.numpy(), x.numpy(), query_mask=ids != 0, value_mask=ids != 0)
    np.testing.assert_allclose(explicit.numpy(), out.numpy())


def test_causal_mask_hides_the_future(rng):
    layer = L.MultiHeadAttention(2, 4)
    x = rng.standard_normal((1, 6, 4)).astype("float32")
    _, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    assert np.all(np.triu(scores.numpy()[0, 0], 1) == 0)
    y = x.copy()
    y[:, 4:] += 10.0                                       # changing the future changes nothing before it
    a, b = layer(x, x, use_causal_mask=True), layer(y, y, use_causal_mask=True)
    np.testing.assert_allclose(a.numpy()[:, :4], b.numpy()[:, :4], rtol=1e-5, atol=1e-6)


def test_dropout_only_when_training_and_seeded(rng):
    q = rng.standard_normal((2, 4, 6)).astype("float32")
    a = L.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    np.testing.assert_array_equal(a(q, q).numpy(), a(q, q, training=False).numpy())
    assert not np.allclose(a(q, q, training=True).numpy(), a(q, q, training=False).numpy())
    b = L.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    b(q, q)
    b.set_weights(a.get_weights())
    a2 = L.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    a2(q, q)
    a2.set_weights(a.get_weights())
    np.testing.assert_array_equal(a2(q, q, training=True).numpy(), b(q, q, training=True).numpy())


def test_config_round_trip_and_keras_keys():
    layer = L.MultiHeadAttention(2, 3, value_dim=4, dropout=0.1, output_shape=(5,), kernel_regularizer="l2", seed=3)
    config = layer.get_config()
    assert L.MultiHeadAttention.from_config(config).get_config() == config
    layer(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)))
    assert layer.get_config()["attention_axes"] == [1]
    assert len(layer.losses) == 4                          # one l2 term per kernel
    keras = keras_or_skip()
    k_config = keras.layers.MultiHeadAttention(2, 3).get_config()
    assert set(k_config) <= set(config) | {"dtype"}


def test_errors(rng):
    with pytest.raises(ValueError, match="num_heads"):
        L.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match="key_dim"):
        L.MultiHeadAttention(2, 2.5)
    with pytest.raises(ValueError, match="attention_axes"):
        L.MultiHeadAttention(2, 3, attention_axes=(2,))(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 3, 4)))
    L.MultiHeadAttention(2, 3, attention_axes=(1, 2))(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 3, 4)))  # the default
    L.MultiHeadAttention(2, 3, attention_axes=-2)(np.zeros((1, 2, 4)), np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="except the last one"):
        L.MultiHeadAttention(2, 3)(np.zeros((1, 2, 4)), np.zeros((1, 3, 4)), np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="time"):
        L.MultiHeadAttention(2, 3)(np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="attention_mask"):
        L.MultiHeadAttention(2, 3)(np.zeros((1, 2, 4)), np.zeros((1, 3, 4)), attention_mask=np.ones(3, bool))


# ---- a transformer block -------------------------------------------------------------------
def test_transformer_block_builds_and_trains(rng):
    if not hasattr(L, "LayerNormalization") or not hasattr(L, "Add"):
        pytest.skip("LayerNormalization / Add are not available yet")
    inp = gn.Input((6, 8))
    att = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)(inp, inp)
    x = L.LayerNormalization()(L.Add()([inp, att]))
    ff = L.Dense(8)(L.Dense(16, activation="relu")(x))
    out = L.LayerNormalization()(L.Add()([x, ff]))
    model = gn.Model(inp, out)
    assert model.output_shape == (None, 6, 8)
    # attention 4 x (64 + 8), two layer norms 2 x 16, feed-forward (8 * 16 + 16) + (16 * 8 + 8)
    assert model.count_params() == 288 + 32 + 144 + 136
    model.compile(optimizer="adam", loss="mse")
    x_data = rng.standard_normal((16, 6, 8)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x_data, x_data, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.predict(x_data, verbose=0).shape == (16, 6, 8)


# ---- Attention and AdditiveAttention ---------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", [
    ("Attention", {}), ("Attention", dict(use_scale=True)), ("Attention", dict(score_mode="concat", use_scale=True)),
    ("AdditiveAttention", {}), ("AdditiveAttention", dict(use_scale=False)),
])
@pytest.mark.parametrize("causal", [False, True])
def test_luong_and_bahdanau_attention_equal_keras(rng, cls, kwargs, causal):
    import torch

    keras = keras_or_skip()
    # Keras' Attention computes in float32 whatever its dtype, hence float32 tolerances
    q, v, k = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 3))
    q_mask, v_mask = np.array([[1, 1, 1, 0], [1] * 4], bool), np.array([[1, 1, 0, 0, 0], [1] * 5], bool)
    g_layer = getattr(L, cls)(dtype="float64", **kwargs)
    k_layer = getattr(keras.layers, cls)(dtype="float64", **kwargs)
    g_layer([q, v, k])
    k_layer([torch.tensor(a) for a in (q, v, k)])
    weights = [rng.uniform(0.5, 1.5, w.shape) for w in g_layer.weights]
    g_layer.set_weights(weights)
    k_layer.set_weights(weights)
    g_in = [gn.tensor(a, requires_grad=True) for a in (q, v, k)]
    k_in = [torch.tensor(a, requires_grad=True) for a in (q, v, k)]
    g_out, g_sc = g_layer(g_in, mask=[q_mask, v_mask], return_attention_scores=True, use_causal_mask=causal)
    k_out, k_sc = k_layer(k_in, mask=[torch.tensor(q_mask), torch.tensor(v_mask)], return_attention_scores=True,
                          use_causal_mask=causal)
    np.testing.assert_allclose(g_out.numpy(), k_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_sc.numpy(), k_sc.detach().numpy(), rtol=1e-5, atol=1e-6)
    cot = rng.standard_normal(g_out.shape)
    (g_out * gn.tensor(cot)).sum().backward()
    (k_out * torch.tensor(cot)).sum().backward()
    for a, b in zip(g_in, k_in):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-5, atol=1e-6)
    for w, kw in zip(g_layer.trainable_weights, k_layer.trainable_weights):
        np.testing.assert_allclose(w.grad, kw.value.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_attention_shapes_masks_and_gradcheck(rng):
    layer = L.Attention(use_scale=True, dtype="float64")
    q = gn.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    v = gn.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    assert layer([q, v]).shape == (2, 3, 4)
    assert gn.gradcheck(lambda a, b: layer([a, b], use_causal_mask=False), q, v, params=layer.trainable_weights)
    add = L.AdditiveAttention(dtype="float64")
    add([q, v])
    assert gn.gradcheck(lambda a, b: add([a, b]), q, v, params=add.trainable_weights)
    out = layer([q, v], mask=[np.array([[1, 0, 1], [1, 1, 1]], bool), None])
    assert np.all(out.numpy()[0, 1] == 0)
    np.testing.assert_array_equal(out._keras_mask, [[1, 0, 1], [1, 1, 1]])
    with pytest.raises(ValueError, match="list of inputs"):
        layer(q)
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="general")
    config = L.AdditiveAttention(dropout=0.2).get_config()
    assert "score_mode" not in config and L.AdditiveAttention.from_config(config).get_config() == config
