import csv

import numpy as np
import pytest

import glassnet as gn
from tests.callbacks.conftest import make_model

# What Keras 3.15.1 writes for the same runs (model compiled with metrics=["accuracy"]; values differ):
KERAS_VAL = ("epoch,accuracy,loss,val_accuracy,val_loss\r\n"
             "0,0.0,1.242837905883789,0.4000000059604645,0.9030202031135559\r\n"
             "1,0.0,1.017820954322815,0.4000000059604645,0.759620189666748\r\n")
KERAS_NOVAL = ("epoch,accuracy,loss,val_accuracy,val_loss\r\n"
               "0,0.25,0.8037726283073425,NA,NA\r\n"
               "1,0.699999988079071,0.6296461820602417,NA,NA\r\n")
KERAS_LR = ("epoch;accuracy;learning_rate;loss;val_accuracy;val_learning_rate;val_loss\r\n"
            "0;0.949999988079071;0.10000000149011612;0.5195261240005493;NA;NA;NA\r\n"
            "1;1.0;0.10000000149011612;0.43826961517333984;NA;NA;NA\r\n")


def _shape(text, sep=","):
    """The format of a CSV log without its numbers: header, row count, which cells are NA."""
    lines = text.split("\r\n")
    rows = [line.split(sep) for line in lines[1:] if line]
    return lines[0], len(rows), [[cell == "NA" for cell in row] for row in rows], text.endswith("\r\n")


def _read(path):
    with open(path, newline="") as f:
        return f.read()


def _fit(path, data, validation, callbacks=(), **kwargs):
    x, y = data
    model = make_model(metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25 if validation else 0.0,
                        callbacks=[*callbacks, gn.callbacks.CSVLogger(path, **kwargs)])
    return history


def test_same_format_as_keras_with_validation(tmp_path, data):
    history = _fit(tmp_path / "log.csv", data, validation=True)
    text = _read(tmp_path / "log.csv")
    assert _shape(text) == _shape(KERAS_VAL)
    rows = list(csv.DictReader(text.splitlines()))
    for epoch, row in enumerate(rows):
        assert row["epoch"] == str(epoch)
        for key in ("accuracy", "loss", "val_accuracy", "val_loss"):
            assert row[key] == repr(history.history[key][epoch])  # Python's float repr, as Keras


def test_same_format_as_keras_without_validation(tmp_path, data):
    _fit(tmp_path / "log.csv", data, validation=False)
    assert _shape(_read(tmp_path / "log.csv")) == _shape(KERAS_NOVAL)


def test_separator_and_learning_rate_column(tmp_path, data):
    _fit(tmp_path / "log.csv", data, validation=False, separator=";",
         callbacks=[gn.callbacks.ReduceLROnPlateau(monitor="loss")])
    assert _shape(_read(tmp_path / "log.csv"), ";") == _shape(KERAS_LR, ";")


def test_append_continues_without_a_second_header(tmp_path, data):
    path = tmp_path / "log.csv"
    _fit(path, data, validation=True)
    _fit(path, data, validation=True, append=True)
    lines = _read(path).split("\r\n")
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert [line.split(",")[0] for line in lines[1:] if line] == ["0", "1", "0", "1"]
    _fit(path, data, validation=True)  # append=False starts over
    assert len([line for line in _read(path).split("\r\n") if line]) == 3


def test_vector_values_are_written_as_keras_does(tmp_path):
    logger = gn.callbacks.CSVLogger(tmp_path / "log.csv")
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 0.5, "f1": np.array([0.25, 0.75])})
    logger.on_train_end()
    assert _read(tmp_path / "log.csv") == 'epoch,f1,loss,val_f1,val_loss\r\n0,"""[0.25, 0.75]""",0.5,NA,NA\r\n'


@pytest.mark.slow
def test_matches_live_keras(tmp_path, data):
    keras = pytest.importorskip("keras")
    x, y = data
    for validation, extra, sep in ((True, False, ","), (False, False, ","), (False, True, ";")):
        kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        kmodel.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kcbs = [keras.callbacks.ReduceLROnPlateau(monitor="loss")] if extra else []
        kmodel.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25 if validation else 0.0,
                   callbacks=kcbs + [keras.callbacks.CSVLogger(str(tmp_path / "k.csv"), separator=sep)])
        cbs = [gn.callbacks.ReduceLROnPlateau(monitor="loss")] if extra else []
        _fit(tmp_path / "g.csv", data, validation, callbacks=cbs, separator=sep)
        assert _shape(_read(tmp_path / "g.csv"), sep) == _shape(_read(tmp_path / "k.csv"), sep)
