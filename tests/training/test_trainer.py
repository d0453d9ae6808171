"""compile / fit / evaluate / predict: Keras 3 semantics, checked against Keras itself."""
import re

import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import keras_or_skip

L = gn.layers


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, y


def _mlp(lib):
    return lib.Sequential([lib.Input((6,)), lib.layers.Dense(16, activation="relu"),
                           lib.layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_fit_equals_keras_step_for_step(optimizer):
    keras = keras_or_skip()
    x, y = _data()
    ours, theirs = _mlp(gn), _mlp(keras)
    theirs.set_weights(ours.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h1 = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    h2 = theirs.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    assert set(h1.history) == set(h2.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in h1.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-4, atol=1e-5, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-4)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_sample_weight_and_class_weight_equal_keras():
    keras = keras_or_skip()
    x, y = _data()
    sw = np.linspace(0.1, 2, len(x)).astype("float32")
    for kwargs in ({"sample_weight": sw}, {"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}}):
        ours, theirs = _mlp(gn), _mlp(keras)
        theirs.set_weights(ours.get_weights())
        for m in (ours, theirs):
            m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        h1 = ours.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, **kwargs)
        h2 = theirs.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, **kwargs)
        np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)


def test_regularization_losses_join_the_total():
    keras = keras_or_skip()
    x, y = _data()
    def build(lib):
        return lib.Sequential([lib.Input((6,)), lib.layers.Dense(8, kernel_regularizer=lib.regularizers.L2(0.01)),
                               lib.layers.Dense(3, activation="softmax", activity_regularizer="l1")])
    ours, theirs = build(gn), build(keras)
    theirs.set_weights(ours.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-5)
    h1 = ours.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)


def test_same_seed_gives_a_bit_identical_run():
    x, y = _data()
    runs = []
    for _ in range(2):
        gn.utils.set_random_seed(42)
        m = gn.Sequential([gn.Input((6,)), L.Dense(16, activation="relu"), L.Dropout(0.3), L.Dense(3, activation="softmax")])
        m.compile("adam", "sparse_categorical_crossentropy")
        runs.append((m.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"], m.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_generators_and_pydataset():
    x, y = _data()

    def gen():
        while True:
            for i in range(0, len(x), 32):
                yield x[i:i + 32], y[i:i + 32]

    class Batches(gn.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32]

    m = _mlp(gn)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(gen(), steps_per_epoch=3, epochs=2, verbose=0, validation_data=Batches())
    assert len(h.history["loss"]) == 2 and "val_accuracy" in h.history
    assert isinstance(m.evaluate(Batches(), verbose=0), list)
    assert m.predict(Batches(), verbose=0).shape == (96, 3)


def test_on_batch_methods_and_return_dict():
    x, y = _data()
    m = _mlp(gn)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    logs = m.train_on_batch(x[:32], y[:32], return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    loss, acc = m.test_on_batch(x[:32], y[:32])
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert m.predict_on_batch(x[:5]).shape == (5, 3)


def test_predict_records_no_graph():
    x, _ = _data()
    m = _mlp(gn)
    out = m(x[:4])
    assert out.requires_grad
    with gn.no_grad():
        assert not m(x[:4]).requires_grad
    assert isinstance(m.predict(x, verbose=0), np.ndarray)


def test_progress_display_formats(capsys):
    x, y = _data()
    m = _mlp(gn)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=2, batch_size=32, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2"
    assert re.match(r"3/3 - \d+s - \d+(ms|us)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}$", out[1])
    m.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert capsys.readouterr().out == ""


def test_bad_input_is_rejected_before_any_weight_changes():
    x, y = _data()
    m = _mlp(gn)
    m.compile("adam", "sparse_categorical_crossentropy")
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"different lengths \(x: 96 samples, y: 95 samples\)"):
        m.fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        m.fit(x, y + 5, verbose=0)
    with pytest.raises(RuntimeError, match="must be compiled first"):
        _mlp(gn).fit(x, y, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_accuracy_string_picks_the_right_metric():
    x, y = _data()
    m = _mlp(gn)
    m.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, gn.utils.to_categorical(y, 3), epochs=1, verbose=0)
    assert type(m.metrics[1]).__name__ == "CategoricalAccuracy"
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=1, verbose=0)
    assert type(m.metrics[1]).__name__ == "SparseCategoricalAccuracy"


def test_validation_in_fit_fires_test_hooks_like_keras():
    x, y = _data()
    calls = []

    class Spy(gn.callbacks.Callback):
        def on_test_begin(self, logs=None):
            calls.append("test_begin")

        def on_test_batch_end(self, batch, logs=None):
            calls.append("test_batch")

        def on_test_end(self, logs=None):
            calls.append("test_end")

    m = _mlp(gn)
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0, callbacks=[Spy()])
    assert calls.count("test_begin") == 2 and calls.count("test_end") == 2 and calls.count("test_batch") == 2


def test_loss_tracking_shortcut_equals_mean_update_state():
    from glassnet.metrics import Mean
    from glassnet.training import trainer
    rng = np.random.default_rng(0)
    fast, slow = Mean(name="loss"), Mean(name="loss")
    for value, n in [(float(v), int(k)) for v, k in zip(rng.standard_normal(50) * 1e3, rng.integers(1, 200, 50))] + [(np.nan, 3)]:
        trainer._track_loss(fast, value, n)
        slow.update_state(value, sample_weight=n)
        np.testing.assert_array_equal(fast.total.data, slow.total.data)
        np.testing.assert_array_equal(fast.count.data, slow.count.data)
    for tracker in (fast, Mean(name="loss")):  # a running mean, then an empty one (0, as divide_no_nan)
        model = type("M", (), {"_compiled_metrics": type("C", (), {"results": lambda self: {}})(), "_loss_tracker": tracker})()
        result = trainer.get_metrics_result(model)["loss"]
        assert (np.isnan(result) and np.isnan(tracker.result())) or result == tracker.result()


def test_on_batch_data_checks_on_the_fast_path_and_the_general_one():
    x, y = _data(32)
    m = _mlp(gn)
    m.compile("sgd", "sparse_categorical_crossentropy")
    for xs, ys in ((x, y), ([x], [y])):  # plain arrays, then structures
        with pytest.raises(ValueError, match="Data cardinality is ambiguous.*x: 32 samples, y: 31 samples"):
            m.train_on_batch(xs, ys[0][:31] if isinstance(ys, list) else ys[:31])
        bad = x.copy()
        bad[1, 2] = np.inf
        with pytest.raises(ValueError, match=r"x contains NaN or inf \(first at index \(1, 2\)"):
            m.train_on_batch(bad if xs is x else [bad], ys)
    before = m.get_weights()
    m.train_on_batch(x.astype(np.float64), y)  # float64 converted to float32 on the general path
    assert all(w.dtype == np.float32 for w in m.get_weights()) and not np.array_equal(before[0], m.get_weights()[0])


def test_train_on_batch_checks_float_targets_and_runs_a_custom_train_step():
    x, _ = _data(32)
    m = gn.Sequential([gn.Input((6,)), gn.layers.Dense(1)])
    m.compile("sgd", "mse")
    y = x[:, :1].copy()
    y[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or inf \(first at index \(3, 0\)"):
        m.train_on_batch(x, y)
    assert isinstance(m.train_on_batch(x, x[:, :1]), float)  # the loss alone, not a list

    seen = []

    class Custom(gn.Model):
        def __init__(self):
            super().__init__()
            self.dense = gn.layers.Dense(1)

        def call(self, inputs):
            return self.dense(inputs)

        def train_step(self, data):
            seen.append(data)
            return {"loss": 1.5, "extra": 2.5}

    c = Custom()
    c.compile("sgd", "mse")
    assert c.train_on_batch(x, x[:, :1]) == [1.5, 2.5]
    assert c.train_on_batch(x, x[:, :1], return_dict=True) == {"loss": 1.5, "extra": 2.5}
    assert len(seen) == 2 and seen[0][0] is x


def test_predict_runs_big_batches_in_pieces_with_the_same_outputs():
    from glassnet.training import trainer
    gn.utils.set_random_seed(0)
    model = gn.Sequential([gn.Input((28, 28, 1)), gn.layers.Conv2D(32, 3, activation="relu"), gn.layers.MaxPooling2D(),
                           gn.layers.Flatten(), gn.layers.Dense(10, activation="softmax")])
    x = np.random.default_rng(0).random((300, 28, 28, 1)).astype("float32")
    chunk = trainer._inference_chunk(model)
    assert chunk is not None and chunk < 300  # 26 x 26 x 32 values a sample: split
    pieces = list(trainer._split_batch(x, chunk))
    assert sum(len(p) for p in pieces) == 300 and len(pieces) == -(-300 // chunk)
    with gn.no_grad():
        whole = model(x, training=False).numpy()
    np.testing.assert_allclose(model.predict(x, batch_size=300, verbose=0), whole, rtol=1e-6, atol=1e-7)
