"""A tiny classifier and its data, small enough that every callback test trains in milliseconds."""
import numpy as np
import pytest

import glassnet as gn


def make_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x, y


def make_model(dropout=0.0, lr=0.1, optimizer="sgd", metrics=None, dropout_seed=None):
    layers = [gn.Input((4,)), gn.layers.Dense(8, activation="relu")]
    if dropout:
        layers.append(gn.layers.Dropout(dropout, seed=dropout_seed))
    layers.append(gn.layers.Dense(2, activation="softmax"))
    model = gn.Sequential(layers)
    opt = gn.optimizers.SGD(lr) if optimizer == "sgd" else gn.optimizers.Adam(lr)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=metrics)
    return model


def scripted(key, values):
    """A LambdaCallback that overwrites logs[key] at each epoch end with the next scripted value
    (listed before the callback under test, it decides what that callback sees)."""
    def on_epoch_end(epoch, logs):
        logs[key] = values[epoch]
    return gn.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


@pytest.fixture
def data():
    return make_data()


def drive(callback, model, values, key="val_loss"):
    """Feed ``{key: v}`` epoch logs to ``callback`` as fit would; returns (logs per epoch, epoch stopped at)."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    seen = []
    for epoch, value in enumerate(values):
        logs = {key: value}
        callback.on_epoch_end(epoch, logs)
        seen.append(logs)
        if model.stop_training:
            return seen, epoch
    return seen, None


def keras_reference():
    import json
    import os
    with open(os.path.join(os.path.dirname(__file__), "keras_reference.json")) as f:
        return json.load(f)
