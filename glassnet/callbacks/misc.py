"""Small callbacks: TerminateOnNaN and LambdaCallback (Keras' names and arguments)."""
import math

import numpy as np

from glassnet.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or inf.

    ``raise_error=False`` (default) prints "Batch i: Invalid loss, terminating training" and
    sets ``model.stop_training``; ``raise_error=True`` raises a RuntimeError at once.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = float(np.asarray(loss))
        if math.isnan(value) or math.isinf(value):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating training immediately."
                )
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


# Keras 1/2 hook names that Keras 3 still routes to the train-batch hooks.
_ALIASES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}


class LambdaCallback(Callback):
    """A callback made of plain functions, called at the matching moments.

        gn.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))

    Signatures: ``on_epoch_begin/on_epoch_end(epoch, logs)``, ``on_train_begin/on_train_end(logs)``,
    ``on_train_batch_begin/on_train_batch_end(batch, logs)``; any other ``on_*`` hook may be
    given by keyword too (``on_test_end=...``).
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in kwargs.items():
            name = _ALIASES.get(name, name)
            if name.startswith("on_") and not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}; the hooks are "
                                f"{sorted(n for n in vars(Callback) if n.startswith('on_'))}")
            hooks.setdefault(name, None)
            if hooks[name] is None:
                hooks[name] = fn
        for name, fn in hooks.items():
            if fn is None:
                continue
            setattr(self, name, _bind(fn, "epoch" in name or "batch" in name) if name.startswith("on_") else fn)


def _bind(fn, indexed):
    """The hook with Keras' calling convention: ``logs`` always passed (None when the loop gives none)."""
    if indexed:
        return lambda index, logs=None: fn(index, logs)
    return lambda logs=None: fn(logs)
