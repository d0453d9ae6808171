"""Optimizers against real Keras 3 (torch backend): same weights, same slots, same layout."""
import os
import re
import warnings

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import glassnet.optimizers as gopt  # noqa: E402
from glassnet.optimizers import schedules as gsched  # noqa: E402
from glassnet.tensor import Tensor  # noqa: E402
from glassnet.variables import Variable  # noqa: E402

SHAPES = [(3, 4), (5,)]
NAMES = ["kernel", "bias"]


def _problem(seed=0, steps=5, dtype=np.float32):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _glassnet_vars(init):
    return [Variable(x, name=n) for x, n in zip(init, NAMES)]


def _run_glassnet(opt, init, grads):
    variables = _glassnet_vars(init)
    for g in grads:
        opt.apply_gradients(zip(g, variables))
    return variables


# Each case: optimizer class name and a function of the optimizers module (keras.optimizers or
# gn.optimizers) giving its keyword arguments, so that schedules come from the same module.
CASES = [
    ("SGD", lambda M: {"learning_rate": 0.1}),
    ("SGD", lambda M: {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", lambda M: {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", lambda M: {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.05}),
    ("SGD", lambda M: {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("SGD", lambda M: {"learning_rate": 0.1, "momentum": 0.9, "clipvalue": 0.3}),
    ("SGD", lambda M: {"learning_rate": 0.1, "global_clipnorm": 0.7}),
    ("SGD", lambda M: {"learning_rate": M.schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True), "momentum": 0.9}),
    ("RMSprop", lambda M: {"learning_rate": 0.01}),
    ("RMSprop", lambda M: {"learning_rate": 0.01, "momentum": 0.5}),
    ("RMSprop", lambda M: {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", lambda M: {"learning_rate": 0.01, "centered": True, "momentum": 0.3, "clipnorm": 1.0}),
    ("Adam", lambda M: {"learning_rate": 0.05}),
    ("Adam", lambda M: {"learning_rate": 0.05, "amsgrad": True}),
    ("Adam", lambda M: {"learning_rate": 0.05, "weight_decay": 0.1, "global_clipnorm": 1.0}),
    ("Adam", lambda M: {"learning_rate": M.schedules.CosineDecay(0.05, 4, alpha=0.1, warmup_target=0.1,
                                                                 warmup_steps=2)}),
    ("Adam", lambda M: {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 2}),
    ("Adam", lambda M: {"learning_rate": 0.05, "gradient_accumulation_steps": 2}),
    ("Adam", lambda M: {"learning_rate": 0.05, "loss_scale_factor": 8.0, "clipvalue": 0.2}),
    ("AdamW", lambda M: {"learning_rate": 0.05}),
    ("AdamW", lambda M: {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", lambda M: {"learning_rate": M.schedules.PolynomialDecay(0.05, 3, power=2.0), "weight_decay": 0.2}),
    ("Adagrad", lambda M: {"learning_rate": 0.1}),
    ("Adagrad", lambda M: {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "clipvalue": 0.5}),
    ("Adadelta", lambda M: {"learning_rate": 1.0}),
    ("Adadelta", lambda M: {"learning_rate": 1.0, "rho": 0.5, "weight_decay": 0.01}),
    ("Adamax", lambda M: {"learning_rate": 0.05}),
    ("Adamax", lambda M: {"learning_rate": M.schedules.InverseTimeDecay(0.05, 1, 0.5), "clipnorm": 0.5}),
    ("Nadam", lambda M: {"learning_rate": 0.05}),
    ("Nadam", lambda M: {"learning_rate": 0.05, "beta_1": 0.8, "weight_decay": 0.05, "global_clipnorm": 0.5}),
    ("Lion", lambda M: {"learning_rate": 0.01}),
    ("Lion", lambda M: {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
]


def _case_id(case):
    import types

    kwargs = case[1](types.SimpleNamespace(schedules=gsched))
    parts = [f"{k}={type(v).__name__ if isinstance(v, gsched.LearningRateSchedule) else v}" for k, v in kwargs.items()]
    return f"{case[0]}({','.join(parts)})"


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _run_keras(keras, opt, init, grads):
    variables = [keras.Variable(x, name=n) for x, n in zip(init, NAMES)]
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(a), v) for a, v in zip(g, variables)])
    return variables


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_five_steps_match_keras(keras, case):
    cls_name, kwargs = case
    init, grads = _problem()
    k_opt = getattr(keras.optimizers, cls_name)(name="opt", **kwargs(keras.optimizers))
    g_opt = getattr(gopt, cls_name)(name="opt", **kwargs(gopt))
    k_vars = _run_keras(keras, k_opt, init, grads)
    g_vars = _run_glassnet(g_opt, init, grads)
    for k, g in zip(k_vars, g_vars):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g.data, keras.ops.convert_to_numpy(k), rtol=1e-5, atol=1e-6)
    # Keras numbers its unnamed variables globally (Nadam's "variable", "variable_1", ...)
    k_paths = [re.sub(r"/variable_\d+$", "/variable", v.path) for v in k_opt.variables]
    assert [v.path for v in g_opt.variables] == k_paths
    for k, g in zip(k_opt.variables, g_opt.variables):
        np.testing.assert_allclose(g.data, keras.ops.convert_to_numpy(k), rtol=1e-5, atol=1e-6, err_msg=g.path)
    assert g_opt.get_config() == k_opt.get_config()
    assert g_opt.learning_rate == pytest.approx(float(keras.ops.convert_to_numpy(k_opt.learning_rate)), rel=1e-6)


def test_exclude_from_weight_decay_matches_keras(keras):
    init, grads = _problem(seed=3)
    k_opt = keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.5)
    g_opt = gopt.AdamW(learning_rate=0.05, weight_decay=0.5)
    k_opt.exclude_from_weight_decay(var_names=["bias"])
    g_opt.exclude_from_weight_decay(var_names=["bias"])
    for k, g in zip(_run_keras(keras, k_opt, init, grads), _run_glassnet(g_opt, init, grads)):
        np.testing.assert_allclose(g.data, keras.ops.convert_to_numpy(k), rtol=1e-5, atol=1e-6)


def test_keras_optimizer_state_loads_into_glassnet(keras):
    # Files must move between the frameworks: Keras' optimizer variables, in order, are ours.
    init, grads = _problem(seed=4)
    k_opt = keras.optimizers.Nadam(learning_rate=0.05)
    k_vars = _run_keras(keras, k_opt, init, grads[:3])
    g_vars = _glassnet_vars([keras.ops.convert_to_numpy(v) for v in k_vars])
    g_opt = gopt.Nadam(learning_rate=0.05)
    g_opt.build(g_vars)
    g_opt.load_own_variables({str(i): keras.ops.convert_to_numpy(v) for i, v in enumerate(k_opt.variables)})
    for g in grads[3:]:
        k_opt.apply_gradients([(keras.ops.convert_to_tensor(a), v) for a, v in zip(g, k_vars)])
        g_opt.apply_gradients(zip(g, g_vars))
    for k, g in zip(k_vars, g_vars):
        np.testing.assert_allclose(g.data, keras.ops.convert_to_numpy(k), rtol=1e-5, atol=1e-6)


def test_keras_config_round_trips(keras):
    for cls_name, kwargs in CASES:
        k_opt = getattr(keras.optimizers, cls_name)(name="opt", **kwargs(keras.optimizers))
        g_opt = gopt.deserialize(keras.optimizers.serialize(k_opt))
        assert type(g_opt).__name__ == cls_name
        assert g_opt.get_config() == k_opt.get_config()
        back = keras.optimizers.deserialize(gopt.serialize(g_opt))
        assert back.get_config() == k_opt.get_config()


# ---- state, dtype -------------------------------------------------------------------------------
ALL = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion"]
MOMENTUM_KW = {"SGD": {"momentum": 0.9, "nesterov": True}, "RMSprop": {"momentum": 0.5, "centered": True},
               "Adam": {"amsgrad": True}}


@pytest.mark.parametrize("cls_name", ALL)
def test_state_round_trip_is_bit_exact(cls_name):
    init, grads = _problem(seed=1)
    kwargs = dict(MOMENTUM_KW.get(cls_name, {}), learning_rate=gsched.ExponentialDecay(0.05, 2, 0.7))
    a = getattr(gopt, cls_name)(**kwargs)
    a_vars = _run_glassnet(a, init, grads[:3])
    b = type(a).from_config(a.get_config())
    b_vars = _glassnet_vars([v.data for v in a_vars])
    b.build(b_vars)
    b.set_state(a.get_state())
    store = {}
    b.save_own_variables(store)
    c = type(a).from_config(a.get_config())
    c_vars = _glassnet_vars([v.data for v in a_vars])
    c.build(c_vars)
    c.load_own_variables(store)
    for g in grads[3:]:
        for opt, vs in ((a, a_vars), (b, b_vars), (c, c_vars)):
            opt.apply_gradients(zip(g, vs))
    for other_vars, other in ((b_vars, b), (c_vars, c)):
        for x, y in zip(a_vars, other_vars):
            assert np.array_equal(x.data, y.data)
        for x, y in zip(a.variables, other.variables):
            assert x.path.split("/", 1)[1] == y.path.split("/", 1)[1]
            assert x.dtype == y.dtype and np.array_equal(x.data, y.data)
    assert int(a.iterations.data) == 5


@pytest.mark.parametrize("cls_name", ALL)
def test_float32_stays_float32_and_float64_stays_float64(cls_name):
    kwargs = dict(MOMENTUM_KW.get(cls_name, {}), learning_rate=gsched.CosineDecay(0.1, 10), clipnorm=1.0,
                  weight_decay=0.01)
    for dtype in (np.float32, np.float64):
        init, grads = _problem(seed=2, dtype=dtype)
        opt = getattr(gopt, cls_name)(**kwargs)
        variables = _glassnet_vars(init)
        for g in grads:  # float64 gradients must not upcast float32 weights
            opt.apply_gradients(zip([x.astype(np.float64) for x in g], variables))
        for v in variables:
            assert v.dtype == dtype
        for v in opt.variables[1:]:
            assert v.dtype == dtype, v.path
        assert opt.iterations.dtype == np.int64


def test_float64_matches_float32_closely():
    init, grads = _problem(seed=5)
    results = []
    for dtype in (np.float32, np.float64):
        opt = gopt.Adam(learning_rate=0.05)
        vs = _run_glassnet(opt, [x.astype(dtype) for x in init], [[x.astype(dtype) for x in g] for g in grads])
        results.append(vs[0].data)
    # float32 rounds 1 - 0.999**t with a relative error near 1e-4 (as Keras does): steps differ a little
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-5)


def test_updates_are_in_place():
    init, grads = _problem()
    opt = gopt.Adam(learning_rate=0.1)
    variables = _glassnet_vars(init)
    buffers = [v.data for v in variables]
    opt.apply_gradients(zip(grads[0], variables))
    slots = [v.data for v in opt.variables]
    opt.apply_gradients(zip(grads[1], variables))
    assert all(v.data is b for v, b in zip(variables, buffers))
    assert all(v.data is s for v, s in zip(opt.variables, slots))


# ---- OneCycle driving momentum ----------------------------------------------------------------
def _torch_one_cycle(kind, total, **kw):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9) if kind == "sgd" else torch.optim.Adam([p], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, total_steps=total, **kw)
    lrs, moms = [], []
    for _ in range(total):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        moms.append(group["momentum"] if kind == "sgd" else group["betas"][0])
        opt.step()
        sched.step()
    return lrs, moms


def test_one_cycle_drives_sgd_momentum():
    total = 6
    lrs, moms = _torch_one_cycle("sgd", total, max_lr=0.5)
    init, grads = _problem(seed=6, steps=total)
    opt = gopt.SGD(learning_rate=gsched.OneCycle(0.5, total), momentum=0.9)
    got = _run_glassnet(opt, init, grads)
    w = [x.astype(np.float64) for x in init]
    v = [np.zeros_like(x) for x in w]
    for k in range(total):  # Keras' momentum rule with torch's lr and momentum at step k
        for i in range(2):
            v[i] = moms[k] * v[i] - lrs[k] * grads[k][i]
            w[i] = w[i] + v[i]
    for g, ref in zip(got, w):
        np.testing.assert_allclose(g.data, ref, rtol=1e-5, atol=1e-6)


def test_one_cycle_drives_adam_beta_1():
    total = 5
    lrs, betas = _torch_one_cycle("adam", total, max_lr=0.2, pct_start=0.4)
    init, grads = _problem(seed=7, steps=total)
    opt = gopt.Adam(learning_rate=gsched.OneCycle(0.2, total, pct_start=0.4))
    got = _run_glassnet(opt, init, grads)
    w = [x.astype(np.float64) for x in init]
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    for k in range(total):
        b1, t = betas[k], k + 1
        lr_t = lrs[k] * np.sqrt(1 - 0.999**t) / (1 - b1**t)
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * grads[k][i]
            v[i] = 0.999 * v[i] + 0.001 * grads[k][i] ** 2
            w[i] = w[i] - lr_t * m[i] / (np.sqrt(v[i]) + 1e-7)
    for g, ref in zip(got, w):  # a float64 reference: float32's 1 - 0.999**t is off by ~1e-4 relative
        np.testing.assert_allclose(g.data, ref, rtol=1e-4, atol=1e-5)


def test_one_cycle_without_cycle_momentum_keeps_the_constant():
    init, grads = _problem(seed=8)
    a = gopt.SGD(learning_rate=gsched.OneCycle(0.5, 5, cycle_momentum=False), momentum=0.0)
    _run_glassnet(a, init, grads)
    assert [v.path.split("/")[1] for v in a.variables] == ["iteration"]  # no momentum slots
    with pytest.raises(ValueError, match="cycle_momentum"):
        gopt.Adagrad(learning_rate=gsched.OneCycle(0.5, 5))


# ---- API behaviour ----------------------------------------------------------------------------
def test_get_strings_dicts_and_instances():
    for name, cls in gopt.ALL_OBJECTS_DICT.items():
        assert type(gopt.get(name)) is cls
        assert type(gopt.get(name.upper())) is cls
    assert type(gopt.get("RMSprop")) is gopt.RMSprop and type(gopt.get("AdamW")) is gopt.AdamW
    opt = gopt.get({"class_name": "Adam", "config": {"learning_rate": 0.5, "beta_1": 0.8}})
    assert isinstance(opt, gopt.Adam) and opt.learning_rate == pytest.approx(0.5) and opt.beta_1 == 0.8
    inst = gopt.SGD()
    assert gopt.get(inst) is inst
    assert gopt.get(None) is None
    with pytest.raises(ValueError, match="'sgd', 'rmsprop', 'adam'"):
        gopt.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret"):
        gopt.get(3)


def test_defaults_match_keras_docs():
    assert gopt.SGD().learning_rate == pytest.approx(0.01)
    for name in ["rmsprop", "adam", "adamw", "adagrad", "adadelta", "adamax", "nadam", "lion"]:
        assert gopt.get(name).learning_rate == pytest.approx(0.001)
    assert gopt.AdamW().weight_decay == 0.004
    assert (gopt.Adam().beta_1, gopt.Adam().beta_2, gopt.Adam().epsilon) == (0.9, 0.999, 1e-7)
    assert (gopt.Lion().beta_1, gopt.Lion().beta_2) == (0.9, 0.99)
    assert gopt.Adadelta().rho == 0.95 and gopt.RMSprop().rho == 0.9
    assert gopt.Adagrad().initial_accumulator_value == 0.1
    assert gopt.Adam().name.startswith("adam") and gopt.RMSprop().name.startswith("rm_sprop")


def test_bad_arguments_give_clear_errors():
    with pytest.raises(TypeError, match="'foo'"):
        gopt.Adam(foo=1)
    with pytest.raises(ValueError, match="only one of `clipnorm`"):
        gopt.SGD(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(TypeError, match="learning_rate"):
        gopt.SGD(learning_rate="fast")
    with pytest.raises(ValueError, match="learning_rate"):
        gopt.SGD(learning_rate=-0.1)
    with pytest.raises(ValueError, match="momentum"):
        gopt.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay"):
        gopt.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        gopt.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        gopt.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="clipnorm"):
        gopt.Adam(clipnorm=-1.0)


def test_bad_gradients_and_variables():
    init, grads = _problem()
    variables = _glassnet_vars(init)
    opt = gopt.Adam()
    with pytest.raises(ValueError, match=r"'kernel'.*\(4, 3\).*\(3, 4\)"):
        opt.apply_gradients([(np.zeros((4, 3), np.float32), variables[0])])
    opt = gopt.Adam()
    opt.apply_gradients(zip(grads[0], variables))
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(grads[0][0], Variable(init[0]))])
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply_gradients([(None, variables[0])])
    fresh = gopt.SGD()
    with pytest.raises(ValueError, match="build"):
        fresh.apply(grads[0])
    with pytest.raises(ValueError, match="build"):
        fresh.set_state([])
    with pytest.raises(ValueError, match="expected 6 arrays"):
        opt.set_state(opt.get_state()[:2])


