"""Explain activations: each value in -> value out, and the derivative there; softmax as
exponentials over their sum.

    gn.explain(gn.ops.relu, x)              gn.explain("sigmoid", x)
    gn.explain(gn.layers.ReLU(), x)         gn.explain(gn.ops.softmax, logits)

Derivatives come from glassnet's own autodiff (the gradient of sum(f(x)), which for an
elementwise f is f'(x) at each element), so what is shown is what backward uses.
"""
import numpy as np

from glassnet import activations, ops
from glassnet.autograd import enable_grad
from glassnet.explainer.core import (
    Explanation, array_blocks, as_array, fits, reject_unknown, value_text,
)
from glassnet.explainer.render import Row, Section, Table, Text
from glassnet.tensor import Tensor

# seed 002's slides: "Backpropagation challenge: sigmoid / ReLU"
FORMULAS = {
    "relu": "f(x) = max(0, x);  f'(x) = 1 if x > 0 else 0",
    "relu6": "f(x) = min(max(0, x), 6);  f'(x) = 1 if 0 < x < 6 else 0",
    "leaky_relu": "f(x) = x if x > 0 else slope * x;  f'(x) = 1 or slope",
    "elu": "f(x) = x if x > 0 else alpha (e^x - 1);  f'(x) = 1 or alpha e^x",
    "selu": "f(x) = scale * elu(x, alpha);  f'(x) = scale or scale * alpha e^x",
    "sigmoid": "f(x) = 1 / (1 + e^-x);  f'(x) = f(x) (1 - f(x))",
    "tanh": "f(x) = tanh x;  f'(x) = 1 - f(x)^2",
    "softplus": "f(x) = ln(1 + e^x);  f'(x) = sigmoid(x)",
    "softsign": "f(x) = x / (1 + |x|);  f'(x) = 1 / (1 + |x|)^2",
    "silu": "f(x) = x sigmoid(x);  f'(x) = sigmoid(x) (1 + x (1 - sigmoid(x)))",
    "swish": "f(x) = x sigmoid(x);  f'(x) = sigmoid(x) (1 + x (1 - sigmoid(x)))",
    "gelu": "f(x) = x Phi(x);  f'(x) = Phi(x) + x phi(x)",
    "exp": "f(x) = e^x;  f'(x) = e^x",
    "exponential": "f(x) = e^x;  f'(x) = e^x",
    "log": "f(x) = ln x;  f'(x) = 1 / x",
    "sqrt": "f(x) = sqrt(x);  f'(x) = 1 / (2 sqrt(x))",
    "square": "f(x) = x^2;  f'(x) = 2x",
    "abs": "f(x) = |x|;  f'(x) = sign(x)",
    "linear": "f(x) = x;  f'(x) = 1",
    "hard_sigmoid": "f(x) = relu6(x + 3) / 6;  f'(x) = 1/6 between -3 and 3, else 0",
    "softmax": "p_i = e^(x_i) / sum_j e^(x_j);  dp_i/dx_j = p_i (delta_ij - p_j)",
    "log_softmax": "f_i = x_i - log sum_j e^(x_j);  df_i/dx_j = delta_ij - p_j",
}

NOT_ELEMENTWISE = {"softmax", "log_softmax", "glu", "sparsemax"}

_OP_ACTIVATIONS = (
    ops.relu, ops.relu6, ops.leaky_relu, ops.elu, ops.selu, ops.softplus, ops.softsign, ops.gelu,
    ops.silu, ops.hard_sigmoid, ops.hard_silu, ops.sigmoid, ops.tanh, ops.mish, ops.softmax,
    ops.log_softmax, ops.exp, ops.log, ops.log1p, ops.sqrt, ops.square, ops.abs, ops.erf,
)


def is_activation_function(fn):
    return any(fn is f for f in _OP_ACTIVATIONS) or any(fn is f for f in activations.ALL_OBJECTS_DICT.values())


def activation_name(fn):
    """'relu' for ops.relu, activations.relu and the ReLU layer's function; the class name for a layer."""
    for name, f in activations.ALL_OBJECTS_DICT.items():
        if fn is f:
            return f.__name__
    name = getattr(fn, "__name__", None)
    if name:
        return name
    return type(fn).__name__


def is_linear(fn):
    return fn is None or fn is activations.linear


