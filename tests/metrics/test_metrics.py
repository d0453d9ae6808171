"""Metrics: running results over several batches equal real Keras 3 (torch backend), with
and without sample weights and after reset_state; get, resolve_accuracy, configs, errors."""
import os

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import pytest

import glassnet as gn
from glassnet import metrics

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

B, C = 7, 5


def _batch(kind, rng):
    if kind == "bin":
        return rng.integers(0, 2, (B, 1)).astype(np.float32), rng.random((B, 1)).astype(np.float32)
    if kind == "bin-flat":
        return rng.integers(0, 2, B), rng.random(B).astype(np.float32)
    if kind == "logit":
        return rng.integers(0, 2, (B, 1)).astype(np.float32), (3 * rng.standard_normal((B, 1))).astype(np.float32)
    if kind == "cat":
        return np.eye(C, dtype=np.float32)[rng.integers(0, C, B)], rng.random((B, C)).astype(np.float32)
    if kind == "sparse":
        return rng.integers(0, C, B), rng.random((B, C)).astype(np.float32)
    if kind == "sparse-col":
        return rng.integers(0, C, (B, 1)), rng.random((B, C)).astype(np.float32)
    if kind == "seq":
        return rng.integers(0, C, (B, 3)), rng.random((B, 3, C)).astype(np.float32)
    if kind == "multi":
        return rng.integers(0, 2, (B, C)).astype(np.float32), rng.random((B, C)).astype(np.float32)
    if kind == "reg":
        return rng.random((B, 3)).astype(np.float32) + 0.1, rng.random((B, 3)).astype(np.float32)
    if kind == "exact":  # integer predictions so Accuracy (exact match) has hits
        return rng.integers(0, 3, (B, 1)), rng.integers(0, 3, (B, 1)).astype(np.float32)
    raise KeyError(kind)


CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "bin"),
    ("BinaryAccuracy", {"threshold": 0.7}, "bin-flat"),
    ("CategoricalAccuracy", {}, "cat"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse-col"),
    ("SparseCategoricalAccuracy", {}, "seq"),
    ("TopKCategoricalAccuracy", {"k": 2}, "cat"),
    ("TopKCategoricalAccuracy", {}, "cat"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse-col"),
    ("Precision", {}, "bin"),
    ("Recall", {}, "bin"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.9]}, "multi"),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, "multi"),
    ("Precision", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multi"),
    ("Precision", {"top_k": 2}, "cat"),
    ("Recall", {"class_id": 2}, "cat"),
    ("Precision", {"top_k": 1, "class_id": 3}, "multi"),
    ("Recall", {"top_k": 2, "thresholds": 0.3}, "multi"),
    ("AUC", {}, "bin"),
    ("AUC", {}, "multi"),
    ("AUC", {"from_logits": True}, "logit"),
    ("AUC", {"curve": "PR"}, "bin"),
    ("AUC", {"curve": "PR"}, "multi"),
    ("AUC", {"summation_method": "minoring"}, "bin"),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, "multi"),
    ("AUC", {"curve": "PRGAIN"}, "multi"),
    ("AUC", {"num_thresholds": 7}, "multi"),
    ("AUC", {"thresholds": [0.1, 0.3, 0.75]}, "bin"),
    ("AUC", {"multi_label": True}, "multi"),
    ("AUC", {"multi_label": True, "curve": "PR", "label_weights": [1, 2, 0, 4, 5]}, "multi"),
    ("AUC", {"multi_label": True, "thresholds": [0.2, 0.6]}, "multi"),
    ("F1Score", {}, "multi"),
    ("F1Score", {"average": "macro", "threshold": 0.5}, "multi"),
    ("F1Score", {"average": "micro"}, "multi"),
    ("F1Score", {"average": "weighted", "threshold": 0.4}, "multi"),
    ("FBetaScore", {"beta": 2.0, "average": "macro"}, "multi"),
    ("TruePositives", {}, "bin"),
    ("FalsePositives", {"thresholds": [0.3, 0.6]}, "multi"),
    ("TrueNegatives", {}, "bin"),
    ("FalseNegatives", {}, "bin"),
    ("MeanSquaredError", {}, "reg"),
    ("RootMeanSquaredError", {}, "reg"),
    ("MeanAbsoluteError", {}, "reg"),
    ("MeanAbsolutePercentageError", {}, "reg"),
    ("MeanSquaredLogarithmicError", {}, "reg"),
    ("CosineSimilarity", {}, "reg"),
    ("LogCoshError", {}, "reg"),
    ("BinaryCrossentropy", {}, "bin"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logit"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "cat"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, "seq"),
    ("KLDivergence", {}, "cat"),
    ("Poisson", {}, "reg"),
    ("Hinge", {}, "bin"),
    ("SquaredHinge", {}, "bin"),
    ("CategoricalHinge", {}, "cat"),
]
IDS = [f"{c}-{k}-{kind}" for c, k, kind in CASES]


