"""Pictures of a training run: learning curves, the learning rate, gradient norms.

    gn.viz.learning_curves(history)                 # a panel per metric, train and validation
    gn.viz.plot_learning_rate(schedule, steps=1000) # any schedule, or recorded values
    gn.viz.plot_gradient_norms(gn.viz.gradient_norms(model, x, y))
"""
import numpy as np

from glassnet.viz import _mpl
from glassnet.viz.inside import layer_norm

_SKIP = ("learning_rate", "lr")
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "hinge", "divergence", "mse", "mae", "mape", "msle",
                    "poisson", "cosh")


def history_dict(history):
    """``{metric: [value per epoch]}`` from a History, a model that has been fit, or a dict."""
    if isinstance(history, dict):
        return history
    inner = getattr(history, "history", None)
    if isinstance(inner, dict):
        return inner
    if inner is not None and isinstance(getattr(inner, "history", None), dict):
        return inner.history
    raise TypeError(f"expected a History, a fitted model or a dict of lists, received {type(history).__name__}")


def lower_is_better(name):
    return any(word in name for word in _LOWER_IS_BETTER)


def metric_names(h):
    """Base metric names (loss first), each once, whether seen as train or val_ key."""
    names = []
    for key in h:
        base = key[4:] if key.startswith("val_") else key
        if base not in names and base not in _SKIP:
            names.append(base)
    names.sort(key=lambda n: (n != "loss", not n.endswith("loss")))
    return names


@_mpl.figure_function
def learning_curves(history, max_panels=6, epochs=None):
    """Loss and each metric per epoch, training and validation in one panel each.

    ``history``: what ``fit`` returns, a fitted model, or ``{name: [values]}``. The best
    validation epoch is marked. At most ``max_panels`` panels (loss first).
    """
    h = history_dict(history)
    names = metric_names(h)
    if not names:
        raise ValueError("learning_curves: the history holds no values; train for at least one epoch")
    shown = names[:max_panels]
    cols = min(3, len(shown)) if len(shown) != 4 else 2
    rows = int(np.ceil(len(shown) / cols))
    fig = _mpl.new_figure(min(10.0, 4.6 * cols + 0.4), 3.0 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, shown):
        _curve_panel(ax, name, h.get(name), h.get("val_" + name), epochs)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    if len(shown) < len(names):
        fig.suptitle(f"first {len(shown)} of {len(names)} metrics", fontsize=9, color="#6b7280")
    return fig


def _epoch_axis(n, epochs):
    return np.asarray(epochs[:n]) + 1 if epochs is not None else np.arange(1, n + 1)


