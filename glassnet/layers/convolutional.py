"""Convolution layers, channels_last, with Keras 3's names, arguments, defaults and weights.

    Conv1D / Conv2D                    y = activation(conv(x, kernel) + bias)
                                       kernel (*k, in // groups, filters), bias (filters,)
    Conv1DTranspose / Conv2DTranspose  y = activation(conv_transpose(x, kernel) + bias)
                                       kernel (*k, filters, in), bias (filters,)
    DepthwiseConv1D / DepthwiseConv2D  each input channel convolved with its own
                                       depth_multiplier filters: kernel (*k, in, dm), bias (in*dm,)
    SeparableConv1D / SeparableConv2D  depthwise, then a 1x1 conv mixing the channels:
                                       depthwise_kernel (*k, in, dm), pointwise_kernel
                                       (*1, in*dm, filters), bias (filters,)

Inputs are (batch, steps, channels) for 1-D and (batch, height, width, channels) for 2-D.
The helpers at the top (argument checks, the rank check with its fix) are shared with the
pooling and spatial reshaping layers.
"""
import math

import numpy as np

from glassnet import activations, constraints, initializers, ops, regularizers
from glassnet.layers.core import fused_activation
from glassnet.layers.layer import InputSpec, Layer, standardize_tuple
from glassnet.ops.conv_transpose import deconv_output_length

_LAYOUTS = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)"}


# ---- argument checks shared by the spatial layers --------------------------------------
def layer_label(layer):
    return f'{type(layer).__name__} "{layer.name}"'


def int_tuple(layer, value, n, name, minimum=1):
    """``value`` (an int or ``n`` ints, each >= minimum) as a tuple, or a ValueError naming the layer."""
    if isinstance(value, bool):  # True is an int to Python, never a size
        raise ValueError(f"{layer_label(layer)}: `{name}` must be an int or a tuple of {n} ints, received {value!r}")
    out = standardize_tuple(value, n, name, layer=layer_label(layer), allow_zero=minimum == 0)
    return out


def padding_arg(layer, value, allow_causal=False):
    """"valid" / "same" (and "causal" for Conv1D), case-insensitive, as Keras' standardize_padding."""
    modes = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    mode = value.lower() if isinstance(value, str) else value
    if mode not in modes:
        hint = "; 'causal' is only for Conv1D" if mode == "causal" else ""
        raise ValueError(f"{layer_label(layer)}: `padding` must be one of {modes}, received {value!r}{hint}")
    return mode


def data_format_arg(layer, value, rank):
    """glassnet is channels_last only: anything else is an error with the fix."""
    if value in (None, "channels_last"):
        return "channels_last"
    raise ValueError(
        f"{layer_label(layer)}: only data_format='channels_last' (inputs {_LAYOUTS[rank]}) is supported, "
        f"received data_format={value!r}; move the channels axis last instead "
        f"(e.g. ops.transpose(x, {(0,) + tuple(range(2, rank + 2)) + (1,)}))"
    )


def rank_error(layer, shape, rank):
    """The error for an input of the wrong rank, with the likely fix."""
    want, got = rank + 2, len(shape)
    shown = (None,) + tuple(shape[1:]) if shape else shape
    kind = type(layer).__name__
    msg = (f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected ndim={want}, '
           f"found ndim={got}. Full shape received: {shown}. {kind} expects {_LAYOUTS[rank]}")
    side = math.isqrt(shape[1]) if got == 2 and isinstance(shape[1], (int, np.integer)) else 0
    if got == want - 1 and got >= 2:
        msg += f"; did you forget a channels axis? use Reshape({tuple(shape[1:]) + (1,)}) or x[..., None]"
    elif rank == 2 and got == 2 and side > 1 and side * side == shape[1]:
        msg += f"; these look like flattened images: use Reshape(({side}, {side}, 1)) first"
    elif rank == 1 and got == 4:
        msg += f"; for images use {kind.replace('1D', '2D')}"
    elif got > want:
        msg += f"; remove the extra axes (e.g. with Reshape) or use a layer made for rank-{got} inputs"
    return ValueError(msg)


