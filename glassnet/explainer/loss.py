"""Explain a loss on a prediction and a label, Keras' argument order (y_true, y_pred):

    gn.explain(gn.losses.SparseCategoricalCrossentropy(from_logits=True), [2], [[1.0, 2.0, 3.0]])
    gn.explain("categorical_crossentropy", one_hot, probabilities)
    gn.explain(gn.losses.MeanSquaredError(), y, y_hat)

Softmax + cross-entropy shows, for each sample: the exponentials, their sum (the
normalisation), the probabilities, -log p of the true class; then the reduction to the
loss, and d loss / d y_pred (from glassnet's autodiff: softmax - one-hot, over the batch
size). Other losses show the per-element terms where their formula is known, else each
sample's value; the final number is always the loss object's own.
"""
import numpy as np

from glassnet import losses as gl
from glassnet.autograd import enable_grad
from glassnet.explainer.activation import softmax_section
from glassnet.losses.base import as_true
from glassnet.explainer.core import Explanation, as_array, reject_unknown, value_text
from glassnet.explainer.render import Section, Table, Text
from glassnet.tensor import Tensor

EPSILON = 1e-7


def _resolve(loss):
    """(callable computing the reduced loss, per-sample fn, its kwargs, reduction, name)."""
    if isinstance(loss, str):
        loss = gl.get(loss)
    if isinstance(loss, type) and issubclass(loss, gl.Loss):
        loss = loss()
    if isinstance(loss, gl.LossFunctionWrapper):
        return loss, loss.fn, dict(loss._fn_kwargs), loss.reduction, loss.name
    if isinstance(loss, gl.Loss):
        return loss, None, {}, loss.reduction, loss.name
    if callable(loss):
        return None, loss, {}, "sum_over_batch_size", getattr(loss, "__name__", "loss")
    raise TypeError(f"explain(loss): expected a loss (object, function or name), received {loss!r}")


def explain_loss(loss, y_true, y_pred, opts, **kwargs):
    """Step by step from y_pred and y_true to the loss value."""
    obj, fn, fn_kwargs, reduction, name = _resolve(loss)
    if obj is None:
        fn_kwargs.update({k: kwargs.pop(k) for k in list(kwargs) if k in ("from_logits", "label_smoothing", "axis",
                                                                           "ignore_class", "delta")})
    reject_unknown(name, kwargs)
    pred = as_array(y_pred, "y_pred")
    if pred.dtype.kind != "f":
        pred = pred.astype(np.float64)
    true = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    fname = getattr(fn, "__name__", "")
    if fname in ("sparse_categorical_crossentropy", "categorical_crossentropy") and pred.ndim == 1:
        pred = pred[None]
        true = true.reshape(1, *true.shape) if fname == "categorical_crossentropy" or true.ndim == 1 else true
        if fname == "sparse_categorical_crossentropy":
            true = true.reshape(1)

    t = Tensor(pred, requires_grad=True)
    with enable_grad():
        if obj is not None:
            value_t = obj(true, t)
            per_sample = obj.call(as_true(name, true, pred.dtype), Tensor(pred)).data
        else:
            per_sample_t = fn(true, t, **fn_kwargs)
            per_sample = per_sample_t.data
            value_t = gl.reduce_weighted_values(per_sample_t, reduction=reduction)
        value_t.backward(np.ones_like(value_t.data))
    grad = t.grad
    loss_value = float(value_t.data) if value_t.data.size == 1 else value_t.data

    blocks, steps = [], []
    if fname in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        blocks, steps = _crossentropy(fname, true, pred, fn_kwargs, opts)
    elif fname == "binary_crossentropy":
        blocks, steps = _binary(true, pred, fn_kwargs, opts)
    elif fname in ("mean_squared_error", "mean_absolute_error"):
        blocks, steps = _regression(fname, true, pred, opts)
    else:
        blocks.append(Text(((getattr(fn, "__doc__", None) or getattr(obj, "__doc__", None) or name).strip().split("\n")[0])))
    blocks += _reduction(per_sample, reduction, loss_value, opts)
    blocks.append(Text("d loss / d y_pred = " + value_text(grad, opts.fmt, opts) +
                       ("   (softmax - one-hot, divided by the batch size)"
                        if fname.endswith("categorical_crossentropy") and fn_kwargs.get("from_logits") else "")))
    per_row = fname in ("sparse_categorical_crossentropy", "categorical_crossentropy")
    for s in steps:       # d loss / d y_pred for that sample's row, or that element
        s["gradient"] = grad.reshape(-1, grad.shape[-1])[s["sample"]] if per_row else float(grad.reshape(-1)[s["sample"]])
    shown = opts.fmt(loss_value) if np.ndim(loss_value) == 0 else np.shape(loss_value)
    title = f"Loss {name}: y_pred {pred.shape}, y_true {true.shape} -> {shown}"
    data = {"y_true": true, "y_pred": pred, "per_sample": per_sample, "gradient": grad}
    return Explanation("loss", title, blocks, steps, result=loss_value, data=data, fmt=opts.fmt)


