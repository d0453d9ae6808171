"""Core layers: Dense, Activation, Flatten, Dropout (Keras 3 names, arguments, defaults)."""
import numpy as np

from glassnet import activations, autograd, constraints, initializers, ops, regularizers
from glassnet import random as gn_random
from glassnet.layers.layer import InputSpec, Layer

# the activations that ops.matmul_bias_act / ops.conv_bias_act apply inside the layer's op
_FUSED_ACTIVATIONS = (
    (activations.linear, "linear"), (activations.relu, "relu"), (activations.sigmoid, "sigmoid"),
    (activations.tanh, "tanh"), (activations.softmax, "softmax"),
    (ops.relu, "relu"), (ops.sigmoid, "sigmoid"), (ops.tanh, "tanh"), (ops.softmax, "softmax"),
)


def fused_activation(activation):
    """The name under which the fused layer ops apply ``activation`` (called with its
    defaults), or None for the plain path: an activation they do not know, or glass-box hooks
    watching (gn.debug.detect_anomaly), which must see matmul / conv, add and the activation
    as separate steps."""
    if autograd.forward_hooks:
        return None
    for fn, name in _FUSED_ACTIVATIONS:
        if activation is fn:   # identity: a user's function or object may not even be hashable
            return name
    return None


class Dense(Layer):
    """output = activation(inputs @ kernel + bias); kernel (in, units), bias (units,).

    Inputs of any rank >= 2 are multiplied along their last axis (like keras.layers.Dense).
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f'Dense "{self.name}": units must be a positive integer, received {units!r}')
        if lora_rank is not None:
            raise ValueError(f'Dense "{self.name}": lora_rank is not supported by glassnet')
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
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
            raise ValueError(f'Dense "{self.name}": the last axis of the input must be known, received shape {input_shape}')
        self.kernel = self.add_weight(shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self.built = True

    def call(self, inputs):
        act = fused_activation(self.activation)
        if act is not None:
            # one graph node, bias and activation in place on the matmul output
            return ops.matmul_bias_act(inputs, self.kernel, self.bias, act)
        x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x) if self.activation is not None else x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config


class Activation(Layer):
    """output = activation(inputs), the activation given by name or function."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...); the batch axis is kept."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f'Flatten "{self.name}": only data_format="channels_last" is supported, received {data_format!r}')
        self.data_format = "channels_last"
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], -1) if inputs.ndim > 1 else (inputs.shape[0], 1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(n is None for n in rest) else int(np.prod(rest))
        return (input_shape[0], size if rest else 1)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Dropout(Layer):
    """During training, zero each input with probability ``rate`` and scale the rest by
    1 / (1 - rate); at inference, the identity."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f'Dropout "{self.name}": rate must be in [0, 1), received {rate!r}')
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = None if seed is None else gn_random.generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            return ops.dropout(inputs, self.rate, noise_shape=self.noise_shape, seed=self._rng)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": list(self.noise_shape) if self.noise_shape else None, "seed": self.seed})
        return config
