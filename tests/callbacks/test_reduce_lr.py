import numpy as np
import pytest

import glassnet as gn
from tests.callbacks.conftest import drive, keras_reference, make_model, scripted


@pytest.mark.parametrize("case", range(16))
def test_reduce_lr_on_plateau_follows_keras(case):
    # keras_reference.json: Keras 3.15.1's ReduceLROnPlateau on scripted val_loss, lr starting at 0.1:
    # per epoch [logs["learning_rate"], optimizer.learning_rate after the epoch end].
    cfg, values, expected = keras_reference()["rl"][case]
    model = make_model(lr=0.1)
    logs, _ = drive(gn.callbacks.ReduceLROnPlateau(monitor="val_loss", **cfg), model, values)
    assert [l["learning_rate"] for l in logs] == [e[0] for e in expected]
    assert float(model.optimizer.learning_rate) == expected[-1][1]


def test_reduce_lr_in_fit_is_recorded_in_history(data, capsys):
    x, y = data
    model = make_model(lr=0.1)
    cb = gn.callbacks.ReduceLROnPlateau(factor=0.5, patience=1, verbose=1)
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0,
                        callbacks=[scripted("val_loss", [1.0, 1.0, 1.0, 0.5]), cb])
    lr = [float(np.float32(v)) for v in (0.1, 0.1, 0.05, 0.025)]
    assert history.history["learning_rate"] == lr
    assert float(model.optimizer.learning_rate) == float(np.float32(0.025))
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05" in capsys.readouterr().out


def test_reduce_lr_arguments():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        gn.callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.warns(UserWarning, match="unknown, fallback to auto"):
        gn.callbacks.ReduceLROnPlateau(mode="sideways")


def test_learning_rate_scheduler(data, capsys):
    x, y = data
    model = make_model(lr=0.1)
    seen = []
    watch = gn.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(model.optimizer.learning_rate))
    sched = gn.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5, verbose=1)
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[sched, watch])
    expected = [float(np.float32(v)) for v in (0.1, 0.1, 0.05, 0.025)]
    assert seen == expected
    assert history.history["learning_rate"] == expected
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.05" in capsys.readouterr().out


def test_learning_rate_scheduler_old_api_and_errors(data):
    x, y = data
    model = make_model(lr=0.1)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[gn.callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert model.optimizer.learning_rate == float(np.float32(0.02))
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[gn.callbacks.LearningRateScheduler(lambda e, lr: 1)])
    scheduled = make_model()
    scheduled.compile(optimizer=gn.optimizers.SGD(gn.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
                      loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="not settable"):
        scheduled.fit(x, y, epochs=1, verbose=0, callbacks=[gn.callbacks.LearningRateScheduler(lambda e, lr: 0.1)])


@pytest.mark.slow
def test_matches_live_keras():
    keras = pytest.importorskip("keras")
    kmodel = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    kmodel.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    for cfg, values, _ in keras_reference()["rl"]:
        kmodel.optimizer.learning_rate = 0.1
        ref = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", **cfg)
        ref.set_model(kmodel)
        ref.on_train_begin()
        expected = []
        for epoch, value in enumerate(values):
            logs = {"val_loss": value}
            ref.on_epoch_end(epoch, logs)
            expected.append(logs["learning_rate"])
        model = make_model(lr=0.1)
        logs, _ = drive(gn.callbacks.ReduceLROnPlateau(monitor="val_loss", **cfg), model, values)
        assert [l["learning_rate"] for l in logs] == expected, (cfg, values)
        assert float(model.optimizer.learning_rate) == float(kmodel.optimizer.learning_rate)
