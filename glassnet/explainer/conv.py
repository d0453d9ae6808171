"""Explain a convolution cell by cell, the way seed 001 does it:

    1. Line up the feature and the image patch.
    2. Multiply each image pixel by the corresponding feature pixel.
    3. Add them up.
    4. Divide by the total number of pixels in the feature   (normalize=True)

    gn.explain(gn.ops.conv, image, feature, normalize=True)     # 2-D image and kernel
    gn.explain(gn.ops.conv, x, kernel, strides=2, padding="same")  # the op's own layouts
    gn.explain(conv2d_layer, x)                                 # + bias, + activation

Each expanded output cell shows the aligned patch (padded cells marked), the elementwise
products, their sum (per input channel, then the total), + bias, and the activation. The
numbers are recomputed in float64 from the patch and checked against ``ops.conv``.
"""
import numpy as np

from glassnet import activations, ops
from glassnet.autograd import no_grad
from glassnet.explainer.activation import apply_activation, is_linear
from glassnet.explainer.core import (
    Explanation, array_blocks, as_array, reject_unknown, seq, sum_expression, value_text,
)
from glassnet.explainer.render import Row, Section, Text
from glassnet.ops.conv import _ints, _padding


def _normalise_shapes(x, k):
    """(x, kernel, simple) in ops.conv layouts; simple = 2 or 1 when the user gave a bare
    image and kernel (H, W) & (kh, kw), or (steps,) & (k,), else None."""
    if x.ndim == 2 and k.ndim == 2:
        return x[None, :, :, None], k[:, :, None, None], 2
    if x.ndim == 1 and k.ndim == 1:
        return x[None, :, None], k[:, None, None], 1
    if k.ndim == 4 and x.ndim == 3:
        return x[None], k, None
    if k.ndim == 3 and x.ndim == 2:
        return x[None], k, None
    return x, k, None


def _cells(cells, rank, out_hw, filters, limit):
    """The (i, j, f) output cells to expand: given ones (checked), else the first ``limit``
    positions in row-major order, every filter at each."""
    OH, OW = out_hw
    if cells is None:
        picked = [(i, j, f) for i in range(OH) for j in range(OW) for f in range(filters)]
        return picked[:limit] if limit is not None else picked
    out = []
    for c in cells:
        c = (c,) if isinstance(c, (int, np.integer)) else tuple(int(v) for v in c)
        if rank == 1:
            c = (0,) + c
        if len(c) == 2:
            out += [(c[0], c[1], f) for f in range(filters)]
        elif len(c) == 3:
            out.append(c)
        else:
            raise ValueError(f"explain(conv): a cell is (i, j) or (i, j, filter) (1-D: j or (j, filter)), received {c!r}")
        i, j, f = out[-1]
        if not (0 <= i < OH and 0 <= j < OW and 0 <= f < filters):
            shown = (OW,) if rank == 1 else (OH, OW)
            raise ValueError(f"explain(conv): cell {c[1:] if rank == 1 else c} is outside the output "
                             f"(spatial {shown}, {filters} filters)")
    return out


