"""Optimizer.apply's fast path (the same variables as the last fully checked call, plain array
gradients, nothing but the update rule) gives the general path's results bit for bit, and every
check of the general path still raises or warns on bad input."""
import numpy as np
import pytest

import glassnet.optimizers as gopt
from glassnet.variables import Variable

SHAPES = [(4, 16), (16,), (16, 16), (16,), (16, 1), (1,)]  # the 2-16-16-1 net


def _problem(steps=8, shapes=SHAPES, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def _run(opt, init, grads, slow):
    variables = [Variable(x.copy(), name=f"v{i}") for i, x in enumerate(init)]
    if slow:
        opt._apply_fast = lambda grads, variables: False
    for g in grads:
        opt.apply(list(g), variables)
    return [v.data.copy() for v in variables], opt.get_state()


def _assert_same(a, b):
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


CONFIGS = [
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"learning_rate": gopt.schedules.ExponentialDecay(0.01, 3, 0.5)}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("RMSprop", {"centered": True}),
    ("Adamax", {}),
    ("Nadam", {}),
    ("Lion", {}),
    ("Adagrad", {}),
]


@pytest.mark.parametrize("cls_name,kwargs", CONFIGS, ids=[f"{c}{k}" for c, k in CONFIGS])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_is_bit_identical_to_the_general_path(cls_name, kwargs, dtype):
    init, grads = _problem(dtype=dtype)
    cls = getattr(gopt, cls_name)
    fast = cls(**kwargs)
    taken = []
    original = fast._apply_fast
    fast._apply_fast = lambda g, v: taken.append(original(g, v)) or taken[-1]
    result = _run(fast, init, grads, slow=False)
    # every call after the first, fully checked, one; Nadam (its own _backend_update_step) never
    assert taken == ([] if cls_name == "Nadam" else [True] * (len(grads) - 1))
    _assert_same(result, _run(cls(**kwargs), init, grads, slow=True))


def test_fast_path_with_big_and_small_variables(monkeypatch):
    shapes = [(100, 100), (100,), (8, 4), (4,)]
    init, grads = _problem(shapes=shapes)
    _assert_same(_run(gopt.Adam(0.01), init, grads, slow=False), _run(gopt.Adam(0.01), init, grads, slow=True))


def test_adam_coefficients_match_the_plain_formula_bit_for_bit():
    for f in (np.float32, np.float64):
        opt = gopt.Adam(learning_rate=3e-4, beta_1=0.85, beta_2=0.9995, epsilon=1e-6)
        lr = f(3e-4)
        for step in list(range(0, 3000, 7)) + [10**5, 10**6]:
            opt._iterations.data[()] = step
            t = f(step + 1)
            expected = (f(1 - 0.85), f(1 - 0.9995),
                        lr * np.sqrt(f(1) - np.power(f(0.9995), t)) / (f(1) - np.power(f(0.85), t)), f(1e-6))
            got = opt._step_coefficients(lr, f)
            assert all(type(a) is type(b) and a.tobytes() == b.tobytes() for a, b in zip(got, expected)), (f, step)
        opt.beta_1 = 0.5  # a changed hyperparameter is picked up
        assert opt._step_coefficients(lr, f)[0] == f(0.5)


def _primed():
    init, grads = _problem(steps=2)
    opt = gopt.Adam(0.01)
    variables = [Variable(x.copy(), name=f"v{i}") for i, x in enumerate(init)]
    for g in grads:
        opt.apply(g, variables)
    assert opt._fast_variables is not None
    return opt, variables, grads[0]


def _unchanged(opt, variables):
    before = [v.data.copy() for v in variables], opt.get_state()
    return lambda: _assert_same(before, ([v.data.copy() for v in variables], opt.get_state()))


def test_bad_calls_after_the_fast_path_is_primed_still_raise_and_change_nothing():
    opt, variables, grads = _primed()
    same = _unchanged(opt, variables)
    bad = list(grads)
    bad[2] = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match="has shape"):
        opt.apply(bad, variables)
    with pytest.raises(ValueError, match="received 5 gradients for 6 variables"):
        opt.apply(grads[:5], variables)
    stranger = Variable(np.zeros((16,), np.float32), name="stranger")
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply(grads[:5] + [np.zeros(16, np.float32)], variables[:5] + [stranger])
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply([None] * 6, variables)
    same()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([None] + list(grads[1:]), variables)


def test_other_gradient_forms_give_the_same_numbers():
    # Tensors, float64 arrays for float32 variables, tuples and generators: the general path
    from glassnet.tensor import Tensor
    results = []
    for form in (list, lambda g: [Tensor(a) for a in g], lambda g: [a.astype(np.float64) for a in g],
                 tuple, lambda g: (a for a in g)):
        opt, variables, grads = _primed()
        for _ in range(3):
            opt.apply(form(grads), variables)
        results.append(([v.data.copy() for v in variables], opt.get_state()))
    for r in results[1:]:
        _assert_same(results[0], r)


@pytest.mark.parametrize("setting", ["clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor",
                                     "weight_decay", "constraint"])
def test_settings_made_after_priming_take_effect(setting):
    results = []
    for slow in (False, True):
        opt, variables, grads = _primed()
        if slow:
            opt._apply_fast = lambda g, v: False
        if setting == "constraint":
            variables[0].constraint = lambda v: v.data * 0.5
        else:
            setattr(opt, setting, 0.05)
        for _ in range(3):
            opt.apply(grads, variables)
        results.append(([v.data.copy() for v in variables], opt.get_state()))
    _assert_same(results[0], results[1])
    plain, variables, grads = _primed()
    for _ in range(3):
        plain.apply(grads, variables)
    assert any(a.tobytes() != b.tobytes() for a, b in zip(results[0][0], [v.data for v in variables]))


def test_subclasses_that_override_a_hook_keep_the_general_path():
    class Custom(gopt.Adam):
        def _clip_gradients(self, grads):
            return [g * 0 for g in grads]

    assert gopt.Adam._plain_class() and not Custom._plain_class()
    init, grads = _problem(steps=3)
    opt = Custom(0.01)
    variables = [Variable(x.copy()) for x in init]
    for g in grads:
        opt.apply(g, variables)
    assert opt._fast_variables is None
    for v, x in zip(variables, init):
        assert np.array_equal(v.data, x)  # zero gradients: Adam leaves the weights alone


def test_calls_without_variables_or_with_other_iterables_follow_the_general_rules():
    opt, variables, grads = _primed()
    opt.apply(grads[:5], variables[:5])  # primes on a subset of the built variables
    same = _unchanged(opt, variables)
    with pytest.raises(ValueError, match="received 5 gradients for 6 variables"):
        opt.apply(grads[:5])  # no variables: the built list, all six
    same()
    results = []
    for call in (lambda o, v: o.apply(grads, iter(v)), lambda o, v: o.apply(grads), lambda o, v: o.apply(grads, v)):
        o, v, _ = _primed()
        for _ in range(3):
            call(o, v)
        results.append(([x.data.copy() for x in v], o.get_state()))
    for r in results[1:]:
        _assert_same(results[0], r)
