"""Trace and replay of the train step (compile's jit_compile): N replayed steps leave the
model, the optimizer and the metrics bit for bit where N eager steps leave them; anything
that changes the model, or that replay cannot see, records again or runs eagerly."""
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.training import replay

L = gn.layers


def _tiny():
    return gn.Sequential([gn.Input((2,)), L.Dense(16, activation="relu"), L.Dense(16, activation="relu"), L.Dense(1)])


def _mlp():
    return gn.Sequential([gn.Input((6,)), L.Dense(16, activation="relu"), L.Dense(8, activation="tanh"),
                          L.Dense(3, activation="softmax")])


def _convnet():
    return gn.Sequential([gn.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                          L.Dropout(0.4), L.Dense(3, activation="softmax")])


def _convnet_logits():
    return gn.Sequential([gn.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                          L.Dropout(0.4), L.Dense(3)])


def _regularized():
    return gn.Sequential([gn.Input((6,)), L.Dense(8, kernel_regularizer=gn.regularizers.L2(0.01),
                                                  bias_regularizer="l1"), L.Activation("gelu"), L.Dense(3)])


def _two_outputs():
    inp = gn.Input((6,))
    h = L.Dense(8, activation="relu")(inp)
    a = L.Dense(3, activation="softmax", name="cls")(h)
    b = L.Dense(1, name="reg")(L.Concatenate()([h, inp]))
    return gn.Model(inp, [a, b])


