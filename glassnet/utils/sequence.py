"""Preparing sequences and labels for a model: padding, one-hot labels, time-series windows.

``pad_sequences`` and ``to_categorical`` give the same results as ``keras.utils.pad_sequences``
and ``keras.utils.to_categorical``; ``timeseries_windows`` cuts a series into (input window,
next value) pairs for forecasting.
"""
import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) a list of sequences to one length: returns ``(num_samples, maxlen, *sample_shape)``.

    ``maxlen`` defaults to the longest sequence. Sequences longer than ``maxlen`` lose entries
    at the start (``truncating="pre"``) or the end (``"post"``); shorter ones get ``value``
    before (``padding="pre"``) or after (``"post"``). Entries may themselves be arrays (all of
    the shape of the first non-empty sequence's entries). As ``keras.utils.pad_sequences``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of sequences, received "
                         f"{type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: Padding type "{padding}" not understood; use "pre" or "post"')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: Truncating type "{truncating}" not understood; use "pre" or "post"')
    lengths = []
    sample_shape = None
    for i, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError as e:
            raise ValueError(
                f"pad_sequences: `sequences` must be a list of iterables; entry {i} is {s!r}"
            ) from e
        if sample_shape is None and len(s):
            sample_shape = np.asarray(s).shape[1:]
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)
    if maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0, received {maxlen}")
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(
            f"pad_sequences: `dtype` {dtype} is not compatible with `value`'s type: {type(value)}. "
            "Set dtype=object for variable-length strings."
        )
    out = np.full((len(lengths), maxlen) + tuple(sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: shape of sample {kept.shape[1:]} of sequence at position {i} "
                f"is different from expected shape {sample_shape}"
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out


def to_categorical(y, num_classes=None):
    """One-hot encode integer labels: shape ``y.shape + (num_classes,)``, float64 as in Keras.

    A trailing axis of size 1 is dropped first (``(n, 1)`` gives ``(n, num_classes)``).
    ``num_classes`` defaults to ``max(y) + 1``. Labels outside ``[0, num_classes)`` raise a
    ValueError (Keras would raise IndexError, or wrap negative labels silently).
    """
    y = np.array(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if not num_classes:
        if y.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(np.max(y)) + 1
    num_classes = int(num_classes)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"to_categorical: labels must be in [0, {num_classes}), received values from "
            f"{y.min()} to {y.max()}"
        )
    out = np.zeros((y.size, num_classes))
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (num_classes,))


def timeseries_windows(series, window, horizon=1):
    """Cut a series into inputs of ``window`` steps and the value ``horizon`` steps after each.

    ``X[i] = series[i : i + window]`` and ``y[i] = series[i + window + horizon - 1]``, for
    ``n = len(series) - window - horizon + 1`` windows, in time order. A series of shape
    ``(T,)`` gives ``X (n, window)`` and ``y (n,)``; ``(T, features)`` gives
    ``X (n, window, features)`` and ``y (n, features)``. For a recurrent layer on a 1-D
    series, add the features axis: ``X[..., None]``. Returns fresh (writable) arrays.
    """
    series = np.asarray(series)
    if series.ndim == 0:
        raise ValueError("timeseries_windows: expected a series with time on axis 0, received a scalar")
    window, horizon = int(window), int(horizon)
    if window < 1 or horizon < 1:
        raise ValueError(f"timeseries_windows: window and horizon must be >= 1, received {window}, {horizon}")
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError(
            f"timeseries_windows: a series of {len(series)} steps is too short for window={window} "
            f"and horizon={horizon} (needs at least {window + horizon})"
        )
    # sliding_window_view puts the window axis last: (T - window + 1, *features, window).
    views = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)[:n]
    x = np.moveaxis(views, -1, 1).copy()  # C order, writable, not sharing memory with series
    y = series[window + horizon - 1: window + horizon - 1 + n].copy()
    return x, y
