"""The compiled tier of the train step (glassnet.training.compiled_step, numba): a small Dense
net trains to the same weights, optimizer state and logs as the eager step (to float
rounding), and every step it cannot take exactly runs as the replayed step instead."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import backend, compiled
from glassnet.training import replay

pytest.importorskip("numba")

L = gn.layers


def _tiny(dtype=None):
    return gn.Sequential([gn.Input((2,), dtype=dtype), L.Dense(16, activation="relu"),
                          L.Dense(8, activation="tanh", use_bias=False), L.Dense(1)])


def _wide_out():
    return gn.Sequential([gn.Input((3,)), L.Dense(6, activation="sigmoid"), L.Dense(2, activation="tanh")])


def _data(n=40, seed=0, units=1, dtype="float32"):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3 if units == 2 else 2)).astype(dtype)
    y = np.stack([x[:, 0] * x[:, 1], x[:, 0] - x[:, 1]], axis=1)[:, :units].astype(dtype)
    return x, y


def _pair(build, optimizer, seed=7, loss="mse"):
    """The same model twice: eager (jit_compile=False) and compiled from its first replay (True)."""
    models = []
    for jit in (False, True):
        gn.utils.set_random_seed(seed)
        m = build()
        m.compile(optimizer=optimizer() if callable(optimizer) else optimizer, loss=loss, jit_compile=jit)
        models.append(m)
    return models


def _traces(model):
    return [t for t, _ in model._step_cache.traces.values()]


def _assert_close(a, b, rtol):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype
        np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol / 10)


def _state(model):
    return [w.copy() for w in model.get_weights()] + [v.data.copy() for v in model.optimizer.variables]


OPTIMIZERS = {
    "adam": lambda: gn.optimizers.Adam(learning_rate=0.01),
    "sgd": lambda: gn.optimizers.SGD(learning_rate=0.05),
    "momentum": lambda: gn.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    "nesterov": lambda: gn.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "schedule": lambda: gn.optimizers.Adam(gn.optimizers.schedules.ExponentialDecay(0.02, 5, 0.5)),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fit_compiled_equals_eager(name):
    x, y = _data()
    eager, fast = _pair(_tiny, OPTIMIZERS[name])
    # batch 16 of 40: two signatures (16 and the last 8), each compiled from its first replay
    h = [m.fit(x, y, batch_size=16, epochs=4, verbose=0, shuffle=False).history["loss"] for m in (eager, fast)]
    np.testing.assert_allclose(h[1], h[0], rtol=1e-5)
    _assert_close(_state(fast), _state(eager), rtol=1e-5)
    assert int(fast.optimizer.iterations.data) == int(eager.optimizer.iterations.data) == 12
    traces = _traces(fast)
    assert len(traces) == 2 and all(t.compiled is not None for t in traces)


def test_float64_agrees_to_float64_rounding():
    backend.set_floatx("float64")
    try:
        x, y = _data(dtype="float64")
        eager, fast = _pair(_tiny, "adam")
        for m in (eager, fast):
            for _ in range(6):
                m.train_on_batch(x, y)
    finally:
        backend.set_floatx("float32")
    assert fast.weights[0].dtype == np.float64
    assert _traces(fast)[0].compiled is not None
    _assert_close(_state(fast), _state(eager), rtol=1e-10)


def test_several_output_units_and_a_target_of_shape_batch():
    x, y2 = _data(units=2)
    eager, fast = _pair(_wide_out, "adam")
    for _ in range(5):
        assert fast.train_on_batch(x, y2) == pytest.approx(eager.train_on_batch(x, y2), rel=1e-5)
    _assert_close(_state(fast), _state(eager), rtol=1e-5)
    x, y = _data()
    eager, fast = _pair(_tiny, "sgd")
    for _ in range(5):  # y of shape (40,) against an output of shape (40, 1): aligned as the loss does
        assert fast.train_on_batch(x, y[:, 0]) == pytest.approx(eager.train_on_batch(x, y[:, 0]), rel=1e-5)
    assert _traces(fast)[0].compiled is not None
    _assert_close(_state(fast), _state(eager), rtol=1e-5)


def test_each_step_leaves_its_gradients_in_grad():
    x, y = _data()
    eager, fast = _pair(_tiny, "sgd")
    for _ in range(3):
        fast.train_on_batch(x, y)
    eager.set_weights(fast.get_weights())
    fast.train_on_batch(x, y)
    eager.train_on_batch(x, y)
    grads = [w.grad for w in fast.trainable_weights]
    assert all(isinstance(g, np.ndarray) and g.dtype == np.float32 for g in grads)
    _assert_close(grads, [w.grad for w in eager.trainable_weights], rtol=1e-5)
    before = grads[0].copy()
    fast.train_on_batch(x, y)
    np.testing.assert_array_equal(grads[0], before)  # a new step makes new arrays: old ones stay as they were


def test_steps_it_cannot_take_run_as_the_replayed_step():
    """Sample weights, a regulariser or a clipping optimizer, set at any time: those steps are
    the replayed ones, bit for bit (both models start each from the same weights and state)."""
    x, y = _data()
    eager, fast = _pair(_tiny, "adam")
    calls = []
    for m in (eager, fast):
        m.train_on_batch(x, y)
        m.train_on_batch(x, y)
    step = _traces(fast)[0].compiled
    run = step.run
    step.run = lambda *a: calls.append(run(*a)) or calls[-1]
    fast.set_weights(eager.get_weights())
    for mine, theirs in zip(fast.optimizer.variables, eager.optimizer.variables):
        mine.data[...] = theirs.data
    for change in ("sample_weight", "regularizer", "clipnorm"):
        kwargs = {}
        if change == "sample_weight":
            kwargs["sample_weight"] = np.linspace(0.5, 1.5, len(x)).astype("float32")
        for m in (eager, fast):
            if change == "regularizer":
                m.layers[0].kernel.regularizer = gn.regularizers.L2(0.01)
            if change == "clipnorm":
                m.layers[0].kernel.regularizer = None
                m.optimizer.clipnorm = 0.5
        assert fast.train_on_batch(x, y, **kwargs) == eager.train_on_batch(x, y, **kwargs)
        np.testing.assert_array_equal(fast.get_weights()[0], eager.get_weights()[0])
    assert calls == [None, None, None]


def test_a_nan_target_is_still_an_error():
    x, y = _data()
    _, fast = _pair(_tiny, "adam")
    fast.train_on_batch(x, y)
    fast.train_on_batch(x, y)
    assert _traces(fast)[0].compiled is not None
    before = [w.copy() for w in fast.get_weights()]
    y = y.copy()
    y[3, 0] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        fast.train_on_batch(x, y)
    for a, b in zip(before, fast.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_non_finite_step_is_diagnosed_and_changes_nothing():
    x, y = _data(n=32)
    m = gn.Sequential([gn.Input((2,)), L.Dense(16, activation="relu"), L.Dense(16, activation="relu"), L.Dense(1)])
    m.compile("sgd", "mse", jit_compile=True)
    m.train_on_batch(x, y)
    m.train_on_batch(x, y)
    assert _traces(m)[0].compiled is not None
    m.layers[0].kernel.assign(np.full((2, 16), 1e30, "float32"))
    m.layers[1].kernel.assign(np.full((16, 16), 1e30, "float32"))  # its matmul overflows
    before = [w.copy() for w in m.get_weights()]
    with pytest.warns(RuntimeWarning), pytest.raises(gn.debug.NonFiniteError) as info:
        m.train_on_batch(np.abs(x), y)
    assert info.value.phase == "forward" and info.value.layer == m.layers[1].name
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_rebound_weight_array_is_used():
    x, y = _data()
    eager, fast = _pair(_tiny, "adam")
    for m in (eager, fast):
        m.train_on_batch(x, y)
        m.train_on_batch(x, y)
    new = np.full((2, 16), 0.1, "float32")
    for m in (eager, fast):
        m.layers[0].kernel.data = new.copy()  # another array, not a write into the old one
        m.optimizer.learning_rate = 0.05
    for _ in range(3):
        assert fast.train_on_batch(x, y) == pytest.approx(eager.train_on_batch(x, y), rel=1e-5)
    _assert_close(_state(fast), _state(eager), rtol=1e-5)


def test_auto_compiles_once_training_is_hot(monkeypatch):
    x, y = _data()
    gn.utils.set_random_seed(1)
    m = _tiny()
    m.compile("adam", "mse")  # jit_compile="auto"
    monkeypatch.setitem(compiled._state, "spent", 0.0)
    monkeypatch.setattr(compiled, "HOT_SECONDS", 1e9)
    for _ in range(5):
        m.train_on_batch(x, y)
    trace = _traces(m)[0]
    assert trace.replays == 4 and compiled._state["spent"] > 0  # every step's time is counted
    assert trace.compiled is None and trace.compiled_reason is None  # not hot yet
    monkeypatch.setattr(compiled, "HOT_SECONDS", compiled._state["spent"])
    m.train_on_batch(x, y)
    assert trace.compiled is not None


MODELS_WITHOUT = {
    "softmax and crossentropy": (lambda: gn.Sequential([gn.Input((2,)), L.Dense(3, activation="softmax")]),
                                 "adam", "sparse_categorical_crossentropy", "has no compiled form"),
    "rmsprop": (_tiny, "rmsprop", "mse", "optimizer RMSprop has no compiled update rule"),
    "amsgrad": (_tiny, lambda: gn.optimizers.Adam(amsgrad=True), "mse", "optimizer Adam has no compiled update rule"),
    "dropout": (lambda: gn.Sequential([gn.Input((2,)), L.Dense(4), L.Dropout(0.5), L.Dense(1)]), "adam", "mse",
                "draws random numbers"),
    "big": (lambda: gn.Sequential([gn.Input((2,)), L.Dense(512, activation="relu"), L.Dense(512), L.Dense(1)]),
            "adam", "mse", "too big"),
    "frozen layer": (lambda: gn.Sequential([gn.Input((2,)), L.Dense(4, trainable=False), L.Dense(1)]), "adam",
                     "mse", "not every weight"),
    "mean absolute error": (_tiny, "adam", "mae", "has no compiled form"),
}


@pytest.mark.parametrize("case", list(MODELS_WITHOUT))
def test_other_models_replay_and_say_why(case, monkeypatch):
    build, optimizer, loss, reason = MODELS_WITHOUT[case]
    monkeypatch.setattr(compiled, "load", lambda: pytest.fail("numba loaded for a model that cannot use it"))
    x, _ = _data()
    y = np.abs(x[:, :1]).astype("int64") if loss.startswith("sparse") else x[:, :1]
    gn.utils.set_random_seed(2)
    m = build()
    m.compile(optimizer=optimizer() if callable(optimizer) else optimizer, loss=loss, jit_compile=True)
    for _ in range(3):
        m.train_on_batch(x, y)
    trace = _traces(m)[0]
    assert isinstance(trace, replay.Trace) and trace.compiled is None
    assert reason in trace.compiled_reason


def test_glassnet_numba_0_turns_it_off(monkeypatch):
    monkeypatch.setenv("GLASSNET_NUMBA", "0")
    x, y = _data()
    _, fast = _pair(_tiny, "adam")
    for _ in range(3):
        fast.train_on_batch(x, y)
    assert _traces(fast)[0].compiled is None
    assert "GLASSNET_NUMBA=0" in _traces(fast)[0].compiled_reason
    assert compiled.load() is None


def test_predict_time_counts_towards_hot(monkeypatch):
    monkeypatch.setitem(compiled._state, "spent", 0.0)
    m = _tiny()
    m.predict(np.zeros((64, 2), np.float32), verbose=0)
    assert compiled._state["spent"] > 0  # a long prediction alone makes the process hot