def explain_conv(x, kernel, opts, strides=1, padding="valid", dilation_rate=1, groups=1, bias=None,
                 activation=None, normalize=False, cells=None, layer=None, **kwargs):
    """The convolution of x with kernel, cell by cell (see the module docstring)."""
    reject_unknown("conv", kwargs)
    x, k, simple = _normalise_shapes(as_array(x, "x"), as_array(kernel, "kernel"))
    out = ops.conv(x, k, strides=strides, padding=padding, dilation_rate=dilation_rate, groups=groups).numpy()
    rank = k.ndim - 2
    st = _ints("conv", "strides", strides, rank)
    dil = _ints("conv", "dilation_rate", dilation_rate, rank)
    k_eff = [(kk - 1) * d + 1 for kk, d in zip(k.shape[:rank], dil)]
    pads = _padding("conv", padding, x.shape[1:-1], k_eff, st)
    if rank == 1:                                   # run as 2-D with height 1
        x4, k4, out4 = x[:, None], k[None], out[:, None]
        st, dil, pads = (1,) + st, (1,) + dil, [(0, 0)] + list(pads)
    else:
        x4, k4, out4 = x, k, out
    if not 0 <= opts.sample < x4.shape[0]:
        raise ValueError(f"explain(conv): sample={opts.sample} is outside the batch of {x4.shape[0]}")
    KH, KW, cg, F = k4.shape
    OH, OW = out4.shape[1:3]
    xp = np.pad(x4[opts.sample].astype(np.float64), [*pads, (0, 0)])
    padmask = np.pad(np.zeros(x4.shape[1:3], bool), pads, constant_values=True)
    w64 = k4.astype(np.float64)
    b64 = None if bias is None else np.broadcast_to(as_array(bias, "bias").astype(np.float64).reshape(-1), (F,))
    divisor = KH * KW * cg if normalize else None
    if normalize:
        opts.slide_style()

    # the whole output, as glassnet computes it, then normalised / biased / activated
    pre = out.astype(np.float64) / divisor if normalize else out
    if b64 is not None:
        pre = pre + b64.astype(pre.dtype)
    if isinstance(activation, str):
        activation = activations.get(activation)
    act = None if is_linear(activation) else activation
    if act is not None:
        result, deriv_map, act_name = apply_activation(act, pre)
    else:
        result, deriv_map, act_name = pre, None, None
    res4 = result[:, None] if rank == 1 else result
    der4 = None if deriv_map is None else (deriv_map[:, None] if rank == 1 else deriv_map)

    chosen = _cells(cells, rank, (OH, OW), F, opts.max_cells)
    steps, sections, mismatch = [], [], 0.0
    fpg = F // groups
    for (i, j, f) in chosen:
        g = f // fpg
        rows = [i * st[0] + a * dil[0] for a in range(KH)]
        cols = [j * st[1] + b * dil[1] for b in range(KW)]
        patch = xp[np.ix_(rows, cols)][..., g * cg:(g + 1) * cg]
        pm = padmask[np.ix_(rows, cols)]
        kern = w64[..., f]
        prod = patch * kern
        csum = prod.sum(axis=(0, 1))
        total = float(csum.sum())
        mismatch = max(mismatch, abs(total - float(out4[opts.sample, i, j, f])))
        value = total / divisor if normalize else total
        bias_f = None if b64 is None else float(b64[f])
        if bias_f is not None:
            value += bias_f
        output = float(res4[opts.sample, i, j, f])
        position = (j,) if rank == 1 else (i, j)
        sq = _squeezer(simple, rank)
        step = {
            "sample": opts.sample, "position": position, "filter": f,
            "window": ((rows[0], rows[-1]), (cols[0], cols[-1])),
            "patch": sq(patch), "padded": pm[0] if rank == 1 else pm, "kernel": sq(kern), "products": sq(prod),
            "channel_sums": csum, "sum": total, "divisor": divisor,
            "mean": total / divisor if normalize else None, "bias": bias_f,
            "pre_activation": value,
            "activation": act_name, "output": output,
            "derivative": None if der4 is None else float(der4[opts.sample, i, j, f]),
        }
        steps.append(step)
        sections.append(_cell_section(step, patch, kern, prod, pm, rank, opts, cg, F, output, act_name,
                                      bool(padmask.any())))

    title_x = "" if layer is None else f' {type(layer).__name__} "{layer.name}"'
    title = (f"Convolution{title_x}: input {tuple(x.shape[1:-1]) if simple else x.shape} * kernel "
             f"{tuple(k.shape[:rank]) if simple else k.shape} -> output "
             f"{tuple(out.shape[1:-1]) if simple else out.shape}")
    blocks = [_recipe(normalize, divisor, b64 is not None, act_name)]
    blocks.append(Text(_geometry(rank, x.shape[1:-1], k.shape[:rank], st, dil, pads, (OH, OW), groups)))
    blocks += _input_and_kernel_blocks(xp, padmask, k4, chosen[0] if chosen else None, st, dil, rank, opts)
    if b64 is not None:
        blocks.append(Text("bias = " + value_text(b64, opts.plain, opts)))
    blocks += sections
    total_cells = OH * OW * F
    if len(chosen) < total_cells:
        why = "the cells asked for" if cells is not None else \
            f"max_cells={opts.max_cells}; pass max_cells=None for all, or cells=[(i, j), ...] to pick"
        blocks.append(Text(f"Expanded {len(chosen)} of {total_cells} output cells ({why})."))
    res_s = res4[opts.sample]
    out_marks = None
    if 0 < len(chosen) < total_cells:
        out_marks = np.full(res_s.shape, None, object)
        for (i, j, f) in chosen:
            out_marks[i, j, f] = "sel"
    what = "output" + (f" (each sum / {divisor})" if normalize else "") + (" + bias" if b64 is not None else "") \
        + (f", then {act_name}" if act_name else "")
    blocks += array_blocks(seq(res_s[0]) if rank == 1 else res_s, what, opts.fmt, opts,
                           marks=None if out_marks is None else (seq(out_marks[0]) if rank == 1 else out_marks))
    ok = mismatch <= 1e-4 * max(1.0, float(np.abs(out).max()) if out.size else 1.0)
    blocks.append(Text(("Every sum above equals the cell that ops.conv computed." if ok else
                        f"Warning: the sums differ from ops.conv by up to {mismatch:g}.")
                       if chosen else "No cell expanded (max_cells=0)."))
    data = {"input": x, "kernel": k, "padded_input": xp, "pads": pads, "conv": out, "pre_activation": pre,
            "derivative": deriv_map}
    if simple:      # a bare image and kernel in, a bare feature map out
        result = result[0, ..., 0]
    return Explanation("conv", title, blocks, steps, result=result, data=data, fmt=opts.fmt)


