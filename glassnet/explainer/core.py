"""The Explanation object, the options every explainer shares, and array helpers.

An Explanation holds what was computed, three ways: ``steps`` (a list of dicts with the
exact numbers, for code and tests), ``result`` (the output, exactly as glassnet computes
it), and blocks that print as text (``str``) and render as HTML in a notebook
(``_repr_html_``).
"""
import numpy as np

from glassnet.explainer import render
from glassnet.explainer.render import Grid, Row, Text
from glassnet.tensor import Tensor

DEFAULT_MAX_CELLS = 16
DEFAULT_MAX_GRID = 16


class Explanation:
    """What ``gn.explain`` returns: printable, notebook-renderable, and inspectable.

    Attributes:
        kind: "conv", "pool", "activation", "softmax", "dense", "loss", "backward",
            "optimizer", "model" or "layer".
        title: one line saying what was explained.
        steps: list of dicts, one per expanded unit of work (an output cell, a window, a
            neuron, a graph node, an element), holding exact (unrounded) numbers.
        result: the output as glassnet computes it (an ndarray or a float).
        data: further named arrays (the whole input, the padded input, gradients, ...).
    """

    def __init__(self, kind, title, blocks, steps, result=None, data=None, fmt=None):
        self.kind, self.title, self.blocks = kind, title, list(blocks)
        self.steps, self.result, self.data = list(steps), result, dict(data or {})
        self._fmt = fmt or render.GENERAL

    def __str__(self):
        return render.render_text(self.title, self.blocks, self._fmt)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        return render.render_html(self.title, self.blocks, self._fmt)

    def to_html(self):
        """The HTML (a self-contained <div>) as a string, e.g. to write into a report."""
        return self._repr_html_()

    def __len__(self):
        return len(self.steps)

    def __getitem__(self, i):
        return self.steps[i]

    def __iter__(self):
        return iter(self.steps)

    @property
    def gradients(self):
        """For backward explanations: {input name: gradient array}."""
        return self.data.get("gradients", {})


class Options:
    """Display options shared by all explainers.

    max_cells: how many output cells (windows, neurons, elements) to expand step by step;
        None expands all. max_grid: arrays with a side longer than this are summarised
        (shape, min/mean/max, first cells) instead of drawn. decimals / truncate: how
        results are printed (inputs print as given); sample: which batch element to expand.
    """

    def __init__(self, max_cells=DEFAULT_MAX_CELLS, max_grid=DEFAULT_MAX_GRID, decimals=None, truncate=None,
                 sample=0):
        if max_cells is not None and (not isinstance(max_cells, (int, np.integer)) or max_cells < 0):
            raise ValueError(f"explain: max_cells must be a non-negative int or None, received {max_cells!r}")
        if not isinstance(max_grid, (int, np.integer)) or max_grid < 1:
            raise ValueError(f"explain: max_grid must be a positive int, received {max_grid!r}")
        if decimals is not None and (not isinstance(decimals, (int, np.integer)) or decimals < 0):
            raise ValueError(f"explain: decimals must be a non-negative int or None, received {decimals!r}")
        self.max_cells, self.max_grid, self.sample = max_cells, int(max_grid), int(sample)
        self.decimals, self.truncate = decimals, truncate
        self.fmt = render.Fmt(decimals, bool(truncate))
        self.plain = render.GENERAL

    def slide_style(self):
        """Two decimals cut, not rounded, as the seed 001 slides print k/9 (unless the user chose)."""
        if self.decimals is None:
            self.decimals = 2
            if self.truncate is None:
                self.truncate = True
            self.fmt = render.Fmt(self.decimals, bool(self.truncate))

    def limit(self, n):
        return n if self.max_cells is None else min(n, self.max_cells)


def take_options(kwargs):
    """Pop the shared display options out of ``kwargs`` into an Options."""
    keys = ("max_cells", "max_grid", "decimals", "truncate", "sample")
    return Options(**{k: kwargs.pop(k) for k in keys if k in kwargs})


