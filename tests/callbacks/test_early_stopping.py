import numpy as np
import pytest

import glassnet as gn
from tests.callbacks.conftest import drive, keras_reference, make_model, scripted


@pytest.mark.parametrize("case", range(24))
def test_stops_where_keras_stops(case):
    # keras_reference.json: Keras 3.15.1's EarlyStopping on the same scripted val_loss sequences
    # (regenerated live by test_matches_live_keras below).
    cfg, values, stopped, best_epoch, best = keras_reference()["es"][case]
    cb = gn.callbacks.EarlyStopping(monitor="val_loss", **cfg)
    _, at = drive(cb, make_model(), values)
    assert at == stopped
    assert (cb.best_epoch, cb.best) == (best_epoch, best)


def test_stops_in_fit_and_restores_best_weights(data):
    x, y = data
    model = make_model()
    val_loss = [0.9, 0.7, 0.8, 0.75, 0.85, 0.6, 0.5]
    snapshots = []
    record = gn.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    stop = gn.callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = model.fit(x, y, epochs=7, batch_size=16, verbose=0, callbacks=[scripted("val_loss", val_loss), record, stop])
    # best at epoch 1 (0.7); epochs 2 and 3 do not improve: wait reaches patience 2 at epoch 3
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best_epoch == 1
    for restored, best in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(restored, best)
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots[3], snapshots[1]))


def test_restore_best_weights_without_stopping(data):
    x, y = data
    model = make_model()
    snapshots = []
    record = gn.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    stop = gn.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[scripted("val_loss", [0.5, 0.3, 0.4, 0.45]), record, stop])
    assert stop.stopped_epoch == 0
    for restored, best in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(restored, best)


def test_auto_mode_reads_the_metric_direction(data):
    x, y = data
    model = make_model(metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # builds the metrics
    cb = gn.callbacks.EarlyStopping(monitor="val_accuracy", patience=0)
    _, at = drive(cb, model, [0.5, 0.6, 0.7, 0.65], key="val_accuracy")
    assert at == 3  # accuracy goes up: the drop at epoch 3 stops it
    cb = gn.callbacks.EarlyStopping(monitor="val_whatever")
    with pytest.raises(ValueError, match="mode='max'"):
        drive(cb, model, [0.5], key="val_whatever")


def test_missing_monitor_warns_and_continues(data):
    x, y = data
    model = make_model()
    with pytest.warns(UserWarning, match="val_loss` which is not available"):
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[gn.callbacks.EarlyStopping()])
    assert len(history.epoch) == 2


@pytest.mark.slow
def test_matches_live_keras():
    keras = pytest.importorskip("keras")
    kmodel = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    kmodel.compile(optimizer="sgd", loss="mse")
    for cfg, values, *_ in keras_reference()["es"]:
        ref = keras.callbacks.EarlyStopping(monitor="val_loss", **cfg)
        ref.set_model(kmodel)
        kmodel.stop_training = False
        ref.on_train_begin()
        expected = None
        for epoch, value in enumerate(values):
            ref.on_epoch_end(epoch, {"val_loss": value})
            if kmodel.stop_training:
                expected = epoch
                break
        cb = gn.callbacks.EarlyStopping(monitor="val_loss", **cfg)
        assert drive(cb, make_model(), values)[1] == expected, (cfg, values)
