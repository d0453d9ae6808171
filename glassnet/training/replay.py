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
order give results identical bit for bit to the eager step (tests/training/test_replay.py).

Safety: a replayed op sees only what was recorded, so Python code around the ops must not
do anything that changes between steps. Replay is therefore used only when
- the model is exactly a Sequential or functional Model (a subclass may do anything in call
  or train_step), and every layer, nested models included, is of an exact type listed in
  ALLOWED_LAYERS whose call consists of ops alone (no state written, no check on the data,
  no random draw outside an op: Dropout draws inside its op, so replay redraws it), with a
  built-in activation from SAFE_ACTIVATIONS and no activity regulariser;
- every op input came from the batch, a Variable (read afresh each step), an earlier op, or
  a Python scalar; no keyword argument is an array (an array made outside the ops may have
  been computed from the data);
- no autograd hook is installed (anomaly detection must see every op) and grad mode is on.
A recorded trace is dropped, and the next step records again, when the model no longer
matches it: another optimizer or loss, a weight frozen or unfrozen (``requires_grad`` of any
weight), a layer added or removed, any attribute of a layer rebound (``dropout.rate = 0.2``,
``dense.activation = ...``, an activity regulariser set; each step compares a snapshot of
them). Only a mutable attribute changed in place would go unseen, and the allowed layers
keep none that their call reads. ``compile(jit_compile=False)`` or ``run_eagerly=True``
runs every step eagerly.
"""
import operator
import warnings

import numpy as np

from glassnet import activations, autograd, ops
from glassnet import random as gn_random
from glassnet.layers import (
    Activation, Add, Average, AveragePooling1D, AveragePooling2D, Concatenate, Conv1D, Conv2D, Dense,
    Dropout, ELU, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, InputLayer, LeakyReLU, MaxPooling1D, MaxPooling2D, Maximum, Minimum, Multiply,
    Permute, ReLU, Reshape, SpatialDropout1D, SpatialDropout2D, Subtract,
)
from glassnet.models.functional import Functional
from glassnet.models.sequential import Sequential
from glassnet.tensor import Tensor
from glassnet.training.data_adapter import _flat, _map
from glassnet.variables import Variable

# Built-in activations made of ops alone (those computing a mask from x.data in Python, such
# as celu or hard_shrink, are left out: their mask is data the trace would freeze).
SAFE_ACTIVATIONS = tuple(
    [getattr(activations, n) for n in (
        "linear", "relu", "leaky_relu", "relu6", "elu", "selu", "softplus", "softsign", "squareplus",
        "silu", "gelu", "glu", "tanh", "tanh_shrink", "hard_tanh", "sigmoid", "log_sigmoid",
        "exponential", "hard_sigmoid", "hard_silu", "mish", "softmax", "log_softmax")]
    + [ops.relu, ops.sigmoid, ops.tanh, ops.softmax]
)


def _activation_ok(layer):
    act = getattr(layer, "activation", None)
    if act is None or any(act is a for a in SAFE_ACTIVATIONS):
        return None
    return f'its activation {getattr(act, "__name__", act)!r} is not one replay knows to be made of ops alone'


def _always(layer):
    return None


# exact layer type -> check(layer): None when its call is ops alone, else why not
ALLOWED_LAYERS = {
    InputLayer: _always, Dense: _activation_ok, Activation: _activation_ok, Conv1D: _activation_ok,
    Conv2D: _activation_ok, Flatten: _always, Reshape: _always, Permute: _always, Dropout: _always,
    SpatialDropout1D: _always, SpatialDropout2D: _always,
    MaxPooling1D: _always, MaxPooling2D: _always, AveragePooling1D: _always, AveragePooling2D: _always,
    GlobalMaxPooling1D: _always, GlobalMaxPooling2D: _always, GlobalAveragePooling1D: _always,
    GlobalAveragePooling2D: _always, LeakyReLU: _always, ELU: _always,
    ReLU: lambda l: None if l.threshold == 0 else "a nonzero threshold makes its mask in Python",
    Add: _always, Subtract: _always, Multiply: _always, Average: _always, Maximum: _always,
    Minimum: _always, Concatenate: _always,
}
_CONTAINERS = (Sequential, Functional)

# Attributes that Layer.__call__ itself rewrites on every eager call (replay does not call
# it): left out of the snapshot of each layer's attributes that a trace is checked against.
_BOOKKEEPING = frozenset({"_output_shape", "_checked_shape", "_activity_losses", "_inbound_nodes",
                          "_build_input_shape", "built"})


def _snapshot(layer):
    """(layer, getter, values, tensors): the layer's attributes, to check cheaply (0.5 us for a
    Dense) that none was rebound since: a new activation, rate, kernel, ... makes the trace
    stale. Plain values compare with == (a tuple compare, identity first); tensors by identity,
    since the trace holds those very Variables."""
    d = layer.__dict__
    keys = [k for k in d if k not in _BOOKKEEPING and not isinstance(d[k], Tensor)]
    getter = operator.itemgetter(*keys)
    return layer, getter, getter(d), [(k, v) for k, v in d.items() if isinstance(v, Tensor)]


def model_blocker(model):
    """Why ``model``'s step cannot be replayed (a sentence), or None when it can."""
    if type(model) not in _CONTAINERS:
        return f"{type(model).__name__} is not exactly a Sequential or functional Model"
    for layer in model._layers:
        if type(layer) in _CONTAINERS:
            reason = model_blocker(layer)
        elif type(layer) in ALLOWED_LAYERS:
            reason = ALLOWED_LAYERS[type(layer)](layer)
            reason = reason and f'layer "{layer.name}": {reason}'
        else:
            reason = f'layer "{layer.name}" ({type(layer).__name__}) is not one whose call is known to be ops alone'
        if reason is None and layer.activity_regularizer is not None:
            reason = f'layer "{layer.name}" has an activity regulariser (computed in Layer.__call__)'
        if reason is not None:
            return reason
    return None


def _containers(model):
    out = [model]
    for layer in model._layers:
        if type(layer) in _CONTAINERS:
            out += _containers(layer)
    return out


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

    def _trace(self, op, inputs, kwargs, result):
        self.entries.append((op, inputs, kwargs, result))

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
        t.containers = [(c, len(c._layers)) for c in _containers(model)]
        t.snapshots = [_snapshot(layer) for c, _ in t.containers for layer in c._layers
                       if type(layer) not in _CONTAINERS]
        t.optimizer, t.loss = model.optimizer, model._compiled_loss
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
                    return trace
            elif valid_for == (model.optimizer, model._compiled_loss, len(model._layers)):
                self.reason = trace
                return EAGER
            self.traces.clear()  # the model changed: every trace of it is stale
        if not model.built or not all(layer.built for c in _containers(model) for layer in c._layers):
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
