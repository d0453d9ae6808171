"""Trace and replay of the training step: what ``compile(jit_compile=...)`` turns on.

Keras compiles its train step into a graph on the first batch (tf.function / XLA) and runs
that graph afterwards. glassnet does the same in plain Python: the first train step with a
given input signature runs eagerly and records the model's forward pass op by op (each Op
class, its keyword arguments, and where each input array came from: the batch, a model
variable, an earlier op, a Python constant) and the order in which backward visited those
ops. Later steps with the same signature re-run just the op forwards on plain arrays and
then their backwards in the recorded order, adding into ``variable.grad`` exactly as
``autograd.backward`` does. That skips Layer.__call__, Tensor creation, graph building and
the topological sort, and it frees each activation that no backward needs as soon as the
forward ends (the eager graph holds every op's inputs until backward is done). Measured
(jit_compile=False against "auto", one process each, paired rounds, 1 BLAS thread): the
tiny benchmark net (2-16-16-1, batch 32) 129 -> 95 us a step, the keras-io MNIST convnet
(batch 128) 54.8 -> 50.1 ms, the 784-512-512-10 mlp 5.05 -> 5.02 ms (its GEMMs dominate).

The loss, the regularisation terms, the finite checks, the optimizer update and the metrics
run as in the eager step, on the replayed output: a loss computes constants from y in
Python (casts, rank alignment, label checks, sample weights) that a trace would freeze, and
this way every check it makes still happens. The same ops on the same arrays in the same
order give results identical bit for bit to the eager step (tests/training/test_replay.py),
with two exceptions that agree to float rounding: a step whose convolutions or poolings are
big enough to run in batch blocks holds NumPy's BLAS at one thread and runs them so
(ops/conv.py; test_replay_blocks.py), and a hot small Dense net's step may run compiled
(compiled_step.py).

When it is safe to replay, and when a trace goes stale: replay_safety.py.
"""
import warnings

import numpy as np

from glassnet import autograd, compiled
from glassnet import random as gn_random
from glassnet.tensor import Tensor
from glassnet.training import compiled_step
from glassnet.training.data_adapter import _flat, _map
from glassnet.training.replay_safety import CONTAINERS, containers, model_blocker, snapshot
from glassnet.variables import Variable


def signature(x):
    """A hashable key of the batch inputs' structure, shapes and dtypes (None: not arrays)."""
    if isinstance(x, np.ndarray):
        return x.shape, x.dtype
    if isinstance(x, dict):
        parts = tuple((k, signature(v)) for k, v in x.items())
    elif isinstance(x, (list, tuple)):
        parts = tuple(signature(v) for v in x)
    else:
        return None
    return None if any(p is None for p in parts) else (type(x), parts)


# ---- the three ways to run a step's forward and backward ---------------------------------
class EagerStep:
    """The plain step: the model called as usual, backward through the whole graph."""

    uses_rng = True  # a re-run of the step (non-finite diagnosis) must restore the RNG
    compiled = None  # the compiled whole step, for a hot Trace of a small Dense net
    hold_blas = False  # whether the step holds NumPy's BLAS at one thread (see Trace.build)

    def trainable_weights(self, model):
        return model.trainable_weights

    def losses(self, model, trainable_weights):
        """``model.losses``, from the trainable weights at hand."""
        return model._losses_from(trainable_weights)

    def forward(self, model, x):
        return model(x, training=True)

    def backward(self, loss, y_pred):
        loss.backward(retain_graph=False)  # the step's graph is private: free it as backward goes


EAGER = EagerStep()


class RecordingStep(EagerStep):
    """An eager step that also records its forward ops and backward order into a Trace."""

    def __init__(self, cache, key):
        self.cache, self.key = cache, key
        self.entries = []  # (op, input tensors, kwargs, output tensor), in forward order
        self.order = []  # ops in the order backward ran them

    def forward(self, model, x):
        self.model = model
        self.inputs = _map(model._autocast, x)  # what Layer.__call__ would make of x, kept to identify it
        rng_before = gn_random.get_state()
        autograd.tracers.append(self._trace)
        try:
            y_pred = model(self.inputs, training=True)
        finally:
            autograd.tracers.remove(self._trace)
        # a forward that drew nothing from the global generator draws nothing when replayed:
        # its steps need not save the generator's state for a non-finite diagnosis
        self.rng_changed = rng_before != gn_random.get_state()
        self.outputs = y_pred
        return y_pred

    wants_blocks = False  # an op asked for batch blocks (read at forward: backward clears ops)

    def _trace(self, op, inputs, kwargs, result):
        self.entries.append((op, inputs, kwargs, result))
        if getattr(op, "wants_blocks", False):
            self.wants_blocks = True

    def _order(self, op, grads):
        self.order.append(op)

    def backward(self, loss, y_pred):
        autograd.backward_hooks.append(self._order)
        try:
            loss.backward(retain_graph=False)
        finally:
            autograd.backward_hooks.remove(self._order)
        self.cache.store(self.key, Trace.build(self), self.model)


