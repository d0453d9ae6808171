"""The sections of a training report, built from what a ``gn.callbacks.Report`` recorded.

``render(run)`` returns the page: a headline (final and best values, epochs, time), then
one section per picture or table, each with a stable id (summary, curves, learning-rate,
gradients, filters, feature-maps, evaluation, settings, timings). A section that cannot be
drawn for this model (no convolution, no labelled examples) says why instead of failing
the run, and a section that fails unexpectedly shows the error and warns.
"""
import datetime
import platform
import time
import warnings

import numpy as np

from glassnet.models.summary import summary_lines
from glassnet.viz import report_html as H
from glassnet.viz.evaluation import plot_confusion_matrix, prediction_vs_truth
from glassnet.viz.graph import graph_svg
from glassnet.viz.images import feature_maps, filters
from glassnet.viz.training_plots import learning_curves, lower_is_better, metric_names, plot_gradient_norms, \
    plot_learning_rate

_CLASSIFIER_WORDS = ("crossentropy", "hinge", "focal")


def _loss_name(loss):
    if loss is None:
        return "none"
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__


def _fmt(v):
    if isinstance(v, float):
        return "\u2013" if v != v else f"{v:.4g}"  # NaN: not measured that epoch
    return str(v)


def _seconds(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s" if s < 100 else f"{s / 60:.1f} min"


def render(run):
    """The report page (a string) for ``run``, a Report callback after or during training."""
    t0 = time.perf_counter()
    sections = [
        ("summary", "Model", _guard("Model", lambda: _summary_section(run))),
        ("curves", "Learning curves", _guard("Learning curves", lambda: _curves_section(run))),
        ("learning-rate", "Learning rate", _guard("Learning rate", lambda: _lr_section(run))),
        ("gradients", "Gradients", _guard("Gradient norms", lambda: _gradients_section(run))),
        ("filters", "Filters", _guard("First-layer filters", lambda: _filters_section(run))),
        ("feature-maps", "Feature maps", _guard("Feature maps", lambda: _feature_maps_section(run))),
        ("evaluation", "Evaluation", _guard("Evaluation", lambda: _evaluation_section(run))),
    ]
    run.render_seconds = time.perf_counter() - t0
    sections += [
        ("settings", "Settings", _guard("Settings", lambda: _settings_section(run))),
        ("timings", "Timings", _guard("Timings", lambda: _timings_section(run))),
    ]
    sections = [(sid, label, H.section(sid, *body)) for sid, label, body in sections]
    title = run.title or getattr(run.model, "name", "model")
    started = getattr(run, "_started", None) or datetime.datetime.now()
    n = len(run.epochs)
    meta = f"{started:%Y-%m-%d %H:%M} \u00b7 {n} epoch{'s' if n != 1 else ''} \u00b7 {_seconds(run.train_seconds)}"
    opt = getattr(run.model, "optimizer", None)
    if opt is not None:
        meta += f" \u00b7 {type(opt).__name__} \u00b7 loss {_loss_name(getattr(run.model, 'loss', None))}"
    import glassnet
    footer = (f"glassnet {glassnet.__version__} \u00b7 NumPy {np.__version__} \u00b7 Python {platform.python_version()}"
              f" \u00b7 {platform.system()} {platform.machine()}")
    return H.document(title, meta, _guard_cards(run), sections, footer)


def _guard_cards(run):
    try:
        return _cards(run)
    except Exception as e:
        warnings.warn(f"Report: the headline numbers could not be drawn: {type(e).__name__}: {e}", stacklevel=2)
        return []


def _guard(title, build):
    """A section's (title, body, lead), or a note saying why it could not be drawn."""
    try:
        return build()
    except Exception as e:
        warnings.warn(f"Report: the section {title!r} could not be drawn: {type(e).__name__}: {e}", stacklevel=2)
        return title, H.note(f"Could not draw this section: {type(e).__name__}: {e}"), None


def _cards(run):
    h = run.history()
    cards = []
    for name in metric_names(h)[:2]:
        for key in (name, "val_" + name):
            values = np.asarray(h.get(key, []), dtype=np.float64)
            if not values.size or not np.isfinite(values).any():
                continue
            best = np.nanmin(values) if lower_is_better(name) else np.nanmax(values)
            at = int(np.nanargmin(values) if lower_is_better(name) else np.nanargmax(values))
            label = key.replace("val_", "val ").replace("_", " ")
            last = values[np.isfinite(values)][-1]  # validation_freq > 1 leaves gaps
            cards.append(H.card(label, f"{last:.4g}", f"best {best:.4g} at epoch {run.epochs[at] + 1}"))
    planned = run.params.get("epochs")
    done = len(run.epochs)
    sub = "stopped early" if planned and run.epochs and run.epochs[-1] + 1 < planned else ""
    planned = planned - (run._fit.get("initial_epoch") or 0) if planned else None
    cards.append(H.card("epochs", f"{done} / {planned}" if planned else f"{done}", sub))
    cards.append(H.card("training time", _seconds(run.train_seconds),
                        f"{_seconds(float(np.mean(run.epoch_seconds)))} per epoch" if run.epoch_seconds else ""))
    return cards


def _summary_section(run):
    model = run.model
    rows = model._summary_rows()
    connected = any(len(r) > 3 for r in rows)
    header = ["Layer (type)", "Output shape", "Param #"] + (["Connected to"] if connected else [])
    body = H.table(header, rows, numeric=(2,), mono=(1,))
    totals = [line.strip() for line in summary_lines(model)
              if line.strip().startswith(("Total params", "Trainable params", "Non-trainable params", "Optimizer params"))]
    items = []
    for line in totals:
        key, _, value = line.partition(":")
        items.append(f"<li>{H.esc(key)}: <b>{H.esc(value.strip())}</b></li>")
    body += f'<ul class="totals">{"".join(items)}</ul>'
    try:
        svg = graph_svg(model)
        opened = " open" if connected else ""  # a branching graph says more than the table
        body += f'<details{opened}><summary>Computation graph</summary><div class="graph">{svg}</div></details>'
    except (ValueError, TypeError):
        pass
    lead = f'"{model.name}": {len(model.layers)} layers, {type(model).__name__} model.'
    return "Model", body, lead


def _curves_section(run):
    h = run.history()
    if not run.logs:
        return "Learning curves", H.note("No epoch finished, so there is nothing to plot."), None
    fig = learning_curves(h, epochs=run.epochs)
    keys = list(h)
    rows = [[e + 1] + [_fmt(h[k][i]) for k in keys] for i, e in enumerate(run.epochs)]
    table = H.table(["epoch"] + keys, rows, numeric=tuple(range(len(keys) + 1)))
    body = H.figure(fig, "learning curves") + \
        f'<details><summary>Values per epoch</summary><div class="scroll">{table}</div></details>'
    return "Learning curves", body, "Loss and metrics per epoch, on the training batches (solid) and " \
        "the validation data (dashed); the circle marks the best validation epoch."


def _lr_section(run):
    values = [v for v in run.lr_steps if np.isfinite(v)]
    if not values:
        return "Learning rate", H.note("No learning rate was recorded."), None
    if min(values) == max(values):
        return "Learning rate", H.note(f"Constant at {values[0]:.4g} for all {len(values):,} steps."), None
    steps = run.params.get("steps") or None
    fig = plot_learning_rate(values, steps_per_epoch=steps)
    return "Learning rate", H.figure(fig, "learning rate per step"), \
        f"The learning rate the optimizer used at each of the {len(values):,} steps."


def _gradients_section(run):
    if not run.grad_records:
        why = run._grad_error or "no labelled examples were available (pass x_sample and y_sample to Report)"
        return "Gradient norms", H.note(f"Not measured: {why}."), None
    fig = plot_gradient_norms(run.grad_records, epochs=run.grad_epochs)
    each = float(np.mean(run.grad_seconds))
    share = sum(run.grad_seconds) / run.train_seconds if run.train_seconds else 0.0
    lead = (f"The L2 norm of each layer's loss gradient on {min(run.grad_batch_size, len(run._sample[0]))} "
            f"examples from {run._sample[2]}, in inference mode, before training and every "
            f"{'epoch' if run.every == 1 else f'{run.every} epochs'}. Lower layers far below the upper ones "
            f"mean vanishing gradients; norms that keep growing, exploding ones. Each measurement took "
            f"{_seconds(each)} ({share:.1%} of the training time).")
    return "Gradient norms", H.figure(fig, "gradient norms per layer"), lead


def _filters_section(run):
    try:
        fig = filters(run.model)
    except ValueError as e:
        return "First-layer filters", H.note(str(e)), None
    layer = next(l for l in run.model.layers if getattr(l, "kernel", None) is not None)
    rgb = layer.kernel.ndim == 4 and layer.kernel.shape[2] == 3
    colours = "each filter's weights rescaled to colours" if rgb else "blue weights negative, red positive"
    return "First-layer filters", H.figure(fig, "first-layer filters"), \
        f"The learned kernels of {layer.name}, one small image per filter: the pattern each filter " \
        f"responds to most ({colours})."


def _feature_maps_section(run):
    x = run._sample[0]
    if x is None or not len(x):
        return "Feature maps", H.note("No example was available (pass x_sample to Report)."), None
    fig = feature_maps(run.model, x[:1])
    return "Feature maps", H.figure(fig, "feature maps of one example"), \
        f"The output of the first layer with image-like (else sequence) outputs for the first example of " \
        f"{run._sample[2]}, one panel per channel; gn.viz.feature_maps(model, x, layer=...) shows any layer."


def _is_classifier(run):
    name = _loss_name(getattr(run.model, "loss", None)).lower()
    if any(w in name for w in _CLASSIFIER_WORDS):
        return True
    metrics = (getattr(run.model, "_compile_config", None) or {}).get("metrics") or []
    return any("acc" in str(getattr(m, "name", m)).lower() for m in (metrics if isinstance(metrics, list) else []))


def _evaluation_section(run):
    x, y, source = run._sample
    if x is None or y is None:
        return "Evaluation", H.note("No labelled examples were available (pass x_sample and y_sample)."), None
    pred = run.model.predict(x[:run.max_samples], verbose=0, batch_size=256)
    y = y[:run.max_samples]
    if isinstance(pred, (list, tuple, dict)):
        return "Evaluation", H.note("The model has several outputs; evaluate each with gn.viz."), None
    if _is_classifier(run):
        fig = plot_confusion_matrix(y, pred, class_names=run.class_names)
        return "Confusion matrix", H.figure(fig, "confusion matrix"), \
            f"Predicted against true classes on {len(y):,} examples from {source}; rows are the true classes."
    fig = prediction_vs_truth(y, pred)
    return "Predictions against truth", H.figure(fig, "predictions against truth"), \
        f"Predicted against true values on {len(y):,} examples from {source}."


def _settings_section(run):
    model, fit, p = run.model, run._fit, run.params
    batch = p.get("batch_size") or fit.get("batch_size")
    x = getattr(fit.get("x"), "data", fit.get("x"))
    arrays = isinstance(x, np.ndarray)
    samples = len(x) if arrays else None
    split = fit.get("validation_split") or 0.0
    if samples and split:
        samples = int(samples * (1 - split))
    validation = ("validation_data" if fit.get("validation_data") is not None else
                  f"validation_split={split}" if split else "none")
    cfg = getattr(model, "_compile_config", None) or {}
    training = [
        ("loss", _loss_name(getattr(model, "loss", None))),
        ("metrics", ", ".join(str(getattr(m, "name", m)) for m in (cfg.get("metrics") or [])) or "none"),
        ("epochs", p.get("epochs")),
        ("batch size", batch if batch is not None else "32 (default)" if arrays else "from the data"),
        ("steps per epoch", p.get("steps")),
        ("training examples", f"{samples:,}" if samples else "-"),
        ("validation", validation),
        ("shuffle", fit.get("shuffle", True)),
        ("report examples", run._sample[2] or "none"),
    ]
    opt = getattr(model, "optimizer", None)
    optimizer = [("class", type(opt).__name__)] if opt is not None else []
    if opt is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k, v in opt.get_config().items():
                optimizer.append((k, _fmt(v) if not isinstance(v, dict) else _schedule_text(v)))
    body = (f'<div class="two"><div><h3>Training</h3>{H.kv_table(training)}</div>'
            f'<div><h3>Optimizer</h3>{H.kv_table(optimizer)}</div></div>')
    return "Settings", body, None


def _timings_section(run):
    pairs = [("training (fit, wall clock)", _seconds(run.train_seconds))]
    if run.epoch_seconds:
        e = np.asarray(run.epoch_seconds)
        pairs.append(("per epoch (mean, fastest, slowest)", f"{_seconds(e.mean())}, {_seconds(e.min())}, {_seconds(e.max())}"))
        steps = run.params.get("steps")
        if steps:
            pairs.append(("per training step (mean, incl. validation)", _seconds(e.mean() / steps)))
    if run.grad_seconds:
        total = sum(run.grad_seconds)
        share = total / run.train_seconds if run.train_seconds else 0.0
        pairs.append(("gradient-norm sampling", f"{len(run.grad_seconds)} \u00d7 {_seconds(total / len(run.grad_seconds))} "
                      f"= {_seconds(total)} ({share:.1%} of training)"))
    pairs.append(("drawing this report", _seconds(run.render_seconds)))
    return "Timings", H.kv_table(pairs), None


def _schedule_text(config):
    inner = config.get("config", {})
    args = ", ".join(f"{k}={_fmt(v)}" for k, v in inner.items() if k != "name")
    return f"{config.get('class_name', 'schedule')}({args})"