class SpatialLayer(Layer):
    """Base of the layers on channels_last inputs with ``rank`` spatial axes: checks the rank
    (before any weight is made) and explains a wrong one."""

    rank = 2

    def _check_rank(self, shape):
        if shape is not None and len(shape) != self.rank + 2:
            raise rank_error(self, tuple(shape), self.rank)

    def _check_input(self, inputs):
        self._check_rank(getattr(inputs, "shape", None))
        super()._check_input(inputs)

    def build(self, input_shape):
        self._check_rank(input_shape)
        self.built = True


def conv_output_length(n, k, padding, stride, dilation=1):
    """Keras' conv/pool output length (None stays None)."""
    if n is None:
        return None
    k_eff = (k - 1) * dilation + 1
    if padding == "valid":
        return (n - k_eff) // stride + 1
    return -(-n // stride)  # "same" and "causal"


# ---- the layers --------------------------------------------------------------------------
class _BaseConv(SpatialLayer):
    """What every convolution shares: window arguments, bias, activation, config."""

    _allow_causal = False

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, bias_initializer="zeros", bias_regularizer=None,
                 activity_regularizer=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        rank = self.rank
        self.kernel_size = int_tuple(self, kernel_size, rank, "kernel_size")
        self.strides = int_tuple(self, strides, rank, "strides")
        self.padding = padding_arg(self, padding, allow_causal=self._allow_causal and rank == 1)
        self.data_format = data_format_arg(self, data_format, rank)
        self.dilation_rate = int_tuple(self, dilation_rate, rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _check_positive(self, name, value):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{layer_label(self)}: `{name}` must be a positive integer, received {value!r}")
        return int(value)

    def _no_strided_dilation(self):
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{layer_label(self)}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras), "
                f"received strides={self.strides} and dilation_rate={self.dilation_rate}"
            )

    def _channels(self, input_shape):
        """Check the rank, then return the (known) number of input channels."""
        self._check_rank(input_shape)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{layer_label(self)}: the channels axis (last) of the input must be known, received shape {tuple(input_shape)}")
        self._check_sizes(input_shape)
        return int(channels)

    def _spatial_out(self, input_shape):
        return tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                     zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))

    def _check_sizes(self, shape):
        out = self._spatial_out(shape)
        if any(n is not None and n <= 0 for n in out):
            span = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise ValueError(
                f"{layer_label(self)}: the window (kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}, "
                f"spanning {span}) is larger than the input's spatial size {tuple(shape[1:-1])} with padding='valid', "
                f"so the output would be empty (input shape {(None,) + tuple(shape[1:])}); use padding='same', a smaller "
                f"kernel, or fewer downsampling layers before this one"
            )

    def _bias_weight(self, size):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(size,), initializer=self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _finish(self, x):
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x) if self.activation is not None else x

    def _conv_finish(self, x, kernel, **conv_kwargs):
        """activation(conv(x, kernel) + bias): one graph node with the bias and activation in
        place on the conv's output when the activation is one ops.conv_bias_act knows and no
        glass-box hook watches (two fewer output-sized arrays: see ops/fused.py for the gain),
        else the plain conv, add and activation."""
        act = fused_activation(self.activation)
        if act is not None:
            return ops.conv_bias_act(x, kernel, self.bias, act, **conv_kwargs)
        return self._finish(ops.conv(x, kernel, **conv_kwargs))

    def get_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config


