"""The learning-rate range test (L. Smith, "Cyclical Learning Rates", 2015; fastai's lr_find).

Train for up to ``steps`` batches while the learning rate grows exponentially from
``min_lr`` to ``max_lr``: ``lr_i = min_lr * (max_lr / min_lr) ** (i / (steps - 1))``.
Record the loss of each batch, smoothed with a bias-corrected moving average
``avg_i = beta * avg_{i-1} + (1 - beta) * loss_i``, ``smooth_i = avg_i / (1 - beta ** (i+1))``,
and stop once ``smooth_i > stop_factor * min(smooth)`` (the loss is exploding) or the loss
is not finite. A good learning rate lies where the smoothed loss falls fastest.

The test changes nothing: the model's weights, the optimizer's state (slots, iteration,
learning rate) and glassnet's global random state are put back afterwards, so a ``fit``
after it runs exactly as it would have without it.

    result = gn.utils.find_learning_rate(model, x_train, y_train)
    print(result.suggestion)        # the steepest descent of the smoothed loss
    result.plot()                   # loss against learning rate (log scale), needs matplotlib
"""
import math

import numpy as np

from glassnet import random as gn_random


class LRFinderResult:
    """What ``find_learning_rate`` measured.

    Attributes:
        learning_rates: the learning rate of each batch tried (a NumPy array).
        losses: the smoothed loss of each batch (what ``plot`` draws and the suggestion uses).
        raw_losses: the loss of each batch as ``train_on_batch`` returned it.
        suggestion: the learning rate at the steepest descent of the smoothed loss: the most
            negative slope of loss against log(lr), measured over windows of n/20 points
            between the first tenth of the sweep and the loss minimum (the window's middle);
            ``min_loss_lr / 10`` when the curve has no descent to measure.
        min_loss_lr: the learning rate at the lowest smoothed loss.
        suggestion_min_loss: ``min_loss_lr / 10``, the other common rule of thumb.
        stopped_early: True when the loss exploded before ``steps`` batches.
    """

    def __init__(self, learning_rates, losses, raw_losses, stopped_early):
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        self.raw_losses = np.asarray(raw_losses, dtype=np.float64)
        self.stopped_early = stopped_early
        if len(self.losses) == 0:
            raise ValueError("find_learning_rate: the first batch already gave a non-finite loss; lower min_lr")
        best = int(np.argmin(self.losses))
        self.min_loss_lr = float(self.learning_rates[best])
        self.suggestion_min_loss = self.min_loss_lr / 10.0
        self.steepest_index = _steepest_descent(self.learning_rates, self.losses, best)
        self.suggestion = (self.suggestion_min_loss if self.steepest_index is None
                           else float(self.learning_rates[self.steepest_index]))

    def plot(self, ax=None, skip_start=0, skip_end=0, show_suggestion=True):
        """Smoothed loss against learning rate (log x axis); returns the matplotlib Figure."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError("LRFinderResult.plot needs matplotlib: `pip install matplotlib`") from error
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        else:
            fig = ax.figure
        end = len(self.losses) - skip_end if skip_end else len(self.losses)
        ax.plot(self.learning_rates[skip_start:end], self.losses[skip_start:end], label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("loss")
        ax.set_title("Learning-rate range test")
        if show_suggestion:
            i = self.steepest_index if self.steepest_index is not None else int(np.argmin(self.losses))
            ax.plot([self.suggestion], [self.losses[i]], "o", color="C3",
                    label=f"suggestion {self.suggestion:.2e}")
            ax.legend()
        return fig

    def __repr__(self):
        return (f"<LRFinderResult {len(self.losses)} steps, lr {self.learning_rates[0]:.1e}.."
                f"{self.learning_rates[-1]:.1e}, suggestion={self.suggestion:.3e}, min_loss_lr={self.min_loss_lr:.3e}>")


def _steepest_descent(lrs, losses, best):
    """Index of the steepest descent of the smoothed loss before its minimum, or None.

    The slope is measured over a window of ``k = max(2, n // 20)`` points, ``(L[i+k] - L[i]) /
    (log lr[i+k] - log lr[i])``, starting after the first tenth of the sweep: the bias-corrected
    average is still noisy there and one-step differences would pick noise. The index returned
    is the middle of the steepest window."""
    n = len(losses)
    k = max(2, n // 20)
    start = max(1, n // 10)
    if best - k <= start:
        return None
    i = np.arange(start, best - k + 1)
    slopes = (losses[i + k] - losses[i]) / (np.log(lrs[i + k]) - np.log(lrs[i]))
    j = int(np.argmin(slopes))
    return int(i[j] + k // 2) if slopes[j] < 0 else None


def _take(struct, index):
    if isinstance(struct, dict):
        return {k: _take(v, index) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_take(v, index) for v in struct)
    return np.asarray(struct)[index]


def _num_samples(struct):
    if isinstance(struct, dict):
        return _num_samples(next(iter(struct.values())))
    if isinstance(struct, (list, tuple)):
        return _num_samples(struct[0])
    return len(struct)


def find_learning_rate(model, x, y, min_lr=1e-7, max_lr=10.0, steps=100, batch_size=32, stop_factor=4.0, beta=0.98):
    """Run the LR range test on a compiled model; returns an ``LRFinderResult``.

    Args:
        model: a compiled model whose optimizer has a float learning rate (not a schedule).
        x, y: training arrays (or lists/dicts of arrays), as for ``fit``.
        min_lr, max_lr: the first and last learning rate of the sweep.
        steps: the number of batches (the data is reshuffled and reused when it runs out).
        batch_size: samples per batch.
        stop_factor: stop when the smoothed loss exceeds ``stop_factor`` times its minimum.
        beta: the smoothing factor of the loss' moving average (0 = no smoothing).
    """
    if not getattr(model, "compiled", False):
        raise RuntimeError(f'find_learning_rate: model "{model.name}" must be compiled first: '
                           "call model.compile(optimizer=..., loss=...)")
    if not 0 < min_lr < max_lr:
        raise ValueError(f"find_learning_rate: need 0 < min_lr < max_lr, received min_lr={min_lr}, max_lr={max_lr}")
    if int(steps) != steps or steps < 2:
        raise ValueError(f"find_learning_rate: steps must be an integer >= 2, received {steps!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"find_learning_rate: beta must be in [0, 1), received {beta!r}")
    if stop_factor is not None and stop_factor <= 1:
        raise ValueError(f"find_learning_rate: stop_factor must be > 1 (or None), received {stop_factor!r}")
    n = _num_samples(x)
    if n == 0:
        raise ValueError("find_learning_rate: x has 0 samples")
    batch = min(int(batch_size), n)

    optimizer = model.optimizer
    if not optimizer.built:
        if not model.trainable_variables:
            raise ValueError(f'find_learning_rate: model "{model.name}" has no weights yet; build it first '
                             "(start it with an Input layer or call it on a batch)")
        optimizer.build(model.trainable_variables)
    saved_weights = model.get_weights()
    saved_optimizer = optimizer.get_state()
    saved_rng = gn_random.get_state()
    try:
        optimizer.learning_rate = float(min_lr)
    except TypeError as error:
        raise ValueError("find_learning_rate needs an optimizer with a float learning rate, not a schedule: "
                         f"compile with e.g. {type(optimizer).__name__}(learning_rate=1e-3)") from error

    lrs = min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))
    tried, smoothed, raw = [], [], []
    avg, best, stopped = 0.0, math.inf, False
    try:
        order, cursor = None, n
        for i, lr in enumerate(lrs):
            if cursor + batch > n:
                order, cursor = gn_random.generator().permutation(n), 0
            index = order[cursor: cursor + batch]
            cursor += batch
            optimizer.learning_rate = float(lr)
            model.reset_metrics()  # so the loss returned is this batch's alone
            try:
                with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
                    logs = model.train_on_batch(_take(x, index), _take(y, index), return_dict=True)
                loss = float(logs["loss"])
            except FloatingPointError:  # the loop's NaN/inf check (gn.debug.NonFiniteError): diverged
                loss = math.nan
            if not math.isfinite(loss):
                stopped = True
                break
            avg = beta * avg + (1 - beta) * loss
            smooth = avg / (1 - beta ** (i + 1))
            tried.append(float(lr))
            smoothed.append(smooth)
            raw.append(loss)
            if stop_factor is not None and i > 0 and smooth > stop_factor * best:
                stopped = True
                break
            best = min(best, smooth)
    finally:
        model.set_weights(saved_weights)
        optimizer.set_state(saved_optimizer)
        gn_random.set_state(saved_rng)
        model.reset_metrics()
    return LRFinderResult(tried, smoothed, raw, stopped)
