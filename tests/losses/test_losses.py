"""Losses: values and gradients against real Keras 3 (torch backend), reductions, masks,
sample weights, the fused sparse crossentropy against the composed one, get/config, errors."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

import glassnet as gn
from glassnet import losses, ops

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

B, C = 6, 5
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", None, "none", "mean_with_sample_weight"]


def _data(kind, rng, dtype=np.float32):
    """(y_true, y_pred) of a kind: reg, prob, logit, onehot-prob, onehot-logit, sparse-..."""
    if kind == "reg":
        return rng.standard_normal((B, C)).astype(dtype), rng.standard_normal((B, C)).astype(dtype)
    if kind == "pos":
        return rng.random((B, C)).astype(dtype) * 3, rng.random((B, C)).astype(dtype) * 3 + 0.05
    if kind == "bin-prob":
        return rng.integers(0, 2, (B, C)).astype(dtype), rng.uniform(0.02, 0.98, (B, C)).astype(dtype)
    if kind == "bin-logit":
        return rng.integers(0, 2, (B, C)).astype(dtype), (2 * rng.standard_normal((B, C))).astype(dtype)
    if kind == "onehot-prob":
        p = rng.random((B, C)) + 0.05
        return np.eye(C, dtype=dtype)[rng.integers(0, C, B)], (p / p.sum(-1, keepdims=True) * 1.3).astype(dtype)
    if kind == "onehot-logit":
        return np.eye(C, dtype=dtype)[rng.integers(0, C, B)], (2 * rng.standard_normal((B, C))).astype(dtype)
    if kind == "soft-prob":
        t, p = rng.random((B, C)) + 0.01, rng.random((B, C)) + 0.01
        return (t / t.sum(-1, keepdims=True)).astype(dtype), (p / p.sum(-1, keepdims=True)).astype(dtype)
    if kind == "sparse-prob":
        p = rng.random((B, C)) + 0.05
        return rng.integers(0, C, B), (p / p.sum(-1, keepdims=True) * 0.8).astype(dtype)
    if kind == "sparse-logit":
        return rng.integers(0, C, B), (2 * rng.standard_normal((B, C))).astype(dtype)
    if kind == "pm1":
        return rng.choice([-1.0, 1.0], (B, C)).astype(dtype), rng.standard_normal((B, C)).astype(dtype)
    if kind == "col":  # (batch,) labels against (batch, 1) predictions: Keras aligns the ranks
        return rng.standard_normal(B).astype(dtype), rng.standard_normal((B, 1)).astype(dtype)
    raise KeyError(kind)


CASES = [
    ("MeanSquaredError", {}, "reg"),
    ("MeanSquaredError", {}, "col"),
    ("MeanAbsoluteError", {}, "reg"),
    ("MeanAbsolutePercentageError", {}, "reg"),
    ("MeanSquaredLogarithmicError", {}, "pos"),
    ("Huber", {}, "reg"),
    ("Huber", {"delta": 0.4}, "reg"),
    ("LogCosh", {}, "reg"),
    ("CosineSimilarity", {}, "reg"),
    ("CosineSimilarity", {"axis": 0}, "reg"),
    ("BinaryCrossentropy", {}, "bin-prob"),
    ("BinaryCrossentropy", {"from_logits": True}, "bin-logit"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "bin-prob"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "axis": 0}, "bin-logit"),
    ("BinaryFocalCrossentropy", {}, "bin-prob"),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 1.5}, "bin-logit"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "label_smoothing": 0.1}, "bin-prob"),
    ("CategoricalCrossentropy", {}, "onehot-prob"),
    ("CategoricalCrossentropy", {"from_logits": True}, "onehot-logit"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.15}, "onehot-prob"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "onehot-logit"),
    ("SparseCategoricalCrossentropy", {}, "sparse-prob"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse-logit"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, "sparse-logit"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, "sparse-prob"),
    ("KLDivergence", {}, "soft-prob"),
    ("Poisson", {}, "pos"),
    ("Hinge", {}, "bin-logit"),
    ("Hinge", {}, "pm1"),
    ("SquaredHinge", {}, "bin-logit"),
    ("SquaredHinge", {}, "pm1"),
    ("CategoricalHinge", {}, "onehot-logit"),
]
IDS = [f"{c}-{k}-{kind}" for c, k, kind in CASES]


def _weights(rng, y_pred, kwargs):
    """One weight per value of the loss: per sample, or per column when axis=0."""
    n = y_pred.shape[1] if kwargs.get("axis") == 0 else y_pred.shape[0]
    return rng.uniform(0.1, 2.0, n).astype(np.float32)


@pytest.mark.parametrize("cls,kwargs,kind", CASES, ids=IDS)
def test_values_match_keras_for_every_reduction_with_and_without_weights(cls, kwargs, kind, rng):
    y_true, y_pred = _data(kind, rng)
    sw = _weights(rng, y_pred, kwargs)
    for reduction in REDUCTIONS:
        for weight in (None, sw):
            want = getattr(keras.losses, cls)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=weight)
            got = getattr(losses, cls)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=weight)
            assert isinstance(got, gn.Tensor) and got.dtype == np.float32
            assert got.shape == tuple(want.shape), (reduction, weight is not None)
            np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{cls} reduction={reduction} weighted={weight is not None}")


@pytest.mark.parametrize("cls,kwargs,kind", CASES, ids=IDS)
def test_gradient_matches_torch_autograd_through_keras(cls, kwargs, kind, rng):
    y_true, y_pred = _data(kind, rng)
    sw = _weights(rng, y_pred, kwargs)
    t = torch.tensor(y_pred, requires_grad=True)
    getattr(keras.losses, cls)(**kwargs)(y_true, t, sample_weight=sw).backward()
    p = gn.tensor(y_pred, requires_grad=True)
    getattr(losses, cls)(**kwargs)(y_true, p, sample_weight=sw).backward()
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-5, atol=1e-7)


GRADCHECK_CASES = [c for c in CASES if c[2] not in ("pm1",)]


@pytest.mark.parametrize("cls,kwargs,kind", GRADCHECK_CASES, ids=[f"{c}-{k}-{kind}" for c, k, kind in GRADCHECK_CASES])
def test_gradcheck_float64(cls, kwargs, kind, rng):
    y_true, y_pred = _data(kind, rng, dtype=np.float64)
    if kind == "reg" and cls in ("MeanAbsoluteError", "MeanAbsolutePercentageError", "Huber"):
        y_pred = y_true + rng.choice([-1, 1], y_true.shape) * rng.uniform(0.05, 2.0, y_true.shape)  # away from kinks
        y_pred = y_pred + (np.abs(np.abs(y_pred - y_true) - kwargs.get("delta", 1.0)) < 1e-3) * 0.01
    loss = getattr(losses, cls)(**kwargs)
    sw = _weights(rng, y_pred, kwargs).astype(np.float64)
    out = loss(y_true, gn.tensor(y_pred))
    assert out.dtype == np.float64
    assert gn.gradcheck(lambda p: loss(y_true, p, sample_weight=sw), y_pred)


# ---- the functions, and get() ---------------------------------------------------------
FUNCTIONS = [
    ("mean_squared_error", "reg", {}), ("mean_absolute_error", "reg", {}),
    ("mean_absolute_percentage_error", "reg", {}), ("mean_squared_logarithmic_error", "pos", {}),
    ("huber", "reg", {"delta": 0.5}), ("log_cosh", "reg", {}), ("cosine_similarity", "reg", {}),
    ("binary_crossentropy", "bin-logit", {"from_logits": True}), ("binary_focal_crossentropy", "bin-prob", {}),
    ("categorical_crossentropy", "onehot-prob", {}), ("sparse_categorical_crossentropy", "sparse-logit", {"from_logits": True}),
    ("kl_divergence", "soft-prob", {}), ("poisson", "pos", {}), ("hinge", "pm1", {}),
    ("squared_hinge", "bin-logit", {}), ("categorical_hinge", "onehot-logit", {}),
]


@pytest.mark.parametrize("name,kind,kwargs", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_functions_give_keras_per_sample_values(name, kind, kwargs, rng):
    y_true, y_pred = _data(kind, rng)
    want = getattr(keras.losses, name)(y_true, y_pred, **kwargs)
    got = getattr(losses, name)(y_true, y_pred, **kwargs)
    assert got.shape == (B,)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)


ALIASES = {
    "mse": "mean_squared_error", "MSE": "mean_squared_error", "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
    "bce": "binary_crossentropy", "kld": "kl_divergence", "KLD": "kl_divergence",
    "kl_divergence": "kl_divergence", "binary_crossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy", "huber": "huber",
    "log_cosh": "log_cosh", "poisson": "poisson", "hinge": "hinge", "squared_hinge": "squared_hinge",
    "categorical_hinge": "categorical_hinge", "cosine_similarity": "cosine_similarity",
    "binary_focal_crossentropy": "binary_focal_crossentropy",
}


def test_get_resolves_every_keras_alias_like_keras():
    for alias, fn_name in ALIASES.items():
        assert losses.get(alias) is getattr(losses, fn_name)
        assert keras.losses.get(alias).__name__ == fn_name
    for cls, _, _ in CASES:
        obj = losses.get(cls)
        assert isinstance(obj, getattr(losses, cls))
        assert obj.name == keras.losses.get(cls).name
    assert losses.get(None) is None
    fn = lambda t, p: p  # noqa: E731
    assert losses.get(fn) is fn
    inst = losses.Huber(delta=3.0)
    assert losses.get(inst) is inst
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)


def test_get_unknown_names_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Could not interpret loss identifier: 'msqe'.*mean_squared_error.*mse"):
        losses.get("msqe")


@pytest.mark.parametrize("cls,kwargs,kind", CASES, ids=IDS)
def test_config_round_trips_and_matches_keras(cls, kwargs, kind):
    loss = getattr(losses, cls)(reduction="sum", **kwargs)
    config = loss.get_config()
    want = getattr(keras.losses, cls)(reduction="sum", **kwargs).get_config()
    extra = {"Huber": {"delta"}, "CosineSimilarity": {"axis"}}.get(cls, set())  # Keras drops these
    assert {k: v for k, v in config.items() if k not in extra} == want
    again = losses.get({"class_name": cls, "config": config})
    assert type(again) is type(loss) and again.get_config() == config
    assert losses.deserialize(losses.serialize(loss)).get_config() == config
    assert losses.serialize(loss)["class_name"] == keras.losses.serialize(getattr(keras.losses, cls)(**kwargs))["class_name"]


def test_config_dict_with_options_like_keras_docs():
    loss = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(loss, losses.CategoricalCrossentropy) and loss.from_logits
    assert losses.get({"class_name": "function", "config": "mean_squared_error"}) is losses.mean_squared_error
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        losses.get({"class_name": "os.system", "config": {}})


# ---- reductions, masks, dtypes --------------------------------------------------------
def test_mask_and_ignore_class_on_sequences_match_keras(rng):
    from keras.src import backend as kbackend
    y_pred = rng.standard_normal((3, 4, C)).astype(np.float32)
    y_true = rng.integers(0, C, (3, 4))
    mask = rng.random((3, 4)) > 0.3
    sw = rng.uniform(0.1, 2, (3, 4)).astype(np.float32)
    for reduction in REDUCTIONS:
        for weight in (None, sw):
            t = torch.tensor(y_pred, requires_grad=True)
            kbackend.set_keras_mask(t, torch.tensor(mask))
            want = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2, reduction=reduction)(
                y_true, t, sample_weight=weight)
            p = gn.tensor(y_pred, requires_grad=True)
            p._keras_mask = mask
            got = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2, reduction=reduction)(
                y_true, p, sample_weight=weight)
            np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
            want.sum().backward()
            got.sum().backward()
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_masked_mean_is_the_mean_over_valid_entries(rng):
    y_true, y_pred = rng.standard_normal((4, 3)), rng.standard_normal((4, 3, 1))
    p = gn.tensor(y_pred)
    p._keras_mask = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]], bool)
    got = losses.MeanSquaredError()(y_true[..., None], p)
    want = np.mean(((y_true - y_pred[..., 0]) ** 2)[p._keras_mask])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    p._keras_mask = np.zeros((4, 3), bool)
    assert losses.MeanSquaredError()(y_true[..., None], p).item() == 0.0  # divide_no_nan


def test_dtypes_float32_stays_float32_float64_stays_float64_ints_become_floatx(rng):
    y_true, y_pred = _data("onehot-logit", rng)
    loss = losses.CategoricalCrossentropy(from_logits=True)
    assert loss(y_true, y_pred).dtype == np.float32
    assert loss(y_true, y_pred.astype(np.float64)).dtype == np.float64
    assert losses.MeanSquaredError()(np.arange(3), np.arange(3) + 1).dtype == np.float32
    assert losses.MeanSquaredError(dtype="float64")(y_true, y_pred).dtype == np.float64
    assert loss.dtype == "float32"


def test_custom_loss_subclass_gets_the_reductions(rng):
    class MyMSE(losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.square(y_pred - y_true), axis=-1)

    y_true, y_pred = _data("reg", rng)
    mine = MyMSE(reduction="sum")
    assert mine.name == "my_mse"
    np.testing.assert_allclose(mine(y_true, y_pred).numpy(), losses.MeanSquaredError(reduction="sum")(y_true, y_pred).numpy())
    with pytest.raises(NotImplementedError, match="must implement call"):
        losses.Loss()(y_true, y_pred)


def test_loss_function_wrapper_wraps_any_function(rng):
    y_true, y_pred = _data("col", rng)
    wrapped = losses.LossFunctionWrapper(losses.mean_absolute_error, name="mae")
    np.testing.assert_allclose(wrapped(y_true, y_pred).numpy(), losses.MeanAbsoluteError()(y_true, y_pred).numpy())
    again = losses.LossFunctionWrapper.from_config(wrapped.get_config())
    assert again.fn is losses.mean_absolute_error and again.name == "mae"


def test_invalid_reduction():
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*received reduction='avg'"):
        losses.MeanSquaredError(reduction="avg")


# ---- fused sparse crossentropy ---------------------------------------------------------
def _composed_sparse(labels, y_pred, from_logits, axis=-1):
    """Sparse crossentropy from primitives: one-hot times log-probabilities."""
    n = y_pred.shape[axis]
    onehot = np.moveaxis(np.eye(n)[labels], -1, axis)
    if from_logits:
        logp = ops.log_softmax(y_pred, axis=axis)
    else:
        logp = ops.log(ops.clip(y_pred / ops.sum(y_pred, axis=axis, keepdims=True), 1e-7, 1 - 1e-7))
    return -ops.sum(logp * onehot, axis=axis)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape,axis", [((7, 4), -1), ((1, 3), -1), ((3, 5, 4), -1), ((3, 4, 5), 1), ((2, 1), -1)])
def test_fused_sparse_crossentropy_equals_composed_and_gradchecks(from_logits, shape, axis, rng):
    x = rng.standard_normal(shape) if from_logits else rng.uniform(0.05, 1.0, shape)
    labels = rng.integers(0, shape[axis], tuple(n for i, n in enumerate(shape) if i != axis % len(shape)))
    fused = losses.sparse_categorical_crossentropy(labels, gn.tensor(x), from_logits=from_logits, axis=axis)
    composed = _composed_sparse(labels, gn.tensor(x), from_logits, axis)
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12, atol=1e-12)
    a, b = gn.tensor(x, requires_grad=True), gn.tensor(x, requires_grad=True)
    v = rng.standard_normal(fused.shape)
    (losses.sparse_categorical_crossentropy(labels, a, from_logits=from_logits, axis=axis) * v).sum().backward()
    (_composed_sparse(labels, b, from_logits, axis) * v).sum().backward()
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12)
    assert gn.gradcheck(lambda p: losses.sparse_categorical_crossentropy(labels, p, from_logits=from_logits, axis=axis), x)
    assert fused.op is None or fused.op.name.startswith("sparse")


def test_fused_sparse_crossentropy_from_probabilities_respects_the_clip(rng):
    x = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 1e-12]])
    labels = np.array([0, 2])
    p = gn.tensor(x, requires_grad=True)
    out = losses.sparse_categorical_crossentropy(labels, p)
    np.testing.assert_allclose(out.numpy(), [-np.log(1 - 1e-7), -np.log(1e-7)])
    out.sum().backward()
    np.testing.assert_array_equal(p.grad, np.zeros_like(x))  # both clipped: no gradient, as in Keras


def test_fused_sigmoid_crossentropy_is_exact_for_large_logits():
    x = np.array([-80.0, -30.0, -5.0, 0.0, 5.0, 30.0, 80.0], np.float32)
    t = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0], np.float32)
    got = losses.binary_crossentropy(t[:, None], x[:, None], from_logits=True).numpy()
    x64 = x.astype(np.float64)
    want = np.maximum(x64, 0) - x64 * t + np.log1p(np.exp(-np.abs(x64)))  # no cancellation: tiny losses stay exact
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    p = gn.tensor(x[:, None], requires_grad=True)
    losses.binary_crossentropy(t[:, None], p, from_logits=True).sum().backward()
    np.testing.assert_allclose(p.grad[:, 0], 1 / (1 + np.exp(-x64)) - t, rtol=1e-5, atol=1e-12)


def test_log_cosh_gradient_is_zero_at_a_perfect_prediction():
    p = gn.tensor(np.array([[1.0, 2.0]], np.float32), requires_grad=True)
    losses.LogCosh()(np.array([[1.0, 2.0]]), p).backward()
    np.testing.assert_array_equal(p.grad, [[0.0, 0.0]])


# ---- errors ------------------------------------------------------------------------
def test_categorical_crossentropy_with_integer_labels_says_what_to_use(rng):
    y_pred = rng.random((32, 10)).astype(np.float32)
    with pytest.raises(ValueError, match=r"categorical_crossentropy: .*y_true.shape=\(32,\).*y_pred.shape=\(32, 10\).*"
                                         r"use sparse_categorical_crossentropy for integer labels or to_categorical"):
        losses.CategoricalCrossentropy()(rng.integers(0, 10, 32), y_pred)


def test_sparse_label_out_of_range_names_loss_label_and_range(rng):
    y_pred = rng.random((4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: label 3 is out of range.*\[0, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 1, 3, 2]), y_pred)
    with pytest.raises(ValueError, match=r"label -1 is out of range"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, -1, 1, 2]), y_pred)
    # the ignored class may lie outside the range (a padding label)
    out = losses.SparseCategoricalCrossentropy(ignore_class=-1)(np.array([0, -1, 1, 2]), y_pred)
    assert np.isfinite(out.item())


def test_sparse_with_one_hot_labels_says_what_to_use(rng):
    with pytest.raises(ValueError, match=r"one integer class label per sample.*use categorical_crossentropy"):
        losses.SparseCategoricalCrossentropy()(np.eye(3)[[0, 1]], rng.random((2, 3)))
    with pytest.raises(ValueError, match=r"integer class labels, received 0.5"):
        losses.SparseCategoricalCrossentropy()(np.array([0.5, 1.0]), rng.random((2, 3)))


def test_nan_in_y_true_is_an_error(rng):
    y_true, y_pred = _data("reg", rng)
    y_true[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true contains NaN \(first at index \(2, 3\)"):
        losses.MeanSquaredError()(y_true, y_pred)
    with pytest.raises(ValueError, match="y_true contains NaN"):
        losses.SparseCategoricalCrossentropy()(np.array([0.0, np.nan]), rng.random((2, 3)))


def test_incompatible_shapes_and_weights_are_clear_errors(rng):
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true and y_pred shapes are incompatible.*\(4, 3\).*\(4, 2\)"):
        losses.MeanSquaredError()(rng.random((4, 3)), rng.random((4, 2)))
    with pytest.raises(ValueError, match=r"binary_crossentropy: y_true and y_pred must have the same shape"):
        losses.BinaryCrossentropy()(rng.random((4, 3)), rng.random((4, 2)))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(5,\) does not match"):
        losses.MeanSquaredError()(rng.random((4, 3)), rng.random((4, 3)), sample_weight=np.ones(5))


@pytest.mark.parametrize("loss, y", [
    (gn.losses.SparseCategoricalCrossentropy(from_logits=True), np.array([0, 2])),
    (gn.losses.CategoricalCrossentropy(from_logits=True), np.eye(3)[[0, 2]]),
])
def test_probabilities_given_as_logits_warn(loss, y):
    probs = gn.ops.softmax(gn.tensor(np.array([[1.0, 2.0, 3.0], [0.5, 0.1, 0.2]]), requires_grad=True))
    with pytest.warns(UserWarning, match="from_logits=True, but y_pred was produced by a softmax"):
        loss(y, probs)
    logits = gn.tensor(np.array([[1.0, 2.0, 3.0], [0.5, 0.1, 0.2]]), requires_grad=True) * 1.0
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(y, logits)  # real logits: no warning


def test_sigmoid_output_with_from_logits_warns():
    p = gn.ops.sigmoid(gn.tensor(np.array([[0.3], [-1.0]]), requires_grad=True))
    with pytest.warns(UserWarning, match="produced by a sigmoid"):
        gn.losses.BinaryCrossentropy(from_logits=True)(np.array([[1.0], [0.0]]), p)


# ---- the fused mean squared error -----------------------------------------------------
def _composed_mse(**kwargs):
    """The general path: a wrapper around a function that is not registered as fused."""
    return losses.LossFunctionWrapper(lambda t, p: losses.mean_squared_error(t, p), **kwargs)


@pytest.mark.parametrize("shapes", [((6, 5), (6, 5), (6,)), ((6,), (6, 1), (6, 1)), ((4, 3, 2), (4, 3, 2), (4, 3)),
                                    ((6, 1), (6, 3), (6,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_mse_equals_the_composed_loss(shapes, dtype, rng):
    t_shape, p_shape, w_shape = shapes
    y_true = rng.standard_normal(t_shape).astype(dtype)
    y_pred = rng.standard_normal(p_shape).astype(dtype)
    tol = dict(rtol=1e-6 if dtype == np.float32 else 1e-13, atol=0)
    for reduction in ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight"]:
        for weight in (None, rng.uniform(0.1, 2, w_shape).astype(np.float32), np.zeros(w_shape, np.float32)):
            fused_p, composed_p = gn.tensor(y_pred, requires_grad=True), gn.tensor(y_pred, requires_grad=True)
            fused = losses.MeanSquaredError(reduction=reduction)(y_true, fused_p, sample_weight=weight)
            composed = _composed_mse(reduction=reduction)(y_true, composed_p, sample_weight=weight)
            assert fused.op.name == "mean_squared_error" and composed.op.name != "mean_squared_error"
            assert fused.dtype == composed.dtype == dtype and fused.shape == composed.shape == ()
            np.testing.assert_allclose(fused.numpy(), composed.numpy(), **tol)
            fused.backward()
            composed.backward()
            np.testing.assert_allclose(fused_p.grad, composed_p.grad, **tol)


def test_fused_mse_gradcheck_with_weights_float64(rng):
    y_true, w = rng.standard_normal((5, 4)), rng.uniform(0.1, 2, 5)
    for reduction in ["sum_over_batch_size", "sum", "mean_with_sample_weight"]:
        loss = losses.MeanSquaredError(reduction=reduction)
        assert gn.gradcheck(lambda p: loss(y_true, p, sample_weight=w), rng.standard_normal((5, 4)))


def test_mse_takes_the_general_path_where_the_fused_op_does_not_apply(rng):
    y = rng.standard_normal((4, 3)).astype(np.float32)
    p = gn.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    assert losses.MeanSquaredError()(y, p).op.name == "mean_squared_error"
    assert losses.MeanSquaredError(reduction=None)(y, p).shape == (4,)
    assert losses.MeanSquaredError()(y, p, sample_weight=np.float32(2.0)).op.name != "mean_squared_error"
    assert losses.MeanSquaredError()(y[:, 0], p[:, 0]).op.name != "mean_squared_error"  # rank 1

    class Halved(losses.MeanSquaredError):
        def call(self, y_true, y_pred):
            return super().call(y_true, y_pred) * 0.5

    np.testing.assert_allclose(Halved()(y, p).numpy(), losses.MeanSquaredError()(y, p).numpy() / 2, rtol=1e-6)


def test_dense_softmax_output_with_from_logits_warns():
    # Dense runs matmul, bias and softmax as one fused op ("matmul_bias_softmax")
    layer = gn.layers.Dense(3, activation="softmax")
    probs = layer(gn.tensor(np.ones((2, 4), np.float32)))
    with pytest.warns(UserWarning, match="produced by a softmax"):
        gn.losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 2]), probs)
