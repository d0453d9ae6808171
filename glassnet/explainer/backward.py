"""Explain backpropagation through a computation graph, as seed 002's slide does it:

    f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2))
    forward:  t0 = w[0]*x[0], t1 = w[1]*x[1], t01 = t0 + t1, ..., f = 1/denom
    backward, in reverse order: ddenom = -1/denom^2, de = 1 * ddenom, ..., dw0 = x[0] dt0

    gn.explain(f, w, x, mode="backward")       # f built from glassnet ops
    gn.explain.backward(out)                   # any tensor with a recorded graph
    gn.explain(out)                            # the same

The graph is listed in topological order (inputs before outputs) with each node's op and
value; then, in reverse order, each node's gradient d f / d node, its local gradient
d node / d input for each input, and their product, the gradient it sends to that input
(the chain rule; gradients arriving at a fork add up). Last, every input's gradient.
Nothing is written into any tensor's ``.grad``: the walk is done here, calling each op's
own ``backward`` exactly as ``Tensor.backward()`` does.
"""
import inspect

import numpy as np

from glassnet.autograd import enable_grad, topological_order
from glassnet.explainer.core import Explanation, as_array, scalar, value_text
from glassnet.explainer.render import Table, Text
from glassnet.tensor import Tensor

_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**", "matmul": "@"}
# ops whose output cell depends only on the same cell of each same-shaped input: their
# backward of ones is the local derivative cell by cell
ELEMENTWISE = {"add", "subtract", "multiply", "divide", "power", "negative", "exp", "log", "log1p", "sqrt",
               "square", "tanh", "sigmoid", "relu", "relu6", "leaky_relu", "elu", "abs", "softplus", "erf",
               "clip", "maximum", "minimum", "where", "cast"}