def _input_and_kernel_blocks(xp, padmask, k4, first, st, dil, rank, opts):
    """The (padded) input with the first expanded window marked, and the kernel(s)."""
    KH, KW, cg, F = k4.shape
    marks = np.where(padmask, "pad", "").astype(object)
    if first is not None:
        i, j, _ = first
        r0, c0 = i * st[0], j * st[1]
        win = np.zeros_like(padmask)
        win[r0:r0 + (KH - 1) * dil[0] + 1:dil[0], c0:c0 + (KW - 1) * dil[1] + 1:dil[1]] = True
        marks = np.where(win, np.where(padmask, "pad sel", "sel"), marks).astype(object)
    marks = np.where(marks == "", None, marks)
    blocks = []
    cap = "padded input" if padmask.any() else "input"
    if padmask.any():
        blocks.append(Text("Padded cells are zeros, shown in parentheses."))
    in_marks = np.repeat(marks[..., None], xp.shape[-1], -1)
    if rank == 1:
        blocks += array_blocks(seq(xp[0]), cap, opts.plain, opts, marks=seq(in_marks[0]))
    else:
        blocks += array_blocks(xp, cap, opts.plain, opts, marks=in_marks)
    kshown = k4[0] if rank == 1 else k4
    fix = seq if rank == 1 else (lambda a: a)
    if F == 1:
        blocks += array_blocks(fix(kshown[..., 0]), "kernel", opts.plain, opts)
    elif F * cg <= 8:
        grids = [array_blocks(fix(kshown[..., f]), f"kernel, filter {f}", opts.plain, opts) for f in range(F)]
        blocks.append(Row(*[b for g in grids for b in g]))
    else:
        blocks += array_blocks(kshown, "kernel", opts.plain, opts)
    return blocks


def _recipe(normalize, divisor, has_bias, act_name):
    parts = ["line up the kernel and the image patch", "multiply each pixel by the kernel's pixel", "add them up"]
    if normalize:
        parts.append(f"divide by the number of kernel cells ({divisor})")
    if has_bias:
        parts.append("add the bias")
    if act_name:
        parts.append(f"apply {act_name}")
    return Text("Each output cell: " + "; ".join(f"{n}. {p}" for n, p in enumerate(parts, 1)) + ".")


def _geometry(rank, sizes, ksize, st, dil, pads, out_hw, groups):
    st, dil, pads = (st[1:], dil[1:], pads[1:]) if rank == 1 else (st, dil, pads)
    out_sizes = out_hw[1:] if rank == 1 else out_hw
    names = ["steps"] if rank == 1 else ["rows", "cols"]
    parts = []
    for name, n, kk, s, d, (b, a), o in zip(names, sizes, ksize, st, dil, pads, out_sizes):
        span = (kk - 1) * d + 1
        parts.append(f"{name}: ({n} + {b} + {a} - {span}) // {s} + 1 = {o}")
    pad_text = "no padding" if not any(b or a for b, a in pads) else \
        "padding " + ", ".join(f"{nm} {b} before / {a} after" for nm, (b, a) in zip(names, pads))
    extra = f", {groups} groups" if groups > 1 else ""
    return (f"stride {tuple(st)}, dilation {tuple(dil)}, {pad_text}{extra}. Output size (input + pads - kernel span) "
            f"// stride + 1: " + "; ".join(parts) + ".")


