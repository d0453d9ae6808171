"""Pictures of what a convnet sees and learns: feature maps, filters, saliency maps.

Each function returns a matplotlib Figure (``fig.savefig("maps.png")``). A grid shows at
most a few dozen panels, with a title that says how many more there are.

    gn.viz.feature_maps(model, x[0])          # every channel of the first conv layer's output
    gn.viz.filters(model)                     # the first layer's kernels as little images
    gn.viz.plot_saliency(model, x[:4])        # inputs and |d score / d input| under them
"""
import numpy as np

from glassnet.autograd import no_grad
from glassnet.viz import _mpl
from glassnet.viz.inside import activations, as_batch, pick_layer, saliency


def _kernel(layer):
    k = getattr(layer, "kernel", None)
    return None if k is None else getattr(k, "data", k)


def _show_image(ax, img, cmap="gray", vmin=None, vmax=None):
    """An example as an image: (H, W), (H, W, 1) gray, (H, W, 3) colour, else the channel mean."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3 and img.shape[-1] == 3:
        lo, hi = img.min(), img.max()
        ax.imshow((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img))
    else:
        if img.ndim == 3:
            img = img.mean(axis=-1)
        if img.ndim == 1:
            img = img[None, :]
        aspect = "auto" if max(img.shape) > 4 * min(img.shape) else "equal"
        ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, aspect=aspect)
    _mpl.image_axes(ax)


def _is_image_example(ex):
    return ex.ndim == 2 or (ex.ndim == 3 and ex.shape[-1] in (1, 3, 4))


# ---- feature maps --------------------------------------------------------------------------------

@_mpl.figure_function
def feature_maps(model, x, layer=None, index=0, max_channels=32):
    """The output of one layer for one example, one small image per channel.

    ``layer``: a name, an index or a Layer; None picks the first layer with a 2-D spatial
    output (a convolution or pooling layer), else with a sequence output, else the first. ``x`` is an example or
    a batch (``index`` picks the example). Conv layers show a grid of channels, led by the
    input image; sequence outputs (time, channels) show as a heat map; vectors as bars.
    """
    xb, _ = as_batch(model, x)
    example = xb[index:index + 1]
    acts = activations(model, example)
    if layer is None:
        chosen = _default_map_layer(model, acts)
    else:
        chosen = pick_layer(model, layer, None, "feature_maps")
    out = acts.get(chosen.name)
    if out is None or isinstance(out, (list, tuple, dict)):
        raise ValueError(f'feature_maps: layer "{chosen.name}" has no single output to show')
    out = out[0]
    label = f"{chosen.name} ({type(chosen).__name__})"
    if out.ndim == 3:
        return _channel_grid(out, example[0], label, index, max_channels)
    if out.ndim == 2:
        return _sequence_map(out, label, index)
    return _unit_bars(out.reshape(-1), label, index)


def _default_map_layer(model, acts):
    """The first layer with an image-like output, else with a sequence output, else the first."""
    ran = [l for l in model.layers if l.name in acts and not isinstance(acts[l.name], (list, tuple, dict))]
    if not ran:
        raise ValueError(f'feature_maps: model "{model.name}" has no layer with an output to show')
    for rank in (4, 3):
        for l in ran:
            if acts[l.name].ndim == rank:
                return l
    return ran[0]


def _channel_grid(maps, image, label, index, max_channels):
    h, w, c = maps.shape
    shown = min(c, max_channels)
    with_input = _is_image_example(np.asarray(image))
    n = shown + (1 if with_input else 0)
    rows, cols = _mpl.grid_shape(n, max_cols=8)
    fig = _mpl.new_figure(min(10.0, 1.2 * cols + 0.4), 1.25 * rows + 0.55)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    k = 0
    if with_input:
        _show_image(axes[0], image)
        axes[0].set_title("input", fontsize=8, color="#374151")
        k = 1
    for ch in range(shown):
        ax = axes[k + ch]
        ax.imshow(maps[..., ch], cmap="viridis")
        _mpl.image_axes(ax)
        ax.set_title(str(ch), fontsize=8, color="#6b7280", pad=2)
    for ax in axes[n:]:
        ax.set_visible(False)
    more = f", first {shown} shown" if shown < c else ""
    _mpl.suptitle(fig, f"{label}: {c} feature maps of {h}\u00d7{w} for example {index}{more}")
    return fig


def _sequence_map(out, label, index):
    t, c = out.shape
    fig = _mpl.new_figure(9.0, min(4.5, 1.6 + 0.08 * c))
    ax = fig.subplots()
    im = ax.imshow(out.T, aspect="auto", cmap="viridis", origin="lower")
    ax.grid(False)
    ax.set_xlabel("time step")
    ax.set_ylabel("channel")
    fig.colorbar(im, ax=ax, shrink=0.9)
    _mpl.suptitle(fig, f"{label}: output over {t} steps \u00d7 {c} channels, example {index}")
    return fig


def _unit_bars(values, label, index):
    fig = _mpl.new_figure(9.0, 2.8)
    ax = fig.subplots()
    if values.size <= 256:
        ax.bar(np.arange(values.size), values, color=_mpl.TRAIN, width=0.85)
        ax.set_xlabel("unit")
        ax.set_ylabel("activation")
    else:
        im = ax.imshow(values[None, :], aspect="auto", cmap="viridis")
        ax.set_yticks([])
        ax.grid(False)
        ax.set_xlabel("unit")
        fig.colorbar(im, ax=ax, shrink=0.9)
    _mpl.suptitle(fig, f"{label}: {values.size} activations for example {index}")
    return fig


# ---- filters -------------------------------------------------------------------------------------

def _first_filter_layer(model):
    for layer in model.layers:
        k = _kernel(layer)
        if k is not None:
            return layer
    return None


@_mpl.figure_function
def filters(model, layer=None, max_filters=32, max_channels=8):
    """The kernels of a convolution layer as small images (the first one by default).

    Conv2D kernels ``(kh, kw, in, filters)``: one image per filter; with 3 input channels
    each filter is an RGB image, with 1 a diverging map (blue negative, red positive) on
    one shared scale, numbers written in when the kernels are small enough to read; with
    more input channels, a row per input channel. Conv1D kernels ``(k, in, filters)`` show
    as (in x k) images. A Dense first layer on image inputs shows each unit's weights
    reshaped to the input image (its "template").
    """
    chosen = pick_layer(model, layer, lambda l: _kernel(l) is not None, "filters")
    if chosen is None or _kernel(chosen) is None:
        raise ValueError(f'filters: model "{model.name}" has no layer with a kernel to show'
                         if chosen is None else f'filters: layer "{chosen.name}" has no kernel')
    k = np.asarray(_kernel(chosen), dtype=np.float64)
    label = f"{chosen.name} ({type(chosen).__name__})"
    if k.ndim == 4:
        return _conv2d_filters(k, label, max_filters, max_channels)
    if k.ndim == 3:
        return _conv1d_filters(k, label, max_filters)
    if k.ndim == 2:
        return _dense_templates(model, chosen, k, label, max_filters)
    raise ValueError(f'filters: cannot draw the kernel of "{chosen.name}" with shape {k.shape}')


def _filter_grid(n, cell=1.1, max_cols=8, extra_w=0.4, extra_h=0.55, cell_h=None):
    rows, cols = _mpl.grid_shape(n, max_cols=max_cols)
    fig = _mpl.new_figure(min(10.0, cell * cols + extra_w), (cell_h or cell) * rows + extra_h)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _conv2d_filters(k, label, max_filters, max_channels):
    kh, kw, cin, f = k.shape
    shown = min(f, max_filters)
    more = f", first {shown} shown" if shown < f else ""
    if cin == 3:
        fig, axes = _filter_grid(shown)
        for i, ax in enumerate(axes):
            img = k[..., i]
            lo, hi = img.min(), img.max()
            ax.imshow((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img))
            _mpl.image_axes(ax)
            ax.set_title(str(i), fontsize=8, color="#6b7280", pad=2)
        _mpl.suptitle(fig, f"{label}: {f} filters of {kh}\u00d7{kw}\u00d73 (RGB){more}")
        return fig
    if cin == 1:
        fig, axes = _filter_grid(shown, cell=1.25 if kh * kw <= 25 and shown <= 16 else 1.1)
        vmin, vmax = _mpl.diverging_limits(k[..., :shown])
        write = kh <= 5 and kw <= 5 and shown <= 16
        im = None
        for i, ax in enumerate(axes):
            im = ax.imshow(k[:, :, 0, i], cmap="RdBu_r", vmin=vmin, vmax=vmax)
            _mpl.image_axes(ax)
            ax.set_title(str(i), fontsize=8, color="#6b7280", pad=2)
            if write:
                for (r, c), v in np.ndenumerate(k[:, :, 0, i]):
                    ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(v) > 0.6 * vmax else "#111827")
        fig.colorbar(im, ax=list(axes), shrink=0.8, aspect=30)
        _mpl.suptitle(fig, f"{label}: {f} filters of {kh}\u00d7{kw}{more}")
        return fig
    shown = min(f, 16)
    rows = min(cin, max_channels)
    fig = _mpl.new_figure(min(10.0, 0.62 * shown + 1.0), 0.62 * rows + 0.8)
    axes = fig.subplots(rows, shown, squeeze=False)
    vmin, vmax = _mpl.diverging_limits(k[:, :, :rows, :shown])
    im = None
    for r in range(rows):
        for c in range(shown):
            ax = axes[r, c]
            im = ax.imshow(k[:, :, r, c], cmap="RdBu_r", vmin=vmin, vmax=vmax)
            _mpl.image_axes(ax)
            if r == 0:
                ax.set_title(str(c), fontsize=7, color="#6b7280", pad=2)
            if c == 0:
                ax.set_ylabel(f"in {r}", fontsize=7, color="#6b7280")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, aspect=30)
    extra = []
    if shown < f:
        extra.append(f"first {shown} of {f} filters")
    if rows < cin:
        extra.append(f"first {rows} of {cin} input channels")
    _mpl.suptitle(fig, f"{label}: {kh}\u00d7{kw} kernels, a column per filter, a row per input channel"
                 + (f" ({', '.join(extra)})" if extra else ""), size=10)
    return fig


def _conv1d_filters(k, label, max_filters):
    size, cin, f = k.shape
    shown = min(f, max_filters)
    ratio = max(0.2, min(1.0, cin / size))  # each filter is drawn cin high and size wide
    fig, axes = _filter_grid(shown, cell=1.2, cell_h=1.0 * ratio + 0.25)
    vmin, vmax = _mpl.diverging_limits(k[..., :shown])
    im = None
    for i, ax in enumerate(axes):
        im = ax.imshow(k[:, :, i].T, cmap="RdBu_r", vmin=vmin, vmax=vmax)
        _mpl.image_axes(ax)
        ax.set_title(str(i), fontsize=8, color="#6b7280", pad=2)
    fig.colorbar(im, ax=list(axes), shrink=0.8, aspect=30)
    more = f", first {shown} shown" if shown < f else ""
    channels = f"{cin} input channel{'s' if cin != 1 else ''}"
    _mpl.suptitle(fig, f"{label}: {f} filters, each {channels} \u00d7 {size} steps{more}")
    return fig


def _dense_templates(model, layer, k, label, max_filters):
    shape = model.input_shape if hasattr(model, "input_shape") else None
    if isinstance(shape, list):
        shape = shape[0]
    dims = tuple(shape[1:]) if shape is not None else ()
    image = None
    if None not in dims and len(dims) in (2, 3) and int(np.prod(dims)) == k.shape[0]:
        image = dims if len(dims) == 2 or dims[-1] != 1 else dims[:2]
    if image is None or (len(image) == 3 and image[-1] != 3):
        raise ValueError(f'filters: layer "{layer.name}" is a dense layer on inputs of shape {shape}; '
                         "only kernels of convolutions, or of a dense layer on images, draw as pictures")
    units = k.shape[1]
    shown = min(units, max_filters)
    fig, axes = _filter_grid(shown, cell=1.15)
    vmin, vmax = _mpl.diverging_limits(k[:, :shown])
    im = None
    for i, ax in enumerate(axes):
        w = k[:, i].reshape(image)
        if w.ndim == 3:
            lo, hi = w.min(), w.max()
            ax.imshow((w - lo) / (hi - lo) if hi > lo else np.zeros_like(w))
        else:
            im = ax.imshow(w, cmap="RdBu_r", vmin=vmin, vmax=vmax)
        _mpl.image_axes(ax)
        ax.set_title(str(i), fontsize=8, color="#6b7280", pad=2)
    if im is not None:
        fig.colorbar(im, ax=list(axes), shrink=0.8, aspect=30)
    more = f", first {shown} shown" if shown < units else ""
    size = "\u00d7".join(map(str, image[:2]))
    _mpl.suptitle(fig, f"{label}: the weights of {units} units as {size} images{more}")
    return fig


# ---- saliency ------------------------------------------------------------------------------------

@_mpl.figure_function
def plot_saliency(model, x, class_index=None, max_examples=4):
    """Each example above its saliency map ``|d score / d input|`` (max over colour channels).

    ``class_index`` as in ``saliency`` (None: each example's predicted class). Bright
    pixels are those whose change would move the class score most.
    """
    xb, _ = as_batch(model, x)
    xb = xb[:max_examples]
    n = len(xb)
    sal = saliency(model, xb, class_index)
    with no_grad():
        out = model(xb, training=False)
    out = getattr(out, "data", out)
    out = np.asarray(out).reshape(n, -1)
    if class_index is None:
        idx = np.argmax(out, axis=1) if out.shape[1] > 1 else np.zeros(n, dtype=int)
    else:
        idx = np.broadcast_to(np.asarray(class_index, dtype=int), (n,))
    example = xb[0]
    if example.ndim == 1:
        return _saliency_bars(xb, sal, idx, out)
    fig = _mpl.new_figure(min(10.0, 2.1 * n + 0.6), 4.5)
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        _show_image(axes[0, i], xb[i])
        axes[0, i].set_title(f"class {idx[i]}: {out[i, idx[i]]:.3g}", fontsize=9)
        s = sal[i].max(axis=-1) if sal[i].ndim == 3 else sal[i]
        _show_image(axes[1, i], s, cmap="magma")
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("|d score / d input|")
    _mpl.suptitle(fig, "Saliency: which inputs move the class score")
    return fig


def _saliency_bars(xb, sal, idx, out):
    n = len(xb)
    fig = _mpl.new_figure(9.0, 1.6 * n + 0.6)
    axes = fig.subplots(n, 1, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.bar(np.arange(sal.shape[1]), sal[i], color=_mpl.TRAIN, width=0.85)
        ax.set_ylabel(f"ex. {i}")
        ax.set_title(f"class {idx[i]}: {out[i, idx[i]]:.3g}", fontsize=9, loc="left")
    axes[-1].set_xlabel("input feature")
    _mpl.suptitle(fig, "Saliency |d score / d input| per input feature")
    return fig
