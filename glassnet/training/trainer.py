"""compile / fit / evaluate / predict and the *_on_batch methods, Keras 3's semantics.

One training step: forward with training=True, total loss (compiled loss plus the layers'
regularisation losses), backward, optimizer update; metrics see the predictions. Nothing
in ``predict`` records a graph. A model may override ``train_step(data)`` /
``test_step(data)`` as in Keras; the loop then calls it and uses the logs it returns.
"""
import math
import sys
import time

import numpy as np

from glassnet import allocator, blas, compiled, debug, parallel
from glassnet import optimizers as optimizers_mod
from glassnet import random as gn_random
from glassnet.autograd import no_grad
from glassnet.callbacks.base import CallbackList
from glassnet.metrics import Mean
from glassnet.tensor import Tensor
from glassnet.training import data_adapter, replay
from glassnet.training.compile_utils import CompiledLoss, CompiledMetrics


def _output_names(model):
    outputs = getattr(model, "outputs", None)
    if outputs and len(outputs) > 1:
        return [t.node.layer.name for t in outputs]
    return ["output"]


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if hasattr(sys.stdout, "isatty") and sys.stdout.isatty() else 2
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or \"auto\", received {verbose!r}")
    return verbose


def compile(model, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
            run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
    """Configure training: optimizer, loss(es) and metrics (strings or objects).

    ``jit_compile`` ("auto", the Keras default, or True): from the second step with the same
    input shapes, ``fit`` and ``train_on_batch`` replay the ops recorded in the first one
    instead of calling the layers again, as Keras runs its compiled train function
    (glassnet.training.replay; a 2-16-16-1 net: 129 -> 95 us a step). Results are
    identical bit for bit, or equal to float rounding where the replay runs big convolutions
    in batch blocks on both cores or, with numba installed, compiles a hot small Dense net's
    step (jit_compile=True: from the first replay). It applies only where it is safe by construction: Sequential and
    functional models whose layers are all of types whose call is made of ops alone (Dense,
    Conv1D/2D, pooling, Dropout, Flatten, Reshape, merges, ...), and "auto" turns it on for
    them; any other model runs eagerly. A changed model (a layer frozen, added or given another
    attribute, another optimizer) is recorded again. ``jit_compile=False`` or
    ``run_eagerly=True`` runs every step eagerly.
    """
    if jit_compile not in (True, False, "auto"):
        raise ValueError(f'compile: jit_compile must be True, False or "auto", received {jit_compile!r}')
    model.optimizer = optimizers_mod.get(optimizer)
    names = _output_names(model)
    model._compile_config = dict(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                                 weighted_metrics=weighted_metrics)
    model.loss = loss
    model._compiled_loss = CompiledLoss(loss, loss_weights, names) if loss is not None else None
    model._compiled_metrics = CompiledMetrics(metrics, weighted_metrics, loss, names)
    model._loss_tracker = Mean(name="loss")
    model.run_eagerly = bool(run_eagerly)
    model.jit_compile = jit_compile
    model._step_cache = replay.StepCache()
    model.compiled = True
    model.stop_training = False
    model.history = None
    allocator.tune()  # training re-allocates the same big arrays every step: keep their pages


def _require_compiled(model, what):
    if not getattr(model, "compiled", False):
        raise RuntimeError(f'{what}: model "{model.name}" must be compiled first: call model.compile(optimizer=..., loss=...)')


def compute_loss(model, x=None, y=None, y_pred=None, sample_weight=None, training=True, regularization_losses=None):
    """Total loss of a batch: the compiled loss plus the regularisation losses
    (``model.losses`` unless the caller already has them)."""
    if model._compiled_loss is None:
        raise ValueError(f'model "{model.name}" was compiled without a loss; pass loss= to compile')
    total, _ = model._compiled_loss(y, y_pred, sample_weight)
    for term in model.losses if regularization_losses is None else regularization_losses:
        total = total + term
    return total


def train_step(model, data):
    """One training step, eager or replayed (glassnet.training.replay: same results)."""
    cache = getattr(model, "_step_cache", None)
    runner = cache.runner(model, data[0]) if cache is not None else replay.EAGER
    eager = runner is replay.EAGER and cache is not None
    if runner.hold_blas or (eager and cache.eager_hold):
        # its big convolutions and poolings run in batch blocks on glassnet's threads (ops/conv.py)
        with blas.single_threaded():
            return _train_step(model, data, runner)
    mark = parallel.wanted()
    logs = _train_step(model, data, runner)
    if eager:  # an eager step whose ops wanted blocks: the next eager steps hold BLAS
        cache.eager_hold = parallel.wanted() != mark
    return logs


def _train_step(model, data, runner):
    x, y, sample_weight = data
    start = time.perf_counter()
    if runner.compiled is not None:  # a hot small Dense net: one compiled call (compiled_step.py)
        done = runner.compiled.run(model, x, y, sample_weight)
        if done is not None:
            return _update_metrics(model, done[0], y, done[1], sample_weight, x)
    trainable = runner.trainable_weights(model)
    check = getattr(model, "_check_numerics", True) and debug.check_numerics_enabled()
    rng_state = gn_random.get_state() if check and runner.uses_rng else None
    for v in trainable:
        v.grad = None
    y_pred = runner.forward(model, x)
    loss = compute_loss(model, x, y, y_pred, sample_weight, regularization_losses=runner.losses(model, trainable))
    if check and not math.isfinite(float(loss.data)):
        _diagnose(model, data, rng_state, "the loss")
    runner.backward(loss, y_pred)
    grads = [v.grad for v in trainable]
    if check and not debug.gradients_finite(grads):
        _diagnose(model, data, rng_state, "a gradient")
    model.optimizer.apply(grads, trainable)
    compiled.add_training_time(time.perf_counter() - start)  # what makes training hot (glassnet.compiled)
    return _update_metrics(model, float(loss.data), y, y_pred, sample_weight, x)


def _diagnose(model, data, rng_state, what):
    """Re-run a step whose loss or gradients went non-finite with a check after every op;
    raises debug.NonFiniteError naming the first op and layer (weights are untouched)."""
    x, y, sample_weight = data
    bad = [name for name, arr in (("x", x), ("y", y)) if arr is not None
           for a in data_adapter._flat(arr) if getattr(a, "dtype", None) is not None and a.dtype.kind == "f" and not np.isfinite(a).all()]
    if bad:
        raise debug.NonFiniteError(f"{what} became non-finite because the batch's {' and '.join(bad)} contain NaN or inf; clean the data")
    trainable = model.trainable_weights
    if rng_state is not None:  # None: the step draws nothing from glassnet's generator
        gn_random.set_state(rng_state)
    with debug.detect_anomaly():
        for v in trainable:
            v.grad = None
        y_pred = model(x, training=True)
        loss = compute_loss(model, x, y, y_pred, sample_weight)
        loss.backward()
    raise debug.NonFiniteError(
        f"{what} became non-finite, but re-running the step with a check after every op found no "
        f"non-finite value (the step may depend on randomness outside glassnet's generator)")


def test_step(model, data):
    x, y, sample_weight = data
    with no_grad():
        y_pred = model(x, training=False)
        loss = compute_loss(model, x, y, y_pred, sample_weight)
    return _update_metrics(model, float(loss.data), y, y_pred, sample_weight, x)


def _num_samples(x):
    """Samples in ``x`` (arrays, lists, Tensors, or structures of them), without converting it."""
    return len(data_adapter._flat(x)[0])


def _batch_size(x):
    first = data_adapter._flat(x)[0]
    return first.shape[0]


def _update_metrics(model, loss_value, y, y_pred, sample_weight, x):
    _track_loss(model._loss_tracker, loss_value, _batch_size(x))
    if y is not None:
        model._compiled_metrics.update(y, y_pred, sample_weight)
    return get_metrics_result(model)


def _track_loss(tracker, value, n):
    """``tracker.update_state(value, sample_weight=n)``; for the Mean that compile makes, as
    the two float additions it amounts to: 0.8 us instead of 11.5 us of array handling a step
    (tests/training check that both give the same state bit for bit)."""
    if type(tracker) is not Mean:
        tracker.update_state(value, sample_weight=n)
        return
    total, count = tracker.total.data, tracker.count.data
    f = total.dtype.type
    # on scalars, then stored: the same float32 sums as an in-place add, 1.4 us less
    total[()] = total[()] + f(value) * f(n)
    count[()] = count[()] + count.dtype.type(n)


def get_metrics_result(model):
    logs = model._compiled_metrics.results()
    tracker = model._loss_tracker
    if type(tracker) is Mean:  # Mean.result() (5.8 us): total / count, 0 when count is 0
        count = tracker.count.data[()]
        logs["loss"] = float(tracker.total.data[()] / count) if count != 0 else 0.0
    else:
        logs["loss"] = float(tracker.result())
    return logs


def reset_metrics(model):
    """Reset the compiled metrics and everything in ``model.metrics`` (a model with a custom
    train_step lists its own trackers there), as Keras 3 does at each epoch."""
    model._loss_tracker.reset_state()
    model._compiled_metrics.reset()
    for metric in model.metrics:
        metric.reset_state()


def _step_fn(model, name):
    """The model's own train_step/test_step if it overrides Keras' hook, else ours."""
    custom = getattr(type(model), name, None)
    if custom is not None:
        def run(data):
            x, y, sw = data
            return custom(model, x if y is None and sw is None else (x, y) if sw is None else (x, y, sw))
        return run
    return lambda data: (train_step if name == "train_step" else test_step)(model, data)


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
    """Train for ``epochs`` epochs; returns the History callback."""
    _require_compiled(model, "fit")
    verbose = _resolve_verbose(verbose)
    data = data_adapter.adapt(x, y, sample_weight, batch_size, shuffle, class_weight, steps_per_epoch)
    val = None
    if validation_split:
        if validation_data is not None:
            raise ValueError("fit: give validation_split or validation_data, not both")
        if not isinstance(data, data_adapter.ArrayData):
            raise ValueError("fit: validation_split needs array data; pass validation_data for generators")
        data, val = data.split(validation_split)
    elif validation_data is not None:
        val = validation_data
    if not isinstance(val, (tuple, list)) and val is not None:
        val = data_adapter.adapt(val, steps=validation_steps)
    elif val is not None:
        if len(val) not in (2, 3):
            raise ValueError(f"fit: validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), received {len(val)} items")
        val = data_adapter.adapt(val[0], val[1], val[2] if len(val) == 3 else None,
                                 validation_batch_size or batch_size, steps=validation_steps)

    step = _step_fn(model, "train_step")
    fit_args = dict(x=x, y=y, batch_size=batch_size, validation_data=validation_data,
                    validation_split=validation_split, shuffle=shuffle, initial_epoch=initial_epoch)
    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=epochs, steps=data.steps, batch_size=batch_size, fit_args=fit_args)
    # with TerminateOnNaN the user asked for Keras' behaviour: stop quietly, do not raise
    model._check_numerics = not any(type(cb).__name__ == "TerminateOnNaN" for cb in cbs.callbacks)
    model.stop_training = False
    cbs.on_train_begin()
    # a callback (BackupAndRestore) may ask to resume at a later epoch; consumed once
    initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch
    model._initial_epoch = None
    logs = epoch_logs = {}
    for epoch in range(initial_epoch, epochs):
        reset_metrics(model)
        cbs.on_epoch_begin(epoch)
        for i, batch in enumerate(data.batches(gn_random.generator() if shuffle else None)):
            cbs.on_train_batch_begin(i)
            try:
                logs = step(batch)
            except debug.NonFiniteError as e:
                e.args = (f"{e.args[0]}\nwhere: epoch {epoch + 1}, batch {i} (0-based) of this fit",)
                e.epoch, e.batch = epoch, i
                raise
            cbs.on_train_batch_end(i, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if val is not None and (epoch + 1) % validation_freq == 0:
            # Keras evaluates with fit's own callbacks, so on_test_* hooks fire during fit too
            val_logs = _evaluate_source(model, val, callback_list=cbs)
            epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)
    return model.history


