"""Pooling layers, channels_last, Keras 3 names, arguments and defaults.

    MaxPooling1D / MaxPooling2D            y = max of each pool_size window
    AveragePooling1D / AveragePooling2D    y = mean of each window ("same": real cells only)
    GlobalMaxPooling1D / 2D                y = max over all steps / pixels, per channel
    GlobalAveragePooling1D / 2D            y = mean over all steps / pixels, per channel
                                           (the 1-D one skips masked steps, like Keras)

None of them has weights. Windows default to strides = pool_size (no overlap).
"""
import numpy as np

from glassnet import ops
from glassnet.layers.convolutional import (
    SpatialLayer, layer_label, conv_output_length, data_format_arg, int_tuple, padding_arg,
)
from glassnet.layers.layer import InputSpec
from glassnet.tensor import Tensor


class _Pooling(SpatialLayer):
    """y = reduce over each pool_size window, moved by strides (default pool_size)."""

    _op = None  # ops.max_pool or ops.avg_pool

    def __init__(self, rank, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_size = int_tuple(self, pool_size, rank, "pool_size")
        self.strides = self.pool_size if strides is None else int_tuple(self, strides, rank, "strides")
        self.padding = padding_arg(self, padding)
        self.data_format = data_format_arg(self, data_format, rank)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _spatial_out(self, input_shape):
        return tuple(conv_output_length(n, k, self.padding, s)
                     for n, k, s in zip(input_shape[1:-1], self.pool_size, self.strides))

    def _check_sizes(self, shape):
        if any(n is not None and n <= 0 for n in self._spatial_out(shape)):
            raise ValueError(
                f"{layer_label(self)}: pool_size {self.pool_size} is larger than the input's spatial size "
                f"{tuple(shape[1:-1])} with padding='valid', so the output would be empty (input shape "
                f"{(None,) + tuple(shape[1:])}); use padding='same', a smaller pool_size, or fewer "
                f"downsampling layers before this one"
            )

    def build(self, input_shape):
        self._check_rank(input_shape)
        self._check_sizes(input_shape)
        self.built = True

    def call(self, inputs):
        self._check_sizes(inputs.shape)
        return type(self)._op(inputs, self.pool_size, strides=self.strides, padding=self.padding)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_out(input_shape) + (input_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding, "strides": self.strides,
                       "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling):
    """Max over windows of pool_size steps: (batch, steps, channels) -> (batch, out_steps, channels)."""
    _op = ops.max_pool

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(1, pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over pool_size windows: (batch, h, w, channels) -> (batch, out_h, out_w, channels).
    The gradient goes to each window's (first) maximum only."""
    _op = ops.max_pool

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(2, pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of pool_size steps; with padding="same" padded steps are not counted."""
    _op = ops.avg_pool

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(1, pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over pool_size windows; with padding="same" padded pixels are not counted."""
    _op = ops.avg_pool

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(2, pool_size, strides, padding, data_format, name=name, **kwargs)


class _GlobalPooling(SpatialLayer):
    """y = reduce over all spatial axes: (batch, *spatial, channels) -> (batch, channels),
    or (batch, 1, ..., 1, channels) with keepdims=True."""

    def __init__(self, rank, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.data_format = data_format_arg(self, data_format, rank)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _axes(self):
        return tuple(range(1, self.rank + 1))

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over all steps, per channel: (batch, steps, channels) -> (batch, channels)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format, keepdims, **kwargs)

    def call(self, inputs):
        return ops.max(inputs, axis=self._axes(), keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over all pixels, per channel: (batch, h, w, channels) -> (batch, channels)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format, keepdims, **kwargs)

    def call(self, inputs):
        return ops.max(inputs, axis=self._axes(), keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over all steps, per channel: (batch, steps, channels) -> (batch, channels).

    With a mask (batch, steps) (e.g. from Embedding(mask_zero=True)) only unmasked steps are
    averaged: y = sum(x * m) / sum(m). The output carries no mask.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1, keepdims=self.keepdims)
        m = np.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(bool)
        if m.shape != tuple(inputs.shape[:2]):
            raise ValueError(
                f"{layer_label(self)}: the mask must have shape (batch, steps) = {tuple(inputs.shape[:2])}, "
                f"received {m.shape}"
            )
        m = m[:, :, None]
        total = ops.sum(ops.where(m, inputs, 0.0), axis=1, keepdims=self.keepdims)
        count = m.sum(axis=1, keepdims=self.keepdims).astype(inputs.dtype)
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over all pixels, per channel: (batch, h, w, channels) -> (batch, channels)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format, keepdims, **kwargs)

    def call(self, inputs):
        return ops.mean(inputs, axis=self._axes(), keepdims=self.keepdims)


# Keras' other names for the same layers
MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
