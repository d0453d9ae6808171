"""How good are the predictions: a confusion matrix for classifiers, predicted against
true values for regression.

    cm = gn.viz.confusion_matrix(y_test, model.predict(x_test))   # rows true, columns predicted
    gn.viz.plot_confusion_matrix(y_test, model.predict(x_test), class_names=names)
    gn.viz.prediction_vs_truth(y_test, model.predict(x_test))
"""
import numpy as np

from glassnet.viz import _mpl


def class_labels(y):
    """Integer class labels from labels, one-hot rows, probability rows or binary scores.

    Rows of several values take their argmax; a single column is squeezed; values that
    are not whole numbers are read as probabilities of class 1 (threshold 0.5).
    """
    a = np.asarray(getattr(y, "data", y))
    if a.ndim >= 2 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim >= 2:
        return np.argmax(a, axis=-1).reshape(-1)
    a = a.reshape(-1)
    if np.issubdtype(a.dtype, np.floating):
        if np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            return a.astype(np.int64)
        return (a > 0.5).astype(np.int64)
    if a.dtype == bool:
        return a.astype(np.int64)
    return a.astype(np.int64)


def _width(y):
    a = np.asarray(getattr(y, "data", y))
    return a.shape[-1] if a.ndim >= 2 and a.shape[-1] > 1 else 0


def confusion_matrix(y_true, y_pred, num_classes=None):
    """``cm[i, j]`` = number of examples of true class i predicted as class j (int64).

    Labels or one-hot for ``y_true``; labels, probabilities or one-hot for ``y_pred``
    (as ``tf.math.confusion_matrix``, which takes labels only). ``num_classes`` defaults
    to the width of probability rows, else the largest label + 1.
    """
    t, p = class_labels(y_true), class_labels(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: y_true has {t.size} labels and y_pred {p.size}; they must match")
    if t.size and (t.min() < 0 or p.min() < 0):
        raise ValueError("confusion_matrix: labels must be non-negative integers")
    k = max(_width(y_true), _width(y_pred), int(max(t.max(initial=-1), p.max(initial=-1))) + 1)
    if num_classes is not None:
        if k > num_classes and t.size:
            raise ValueError(f"confusion_matrix: num_classes={num_classes} but labels go up to {k - 1}")
        k = int(num_classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


@_mpl.figure_function
def plot_confusion_matrix(y_true, y_pred=None, num_classes=None, class_names=None, normalize=False):
    """The confusion matrix as a heat map with the counts written in.

    ``plot_confusion_matrix(y_true, y_pred)``, or ``plot_confusion_matrix(cm)`` for a matrix
    already computed. Colours are row-normalised (the fraction of each true class), so a
    rare class reads as clearly as a common one; ``normalize=True`` writes fractions too.
    """
    if y_pred is None:
        cm = np.asarray(y_true)
        if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
            raise ValueError(f"plot_confusion_matrix: expected y_true and y_pred, or a square matrix; "
                             f"received one array of shape {cm.shape}")
    else:
        cm = confusion_matrix(y_true, y_pred, num_classes)
    k = cm.shape[0]
    names = [str(n) for n in class_names] if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"plot_confusion_matrix: {len(names)} class names for {k} classes")
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    side = min(6.4, 2.4 + 0.32 * k)
    fig = _mpl.new_figure(side + 1.0, side)
    ax = fig.subplots()
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    if k <= 25:
        size = 9 if k <= 10 else 7 if k <= 16 else 6
        for (i, j), n in np.ndenumerate(cm):
            text = f"{frac[i, j]:.2f}" if normalize else str(n)
            if n or i == j:
                ax.text(j, i, text, ha="center", va="center", fontsize=size,
                        color="white" if frac[i, j] > 0.55 else "#1f2937")
    if k <= 40:
        _mpl.rotate_long_ticks(ax, names, "x", limit=3)
        _mpl.rotate_long_ticks(ax, names, "y")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    total = int(cm.sum())
    acc = np.trace(cm) / total if total else float("nan")
    ax.set_title(f"accuracy {acc:.1%} on {total:,} examples", fontsize=10, fontweight="normal")
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class")
    return fig


@_mpl.figure_function
def prediction_vs_truth(y_true, y_pred, max_points=5000):
    """Regression results: predicted against true values (with the y = x line, R^2, MAE,
    RMSE), and both in sample order (a forecast against what happened).

    Several output columns are pooled in the scatter; the series shows the first column.
    """
    t = np.asarray(getattr(y_true, "data", y_true), dtype=np.float64)
    p = np.asarray(getattr(y_pred, "data", y_pred), dtype=np.float64)
    if t.size != p.size:
        raise ValueError(f"prediction_vs_truth: y_true has {t.size} values and y_pred {p.size}; they must match")
    p = p.reshape(t.shape)
    ft, fp = t.reshape(-1), p.reshape(-1)
    err = fp - ft
    mae = float(np.mean(np.abs(err)))
    rmse = float(np.sqrt(np.mean(err ** 2)))
    var = float(np.var(ft))
    r2 = 1 - float(np.mean(err ** 2)) / var if var > 0 else float("nan")
    fig = _mpl.new_figure(10.0, 3.9)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.6])
    step = max(1, ft.size // max_points)
    left.scatter(ft[::step], fp[::step], s=9, alpha=0.55, color=_mpl.TRAIN, edgecolors="none")
    lo, hi = float(min(ft.min(), fp.min())), float(max(ft.max(), fp.max()))
    pad = 0.03 * (hi - lo or 1.0)
    left.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="#6b7280", linewidth=1, label="y = x")
    left.set_xlim(lo - pad, hi + pad)
    left.set_ylim(lo - pad, hi + pad)
    left.set_aspect("equal", adjustable="box")
    left.set_xlabel("true value")
    left.set_ylabel("predicted value")
    left.set_title("predicted vs true")
    left.text(0.03, 0.97, f"R\u00b2 = {r2:.3f}\nMAE = {mae:.3g}\nRMSE = {rmse:.3g}", transform=left.transAxes,
              va="top", ha="left", fontsize=9,
              bbox=dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="#d1d5db"))
    first_t = t.reshape(len(t), -1)[:, 0] if t.ndim > 1 else t
    first_p = p.reshape(len(p), -1)[:, 0] if p.ndim > 1 else p
    n = min(len(first_t), max_points)
    idx = np.arange(n)
    right.plot(idx, first_t[:n], color="#374151", linewidth=1.3, label="true")
    right.plot(idx, first_p[:n], color=_mpl.VAL, linewidth=1.3, label="predicted")
    right.set_xlabel("example" + (" (first %d)" % n if n < len(first_t) else ""))
    right.set_title("in order" + (" (first output)" if t.ndim > 1 and t.reshape(len(t), -1).shape[1] > 1 else ""))
    right.legend(loc="best")
    return fig