def _array_argument(kwargs):
    """The name of a keyword argument holding an array (or a list of them), else None."""
    for name, value in kwargs.items():
        if isinstance(value, (np.ndarray, Tensor)) or (
                isinstance(value, (list, tuple)) and any(isinstance(v, (np.ndarray, Tensor)) for v in value)):
            return name
    return None


class Trace:
    """A recorded forward and backward of one model for one input signature, and its replay.

    At replay, ``values`` holds the arrays in the order the plans index them: the batch
    inputs, the variables' current data, the constants, then each op's output."""

    _ops = _leaves = None  # the live ops and output leaves of the step being replayed
    replays = 0  # steps replayed from this trace
    compiled = None  # its compiled_step.CompiledDenseStep, once hot (see count_replay)
    compiled_reason = None  # or why it has none

    @classmethod
    def build(cls, rec):
        """The Trace of a RecordingStep, or a sentence saying why it cannot be replayed."""
        t = cls()
        reason = t._plan_forward(rec) or t._plan_outputs(rec) or t._plan_backward(rec)
        if reason is not None:
            return reason
        model = rec.model
        t.uses_rng = rec.rng_changed
        t.trainable = model.trainable_weights
        t.weights = model.weights
        t.flags = [w.requires_grad for w in t.weights]
        t.containers = [(c, len(c._layers)) for c in containers(model)]
        t.snapshots = [snapshot(layer) for c, _ in t.containers for layer in c._layers
                       if type(layer) not in CONTAINERS]
        t.optimizer, t.loss = model.optimizer, model._compiled_loss
        # ops that run in batch blocks when BLAS is held at one thread (ops.conv.batch_blocks):
        # the replayed step holds it, so that no multi-threaded product wakes OpenBLAS's workers
        t.hold_blas = rec.wants_blocks
        return t

    def _plan_forward(self, rec):
        """Number every array the ops read (``self.slot``: id of a tensor -> index into
        values) and list each op with its kwargs and input indices; None, or why not."""
        flat_inputs = _flat(rec.inputs)
        self.input_dtypes = [a.data.dtype for a in flat_inputs]
        slot = {id(a): i for i, a in enumerate(flat_inputs)}
        self.variables, self.constants, const_tensors, pos = [], [], [], {}
        for k, (op, inputs, kwargs, result) in enumerate(rec.entries):
            name = _array_argument(kwargs)
            if name is not None:
                return f'op "{op.name}" received the array argument {name}= (possibly computed from the data)'
            for a in inputs:
                if id(a) in slot or id(a) in pos:
                    continue
                if isinstance(a, Variable):
                    self.variables.append(a)
                elif a.data.ndim == 0 and not a.requires_grad:  # a Python number the layer used
                    const_tensors.append(a)
                    self.constants.append(np.array(a.data))
                else:
                    return (f'op "{op.name}" received an array of shape {a.data.shape} made outside the ops '
                            f"(possibly from the data)")
                slot[id(a)] = None  # numbered below, after the inputs: variables, then constants
            pos[id(result)] = k
        for i, a in enumerate(self.variables + const_tensors):
            slot[id(a)] = len(flat_inputs) + i
        self.n_values = len(flat_inputs) + len(self.variables) + len(const_tensors)
        for key, k in pos.items():
            slot[key] = self.n_values + k
        self.slot = slot
        self.forward_plan = [(type(op), kwargs, tuple(slot[id(a)] for a in inputs), op.needs)
                             for op, inputs, kwargs, _ in rec.entries]
        return None

    def _plan_outputs(self, rec):
        """Where each model output comes from, and the structure they come in."""
        outputs = _flat(rec.outputs)
        ids = [id(o) for o in outputs]
        produced = {id(e[3]) for e in rec.entries}
        if not outputs or any(not isinstance(o, Tensor) or id(o) not in produced for o in outputs):
            return "a model output is not computed by an op"
        if len(set(ids)) != len(ids) or any(o._keras_mask is not None for o in outputs):
            return "the model outputs repeat a tensor or carry a mask"
        id_set = set(ids)
        if any(id(a) in id_set for e in rec.entries for a in e[1]):
            return "a model output also feeds another layer"  # its gradient would add up in another order
        index = {i: n for n, i in enumerate(ids)}
        self.output_template = _map(lambda o: index[id(o)], rec.outputs)  # the structure, with indices
        self.output_slots = [self.slot[i] for i in ids]
        self.output_grad = [o.requires_grad for o in outputs]
        return None

    def _plan_backward(self, rec):
        """The model's ops in the order backward ran them, each with where its input
        gradients go: (input, to a variable?, index, dtype to cast to)."""
        var_index = {id(v): i for i, v in enumerate(self.variables)}
        model_ops = {id(e[0]): k for k, e in enumerate(rec.entries)}
        self.backward_plan = []
        for op in rec.order:
            k = model_ops.get(id(op))
            if k is None:
                continue  # a loss or regularisation op: those run eagerly every step
            targets = []
            for i, (a, need) in enumerate(zip(op.inputs, op.needs)):
                if not need:
                    continue
                if a._op is not None:
                    targets.append((i, False, self.slot[id(a)], a.data.dtype))
                elif id(a) in var_index:
                    targets.append((i, True, var_index[id(a)], a.data.dtype))
                else:
                    return "a tensor that is neither a weight nor an op output needs a gradient"
            self.backward_plan.append((self.n_values + k, tuple(targets)))
        del self.slot  # it held ids of the recording's tensors only
        return None

    def valid(self, model):
        """Whether ``model`` still matches what was recorded (see the module docstring)."""
        if model.optimizer is not self.optimizer or model._compiled_loss is not self.loss:
            return False
        for c, n in self.containers:  # their other attributes (optimizer, history...) may change
            if len(c._layers) != n or c.activity_regularizer is not None:
                return False
        if [w.requires_grad for w in self.weights] != self.flags:
            return False
        try:
            for layer, getter, values, tensors in self.snapshots:
                d = layer.__dict__
                if getter(d) != values:
                    return False
                for k, v in tensors:
                    if d[k] is not v:
                        return False
        except Exception:  # an attribute deleted, or rebound to something == cannot compare
            return False
        return True

    def count_replay(self, model, x):
        """Count a replay of this trace on batch ``x``, and try the compiled tier: from its first
        replay under jit_compile=True; under "auto", once training is hot (this process's
        training steps took glassnet.compiled.HOT_SECONDS: loading the kernels costs ~0.5 s,
        compiling them the first time on a machine a few seconds; a short run never pays that)."""
        self.replays += 1
        if self.compiled is None and self.compiled_reason is None and (
                model.jit_compile is True or compiled.hot_enough()):
            step = compiled_step.plan(self, model, x)
            if isinstance(step, str):
                self.compiled_reason = step
            else:
                self.compiled = step

    # ---- the replay: the same interface as EagerStep ----------------------------------
    def trainable_weights(self, model):
        return self.trainable

    def losses(self, model, trainable_weights):
        """The weights' regularisation terms (read afresh: ``variable.regularizer`` may be
        set at any time); no layer has an activity regulariser (see valid())."""
        return [w.regularizer(w) for w in trainable_weights if w.regularizer is not None]

    def forward(self, model, x):
        """The recorded ops on this batch's arrays; the outputs as new leaf Tensors (for the
        loss and metrics), which remember the ops' states for backward."""
        values = [a if a.dtype == dt else a.astype(dt) for a, dt in zip(_flat(x), self.input_dtypes)]
        values += [v.data for v in self.variables]
        values += self.constants
        self._ops = live = []
        ndarray = np.ndarray
        for cls, kwargs, sources, needs in self.forward_plan:
            op = cls()
            op.needs = needs
            out = op.forward(*[values[i] for i in sources], **kwargs)
            values.append(out if isinstance(out, ndarray) else np.asarray(out))  # as Tensor._from_op
            live.append(op)
        self._leaves = leaves = []
        for slot, requires_grad in zip(self.output_slots, self.output_grad):
            leaf = Tensor._from_op(values[slot], None)
            leaf.requires_grad = requires_grad
            leaves.append(leaf)
        if type(self.output_template) is int:
            return leaves[0]
        return _map(leaves.__getitem__, self.output_template)

    def backward(self, loss, y_pred):
        """Backward through the loss (a small eager graph ending at the output leaves), then
        the recorded model ops in the order autograd.backward ran them, accumulating exactly
        as it does: into pending gradients of op outputs, and into ``variable.grad``."""
        loss.backward()
        ops_, first = self._ops, self.n_values
        pending = {}
        for slot, leaf in zip(self.output_slots, self._leaves):
            if leaf.grad is not None:
                pending[slot] = leaf.grad
        variables = self.variables
        for slot, targets in self.backward_plan:
            g = pending.pop(slot, None)
            if g is None:
                continue
            k = slot - first
            grads = ops_[k].backward(g)
            ops_[k] = None  # its saved arrays go now, not at the end of the step (peak memory)
            for i, to_variable, index, dtype in targets:
                pg = grads[i]
                if pg is None:
                    continue
                if pg.dtype != dtype:
                    pg = pg.astype(dtype)
                if to_variable:
                    v = variables[index]
                    v.grad = pg if v.grad is None else v.grad + pg
                else:
                    prev = pending.get(index)
                    pending[index] = pg if prev is None else prev + pg
        self._ops = self._leaves = None


