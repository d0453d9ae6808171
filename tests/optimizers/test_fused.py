"""The ways an elementwise rule runs (glassnet.optimizers.fused) give the same numbers, bit for bit.

Paths: small variables fused into one flat update; big ones in place, whole or by slices;
and the plain per-variable ``update_step`` loop (taken when a subclass overrides it).
"""
import tracemalloc

import numpy as np
import pytest

import glassnet.optimizers as gopt
from glassnet.optimizers import fused
from glassnet.variables import Variable

# Odd and edge shapes: a scalar, a vector, matrices whose rows do not divide into slices evenly.
SHAPES = [(37, 11), (5,), (), (64, 3), (1, 9), (23, 2, 3)]

CONFIGS = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True, "clipnorm": 1.0}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "global_clipnorm": 1.0}),
    ("Adam", {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 3}),
    ("Adam", {"gradient_accumulation_steps": 2, "loss_scale_factor": 4.0}),
    ("AdamW", {"weight_decay": 0.2, "clipvalue": 0.5}),
    ("Adagrad", {}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {}),
    ("Nadam", {}),
    ("Lion", {}),
]


def _problem(steps=6, shapes=SHAPES, dtypes=None, seed=0):
    rng = np.random.default_rng(seed)
    dtypes = dtypes or [np.float32] * len(shapes)
    init = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
    grads = [[rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)] for _ in range(steps)]
    return init, grads


def _make(cls_name, kwargs, path):
    """An optimizer that takes ``path``: "fused" (every variable small), "whole" (every variable in
    place, unsliced), "sliced" (in place, by slices of 7 elements) or "per_variable"."""
    cls = getattr(gopt, cls_name)
    kwargs = dict(kwargs)
    kwargs.setdefault("learning_rate", 0.05)
    if path == "per_variable":
        class PerVariable(cls):
            calls = 0

            def update_step(self, gradient, variable, learning_rate):
                type(self).calls += 1
                super().update_step(gradient, variable, learning_rate)

        return PerVariable(name="opt", **kwargs)
    opt = cls(name="opt", **kwargs)
    opt._fuse_max_size = 10**9 if path == "fused" else 0
    return opt


def _train(opt, init, grads, chunk, monkeypatch):
    monkeypatch.setattr(fused, "CHUNK", chunk)
    variables = [Variable(x.copy(), name=f"v{i}") for i, x in enumerate(init)]
    for g in grads:
        opt.apply_gradients(zip(g, variables))
    return variables


@pytest.mark.parametrize("cls_name,kwargs", CONFIGS, ids=[f"{c}{k}" for c, k in CONFIGS])
def test_fused_in_place_sliced_and_per_variable_paths_are_bit_identical(cls_name, kwargs, monkeypatch):
    init, grads = _problem()
    results = {}
    for path, chunk in (("fused", 7), ("whole", 10**9), ("sliced", 7), ("per_variable", 7)):
        opt = _make(cls_name, kwargs, path)
        variables = _train(opt, init, grads, chunk, monkeypatch)
        results[path] = ([v.data.copy() for v in variables], opt.get_state())
        if path == "per_variable":
            assert type(opt).calls == len(grads) // kwargs.get("gradient_accumulation_steps", 1) * len(SHAPES)
    ref_weights, ref_state = results["per_variable"]
    for path in ("fused", "whole", "sliced"):
        weights, state = results[path]
        for a, b in zip(weights, ref_weights):
            assert a.dtype == b.dtype and np.array_equal(a, b), path
        for a, b in zip(state, ref_state):
            assert np.array_equal(a, b), path


def test_default_split_fuses_the_small_variables_only(monkeypatch):
    # Adam fuses variables up to 8192 elements: here the bias and the (8, 4) kernel, not the (100, 100)
    monkeypatch.setattr(fused, "CHUNK", 1000)
    shapes = [(100, 100), (100,), (8, 4), (4,)]
    init, grads = _problem(shapes=shapes)
    opt, ref = gopt.Adam(0.01), _make("Adam", {"learning_rate": 0.01}, "per_variable")
    a = [Variable(x.copy()) for x in init]
    b = [Variable(x.copy()) for x in init]
    for g in grads:
        opt.apply(g, a)
        ref.apply(g, b)
    assert opt._flat.small == [1, 2, 3] and opt._flat.large == [0]
    assert opt._flat.param.size == 100 + 32 + 4
    for x, y in zip(a, b):
        assert np.array_equal(x.data, y.data)


def test_mixed_dtypes_run_in_place_with_each_dtype_s_scalars(monkeypatch):
    init, grads = _problem(shapes=[(6, 5), (5,), (3,)], dtypes=[np.float32, np.float64, np.float32])
    for cls_name, kwargs in CONFIGS[:8]:
        a = _train(_make(cls_name, kwargs, "fused"), init, grads, 4, monkeypatch)
        b = _train(_make(cls_name, kwargs, "per_variable"), init, grads, 4, monkeypatch)
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and np.array_equal(x.data, y.data), cls_name


@pytest.mark.parametrize("path", ["fused", "sliced"])
def test_assigned_and_rebound_variables_and_slots_keep_working(path, monkeypatch):
    monkeypatch.setattr(fused, "CHUNK", 7)
    init, grads = _problem(shapes=[(9, 4), (4,), (3,)])
    opt, ref = _make("Adam", {}, path), _make("Adam", {}, "per_variable")
    a = [Variable(x.copy()) for x in init]
    b = [Variable(x.copy()) for x in init]
    held = [v.data for v in a]
    for step, g in enumerate(grads):
        if step == 2:  # assign writes in place; the arrays a user holds see every update
            for vs in (a, b):
                vs[0].assign(np.full((9, 4), 0.5, np.float32))
        if step == 3:  # rebinding a parameter's array
            for vs in (a, b):
                vs[1].data = np.arange(4, dtype=np.float32)
            held[1] = a[1].data
        if step == 4:  # rebinding a slot's array (the fused buffers are rebuilt from it)
            for o in (opt, ref):
                o._momentums[2].data = np.ones(3, np.float32)
        opt.apply(g, a)
        ref.apply(g, b)
        assert all(v.data is h for v, h in zip(a, held))
    for x, y in zip(a, b):
        assert np.array_equal(x.data, y.data)
    for x, y in zip(opt.get_state(), ref.get_state()):
        assert np.array_equal(x, y)
    opt.set_state(ref.get_state())  # set_state writes in place, into the fused slot views
    opt.apply(grads[0], a)
    ref.apply(grads[0], b)
    for x, y in zip(a, b):
        assert np.array_equal(x.data, y.data)


def test_big_variables_get_no_flat_copies():
    # The update of 1 M parameters allocates two slices of scratch, not copies of the
    # parameters or the gradients (the fused path used to hold 2 x 4 MB more).
    init, grads = _problem(steps=2, shapes=[(1000, 1000), (1000,)])
    variables = [Variable(x) for x in init]
    opt = gopt.Adam()
    opt.build(variables)
    tracemalloc.start()
    try:
        for g in grads:
            opt.apply(g, variables)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * fused.CHUNK * 4 + 200_000, peak
