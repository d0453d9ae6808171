"""The compiled update rules equal each optimizer's NumPy ``_update_arrays`` bit for bit."""
import numpy as np
import pytest

import glassnet as gn

pytest.importorskip("numba")
from glassnet.compiled import update_rules  # noqa: E402


def _problem(dtype, seed=0):
    """Three variables of different shapes, their gradients laid end to end, two slots each."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 5), (5,), (5, 1)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    slots = [[np.abs(rng.standard_normal(s)).astype(dtype) for s in shapes] for _ in range(2)]
    flat_grad = np.concatenate([g.ravel() for g in grads])
    offsets = np.cumsum([0] + [g.size for g in grads[:-1]]).astype(np.int64)
    return params, grads, slots, flat_grad, offsets


def _flat(arrays):
    return tuple(a.reshape(-1) for a in arrays)


def _numpy_rule(optimizer, params, grads, slots, coefficients):
    for i, (w, g) in enumerate(zip(params, grads)):
        optimizer._update_arrays(w, g, [s[i] for s in slots], coefficients)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("step", [0, 9])
def test_adam_equals_numpy_bit_for_bit(dtype, step):
    opt = gn.optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    opt._iterations.data[()] = step
    f = np.dtype(dtype).type
    coefficients = opt._step_coefficients(f(0.01), f)
    params, grads, slots, flat_grad, offsets = _problem(dtype)
    expected = [a.copy() for a in params], [[a.copy() for a in s] for s in slots]
    _numpy_rule(opt, expected[0], grads, expected[1], coefficients)
    update_rules.adam(_flat(params), flat_grad, offsets, _flat(slots[0]), _flat(slots[1]), *coefficients)
    for got, want in zip(params + slots[0] + slots[1], expected[0] + expected[1][0] + expected[1][1]):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_equals_numpy_bit_for_bit(dtype, momentum, nesterov):
    opt = gn.optimizers.SGD(learning_rate=0.05, momentum=momentum, nesterov=nesterov)
    params, grads, slots, flat_grad, offsets = _problem(dtype, seed=1)
    opt.build([gn.Variable(p) for p in params])
    f = np.dtype(dtype).type
    coefficients = opt._step_coefficients(f(0.05), f)
    velocity = slots[0]
    expected_params, expected_velocity = [a.copy() for a in params], [a.copy() for a in velocity]
    _numpy_rule(opt, expected_params, grads, [expected_velocity] if momentum else [], coefficients)
    if momentum:
        update_rules.sgd_momentum(_flat(params), flat_grad, offsets, _flat(velocity), coefficients[0],
                                  coefficients[1], nesterov)
    else:
        assert coefficients[1] is None
        update_rules.sgd(_flat(params), flat_grad, offsets, coefficients[0])
    for got, want in zip(params + velocity, expected_params + expected_velocity):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("make", [lambda: gn.optimizers.Adam(0.01), lambda: gn.optimizers.SGD(0.1, momentum=0.9),
                                  lambda: gn.optimizers.SGD(0.1)])
def test_big_variables_in_parts_equal_the_numpy_slices(make, monkeypatch):
    """Once training is hot, big variables run the compiled rule in parts on two threads: the
    weights and slots after a few steps are those of the NumPy slices, bit for bit."""
    from glassnet import compiled, parallel
    from glassnet.optimizers import fused

    rng = np.random.default_rng(5)
    monkeypatch.setattr(fused, "PARALLEL_MIN", 1000)
    monkeypatch.setattr(fused, "CHUNK", 256)
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    start = [rng.standard_normal((300, 7)).astype("float32"), rng.standard_normal(5).astype("float32")]
    grads = [[rng.standard_normal(w.shape).astype("float32") for w in start] for _ in range(3)]
    results, parts = [], []
    in_parts = fused._update_in_parts
    monkeypatch.setattr(fused, "_update_in_parts", lambda *a: parts.append(1) or in_parts(*a))
    for hot in (None, compiled.load()):
        monkeypatch.setattr(compiled, "hot", lambda: hot)
        opt = make()
        opt._fuse_max_size = 100  # the (300, 7) kernel is a big variable, updated in place
        variables = [gn.Variable(w.copy()) for w in start]
        for step in grads:
            opt.apply([g.copy() for g in step], variables)
        results.append([v.data for v in variables] + [v.data for v in opt.variables])
    assert len(parts) == 3  # the compiled parts ran for the big kernel at each step of the second run
    for a, b in zip(*results):
        np.testing.assert_array_equal(b, a)
