"""The compiled tier of the training step: a small Dense network's whole step in two calls.

A replayed step (replay.py) still makes ~60 NumPy calls for a 2-16-16-1 net, each ~1 us
while the arithmetic of the whole step is ~30 K multiply-adds. When numba is installed
(glassnet.compiled, the ``fast`` extra), a trace of the shape below, replayed once training
is hot (glassnet.compiled.hot_enough; or from its first replay with
``compile(jit_compile=True)``), runs as one compiled call for forward, loss, backward and
finite check, and one for the optimizer's update (tiny benchmark net: ~80 -> ~32 us a step;
benchmarks/PROFILE_NOTES.md).

The shape, checked once from the trace and the model: a chain of Dense layers (fused
matmul + bias + linear / relu / sigmoid / tanh, or a bare matmul) from the one input to the
one output, in float32 or float64, all weights trainable and at most ``MAX_MACS``
multiply-adds a forward pass (the kernels' loops are plain, ~1 multiply-add a cycle: bigger
nets belong to BLAS); mean squared error as
the only loss, reduced over the batch or summed; SGD (with or without momentum) or Adam
without AMSGrad as the optimizer. Checked at each step, since they may change at any time:
no sample weights, a target shaped as the output (or (batch,) for one unit), no weight
regulariser or constraint, and the optimizer's plain update (no clipping, weight decay,
loss scaling, gradient accumulation or EMA).

A step that does not fit, or whose loss or gradients come out non-finite, runs as the
replayed step instead, before anything is updated: its loss checks the target as always
(a NaN label is an error), and its finite checks diagnose the non-finite value. The
gradients are left in each weight's ``.grad`` as an eager step leaves them.
"""
from operator import attrgetter, is_

import numpy as np

from glassnet import compiled
from glassnet.compiled.codes import ACTIVATIONS
from glassnet.losses.base import LossFunctionWrapper
from glassnet.losses.regression import mean_squared_error
from glassnet.ops.fused import MatMulBiasAct
from glassnet.ops.linalg import MatMul
from glassnet.tensor import Tensor

MAX_MACS = 1 << 18  # multiply-adds of one forward pass (the tiny net at batch 32: ~10 K)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_data = attrgetter("data")


def plan(trace, model, x):
    """A CompiledDenseStep for ``trace`` of ``model`` (recorded on batch ``x``), or a sentence
    saying why there is none. numba is imported only for a model that fits."""
    if trace.uses_rng or len(trace.input_dtypes) != 1 or type(trace.output_template) is not int:
        return "the model draws random numbers or has several inputs or outputs"
    dtype = trace.input_dtypes[0]
    if dtype not in _FLOATS or not isinstance(x, np.ndarray) or x.ndim != 2:
        return "the input is not a float32 / float64 matrix"
    layers = _chain(trace)
    if isinstance(layers, str):
        return layers
    variables = trace.variables
    if len(variables) != len(trace.trainable) or {id(v) for v in variables} != {id(v) for v in trace.trainable}:
        return "not every weight of the chain is trainable"
    if any(v.dtype != dtype for v in variables):
        return "the weights' dtype differs from the input's"
    macs = x.shape[0] * sum(variables[k].size for k, _, _ in layers)
    if macs > MAX_MACS:
        return f"the network is too big for the compiled step ({macs} multiply-adds a forward pass)"
    reason = _loss_reason(model._compiled_loss, dtype)
    if reason is not None:
        return reason
    optimizer = model.optimizer
    if optimizer._compiled_update(None) is None:
        return f"the optimizer {type(optimizer).__name__} has no compiled update rule here"
    if not optimizer.built or any(id(v) not in optimizer._index for v in variables):
        return "the optimizer was not built on these weights"
    kernels = compiled.load()
    if kernels is None:
        return compiled.unavailable_reason() or "the compiled kernels are off"
    return CompiledDenseStep(kernels, trace, layers, dtype)


def _chain(trace):
    """[(kernel index, bias index or -1, activation code)] into trace.variables, one per op, or
    why the ops are not a chain of Dense layers from the input to the output."""
    n_inputs = len(trace.input_dtypes)
    first_var, first_op = n_inputs, trace.n_values
    layers = []
    for k, (cls, kwargs, sources, needs) in enumerate(trace.forward_plan):
        if cls is MatMulBiasAct and set(kwargs) == {"act"} and kwargs["act"] in ACTIVATIONS:
            act = ACTIVATIONS[kwargs["act"]]
        elif cls is MatMul and not kwargs and len(sources) == 2:
            act = 0
        else:
            return f'op "{cls.name}" has no compiled form here (only Dense layers do)'
        expected = 0 if k == 0 else first_op + k - 1
        params = sources[1:]
        if sources[0] != expected or not 1 <= len(params) <= 2 \
                or any(not first_var <= s < first_op for s in params) or not all(needs[1:]):
            return "the layers do not form one chain from the input to the output"
        kernel = params[0] - first_var
        bias = params[1] - first_var if len(params) == 2 else -1
        layers.append((kernel, bias, act))
    if not layers or trace.output_slots != [first_op + len(layers) - 1] or trace.forward_plan[0][3][0]:
        return "the layers do not form one chain from the input to the output"
    return layers