def _index_text(idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    out = []
    for p in parts:
        if isinstance(p, slice):
            out.append(f"{'' if p.start is None else p.start}:{'' if p.stop is None else p.stop}"
                       + ("" if p.step is None else f":{p.step}"))
        elif p is Ellipsis:
            out.append("...")
        elif p is None:
            out.append("None")
        elif isinstance(p, np.ndarray):
            out.append(str(p.tolist()))
        else:
            out.append(str(p))
    return ", ".join(out)


class _Labels:
    """Names for the tensors of a graph: given names, Tensor.name, x[i] for indexing,
    the value for a constant, t1, t2, ... for the rest, f for the output."""

    def __init__(self, names, order, root, fmt):
        self.by_id, self.fmt = {}, fmt
        for name, t in (names or {}).items():
            self.by_id[id(t)] = name
        taken = set(self.by_id.values()) | {t.name for t in order if t.name}
        self.counter = 0
        self.taken = taken
        self.root = root

    def fresh(self):
        while True:
            self.counter += 1
            name = f"t{self.counter}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def of(self, t):
        key = id(t)
        if key in self.by_id:
            return self.by_id[key]
        if t.name:
            label = t.name
        elif t._op is None:
            label = self.fmt(t.data.reshape(()).item()) if t.data.size == 1 and not t.requires_grad else \
                (f"const{t.shape}" if not t.requires_grad else self.fresh_input())
        elif t._op.name == "getitem" and t is not self.root:
            label = f"{self.of(t._op.inputs[0])}[{_index_text(t._op.idx)}]"
        elif t is self.root and "f" not in self.taken:
            label = "f"
        else:
            label = self.fresh()
        self.by_id[key] = label
        return label

    def fresh_input(self):
        n = 0
        while f"in{n}" in self.taken:
            n += 1
        self.taken.add(f"in{n}")
        return f"in{n}"


def _expression(op, labels):
    names = [labels.of(p) for p in op.inputs]
    if op.name in _SYMBOLS and len(names) == 2:
        return f"{names[0]} {_SYMBOLS[op.name]} {names[1]}"
    if op.name == "negative":
        return f"-{names[0]}"
    if op.name == "getitem":
        return f"{names[0]}[{_index_text(op.idx)}]"
    fused = getattr(op, "act", None)
    if op.name.startswith(("matmul_", "conv_")) and fused is not None:
        # a Dense / Conv layer's fused op (ops/fused.py): spell out what it computes
        inner = f"{names[0]} @ {names[1]}" if op.name.startswith("matmul") else f"conv({names[0]}, {names[1]})"
        if len(names) == 3:
            inner = f"{inner} + {names[2]}"
        return inner if fused == "linear" else f"{fused}({inner})"
    return f"{op.name}({', '.join(names)})"


def forward_order(root):
    """The op-made tensors behind ``root``, inputs before outputs, each op's inputs visited
    left to right (so ``w[0]*x[0] + w[1]*x[1]`` lists the first product first)."""
    return topological_order(root)


def explain_backward(root, opts, names=None, grad=None, gradients=True, title=None):
    """The graph that made ``root``, forward values and (if ``gradients``) backward."""
    if not isinstance(root, Tensor):
        raise TypeError(f"explain.backward: expected a Tensor, received {type(root).__name__}")
    if root._op is None:
        raise ValueError(
            "explain.backward: this tensor was not computed by recorded ops, so there is no graph to show; "
            "create the inputs with requires_grad=True (or use gn.explain(fn, *inputs, mode='backward')) "
            "and compute it outside gn.no_grad()"
        )
    fmt = opts.fmt
    order = forward_order(root)
    labels = _Labels(names, order, root, fmt)
    leaves, seen = [], set()
    for t in order:
        for p in t._op.inputs:
            if p._op is None and id(p) not in seen:
                seen.add(id(p))
                leaves.append(p)
    # labels in forward order, so t1, t2, ... count up along the computation
    for p in leaves:
        labels.of(p)
    for t in order:
        labels.of(t)

    node_grads, sent, local = {}, {}, {}
    if gradients:
        if grad is None:
            if root.data.size != 1:
                raise ValueError(f"explain.backward: the output has shape {root.shape}; pass grad= of that shape "
                                 f"(d loss / d output), or reduce it to a scalar first")
            g0 = np.ones_like(root.data)
        else:
            g0 = as_array(grad, "grad").astype(root.dtype)
            if g0.shape != root.shape:
                raise ValueError(f"explain.backward: grad must have the output's shape {root.shape}, received {g0.shape}")
        pending = {id(root): g0}
        for t in reversed(order):
            g = pending.pop(id(t), None)
            if g is None:
                continue
            node_grads[id(t)] = g
            op = t._op
            outs = op.backward(g)
            ones = None
            if t.data.size == 1 or (op.name in ELEMENTWISE and all(p.shape == t.shape for p in op.inputs)):
                ones = op.backward(np.ones_like(t.data))
            sent[id(t)], local[id(t)] = [], []
            for k, (parent, pg) in enumerate(zip(op.inputs, outs)):
                if pg is None or not op.needs[k]:
                    sent[id(t)].append(None)
                    local[id(t)].append(None)
                    continue
                if pg.dtype != parent.data.dtype:
                    pg = pg.astype(parent.data.dtype)
                sent[id(t)].append(pg)
                local[id(t)].append(None if ones is None or ones[k] is None else ones[k])
                if parent._op is None:
                    prev = node_grads.get(id(parent))
                    node_grads[id(parent)] = pg if prev is None else prev + pg
                else:
                    prev = pending.get(id(parent))
                    pending[id(parent)] = pg if prev is None else prev + pg

    # ---- steps -----------------------------------------------------------------------------
    steps = []
    for p in leaves:
        steps.append({"label": labels.of(p), "op": "input" if p.requires_grad else "constant", "expression": "",
                      "inputs": [], "value": scalar(p.data), "gradient": scalar(node_grads.get(id(p))),
                      "local_gradients": [], "sent": []})
    for t in order:
        op = t._op
        steps.append({
            "label": labels.of(t), "op": op.name, "expression": _expression(op, labels),
            "inputs": [labels.of(p) for p in op.inputs], "value": scalar(t.data),
            "gradient": scalar(node_grads.get(id(t))),
            "local_gradients": [scalar(v) for v in local.get(id(t), [None] * len(op.inputs))],
            "sent": [scalar(v) for v in sent.get(id(t), [None] * len(op.inputs))],
        })

    # ---- blocks -----------------------------------------------------------------------------
    vt = lambda v: "" if v is None else value_text(v, fmt, opts)
    blocks = [Text("Forward pass, inputs before outputs (topological order):")]
    rows = [[labels.of(p), "input" if p.requires_grad else "constant", "", vt(p.data)] for p in leaves]
    rows += [[labels.of(t), t._op.name, "= " + _expression(t._op, labels), vt(t.data)] for t in order]
    blocks.append(Table(["node", "op", "computes", "value"], rows))
    if gradients:
        blocks.append(Text(f"Backward pass, in reverse order. d{labels.of(root)}/d node (the gradient arriving at the node) "
                           f"times the local gradient d node / d input is the gradient sent to that input; "
                           f"gradients arriving at one node add up."))
        rows = []
        for t in reversed(order):
            if id(t) not in node_grads:
                continue
            first = True
            for k, p in enumerate(t._op.inputs):
                s = sent[id(t)][k]
                if s is None:
                    continue
                loc = local[id(t)][k]
                rows.append([labels.of(t) if first else "", vt(node_grads[id(t)]) if first else "",
                             labels.of(p), "" if loc is None else vt(loc), vt(s)])
                first = False
        root_label = labels.of(root)
        blocks.append(Table(["node", f"d{root_label}/d node", "input", "local d node/d input",
                             f"sent: d{root_label}/d input"], rows))
        forks = [labels.of(t) for t in order if sum(1 for u in order for p in u._op.inputs if p is t) > 1]
        forks += [labels.of(p) for p in leaves if sum(1 for u in order for q in u._op.inputs if q is p) > 1]
        if forks:
            blocks.append(Text("Forks (used more than once, so their gradients are sums): " + ", ".join(forks)))
        grads = {labels.of(p): node_grads.get(id(p)) for p in leaves if p.requires_grad}
        rows = [[name, vt(p.data), vt(grads[name])] for name, p in ((labels.of(p), p) for p in leaves if p.requires_grad)]
        blocks.append(Table(["input", "value", f"gradient d{root_label}/d input"], rows,
                            caption="Gradients of the inputs"))
    else:
        grads = {}
    title = title or f"Computation graph of {labels.of(root)}: {len(order)} ops, {len(leaves)} inputs" + \
        (" (forward and backward)" if gradients else " (forward)")
    data = {"gradients": {k: (None if v is None else scalar(v)) for k, v in grads.items()},
            "output": scalar(root.data)}
    return Explanation("backward", title, blocks, steps, result=scalar(root.data), data=data, fmt=fmt)


def _leaf(value):
    """A fresh leaf that requires grad, sharing data with ``value`` where it is a Tensor."""
    if isinstance(value, Tensor):
        arr = value.data
        if arr.dtype.kind != "f":
            return value
        t = Tensor._from_op(arr, None)
        t.requires_grad = True
        t.name = value.name
        return t
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float, np.number, list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf":
            return Tensor(arr.astype(np.float64) if arr.dtype.kind != "f" else arr, requires_grad=True)
    return value


def _param_names(fn, n):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            break
    return [names[i] if i < len(names) else f"x{i}" for i in range(n)]


def explain_function(fn, args, kwargs, opts, mode="backward", names=None, grad=None):
    """Run fn(*args, **kwargs) on fresh leaves that require grad, then explain its graph."""
    leaves = [_leaf(a) for a in args]
    given = dict(names or {})
    auto = _param_names(fn, len(args))
    for name, leaf, orig in zip(auto, leaves, args):
        if isinstance(leaf, Tensor) and all(leaf is not v for v in given.values()):
            label = orig.name if isinstance(orig, Tensor) and orig.name else name
            given[label] = leaf
    with enable_grad():
        out = fn(*leaves, **kwargs)
    if not isinstance(out, Tensor):
        raise TypeError(f"explain: {getattr(fn, '__name__', fn)} returned {type(out).__name__}, not a Tensor; "
                        f"build it from glassnet ops so its graph can be shown")
    fname = getattr(fn, "__name__", "f")
    if out.name is None and out._op is not None and fname.isidentifier() and fname != "<lambda>":
        out.name = fname
    gradients = mode == "backward" or (mode is None and (out.data.size == 1 or grad is not None))
    return explain_backward(out, opts, names=given, grad=grad, gradients=gradients)