def _crossentropy(fname, true, pred, kw, opts):
    from_logits = kw.get("from_logits", False)
    smoothing = kw.get("label_smoothing", 0.0) or 0.0
    C = pred.shape[-1]
    P = pred.reshape(-1, C).astype(np.float64)
    if fname == "sparse_categorical_crossentropy":
        labels = np.asarray(true).reshape(-1).astype(np.int64)
        T = np.eye(C)[labels]
    else:
        T = np.asarray(true, np.float64).reshape(-1, C)
        if smoothing:
            T = T * (1 - smoothing) + smoothing / C
        labels = np.argmax(T, axis=1)
    onehot = np.all((T == 0) | (T == 1), axis=1) & (T.sum(axis=1) == 1)
    blocks = [Text("softmax turns scores (logits) into probabilities: p_k = e^(z_k) / sum_j e^(z_j); "
                   "cross-entropy is -log p of the true class." if from_logits else
                   "The prediction is already probabilities: Keras rescales them to sum to 1 and clips them to "
                   "[1e-7, 1 - 1e-7]; cross-entropy is -log p of the true class.")]
    steps = []
    n = opts.limit(P.shape[0])
    for s in range(n):
        if from_logits:
            inner, step = softmax_section(P[s], opts.fmt, opts.plain, opts)
            p = step["probabilities"]
        else:
            total = P[s].sum()
            p = np.clip(P[s] / total, EPSILON, 1 - EPSILON)
            rows = [[str(k), opts.plain(P[s, k]), opts.fmt(p[k])] for k in range(min(C, opts.max_grid))]
            inner = [Table(["class", "y_pred", "p = y_pred / sum (clipped)"], rows),
                     Text(f"sum of y_pred = {opts.fmt(total)}", mono=True)]
            step = {"predictions": P[s], "sum": float(total), "probabilities": p}
        if onehot[s]:
            k = int(labels[s])
            value = float(-np.log(p[k]))
            inner.append(Text(f"true class {k}: p = {opts.fmt(p[k])};  -log p = -log({opts.fmt(p[k])}) = {opts.fmt(value)}",
                              mono=True))
        else:
            terms = T[s] * np.log(p)
            value = float(-terms.sum())
            inner.append(Text(f"soft labels t = {value_text(T[s], opts.plain, opts)};  -sum t log p = {opts.fmt(value)}",
                              mono=True))
            k = int(labels[s])
        step.update({"sample": s, "label": k, "target": T[s], "p_true": float(p[k]), "loss": value})
        steps.append(step)
        blocks.append(Section(f"sample {s}", inner))
    if n < P.shape[0]:
        blocks.append(Text(f"Expanded {n} of {P.shape[0]} samples (max_cells={opts.max_cells})."))
    return blocks, steps


def _binary(true, pred, kw, opts):
    from_logits = kw.get("from_logits", False)
    z = pred.astype(np.float64)
    p = 1 / (1 + np.exp(-z)) if from_logits else np.clip(z, EPSILON, 1 - EPSILON)
    t = np.broadcast_to(np.asarray(true, np.float64).reshape(np.shape(true)), z.shape) if np.ndim(true) == z.ndim else \
        np.asarray(true, np.float64).reshape(z.shape)
    terms = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    blocks = [Text("binary cross-entropy per element: -[t log p + (1 - t) log(1 - p)]"
                   + (", p = sigmoid(logit)" if from_logits else ", p clipped to [1e-7, 1 - 1e-7]")
                   + "; mean over the last axis.")]
    rows, steps = [], []
    flat = list(zip(z.reshape(-1), p.reshape(-1), t.reshape(-1), terms.reshape(-1)))
    for k, (zz, pp, tt, term) in enumerate(flat[:opts.limit(len(flat))]):
        rows.append([str(k), opts.plain(tt), opts.plain(zz), opts.fmt(pp), opts.fmt(term)])
        steps.append({"sample": k, "target": float(tt), "prediction": float(zz), "p": float(pp), "loss": float(term)})
    blocks.append(Table(["element", "t", "logit" if from_logits else "y_pred", "p", "-[t log p + (1-t) log(1-p)]"], rows))
    return blocks, steps


def _regression(fname, true, pred, opts):
    t = np.asarray(true, np.float64)
    y = pred.astype(np.float64)
    t, y = np.broadcast_arrays(t.reshape(y.shape) if t.size == y.size else t, y)
    d = y - t
    sq = fname == "mean_squared_error"
    terms = d * d if sq else np.abs(d)
    blocks = [Text(("squared error (y_pred - y_true)^2" if sq else "absolute error |y_pred - y_true|")
                   + " per element, mean over the last axis.")]
    rows, steps = [], []
    flat = list(zip(t.reshape(-1), y.reshape(-1), d.reshape(-1), terms.reshape(-1)))
    for k, (tt, yy, dd, term) in enumerate(flat[:opts.limit(len(flat))]):
        rows.append([str(k), opts.plain(tt), opts.plain(yy), opts.fmt(dd), opts.fmt(term)])
        steps.append({"sample": k, "target": float(tt), "prediction": float(yy), "difference": float(dd),
                      "loss": float(term)})
    blocks.append(Table(["element", "y_true", "y_pred", "difference", "squared" if sq else "absolute"], rows))
    return blocks, steps


def _reduction(per_sample, reduction, loss_value, opts):
    if per_sample is None:
        return [Text(f"loss = {value_text(loss_value, opts.fmt, opts)}", mono=True)]
    v = np.asarray(per_sample, np.float64).reshape(-1)
    shown = value_text(v, opts.fmt, opts)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        how = f"mean of the {v.size} per-sample losses {shown}" if v.size > 1 else "the one sample's loss"
    elif reduction == "sum":
        how = f"sum of the per-sample losses {shown}"
    else:
        how = "per-sample losses (reduction none)"
    return [Text(f"loss = {how} = {value_text(loss_value, opts.fmt, opts)}", mono=True)]
