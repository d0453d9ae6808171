"""The computation graph as an SVG picture, drawn by hand (no extra dependency).

    svg = gn.viz.graph_svg(model)        # a box per layer call, arrows along the data flow
    svg = gn.viz.graph_svg(loss)         # a box per recorded op, back to inputs and weights
    open("graph.svg", "w").write(svg)    # or display it in a notebook: IPython.display.SVG(svg)

Layout (a small Sugiyama): nodes go in layers by longest path from the inputs (a weight or
input sits just above its first use), edges that skip layers get invisible waypoints, and
a few sweeps of the barycenter rule order each layer to cut crossings. ``engine="dot"``
hands the same graph to Graphviz instead, when its ``dot`` program is installed.
"""
import html
import shutil
import subprocess

import numpy as np

from glassnet.autograd import topological_order
from glassnet.layers.input_layer import InputLayer
from glassnet.layers.layer import Layer, _flatten
from glassnet.models.functional import Functional
from glassnet.models.sequential import Sequential
from glassnet.tensor import Tensor
from glassnet.variables import Variable

_FONT = "font-family=\"ui-sans-serif, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\""
_CHAR = (7.2, 6.3)  # average glyph width at 12 px (title) and 11 px (detail)
_BOX_H, _GAP_X, _GAP_Y, _MARGIN = 40, 22, 34, 16

# fill, stroke per kind of node
_KINDS = {
    "input": ("#e0f2fe", "#0369a1"),
    "conv": ("#dbeafe", "#1d4ed8"),
    "pool": ("#ede9fe", "#6d28d9"),
    "dense": ("#dcfce7", "#15803d"),
    "recurrent": ("#fef3c7", "#b45309"),
    "norm": ("#f3f4f6", "#4b5563"),
    "merge": ("#fce7f3", "#be185d"),
    "other": ("#f8fafc", "#475569"),
    "op": ("#f8fafc", "#334155"),
    "weight": ("#ecfdf5", "#047857"),
    "const": ("#f9fafb", "#9ca3af"),
    "root": ("#fff7ed", "#c2410c"),
    "more": ("#ffffff", "#9ca3af"),
}


def _layer_kind(layer):
    name = type(layer).__name__.lower()
    if isinstance(layer, InputLayer):
        return "input"
    for kind, words in (("conv", ("conv",)), ("pool", ("pool",)), ("recurrent", ("lstm", "gru", "rnn")),
                        ("dense", ("dense", "embedding")), ("merge", ("add", "concatenate", "multiply", "average",
                                                                       "subtract", "maximum", "minimum", "dot")),
                        ("norm", ("normalization", "dropout", "noise"))):
        if any(w in name for w in words):
            return kind
    return "other"


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"


class _Graph:
    def __init__(self):
        self.nodes = []   # [title, detail, kind]
        self.edges = []   # (src, dst)

    def add(self, title, detail, kind):
        self.nodes.append([title, detail, kind])
        return len(self.nodes) - 1


# ---- graphs from models and tensors ---------------------------------------------------------

def _model_graph(model):
    g = _Graph()
    if isinstance(model, Sequential):
        if model._input_layer is None and not model.built:
            raise ValueError(f'graph_svg: Sequential "{model.name}" is not built yet; give it an Input, '
                             "or call it on data once")
        prev = None
        if model._input_layer is not None:
            il = model._input_layer
            prev = g.add(il.name, f"Input {_shape_text(il.batch_shape)}", "input")
        for layer in model.layers:
            node = g.add(layer.name, f"{type(layer).__name__} {_shape_text(layer._output_shape)}", _layer_kind(layer))
            if prev is not None:
                g.edges.append((prev, node))
            prev = node
        return g
    if isinstance(model, Functional):
        ids = {}
        for kt in model.inputs:
            il = kt.node.layer
            ids[id(kt.node)] = g.add(il.name, f"Input {_shape_text(il.batch_shape)}", "input")
        calls = {}
        for node in model._nodes:
            n = calls.get(id(node.layer), 0)
            calls[id(node.layer)] = n + 1
            shape = [kt.shape for kt in _flatten(node.outputs)]
            title = node.layer.name if n == 0 else f"{node.layer.name} [{n}]"
            shown = _shape_text(shape[0] if len(shape) == 1 else shape)
            ids[id(node)] = g.add(title, f"{type(node.layer).__name__} {shown}", _layer_kind(node.layer))
            for parent in node.parent_tensors:
                if id(parent.node) in ids:
                    g.edges.append((ids[id(parent.node)], ids[id(node)]))
        return g
    raise ValueError(
        f'graph_svg: "{model.name}" is a subclassed model, whose graph exists only while it runs; draw the '
        "graph of one forward pass instead: graph_svg(model(gn.tensor(x_batch)))"
    )


