import numpy as np
import pytest

import glassnet as gn
from tests.callbacks.conftest import make_model


def _exploding():
    """A regression that overflows to inf within the first epoch (SGD with a huge learning rate)."""
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32") * 100
    y = x.sum(axis=1, keepdims=True)
    model = gn.Sequential([gn.Input((4,)), gn.layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(1e3), loss="mse")
    return model, x, y


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    model, x, y = _exploding()
    losses = []
    record = gn.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: losses.append(logs["loss"]))
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[record, gn.callbacks.TerminateOnNaN()])
    assert not np.isfinite(losses[-1]) and np.isfinite(losses[:-1]).all()
    assert len(history.epoch) == 1  # the epoch ends, the next one never starts
    assert f"Batch {len(losses) - 1}: Invalid loss, terminating training" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_raise_error():
    model, x, y = _exploding()
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch"):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[gn.callbacks.TerminateOnNaN(raise_error=True)])


def test_terminate_on_nan_leaves_finite_training_alone(data):
    x, y = data
    history = make_model().fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[gn.callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 3


def test_lambda_callback_calls_each_hook(data):
    x, y = data
    calls = []
    cb = gn.callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_train_batch_begin=lambda batch, logs: calls.append(f"batch_begin {batch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch_end {batch} {sorted(logs)}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    make_model().fit(x, y, epochs=2, batch_size=24, verbose=0, validation_split=0.5, callbacks=[cb])
    assert calls == [
        "train_begin",
        "epoch_begin 0", "batch_begin 0", "batch_end 0 ['loss']", "epoch_end 0 ['loss', 'val_loss']",
        "epoch_begin 1", "batch_begin 0", "batch_end 0 ['loss']", "epoch_end 1 ['loss', 'val_loss']",
        "train_end",
    ]


def test_lambda_callback_old_names_and_other_hooks(data):
    x, y = data
    batches, tests = [], []
    cb = gn.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: batches.append(batch),
                                     on_test_end=lambda logs: tests.append(sorted(logs)))
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[cb])
    model.evaluate(x, y, verbose=0, callbacks=[cb])
    assert batches == [0, 1, 2] and tests == [["loss"]]
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_finish'"):
        gn.callbacks.LambdaCallback(on_epoch_finish=print)
