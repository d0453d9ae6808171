"""Learning-rate callbacks: ReduceLROnPlateau and LearningRateScheduler (Keras' names and rules).

ReduceLROnPlateau ("newbob" in the lectures): after ``patience`` epochs without an
improvement of ``monitor`` (by more than ``min_delta``), ``lr <- max(lr * factor, min_lr)``,
then ``cooldown`` epochs of rest. LearningRateScheduler: ``lr <- schedule(epoch, lr)`` at
the start of each epoch. Both add the learning rate of the epoch to the epoch logs
("learning_rate"), so History and CSVLogger record it.
"""
import warnings

import numpy as np

from glassnet.callbacks.base import Callback
from glassnet.callbacks.monitor_callback import MonitorCallback


def _optimizer(model, owner):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f'{owner}: Optimizer must have a "learning_rate" attribute; compile the model first.')
    return optimizer


class ReduceLROnPlateau(MonitorCallback):
    """Reduce the learning rate when ``monitor`` has stopped improving.

        gn.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5)

    The optimizer needs a float learning rate (not a schedule) so it can be set.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if kwargs:  # Keras 3 accepts and ignores them (old tf.keras arguments such as `epsilon`)
            warnings.warn(f"ReduceLROnPlateau: ignoring unknown arguments {sorted(kwargs)}", stacklevel=2)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _reduce_lr(self, optimizer, epoch):
        old_lr = float(optimizer.learning_rate)
        # Compared in float32, as Keras does: the optimizer stores the rate in float32.
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = _optimizer(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start to ``schedule(epoch, lr)`` (epoch from 0).

        def scheduler(epoch, lr):
            return lr if epoch < 10 else lr * math.exp(-0.1)
        gn.callbacks.LearningRateScheduler(scheduler)

    A one-argument ``schedule(epoch)`` also works (Keras' old API). It must return a float.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _optimizer(self.model, "LearningRateScheduler")
        try:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the old one-argument API
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(_optimizer(self.model, "LearningRateScheduler").learning_rate)
