"""ProgbarLogger: prints "Epoch i/n" and the progress bar with the running logs."""
from glassnet.callbacks.base import Callback
from glassnet.training.progbar import Progbar


class ProgbarLogger(Callback):
    """The progress display of fit/evaluate/predict (verbose 1: live bar, 2: line per epoch)."""

    def __init__(self):
        super().__init__()
        self.bar = None

    @property
    def verbose(self):
        return self.params.get("verbose", 1)

    def _new_bar(self):
        self.bar = Progbar(self.params.get("steps"), verbose=self.verbose)

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs', 1)}", flush=True)
        self._new_bar()
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.target = self.seen if self.bar.target is None else self.bar.target
        self.bar.update(self.seen, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if self.params.get("mode") == "test":
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if self.params.get("mode") == "test":
            self.bar.update(batch + 1, logs, finalize=False)

    def on_test_end(self, logs=None):
        if self.params.get("mode") == "test":
            self.bar.update(self.params.get("steps") or 0, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, None, finalize=False)

    def on_predict_end(self, logs=None):
        self.bar.update(self.params.get("steps") or 0, None, finalize=True)
