"""TensorBoard: write training logs that TensorBoard shows (``keras.callbacks.TensorBoard``).

The layout and tags are Keras': ``log_dir/train`` and ``log_dir/validation`` each hold an
event file; every epoch writes ``epoch_<metric>`` scalars (training values and the
learning rate under "train", the ``val_`` values without their prefix under
"validation"), so both runs share one chart per metric. ``update_freq="batch"`` or an
integer N also writes ``batch_<metric>`` every N batches; ``histogram_freq=N`` writes
``<weight path>/histogram`` of every weight every N epochs (and ``<weight path>/image``
with ``write_images``). ``model.evaluate(..., callbacks=[tb])`` writes
``evaluation_<metric>_vs_iterations``.

The event files are written by tensorboardX (an optional extra: ``pip install tensorboardX``);
view them with ``tensorboard --logdir logs``.
"""
import os
import time
import warnings

import numpy as np

from glassnet.callbacks.base import Callback


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError(
            "gn.callbacks.TensorBoard writes its event files with tensorboardX, which is not installed. "
            "Install it with `pip install tensorboardX` (and `pip install tensorboard` to view the logs)."
        ) from error
    return SummaryWriter


def _scalar(value):
    """A log value as a float, or None when it is not a single number (a per-class array)."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        return None
    return float(array.reshape(()))


def _weight_image(weight):
    """A weight as Keras draws it: (images, height, width, 1), here scaled to [0, 1] per weight
    (Keras clips raw values to [0, 1], which leaves most weights black)."""
    w = np.squeeze(np.asarray(weight, dtype=np.float32))
    if w.ndim == 1:  # a bias: one row
        w = w.reshape(1, 1, w.shape[0], 1)
    elif w.ndim == 2:  # a Dense kernel, drawn wide
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:  # a conv kernel (h, w, filters) after squeeze: one image per filter
        w = np.transpose(w, (2, 0, 1))[..., None]
    else:
        return None
    low, high = float(w.min()), float(w.max())
    return (w - low) / (high - low) if high > low else np.zeros_like(w)


class TensorBoard(Callback):
    """Log metrics, the learning rate and weight histograms for TensorBoard.

        tb = gn.callbacks.TensorBoard(log_dir="logs/run1", histogram_freq=1)
        model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[tb])
        # then: tensorboard --logdir logs

    ``write_graph`` writes the model summary as text (tag "keras"; glassnet has no
    TensorFlow graph to draw). ``profile_batch`` and ``embeddings_freq`` are Keras
    arguments glassnet does not support (they must stay 0).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self._writer_class = _summary_writer_class()  # fail now, not after the first epoch
        if update_freq not in ("epoch", "batch") and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                                      or update_freq < 1):
            raise ValueError(f'TensorBoard: update_freq must be "epoch", "batch" or a positive integer, '
                             f"received {update_freq!r}")
        if profile_batch:
            raise ValueError(f"Profiling is not available in glassnet. Received: profile_batch={profile_batch} "
                             "(must be 0)")
        if embeddings_freq:
            raise ValueError(f"TensorBoard: embeddings_freq is not supported by glassnet. Received: "
                             f"embeddings_freq={embeddings_freq} (must be 0)")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0

    # ---- writers -----------------------------------------------------------------------------
    def set_model(self, model):
        super().set_model(model)
        self._close_writers()  # a new model gets new files
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._graph_written = not self.write_graph

    def _writer(self, which):
        if which not in self._writers:
            self._writers[which] = self._writer_class(logdir=self._train_dir if which == "train" else self._val_dir)
        return self._writers[which]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ---- hooks -------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if not self._graph_written:
            self._write_model_summary()

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start_time = time.time()
            self._epoch_start_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer = self._writer("train")
        step = self._global_train_batch
        if self.write_steps_per_second:
            elapsed = time.time() - self._batch_start_time
            if elapsed > 0:
                writer.add_scalar("batch_steps_per_second", 1.0 / elapsed, step)
        for name, value in (logs or {}).items():
            value = _scalar(value)
            if value is not None:
                writer.add_scalar(f"batch_{name}", value, step)

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        step = self._iterations()
        for name, value in logs.items():
            value = _scalar(value)
            if value is not None:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", value, step)
        writer.flush()
        if self.params.get("mode") == "test":  # a standalone evaluate(): no on_train_end will close it
            self._close_writers()

    # ---- what is written ---------------------------------------------------------------------
    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        return 0 if optimizer is None else int(np.asarray(getattr(optimizer.iterations, "data", optimizer.iterations)))

    def _log_epoch_metrics(self, epoch, logs):
        if not logs:
            return
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            elapsed = time.time() - self._epoch_start_time
            if elapsed > 0:
                train["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / elapsed
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            writer = self._writer(which)
            for name, value in values.items():
                value = _scalar(value)
                if value is not None:
                    writer.add_scalar(f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = (getattr(weight, "path", None) or weight.name).replace(":", "_")
                values = np.asarray(weight.data)
                writer.add_histogram(f"{name}/histogram", values, epoch)
                if self.write_images:
                    image = _weight_image(values)
                    if image is not None:
                        writer.add_images(f"{name}/image", image, epoch, dataformats="NHWC")

    def _write_model_summary(self):
        lines = []
        try:
            self.model.summary(print_fn=lines.append)
        except Exception as error:  # a summary must never stop training
            warnings.warn(f"TensorBoard: could not write the model summary ({error})", stacklevel=2)
            return
        text = "\n".join(lines)
        # Indented by four spaces: TensorBoard's text plugin renders it as preformatted markdown.
        self._writer("train").add_text("keras", "\n".join("    " + line for line in text.splitlines()), 0)
        self._graph_written = True
