"""What ``compile`` sets up: the loss over one or several outputs and the metrics.

Keras 3's rules: a loss per output (a single loss, a list in output order, or a dict by
output name), optional ``loss_weights``; metrics per output, with "accuracy" resolved from
the loss and the shapes on the first batch; logs named "loss", "<output>_loss",
"<metric>" or "<output>_<metric>" when there are several outputs.
"""
import numpy as np

from glassnet import losses as losses_mod
from glassnet import metrics as metrics_mod


def _loss_object(identifier):
    if identifier is None:
        return None
    loss = losses_mod.get(identifier)
    if isinstance(loss, losses_mod.Loss):
        return loss
    if callable(loss):
        return losses_mod.LossFunctionWrapper(loss, name=getattr(loss, "__name__", "loss"))
    raise ValueError(f"compile: could not interpret loss {identifier!r}")


def _per_output(what, value, names):
    """Spread a compile argument over the outputs (single value, list, or dict by name)."""
    n = len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"compile: {what} names outputs {unknown} that the model does not have; outputs are {names}")
        return [value.get(k) for k in names]
    if isinstance(value, (list, tuple)) and n > 1:
        if len(value) != n:
            raise ValueError(f"compile: {what} has {len(value)} entries for a model with {n} outputs {names}")
        return list(value)
    if n == 1 and isinstance(value, (list, tuple)) and what == "loss":
        if len(value) != 1:
            raise ValueError(f"compile: {what} has {len(value)} entries for a model with 1 output")
        return list(value)
    return [value] * n


class CompiledLoss:
    """The total loss: the weighted sum of each output's loss (plus nothing else)."""

    def __init__(self, loss, loss_weights, output_names):
        self.names = output_names
        self.losses = [_loss_object(l) for l in _per_output("loss", loss, output_names)]
        weights = _per_output("loss_weights", loss_weights, output_names) if loss_weights is not None else [1.0] * len(output_names)
        self.weights = [1.0 if w is None else float(w) for w in weights]
        if all(l is None for l in self.losses):
            raise ValueError("compile: no loss given; pass loss=, e.g. loss=\"sparse_categorical_crossentropy\"")

    def __call__(self, y_true, y_pred, sample_weight=None):
        if len(self.losses) == 1 and self.weights[0] == 1.0 and self.losses[0] is not None \
                and y_true is not None and not isinstance(y_true, (dict, list, tuple)) \
                and not isinstance(y_pred, (dict, list, tuple)):
            value = self.losses[0](y_true, y_pred, sample_weight=sample_weight)  # one output: no bookkeeping
            return value, [value]
        ys_true = _outputs(y_true, self.names, "y")
        ys_pred = _outputs(y_pred, self.names, "model output")
        total, parts = None, []
        for name, loss, w, yt, yp in zip(self.names, self.losses, self.weights, ys_true, ys_pred):
            if loss is None:
                parts.append(None)
                continue
            if yt is None:
                raise ValueError(f"fit: the loss for output '{name}' needs targets y for it, received none")
            value = loss(yt, yp, sample_weight=sample_weight)
            parts.append(value)
            term = value if w == 1.0 else value * w
            total = term if total is None else total + term
        return total, parts


def _outputs(values, names, what):
    if isinstance(values, dict):
        return [values.get(n) for n in names]
    if isinstance(values, (list, tuple)):
        if len(values) != len(names):
            raise ValueError(f"expected {len(names)} {what}s for the outputs {names}, received {len(values)}")
        return list(values)
    if len(names) != 1:
        raise ValueError(f"the model has {len(names)} outputs {names}; pass y as a list or a dict by output name")
    return [values]


class CompiledMetrics:
    """Stateful metrics per output, built on the first batch (when shapes are known)."""

    def __init__(self, metrics, weighted_metrics, loss, output_names):
        self.names = output_names
        self.spec = _per_output("metrics", metrics, output_names) if metrics is not None else [None] * len(output_names)
        self.weighted_spec = _per_output("weighted_metrics", weighted_metrics, output_names) if weighted_metrics is not None else [None] * len(output_names)
        self.losses = _per_output("loss", loss, output_names)
        self.built = False
        self.entries = []  # (output index, metric, display name, weighted)

    def build(self, y_true, y_pred):
        ys_true = _outputs(y_true, self.names, "y")
        ys_pred = _outputs(y_pred, self.names, "model output")
        multi = len(self.names) > 1
        for i, name in enumerate(self.names):
            for spec, weighted in ((self.spec[i], False), (self.weighted_spec[i], True)):
                if spec is None:
                    continue
                for m in (spec if isinstance(spec, (list, tuple)) else [spec]):
                    metric, label = self._resolve(m, self.losses[i], ys_true[i], ys_pred[i])
                    if weighted:
                        label = "weighted_" + label
                    self.entries.append((i, metric, f"{name}_{label}" if multi else label, weighted))
        self.built = True

    @staticmethod
    def _resolve(identifier, loss, y_true, y_pred):
        shape_t = None if y_true is None else np.shape(y_true)
        shape_p = tuple(y_pred.shape)
        if isinstance(identifier, str) and identifier in ("accuracy", "acc"):
            return metrics_mod.resolve_accuracy(loss, shape_t, shape_p, name=identifier), identifier
        metric = metrics_mod.get(identifier)
        if not isinstance(metric, metrics_mod.Metric):
            metric = metrics_mod.MeanMetricWrapper(metric, name=getattr(metric, "__name__", "metric"))
        return metric, metric.name if not isinstance(identifier, str) else identifier

    def update(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        if not self.entries:
            return
        ys_true = _outputs(y_true, self.names, "y")
        ys_pred = _outputs(y_pred, self.names, "model output")
        for i, metric, _, weighted in self.entries:
            # the Tensor itself, so metrics see its _keras_mask; metrics never record a graph
            metric.update_state(ys_true[i], ys_pred[i], sample_weight=sample_weight if weighted else None)

    def results(self):
        """Each metric's result: a float, or an array for vector metrics (F1Score(average=None))."""
        out = {}
        for _, metric, label, _ in self.entries:
            value = np.asarray(metric.result())
            out[label] = float(value) if value.size == 1 else value
        return out

    def reset(self):
        for _, metric, _, _ in self.entries:
            metric.reset_state()

    @property
    def metrics(self):
        return [m for _, m, _, _ in self.entries]
