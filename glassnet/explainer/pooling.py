"""Explain max and average pooling window by window (seed 001: "walk your window across
your filtered images; from each window, take the maximum value").

    gn.explain(gn.ops.max_pool, image, pool_size=2)      # a bare (H, W) image works
    gn.explain(gn.layers.MaxPooling2D(), x)
    gn.explain(gn.layers.GlobalAveragePooling2D(), x)     # one window: the whole image

Max pooling marks each window's winner (the first maximum in row-major order: the cell
that receives the gradient); average pooling shows the sum over the window's real cells
divided by their count ("same" padding does not count padded cells, as Keras).
"""
import numpy as np

from glassnet import ops
from glassnet.autograd import no_grad
from glassnet.explainer.core import Explanation, array_blocks, as_array, reject_unknown, seq, sum_expression
from glassnet.explainer.render import Section, Text
from glassnet.ops.conv import _ints, same_padding


def _normalise(x, pool_size):
    """(x in op layout, rank, simple) from a bare image / signal or the op's layouts."""
    prank = None if pool_size is None or isinstance(pool_size, (int, np.integer)) else len(pool_size)
    if x.ndim == 2 and prank in (None, 2):
        return x[None, :, :, None], 2, 2
    if x.ndim == 1 and prank in (None, 1):
        return x[None, :, None], 1, 1
    if x.ndim == 3 and prank == 2:
        return x[None], 2, None
    rank = prank or x.ndim - 2
    return x, rank, None


def _pick_cells(cells, rank, out_hw, channels, limit):
    OH, OW = out_hw
    if cells is None:
        picked = [(i, j, c) for i in range(OH) for j in range(OW) for c in range(channels)]
        return picked if limit is None else picked[:limit]
    out = []
    for cell in cells:
        cell = (cell,) if isinstance(cell, (int, np.integer)) else tuple(int(v) for v in cell)
        if rank == 1:
            cell = (0,) + cell
        if len(cell) == 2:
            out += [(cell[0], cell[1], c) for c in range(channels)]
        elif len(cell) == 3:
            out.append(cell)
        else:
            raise ValueError(f"explain(pool): a cell is (i, j) or (i, j, channel) (1-D: j or (j, channel)), received {cell!r}")
        i, j, c = out[-1]
        if not (0 <= i < OH and 0 <= j < OW and 0 <= c < channels):
            raise ValueError(f"explain(pool): cell {cell} is outside the output ({OH}, {OW}) with {channels} channels")
    return out