def _leaf_title(t):
    if isinstance(t, Variable):
        return t.path
    return t.name or ("input" if t.requires_grad else "constant")


def _tensor_graph(root, max_nodes):
    g = _Graph()
    order = topological_order(root)
    dropped = len(order) - max_nodes
    if dropped > 0:
        order = order[dropped:]
    ids = {}
    more = None
    for t in order:
        op = t._op
        if op is None:
            ids[id(t)] = g.add(_leaf_title(t), _shape_text(t.shape), "root" if t is root else "weight")
            continue
        for parent in op.inputs:
            if id(parent) in ids:
                continue
            if parent._op is not None:  # made by an op cut off by max_nodes
                if more is None:
                    more = g.add(f"\u2026 {dropped} earlier ops", "not drawn (max_nodes)", "more")
                ids[id(parent)] = more
            else:
                kind = "weight" if isinstance(parent, Variable) and parent.requires_grad else \
                       "input" if parent.requires_grad else "const"
                ids[id(parent)] = g.add(_leaf_title(parent), _shape_text(parent.shape), kind)
        ids[id(t)] = g.add(op.name, _shape_text(t.shape), "root" if t is root else "op")
        for parent in op.inputs:
            g.edges.append((ids[id(parent)], ids[id(t)]))
    return g


# ---- layout ---------------------------------------------------------------------------------

def _levels(n, edges):
    parents = [[] for _ in range(n)]
    children = [[] for _ in range(n)]
    for s, d in edges:
        parents[d].append(s)
        children[s].append(d)
    level = [0] * n
    for v in range(n):  # nodes are added after their parents, so this is a topological order
        if parents[v]:
            level[v] = max(level[p] for p in parents[v]) + 1
    for v in reversed(range(n)):  # sources sit just above their first use
        if not parents[v] and children[v]:
            level[v] = min(level[c] for c in children[v]) - 1
    low = min(level) if level else 0
    return [l - low for l in level]


def _layout(g):
    n = len(g.nodes)
    level = _levels(n, g.edges)
    widths = [max(len(t) * _CHAR[0], len(d) * _CHAR[1]) + 24 for t, d, _ in g.nodes]
    # waypoints for edges that skip levels
    nodes_level = list(level)
    node_width = list(widths)
    chains = []
    for s, d in g.edges:
        chain = [s]
        for l in range(level[s] + 1, level[d]):
            nodes_level.append(l)
            node_width.append(6)
            chain.append(len(nodes_level) - 1)
        chain.append(d)
        chains.append(chain)
    total = len(nodes_level)
    ups = [[] for _ in range(total)]
    downs = [[] for _ in range(total)]
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            ups[b].append(a)
            downs[a].append(b)
    depth = max(nodes_level) + 1 if nodes_level else 0
    rows = [[v for v in range(total) if nodes_level[v] == l] for l in range(depth)]
    pos = {v: i for row in rows for i, v in enumerate(row)}
    for sweep in range(8):  # barycenter ordering, alternating down and up
        order = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        for l in order:
            nbrs = ups if sweep % 2 == 0 else downs
            key = {v: (np.mean([pos[u] for u in nbrs[v]]) if nbrs[v] else pos[v]) for v in rows[l]}
            rows[l].sort(key=lambda v: (key[v], pos[v]))
            for i, v in enumerate(rows[l]):
                pos[v] = i
    x = _place_x(rows, node_width, ups, downs)
    width = max((x[v] + node_width[v] / 2 for v in range(total)), default=0) + _MARGIN
    y = [_MARGIN + l * (_BOX_H + _GAP_Y) + _BOX_H / 2 for l in nodes_level]
    height = depth * (_BOX_H + _GAP_Y) - _GAP_Y + 2 * _MARGIN
    return x, y, widths, chains, width, height


