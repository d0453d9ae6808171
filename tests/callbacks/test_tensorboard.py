import os

import numpy as np
import pytest

import glassnet as gn
from tests.callbacks.conftest import make_model

pytest.importorskip("tensorboardX", reason="TensorBoard logging needs tensorboardX (pip install tensorboardX)")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="reading the logs back needs TensorBoard's own reader (pip install tensorboard)")


def _read(path):
    acc = event_accumulator.EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def _scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_epoch_scalars_histograms_and_learning_rate(tmp_path, data):
    x, y = data
    model = make_model(metrics=["accuracy"])
    tb = gn.callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=2, update_freq=2)
    sched = gn.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0, callbacks=[sched, tb])
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]

    train, val = _read(tmp_path / "train"), _read(tmp_path / "validation")
    h = history.history
    for name in ("loss", "accuracy"):
        # Event files hold float32: compare at float32 precision.
        assert [s for s, _ in _scalars(train, f"epoch_{name}")] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in _scalars(train, f"epoch_{name}")], h[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in _scalars(val, f"epoch_{name}")], h[f"val_{name}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in _scalars(train, "epoch_learning_rate")], [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    assert "epoch_learning_rate" not in val.Tags()["scalars"]

    # 36 training samples, batch 8: 5 batches an epoch, 15 in all; every 2nd written
    assert [s for s, _ in _scalars(train, "batch_loss")] == list(range(2, 16, 2))

    paths = [w.path for layer in model.layers for w in layer.weights]
    assert sorted(train.Tags()["histograms"]) == sorted(f"{p}/histogram" for p in paths)
    kernel = train.Histograms(f"{paths[0]}/histogram")
    assert [e.step for e in kernel] == [0, 2]
    final = kernel[-1].histogram_value
    w = model.layers[0].weights[0].data
    assert final.num == w.size and final.min == pytest.approx(w.min()) and final.max == pytest.approx(w.max())
    assert "keras/text_summary" in train.Tags()["tensors"]  # the model summary (write_graph=True)


def test_images_and_evaluate(tmp_path, data):
    x, y = data
    model = make_model()
    tb = gn.callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=1, write_images=True, write_graph=False)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[tb])
    model.evaluate(x, y, verbose=0, callbacks=[tb])
    train = _read(tmp_path / "train")
    paths = [w.path for layer in model.layers for w in layer.weights]
    assert sorted(train.Tags()["images"]) == sorted(f"{p}/image" for p in paths)
    assert not train.Tags()["tensors"]
    val = _read(tmp_path / "validation")
    assert [s for s, _ in _scalars(val, "evaluation_loss_vs_iterations")] == [3]  # after 3 steps


def test_arguments():
    with pytest.raises(ValueError, match="Profiling is not available"):
        gn.callbacks.TensorBoard(profile_batch=2)
    with pytest.raises(ValueError, match="update_freq"):
        gn.callbacks.TensorBoard(update_freq="sometimes")


def test_missing_tensorboardx_is_explained(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_tensorboardx(name, *args, **kwargs):
        if name.startswith("tensorboardX"):
            raise ImportError("No module named 'tensorboardX'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboardx)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        gn.callbacks.TensorBoard()
