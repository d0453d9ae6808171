"""Which models a recorded training step may be replayed for, and how a trace notices change.

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

from glassnet import activations, ops
from glassnet.layers import (
    Activation, Add, Average, AveragePooling1D, AveragePooling2D, Concatenate, Conv1D, Conv2D, Dense,
    Dropout, ELU, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, InputLayer, LeakyReLU, MaxPooling1D, MaxPooling2D, Maximum, Minimum, Multiply,
    Permute, ReLU, Reshape, SpatialDropout1D, SpatialDropout2D, Subtract,
)
from glassnet.models.functional import Functional
from glassnet.models.sequential import Sequential
from glassnet.tensor import Tensor

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
CONTAINERS = (Sequential, Functional)

# Attributes that Layer.__call__ itself rewrites on every eager call (replay does not call
# it): left out of the snapshot of each layer's attributes that a trace is checked against.
_BOOKKEEPING = frozenset({"_output_shape", "_checked_shape", "_activity_losses", "_inbound_nodes",
                          "_build_input_shape", "built"})


def snapshot(layer):
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
    if type(model) not in CONTAINERS:
        return f"{type(model).__name__} is not exactly a Sequential or functional Model"
    for layer in model._layers:
        if type(layer) in CONTAINERS:
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


def containers(model):
    out = [model]
    for layer in model._layers:
        if type(layer) in CONTAINERS:
            out += containers(layer)
    return out