def explain_pool(kind, x, opts, pool_size=None, strides=None, padding="valid", cells=None, layer=None, **kwargs):
    """kind "max" or "avg": every expanded window, its max (winner marked) or its mean."""
    reject_unknown(f"{kind}_pool", kwargs)
    x = as_array(x, "x")
    x, rank, simple = _normalise(x, pool_size)
    if pool_size is None:
        raise TypeError(f"explain({kind}_pool): give pool_size, e.g. gn.explain(gn.ops.{kind}_pool, x, pool_size=2)")
    fn = ops.max_pool if kind == "max" else ops.avg_pool
    out = fn(x, pool_size, strides=strides, padding=padding).numpy()
    pool = _ints(f"{kind}_pool", "pool_size", pool_size, rank)
    st = pool if strides is None else _ints(f"{kind}_pool", "strides", strides, rank)
    mode = padding.lower()
    pads = [(0, 0)] * rank if mode == "valid" else [same_padding(n, k, s) for n, k, s in zip(x.shape[1:-1], pool, st)]
    if rank == 1:
        x4, out4, pool, st, pads = x[:, None], out[:, None], (1,) + pool, (1,) + st, [(0, 0)] + pads
    else:
        x4, out4 = x, out
    if not 0 <= opts.sample < x4.shape[0]:
        raise ValueError(f"explain({kind}_pool): sample={opts.sample} is outside the batch of {x4.shape[0]}")
    KH, KW = pool
    C = x4.shape[-1]
    OH, OW = out4.shape[1:3]
    xs = x4[opts.sample].astype(np.float64)
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(xs, [*pads, (0, 0)], constant_values=fill)
    padmask = np.pad(np.zeros(xs.shape[:2], bool), pads, constant_values=True)
    chosen = _pick_cells(cells, rank, (OH, OW), C, opts.max_cells)

    steps, sections = [], []
    win_marks = np.full(xp.shape, None, object)
    win_marks[padmask] = "pad"
    for (i, j, c) in chosen:
        r0, c0 = i * st[0], j * st[1]
        window = xp[r0:r0 + KH, c0:c0 + KW, c]
        pm = padmask[r0:r0 + KH, c0:c0 + KW]
        position = (j,) if rank == 1 else (i, j)
        step = {"sample": opts.sample, "position": position, "channel": c,
                "window": ((r0, r0 + KH - 1), (c0, c0 + KW - 1)),
                "values": window[0] if rank == 1 else window, "padded": pm[0] if rank == 1 else pm,
                "output": float(out4[opts.sample, i, j, c])}
        marks = np.where(pm, "pad", None).astype(object)
        if kind == "max":
            a, b = np.unravel_index(int(np.argmax(window)), window.shape)   # the first maximum
            marks[a, b] = "win"
            win_marks[r0 + a, c0 + b, c] = "win"
            winner = (r0 + a - pads[0][0], c0 + b - pads[1][0])
            step.update({"max": float(window[a, b]), "winner": winner[1:] if rank == 1 else winner,
                         "winner_in_window": (int(b),) if rank == 1 else (int(a), int(b))})
            at = f"step {winner[1]}" if rank == 1 else f"row {winner[0]}, col {winner[1]}"
            line = f"max = {opts.fmt(window[a, b])}, at {at} of the input"
        else:
            real = window[~pm]
            s, n = float(real.sum()), int(real.size)
            step.update({"sum": s, "count": n, "mean": s / n})
            expr = sum_expression(real, opts.plain)
            line = f"({expr}) / {n} = {opts.fmt(s / n)}" if expr else f"sum {opts.plain(s)} / {n} cells = {opts.fmt(s / n)}"
            if pm.any():
                line += f"   (the {int(pm.sum())} padded cells are not counted)"
        steps.append(step)
        where = f"steps {c0}-{c0 + KW - 1}" if rank == 1 else f"rows {r0}-{r0 + KH - 1}, cols {c0}-{c0 + KW - 1}"
        head = f"output[{', '.join(map(str, position))}]" + (f", channel {c}" if C > 1 else "")
        wshow, mshow = (window[0], marks[0]) if rank == 1 else (window, marks)
        sections.append(Section(f"{head}: window {where}", array_blocks(wshow, "window", opts.plain, opts, marks=mshow)
                                + [Text(line, mono=True)]))

    verb = "take the maximum" if kind == "max" else "take the mean of its real cells"
    name = f"{'Max' if kind == 'max' else 'Average'} pooling" + (f' {type(layer).__name__} "{layer.name}"' if layer else "")
    def shape(a):
        return tuple(a.shape[1:-1]) if simple else a.shape
    p_shown, s_shown = (pool[1:], st[1:]) if rank == 1 else (pool, st)
    title = f"{name}: input {shape(x)}, pool {p_shown}, stride {s_shown} -> output {shape(out)}"
    pad_text = "no padding" if not any(a or b for a, b in pads) else \
        f"padding 'same': {pads[1:] if rank == 1 else pads} (before, after) cells" + \
        (" of -inf (they never win)" if kind == "max" else " (not counted)")
    blocks = [Text(f"Walk a window of {KW if rank == 1 else f'{KH}x{KW}'} across the input with stride "
                   f"{st[1] if rank == 1 else st}; from each window, {verb}. {pad_text.capitalize()}.")]
    cap = "input" + (" (padded)" if padmask.any() else "") + (", winners marked" if kind == "max" and chosen else "")
    blocks += array_blocks(seq(xp[0]) if rank == 1 else xp, cap, opts.plain, opts,
                           marks=seq(win_marks[0]) if rank == 1 else win_marks)
    blocks += sections
    total = OH * OW * C
    if len(chosen) < total:
        why = "the cells asked for" if cells is not None else \
            f"max_cells={opts.max_cells}; pass max_cells=None for all, or cells=[(i, j), ...]"
        blocks.append(Text(f"Expanded {len(chosen)} of {total} windows ({why})."))
    res = out4[opts.sample]
    blocks += array_blocks(seq(res[0]) if rank == 1 else res, "output", opts.fmt, opts)
    if kind == "max" and chosen:
        n_in = KH * KW
        blocks.append(Text(f"Each output cell depends on the {n_in} input cells of its window; in backward only "
                           f"the winner receives the gradient."))
    data = {"input": x, "padded_input": xp, "pads": pads}
    return Explanation("pool", title, blocks, steps, result=out[0, ..., 0] if simple else out, data=data,
                       fmt=opts.fmt)


def explain_pool_layer(layer, x, opts, cells=None, **kwargs):
    """MaxPooling / AveragePooling 1-D and 2-D layers, and the global pooling layers."""
    reject_unknown(type(layer).__name__, kwargs)
    x = as_array(x, "x")
    if x.ndim == layer.rank + 1:
        x = x[None]
    with no_grad():
        ref = layer(x).data
    cls = type(layer).__name__
    kind = "max" if "Max" in cls else "avg"
    if cls.startswith("Global"):
        exp = explain_pool(kind, x, opts, pool_size=tuple(x.shape[1:-1]), strides=1, padding="valid",
                           cells=cells, layer=layer)
        exp.blocks.append(Text(f"A global pooling layer is one window over all {int(np.prod(x.shape[1:-1]))} "
                               f"positions; output shape {ref.shape}."))
    else:
        exp = explain_pool(kind, x, opts, pool_size=layer.pool_size, strides=layer.strides,
                           padding=layer.padding, cells=cells, layer=layer)
    exp.result = ref
    return exp