def _evaluate_source(model, source, callbacks=None, verbose=0, callback_list=None):
    reset_metrics(model)
    step = _step_fn(model, "test_step")
    cbs = callback_list or CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                                        epochs=1, steps=source.steps, mode="test")
    cbs.on_test_begin()
    logs = {}
    for i, batch in enumerate(source.batches()):
        cbs.on_test_batch_begin(i)
        logs = step(batch)
        cbs.on_test_batch_end(i, logs)
    cbs.on_test_end(logs)
    return logs


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
             callbacks=None, return_dict=False):
    """Loss and metrics on the given data (no weight changes)."""
    _require_compiled(model, "evaluate")
    verbose = _resolve_verbose(verbose)
    source = data_adapter.adapt(x, y, sample_weight, batch_size, False, steps=steps)
    logs = _evaluate_source(model, source, callbacks, verbose)
    return _logs_out(logs, return_dict)


def _logs_out(logs, return_dict):
    if return_dict:
        return logs
    if len(logs) == 1:  # the loss alone
        return logs["loss"]
    values = [logs["loss"]] + [v for k, v in logs.items() if k != "loss"]
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    """Outputs for ``x`` in batches, as NumPy arrays; records no graph."""
    verbose = _resolve_verbose(verbose)
    allocator.tune()
    source = data_adapter.adapt(x, None, None, batch_size, False, steps=steps)
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                       steps=source.steps, mode="predict")
    cbs.on_predict_begin()
    outs = []
    chunk = _inference_chunk(model)
    # once a piece's convolutions wanted batch blocks, the next pieces (and later calls) run them
    # so, with BLAS held at one thread (ops/conv.py)
    hold = getattr(model, "_inference_hold", False)
    start = time.perf_counter()
    with no_grad():
        for i, (xb, _, _) in enumerate(source.batches()):
            cbs.on_predict_batch_begin(i)
            for part in _split_batch(xb, chunk):
                if hold:
                    with blas.single_threaded():
                        out = model(part, training=False)
                else:
                    mark = parallel.wanted()
                    out = model(part, training=False)
                    hold = model._inference_hold = parallel.wanted() != mark
                outs.append(data_adapter._map(lambda t: t.data if isinstance(t, Tensor) else np.asarray(t), out))
            cbs.on_predict_batch_end(i, {})
    compiled.add_training_time(time.perf_counter() - start)  # big predictions make the process hot too
    cbs.on_predict_end()
    if not outs:
        raise ValueError("predict: no batches were produced from the input")
    return _concat(outs)


