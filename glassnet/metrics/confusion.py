"""Confusion-matrix metrics: true/false positive/negative counts, Precision, Recall and AUC.

A prediction is positive at threshold t when y_pred > t; a label is positive when nonzero.
The counts are accumulated per threshold, weighted by sample_weight. With evenly spaced
thresholds (AUC's default 200) Keras buckets each prediction once, at
ceil(p (T - 1)) - 1, and sums the buckets from the top: O(n + T) instead of O(n T). This
file follows that exactly, so the results agree with Keras to the last bit of float32.
"""
import numpy as np

from glassnet.losses.base import EPSILON, squeeze_or_expand_to_same_rank
from glassnet.metrics.base import Metric, as_result, divide_no_nan, to_array

NEG_INF = -1e10
TP, FP, TN, FN = "tp", "fp", "tn", "fn"


def parse_thresholds(thresholds, default):
    if thresholds is None:
        return [default]
    thresholds = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in thresholds if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return thresholds


def is_evenly_distributed(thresholds):
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def filter_top_k(x, k):
    """Keep the k largest scores of the last axis; set the rest to -1e10."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, x.dtype)
    np.put_along_axis(keep, idx, 1, axis=-1)
    return x * keep + NEG_INF * (1 - keep)


def _bucketed(counts, y_true, y_pred, thresholds, multi_label, sample_weight, label_weights, with_epsilon):
    """Counts for evenly spaced thresholds by bucketing (Keras' optimized path)."""
    n_thr = len(thresholds)
    dtype = y_pred.dtype
    weights = np.ones((), dtype)
    if sample_weight is not None:
        weights = np.broadcast_to(sample_weight.astype(dtype), y_pred.shape)
        if not multi_label:
            weights = weights.reshape(-1)
    if label_weights is not None:
        lw = np.broadcast_to(np.expand_dims(label_weights, 0), y_pred.shape)
        weights = weights * (lw if multi_label else lw.reshape(-1))
    y_pred = np.clip(y_pred, 0.0, 1.0).astype(dtype, copy=False)
    y_true = (y_true != 0).astype(dtype)
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
    true_labels = y_true * weights
    false_labels = (1.0 - y_true) * weights
    buckets = np.ceil(y_pred * np.asarray(n_thr - 1, dtype)) - 1
    if with_epsilon:
        buckets = np.maximum(buckets, 0)
    buckets = buckets.astype(np.int64)

    def bucket_sums(values):
        values = np.broadcast_to(values, buckets.shape)
        if multi_label:  # one histogram per label column
            out = np.zeros((n_thr, buckets.shape[1]), np.float64)
            for j in range(buckets.shape[1]):
                ok = buckets[:, j] >= 0
                out[:, j] = np.bincount(buckets[ok, j], weights=values[ok, j], minlength=n_thr)[:n_thr]
            return out.astype(dtype)
        ok = buckets >= 0
        return np.bincount(buckets[ok], weights=values[ok], minlength=n_thr)[:n_thr].astype(dtype)

    # tp[i] = weight of positives with bucket >= i: a cumulative sum from the top
    tp = np.flip(np.cumsum(np.flip(bucket_sums(true_labels), 0), axis=0, dtype=dtype), 0)
    fp = np.flip(np.cumsum(np.flip(bucket_sums(false_labels), 0), axis=0, dtype=dtype), 0)
    axis = 0 if multi_label else None
    pos = np.sum(np.broadcast_to(true_labels, buckets.shape), axis=axis, dtype=dtype)
    neg = np.sum(np.broadcast_to(false_labels, buckets.shape), axis=axis, dtype=dtype)
    found = {TP: tp, FP: fp, TN: neg - fp, FN: pos - tp}
    for key, var in counts.items():
        var.assign_add(found[key])


def _compared(counts, y_true, y_pred, thresholds, multi_label, sample_weight, label_weights):
    """Counts for arbitrary thresholds by comparing every prediction with every threshold."""
    dtype = y_pred.dtype
    thr = np.asarray(thresholds, dtype)
    if multi_label:
        pred_pos = y_pred[None] > thr[:, None, None]          # (T, batch, labels)
        label_pos = np.broadcast_to((y_true != 0)[None], pred_pos.shape)
    else:
        pred_pos = y_pred.reshape(1, -1) > thr[:, None]        # (T, n)
        label_pos = np.broadcast_to((y_true != 0).reshape(1, -1), pred_pos.shape)
    weights = None
    if sample_weight is not None:
        weights = np.broadcast_to(sample_weight.astype(dtype), y_pred.shape)
        weights = weights[None] if multi_label else weights.reshape(1, -1)
    if label_weights is not None and not multi_label:
        lw = np.broadcast_to(np.expand_dims(label_weights, 0), y_pred.shape).reshape(1, -1)
        weights = lw if weights is None else weights * lw
    cells = {TP: (label_pos, pred_pos), FN: (label_pos, ~pred_pos),
             FP: (~label_pos, pred_pos), TN: (~label_pos, ~pred_pos)}
    for key, var in counts.items():
        label, pred = cells[key]
        hit = label & pred
        add = hit.sum(axis=1, dtype=dtype) if weights is None else np.where(hit, weights, 0).sum(axis=1, dtype=dtype)
        var.assign_add(add)


def update_confusion_matrix_variables(counts, y_true, y_pred, thresholds, top_k=None, class_id=None,
                                      sample_weight=None, multi_label=False, label_weights=None,
                                      thresholds_distributed_evenly=False):
    """Add this batch's weighted TP/FP/TN/FN per threshold to the Variables in ``counts``
    (keys "tp", "fp", "tn", "fn")."""
    dtype = next(iter(counts.values())).dtype
    y_true = to_array(y_true, dtype)
    y_pred = to_array(y_pred, dtype)
    with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        given_shape = np.shape(to_array(sample_weight))
        sample_weight = np.expand_dims(to_array(sample_weight, dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                f"When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {y_pred.shape}"
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if label_weights is not None:
        label_weights = to_array(label_weights, dtype)
    if sample_weight is not None:
        try:
            np.broadcast_shapes(sample_weight.shape, y_pred.shape)
        except ValueError:
            raise ValueError(
                f"sample_weight of shape {given_shape} does not match y_pred of shape "
                f"{y_pred.shape}; give one weight per sample"
            ) from None
    if thresholds_distributed_evenly:
        _bucketed(counts, y_true, y_pred, thresholds, multi_label, sample_weight, label_weights, with_epsilon)
    else:
        _compared(counts, y_true, y_pred, thresholds, multi_label, sample_weight, label_weights)


class _ConfusionMatrixConditionCount(Metric):
    """The weighted count of one confusion-matrix cell per threshold."""
    _cell = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5)
        self._evenly = is_evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix_variables({self._cell: self.accumulator}, y_true, y_pred, self.thresholds,
                                          sample_weight=sample_weight, thresholds_distributed_evenly=self._evenly)

    def result(self):
        acc = self.accumulator.data
        return as_result(acc[0] if len(self.thresholds) == 1 else acc.copy())

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted positive (y_pred > threshold)."""
    _cell = TP


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted positive."""
    _cell = FP


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted negative."""
    _cell = TN


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted negative."""
    _cell = FN


class _PrecisionRecall(Metric):
    _other = None  # FP for precision, FN for recall

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = is_evenly_distributed(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable((n,), name="true_positives")
        other = self.add_variable((n,), name="false_positives" if self._other == FP else "false_negatives")
        setattr(self, "false_positives" if self._other == FP else "false_negatives", other)
        self._other_var = other

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix_variables(
            {TP: self.true_positives, self._other: self._other_var}, y_true, y_pred, self.thresholds,
            top_k=self.top_k, class_id=self.class_id, sample_weight=sample_weight,
            thresholds_distributed_evenly=self._evenly,
        )

    def result(self):
        tp = self.true_positives.data
        res = divide_no_nan(tp, tp + self._other_var.data)
        return as_result(res[0] if len(self.thresholds) == 1 else res)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """TP / (TP + FP): of the samples predicted positive, the fraction that are positive.
    ``top_k`` counts only the k highest scores as predicted positive; ``class_id`` looks at
    one column of multi-class predictions."""
    _other = FP


class Recall(_PrecisionRecall):
    """TP / (TP + FN): of the positive samples, the fraction predicted positive."""
    _other = FN


CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Area under the ROC or precision-recall curve, approximated over ``num_thresholds``
    thresholds: trapezoids for ROC, Davis & Goadrich's interpolation for PR."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        if str(curve).lower() not in CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        if str(summation_method).lower() not in SUMMATIONS:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". '
                f'Expected values are ["interpolation", "majoring", "minoring"]'
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(thresholds)
            self._evenly = is_evenly_distributed(np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        # endpoints just outside [0, 1] so that predictions of exactly 0 and 1 are counted
        self._thresholds = np.array([0.0 - EPSILON] + list(thresholds) + [1.0 + EPSILON])
        self.curve = CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, self.dtype)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                    f"Full shape received for `y_pred`: {shape}"
                )
            self._num_labels = shape[1]
            var_shape = (self.num_thresholds, self._num_labels)
        else:
            var_shape = (self.num_thresholds,)
        self.true_positives = self.add_variable(var_shape, name="true_positives")
        self.false_positives = self.add_variable(var_shape, name="false_positives")
        self.true_negatives = self.add_variable(var_shape, name="true_negatives")
        self.false_negatives = self.add_variable(var_shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_array(y_pred)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = (1 / (1 + np.exp(-y_pred.astype(np.float64)))).astype(self.dtype)
        update_confusion_matrix_variables(
            {TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives, FN: self.false_negatives},
            y_true, y_pred, self._thresholds, sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            thresholds_distributed_evenly=self._evenly,
        )

    def _average(self, by_threshold):
        if not self.multi_label:
            return np.sum(by_threshold)
        by_label = np.sum(by_threshold, axis=0)
        if self.label_weights is None:
            return np.mean(by_label)
        return divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))

    def interpolate_pr_auc(self):
        """Davis & Goadrich (2006): precision interpolated along each segment of constant
        slope between thresholds, integrated in closed form."""
        tp, fp, fn = self.true_positives.data, self.false_positives.data, self.false_negatives.data
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = np.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(safe_p_ratio.astype(tp.dtype))
        increment = divide_no_nan(prec_slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increment)

    def result(self):
        if not self._built:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            return as_result(self.interpolate_pr_auc())
        tp, fp = self.true_positives.data, self.false_positives.data
        tn, fn = self.true_negatives.data, self.false_negatives.data
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
            recall_gain = np.maximum(np.where(tp == 0, 0.0, recall_gain), 0.0)
            precision_gain = np.where(tp == 0, 1.0, precision_gain)
            x, y = recall_gain.astype(tp.dtype), precision_gain.astype(tp.dtype)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return as_result(self._average((x[:-1] - x[1:]) * heights))

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {
            **super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
            "summation_method": self.summation_method, "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
