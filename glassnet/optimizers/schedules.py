"""Learning-rate schedules: ``lr = schedule(step)``, with Keras 3's names, arguments and values.

An optimizer given a schedule as ``learning_rate`` evaluates it at its ``iterations``
(0 on the first update) before every step. Schedules compute in float32 the way Keras
does, so they give Keras' values; they also take an array of steps, which draws the curve:

    s = gn.optimizers.schedules.CosineDecay(0.1, decay_steps=1000)
    s(0), s(500)                  # 0.1, 0.05
    curve = s(np.arange(1000))    # shape (1000,)

``OneCycle`` (not in Keras) is the 1cycle policy of torch.optim.lr_scheduler.OneCycleLR;
with ``cycle_momentum=True`` it also cycles the optimizer's momentum (``momentum(step)``).
"""
import math

import numpy as np

from glassnet import backend
from glassnet.tensor import Tensor

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "OneCycle", "serialize",
    "deserialize",
]


def _steps(step, dtype=None):
    """The step(s) as an array: a Python int, a NumPy scalar or array, or a Tensor/Variable."""
    if isinstance(step, Tensor):
        step = step.data
    arr = np.asarray(step)
    return arr if dtype is None else arr.astype(dtype)


def _result(value):
    """A 0-d result becomes a NumPy scalar (np.float32), an array result stays an array."""
    value = np.asarray(value, dtype=backend.floatx())
    return value[()] if value.ndim == 0 else value


