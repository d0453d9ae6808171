"""Progbar: Keras 3's progress display for fit/evaluate/predict.

verbose=1: a live bar, ``12/469 ━━━━━━━━━━━━━━━━━━━━ 3s 9ms/step - accuracy: 0.8125 - loss: 0.52``
verbose=2: one line when the epoch ends. The format is Keras', so logs read the same; it is
written here (not with tqdm) because no progress library renders that exact line.
"""
import math
import sys
import time


def _fmt_value(v):
    if not isinstance(v, (int, float)):
        return str(v)  # vector metrics are shown as they are
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def _fmt_time_per_unit(seconds, unit="step"):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


def _fmt_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class Progbar:
    """A progress bar over ``target`` steps; ``update(current, values)`` shows values as given
    (the training loop passes running means, so nothing is averaged again here)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, unit_name="step", stream=None):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stream = stream or sys.stdout
        self.dynamic = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.last_update = 0.0
        self.first_step_done_at = None
        self.prev_width = 0
        self.values = {}

    def _time_per_step(self, current, now):
        if current <= 0:
            return 0.0
        if self.first_step_done_at is None:
            self.first_step_done_at = now
            return now - self.start
        if current == 1:
            return now - self.start
        # the first step includes one-off costs (building, allocation); leave it out
        return (now - self.first_step_done_at) / max(current - 1, 1)

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values:
            self.values.update(values)
        now = time.perf_counter()
        per_step = self._time_per_step(current, now)
        if self.verbose == 1:
            if now - self.last_update < self.interval and not finalize:
                return
            self.last_update = now
            if self.target:
                digits = int(math.log10(self.target)) + 1
                done = int(self.width * min(current / self.target, 1.0))
                bar = f"{current:{digits}d}/{self.target} " + "━" * done + ("━" * (self.width - done) if not self.dynamic else f"\x1b[37m{'━' * (self.width - done)}\x1b[0m")
            else:
                bar = f"{current:7d}/Unknown"
            if self.target and not finalize:
                info = " " + _fmt_eta(per_step * (self.target - current))
            else:
                info = f" {now - self.start:.0f}s"
            info += _fmt_time_per_unit(per_step, self.unit_name)
            info += "".join(f" - {k}: {_fmt_value(v)}" for k, v in self.values.items())
            line = bar + info
            width = len(line) - (13 if self.dynamic and self.target else 0)
            if self.dynamic:
                out = "\r" + line + " " * max(self.prev_width - width, 0)
                if finalize:
                    out += "\n"
            else:
                if not finalize:
                    return  # not a terminal: no carriage-return animation, one line at the end
                out = line + "\n"
            self.prev_width = width
            self.stream.write(out)
            self.stream.flush()
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            info = f"{current:{digits}d}/{self.target} - {now - self.start:.0f}s -" + _fmt_time_per_unit(per_step, self.unit_name)
            info += "".join(f" - {k}: {_fmt_value(v)}" for k, v in self.values.items())
            self.stream.write(info + "\n")
            self.stream.flush()