class StepCache:
    """One model's traces by input signature, and whether its steps may be replayed at all.

    ``reason`` says why the last step ran eagerly (None when it was replayed); ``recordings``
    counts the steps that recorded a trace."""

    MAX_SIGNATURES = 16

    def __init__(self):
        self.traces = {}
        self.reason = None
        self.recordings = 0
        self.eager_hold = False  # the last eager step's ops wanted batch blocks (trainer.train_step)

    def runner(self, model, x):
        """The EagerStep, RecordingStep or Trace to run this step of ``model`` on batch ``x``."""
        if getattr(model, "run_eagerly", False) or getattr(model, "jit_compile", "auto") is False:
            self.reason = "run_eagerly=True or jit_compile=False"
            return EAGER
        if autograd.forward_hooks or autograd.backward_hooks or autograd.tracers or not autograd.is_grad_enabled():
            self.reason = "autograd hooks are installed or grad mode is off"
            return EAGER
        key = signature(x)
        if key is None:
            self.reason = "the batch inputs are not NumPy arrays"
            return EAGER
        entry = self.traces.get(key)
        if entry is not None:
            trace, valid_for = entry
            if isinstance(trace, Trace):
                if trace.valid(model):
                    self.reason = None
                    trace.count_replay(model, x)
                    return trace
            elif valid_for == (model.optimizer, model._compiled_loss, len(model._layers)):
                self.reason = trace
                return EAGER
            self.traces.clear()  # the model changed: every trace of it is stale
        if not model.built or not all(layer.built for c in containers(model) for layer in c._layers):
            # building runs the layers on placeholder inputs: record from the next step on
            self.reason = "the model is not built yet"
            return EAGER
        blocker = model_blocker(model)
        if blocker is None and model.activity_regularizer is not None:
            blocker = "the model has an activity regulariser"
        if blocker is not None:
            self.store(key, blocker, model)
            self.reason = blocker
            if model.jit_compile is True:  # asked for explicitly: say why it does not happen
                warnings.warn(f'compile(jit_compile=True): model "{model.name}" trains eagerly, since {blocker}',
                              stacklevel=4)
            return EAGER
        self.reason = "recording"
        self.recordings += 1
        return RecordingStep(self, key)

    def store(self, key, trace, model):
        """Keep a Trace for signature ``key``, or the sentence saying why there is none (kept
        while the model has the same optimizer, loss and number of layers)."""
        if len(self.traces) >= self.MAX_SIGNATURES:
            self.traces.clear()
        valid_for = None if isinstance(trace, Trace) else (model.optimizer, model._compiled_loss, len(model._layers))
        self.traces[key] = (trace, valid_for)
