"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax (Keras 3) and Maxout.

Each is an activation function as a layer, so it can sit in a Sequential model, carry
options (a slope, a cap, an axis) and, for PReLU and Maxout, learn weights.
"""
import warnings

import numpy as np

from glassnet import activations, constraints, initializers, ops, regularizers
from glassnet.layers.layer import InputSpec, Layer
from glassnet.tensor import Tensor


def _non_negative(layer, name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or value < 0:
        raise ValueError(f'{type(layer).__name__} "{layer.name}": {name} must be a number >= 0, received {name}={value!r}')
    return float(value)


class ReLU(Layer):
    """f(x) = x for threshold < x < max_value, max_value above it, and
    negative_slope * (x - threshold) below the threshold (0 with the defaults)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative(self, "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative(self, "negative_slope", negative_slope)
        self.threshold = _non_negative(self, "threshold", threshold)
        self.supports_masking = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(Layer):
    """f(x) = x for x >= 0, negative_slope * x otherwise (the layer's default slope is 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name, still accepted (with a warning) by Keras 3
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated, use `negative_slope` instead", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(self, "negative_slope", negative_slope)
        self.supports_masking = True

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class PReLU(Layer):
    """f(x) = x for x >= 0, alpha * x otherwise, with alpha learned per position:
    alpha has the input's shape without the batch axis, size 1 along ``shared_axes``
    (e.g. shared_axes=[1, 2] after a Conv2D: one alpha per channel)."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        shared = set(self.shared_axes or [])
        bad = [a for a in shared if not 1 <= a < ndim]
        if bad:
            raise ValueError(
                f'PReLU "{self.name}": shared_axes must be axes 1..{ndim - 1} of the input (not the batch axis), '
                f"received shared_axes={self.shared_axes} for input shape {tuple(input_shape)}"
            )
        shape = [1 if i in shared else input_shape[i] for i in range(1, ndim)]
        if any(n is None for n in shape):
            raise ValueError(
                f'PReLU "{self.name}": every axis without a shared alpha needs a known size, received input shape '
                f"{tuple(input_shape)}; share the unknown axes with shared_axes"
            )
        self.alpha = self.add_weight(shape=shape, initializer=self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=ndim, axes={i: input_shape[i] for i in range(1, ndim) if i not in shared})
        self.built = True

    def call(self, inputs):
        # as Keras: relu(x) - alpha * relu(-x)
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config


class ELU(Layer):
    """f(x) = x for x > 0, alpha * (e^x - 1) otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.supports_masking = True

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha  # (Keras' ELU leaves it out of its config; it is needed)
        return config


def _large_negative(dtype):
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


class Softmax(Layer):
    """f(x) = e^x / sum(e^x) along ``axis`` (an int, or a list of axes normalised together).

    ``mask`` (broadcastable to the input; True/1 = keep): masked entries get probability 0
    and the rest share all of it, as in Keras.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis:
                raise ValueError(f'Softmax "{self.name}": axis must be an int or a non-empty list of ints')
            self.axis = [int(a) for a in axis]
        else:
            self.axis = int(axis)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        x = inputs
        keep = None
        if mask is not None:
            keep = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
            if keep.ndim > x.ndim or any(m != 1 and m != n for m, n in zip(keep.shape[::-1], x.shape[::-1])):
                raise ValueError(
                    f'Softmax "{self.name}": the mask must be broadcastable to the inputs (each mask dimension 1 or '
                    f"equal to the input's, aligned from the right), received inputs.shape={x.shape}, mask.shape={keep.shape}"
                )
            if keep.dtype != bool:
                keep = keep > 0.5
            x = ops.where(keep, x, _large_negative(x.dtype))
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        bad = [a for a in axes if not -x.ndim <= a < x.ndim]
        if bad:
            raise ValueError(f'Softmax "{self.name}": axis {bad[0]} is out of range for inputs of shape {x.shape}')
        if len(axes) == 1:
            out = ops.softmax(x, axis=axes[0])
        else:
            out = ops.exp(x - ops.logsumexp(x, axis=tuple(axes), keepdims=True))
        if keep is not None:
            out = ops.where(keep, out, 0.0)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Maxout(Layer):
    """Maxout units (Goodfellow et al. 2013; the lecture's max(w1^T x + b1, w2^T x + b2)):
    out[..., u] = max over p of (x @ kernel + bias)[..., u * pieces + p].

    Not in Keras. Weight layout: ``kernel`` (in, units * pieces) and ``bias``
    (units * pieces,), the columns grouped by unit: columns u*pieces .. u*pieces + pieces - 1
    are the ``pieces`` affine pieces of unit u (the layout of a Dense(units * pieces)
    followed by a reshape to (..., units, pieces) and a max over the last axis, so a Dense
    kernel of that width loads as is). Output (..., units).
    """

    def __init__(self, units, pieces=2, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for name, v in (("units", units), ("pieces", pieces)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f'Maxout "{self.name}": {name} must be a positive integer, received {v!r}')
        self.units, self.pieces = int(units), int(pieces)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f'Maxout "{self.name}": the last axis of the input must be known, received shape {tuple(input_shape)}')
        width = self.units * self.pieces
        self.kernel = self.add_weight(shape=(in_dim, width), initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(width,), initializer=self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self.built = True

    def call(self, inputs):
        z = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            z = z + self.bias
        z = ops.reshape(z, tuple(inputs.shape[:-1]) + (self.units, self.pieces))
        return ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "pieces": self.pieces,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config
