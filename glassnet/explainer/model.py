"""Explain a whole model on a small input: every layer's output, in the order computed.

    gn.explain(model, x)                  # each layer: output shape, min / mean / max, cells
    gn.explain(model, x, expand=True)     # and each layer's own explanation below it

Works for Sequential, functional and subclassed models alike: each top-level layer's
``call`` is watched for the duration of one forward pass (inference mode, no graph), then
restored. Also the fallback for any layer without a dedicated explainer.
"""
import numpy as np

from glassnet.autograd import no_grad
from glassnet.explainer.core import Explanation, array_blocks, reject_unknown, summary_text
from glassnet.explainer.render import Section, Table, Text
from glassnet.tensor import Tensor


def _raw(x):
    """x as an array of its own dtype: integer token ids stay integers (Embedding needs them)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _watch(layers, record):
    """Wrap each layer's call to append (layer, inputs, outputs); returns an undo function."""
    wrapped = []
    for layer in layers:
        if "call" in vars(layer):
            continue
        original = layer.call

        def call(*args, __layer=layer, __original=original, **kwargs):
            out = __original(*args, **kwargs)
            record.append((__layer, args[0] if args else None, out))
            return out

        object.__setattr__(layer, "call", call)
        wrapped.append(layer)

    def undo():
        for layer in wrapped:
            object.__delattr__(layer, "call")
    return undo


def _arr(t):
    if isinstance(t, Tensor):
        return t.data
    if isinstance(t, (list, tuple)):
        return [_arr(v) for v in t]
    return np.asarray(t)


def _shape(a):
    if isinstance(a, list):
        return ", ".join(str(np.shape(v)) for v in a)
    return str(np.shape(a))


def explain_model(model, x, opts, expand=False, **kwargs):
    """Run ``model`` on x once and show each layer's output in order."""
    reject_unknown(type(model).__name__, kwargs)
    multi = isinstance(x, dict) or (isinstance(x, (list, tuple)) and any(isinstance(v, (Tensor, np.ndarray)) for v in x))
    x_in = x if multi else _raw(x)
    record = []
    layers = [l for l in model.layers if type(l).__name__ != "InputLayer"]
    undo = _watch(layers, record)
    try:
        with no_grad():
            out = model(x_in, training=False)
    finally:
        undo()
    fmt = opts.fmt
    rows, steps, blocks = [], [], []
    blocks += _input_blocks(x_in, fmt, opts)
    for k, (layer, inp, o) in enumerate(record):
        a, ia = _arr(o), _arr(inp)
        n_params = sum(int(np.prod(w.shape)) for w in layer.weights)
        flat = np.asarray(a).reshape(-1) if not isinstance(a, list) else np.concatenate([np.ravel(v) for v in a])
        stats = (float(flat.min()), float(flat.mean()), float(flat.max())) if flat.size else (None, None, None)
        first = ", ".join(fmt(v) for v in flat[:4]) + (", ..." if flat.size > 4 else "")
        rows.append([str(k), f"{layer.name} ({type(layer).__name__})", _shape(a), str(n_params),
                     *(fmt(s) if s is not None else "" for s in stats), first])
        steps.append({"index": k, "layer": layer.name, "class": type(layer).__name__, "input": ia, "output": a,
                      "shape": np.shape(a) if not isinstance(a, list) else [np.shape(v) for v in a],
                      "params": n_params, "min": stats[0], "mean": stats[1], "max": stats[2]})
    blocks.append(Table(["#", "layer", "output shape", "params", "min", "mean", "max", "first cells"], rows,
                        caption="Each layer's output, in the order computed"))
    for k, (layer, inp, o) in enumerate(record):
        a = _arr(o)
        inner = array_blocks(a[0] if not isinstance(a, list) and np.ndim(a) > 1 and np.shape(a)[0] == 1 else a,
                             "output (sample 0)" if np.ndim(a) > 1 else "output", fmt, opts) \
            if not isinstance(a, list) else [Text(summary_text(v, fmt, f"output {i}")) for i, v in enumerate(a)]
        if expand:
            from glassnet.explainer import explain as _explain
            try:
                sub = _explain(layer, _arr(inp), max_cells=opts.max_cells, max_grid=opts.max_grid,
                               decimals=opts.decimals, truncate=opts.truncate)
                inner = [Text(sub.title)] + sub.blocks
                steps[k]["explanation"] = sub
            except (TypeError, ValueError) as e:
                inner.append(Text(f"(no step-by-step view: {e})"))
        blocks.append(Section(f"{k}. {layer.name} ({type(layer).__name__}) -> {_shape(a)}", inner))
    result = _arr(out)
    title = f'Model "{model.name}": {len(record)} layer calls on input {_shape(x_in)} -> {_shape(result)}'
    return Explanation("model", title, blocks, steps, result=result, data={"input": x_in}, fmt=fmt)


def _input_blocks(x, fmt, opts):
    if isinstance(x, (list, tuple, dict)):
        return [Text(f"{len(x)} inputs")]
    a = np.asarray(x)
    return array_blocks(a[0] if a.ndim > 1 and a.shape[0] == 1 else a, "input", opts.plain, opts)


def explain_layer(layer, x, opts, **kwargs):
    """Any layer: its weights and its output on x (no dedicated step-by-step view)."""
    reject_unknown(type(layer).__name__, kwargs)
    x = _raw(x)
    with no_grad():
        out = layer(x, training=False) if layer._call_has_training else layer(x)
    a = _arr(out)
    blocks = [Text((type(layer).__doc__ or type(layer).__name__).strip().split("\n")[0])]
    blocks += array_blocks(x[0] if x.ndim > 1 and x.shape[0] == 1 else x, "input", opts.plain, opts)
    steps = []
    for w in layer.weights:
        blocks += array_blocks(w.data, f"weight {w.path} {w.shape}", opts.plain, opts)
        steps.append({"weight": w.path, "shape": w.shape, "value": w.data})
    if isinstance(a, list):
        blocks += [Text(summary_text(v, opts.fmt, f"output {i}")) for i, v in enumerate(a)]
    else:
        blocks += array_blocks(a[0] if a.ndim > 1 and a.shape[0] == 1 else a, "output", opts.fmt, opts)
    title = f'{type(layer).__name__} "{layer.name}": input {x.shape} -> output {_shape(a)}'
    return Explanation("layer", title, blocks, steps, result=a, data={"input": x}, fmt=opts.fmt)
