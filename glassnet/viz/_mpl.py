"""matplotlib, loaded only when a picture is asked for (it is the optional extra ``viz``).

Figures are made with ``matplotlib.figure.Figure`` on an Agg canvas, never through pyplot:
nothing opens a window, nothing touches the global figure list, and a figure is freed
as soon as the caller drops it. One house style (``style()``) keeps every plot alike.
"""
import contextlib
import functools
import io

import numpy as np

INSTALL_HINT = (
    "glassnet's plots need matplotlib, which is an optional extra: "
    "pip install glassnet[viz]  (or: pip install matplotlib)"
)

# train / validation and a qualitative palette that stays readable in print and for
# the common colour-vision deficiencies (Okabe-Ito, reordered).
TRAIN = "#0072B2"
VAL = "#E69F00"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

_RC = {
    "font.size": 10.5,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#6b7280",
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    "image.interpolation": "nearest",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


def require():
    """Import matplotlib, or fail with the install command."""
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return matplotlib


@contextlib.contextmanager
def style():
    """The house style, applied while a figure's artists are created."""
    require()
    import matplotlib
    from cycler import cycler

    with matplotlib.rc_context({**_RC, "axes.prop_cycle": cycler(color=PALETTE)}):
        yield


def figure_function(fn):
    """Decorator: run a plotting function inside ``style()`` (so matplotlib loads lazily)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with style():
            return fn(*args, **kwargs)

    return wrapper


def new_figure(width, height):
    """A Figure of ``width`` x ``height`` inches with constrained layout on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig, dpi=144):
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def image_axes(ax):
    """An axes that shows an image: no ticks, no grid, a thin frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#d1d5db")
        spine.set_linewidth(0.6)


def rotate_long_ticks(ax, labels, axis="x", limit=4):
    """Set categorical tick labels; tilt them when any is longer than ``limit`` characters."""
    labels = [str(l) for l in labels]
    positions = np.arange(len(labels))
    tilt = any(len(l) > limit for l in labels)
    if axis == "x":
        ax.set_xticks(positions)
        ax.set_xticklabels(labels, rotation=40 if tilt else 0, ha="right" if tilt else "center",
                           rotation_mode="anchor")
    else:
        ax.set_yticks(positions)
        ax.set_yticklabels(labels)


def grid_shape(n, max_cols=8):
    """Rows and columns for ``n`` small panels: as few rows as ``max_cols`` allows (pages
    are wide), the panels spread evenly over them."""
    n = max(1, n)
    rows = int(np.ceil(n / max_cols))
    return rows, int(np.ceil(n / rows))


def diverging_limits(a):
    """Symmetric colour limits around 0, so the sign of a weight reads as a colour."""
    m = float(np.max(np.abs(a))) if np.size(a) else 1.0
    return -(m or 1.0), (m or 1.0)


def suptitle(fig, text, size=11, max_width=10.0):
    """A figure title that always fits: the figure widens (up to ``max_width`` inches) for
    a long title, and a title longer still wraps onto a second line."""
    import textwrap

    per_char = 0.0085 * size  # inches per character of bold DejaVu Sans at this size
    width = fig.get_figwidth()
    needed = per_char * len(text) + 0.4
    if needed > width:
        width = min(max_width, needed)
        fig.set_figwidth(width)
    chars = max(20, int((width - 0.4) / per_char))
    fig.suptitle("\n".join(textwrap.wrap(text, chars)), fontsize=size)


def log_if_wide(ax, values, axis="y", ratio=30.0):
    """Use a log scale when the positive values span more than ``ratio``."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and v.max() / v.min() > ratio:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        return True
    return False