def reject_unknown(what, kwargs):
    if kwargs:
        raise TypeError(f"explain({what}): unexpected option(s) {', '.join(sorted(kwargs))}")


# ---- arrays ------------------------------------------------------------------------------------


def as_array(x, name="input"):
    """x as an ndarray; integers, booleans and Python lists become float64 (exact numbers)."""
    if isinstance(x, Tensor):
        arr = x.data
    else:
        arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"explain: {name} must be numeric, received {type(x).__name__}")
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    return arr


def scalar(v):
    """A size-1 array as a Python float; anything else unchanged."""
    if isinstance(v, np.ndarray) and v.size == 1:
        return float(v.reshape(()))
    if isinstance(v, (np.floating, np.integer)):
        return float(v)
    return v


def summary_text(a, fmt, name=None, first=8):
    """'name: shape (28, 28), min 0, mean 0.13, max 1; first cells 0, 0, ... (8 of 784)'."""
    a = np.asarray(a)
    head = f"{name}: " if name else ""
    if a.size == 0:
        return f"{head}shape {a.shape} (empty)"
    flat = a.reshape(-1)
    finite = flat[np.isfinite(flat)] if a.dtype.kind == "f" else flat
    stats = ""
    if finite.size:
        stats = f", min {fmt(finite.min())}, mean {fmt(finite.mean())}, max {fmt(finite.max())}"
    shown = ", ".join(fmt(v) for v in flat[:first])
    more = f", ... ({min(first, a.size)} of {a.size})" if a.size > first else ""
    return f"{head}shape {a.shape}{stats}; first cells {shown}{more}"


def seq(a):
    """A 1-D layout (steps, C) with one channel as a plain row of ``steps`` cells."""
    a = np.asarray(a)
    return a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a


def fits(a, opts):
    a = np.asarray(a)
    return all(n <= opts.max_grid for n in a.shape[-2:]) if a.ndim else True


def array_blocks(a, caption, fmt, opts, marks=None):
    """Blocks drawing ``a``: a grid (1-D and 2-D), grids side by side per channel (H, W, C),
    or a summary line when it is large or of higher rank."""
    a = np.asarray(a)
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
        marks = None if marks is None else marks[0]
    if a.ndim == 3 and a.shape[-1] == 1:      # one channel: the image itself
        a, marks = a[..., 0], None if marks is None else np.asarray(marks)[..., 0]
    if a.ndim == 0:
        return [Text(f"{caption} = {fmt(a.item())}")]
    if a.ndim <= 2 and fits(a, opts) and a.size <= opts.max_grid * opts.max_grid:
        return [Grid(a, caption=caption, marks=marks, fmt=fmt)]
    if a.ndim == 3 and fits(a[..., 0], opts) and a.shape[-1] <= 4:
        grids = [Grid(a[..., c], caption=f"{caption}, channel {c}",
                      marks=None if marks is None else marks[..., c], fmt=fmt) for c in range(a.shape[-1])]
        return [Row(*grids)]
    return [Text(summary_text(a, fmt, caption))]


def value_text(v, fmt, opts):
    """A short inline form of a value: the number, a small vector, or a summary."""
    v = np.asarray(v)
    if v.size == 1:
        return fmt(v.reshape(()).item())
    if v.ndim == 1 and v.size <= opts.max_grid:
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if v.ndim == 2 and v.size <= opts.max_grid:
        return "[" + "; ".join(", ".join(fmt(x) for x in row) for row in v) + "]"
    return summary_text(v, fmt, first=4)


def sum_expression(terms, fmt, limit=16):
    """'1 + 1 - 1 + 0.5' for a few terms; '' when there are too many to write out."""
    terms = list(np.asarray(terms, dtype=float).reshape(-1))
    if not terms or len(terms) > limit:
        return ""
    out = fmt(terms[0])
    for t in terms[1:]:
        s = fmt(t)
        out += f" - {s[1:]}" if s.startswith("-") else f" + {s}"
    return out
