"""BackupAndRestore: resume an interrupted ``fit`` exactly where it stopped (``keras.callbacks.BackupAndRestore``).

At the end of each epoch (or every ``save_freq`` batches) the callback writes, into
``backup_dir``, one file ``latest.npz`` holding everything the next epoch depends on:
  - the model's weights (``model.get_weights()``, Keras order, exact dtypes),
  - the optimizer's state (``optimizer.variables``: iteration, learning rate, slots),
  - the epoch to resume from,
  - the random state: glassnet's global generator (shuffling, Dropout without a seed),
    Python's ``random``, and the own generator of every seeded layer (``Dropout(seed=..)``).
The write is atomic (temporary file, fsync, ``os.replace``): a crash mid-save leaves the
previous backup intact. ``training_metadata.json`` beside it repeats the metadata for
people to read; only ``latest.npz`` is read back (with ``allow_pickle=False``).

When ``fit`` starts again with the same callback directory, the callback loads the backup
in ``on_train_begin`` and sets ``model._initial_epoch``; ``fit`` then starts at that epoch.
With ``save_freq="epoch"`` the resumed run repeats the uninterrupted run bit for bit.
With an integer ``save_freq`` the interrupted epoch restarts from its beginning with the
weights of the last backup (as in Keras), which is not bit-exact.

When training ends normally the backup is deleted (``delete_checkpoint=True``): only the
files this callback wrote, then ``backup_dir`` itself if it is left empty (Keras removes
the whole directory).
"""
import json
import os
import random as _pyrandom
import shutil
import zipfile

import numpy as np

from glassnet import random as gn_random
from glassnet.callbacks.base import Callback
from glassnet.models.safe_files import atomic_write

_FORMAT = "glassnet.BackupAndRestore"
_VERSION = 1


# ---- random states as JSON -------------------------------------------------------------------
def _to_json(value):
    """A bit-generator state (nested dicts of ints, maybe arrays) as plain JSON values."""
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_json(value):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        return {k: _from_json(v) for k, v in value.items()}
    return value


def _layer_generators(model):
    """(key, layer) for every layer below ``model`` that may own a generator (``_rng``), in a fixed order.

    Keys are positions ("1/0:Dropout"), not names: auto-names ("dropout_3") depend on how many
    layers the process made before, and a resumed run is often a new process."""
    found, seen = [], set()

    def walk(layer, prefix):
        for i, sub in enumerate(getattr(layer, "_layers", [])):
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            key = f"{prefix}{i}:{type(sub).__name__}"
            if "_rng" in vars(sub):
                found.append((key, sub))
            walk(sub, key + "/")

    walk(model, "")
    return found


def _random_state(model):
    version, internal, gauss = _pyrandom.getstate()
    layers = {key: _to_json(layer._rng.bit_generator.state) for key, layer in _layer_generators(model)
              if isinstance(layer._rng, np.random.Generator)}
    return {
        "global": _to_json(gn_random.get_state()),
        "python": [version, list(internal), gauss],
        "layers": layers,
    }


def _set_random_state(model, state):
    gn_random.set_state(_from_json(state["global"]))
    version, internal, gauss = state["python"]
    _pyrandom.setstate((version, tuple(internal), gauss))
    saved = state.get("layers", {})
    for key, layer in _layer_generators(model):
        if key not in saved:
            continue
        bit_state = _from_json(saved[key])
        if not isinstance(layer._rng, np.random.Generator):
            # A seeded layer that creates its generator lazily (RNN cells): create it now.
            layer._rng = np.random.Generator(getattr(np.random, bit_state["bit_generator"])())
        layer._rng.bit_generator.state = bit_state


