"""Optimizer: the Keras 3 base class. Subclasses write ``build`` (their slots) and ``update_step``.

One call of ``apply_gradients([(g, w), ...])`` does, in Keras 3's order:
  1. drop pairs whose gradient is None (with a warning), unscale by ``loss_scale_factor``;
  2. clip: ``clipnorm`` per gradient, or ``global_clipnorm`` over all, or ``clipvalue``;
  3. weight decay: w *= 1 - weight_decay * lr (decoupled, before the update);
  4. ``update_step(g, w, lr)`` for each variable, lr being the schedule's value at
     ``iterations`` (gradient accumulation and EMA wrap steps 2-4 as in Keras); the built-in
     rules are elementwise (``_update_arrays``), and optimizers/fused.py runs them once over
     all small variables and in place, by cache-sized slices, over each big one;
  5. ``w.constraint`` if set; then ``iterations += 1``.
Updates are made in place on ``variable.data`` in the variable's dtype (float32 stays float32).

``variables`` lists the state in Keras' order (iteration, learning_rate unless a schedule,
then the slots that ``build`` adds, named "<optimizer>/<variable path with _>_<slot>"), so
``get_state()`` / ``set_state()`` and Keras' ``.weights.h5`` optimizer entries line up.
"""
import math
import re
import warnings

import numpy as np

from glassnet import backend
from glassnet.autograd import no_grad
from glassnet.optimizers import fused
from glassnet.optimizers import schedules as _schedules
from glassnet.tensor import Tensor, _to_array
from glassnet.variables import Variable

_name_uids = {}


