import json
import os

import numpy as np
import pytest

import glassnet as gn
from tests.callbacks.conftest import make_model


RESUME_HINT = ("fit did not start at the restored epoch: after callbacks.on_train_begin() it must read "
               "model._initial_epoch (set by BackupAndRestore) in place of initial_epoch")


class Crash(Exception):
    pass


def crash_after(epoch):
    def on_epoch_end(e, logs):
        if e == epoch:
            raise Crash(f"simulated crash at the end of epoch {e + 1}")
    return gn.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


def _model(seed, dropout_seed=None):
    gn.utils.set_random_seed(seed)
    # Dropout and shuffling draw from the random state: a resume that forgot it would differ.
    return make_model(dropout=0.5, optimizer="adam", lr=0.01, dropout_seed=dropout_seed)


def _fit(model, data, callbacks, epochs=4):
    x, y = data
    return model.fit(x, y, epochs=epochs, batch_size=8, shuffle=True, validation_split=0.25, verbose=0,
                     callbacks=callbacks)


@pytest.mark.parametrize("dropout_seed", [None, 3])
def test_resume_is_bit_for_bit(tmp_path, data, dropout_seed):
    reference = _model(7, dropout_seed)
    expected = _fit(reference, data, []).history

    backup_dir = str(tmp_path / "backup")
    crashed = _model(7, dropout_seed)
    with pytest.raises(Crash):
        _fit(crashed, data, [gn.callbacks.BackupAndRestore(backup_dir), crash_after(1)])
    with open(os.path.join(backup_dir, "training_metadata.json")) as f:
        assert json.load(f)["epoch"] == 2

    # A new process: another model, other random numbers; the backup puts everything back.
    gn.utils.set_random_seed(12345)
    np.random.default_rng().random(100)
    resumed = _model(999, dropout_seed)
    history = _fit(resumed, data, [gn.callbacks.BackupAndRestore(backup_dir)])
    assert history.epoch == [2, 3], RESUME_HINT
    for key in ("loss", "val_loss"):
        assert history.history[key] == expected[key][2:], key
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(resumed.optimizer.get_state(), reference.optimizer.get_state()):
        np.testing.assert_array_equal(a, b)
    assert not os.path.exists(backup_dir)  # delete_checkpoint after a normal end


def test_the_callback_does_not_change_training(tmp_path, data):
    plain = _fit(_model(3), data, []).history
    backed = _fit(_model(3), data, [gn.callbacks.BackupAndRestore(str(tmp_path / "b"), delete_checkpoint=False)])
    assert backed.history == plain
    assert sorted(os.listdir(tmp_path / "b")) == ["latest.npz", "training_metadata.json"]
    with np.load(tmp_path / "b" / "latest.npz", allow_pickle=False) as f:
        assert json.loads(str(f["metadata"]))["epoch"] == 4


def test_backup_dir_with_other_files_is_kept(tmp_path, data):
    (tmp_path / "notes.txt").write_text("mine")
    _fit(_model(3), data, [gn.callbacks.BackupAndRestore(str(tmp_path))], epochs=1)
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_corrupt_backup(tmp_path, data):
    backup_dir = str(tmp_path / "b")
    with pytest.raises(Crash):
        _fit(_model(1), data, [gn.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True), crash_after(2)])
    assert sorted(os.listdir(backup_dir)) == ["latest.npz", "latest.npz.bkp", "training_metadata.json"]
    with open(os.path.join(backup_dir, "latest.npz"), "wb") as f:
        f.write(b"half a file")
    with pytest.raises(ValueError, match="cannot read the backup"):
        _fit(_model(1), data, [gn.callbacks.BackupAndRestore(backup_dir)])
    history = _fit(_model(1), data, [gn.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True)])
    assert history.epoch == [2, 3], RESUME_HINT  # the previous backup, written after epoch 2


def test_a_different_model_is_refused(tmp_path, data):
    backup_dir = str(tmp_path / "b")
    with pytest.raises(Crash):
        _fit(_model(1), data, [gn.callbacks.BackupAndRestore(backup_dir), crash_after(0)])
    other = gn.Sequential([gn.Input((4,)), gn.layers.Dense(2, activation="softmax")])
    other.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="written for a different model"):
        _fit(other, data, [gn.callbacks.BackupAndRestore(backup_dir)])


def test_save_freq_in_batches_resumes_the_interrupted_epoch(tmp_path, data):
    backup_dir = str(tmp_path / "b")
    with pytest.raises(Crash):
        _fit(_model(1), data, [gn.callbacks.BackupAndRestore(backup_dir, save_freq=2), crash_after(1)])
    with open(os.path.join(backup_dir, "training_metadata.json")) as f:
        metadata = json.load(f)
    assert (metadata["epoch"], metadata["batch"]) == (1, 4)  # 5 batches an epoch: the last save at batch 4 of epoch 2
    history = _fit(_model(1), data, [gn.callbacks.BackupAndRestore(backup_dir, save_freq=2)])
    assert history.epoch == [1, 2, 3], RESUME_HINT


def test_arguments():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        gn.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        gn.callbacks.BackupAndRestore("b", save_freq="batch")