def _data(kind, n=40, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "tiny":
        x = rng.standard_normal((n, 2)).astype("float32")
        return x, x[:, :1] * x[:, 1:]
    if kind == "image":
        return rng.random((n, 8, 8, 1)).astype("float32"), rng.integers(0, 3, n)
    x = rng.standard_normal((n, 6)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")


def _state(model):
    """Everything a train step may change: weights, optimizer state, metric state."""
    out = [w.copy() for w in model.get_weights()]
    out += [v.data.copy() for v in model.optimizer.variables]
    out += [v.data.copy() for m in model.metrics for v in m.variables]
    return out


def _assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def _pair(build, compile_kwargs, seed=7):
    """The same model twice, jit_compile=False and the default ("auto")."""
    models = []
    for jit in (False, "auto"):
        gn.utils.set_random_seed(seed)
        m = build()
        m.compile(jit_compile=jit, **compile_kwargs)
        models.append(m)
    return models


def _run_both(models, run, seed=3):
    """run(model) on each model from the same global RNG state; returns their outputs."""
    outs = []
    for m in models:
        gn.utils.set_random_seed(seed)
        outs.append(run(m))
    return outs


CASES = {
    "tiny-mse": (_tiny, dict(optimizer="adam", loss="mse"), "tiny", {}),
    "mlp-sparse-ce-accuracy": (_mlp, dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                                          metrics=["accuracy"]), "mlp", {}),
    "convnet-dropout": (_convnet, dict(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                                       metrics=["accuracy"]), "image", {}),
    "regularizers": (_regularized, dict(optimizer="sgd", loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True)),
                     "mlp", {}),
    "sample-weight": (_mlp, dict(optimizer="adam", loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"]),
                      "mlp", {"sample_weight": np.linspace(0.1, 2.0, 40).astype("float32")}),
    "class-weight": (_mlp, dict(optimizer="sgd", loss="sparse_categorical_crossentropy"), "mlp",
                     {"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fit_replayed_equals_eager_bit_for_bit(case):
    build, compile_kwargs, kind, fit_kwargs = CASES[case]
    x, y = _data(kind)
    eager, replayed = _pair(build, compile_kwargs)
    # batch 16 of 40 samples: two signatures, the last partial batch of 8 records its own trace
    # validation (eager forward passes in between) leaves the traces valid: two recordings in all
    h = _run_both([eager, replayed], lambda m: m.fit(x, y, batch_size=16, epochs=3, verbose=0,
                                                     validation_data=(x[:10], y[:10]), **fit_kwargs).history)
    assert h[0] == h[1]
    _assert_same(_state(eager), _state(replayed))
    cache = replayed._step_cache
    assert cache.reason is None and cache.recordings == 2  # the last step was a replay
    assert sorted(k[0][0] for k in cache.traces) == [8, 16]
    assert all(isinstance(t, replay.Trace) for t, _ in cache.traces.values())
    assert not eager._step_cache.traces and eager._step_cache.reason.startswith("run_eagerly")


def test_a_float64_layer_casts_inside_the_trace():
    x, y = _data("mlp", n=16)
    build = lambda: gn.Sequential([gn.Input((6,)), L.Dense(8, activation="relu", dtype="float64"), L.Dense(3)])
    loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    eager, replayed = _pair(build, dict(optimizer="adam", loss=loss))
    assert _steps(eager, x, y, 3) == _steps(replayed, x, y, 3)
    _assert_same(_state(eager), _state(replayed))
    trace = replayed._step_cache.runner(replayed, x)
    assert isinstance(trace, replay.Trace) and trace.forward_plan[0][0].__name__ == "Cast"


def test_two_outputs_two_losses():
    x, y = _data("mlp")
    y2 = x[:, :1] * 2
    kwargs = dict(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], []])
    models = [None, None]
    for i, jit in enumerate((False, True)):
        gn.utils.set_random_seed(1)
        models[i] = _two_outputs()
        models[i].compile(jit_compile=jit, **kwargs)
    logs = _run_both(models, lambda m: [m.train_on_batch(x, [y, y2], return_dict=True) for _ in range(4)])
    assert logs[0] == logs[1]
    _assert_same(_state(models[0]), _state(models[1]))
    assert models[1]._step_cache.reason is None


def _shared_and_nested():
    """A functional model with a Dense used twice (its gradients add up from two places), an
    Add merge, and a nested Sequential."""
    inp = gn.Input((6,))
    shared = L.Dense(6, activation="tanh")
    h = L.Add()([shared(inp), shared(shared(inp))])
    inner = gn.Sequential([gn.Input((6,)), L.Dense(5, activation="relu"), L.Dropout(0.3)])
    return gn.Model(inp, L.Dense(3)(inner(h)))


def test_shared_layers_and_nested_models():
    x, y = _data("mlp", n=16)
    loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    eager, replayed = _pair(_shared_and_nested, dict(optimizer="adam", loss=loss, metrics=["accuracy"]))
    logs = _run_both([eager, replayed], lambda m: _steps(m, x, y, 4))
    assert logs[0] == logs[1]
    _assert_same(_state(eager), _state(replayed))
    assert replayed._step_cache.reason is None and replayed._step_cache.recordings == 1


def test_an_output_that_also_feeds_another_layer_runs_eagerly():
    inp = gn.Input((6,))
    h = L.Dense(4)(inp)
    m = gn.Model(inp, [h, L.Dense(3)(h)])
    m.compile("sgd", ["mse", "mse"])
    _steps(m, np.ones((8, 6), "float32"), [np.zeros((8, 4), "float32"), np.zeros((8, 3), "float32")], 2)
    assert m._step_cache.reason == "a model output also feeds another layer"


def test_train_on_batch_replays_from_the_second_step():
    x, y = _data("tiny", n=32)
    eager, replayed = _pair(_tiny, dict(optimizer="adam", loss="mse"))
    reasons = []
    for _ in range(3):
        assert eager.train_on_batch(x, y) == replayed.train_on_batch(x, y)
        reasons.append(replayed._step_cache.reason)
    assert reasons == ["recording", None, None]
    _assert_same(_state(eager), _state(replayed))


def _steps(model, x, y, n):
    return [model.train_on_batch(x, y) for _ in range(n)]


def test_freezing_a_layer_records_again():
    x, y = _data("mlp", n=16)
    eager, replayed = _pair(_mlp, dict(optimizer="adam", loss="sparse_categorical_crossentropy"))
    for m in (eager, replayed):
        _steps(m, x, y, 3)
        m.layers[0].trainable = False
    frozen = replayed.layers[0].get_weights()
    assert replayed.train_on_batch(x, y) == eager.train_on_batch(x, y)
    assert replayed._step_cache.reason == "recording"
    assert _steps(eager, x, y, 3) == _steps(replayed, x, y, 3)
    assert replayed._step_cache.reason is None
    _assert_same(frozen, replayed.layers[0].get_weights())
    _assert_same(_state(eager), _state(replayed))


def test_another_optimizer_or_compile_records_again():
    x, y = _data("mlp", n=16)
    m = _mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    _steps(m, x, y, 2)
    assert m._step_cache.reason is None
    m.optimizer = gn.optimizers.Adam()
    m.train_on_batch(x, y)
    assert m._step_cache.reason == "recording"
    m.compile("adam", "sparse_categorical_crossentropy")
    m.train_on_batch(x, y)
    assert m._step_cache.reason == "recording"


@pytest.mark.parametrize("change", [
    lambda m: setattr(m.layers[3], "rate", 0.1),
    lambda m: setattr(m.layers[4], "activation", gn.activations.get("tanh")),
    lambda m: setattr(m.layers[0], "activation", gn.activations.get("tanh")),
])
def test_a_rebound_layer_attribute_records_again(change):
    x, y = _data("image", n=16)
    loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    eager, replayed = _pair(_convnet_logits, dict(optimizer="adam", loss=loss))

    def run(m):
        logs = _steps(m, x, y, 2)
        change(m)
        return logs + _steps(m, x, y, 1) + [m._step_cache.reason] + _steps(m, x, y, 2) + [m._step_cache.reason]

    logs = _run_both([eager, replayed], run)
    assert logs[1][3] == "recording" and logs[1][-1] is None
    assert logs[0][:3] + logs[0][4:6] == logs[1][:3] + logs[1][4:6]
    _assert_same(_state(eager), _state(replayed))


def test_removing_a_layer_records_again():
    x, y = _data("mlp", n=16)
    m = gn.Sequential([gn.Input((6,)), L.Dense(4, activation="relu"), L.Dense(3)])
    m.compile("sgd", "mse")
    _steps(m, x, np.zeros((16, 3), "float32"), 2)
    m.pop()
    m.train_on_batch(x, np.zeros((16, 4), "float32"))
    assert m._step_cache.reason == "recording"
    assert m.layers[0].kernel.grad is not None


@pytest.mark.parametrize("kwargs", [{"jit_compile": False}, {"run_eagerly": True}])
def test_jit_compile_false_and_run_eagerly_disable_replay(kwargs):
    x, y = _data("tiny", n=32)
    m = _tiny()
    m.compile("adam", "mse", **kwargs)
    _steps(m, x, y, 3)
    assert not m._step_cache.traces
    assert m._step_cache.reason == "run_eagerly=True or jit_compile=False"


def test_jit_compile_is_checked():
    with pytest.raises(ValueError, match='jit_compile must be True, False or "auto"'):
        _tiny().compile("adam", "mse", jit_compile="xla")


class Doubler(L.Layer):
    def call(self, x):
        return x * 2.0


@pytest.mark.parametrize("build, why", [
    (lambda: gn.Sequential([gn.Input((6,)), L.Dense(4), L.BatchNormalization(), L.Dense(3)]), "BatchNormalization"),
    (lambda: gn.Sequential([gn.Input((6,)), Doubler(), L.Dense(3)]), "Doubler"),
    (lambda: gn.Sequential([gn.Input((6,)), L.Dense(3, activation=lambda t: t * 1.0)]), "activation"),
    (lambda: gn.Sequential([gn.Input((6,)), L.Dense(3, activity_regularizer="l2")]), "activity regulariser"),
    (lambda: gn.Sequential([gn.Input((6,)), L.ReLU(threshold=0.5), L.Dense(3)]), "threshold"),
])
def test_models_with_layers_replay_cannot_vouch_for_run_eagerly(build, why):
    x, y = _data("mlp", n=16)
    loss = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    eager, auto = _pair(build, dict(optimizer="adam", loss=loss))
    assert _steps(eager, x, y, 3) == _steps(auto, x, y, 3)
    assert why in auto._step_cache.reason
    assert not any(isinstance(t, replay.Trace) for t, _ in auto._step_cache.traces.values())


def test_jit_compile_true_says_why_a_model_trains_eagerly():
    x, y = _data("mlp", n=16)
    m = gn.Sequential([gn.Input((6,)), L.Dense(4), L.BatchNormalization(), L.Dense(3)])
    m.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    with pytest.warns(UserWarning, match=r'jit_compile=True\): model ".*" trains eagerly, since layer ".*" \(BatchNorm'):
        m.train_on_batch(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.train_on_batch(x, y)  # said once


def test_subclassed_model_runs_eagerly():
    class Net(gn.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(3)

        def call(self, x):
            return self.dense(x)

    x, y = _data("mlp", n=16)
    m = Net()
    m.compile("sgd", "sparse_categorical_crossentropy")
    _steps(m, x, y, 3)
    assert "not exactly a Sequential" in m._step_cache.reason


def test_hooks_and_no_grad_run_eagerly():
    x, y = _data("mlp", n=16)
    m = _mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    _steps(m, x, y, 2)
    with gn.debug.detect_anomaly():
        m.train_on_batch(x, y)
    assert m._step_cache.reason == "autograd hooks are installed or grad mode is off"
    m.train_on_batch(x, y)
    assert m._step_cache.reason is None


def test_non_finite_loss_is_still_diagnosed_during_replay():
    x, y = _data("tiny", n=32)
    m = _tiny()
    m.compile("sgd", "mse")
    _steps(m, x, y, 2)
    assert m._step_cache.reason is None
    m.layers[0].kernel.assign(np.full((2, 16), 1e30, "float32"))
    m.layers[1].kernel.assign(np.full((16, 16), 1e30, "float32"))  # its matmul overflows
    before = [w.copy() for w in m.get_weights()]
    with pytest.warns(RuntimeWarning), pytest.raises(gn.debug.NonFiniteError) as info:
        m.train_on_batch(x, y)
    assert info.value.phase == "forward" and info.value.layer == m.layers[1].name
    _assert_same(before, m.get_weights())  # the failing step changed no weight


def test_non_finite_gradient_is_still_diagnosed_during_replay():
    x, y = _data("tiny", n=32)
    m = gn.Sequential([gn.Input((2,)), L.Dense(16, activation="relu"), L.Dense(1)])
    m.compile("sgd", "mse")
    _steps(m, x, y, 2)
    assert m._step_cache.reason is None
    m.layers[0].kernel.assign(np.full((2, 16), 1e37, "float32"))  # hidden values ~1e37: finite
    m.layers[1].kernel.assign(np.full((16, 1), 1e-37, "float32"))  # outputs and loss finite too
    before = [w.copy() for w in m.get_weights()]
    with pytest.warns(RuntimeWarning), pytest.raises(gn.debug.NonFiniteError) as info:
        m.train_on_batch(np.abs(x), y)  # but the kernel's gradient, sum of hidden * g, overflows
    assert info.value.phase == "backward" and info.value.layer == m.layers[1].name
    _assert_same(before, m.get_weights())


def test_dropout_replay_redraws_its_mask():
    x, y = _data("image", n=8)
    m = _convnet()
    m.compile("sgd", "sparse_categorical_crossentropy")
    _steps(m, x, y, 2)
    trace = m._step_cache.runner(m, x)
    assert isinstance(trace, replay.Trace) and trace.uses_rng
    masks = []
    for _ in range(2):
        trace.forward(m, x)
        masks.append(next(op.mask for op in trace._ops if op.name == "dropout"))
    assert not np.array_equal(masks[0], masks[1])


def test_trace_freezes_only_python_scalars():
    x, y = _data("mlp", n=16)
    m = gn.Sequential([gn.Input((6,)), L.Dense(4), L.Activation("hard_sigmoid"), L.Dense(3)])  # relu6(x + 3) / 6
    m.compile("sgd", "sparse_categorical_crossentropy")
    _steps(m, x, y, 2)
    trace = m._step_cache.runner(m, x)
    assert isinstance(trace, replay.Trace)
    assert sorted(float(c) for c in trace.constants) == [3.0, 6.0]


def test_signature():
    a = np.zeros((4, 2), "float32")
    assert replay.signature(a) == ((4, 2), np.dtype("float32"))
    assert replay.signature({"a": a, "b": [a, a]}) != replay.signature({"a": a, "b": (a, a)})
    assert replay.signature([a, [1.0]]) is None