def _check_positive(schedule, name, value):
    if value <= 0:
        raise ValueError(f"{schedule}: argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """lr = initial_learning_rate * decay_rate ** (step / decay_steps); staircase floors the exponent."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _check_positive("ExponentialDecay", "decay_steps", decay_steps)

    def __call__(self, step):
        f = np.dtype(backend.floatx()).type
        p = _steps(step, f) / f(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _result(f(self.initial_learning_rate) * np.power(f(self.decay_rate), p))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """lr = values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i],
    values[-1] after boundaries[-1]."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length {len(values)}."
            )
        if any(b > a for b, a in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must be in increasing order. Received: boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = _steps(step)
        # Keras compares in the step's dtype: boundaries are cast to it.
        bounds = np.array([np.asarray(b).astype(step.dtype) for b in self.boundaries])
        values = np.asarray(self.values, dtype=backend.floatx())
        return _result(values[np.searchsorted(bounds, step, side="left")])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """lr = (initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end;
    with cycle=True decay_steps grows to the first multiple of itself above step."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        _check_positive("PolynomialDecay", "decay_steps", decay_steps)

    def __call__(self, step):
        f = np.dtype(backend.floatx()).type
        lr0, end = f(self.initial_learning_rate), f(self.end_learning_rate)
        s = _steps(step, f)
        decay_steps = f(self.decay_steps)
        if self.cycle:
            multiplier = np.where(s == 0, f(1.0), np.ceil(s / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            s = np.minimum(s, decay_steps)
        p = s / decay_steps
        return _result((lr0 - end) * np.power(1 - p, f(self.power)) + end)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """lr = initial_learning_rate / (1 + decay_rate * step / decay_steps); staircase floors the ratio."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _check_positive("InverseTimeDecay", "decay_steps", decay_steps)

    def __call__(self, step):
        f = np.dtype(backend.floatx()).type
        p = _steps(step, f) / f(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _result(f(self.initial_learning_rate) / (f(1) + f(self.decay_rate) * p))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


def _cosine(fraction, f):
    """0.5 * (1 + cos(pi * fraction)), in the schedule's float type."""
    return 0.5 * (1.0 + np.cos(f(math.pi) * fraction))


class CosineDecay(LearningRateSchedule):
    """lr = lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha).

    With ``warmup_target``: a linear warm-up from initial_learning_rate to warmup_target over
    ``warmup_steps``, then the cosine decay from warmup_target over ``decay_steps``.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        _check_positive("CosineDecay", "decay_steps", decay_steps)

    def _decay(self, s, decay_steps, from_lr, f):
        decayed = (1 - self.alpha) * _cosine(s / decay_steps, f) + self.alpha
        return from_lr * decayed

    def __call__(self, step):
        f = np.dtype(backend.floatx()).type
        lr0 = f(self.initial_learning_rate)
        decay_steps = f(self.decay_steps)
        s = _steps(step, f)
        if self.warmup_target is None:
            return _result(self._decay(np.minimum(s, decay_steps), decay_steps, lr0, f))
        target, warmup_steps = f(self.warmup_target), f(self.warmup_steps)
        s = np.minimum(s, decay_steps + warmup_steps)
        with np.errstate(divide="ignore", invalid="ignore"):  # the branch not taken may divide by 0
            warm = (target - lr0) * (s / warmup_steps) + lr0
        return _result(np.where(s < warmup_steps, warm, self._decay(s - warmup_steps, decay_steps, target, f)))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): period i lasts first_decay_steps * t_mul**i steps
    and starts from initial_learning_rate * m_mul**i; within it lr follows the CosineDecay curve."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        _check_positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)

    def __call__(self, step):
        f = np.dtype(backend.floatx()).type
        alpha, t_mul, m_mul = f(self.alpha), f(self._t_mul), f(self._m_mul)
        fraction = _steps(step, f) / f(self.first_decay_steps)
        if t_mul == 1.0:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            restart = np.floor(np.log(1.0 - fraction * (1.0 - t_mul)) / np.log(t_mul))
            done = (1.0 - np.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / np.power(t_mul, restart)
        decayed = (1 - alpha) * (np.power(m_mul, restart) * _cosine(fraction, f)) + alpha
        return _result(f(self.initial_learning_rate) * decayed)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


class OneCycle(LearningRateSchedule):
    """The 1cycle policy (Smith & Topin, 2018), as torch.optim.lr_scheduler.OneCycleLR.

    Warm-up from max_learning_rate / div_factor to max_learning_rate over the first
    ``pct_start * total_steps`` steps, then anneal to (max / div_factor) / final_div_factor at
    step total_steps - 1 ("cos": end + (start - end) / 2 * (1 + cos(pi * pct)); "linear").
    ``three_phase=True`` anneals back to the initial rate symmetrically before the final descent.
    Steps past the end keep the last value (torch raises instead).

    ``momentum(step)`` runs the other way, max_momentum -> base_momentum -> max_momentum.
    With ``cycle_momentum=True`` an optimizer given this schedule uses it at every step in
    place of its constant: SGD and RMSprop for ``momentum``, Adam, AdamW, Adamax, Nadam and
    Lion for ``beta_1`` (as torch sets ``momentum`` or ``betas[0]``); Adagrad and Adadelta
    have neither and refuse such a schedule. The optimizer's config keeps its constant.
    """

    def __init__(self, max_learning_rate, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                 anneal="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, three_phase=False,
                 name="OneCycle"):
        if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps <= 0:
            raise ValueError(f"OneCycle: total_steps must be a positive integer, received {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycle: pct_start must be a float between 0 and 1, received {pct_start!r}")
        if anneal not in ("cos", "linear"):
            raise ValueError(f"OneCycle: anneal must be 'cos' or 'linear', received {anneal!r}")
        for arg in ("max_learning_rate", "div_factor", "final_div_factor"):
            _check_positive("OneCycle", arg, locals()[arg])
        self.max_learning_rate = max_learning_rate
        self.total_steps = int(total_steps)
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal = anneal
        self.cycle_momentum = cycle_momentum
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.three_phase = three_phase
        self.name = name
        initial = max_learning_rate / div_factor
        lows = {"initial": initial, "max": max_learning_rate, "min": initial / final_div_factor}
        top = float(pct_start * total_steps) - 1
        # (end step, lr from, lr to, momentum from, momentum to), as torch's _schedule_phases
        if three_phase:
            self._phases = [
                (top, lows["initial"], lows["max"], max_momentum, base_momentum),
                (float(2 * pct_start * total_steps) - 2, lows["max"], lows["initial"], base_momentum, max_momentum),
                (total_steps - 1, lows["initial"], lows["min"], max_momentum, max_momentum),
            ]
        else:
            self._phases = [
                (top, lows["initial"], lows["max"], max_momentum, base_momentum),
                (total_steps - 1, lows["max"], lows["min"], base_momentum, max_momentum),
            ]

    def _anneal(self, start, end, pct):
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _at(self, step, which):
        """The learning rate (which=1) or momentum (which=3) at one step, in float64 like torch."""
        step = min(max(float(step), 0.0), self.total_steps - 1.0)
        start_step = 0.0
        for i, phase in enumerate(self._phases):
            end_step = phase[0]
            if step <= end_step or i == len(self._phases) - 1:
                span = end_step - start_step
                pct = (step - start_step) / span if span else 1.0  # torch divides by zero here
                return self._anneal(phase[which], phase[which + 1], pct)
            start_step = end_step

    def _map(self, step, which):
        s = _steps(step)
        out = np.array([self._at(x, which) for x in s.ravel()], dtype=backend.floatx()).reshape(s.shape)
        return _result(out)

    def __call__(self, step):
        return self._map(step, 1)

    def momentum(self, step):
        """The cycled momentum (SGD/RMSprop ``momentum``, Adam's ``beta_1``) at ``step``."""
        return self._map(step, 3)

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal": self.anneal,
            "cycle_momentum": self.cycle_momentum,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
            "three_phase": self.three_phase,
            "name": self.name,
        }


_KERAS_SCHEDULES = {
    cls.__name__: cls
    for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
                CosineDecayRestarts)
}
_ALL = dict(_KERAS_SCHEDULES, OneCycle=OneCycle)


def serialize(learning_rate_schedule):
    """The schedule as Keras' serialized dict ({"module", "class_name", "config", "registered_name"})."""
    cls = type(learning_rate_schedule)
    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise TypeError(f"serialize: expected a LearningRateSchedule, received {cls.__name__}")
    keras_own = _KERAS_SCHEDULES.get(cls.__name__) is cls
    return {
        "module": "keras.optimizers.schedules" if keras_own else cls.__module__,
        "class_name": cls.__name__,
        "config": learning_rate_schedule.get_config(),
        "registered_name": None if keras_own else f"glassnet>{cls.__name__}",
    }


def deserialize(config, custom_objects=None):
    """A schedule from ``serialize``'s dict (or Keras' file format); custom classes need custom_objects."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config', received {config!r}")
    name = config["class_name"]
    custom_objects = custom_objects or {}
    cls = custom_objects.get(name) or custom_objects.get(config.get("registered_name")) or _ALL.get(name)
    if cls is None:
        raise ValueError(
            f"deserialize: unknown learning rate schedule {name!r}; known: {', '.join(sorted(_ALL))}. "
            "Pass a custom class with custom_objects={name: cls}."
        )
    return cls.from_config(dict(config.get("config", {})))