def test_none_gradient_is_skipped_with_a_warning():
    init, grads = _problem()
    variables = _glassnet_vars(init)
    opt = gopt.SGD(learning_rate=0.1)
    with pytest.warns(UserWarning, match="bias"):
        opt.apply_gradients([(grads[0][0], variables[0]), (None, variables[1])])
    assert np.array_equal(variables[1].data, init[1])
    np.testing.assert_allclose(variables[0].data, init[0] - np.float32(0.1) * grads[0][0], rtol=1e-6)


def test_tensor_gradients_and_apply_without_variables():
    init, grads = _problem()
    a, b = _glassnet_vars(init), _glassnet_vars(init)
    opt_a, opt_b = gopt.RMSprop(0.01), gopt.RMSprop(0.01)
    opt_b.build(b)
    for g in grads:
        opt_a.apply_gradients([(Tensor(x), v) for x, v in zip(g, a)])
        opt_b.apply(g)
    for x, y in zip(a, b):
        assert np.array_equal(x.data, y.data)


def test_gradients_from_backward():
    w = Variable(np.array([1.0, -2.0], np.float32), name="w")
    loss = (w * w).sum()
    loss.backward()
    opt = gopt.SGD(learning_rate=0.25)
    opt.apply_gradients([(w.grad, w)])
    np.testing.assert_allclose(w.data, [0.5, -1.0])


