"""Embedding (integer ids -> learned vectors) and Masking (skip padded time steps), as Keras 3."""
import warnings

import numpy as np

from glassnet import constraints, initializers, ops, regularizers
from glassnet.layers.layer import Layer
from glassnet.tensor import Tensor


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class Embedding(Layer):
    """output[..., :] = embeddings[id]: each integer id in 0..input_dim-1 picks a row of the
    (input_dim, output_dim) table; (batch, length) ids -> (batch, length, output_dim).

    The gradient adds each output row's gradient into the row of its id. With mask_zero=True,
    id 0 is padding: the output carries the mask ``ids != 0`` so that recurrent layers after it
    skip those steps (and input_dim must count the padding id).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        input_length = kwargs.pop("input_length", None)
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f'Embedding "{self.name}": `{arg}` must be a positive integer, received {arg}={value!r} '
                    f"(of type {type(value).__name__})"
                )
        if lora_rank is not None:
            raise ValueError(f'Embedding "{self.name}": lora_rank is not supported by glassnet')
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False  # ids are not floats to cast
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer, name="embeddings",
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs):
        ids = _array(inputs)
        if not np.issubdtype(ids.dtype, np.integer):
            ids = ids.astype(np.int64)  # as Keras' cast to int: floats are truncated
        bad = (ids < 0) | (ids >= self.input_dim)
        if bad.any():
            value = int(ids[bad].flat[0])
            raise IndexError(
                f'Embedding "{self.name}": id {value} is out of range for input_dim={self.input_dim} '
                f"(valid ids: 0..{self.input_dim - 1}); make input_dim the vocabulary size "
                f"(+1 for the padding id 0), or check the tokenizer"
            )
        return ops.take(self.embeddings, ids)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return _array(inputs) != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        })
        return config


class Masking(Layer):
    """Mark time steps whose features all equal ``mask_value`` as padding.

    output = inputs with those steps set to 0, carrying the mask any(inputs != mask_value, axis=-1)
    of shape (batch, time), which recurrent layers after it use to skip the steps.
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return np.any(_array(inputs) != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = np.any(inputs.data != self.mask_value, axis=-1, keepdims=True)
        return ops.where(keep, inputs, 0.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
