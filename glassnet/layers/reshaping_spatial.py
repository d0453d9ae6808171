"""Spatial reshaping layers, channels_last, Keras 3 names, arguments and defaults.

    ZeroPadding1D / ZeroPadding2D   add rows/columns of zeros around the steps / image
    Cropping1D / Cropping2D         remove them
    UpSampling1D / UpSampling2D     repeat each step / pixel ``size`` times ("nearest"), or
                                    interpolate bilinearly (UpSampling2D, "bilinear")

None of them has weights; their gradients send each output value back to where it came from.
"""
import numpy as np

from glassnet import ops
from glassnet.layers.convolutional import SpatialLayer, layer_label, data_format_arg, int_tuple
from glassnet.layers.layer import InputSpec


def _pairs(layer, value, name, default_msg):
    """An int, 2 ints (symmetric) or 2 (before, after) pairs, as ((t, b), (l, r)), all >= 0."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{layer_label(layer)}: `{name}` should be {default_msg}, received {value!r}")
    return (int_tuple(layer, value[0], 2, f"{name}[0]", minimum=0),
            int_tuple(layer, value[1], 2, f"{name}[1]", minimum=0))


_PAIRS_MSG = ("an int, a tuple of 2 ints (symmetric_height, symmetric_width), or a tuple of 2 tuples "
              "of 2 ints ((top, bottom), (left, right))")


def _grow(n, before, after):
    return None if n is None else n + before + after


class ZeroPadding1D(SpatialLayer):
    """(batch, steps, channels) -> (batch, left + steps + right, channels), the new steps zero.
    padding: int (both sides) or (left, right)."""

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = int_tuple(self, padding, 2, "padding", minimum=0)
        self.data_format = data_format_arg(self, data_format, 1)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return ops.pad(inputs, ((0, 0), self.padding, (0, 0)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _grow(input_shape[1], *self.padding), input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class ZeroPadding2D(SpatialLayer):
    """(batch, h, w, channels) -> (batch, top + h + bottom, left + w + right, channels), zeros around.
    padding: int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(self, padding, "padding", _PAIRS_MSG)
        self.data_format = data_format_arg(self, data_format, 2)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return ops.pad(inputs, ((0, 0), *self.padding, (0, 0)))

    def compute_output_shape(self, input_shape):
        (t, b), (l, r) = self.padding
        return (input_shape[0], _grow(input_shape[1], t, b), _grow(input_shape[2], l, r), input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class _Cropping(SpatialLayer):
    """Remove ``cropping`` = ((before, after) per spatial axis) from the input's edges."""

    def _crops(self):
        return self.cropping if self.rank == 2 else (self.cropping,)

    def _check_sizes(self, shape):
        sizes = tuple(shape[1:-1])
        if any(n is not None and b + a >= n for n, (b, a) in zip(sizes, self._crops())):
            raise ValueError(
                f"{layer_label(self)}: cropping {self.cropping} must leave at least one step/pixel of the input's "
                f"spatial size {sizes} (input shape {(None,) + tuple(shape[1:])})"
            )

    def build(self, input_shape):
        self._check_rank(input_shape)
        self._check_sizes(input_shape)
        self.built = True

    def call(self, inputs):
        self._check_sizes(inputs.shape)
        index = (slice(None),) + tuple(slice(b, n - a) for n, (b, a) in zip(inputs.shape[1:-1], self._crops()))
        return inputs[index + (slice(None),)]

    def compute_output_shape(self, input_shape):
        spatial = tuple(None if n is None else n - b - a for n, (b, a) in zip(input_shape[1:-1], self._crops()))
        return (input_shape[0],) + spatial + (input_shape[-1],)


class Cropping1D(_Cropping):
    """(batch, steps, channels) -> (batch, steps - left - right, channels).
    cropping: int (both sides) or (left, right)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = int_tuple(self, cropping, 2, "cropping", minimum=0)
        self.input_spec = InputSpec(ndim=3)

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config


class Cropping2D(_Cropping):
    """(batch, h, w, channels) -> (batch, h - top - bottom, w - left - right, channels).
    cropping: int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(self, cropping, "cropping", _PAIRS_MSG)
        self.data_format = data_format_arg(self, data_format, 2)
        self.input_spec = InputSpec(ndim=4)

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config


class UpSampling1D(SpatialLayer):
    """Repeat each step ``size`` times: (batch, steps, channels) -> (batch, steps * size, channels)."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"{layer_label(self)}: `size` must be a positive integer, received {size!r}")
        self.size = int(size)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


def bilinear_matrix(n, factor, dtype):
    """(n * factor, n) matrix A with A @ v = v resized bilinearly, half-pixel centres (Keras'
    resize, PyTorch's align_corners=False): output i samples v at (i + 0.5) / factor - 0.5,
    clamped to the edges."""
    src = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = src - lo
    a = np.zeros((n * factor, n))
    rows = np.arange(n * factor)
    np.add.at(a, (rows, lo), 1 - frac)
    np.add.at(a, (rows, hi), frac)
    return a.astype(dtype)


class UpSampling2D(SpatialLayer):
    """Repeat each row size[0] times and each column size[1] times ("nearest"), or resize
    bilinearly ("bilinear"): (batch, h, w, channels) -> (batch, h * size[0], w * size[1], channels).

    Bilinear is two matrix products, one per axis (out = A_h x A_w^T per channel), so its
    gradient comes from matmul's.
    """

    _INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = int_tuple(self, size, 2, "size")
        self.data_format = data_format_arg(self, data_format, 2)
        mode = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if mode not in self._INTERPOLATIONS:
            raise ValueError(
                f"{layer_label(self)}: interpolation must be one of {self._INTERPOLATIONS} in glassnet, "
                f"received {interpolation!r}"
            )
        self.interpolation = mode
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(inputs, self.size[0], axis=1), self.size[1], axis=2)
        n, h, w, c = inputs.shape
        (fh, fw), dtype = self.size, inputs.dtype
        # along height: (H', H) @ (N, H, W*C); along width: (W', W) @ (N*H', W, C)
        x = ops.matmul(bilinear_matrix(h, fh, dtype), ops.reshape(inputs, (n, h, w * c)))
        x = ops.matmul(bilinear_matrix(w, fw, dtype), ops.reshape(x, (n * h * fh, w, c)))
        return ops.reshape(x, (n, h * fh, w * fw, c))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h * self.size[0], None if w is None else w * self.size[1], c)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format, "interpolation": self.interpolation})
        return config
