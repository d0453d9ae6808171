"""Learning-rate schedules against Keras 3 and OneCycle against torch's OneCycleLR."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

from glassnet.optimizers import schedules as gs  # noqa: E402

STEPS = [0, 1, 2, 5, 9, 10, 11, 37, 99, 100, 101, 250, 1000, 12345]

CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.96)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[10, 100], values=[1.0, 0.5, 0.1])),
    ("PiecewiseConstantDecay", dict(boundaries=[5], values=[0.3, 0.03])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=100)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=100, end_learning_rate=0.01, power=0.5)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=37, power=2.0, cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=100)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=1000, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=100, warmup_target=0.1, warmup_steps=10)),
    ("CosineDecay", dict(initial_learning_rate=0.01, decay_steps=50, alpha=0.2, warmup_target=0.1, warmup_steps=37)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=1.0, m_mul=0.9, alpha=0.1)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=7, t_mul=1.5, m_mul=0.5)),
]


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}{sorted(c[1].items())}")
def test_schedule_matches_keras(keras, case):
    name, kwargs = case
    ours = getattr(gs, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    for step in STEPS:
        got = ours(step)
        want = keras.ops.convert_to_numpy(theirs(step))
        assert got.dtype == np.float32 and np.ndim(got) == 0
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9, err_msg=f"{name} at step {step}")
    assert ours.get_config() == theirs.get_config()
    assert gs.serialize(ours) == keras.optimizers.schedules.serialize(theirs)
    back = keras.optimizers.schedules.deserialize(gs.serialize(ours))
    assert back.get_config() == theirs.get_config()
    assert gs.deserialize(keras.optimizers.schedules.serialize(theirs)).get_config() == ours.get_config()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_schedule_takes_an_array_of_steps(case):
    schedule = getattr(gs, case[0])(**case[1])
    curve = schedule(np.array(STEPS))
    assert curve.shape == (len(STEPS),) and curve.dtype == np.float32
    np.testing.assert_array_equal(curve, [schedule(s) for s in STEPS])


def test_schedule_takes_a_variable_step():
    from glassnet.variables import Variable

    schedule = gs.ExponentialDecay(1.0, 1, 0.5)
    assert schedule(Variable(np.array(3, np.int64), trainable=False)) == np.float32(0.125)


def test_schedule_errors():
    with pytest.raises(ValueError, match="decay_steps"):
        gs.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="decay_steps"):
        gs.CosineDecay(0.1, -1)
    with pytest.raises(ValueError, match="first_decay_steps"):
        gs.CosineDecayRestarts(0.1, 0)
    with pytest.raises(ValueError, match="1 less than"):
        gs.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="increasing"):
        gs.PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3])
    with pytest.raises(NotImplementedError):
        gs.LearningRateSchedule()(0)
    with pytest.raises(ValueError, match="unknown learning rate schedule"):
        gs.deserialize({"class_name": "Nope", "config": {}})


# ---- OneCycle --------------------------------------------------------------------------------
ONE_CYCLE = [
    dict(max_lr=0.1, total_steps=100),
    dict(max_lr=0.5, total_steps=37, pct_start=0.25, anneal_strategy="linear"),
    dict(max_lr=1.0, total_steps=50, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    dict(max_lr=0.2, total_steps=20, base_momentum=0.8, max_momentum=0.99, pct_start=0.5),
    dict(max_lr=0.2, total_steps=7),
]


def _ours(kw):
    kw = dict(kw)
    rename = {"max_lr": "max_learning_rate", "anneal_strategy": "anneal"}
    return gs.OneCycle(**{rename.get(k, k): v for k, v in kw.items()})


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("kw", ONE_CYCLE, ids=str)
def test_one_cycle_matches_torch(kind, kw):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9) if kind == "sgd" else torch.optim.Adam([p], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, **kw)
    ours = _ours(kw)
    lrs, moms = [], []
    for _ in range(kw["total_steps"]):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        moms.append(group["momentum"] if kind == "sgd" else group["betas"][0])
        opt.step()
        sched.step()
    steps = np.arange(kw["total_steps"])
    np.testing.assert_allclose(ours(steps), lrs, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours.momentum(steps), moms, rtol=1e-6)
    assert ours(kw["total_steps"] + 10) == ours(kw["total_steps"] - 1)  # holds the last value


def test_one_cycle_shape_and_config():
    s = gs.OneCycle(0.1, 100)
    assert s(0) == np.float32(0.1 / 25) and s(29) == np.float32(0.1)
    assert s(99) == pytest.approx(0.1 / 25 / 1e4)
    assert s.momentum(0) == np.float32(0.95) and s.momentum(29) == np.float32(0.85)
    back = gs.deserialize(gs.serialize(s))
    assert isinstance(back, gs.OneCycle) and back.get_config() == s.get_config()
    with pytest.raises(ValueError, match="total_steps"):
        gs.OneCycle(0.1, 0)
    with pytest.raises(ValueError, match="pct_start"):
        gs.OneCycle(0.1, 10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal"):
        gs.OneCycle(0.1, 10, anneal="exp")


def test_one_cycle_degenerate_phase_has_no_division_by_zero():
    s = gs.OneCycle(0.1, 10, pct_start=0.1)  # warm-up phase ends at step 0
    assert s(0) == np.float32(0.1)
    assert np.all(np.isfinite(s(np.arange(10))))