class _Conv(_BaseConv):
    """y = activation(conv(x, kernel) + bias); kernel (*kernel_size, in // groups, filters)."""

    _allow_causal = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        if lora_rank is not None or lora_alpha is not None:
            raise ValueError(f"{layer_label(self)}: lora_rank / lora_alpha are not supported by glassnet")
        self.filters = self._check_positive("filters", filters)
        self.groups = self._check_positive("groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{layer_label(self)}: filters={self.filters} must be divisible by groups={self.groups}")
        self._no_strided_dilation()
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"{layer_label(self)}: the input's {channels} channels must be divisible by groups={self.groups} "
                f"(input shape {tuple(input_shape)}); pick groups dividing both {channels} and filters={self.filters}"
            )
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self._bias_weight(self.filters)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        self._check_sizes(inputs.shape)
        return self._conv_finish(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                 dilation_rate=self.dilation_rate, groups=self.groups)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_out(input_shape) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        })
        return config


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels): kernel (kernel_size, in // groups, filters).
    padding="causal" pads (kernel_size - 1) * dilation_rate steps on the left only, so output
    step t sees inputs up to t (for sequence models)."""

    rank = 1


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels): kernel (kh, kw, in // groups, filters).

    Each output pixel is sum(window * kernel) + bias (cross-correlation, as Keras); "same"
    padding keeps ceil(size / stride) pixels, "valid" keeps only full windows.
    """

    rank = 2


class _ConvTranspose(_Conv):
    """y = activation(conv_transpose(x, kernel) + bias); kernel (*kernel_size, filters, in):
    the gradient of a convolution with respect to its input, so it upsamples by ``strides``."""

    _allow_causal = False

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = int_tuple(self, output_padding, self.rank, "output_padding", minimum=0)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"{layer_label(self)}: each output_padding must be smaller than its stride, received "
                    f"output_padding={self.output_padding} and strides={self.strides}"
                )

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self._bias_weight(self.filters)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def _spatial_out(self, input_shape):
        pads = self.output_padding or (None,) * self.rank
        return tuple(None if n is None else deconv_output_length(n, k, self.padding, p, s, d) for n, k, p, s, d in
                     zip(input_shape[1:-1], self.kernel_size, pads, self.strides, self.dilation_rate))

    def call(self, inputs):
        x = ops.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                               output_padding=self.output_padding, dilation_rate=self.dilation_rate)
        return self._finish(x)

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = self.output_padding
        return config


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution: kernel (kernel_size, filters, in); "valid" output length
    steps * stride + max(kernel_size - stride, 0), "same" steps * stride."""

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution ("deconvolution"): kernel (kh, kw, filters, in); with
    strides=2 and padding="same" it doubles height and width."""

    rank = 2


def depthwise_conv(x, kernel, strides, padding, dilation_rate):
    """Keras ``ops.depthwise_conv``: kernel (*k, C, dm) run as a grouped conv, groups = C;
    output channel c * dm + m is input channel c convolved with kernel[..., c, m]."""
    grouped, c = depthwise_as_grouped(kernel)
    return ops.conv(x, grouped, strides=strides, padding=padding, dilation_rate=dilation_rate, groups=c)


def depthwise_as_grouped(kernel):
    """A depthwise kernel (*k, C, dm) as the grouped conv kernel (*k, 1, C * dm), and C (the groups)."""
    k, (c, dm) = kernel.shape[:-2], kernel.shape[-2:]
    return ops.reshape(kernel, k + (1, c * dm)), c


class _DepthwiseConv(_BaseConv):
    """Each input channel convolved separately with depth_multiplier filters (no mixing):
    kernel (*kernel_size, in, depth_multiplier), bias (in * depth_multiplier,)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        self.depth_multiplier = self._check_positive("depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, name="kernel",
                                      regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self._bias_weight(channels * self.depth_multiplier)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        self._check_sizes(inputs.shape)
        grouped, c = depthwise_as_grouped(self.kernel)
        return self._conv_finish(inputs, grouped, strides=self.strides, padding=self.padding,
                                 dilation_rate=self.dilation_rate, groups=c)

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return (input_shape[0],) + self._spatial_out(input_shape) + (None if c is None else c * self.depth_multiplier,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
        })
        return config


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution: kernel (kernel_size, in, depth_multiplier)."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: kernel (kh, kw, in, depth_multiplier); output channel
    c * depth_multiplier + m comes from input channel c alone."""

    rank = 2


class _SeparableConv(_BaseConv):
    """Depthwise conv (depthwise_kernel (*k, in, dm)), then a pointwise 1x1 conv
    (pointwise_kernel (*1, in * dm, filters)) and the bias (filters,): Keras' weight order."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        self.filters = self._check_positive("filters", filters)
        self.depth_multiplier = self._check_positive("depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            name="depthwise_kernel", regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, name="pointwise_kernel",
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self._bias_weight(self.filters)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        self._check_sizes(inputs.shape)
        x = depthwise_conv(inputs, self.depthwise_kernel, self.strides, self.padding, self.dilation_rate)
        return self._conv_finish(x, self.pointwise_kernel)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_out(input_shape) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        })
        return config


class SeparableConv1D(_SeparableConv):
    """Depthwise separable 1-D convolution (depthwise, then pointwise)."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Depthwise separable 2-D convolution: a DepthwiseConv2D then a 1x1 Conv2D, with far
    fewer weights than a Conv2D of the same size."""

    rank = 2


# Keras' other names for the same layers
Convolution1D, Convolution2D = Conv1D, Conv2D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