def apply_activation(fn, z, **kwargs):
    """(f(z), f'(z) or None, name) for an array z, through glassnet's autodiff."""
    if isinstance(fn, str):
        fn = activations.get(fn)
    name = activation_name(fn)
    z = np.asarray(z)
    t = Tensor(z.astype(z.dtype if z.dtype.kind == "f" else np.float64), requires_grad=True)
    with enable_grad():          # derivatives even when explain is called inside gn.no_grad()
        y = fn(t, **kwargs)
        if not isinstance(y, Tensor):
            y = Tensor(np.asarray(y))
        deriv = None
        if name not in NOT_ELEMENTWISE and y.shape == t.shape and y.requires_grad:
            ops.sum(y).backward()
            deriv = t.grad if t.grad is not None else np.zeros_like(z)
        elif name not in NOT_ELEMENTWISE and y.shape == t.shape:
            deriv = np.zeros_like(z)   # a constant function (no graph): f' = 0
    return y.data, deriv, name


def _layer_function(layer):
    """The function an activation layer applies, and its display name."""
    fn = getattr(layer, "activation", None)
    if fn is not None and type(layer).__name__ == "Activation":
        return fn, activation_name(fn)
    name = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "ELU": "elu", "Softmax": "softmax",
            "PReLU": "prelu"}.get(type(layer).__name__, type(layer).__name__)
    return layer, name


def explain_activation(fn, x, opts, name=None, label=None, **kwargs):
    """Each element: x -> f(x), f'(x); softmax-like functions go to explain_softmax."""
    axis = kwargs.get("axis", -1)
    name = name or activation_name(fn)
    x = as_array(x, "x")
    if name in ("softmax", "log_softmax"):
        return explain_softmax(x, opts, axis=axis if isinstance(axis, int) else -1, log=name == "log_softmax",
                               label=label)
    y, deriv, _ = apply_activation(fn, x, **kwargs)
    title = f"Activation {label or name}: {x.shape} -> {y.shape}"
    blocks = [Text(FORMULAS.get(name, (getattr(fn, "__doc__", None) or name).strip().split("\n")[0]))]
    shown = x.shape == y.shape and (x.ndim <= 2 or (x.ndim == 3 and x.shape[-1] <= 4)) and fits(x, opts) \
        and x.size <= opts.max_grid ** 2
    if shown:
        items = array_blocks(x, "x", opts.plain, opts) + ["->"] + array_blocks(y, f"{name}(x)", opts.fmt, opts)
        if deriv is not None:
            items += ["   "] + array_blocks(deriv, f"{name}'(x)", opts.fmt, opts)
        blocks.append(Row(*items))
    steps = []
    xf, yf = x.reshape(-1), y.reshape(-1) if y.shape == x.shape else None
    df = None if deriv is None else np.asarray(deriv).reshape(-1)
    if yf is not None:
        n = opts.limit(x.size)
        rows = []
        for k in range(n):
            idx = tuple(int(i) for i in np.unravel_index(k, x.shape))
            step = {"index": idx, "input": float(xf[k]), "output": float(yf[k]),
                    "derivative": None if df is None else float(df[k])}
            steps.append(step)
            rows.append([", ".join(map(str, idx)), opts.plain(xf[k]), opts.fmt(yf[k]), "" if df is None else opts.fmt(df[k])])
        if not shown:
            caption = f"first {n} of {x.size} elements" if n < x.size else None
            blocks.append(Table(["index", "x", f"{name}(x)", f"{name}'(x)"], rows, caption=caption))
        if not shown:
            blocks += array_blocks(x, "x", opts.plain, opts) + array_blocks(y, f"{name}(x)", opts.fmt, opts)
    else:
        blocks += array_blocks(y, f"{name}(x)", opts.fmt, opts)
    return Explanation("activation", title, blocks, steps, result=y,
                       data={"input": x, "output": y, "derivative": deriv}, fmt=opts.fmt)


def softmax_rows(x, axis=-1):
    """Per row along ``axis``: (max, shifted, exps, sum, probabilities), in float64."""
    x64 = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    m = x64.max(axis=-1, keepdims=True)
    e = np.exp(x64 - m)
    s = e.sum(axis=-1, keepdims=True)
    return x64, m, e, s, e / s