def test_constraint_is_applied_in_place_after_the_update():
    init, grads = _problem()
    variables = _glassnet_vars(init)
    variables[0].constraint = lambda v: np.clip(v.data, -0.1, 0.1)
    buffer = variables[0].data
    gopt.Adam(0.5).apply_gradients(zip(grads[0], variables))
    assert variables[0].data is buffer and np.abs(buffer).max() <= 0.1


def test_learning_rate_property_and_setter():
    opt = gopt.SGD(learning_rate=0.1)
    assert isinstance(opt.learning_rate, float) and opt.learning_rate == pytest.approx(0.1)
    opt.learning_rate = 0.02
    assert opt.learning_rate == pytest.approx(0.02) and opt.get_config()["learning_rate"] == pytest.approx(0.02)
    opt.learning_rate = gsched.ExponentialDecay(1.0, 1, 0.5)
    assert "sgd" in opt.variables[0].path and len(opt.variables) == 1  # the lr variable is dropped
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    init, grads = _problem()
    variables = _glassnet_vars(init)
    rates = []
    for g in grads[:3]:
        rates.append(opt.learning_rate)
        opt.apply_gradients(zip(g, variables))
    assert rates == [1.0, 0.5, 0.25]


def test_callable_learning_rate():
    calls = []
    opt = gopt.SGD(learning_rate=lambda: calls.append(1) or 0.5)
    w = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    np.testing.assert_allclose(w.data, [0.5, 0.5])
    assert calls