def _curve_panel(ax, name, train, val, epochs):
    from matplotlib.ticker import MaxNLocator

    markers = dict(marker="o", markersize=3.5)
    for values, label, color, ls in ((train, "train", _mpl.TRAIN, "-"), (val, "validation", _mpl.VAL, "--")):
        if not values:
            continue
        v = np.asarray(values, dtype=np.float64)
        x = _epoch_axis(len(v), epochs)
        ax.plot(x, v, ls, color=color, label=label, **(markers if len(v) <= 40 else {}))
    if val:
        v = np.asarray(val, dtype=np.float64)
        if np.isfinite(v).any():
            best = int(np.nanargmin(v) if lower_is_better(name) else np.nanargmax(v))
            x = _epoch_axis(len(v), epochs)
            ax.plot([x[best]], [v[best]], "o", markersize=8, markerfacecolor="none", markeredgecolor="#111827",
                    markeredgewidth=1.2, label=f"best val: {v[best]:.4g}")
    if lower_is_better(name):  # a loss that falls by orders of magnitude reads better on a log scale
        _mpl.log_if_wide(ax, list(train or []) + list(val or []), ratio=20.0)
    ax.set_title(name.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.legend(loc="best", frameon=True, framealpha=0.92, edgecolor="#e5e7eb")  # a box: never text over lines


@_mpl.figure_function
def plot_learning_rate(values, steps=None, steps_per_epoch=None, log=False):
    """The learning rate over training steps.

    ``values``: a sequence of rates (one per step, as Report records them), or a schedule
    (``gn.optimizers.schedules.*``, any callable of the step) drawn for ``steps`` steps.
    With ``steps_per_epoch`` the x axis counts epochs; ``log=True`` for a log scale.
    """
    if callable(values):
        if steps is None:
            raise ValueError("plot_learning_rate: give steps= to draw a schedule")
        values = [float(np.asarray(values(i))) for i in range(int(steps))]
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("plot_learning_rate: no learning-rate values to draw")
    fig = _mpl.new_figure(9.0, 2.6)
    ax = fig.subplots()
    x = np.arange(v.size, dtype=np.float64)
    if steps_per_epoch:
        x = x / steps_per_epoch
        ax.set_xlabel("epoch")
    else:
        ax.set_xlabel("step")
    if v.size == 1:
        ax.plot(x, v, "o", color=_mpl.TRAIN)
    else:
        ax.plot(x, v, color=_mpl.TRAIN, drawstyle="steps-post" if np.unique(v).size < 30 else "default")
    if log:
        ax.set_yscale("log")
    elif v.min() == v.max():
        ax.set_ylim(0, 2 * v.max() if v.max() > 0 else 1)
    lo, hi = float(v.min()), float(v.max())
    ax.set_ylabel("learning rate")
    d = np.diff(v)
    if lo == hi:
        text = f"constant at {lo:.3g}"
    elif np.all(d <= 0) or np.all(d >= 0):
        text = f"from {v[0]:.3g} to {v[-1]:.3g}"
    else:
        text = f"from {v[0]:.3g} to {v[-1]:.3g}, between {lo:.3g} and {hi:.3g}"
    ax.set_title(text, fontsize=10, fontweight="normal", loc="left")
    return fig


@_mpl.figure_function
def plot_gradient_norms(norms, epochs=None, max_layers=12):
    """The gradient norm of each layer (log scale), input layers on the left.

    ``norms``: what ``gradient_norms`` returns, a bar per layer; or a list of such dicts
    recorded over time (``epochs`` labels them, as Report does): one line per layer over
    time, beside the bars of the latest. Lower layers far below the top ones is the
    vanishing-gradient picture; ever-growing norms, exploding gradients.
    """
    if isinstance(norms, dict):
        fig = _mpl.new_figure(9.0, 3.4)
        _norm_bars(fig.subplots(), norms)
        return fig
    records = list(norms)
    if not records:
        raise ValueError("plot_gradient_norms: no gradient norms recorded")
    fig = _mpl.new_figure(10.0, 3.6)
    left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
    layers = list(records[-1])
    x = np.asarray(epochs if epochs is not None else np.arange(len(records)), dtype=np.float64)
    cmap = _depth_colors(len(layers))
    labelled = len(layers) <= max_layers
    for i, name in enumerate(layers):
        y = [layer_norm(r[name]) if name in r else np.nan for r in records]
        left.plot(x, _positive(y), color=cmap[i], label=name if labelled else None,
                  marker="o" if len(records) <= 30 else None, markersize=3)
    _mpl.log_if_wide(left, [layer_norm(r[n]) for r in records for n in r])
    left.set_xlabel("epochs completed")
    left.set_ylabel("||gradient||")
    left.set_title("per layer over training")
    from matplotlib.ticker import MaxNLocator
    left.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    if labelled:
        left.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, borderaxespad=0)
    else:
        left.text(0.99, 0.02, "colour: light = input side, dark = output side", transform=left.transAxes,
                  ha="right", va="bottom", fontsize=8, color="#6b7280")
    _norm_bars(right, records[-1], colors=cmap)
    right.set_title("latest, by layer")
    return fig


def _depth_colors(n):
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    return [cmap(0.85 - 0.75 * i / max(1, n - 1)) for i in range(n)]


def _positive(values):
    v = np.asarray(values, dtype=np.float64)
    return np.where(v > 0, v, np.nan)


def _norm_bars(ax, norms, colors=None):
    names = list(norms)
    values = _positive([layer_norm(norms[n]) for n in names])
    colors = colors or _depth_colors(len(names))
    floor = np.nanmin(values) if np.isfinite(values).any() else 1.0
    log = _mpl.log_if_wide(ax, values)
    ax.bar(np.arange(len(names)), np.nan_to_num(values, nan=floor * 1e-3 if log else 0.0), color=colors, width=0.7)
    _mpl.rotate_long_ticks(ax, names)
    ax.set_ylabel("||gradient||")
    ax.set_xlabel("layer (input \u2192 output)")
    if len(names) > 16:
        for i, label in enumerate(ax.get_xticklabels()):
            label.set_visible(i % int(np.ceil(len(names) / 16)) == 0)
