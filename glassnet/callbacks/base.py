"""Callback: the extension point of the training loop (``keras.callbacks.Callback``)."""


class Callback:
    """Override any hook; ``self.model`` and ``self.params`` are set by the loop."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls each hook on every callback in order; adds History and the progress bar."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, mode="train", **params):
        from glassnet.callbacks.history import History
        from glassnet.callbacks.progbar_logger import ProgbarLogger

        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be gn.callbacks.Callback instances, received {cb!r}")
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history:
            history = next((c for c in self.callbacks if isinstance(c, History)), None)
            if history is None:
                history = History()
                self.callbacks.append(history)
            if model is not None:
                model.history = history
        self.params = dict(params, mode=mode)
        for cb in self.callbacks:
            cb.set_params(self.params)
            if model is not None:
                cb.set_model(model)


def _dispatch(name):
    # Keras always passes logs (None when there are none): callbacks written as
    # def on_epoch_begin(self, epoch, logs) without a default must work
    if name in ("on_epoch_begin", "on_epoch_end") or "batch" in name:
        def hook(self, index, logs=None):
            for cb in self.callbacks:
                getattr(cb, name)(index, logs)
    else:
        def hook(self, logs=None):
            for cb in self.callbacks:
                getattr(cb, name)(logs)
    hook.__name__ = name
    return hook


for _name in _HOOKS:
    setattr(CallbackList, _name, _dispatch(_name))