def softmax_section(z, fmt, plain, opts, title="softmax", label=None):
    """Blocks for one vector: exponentials, their sum, the probabilities; and its steps dict."""
    z = np.asarray(z, np.float64).reshape(-1)
    m = z.max()
    big = np.abs(z).max() > 30
    e_raw = np.exp(z - m) if big else np.exp(z)
    s = e_raw.sum()
    p = e_raw / s
    names = label or [str(i) for i in range(z.size)]
    rows = [[names[i], plain(z[i]), fmt(e_raw[i]), fmt(p[i])] for i in range(min(z.size, max(opts.max_grid, 1)))]
    ehead = "e^(z - max)" if big else "e^z"
    blocks = [Table(["class", "z", ehead, "p = e / sum"], rows)]
    if z.size > opts.max_grid:
        blocks.append(Text(f"... {z.size - opts.max_grid} more classes"))
    shift = f" (shifted by max z = {plain(m)}, which does not change p)" if big else ""
    blocks.append(Text(f"sum of {ehead} = {fmt(s)}{shift};  probabilities sum to {fmt(p.sum())}", mono=True))
    step = {"logits": z, "max": float(m), "exp": e_raw, "shifted": big, "sum": float(s), "probabilities": p}
    return blocks, step


def explain_softmax(x, opts, axis=-1, log=False, label=None):
    """Softmax (or log_softmax) of each row along ``axis``: exponentials, normalisation."""
    x = as_array(x, "x")
    if x.ndim == 0:
        raise ValueError("explain(softmax): x must have at least one axis, received a scalar")
    t = Tensor(x, requires_grad=False)
    y = (ops.log_softmax if log else ops.softmax)(t, axis=axis).data
    name = "log_softmax" if log else "softmax"
    xm = np.moveaxis(x, axis, -1)
    rows = xm.reshape(-1, xm.shape[-1])
    n = opts.limit(rows.shape[0])
    blocks = [Text(FORMULAS[name])]
    steps = []
    for r in range(n):
        idx = tuple(int(i) for i in np.unravel_index(r, xm.shape[:-1])) if xm.ndim > 1 else ()
        inner, step = softmax_section(rows[r], opts.fmt, opts.plain, opts)
        p = step["probabilities"]
        if log:
            step["log_probabilities"] = np.log(p)
            inner.append(Text("log p = " + value_text(np.log(p), opts.fmt, opts), mono=True))
        if rows[r].size <= 8:
            jac = np.diag(p) - np.outer(p, p)
            step["jacobian"] = jac
            inner += array_blocks(jac, "Jacobian dp_i/dz_j = p_i (delta_ij - p_j)", opts.fmt, opts)
        step["index"] = idx
        steps.append(step)
        blocks.append(Section(f"row {idx}" if idx and rows.shape[0] > 1 else "the vector", inner))
    if n < rows.shape[0]:
        blocks.append(Text(f"Expanded {n} of {rows.shape[0]} rows (max_cells={opts.max_cells})."))
    blocks += array_blocks(y, name, opts.fmt, opts)
    title = f"{label or name.capitalize()} along axis {axis}: {x.shape}"
    return Explanation("softmax", title, blocks, steps, result=y, data={"input": x, "output": y}, fmt=opts.fmt)


def explain_activation_layer(layer, x, opts, **kwargs):
    """An activation layer (Activation, ReLU, LeakyReLU, ELU, Softmax, PReLU) on x."""
    reject_unknown(type(layer).__name__, kwargs)
    fn, name = _layer_function(layer)
    label = f'{type(layer).__name__} "{layer.name}" ({name})'
    if name == "softmax" and fn is layer:
        return explain_softmax(x, opts, axis=layer.axis if isinstance(layer.axis, int) else -1, label=label)
    return explain_activation(fn, x, opts, name=name, label=label)


def explain_activation_call(fn, args, kwargs, opts):
    if not args:
        raise TypeError("explain(activation): give the input, e.g. gn.explain(gn.ops.relu, x)")
    x, rest = args[0], args[1:]
    if rest:
        raise TypeError(f"explain(activation): expected one input, received {len(args)}")
    return explain_activation(fn, x, opts, **kwargs)


def check_kwargs(kwargs):
    reject_unknown("activation", kwargs)