def _loss_reason(compiled_loss, dtype):
    losses = compiled_loss.losses if compiled_loss is not None else []
    if len(losses) != 1 or compiled_loss.weights != [1.0]:
        return "the model has several losses or a loss weight"
    loss = losses[0]
    if type(loss).call is not LossFunctionWrapper.call or getattr(loss, "fn", None) is not mean_squared_error \
            or loss._fn_kwargs or loss._fused is None:
        return f"the loss {getattr(loss, 'name', loss)!r} has no compiled form here (mean squared error has)"
    if loss.reduction not in ("sum_over_batch_size", "sum") or loss._dtype not in (None, dtype.name):
        return "the loss's reduction or dtype has no compiled form here"
    return None


class CompiledDenseStep:
    """The compiled step of one trace; ``run`` does a whole training step or returns None."""

    def __init__(self, kernels, trace, layers, dtype):
        self.dense, self.rules = kernels.dense, kernels.update_rules
        self.variables = list(trace.variables)
        self.dtype, self.f = dtype, dtype.type
        self.kernel_at = np.array([k for k, _, _ in layers], np.int64)
        self.bias_at = np.array([b for _, b, _ in layers], np.int64)
        self.acts = np.array([a for _, _, a in layers], np.int64)
        last = self.variables[layers[-1][0]]
        self.units = last.shape[1]
        sizes = [v.size for v in self.variables]
        self.offsets = np.cumsum([0] + sizes[:-1]).astype(np.int64)
        self.bounds = [(int(a), int(a) + n) for a, n in zip(self.offsets, sizes)]
        self.total = sum(sizes)
        self.one = self.f(1)
        self._owners = self._slot_lists = self._arrays = self._flat = None  # see _views

    def _views(self, optimizer):
        """The flat views of the weights and of the optimizer's slots, remade when an array was
        rebound (``v.data = ...``, ``set_weights``); None when one is not contiguous of the dtype."""
        slot_lists = optimizer._slot_lists
        if self._owners is None or self._slot_lists is not slot_lists or len(self._owners) != (
                len(self.variables) * (1 + len(slot_lists))):
            index = optimizer._index
            self._owners = self.variables + [s[index[id(v)]] for s in slot_lists for v in self.variables]
            self._slot_lists, self._arrays = slot_lists, None
        elif all(map(is_, map(_data, self._owners), self._arrays)):
            return self._flat
        arrays = [o.data for o in self._owners]
        if any(type(a) is not np.ndarray or a.dtype != self.dtype or not a.flags.c_contiguous for a in arrays):
            return None
        flat = [a.reshape(-1) for a in arrays]
        n = len(self.variables)
        # tuples (a numba typed list costs ~0.25 s more to load per process and ~2 us a step;
        # a tuple's length is part of its type: each number of weights compiles once per machine)
        self._flat = tuple(tuple(flat[i:i + n]) for i in range(0, len(flat), n))
        self._arrays = arrays
        return self._flat

    def run(self, model, x, y, sample_weight):
        """One training step on (x, y): the loss value and the prediction Tensor, or None when
        this step must run as the replayed one (nothing has been changed then)."""
        if sample_weight is not None or type(y) is not np.ndarray or type(x) is not np.ndarray:
            return None
        rows = x.shape[0]
        out_shape = (rows, self.units)
        if y.shape != out_shape:
            if y.shape != (rows,) or self.units != 1:
                return None
            y = y.reshape(out_shape)
        optimizer = model.optimizer
        update = optimizer._compiled_update(self.rules)
        loss = model._compiled_loss.losses[0]
        if update is None or not optimizer._plain_update() or not type(optimizer)._plain_class() \
                or loss.reduction not in ("sum_over_batch_size", "sum"):
            return None
        for v in self.variables:
            if v.regularizer is not None or v.constraint is not None:
                return None
        views = self._views(optimizer)
        if views is None:
            return None
        f, dtype = self.f, self.dtype
        if x.dtype != dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype)
        if y.dtype != dtype or not y.flags.c_contiguous:
            y = np.ascontiguousarray(y, dtype)
        divisor = None if loss.reduction == "sum" else rows
        scale = 2.0 / self.units
        if divisor is not None:
            scale = scale / divisor
        out = np.empty(out_shape, dtype)
        grad = np.empty(self.total, dtype)
        params = views[0]
        sse, finite = self.dense.dense_mse_grads(x, y, params, self.kernel_at, self.bias_at, self.acts, f(scale),
                                                 self.one, grad, self.offsets, out)
        if not finite:
            return None  # the replayed step checks the target and diagnoses the value
        for v, (a, b) in zip(self.variables, self.bounds):
            v.grad = grad[a:b].reshape(v.shape)
        coefficients = optimizer._step_coefficients(f(optimizer._step_learning_rate()), f)
        update(params, grad, self.offsets, views[1:], coefficients)
        it = optimizer._iterations.data
        it[()] = it.item() + 1
        value = f(sse) / f(self.units)  # as ReducedSquaredError: sum / units / divisor
        if divisor is not None:
            value = value / f(divisor)
        return float(value), Tensor(out)