def _auto_name(class_name):
    """Keras' default object name: snake_case of the class, made unique ("adam", "adam_1")."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    uid = _name_uids.get(name, 0)
    _name_uids[name] = uid + 1
    return name if uid == 0 else f"{name}_{uid}"


def _number(owner, arg, value, allow_none=True, minimum=0.0):
    """Validate a float hyperparameter: a real number >= minimum (or None where allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: `{arg}` must be a float, received {value!r} of type {type(value).__name__}")
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{owner}: `{arg}` must be a finite number >= {minimum}, received {arg}={value!r}")
    return value


class Optimizer:
    """Base class of all optimizers (keras.optimizers.Optimizer): state, clipping, weight decay."""

    # The hyperparameter that a cycling schedule (OneCycle(cycle_momentum=True)) drives at each
    # step: "momentum" (SGD, RMSprop), "beta_1" (Adam family, Lion), None (Adagrad, Adadelta).
    _cycled_hyperparameter = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise TypeError(f"{cls}: argument(s) not recognized: {', '.join(map(repr, kwargs))}")
        self.name = name or _auto_name(cls)
        self.weight_decay = _number(cls, "weight_decay", weight_decay)
        self.clipnorm = _number(cls, "clipnorm", clipnorm)
        self.clipvalue = _number(cls, "clipvalue", clipvalue)
        self.global_clipnorm = _number(cls, "global_clipnorm", global_clipnorm)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{cls}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if gradient_accumulation_steps is not None and (
            isinstance(gradient_accumulation_steps, bool) or not isinstance(gradient_accumulation_steps, (int, np.integer))
            or gradient_accumulation_steps < 2
        ):
            raise ValueError(
                f"{cls}: `gradient_accumulation_steps` must be an integer >= 2. "
                f"Received: gradient_accumulation_steps={gradient_accumulation_steps}"
            )
        if not 0 <= ema_momentum <= 1:
            raise ValueError(f"{cls}: `ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
        if ema_overwrite_frequency is not None and (not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
            raise ValueError(
                f"{cls}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                f"Received: ema_overwrite_frequency={ema_overwrite_frequency}"
            )
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = _number(cls, "loss_scale_factor", loss_scale_factor, minimum=1e-45)
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._index = {}  # id(model variable) -> position in _trainable_variables
        self._slot_lists = []  # the per-variable slot lists that the update rule reads, in order
        self._flat = None
        self._scratch_buffers = {}
        # The variables of the last apply() that the full checks passed with a plain update
        # (see _apply_fast), as a tuple; None when the fast path is off.
        self._fast_variables = None
        self._fast_all = False  # _fast_variables is the built list, in order (see apply)
        self._exclude_ids, self._exclude_pattern = set(), None
        # int64 (as TF Keras saves it; Keras on torch uses int32 — values load either way)
        self._iterations = self._track(Variable(np.array(0, np.int64), trainable=False, name="iteration",
                                                path=f"{self.name}/iteration"))
        self._learning_rate = None
        self._set_learning_rate(learning_rate, initial=True)

    # ---- learning rate -----------------------------------------------------------------------
    def _set_learning_rate(self, value, initial=False):
        cls = type(self).__name__
        if isinstance(value, _schedules.LearningRateSchedule) or (callable(value) and not isinstance(value, Tensor)):
            if getattr(value, "cycle_momentum", False) and self._cycled_hyperparameter is None:
                raise ValueError(
                    f"{cls} has no momentum or beta_1 for {type(value).__name__}(cycle_momentum=True) to cycle; "
                    "pass cycle_momentum=False to the schedule"
                )
            if isinstance(self._learning_rate, Variable):
                self._variables.remove(self._learning_rate)
            self._learning_rate = value
            return
        if not initial and not isinstance(self._learning_rate, Variable):
            raise TypeError(
                f"This optimizer was created with a {type(self._learning_rate).__name__} as its `learning_rate`, "
                "hence its learning rate is not settable. If you need the learning rate to be settable, "
                "create the optimizer with a float `learning_rate`."
            )
        value = _number(cls, "learning_rate", value, allow_none=False)
        if initial:
            self._learning_rate = self._track(Variable(np.array(value, backend.floatx()), trainable=False,
                                                       name="learning_rate", path=f"{self.name}/learning_rate"))
        else:
            self._learning_rate.assign(np.array(value, self._learning_rate.dtype))

    @property
    def learning_rate(self):
        """The learning rate for the next step, as a float (a schedule evaluated at ``iterations``)."""
        return float(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_learning_rate(value)

    def _current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return lr.data[()]
        if isinstance(lr, _schedules.LearningRateSchedule):
            value = lr(int(self._iterations.data))
        else:
            value = lr()
        return np.asarray(_to_array(value), dtype=backend.floatx())[()]

    def _step_learning_rate(self):
        """This step's learning rate, a NumPy scalar (a schedule evaluated at ``iterations``)."""
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return lr.data[()]
        with no_grad():  # a schedule may compute with Tensors
            return self._current_learning_rate()

    def _hyper(self, name):
        """The value of hyperparameter ``name`` for this step (a cycling schedule may drive it)."""
        lr = self._learning_rate
        if name == self._cycled_hyperparameter and getattr(lr, "cycle_momentum", False):
            return float(lr.momentum(int(self._iterations.data)))
        return getattr(self, name)

    # ---- variables ---------------------------------------------------------------------------
    @property
    def iterations(self):
        """Number of update steps taken (a Variable; with gradient accumulation, updates made)."""
        if self.gradient_accumulation_steps:
            return Tensor(self._iterations.data // self.gradient_accumulation_steps)
        return self._iterations

    def _step(self):
        """The update-step count as an int (what bias corrections use)."""
        return int(self._iterations.data) // (self.gradient_accumulation_steps or 1)

    @property
    def variables(self):
        """All state, in Keras 3's order: iteration, learning_rate (if a float), then slots."""
        return self._variables[:]

    def _track(self, variable):
        self._variables.append(variable)
        return variable

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        """A new non-trainable state Variable of this optimizer, filled by ``initializer``
        ("zeros", "ones", a number, or a callable ``(shape, dtype) -> array``)."""
        shape, dtype = tuple(shape), np.dtype(dtype or backend.floatx())
        if isinstance(initializer, str) and initializer in ("zeros", "ones"):
            value = np.zeros(shape, dtype) if initializer == "zeros" else np.ones(shape, dtype)
        elif isinstance(initializer, (int, float, np.number)):
            value = np.full(shape, initializer, dtype)
        elif callable(initializer):
            value = np.asarray(_to_array(initializer(shape, dtype=dtype)), dtype)
        else:
            raise ValueError(f"{self.name}: cannot initialize an optimizer variable with {initializer!r}")
        name = name or "variable"
        return self._track(Variable(value, trainable=False, name=name, path=f"{self.name}/{name}"))

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A slot shaped like ``reference_variable``, named "<its path with _>_<name>"."""
        ref = getattr(reference_variable, "path", None) or reference_variable.name or "variable"
        name = f"{str(ref).replace('/', '_').replace(':', '_')}_{name or 'var'}"
        return self.add_variable(reference_variable.shape, initializer, reference_variable.dtype, name)

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """Slots for every variable; with a list of names they interleave per variable, as Keras."""
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, (slot_name, init) in enumerate(zip(names, inits)):
                slots[i].append(self.add_variable_from_reference(variable, slot_name, init))
        self._slot_lists.extend(slots)
        return slots[0] if isinstance(name, str) else slots

    def build(self, var_list):
        """Create the state for ``var_list`` (subclasses add their slots after calling this)."""
        var_list = list(var_list)
        if self.use_ema:
            averages = self._model_variables_moving_average = self.add_optimizer_variables(var_list, "average")
            # state of the moving average, not a slot that the update rule reads
            self._slot_lists = [s for s in self._slot_lists if s is not averages]
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = []
        for i, variable in enumerate(var_list):
            self._index[id(variable)] = i
            if self.gradient_accumulation_steps:
                self._accumulated_gradients.append(self.add_variable_from_reference(variable, "gradient_accumulator"))
        self._trainable_variables = var_list
        self._fast_variables = None
        self.built = True

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    def _scratch(self, like, k=0):
        """Reusable work array ``k`` shaped like ``like``: updates allocate no big temporaries.

        Measured on Adam with a 2048x2048 float32 weight: 13 ms a step, against 26 ms with
        fresh np.empty_like work arrays and 63 ms written as plain expressions."""
        key = (like.dtype, k)
        buf = self._scratch_buffers.get(key)
        if buf is not None and buf.shape == like.shape:  # the fused flat buffers: no view to make
            return buf
        if buf is None or buf.size < like.size:
            buf = self._scratch_buffers[key] = np.empty(like.size, like.dtype)
        return buf[: like.size].reshape(like.shape)

    # ---- state -------------------------------------------------------------------------------
    def get_state(self):
        """Copies of all state arrays, in ``variables`` order."""
        return [v.data.copy() for v in self._variables]

    def set_state(self, state):
        """Load arrays from ``get_state()`` (or a Keras optimizer's variables) into a built optimizer."""
        state = list(state)
        if not self.built:
            raise ValueError(
                f"{self.name}: set_state() needs a built optimizer; call optimizer.build(model.trainable_variables) first"
            )
        if len(state) != len(self._variables):
            raise ValueError(
                f"{self.name}: set_state() expected {len(self._variables)} arrays ({[v.path for v in self._variables]}), "
                f"received {len(state)}"
            )
        for variable, value in zip(self._variables, state):
            variable.assign(np.asarray(_to_array(value)).astype(variable.dtype, copy=False))

    def set_weights(self, weights):
        """Keras' name for ``set_state``."""
        self.set_state(weights)

    def save_own_variables(self, store):
        """Write the state into ``store`` under "0", "1", ... (Keras' .weights.h5 layout)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.data

    def load_own_variables(self, store):
        """Read the state written by ``save_own_variables`` (or by Keras); a count mismatch warns and skips."""
        if len(store.keys()) != len(self._variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has {len(self._variables)} "
                f"variables whereas the saved optimizer has {len(store.keys())} variables."
                + (" The optimizer has not been built yet." if not self.built else ""),
                stacklevel=2,
            )
            return
        self.set_state([np.asarray(store[str(i)]) for i in range(len(self._variables))])

    # ---- the update --------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(gradient, variable), ...]``; returns ``iterations``."""
        pairs = list(grads_and_vars)
        grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Update ``trainable_variables`` (or those the optimizer was built with) from ``grads``."""
        if self._fast_variables is not None and self._apply_fast(grads, trainable_variables):
            return
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built on a list of "
                    "variables. Call `optimizer.build(trainable_variables)` first."
                )
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"{self.name}: received {len(grads)} gradients for {len(variables)} variables")
        # Check everything before building or touching any state: a bad call changes nothing.
        pairs = [(self._as_gradient(g, v), v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if trainable_variables is not None:
            if not self.built:
                self.build(variables)
            for v in variables:
                if id(v) not in self._index:
                    raise ValueError(
                        f"Unknown variable: {v!r}. This optimizer can only be called for the variables it was "
                        "originally built with. When working with a new set of variables, create a new optimizer."
                    )
        if len(pairs) < len(grads):
            missing = [getattr(v, "path", v.name) for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.", stacklevel=3)
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        with no_grad():
            if self.loss_scale_factor is not None:
                grads = [g / g.dtype.type(self.loss_scale_factor) for g in grads]
            self._apply_gradients(grads, variables)
            for v in variables:
                if getattr(v, "constraint", None) is not None:
                    v.data[...] = _to_array(v.constraint(v))
        self._iterations.data += 1
        # A call that passed every check with the plain elementwise update primes the fast path
        # for the next call on these same variables.
        self._fast_variables = tuple(variables) if self._plain_update() and type(self)._plain_class() else None
        # apply(grads) without variables means the built list, in its order: fast only if it is that
        built = self._trainable_variables
        self._fast_all = len(variables) == len(built) and all(a is b for a, b in zip(variables, built))

    def _plain_update(self):
        """No loss scaling, clipping, weight decay, gradient accumulation or moving average now
        (checked at every call: these attributes may be set after construction)."""
        return (self.loss_scale_factor is None and self.weight_decay is None and not self.clipnorm
                and not self.global_clipnorm and not self.clipvalue and not self.gradient_accumulation_steps
                and not self.use_ema)

    @classmethod
    def _plain_class(cls):
        """Whether the class runs the built-in elementwise rule through the base class's update chain
        (a subclass overriding any of its hooks keeps the general path)."""
        base = Optimizer
        return cls._elementwise and all(getattr(cls, name) is getattr(base, name) for name in (
            "apply", "_as_gradient", "_apply_gradients", "_clip_weight_decay_update", "_clip_gradients",
            "_apply_weight_decay", "_backend_update_step", "update_step", "_current_learning_rate"))

    def _apply_fast(self, grads, trainable_variables):
        """The common step, with the general path's results bit for bit: the same variables as the
        last call that passed every check (by identity), each gradient a NumPy array of its
        variable's shape and dtype, no constraint, nothing of ``_plain_update`` set. That skips
        re-validating the variables and the wrapping of each step; anything else returns False
        and apply() takes the general path, whose checks raise or warn as ever."""
        known = self._fast_variables
        if trainable_variables is None:
            if not self._fast_all:
                return False
            variables = known
        else:
            variables = trainable_variables
        if (type(grads) is not list and type(grads) is not tuple) or len(grads) != len(known) \
                or (type(variables) is not list and type(variables) is not tuple) or len(variables) != len(known) \
                or not self._plain_update():
            return False
        for g, v, k in zip(grads, variables, known):
            if v is not k or type(g) is not np.ndarray:
                return False
            data = v.data
            if g.shape != data.shape or g.dtype != data.dtype or getattr(v, "constraint", None) is not None:
                return False
        fused.run(self, grads, known, self._step_learning_rate())
        it = self._iterations.data
        it[()] = it.item() + 1  # the same count as `+= 1`, without a ufunc call (0.06 us against 0.9)
        return True

    def _as_gradient(self, grad, variable):
        g = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
        if g.shape != variable.shape:
            raise ValueError(
                f"{self.name}: the gradient for variable {getattr(variable, 'path', variable.name)!r} has shape "
                f"{g.shape}, expected the variable's shape {variable.shape}"
            )
        return g.astype(variable.dtype, copy=False)

    def _apply_gradients(self, grads, variables):
        steps = self.gradient_accumulation_steps
        if not steps:
            self._clip_weight_decay_update(grads, variables)
        else:
            accumulators = [self._accumulated_gradients[self._index[id(v)]].data for v in variables]
            if (int(self._iterations.data) + 1) % steps == 0:
                grads = [(g + a) / a.dtype.type(steps) for g, a in zip(grads, accumulators)]
                self._clip_weight_decay_update(grads, variables)
                for a in self._accumulated_gradients:
                    a.data[...] = 0
            else:
                for g, a in zip(grads, accumulators):
                    a += g
        if self.use_ema:
            self._update_moving_averages()

    def _clip_weight_decay_update(self, grads, variables):
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(variables)
        self._backend_update_step(grads, variables, self._current_learning_rate())

    # Elementwise update rules set this and write ``_step_coefficients`` and ``_update_arrays``
    # instead of ``update_step``: glassnet.optimizers.fused then runs them fused over the small
    # variables and in place, by slices, over the big ones.
    _elementwise = False
    # Variables of at most this many elements join the fused flat update. Per variable, an
    # update costs ~1 us per NumPy call; fused, it costs three more passes (gather, concatenate,
    # scatter). Adam (12 passes) breaks even near 12 K elements, SGD with momentum near 4 K.
    _fuse_max_size = 8192

    def _backend_update_step(self, grads, variables, learning_rate):
        if self._elementwise and type(self).update_step is Optimizer.update_step:
            fused.run(self, grads, variables, learning_rate)
            return
        for g, v in zip(grads, variables):  # a subclass's own update_step, Keras' hook
            self.update_step(g, v, v.dtype.type(learning_rate))

    def assign(self, variable, value):
        """variable <- value, in place (Keras' hook for custom update_step code)."""
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        variable.assign_sub(value)

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable.data`` in place from ``gradient`` (an array of its dtype).

        Custom optimizers override this (Keras' hook); the built-in elementwise ones run their
        ``_update_arrays`` on this one variable."""
        if not self._elementwise:
            raise NotImplementedError(
                f"{type(self).__name__} must implement update_step(gradient, variable, learning_rate)"
            )
        f = variable.dtype.type
        i = self._get_variable_index(variable)
        self._update_arrays(variable.data, gradient, [s[i].data for s in self._slot_lists],
                            self._step_coefficients(f(learning_rate), f))

    def _step_coefficients(self, learning_rate, f):
        """The scalars of this step's update (scalar type ``f``), computed once for all variables."""
        raise NotImplementedError

    def _compiled_update(self, rules):
        """``_update_arrays`` compiled (glassnet.compiled.update_rules, bit for bit the same), as
        ``run(params, grad, offsets, slots, coefficients)`` over tuples of flat arrays, or None
        where there is none (or a subclass changed the rule)."""
        return None

    def _update_arrays(self, w, g, slots, coefficients):
        """The elementwise rule in place on arrays: ``w`` (a parameter or a slice of one), its
        gradient ``g``, its slot arrays in ``_slot_lists`` order, ``_step_coefficients``' scalars."""
        raise NotImplementedError

    def _clip_gradients(self, grads):
        if self.clipnorm:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for these variables, or those whose name contains one of ``var_names``."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None and self._exclude_pattern.search(variable.name or ""))

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        lr = self._current_learning_rate()
        for v in variables:
            if self._use_weight_decay(v):
                f = v.dtype.type
                v.data *= f(1) - f(self.weight_decay) * f(lr)

    def _update_moving_averages(self):
        step = self._step()
        momentum = self.ema_momentum if step != 0 else 0.0
        for var, average in zip(self._trainable_variables, self._model_variables_moving_average):
            f = var.dtype.type
            average.data *= f(momentum)
            average.data += (f(1) - f(momentum)) * var.data
        if self.ema_overwrite_frequency and (step + 1) % self.ema_overwrite_frequency == 0:
            self.finalize_variable_values(self._trainable_variables)

    def finalize_variable_values(self, var_list):
        """With ``use_ema``, overwrite the model variables with their moving averages."""
        if self.use_ema:
            for var, average in zip(var_list, self._model_variables_moving_average):
                var.data[...] = average.data

    # ---- config ------------------------------------------------------------------------------
    def get_config(self):
        """Keras' config keys; a schedule is stored serialized, a float learning rate as a float."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            learning_rate = _schedules.serialize(lr)
        else:
            if not isinstance(lr, Variable):
                warnings.warn(f"{self.name}: a callable learning rate is saved as its current value", stacklevel=2)
            learning_rate = float(self._current_learning_rate())
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self):
        lr = self._learning_rate
        lr = f"{self.learning_rate:g}" if isinstance(lr, Variable) else repr(lr)
        return f"<{type(self).__name__} name={self.name}, learning_rate={lr}, built={self.built}>"


def _clip_by_norm(g, clipnorm):
    """g * clipnorm / max(||g||, clipnorm): rescale g if its L2 norm exceeds clipnorm."""
    f = g.dtype.type
    norm = np.sqrt(np.sum(np.square(g)))
    return g * f(clipnorm) / np.maximum(norm, f(clipnorm))


def _clip_by_global_norm(grads, clipnorm):
    """Every g times clipnorm / max(global norm, clipnorm); a non-finite norm makes them NaN, as Keras."""
    f = grads[0].dtype.type
    norm = np.sqrt(np.sum(np.stack([np.sum(np.square(g)) for g in grads])))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = f(clipnorm) * np.minimum(f(1) / norm, f(1.0 / clipnorm)) + (norm - norm)
    return [g * g.dtype.type(scale) for g in grads]