def _squeezer(simple, rank):
    """How a (KH, KW, C) patch is stored in steps: (kh, kw) for a bare image and kernel,
    (k,) for a bare 1-D signal, (k, C) for 1-D op layouts, else as it is."""
    if simple == 2:
        return lambda a: a[..., 0]
    if simple == 1:
        return lambda a: a[0, ..., 0]
    return (lambda a: a[0]) if rank == 1 else (lambda a: a)


def _cell_section(step, patch, kern, prod, pm, rank, opts, cg, F, output, act_name, padded):
    pos = step["position"]
    (r0, r1), (c0, c1) = step["window"]
    where = f"steps {c0}-{c1}" if rank == 1 else f"rows {r0}-{r1}, cols {c0}-{c1}"
    head = f"output[{', '.join(map(str, pos))}]" + (f", filter {step['filter']}" if F > 1 else "")
    blocks = []
    for c in range(cg):
        sfx = f" (channel {c})" if cg > 1 else ""
        marks = np.where(pm, "pad", None)
        pa, ka, pr = patch[..., c], kern[..., c], prod[..., c]
        if rank == 1:
            pa, ka, pr, marks = pa[0], ka[0], pr[0], marks[0]
        blocks.append(Row(*array_blocks(pa, "patch" + sfx, opts.plain, opts, marks=marks), "×",
                          *array_blocks(ka, "kernel" + sfx, opts.plain, opts), "=",
                          *array_blocks(pr, "products" + sfx, opts.plain, opts)))
    lines = []
    if cg == 1:
        expr = sum_expression(prod, opts.plain)
        lines.append(f"sum = {expr} = {opts.plain(step['sum'])}" if expr else
                     f"sum of the {prod.size} products = {opts.plain(step['sum'])}")
    else:
        sums = ", ".join(f"channel {c}: {opts.plain(s)}" for c, s in enumerate(step["channel_sums"]))
        lines.append(f"per-channel sums: {sums}")
        lines.append(f"total = {sum_expression(step['channel_sums'], opts.plain, limit=64)} = {opts.plain(step['sum'])}")
    value = step["sum"]
    if step["divisor"]:
        value = step["mean"]
        lines.append(f"{opts.plain(step['sum'])} / {step['divisor']} = {opts.fmt(value)}")
    if step["bias"] is not None:
        value += step["bias"]
        lines.append(f"+ bias {opts.plain(step['bias'])} = {opts.fmt(value)}")
    if act_name:
        d = step["derivative"]
        lines.append(f"{act_name}({opts.fmt(value)}) = {opts.fmt(output)}" +
                     ("" if d is None else f"   (derivative {opts.fmt(d)})"))
    blocks.append(Text("\n".join(lines), mono=True))
    return Section(f"{head}: window {where} of the {'padded ' if padded else ''}input", blocks)


def explain_conv_layer(layer, x, opts, normalize=False, cells=None, **kwargs):
    """A Conv1D / Conv2D layer on x: its kernel, bias and activation, cell by cell."""
    reject_unknown(type(layer).__name__, kwargs)
    x = as_array(x, "x")
    if x.ndim == layer.rank + 1:
        x = x[None]
    with no_grad():
        layer_out = layer(x)      # builds it if needed; the reference for the check below
    kernel = layer.kernel.data
    bias = None if layer.bias is None else layer.bias.data
    exp = explain_conv(x.astype(kernel.dtype) if x.dtype != kernel.dtype else x, kernel, opts,
                       strides=layer.strides, padding=layer.padding, dilation_rate=layer.dilation_rate,
                       groups=layer.groups, bias=bias, activation=layer.activation, normalize=normalize,
                       cells=cells, layer=layer)
    if not normalize:
        got = np.asarray(exp.result, np.float64)
        ref = layer_out.data.astype(np.float64)
        if got.shape == ref.shape and not np.allclose(got, ref, rtol=1e-4, atol=1e-5):
            exp.blocks.append(Text("Warning: this differs from the layer's own output."))
        exp.result = layer_out.data
    else:
        exp.blocks.append(Text("normalize=True is a teaching view: the layer itself does not divide."))
    exp.data["layer_output"] = layer_out.data
    return exp