def _result(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


@pytest.mark.parametrize("cls,kwargs,kind", CASES, ids=IDS)
def test_running_result_matches_keras_over_batches_and_after_reset(cls, kwargs, kind, rng):
    for weighted in (False, True):
        batches = [_batch(kind, rng) for _ in range(3)]
        shape = (B, 3) if kind == "seq" else (B,)  # per-timestep weights for sequences
        weights = [rng.uniform(0.1, 2.0, shape).astype(np.float32) if weighted else None for _ in batches]
        want, got = getattr(keras.metrics, cls)(**kwargs), getattr(metrics, cls)(**kwargs)
        for (y_true, y_pred), w in zip(batches, weights):
            want.update_state(y_true, y_pred, sample_weight=w)
            got.update_state(y_true, gn.tensor(y_pred), sample_weight=w)  # Tensors are accepted too
        result = got.result()
        if np.ndim(_result(want.result())) == 0:
            assert isinstance(result, float)
        np.testing.assert_allclose(result, _result(want.result()), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{cls} weighted={weighted}")
        want.reset_state()
        got.reset_state()
        np.testing.assert_allclose(got.result(), _result(want.result()), atol=0)
        y_true, y_pred = batches[0]
        want.update_state(y_true, y_pred)
        got.update_state(y_true, y_pred)
        np.testing.assert_allclose(got.result(), _result(want.result()), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,kwargs,kind", CASES, ids=IDS)
def test_config_and_variables_match_keras(cls, kwargs, kind, rng):
    want, got = getattr(keras.metrics, cls)(**kwargs), getattr(metrics, cls)(**kwargs)
    wc, gc = want.get_config(), got.get_config()
    wc.pop("name"), gc.pop("name")
    if "label_weights" in wc and wc["label_weights"] is not None:
        wc["label_weights"] = np.asarray(wc["label_weights"]).tolist()
    assert gc == wc
    again = metrics.deserialize(metrics.serialize(got))
    assert type(again) is type(got) and again.get_config() == got.get_config()
    y_true, y_pred = _batch(kind, rng)
    want.update_state(y_true, y_pred)
    got.update_state(y_true, y_pred)
    assert [v.shape for v in got.variables] == [tuple(v.shape) for v in want.variables]
    assert [v.path for v in got.variables] == [v.path.replace(want.name, got.name, 1) for v in want.variables]
    assert all(v.dtype == np.float32 and not v.trainable for v in got.variables)


def test_mean_and_sum_with_weights_of_every_rank_match_keras(rng):
    values = rng.standard_normal((4, 3)).astype(np.float32)
    for weight in (None, rng.random(4), rng.random((4, 1)), rng.random((4, 3)), 2.0):
        for cls in ("Mean", "Sum"):
            want, got = getattr(keras.metrics, cls)(), getattr(metrics, cls)()
            for _ in range(2):
                want.update_state(values, sample_weight=weight)
                got.update_state(values, sample_weight=weight)
            np.testing.assert_allclose(got.result(), _result(want.result()), rtol=1e-5)
    m = metrics.Mean()
    assert m.result() == 0.0 and isinstance(m.result(), float)
    m.update_state(3.0)
    m.update_state([1.0, 2.0])
    assert m.result() == pytest.approx(2.0)


def test_mean_metric_wrapper_honours_the_prediction_mask_like_keras(rng):
    from keras.src import backend as kbackend
    y_true, y_pred = _batch("seq", rng)
    mask = rng.random((B, 3)) > 0.3
    sw = rng.uniform(0.1, 2, (B, 3)).astype(np.float32)
    for cls, kwargs in (("SparseCategoricalAccuracy", {}), ("SparseCategoricalCrossentropy", {"ignore_class": 2})):
        want, got = getattr(keras.metrics, cls)(**kwargs), getattr(metrics, cls)(**kwargs)
        t = torch.tensor(y_pred)
        kbackend.set_keras_mask(t, torch.tensor(mask))
        p = gn.tensor(y_pred)
        p._keras_mask = mask
        for w in (None, sw):
            want.update_state(y_true, t, sample_weight=w)
            got.update_state(y_true, p, sample_weight=w)
        np.testing.assert_allclose(got.result(), _result(want.result()), rtol=1e-5)


def test_wrapper_of_any_function_and_its_config():
    m = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="hits", threshold=0.3)
    m.update_state([[1], [0], [1]], [[0.4], [0.2], [0.1]])
    assert m.result() == pytest.approx(2 / 3)
    again = metrics.MeanMetricWrapper.from_config(m.get_config())
    assert again._fn is metrics.binary_accuracy and again.name == "hits"
    m2 = metrics.MeanMetricWrapper(gn.losses.mean_squared_error)
    assert m2.name.startswith("mean_metric_wrapper")
    m2.update_state(np.zeros((2, 2)), np.ones((2, 2)))
    assert m2.result() == 1.0


def test_auto_names_are_unique_like_keras():
    names = [metrics.Precision().name for _ in range(3)]
    assert len(set(names)) == 3 and all(n.startswith("precision") for n in names)
    assert metrics.Precision(name="p").name == "p"
    assert metrics.AUC(name="auc_roc").get_config()["name"] == "auc_roc"


# ---- get and resolve_accuracy --------------------------------------------------------
def test_get_resolves_the_keras_names():
    import keras.src.metrics as kmetrics
    for name in ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                 "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "AUC", "precision",
                 "recall", "Precision", "f1_score", "F1Score", "mse", "MSE", "mae", "mape", "msle", "bce",
                 "mean_squared_error", "root_mean_squared_error", "RootMeanSquaredError", "mean_absolute_error",
                 "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
                 "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine_similarity",
                 "log_cosh_error", "mean", "sum", "true_positives", "false_negatives"):
        got = metrics.get(name)
        assert type(got).__name__ == type(kmetrics.get(name)).__name__, name
    assert metrics.get(None) is None
    fn = metrics.binary_accuracy
    assert metrics.get(fn) is fn
    assert isinstance(metrics.get({"class_name": "AUC", "config": {"curve": "PR"}}), metrics.AUC)
    with pytest.raises(ValueError, match=r"Could not interpret metric identifier: 'acuracy'.*accuracy.*auc"):
        metrics.get("acuracy")


SHAPES = [
    ((32,), (32, 1)), ((32, 1), (32, 1)), ((32,), (32, 10)), ((32, 1), (32, 10)),
    ((32, 10), (32, 10)), ((8, 5), (8, 5, 7)), ((8, 5, 1), (8, 5, 7)), ((8, 5, 7), (8, 5, 7)),
]


@pytest.mark.parametrize("t_shape,p_shape", SHAPES)
@pytest.mark.parametrize("identifier", ["accuracy", "acc"])
def test_resolve_accuracy_follows_keras_compile(t_shape, p_shape, identifier):
    from keras.src.trainers.compile_utils import get_metric
    want = get_metric(identifier, keras.KerasTensor(t_shape), keras.KerasTensor(p_shape))
    got = metrics.resolve_accuracy("sparse_categorical_crossentropy", t_shape, p_shape, name=identifier)
    assert type(got).__name__ == type(want).__name__
    assert got.name == want.name == identifier


def test_resolve_accuracy_falls_back_on_the_loss_without_shapes():
    assert isinstance(metrics.resolve_accuracy("binary_crossentropy"), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve_accuracy(gn.losses.BinaryCrossentropy(from_logits=True)), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve_accuracy(gn.losses.sparse_categorical_crossentropy), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve_accuracy("SparseCategoricalCrossentropy"), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve_accuracy("categorical_crossentropy"), metrics.CategoricalAccuracy)
    with pytest.raises(ValueError, match="cannot tell whether 'accuracy' means"):
        metrics.resolve_accuracy("mse")


# ---- results and errors ---------------------------------------------------------------
def test_results_are_python_floats_or_arrays_per_threshold():
    p = metrics.Precision(thresholds=[0.3, 0.7])
    p.update_state([1, 0, 1], [0.5, 0.9, 0.8])
    np.testing.assert_allclose(p.result(), [2 / 3, 1 / 2])
    f = metrics.F1Score()
    f.update_state(np.eye(3)[[0, 1, 2]], np.eye(3)[[0, 2, 2]])
    assert f.result().shape == (3,)
    assert isinstance(metrics.AUC()(np.array([0, 1, 1]), np.array([0.1, 0.8, 0.4])), float)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"Invalid AUC curve value: \"ROCK\""):
        metrics.AUC(curve="ROCK")
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="Invalid `average` argument value"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="expects 2D inputs"):
        metrics.F1Score().update_state(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="When class_id is provided, y_pred must be a 2D array"):
        metrics.Recall(class_id=1).update_state(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\) does not match"):
        metrics.Recall().update_state(np.zeros(3), np.zeros(3), sample_weight=np.ones(4))
