"""Preprocessing layers: Normalization (feature standardisation, learned with ``adapt``)
and Rescaling (a fixed affine map, e.g. pixels 0..255 to 0..1)."""
import numpy as np

from glassnet import ops
from glassnet.layers.layer import Layer
from glassnet.tensor import Tensor

EPSILON = 1e-7  # keras.backend.epsilon(): the smallest standard deviation divided by


class Normalization(Layer):
    """y = (x - mean) / max(sqrt(variance), 1e-7), per position along ``axis``
    (``invert=True``: x * max(sqrt(variance), 1e-7) + mean, undoing it).

    The statistics are given (``mean``, ``variance``) or learned with ``adapt(data)``, which
    reduces over every axis not in ``axis`` (``axis=None``: one mean and variance for all).
    Adapted layers hold the weights [mean, variance, count] (count kept for Keras' layout).
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)):
            axis = (int(axis),)
        else:
            axis = tuple(int(a) for a in axis)
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                f'Normalization "{self.name}": give both `mean` and `variance` or neither, received '
                f"mean={mean!r} and variance={variance!r}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f'Normalization "{self.name}": `mean` and `variance` must have the same shape, received '
                    f"{np.shape(mean)} and {np.shape(variance)}"
                )
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(
                    f'Normalization "{self.name}": the rank of `mean` must be at most the number of axes '
                    f"({len(self.axis)}), received mean shape {np.shape(mean)} for axis {self.axis}"
                )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.adapt_mean = self.adapt_variance = self.count = None
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        bad = [a for a in self.axis if not -ndim <= a < ndim]
        if bad:
            raise ValueError(
                f'Normalization "{self.name}": axis values must be in [-{ndim}, {ndim}) for inputs of shape '
                f"{tuple(input_shape)}, received axis={self.axis}"
            )
        keep = tuple(sorted(a % ndim for a in self.axis))
        unknown = [d for d in keep if input_shape[d] is None]
        if unknown:
            raise ValueError(
                f'Normalization "{self.name}": the kept axes must have known sizes, received axis={self.axis} '
                f"and input shape {tuple(input_shape)} (axis {unknown[0]} unknown)"
                + ("; the batch axis 0 cannot be kept" if 0 in unknown else "")
            )
        broadcast = [input_shape[d] if d in keep else 1 for d in range(ndim)]
        stat_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=stat_shape, initializer="zeros", name="mean", trainable=False)
            self.adapt_variance = self.add_weight(shape=stat_shape, initializer="ones", name="variance", trainable=False)
            self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", name="count", trainable=False)
            self._given = None
        else:
            self._given = tuple(self._align(np.asarray(v, np.float64), keep, ndim, broadcast)
                                for v in (self.input_mean, self.input_variance))
        self._keep_axis, self._broadcast_shape = keep, broadcast
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._build_input_shape = tuple(input_shape)
        self.built = True

    def _align(self, value, keep, ndim, broadcast):
        """A given mean/variance as an array broadcastable to the input: its dimensions line up
        with the kept axes from the right (a scalar applies everywhere), as in Keras."""
        shape = [1] * ndim
        for i in range(1, value.ndim + 1):
            shape[keep[-i]] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(shape), broadcast).copy()
        except ValueError:
            raise ValueError(
                f'Normalization "{self.name}": mean/variance of shape {value.shape} do not fit the kept axes '
                f"{keep} of size {tuple(broadcast[k] for k in keep)}"
            ) from None

    def adapt(self, data):
        """Learn the mean and variance of ``data``: an array, or an iterable of batches (arrays),
        combined batch by batch exactly (means and variances weighted by their counts)."""
        if isinstance(data, Tensor):
            data = data.numpy()
        if isinstance(data, np.ndarray):
            batches = iter([data])
        elif hasattr(data, "__iter__"):
            batches = iter(data)
        else:
            raise TypeError(f'Normalization "{self.name}": adapt() takes an array or an iterable of array batches, received {type(data).__name__}')
        first = next(batches, None)
        if first is None:
            raise ValueError(f'Normalization "{self.name}": adapt() received no data (an empty iterable)')
        if isinstance(first, (tuple, list)) and first and hasattr(first[0], "shape"):
            raise ValueError(f'Normalization "{self.name}": adapt() takes inputs only; pass x, not (x, y) pairs')
        if self.input_mean is not None:
            raise ValueError(f'Normalization "{self.name}": cannot adapt a layer constructed with fixed `mean` and `variance`')
        first = np.asarray(first.numpy() if isinstance(first, Tensor) else first)
        if not self.built:
            self._maybe_build(first)
        total_mean = total_var = None
        total = 0
        for batch in [first, *batches]:
            batch = np.asarray(batch.numpy() if isinstance(batch, Tensor) else batch, np.float64)
            if batch.ndim != len(self._build_input_shape) or any(batch.shape[d] != self._build_input_shape[d] for d in self._keep_axis):
                raise ValueError(
                    f'Normalization "{self.name}": the layer was built for inputs of shape {self._build_input_shape}, '
                    f"adapt() received a batch of shape {batch.shape}"
                )
            mean = batch.mean(axis=self._reduce_axis)
            var = batch.var(axis=self._reduce_axis)
            n = int(np.prod([batch.shape[d] for d in self._reduce_axis]))
            if total_mean is None:
                total_mean, total_var, total = mean, var, n
                continue
            # pooled variance: within-batch variances plus the spread of the batch means
            w = n / (total + n)
            new_mean = total_mean * (1 - w) + mean * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1 - w) + (var + (mean - new_mean) ** 2) * w
            total_mean, total = new_mean, total + n
        self.adapt_mean.assign(total_mean.astype(self.adapt_mean.dtype))
        self.adapt_variance.assign(total_var.astype(self.adapt_variance.dtype))

    def _statistics(self, dtype):
        if self._given is not None:
            mean, var = self._given
        else:
            mean = self.adapt_mean.data.reshape(self._broadcast_shape)
            var = self.adapt_variance.data.reshape(self._broadcast_shape)
        std = np.maximum(np.sqrt(var), EPSILON)
        return Tensor(mean.astype(dtype)), Tensor(std.astype(dtype))

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        mean, std = self._statistics(x.dtype)
        if self.invert:
            return x * std + mean
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": list(self.axis),
            "invert": self.invert,
            "mean": None if self.input_mean is None else np.asarray(self.input_mean).tolist(),
            "variance": None if self.input_variance is None else np.asarray(self.input_variance).tolist(),
        })
        return config


def _plain(value):
    """A scale/offset as JSON: a number, or a list for an array (Keras' "__numpy__" dicts read too)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = value["config"]["value"]
    if isinstance(value, (np.ndarray, list, tuple)):
        return np.asarray(value).tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class Rescaling(Layer):
    """y = x * scale + offset, in float (integer images come out as floats).
    E.g. Rescaling(1/255) maps pixels 0..255 to 0..1; Rescaling(1/127.5, offset=-1) to -1..1.
    ``scale`` and ``offset`` may be arrays that broadcast against the channels."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, v in (("scale", scale), ("offset", offset)):
            try:
                arr = np.asarray(_plain(v), dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f'Rescaling "{self.name}": `{name}` must be a number or an array of numbers, received {v!r}') from None
            if not np.all(np.isfinite(arr)):
                raise ValueError(f'Rescaling "{self.name}": `{name}` must be finite, received {v!r}')
        self.scale = _plain(scale)
        self.offset = _plain(offset)
        self.supports_masking = True

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        scale = Tensor(np.asarray(self.scale, x.dtype))
        offset = Tensor(np.asarray(self.offset, x.dtype))
        return x * scale + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config
