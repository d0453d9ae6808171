"""Explain a Dense layer neuron by neuron, as seed 001's four-pixel camera does:

    "Sum all the inputs":   .50 × -.2  +  0.00 × 0.0  +  -.75 × .8  +  .75 × -.5  =  -1.075
    "Squash the result":    tanh(-1.075) = -0.79

    gn.explain(gn.layers.Dense(1, activation="tanh"), [.5, 0, -.75, .75])

Each expanded neuron (unit) shows every input times its weight, the weighted sum, + bias,
and the activation with its derivative; softmax outputs are shown across the units.
"""
import numpy as np

from glassnet.autograd import no_grad
from glassnet.explainer.activation import apply_activation, is_linear, softmax_section
from glassnet.explainer.core import (
    Explanation, array_blocks, as_array, reject_unknown, sum_expression, value_text,
)
from glassnet.explainer.render import Section, Table, Text


def explain_dense(layer, x, opts, units=None, **kwargs):
    """Dense layer on x (one sample (in,) or a batch (..., in)): each neuron's weighted sum."""
    reject_unknown(type(layer).__name__, kwargs)
    x = as_array(x, "x")
    if x.ndim == 1:
        x = x[None]
    with no_grad():
        ref = layer(x).data                # builds the layer if needed
    W = layer.kernel.data.astype(np.float64)
    b = None if layer.bias is None else layer.bias.data.astype(np.float64)
    rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
    if not 0 <= opts.sample < rows.shape[0]:
        raise ValueError(f"explain(Dense): sample={opts.sample} is outside the {rows.shape[0]} input rows")
    xi = rows[opts.sample]
    z = xi @ W + (0 if b is None else b)
    act = None if is_linear(layer.activation) else layer.activation
    softmax_like = False
    if act is not None:
        y, deriv, act_name = apply_activation(act, z[None])
        y, softmax_like = y[0], deriv is None
        deriv = None if deriv is None else deriv[0]
    else:
        y, deriv, act_name = z, None, None
    n_in, n_units = W.shape
    chosen = list(range(n_units)) if units is None else [int(u) for u in np.atleast_1d(units)]
    if units is None and opts.max_cells is not None:
        chosen = chosen[:opts.max_cells]
    for u in chosen:
        if not 0 <= u < n_units:
            raise ValueError(f"explain(Dense): unit {u} is outside the layer's {n_units} units")

    steps, blocks = [], []
    recipe = "Each neuron: multiply every input by its weight, add them up"
    recipe += ", add the bias" if b is not None else ""
    recipe += f", then squash with {act_name}." if act_name else "."
    blocks.append(Text(recipe))
    blocks += array_blocks(xi, "inputs", opts.plain, opts)
    for u in chosen:
        w = W[:, u]
        prod = xi * w
        s = float(prod.sum())
        pre = s + (0.0 if b is None else float(b[u]))
        step = {"sample": opts.sample, "unit": u, "inputs": xi, "weights": w, "products": prod, "sum": s,
                "bias": None if b is None else float(b[u]), "pre_activation": pre, "activation": act_name,
                "output": float(y[u]), "derivative": None if deriv is None else float(deriv[u])}
        steps.append(step)
        inner = []
        if n_in <= opts.max_grid:
            table_rows = [[str(i), opts.plain(xi[i]), "×", opts.plain(w[i]), "=", opts.plain(prod[i])] for i in range(n_in)]
            inner.append(Table(["input", "x", "", "weight", "", "x × weight"], table_rows))
        else:
            top = np.argsort(-np.abs(prod))[:8]
            table_rows = [[str(i), opts.plain(xi[i]), "×", opts.plain(w[i]), "=", opts.plain(prod[i])] for i in top]
            inner.append(Table(["input", "x", "", "weight", "", "x × weight"], table_rows,
                               caption=f"the {len(top)} largest of {n_in} products"))
        lines = []
        expr = sum_expression(prod, opts.plain)
        lines.append(f"sum = {expr} = {opts.plain(s)}" if expr else f"sum of the {n_in} products = {opts.plain(s)}")
        if b is not None:
            lines.append(f"+ bias {opts.plain(b[u])} = {opts.fmt(pre)}")
        if act_name and not softmax_like:
            d = step["derivative"]
            lines.append(f"squash: {act_name}({opts.fmt(pre)}) = {opts.fmt(y[u])}"
                         + ("" if d is None else f"   (derivative {opts.fmt(d)})"))
        inner.append(Text("\n".join(lines), mono=True))
        blocks.append(Section(f"neuron (unit) {u}", inner))
    if len(chosen) < n_units:
        blocks.append(Text(f"Expanded {len(chosen)} of {n_units} units (max_cells={opts.max_cells}; "
                           f"pass units=[...] to pick)."))
    if softmax_like:
        sm_blocks, sm_step = softmax_section(z, opts.fmt, opts.plain, opts)
        blocks.append(Section(f"{act_name} across the {n_units} units", sm_blocks))
        for s in steps:
            s["output"] = float(y[s["unit"]])
    blocks.append(Text("weighted sums z = " + value_text(z, opts.fmt, opts)))
    blocks.append(Text(f"output = {act_name + '(z)' if act_name else 'z'} = " + value_text(y, opts.fmt, opts)))
    ok = np.allclose(y, ref.reshape(-1, n_units)[opts.sample].astype(np.float64), rtol=1e-4, atol=1e-5)
    if not ok:
        blocks.append(Text("Warning: these numbers differ from the layer's own output."))
    title = f'Dense "{layer.name}": {n_in} inputs -> {n_units} units' + (f", {act_name}" if act_name else "")
    data = {"input": x, "kernel": W, "bias": b, "weighted_sums": z, "output": y, "derivative": deriv}
    return Explanation("dense", title, blocks, steps, result=ref, data=data, fmt=opts.fmt)
