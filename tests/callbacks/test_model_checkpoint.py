import os

import numpy as np
import pytest

import glassnet as gn
from tests.callbacks.conftest import make_model, scripted


def _recording(model, monkeypatch):
    """Replace model.save / model.save_weights by writers of small marker files, recording
    (path, a copy of the weights) for each call: these tests are about when and where."""
    saved = []

    def fake(path, overwrite=True):
        assert overwrite is True
        saved.append((os.fspath(path), model.get_weights()))
        with open(path, "w") as f:
            f.write("checkpoint")

    monkeypatch.setattr(model, "save", fake, raising=False)
    monkeypatch.setattr(model, "save_weights", fake, raising=False)
    return saved


def test_filepath_extension_rules():
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        gn.callbacks.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="must end in `.keras`"):
        gn.callbacks.ModelCheckpoint("model.ckpt")
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        gn.callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    gn.callbacks.ModelCheckpoint("m.h5")  # legacy full-model name, accepted as in Keras
    gn.callbacks.ModelCheckpoint("w.weights.h5", save_weights_only=True)


def test_every_epoch_with_formatted_names(tmp_path, data, monkeypatch):
    x, y = data
    model = make_model()
    saved = _recording(model, monkeypatch)
    cb = gn.callbacks.ModelCheckpoint(str(tmp_path / "ckpt" / "{epoch:02d}-{val_loss:.2f}.keras"))
    model.fit(x, y, epochs=3, batch_size=16, verbose=0,
              callbacks=[scripted("val_loss", [0.5, 0.25, 0.75]), cb])
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["01-0.50.keras", "02-0.25.keras", "03-0.75.keras"]
    assert [p for p, _ in saved] == [str(tmp_path / "ckpt" / n) for n in ("01-0.50.keras", "02-0.25.keras", "03-0.75.keras")]


def test_save_best_only(tmp_path, data, monkeypatch, capsys):
    x, y = data
    model = make_model()
    saved = _recording(model, monkeypatch)
    snapshots = []
    record = gn.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    cb = gn.callbacks.ModelCheckpoint(str(tmp_path / "{epoch}-{val_loss:.1f}.weights.h5"), save_best_only=True,
                                      save_weights_only=True, verbose=1)
    model.fit(x, y, epochs=5, batch_size=16, verbose=0,
              callbacks=[scripted("val_loss", [0.5, 0.6, 0.4, 0.4, 0.3]), record, cb])
    assert sorted(os.listdir(tmp_path)) == ["1-0.5.weights.h5", "3-0.4.weights.h5", "5-0.3.weights.h5"]
    for (_, weights), epoch in zip(saved, (0, 2, 4)):
        for a, b in zip(weights, snapshots[epoch]):
            np.testing.assert_array_equal(a, b)
    out = capsys.readouterr().out
    assert "Epoch 3: val_loss improved from 0.50000 to 0.40000, saving model to" in out
    assert "Epoch 4: val_loss did not improve from 0.40000" in out


def test_best_only_one_file_is_overwritten_and_threshold(tmp_path, data, monkeypatch):
    x, y = data
    model = make_model(metrics=["accuracy"])
    saved = _recording(model, monkeypatch)
    cb = gn.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_accuracy", save_best_only=True,
                                      initial_value_threshold=0.6)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0,
              callbacks=[scripted("val_accuracy", [0.5, 0.7, 0.65, 0.8]), cb])
    assert len(saved) == 2 and cb.best == 0.8  # accuracy is maximised ("auto"); 0.5 is below the threshold
    assert os.listdir(tmp_path) == ["best.keras"]


def test_save_freq_in_batches(tmp_path, data, monkeypatch):
    x, y = data  # 48 samples, batch 16: 3 batches an epoch
    model = make_model()
    saved = _recording(model, monkeypatch)
    cb = gn.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.keras"), monitor="loss", save_freq=2)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    assert [os.path.basename(p) for p, _ in saved] == ["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"]


def test_unknown_format_key_is_named(tmp_path, data, monkeypatch):
    x, y = data
    model = make_model()
    _recording(model, monkeypatch)
    cb = gn.callbacks.ModelCheckpoint(str(tmp_path / "{epoch}-{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match="val_acc"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])


def test_real_files_load_back(tmp_path, data):
    x, y = data
    model = make_model()
    if not hasattr(model, "save") or not hasattr(model, "save_weights"):
        pytest.skip("model.save / save_weights are not available yet (glassnet/models/saving.py)")
    best_weights = []
    record = gn.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: best_weights.append(model.get_weights())
                                         if e == 1 else None)
    callbacks = [scripted("val_loss", [0.5, 0.2, 0.3]), record,
                 gn.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=True),
                 gn.callbacks.ModelCheckpoint(str(tmp_path / "{epoch}.weights.h5"), save_weights_only=True)]
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=callbacks)
    loaded = gn.models.load_model(str(tmp_path / "best.keras"))
    for a, b in zip(loaded.get_weights(), best_weights[0]):
        np.testing.assert_array_equal(a, b)
    fresh = make_model()
    fresh.load_weights(str(tmp_path / "2.weights.h5"))
    for a, b in zip(fresh.get_weights(), best_weights[0]):
        np.testing.assert_array_equal(a, b)
