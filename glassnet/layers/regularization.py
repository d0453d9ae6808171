"""Regularisation layers: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout (random, in
training only; the identity at inference) and ActivityRegularization (a penalty on outputs)."""
import math

import numpy as np

from glassnet import ops, regularizers
from glassnet import random as gn_random
from glassnet.layers.core import Dropout
from glassnet.layers.layer import InputSpec, Layer
from glassnet.tensor import Tensor


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared by
    every position in space or time (rate, seed and scaling as Dropout)."""

    _rank = None

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f'{type(self).__name__} "{self.name}": data_format must be "channels_last" or "channels_first", received {data_format!r}')
        self.data_format = data_format or "channels_last"
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _noise_shape(self, shape):
        space = (1,) * self._rank
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + space
        return (shape[0],) + space + (shape[-1],)

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            return ops.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs.shape), seed=self._rng)
        return inputs

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        config.pop("trainable", None)  # Keras' SpatialDropout constructors do not take it
        config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of (batch, time, channels) sequences (Tompson et al. 2015)."""
    _rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        return config


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of (batch, height, width, channels) images."""
    _rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole feature maps of (batch, d1, d2, d3, channels) volumes."""
    _rank = 3


class GaussianNoise(Layer):
    """In training, y = x + noise, noise ~ N(0, stddev^2) drawn anew for each call;
    at inference, y = x."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float, np.integer, np.floating)) or not 0 <= stddev <= 1:
            raise ValueError(f'GaussianNoise "{self.name}": stddev must be a number in [0, 1], received {stddev!r}')
        self.stddev = float(stddev)
        self.seed = seed
        self._rng = None if seed is None else gn_random.generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if training and self.stddev > 0:
            noise = gn_random.generator(self._rng).normal(0.0, self.stddev, size=inputs.shape)
            return inputs + Tensor(noise.astype(inputs.dtype))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class GaussianDropout(Layer):
    """In training, y = x * m with m ~ N(1, rate / (1 - rate)) drawn for each value (the
    multiplicative noise with the variance of dropout at that rate); at inference, y = x."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) or not 0 <= rate < 1:
            raise ValueError(f'GaussianDropout "{self.name}": rate must be a number in [0, 1), received {rate!r}')
        self.rate = float(rate)
        self.seed = seed
        self._rng = None if seed is None else gn_random.generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = gn_random.generator(self._rng).normal(1.0, stddev, size=inputs.shape)
            return inputs * Tensor(noise.astype(inputs.dtype))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class ActivityRegularization(Layer):
    """The identity, adding l1 * sum(|y|) + l2 * sum(y^2) of its output to the model's losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config