def test_serialize_round_trip_with_schedule():
    opt = gopt.Adam(learning_rate=gsched.OneCycle(0.1, 100), beta_2=0.99, name="mine")
    config = gopt.serialize(opt)
    assert config["class_name"] == "Adam" and config["module"] == "keras.optimizers"
    back = gopt.deserialize(config)
    assert isinstance(back._learning_rate, gsched.OneCycle)
    assert back.get_config() == opt.get_config()


def test_decay_argument_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="decay"):
        gopt.SGD(decay=0.1)


def test_iterations_with_gradient_accumulation():
    opt = gopt.SGD(learning_rate=0.1, gradient_accumulation_steps=2)
    w = Variable(np.zeros(2, np.float32), name="w")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            opt.apply_gradients([(np.ones(2, np.float32), w)])
    assert int(opt.iterations.data) == 2 and int(opt._iterations.data) == 4
    np.testing.assert_allclose(w.data, [-0.2, -0.2])


def test_custom_optimizer_written_keras_style():
    class SignSGD(gopt.Optimizer):
        def __init__(self, learning_rate=0.1, **kwargs):
            super().__init__(learning_rate, **kwargs)

        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self.counts = self.add_optimizer_variables(var_list, "count")

        def update_step(self, gradient, variable, learning_rate):
            self.assign_add(self.counts[self._get_variable_index(variable)], np.ones_like(gradient))
            self.assign_sub(variable, learning_rate * np.sign(gradient))

    w = Variable(np.zeros(3, np.float32), name="w")
    opt = SignSGD()
    opt.apply_gradients([(np.array([1.0, -2.0, 0.0], np.float32), w)])
    opt.apply_gradients([])  # nothing to do
    np.testing.assert_allclose(w.data, [-0.1, 0.1, 0.0])
    assert [v.path for v in opt.variables] == ["sign_sgd/iteration", "sign_sgd/learning_rate", "sign_sgd/w_count"]
    assert gopt.deserialize(gopt.serialize(opt), custom_objects={"SignSGD": SignSGD}).get_config() == opt.get_config()