# Inference runs a batch in pieces whose largest activation stays near this many values
# (4 MB of float32): each layer's passes over it (bias, activation, pooling) then run from
# cache. Outputs are unchanged (inference is per sample). keras-io convnet, predict at batch
# 1024: pieces of 4 M values were 1.8x faster than whole batches, with ~250 MB less peak
# memory (benchmarks/PROFILE_NOTES.md); pieces of 1 M are 1.15-1.3x faster again (paired, 1
# and 2 threads; 0.25 M is slower: the GEMMs get too short). The mlp is not split at all.
_INFERENCE_ACTIVATION_BUDGET = 1_000_000


def _inference_chunk(model):
    """Samples per piece, from the model's largest per-sample layer output (None: no split)."""
    largest = 0
    for layer in getattr(model, "layers", []):
        shape = layer._output_shape
        if isinstance(shape, tuple) and shape and all(isinstance(n, int) for n in shape[1:]):
            largest = max(largest, int(np.prod(shape[1:])))
    if not largest:
        return None
    return max(1, _INFERENCE_ACTIVATION_BUDGET // largest)


def _split_batch(xb, chunk):
    n = data_adapter._flat(xb)[0].shape[0]
    if chunk is None or n <= chunk:
        yield xb
        return
    for start in range(0, n, chunk):
        yield data_adapter._map(lambda a: a[start:start + chunk], xb)


def _concat(outs):
    first = outs[0]
    if isinstance(first, dict):
        return {k: _concat([o[k] for o in outs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([o[i] for o in outs]) for i in range(len(first)))
    return np.concatenate(outs, axis=0)


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
    """One training step on one batch; metrics accumulate until reset_metrics()."""
    _require_compiled(model, "train_on_batch")
    x, y, sample_weight, _ = data_adapter.prepare_arrays(x, y, sample_weight, class_weight)
    if getattr(type(model), "train_step", None) is None:  # ours, called directly: no closure per call
        logs = train_step(model, (x, y, sample_weight))
    else:
        logs = _step_fn(model, "train_step")((x, y, sample_weight))
    return _logs_out(logs, return_dict)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    """Loss and metrics on one batch, without updating weights."""
    _require_compiled(model, "test_on_batch")
    data = data_adapter.ArrayData(x, y, sample_weight, batch_size=_num_samples(x))
    logs = _step_fn(model, "test_step")(next(data.batches()))
    return _logs_out(logs, return_dict)


def predict_on_batch(model, x):
    """Outputs for one batch, as NumPy arrays."""
    with no_grad():
        out = model(data_adapter._map(data_adapter._as_array, x), training=False)
    return data_adapter._map(lambda t: t.data if isinstance(t, Tensor) else t, out)