def _place_x(rows, node_width, ups, downs):
    """x of each node: under the mean of its neighbours, pushed apart to keep the order.

    Each pass asks every node of a row for the mean x of its neighbours in the row above
    (then below), then spaces the row out: once pushing right, once pushing left, and takes
    the average of the two, which keeps the row centred on what its nodes want.
    """
    total = len(node_width)
    x = [0.0] * total
    for row in rows:
        cursor = 0.0
        for v in row:
            x[v] = cursor + node_width[v] / 2
            cursor += node_width[v] + _GAP_X
    for sweep in range(6):
        order = rows[1:] if sweep % 2 == 0 else rows[-2::-1]
        nbrs = ups if sweep % 2 == 0 else downs
        for row in order:
            want = [float(np.mean([x[u] for u in nbrs[v]])) if nbrs[v] else x[v] for v in row]
            right, left = list(want), list(want)
            for i in range(1, len(row)):
                sep = (node_width[row[i - 1]] + node_width[row[i]]) / 2 + _GAP_X
                right[i] = max(right[i], right[i - 1] + sep)
            for i in range(len(row) - 2, -1, -1):
                sep = (node_width[row[i]] + node_width[row[i + 1]]) / 2 + _GAP_X
                left[i] = min(left[i], left[i + 1] - sep)
            for i, v in enumerate(row):
                x[v] = (right[i] + left[i]) / 2
    low = min((x[v] - node_width[v] / 2 for v in range(total)), default=0.0)
    return [xv - low + _MARGIN for xv in x]


# ---- drawing --------------------------------------------------------------------------------

def _svg(g, title):
    x, y, widths, chains, width, height = _layout(g)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">',
        f"<title>{html.escape(title)}</title>",
        '<defs><marker id="gn-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
        '<g fill="none" stroke="#94a3b8" stroke-width="1.3">',
    ]
    half = _BOX_H / 2
    for chain in chains:
        pts = [(x[v], y[v]) for v in chain]
        (x0, y0), (x1, y1) = pts[0], pts[-1]
        pts[0] = (x0, y0 + half)
        pts[-1] = (x1, y1 - half - 1)
        d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            my = (ay + by) / 2
            d += f" C{ax:.1f},{my:.1f} {bx:.1f},{my:.1f} {bx:.1f},{by:.1f}"
        out.append(f'<path d="{d}" marker-end="url(#gn-arrow)"/>')
    out.append("</g>")
    for v, (t, detail, kind) in enumerate(g.nodes):
        fill, stroke = _KINDS[kind]
        w = widths[v]
        dash = ' stroke-dasharray="4 3"' if kind in ("more", "const") else ""
        out.append(
            f'<g><rect x="{x[v] - w / 2:.1f}" y="{y[v] - half:.1f}" width="{w:.1f}" height="{_BOX_H}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"{dash}/>'
            f'<text x="{x[v]:.1f}" y="{y[v] - 3:.1f}" text-anchor="middle" {_FONT} font-size="12" '
            f'font-weight="600" fill="#0f172a">{html.escape(t)}</text>'
            f'<text x="{x[v]:.1f}" y="{y[v] + 12:.1f}" text-anchor="middle" {_FONT} font-size="11" '
            f'fill="#475569">{html.escape(detail)}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _dot(g, title):
    lines = [f'digraph "{title}" {{', '  node [shape=box style="rounded,filled" fontname="Helvetica" fontsize=11];']
    for v, (t, detail, kind) in enumerate(g.nodes):
        fill, stroke = _KINDS[kind]
        label = (t + "\\n" + detail).replace('"', '\\"')
        lines.append(f'  n{v} [label="{label}" fillcolor="{fill}" color="{stroke}"];')
    for s, d in g.edges:
        lines.append(f"  n{s} -> n{d};")
    lines.append("}")
    return "\n".join(lines)


def graph_svg(model_or_tensor, max_nodes=400, engine="svg"):
    """The computation graph as an SVG document (a string).

    A model: one box per layer call (name, type, output shape), arrows along the data
    flow; works for Sequential and functional models. A tensor: one box per recorded op
    that led to it (op name, output shape), back to the inputs and weights (a weight is
    named by its path, "dense/kernel"); only the last ``max_nodes`` ops are drawn.
    ``engine="dot"`` lays it out with Graphviz (needs the ``dot`` program).
    """
    if isinstance(model_or_tensor, Tensor):
        g = _tensor_graph(model_or_tensor, max_nodes)
        title = "computation graph"
    elif isinstance(model_or_tensor, Layer):
        g = _model_graph(model_or_tensor)
        title = f"model {model_or_tensor.name}"
    else:
        raise TypeError(f"graph_svg: expected a model or a Tensor, received {type(model_or_tensor).__name__}")
    if engine == "svg":
        return _svg(g, title)
    if engine != "dot":
        raise ValueError(f'graph_svg: engine must be "svg" or "dot", received {engine!r}')
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError('graph_svg: engine="dot" needs Graphviz\'s dot program (e.g. apt install graphviz); '
                           'the default engine="svg" needs nothing')
    done = subprocess.run([dot, "-Tsvg"], input=_dot(g, title).encode(), capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")
