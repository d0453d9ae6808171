"""Report: a training run as one HTML page a person would rather look at than read.

    model.fit(x, y, epochs=20, validation_split=0.1, callbacks=[gn.callbacks.Report("run.html")])

At the end of ``fit`` it writes (atomically) one self-contained file: the model summary,
learning curves, the learning rate per step, gradient norms per layer over time, the
first layer's filters, feature maps of one example, a confusion matrix (classifiers) or
predictions against truth (regression), the settings and the timings.

What it records while training, and what that costs:
- the epoch logs and the learning rate at every step (a float read: nothing measurable);
- the gradient norm of every layer on one small batch (``grad_batch_size`` examples), in
  inference mode, before training and every ``every`` epochs: one forward and backward
  pass, about 0.8 of a training step (the digits demo: 6 ms of CPU against 7.7 ms a step,
  so 1/41 of an epoch of 41 steps); the report states the share it measured;
- at the end, drawing the page: about 2 s of CPU, mostly matplotlib.

The examples come from ``x_sample``/``y_sample``; without them, from the arguments of
``fit`` (Keras 3 callbacks are not handed the data, so Report looks up the running
``fit`` call): the validation data, else the validation split, else the training data.
Nothing Report does draws random numbers or changes weights, so a seeded run gives the
same weights with or without it. Pictures need matplotlib (``pip install glassnet[viz]``).
"""
import datetime
import os
import tempfile
import time

import numpy as np

from glassnet.callbacks.base import Callback

def _is_array(a):
    return isinstance(a, np.ndarray) or hasattr(a, "data") and isinstance(getattr(a, "data"), np.ndarray)


def _array(a):
    return a.data if not isinstance(a, np.ndarray) and hasattr(a, "data") else a


class Report(Callback):
    """Write an HTML report of the run at the end of ``fit``.

    Args:
        path: the HTML file to write (folders are created).
        x_sample, y_sample: examples for the feature maps, the confusion matrix or the
            prediction plot, and the gradient-norm batch (default: taken from fit's data).
        every: sample the gradient norms every ``every`` epochs (and after the last).
        title: the page title (default: the model's name).
        class_names: names of the classes for the confusion matrix.
        grad_batch_size: examples in the gradient-norm batch.
        max_samples: at most this many examples are predicted for the evaluation section.
    """

    def __init__(self, path="run.html", x_sample=None, y_sample=None, every=1, title=None, class_names=None,
                 grad_batch_size=32, max_samples=2000):
        super().__init__()
        from glassnet.viz import _mpl

        _mpl.require()  # fail before training, not after it
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"Report: `every` must be an integer >= 1, received {every!r}")
        if y_sample is not None and x_sample is None:
            raise ValueError("Report: y_sample needs x_sample")
        self.path = os.fspath(path)
        self.x_sample, self.y_sample = x_sample, y_sample
        self.every = int(every)
        self.title = title
        self.class_names = class_names
        self.grad_batch_size = int(grad_batch_size)
        self.max_samples = int(max_samples)
        self._reset()

    def _reset(self):
        self.logs, self.epochs, self.epoch_seconds = [], [], []
        self.lr_steps, self.lr_epochs = [], []
        self.grad_records, self.grad_epochs, self.grad_seconds = [], [], []
        self.train_seconds = 0.0
        self.render_seconds = 0.0
        self._fit, self._sample = {}, (None, None, None)
        self._grad_error = None
        self._started = None

    # ---- recording -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._reset()
        self._started = datetime.datetime.now()
        self._t0 = time.perf_counter()
        # fit hands its data to callbacks in params["fit_args"] (a glassnet addition to Keras' params)
        self._fit = dict(self.params.get("fit_args") or {})
        self._sample = self._resolve_sample()
        self._sample_gradients(0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_t0 = time.perf_counter()
        self.lr_epochs.append(self._lr())

    def on_train_batch_begin(self, batch, logs=None):
        self.lr_steps.append(self._lr())

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self._epoch_t0)
        self.epochs.append(epoch)
        self.logs.append({k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0})
        if len(self.epochs) % self.every == 0:
            self._sample_gradients(epoch + 1)

    def on_train_end(self, logs=None):
        if self.epochs and (not self.grad_epochs or self.grad_epochs[-1] != self.epochs[-1] + 1):
            self._sample_gradients(self.epochs[-1] + 1)
        self.train_seconds = time.perf_counter() - self._t0
        self.write()

    def _lr(self):
        opt = getattr(self.model, "optimizer", None)
        try:
            return float(opt.learning_rate) if opt is not None else float("nan")
        except (TypeError, ValueError, AttributeError):
            return float("nan")

    def _resolve_sample(self):
        if self.x_sample is not None:
            y = None if self.y_sample is None else _array(self.y_sample)
            return _array(self.x_sample), y, "the sample given to Report"
        fit = self._fit
        vd = fit.get("validation_data")
        if isinstance(vd, (tuple, list)) and len(vd) >= 2 and _is_array(vd[0]) and _is_array(vd[1]):
            return _array(vd[0])[:self.max_samples], _array(vd[1])[:self.max_samples], "the validation data"
        x, y = fit.get("x"), fit.get("y")
        if not (_is_array(x) and _is_array(y)):
            return None, None, None
        x, y = _array(x), _array(y)
        split = fit.get("validation_split") or 0.0
        if split and 0 < split < 1:
            cut = int(len(x) * (1 - split))
            return x[cut:cut + self.max_samples], y[cut:cut + self.max_samples], "the validation split"
        return x[:self.max_samples], y[:self.max_samples], "the training data (no validation data was given)"

    def _sample_gradients(self, epochs_done):
        x, y, _ = self._sample
        if x is None or y is None or self._grad_error is not None:
            return
        from glassnet.viz.inside import gradient_norms

        t0 = time.perf_counter()
        try:
            norms = gradient_norms(self.model, x[:self.grad_batch_size], y[:self.grad_batch_size])
        except Exception as e:  # a model the sampler cannot handle still gets the rest of its report
            self._grad_error = f"{type(e).__name__}: {e}"
            return
        self.grad_seconds.append(time.perf_counter() - t0)
        self.grad_records.append(norms)
        self.grad_epochs.append(epochs_done)

    # ---- the page ------------------------------------------------------------------------------
    def history(self):
        """``{name: [value per epoch]}`` as recorded (NaN where a value was not logged)."""
        keys = []
        for entry in self.logs:
            keys += [k for k in entry if k not in keys]
        return {k: [entry.get(k, float("nan")) for entry in self.logs] for k in keys}

    def write(self, path=None):
        """Render the report and write it atomically to ``path`` (default: ``self.path``)."""
        from glassnet.viz.report_sections import render

        path = os.fspath(path or self.path)
        _write_atomic(path, render(self))
        return path


def _write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html.tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