# ---- the callback ----------------------------------------------------------------------------
class BackupAndRestore(Callback):
    """Back up the training state each epoch; on a restarted ``fit``, restore it and skip finished epochs.

        backup = gn.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
        model.fit(x, y, epochs=10, callbacks=[backup])   # interrupted at epoch 5
        model.fit(x, y, epochs=10, callbacks=[backup])   # continues with epoch 6

    Args:
        backup_dir: directory for the backup files (created when needed).
        save_freq: "epoch", or an integer: back up every that many batches.
        double_checkpoint: keep the previous backup as ``latest.npz.bkp`` and fall back to it
            when the latest one cannot be read.
        delete_checkpoint: delete the backup when training ends normally.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                             "Expected either 'epoch' or an integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._backup_path = os.path.join(self.backup_dir, "latest.npz")
        self._prev_backup_path = self._backup_path + ".bkp"
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    # ---- restore -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.model._initial_epoch = None
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        if not os.path.exists(self._backup_path) and not os.path.exists(self._prev_backup_path):
            return
        try:
            backup = self._read(self._backup_path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            if not (self.double_checkpoint and os.path.exists(self._prev_backup_path)):
                raise ValueError(f"BackupAndRestore: cannot read the backup {self._backup_path!r} ({error}); "
                                 "delete it to start training from scratch") from error
            backup = self._read(self._prev_backup_path)
        self._restore(backup)

    def _read(self, path):
        with np.load(path, allow_pickle=False) as f:
            metadata = json.loads(str(f["metadata"]))
            if metadata.get("format") != _FORMAT:
                raise ValueError(f"{path} is not a glassnet BackupAndRestore file")
            weights = [f[f"weights/{i:04d}"] for i in range(metadata["num_weights"])]
            optimizer = [f[f"optimizer/{i:04d}"] for i in range(metadata["num_optimizer_variables"])]
        return metadata, weights, optimizer

    def _restore(self, backup):
        metadata, weights, optimizer_state = backup
        model = self.model
        if not getattr(model, "built", False) and not model.weights:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you call `fit()`. "
                f'Model "{model.name}" is unbuilt. You can build it beforehand by calling it on a batch of data '
                "or by starting it with an Input layer."
            )
        own = [tuple(w.shape) for w in model.weights]
        saved = [tuple(a.shape) for a in weights]
        if own != saved:
            raise ValueError(f'BackupAndRestore: the backup in {self.backup_dir!r} was written for a different model: '
                             f'it holds weights of shapes {saved}, model "{model.name}" has {own}')
        model.set_weights(weights)
        optimizer = getattr(model, "optimizer", None)
        if optimizer_state:
            if optimizer is None:
                raise ValueError("BackupAndRestore: the backup holds optimizer state; compile the model before fit")
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
            optimizer.set_state(optimizer_state)
        _set_random_state(model, metadata["random"])
        self._current_epoch = metadata["epoch"]
        model._initial_epoch = metadata["epoch"]

    # ---- back up -----------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save()

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save(self):
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        weights = model.get_weights()
        optimizer_state = optimizer.get_state() if optimizer is not None and optimizer.built else []
        metadata = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "num_weights": len(weights),
            "num_optimizer_variables": len(optimizer_state),
            "optimizer": None if optimizer is None else type(optimizer).__name__,
            "random": _random_state(model),
        }
        arrays = {f"weights/{i:04d}": w for i, w in enumerate(weights)}
        arrays.update({f"optimizer/{i:04d}": s for i, s in enumerate(optimizer_state)})
        arrays["metadata"] = np.array(json.dumps(metadata))
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._backup_path):
            atomic_write(self._prev_backup_path, lambda f: _copy_into(self._backup_path, f), overwrite=True)
        atomic_write(self._backup_path, lambda f: np.savez(f, **arrays), overwrite=True)
        readable = {k: v for k, v in metadata.items() if k != "random"}
        atomic_write(self._metadata_path, lambda f: f.write(json.dumps(readable, indent=2).encode()), overwrite=True)

    # ---- clean up ----------------------------------------------------------------------------
    def on_train_end(self, logs=None):
        self.model._initial_epoch = None
        if not self.delete_checkpoint:
            return
        for path in (self._backup_path, self._prev_backup_path, self._metadata_path):
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(self.backup_dir)
        except OSError:  # not empty (other files live there) or already gone
            pass


def _copy_into(path, f):
    with open(path, "rb") as src:
        shutil.copyfileobj(src, f)
