"""Attention layers: MultiHeadAttention, Attention (Luong) and AdditiveAttention (Bahdanau).

Scaled dot-product attention, for each head h:
    scores = softmax(Q_h K_h^T / sqrt(key_dim)),  out_h = scores V_h,
    Q_h = query W_q[:, h] + b_q[h],  K_h = key W_k[:, h] + b_k[h],  V_h = value W_v[:, h] + b_v[h],
    output = sum_h out_h W_o[h] + b_o.
Masked positions get a score of -1e9 before the softmax and a weight of exactly 0 after it, so
a query that may attend to nothing (a fully masked row) outputs only the output bias.
"""
import math

import numpy as np

from glassnet import constraints, initializers, ops, regularizers
from glassnet import random as gn_random
from glassnet.layers.layer import Layer
from glassnet.tensor import Tensor

_LARGE_NEGATIVE = -1e9  # Keras' masked-softmax fill for float32/float64


def _mask_array(mask):
    """A mask (Tensor, array, list or None) as a boolean NumPy array: nonzero means attend."""
    if mask is None:
        return None
    arr = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    return arr.astype(bool, copy=False)


def _masked_softmax(scores, mask):
    """softmax over the last axis where ``mask`` is True; 0 where it is False."""
    if mask is None:
        return ops.softmax(scores, axis=-1)
    large = -3e4 if scores.dtype == np.float16 else _LARGE_NEGATIVE
    probs = ops.softmax(ops.where(mask, scores, large), axis=-1)
    return ops.where(mask, probs, 0.0)


def _fresh_initializer(init, input_axes=None, output_axes=None):
    """A new initializer per projection (so that equal-shaped kernels differ), told which
    kernel axes are fan-in and fan-out as Keras' EinsumDense does (kernel (dim, heads, size)
    has fan_in dim and fan_out heads * size)."""
    if not isinstance(init, initializers.Initializer):
        return init
    config = init.get_config()
    if isinstance(init, initializers.VarianceScaling) and init.input_axes is None and input_axes is not None:
        config.update(input_axes=list(input_axes), output_axes=list(output_axes))
    return type(init).from_config(config)


class _Projection(Layer):
    """The projections inside MultiHeadAttention (keras.layers.EinsumDense as MHA uses it):
    the last ``n_in`` input axes are contracted with the kernel's leading axes.

    kernel (*input_shape[-n_in:], *out_shape), bias out_shape;
    (batch, ..., *in) -> (batch, ..., *out_shape).
    """

    def __init__(self, n_in, out_shape, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.n_in = n_in
        self.out_shape = tuple(out_shape)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        in_dims = tuple(input_shape[-self.n_in:])
        n_out = len(self.out_shape)
        init = _fresh_initializer(self.kernel_initializer, range(self.n_in),
                                  range(self.n_in, self.n_in + n_out))
        self.kernel = self.add_weight(shape=in_dims + self.out_shape, initializer=init,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=self.out_shape,
                                        initializer=_fresh_initializer(self.bias_initializer),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.built = True

    def call(self, inputs):
        lead = inputs.shape[:-self.n_in]
        n_in = int(np.prod(self.kernel.shape[:self.n_in]))
        n_out = int(np.prod(self.out_shape))
        y = ops.matmul(ops.reshape(inputs, lead + (n_in,)), ops.reshape(self.kernel, (n_in, n_out)))
        if self.bias is not None:
            y = y + ops.reshape(self.bias, (n_out,))
        return ops.reshape(y, lead + self.out_shape)


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention ("Attention is all you need"), as
    keras.layers.MultiHeadAttention, with its weights in Keras' order and shapes:

        query/kernel (dim_q, num_heads, key_dim), query/bias (num_heads, key_dim),
        key/kernel (dim_k, num_heads, key_dim), key/bias (num_heads, key_dim),
        [gate/kernel, gate/bias: a sigmoid gate on each head's output, when use_gate,]
        value/kernel (dim_v, num_heads, value_dim), value/bias (num_heads, value_dim),
        attention_output/kernel (num_heads, value_dim, *output_shape),
        attention_output/bias output_shape.

    Call: ``layer(query, value, key=None, ...)`` with query (batch, T, dim_q) and value/key
    (batch, S, dim); returns (batch, T, *output_shape) (default: dim_q), and with
    ``return_attention_scores=True`` also the weights (batch, num_heads, T, S). Inputs with
    more axes (batch, *T, dim) attend over all of *T jointly, as Keras' default
    ``attention_axes``. Masks: ``attention_mask`` (batch, T, S) (True = may attend), the Keras
    masks of query/value/key (e.g. from Embedding(mask_zero=True)) or ``query_mask``,
    ``value_mask``, ``key_mask`` given explicitly, and ``use_causal_mask`` (position t sees
    only s <= t); all are combined with a logical and.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        head = f'MultiHeadAttention "{self.name}"'
        for arg, val, allow_none in (("num_heads", num_heads, False), ("key_dim", key_dim, False),
                                     ("value_dim", value_dim, True), ("sliding_window", sliding_window, True)):
            if val is None and allow_none:
                continue
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val <= 0:
                raise ValueError(f"{head}: `{arg}` must be a positive integer{' or None' if allow_none else ''}, received {arg}={val!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{head}: `dropout` must be in [0, 1), received dropout={dropout!r}")
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        if output_shape is not None and not isinstance(output_shape, (int, np.integer, list, tuple)):
            raise ValueError(f"{head}: `output_shape` must be an int, a tuple or a list, received {output_shape!r}")
        if isinstance(output_shape, (int, np.integer)):
            output_shape = (int(output_shape),)
        # not self._output_shape: the base Layer keeps the last call's output shape there
        self._out_shape = tuple(int(n) for n in output_shape) if output_shape else None
        if isinstance(attention_axes, (int, np.integer)):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"{head}: `attention_axes` must be an int, list or tuple, received {attention_axes!r}")
        self.attention_axes = None if attention_axes is None else tuple(int(a) for a in attention_axes)
        self.flash_attention = flash_attention  # accepted for Keras compatibility; same numbers either way
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.sublayer_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._rng = None if seed is None else gn_random.generator(seed)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self.key_dim))
        self._query_dense = self._key_dense = self._value_dense = None
        self._gate_dense = self._output_dense = None
        self.supports_masking = True

    # Keras' names for the projections
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def _projection(self, name, n_in, out_shape):
        return _Projection(n_in, out_shape, self.use_bias, self.kernel_initializer, self.bias_initializer,
                           kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
                           kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint,
                           activity_regularizer=self.sublayer_activity_regularizer,
                           name=name, dtype=self._dtype)

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Create the projections for these input shapes. Called with the query's shape only
        (the base Layer's first call), it waits for the first call, which knows all three."""
        if value_shape is None:
            self.built = True
            return
        head = f'MultiHeadAttention "{self.name}"'
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if len(query_shape) < 3:
            raise ValueError(
                f"{head}: query must have shape (batch, time, features) or more axes, received shape "
                f"{query_shape}; add a time axis (e.g. a Reshape or RepeatVector) before this layer"
            )
        if len(value_shape) != len(query_shape) or len(key_shape) != len(query_shape):
            raise ValueError(
                f"{head}: query, value and key must have the same rank, received query {query_shape}, "
                f"value {value_shape}, key {key_shape}"
            )
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"{head}: all dimensions of `value` and `key`, except the last one, must be equal. "
                f"Received: value_shape={value_shape} and key_shape={key_shape}"
            )
        rank = len(query_shape) + 1  # projected rank: (batch, *T, heads, size)
        default = tuple(range(1, rank - 2))
        if self.attention_axes is not None:
            given = tuple(a if a >= 0 else (rank - 1) + a for a in self.attention_axes)
            if given != default:
                raise ValueError(
                    f"{head}: attention_axes={self.attention_axes} is not supported by glassnet; only the "
                    f"default (None: attend over every axis between batch and features, here {default}) is"
                )
        self.attention_axes = default
        n_heads = self.num_heads
        out_shape = self._out_shape or (query_shape[-1],)
        # the order of assignment is the order of `weights`, as in Keras
        self._query_dense = self._projection("query", 1, (n_heads, self.key_dim))
        self._query_dense.build(query_shape)
        self._key_dense = self._projection("key", 1, (n_heads, self.key_dim))
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._projection("gate", 1, (n_heads, self.value_dim))
            self._gate_dense.build(query_shape)
        self._value_dense = self._projection("value", 1, (n_heads, self.value_dim))
        self._value_dense.build(value_shape)
        self._output_dense = self._projection("attention_output", 2, out_shape)
        self._output_dense.build(query_shape[:-1] + (n_heads, self.value_dim))
        for sub in self._layers:
            sub.built = True
            for w in sub.weights:
                w.path = f"{self.name}/{sub.name}/{w.name}"
        self.built = True

    def _attention_mask(self, batch, t_dims, s_dims, query_mask, value_mask, key_mask,
                        attention_mask, use_causal_mask):
        """All masks combined into one boolean array broadcastable to (batch, 1, T, S)."""
        T, S = int(np.prod(t_dims)), int(np.prod(s_dims))
        head = f'MultiHeadAttention "{self.name}"'
        mask = None

        def both(m):
            return m if mask is None else mask & m

        if query_mask is not None:
            mask = both(_mask_array(query_mask).reshape(-1, T, 1))
        for m in (value_mask, key_mask):
            if m is not None:
                mask = both(_mask_array(m).reshape(-1, 1, S))
        if use_causal_mask:
            mask = both(np.tril(np.ones((T, S), bool))[None])
        if self.sliding_window is not None:
            i, j = np.arange(T)[:, None], np.arange(S)[None, :]
            mask = both((np.abs(i - j) < self.sliding_window)[None])
        if attention_mask is not None:
            m = _mask_array(attention_mask)
            n_att = len(t_dims) + len(s_dims)
            if m.ndim >= n_att and m.shape[m.ndim - n_att:] == tuple(t_dims) + tuple(s_dims):
                m = m.reshape(m.shape[:m.ndim - n_att] + (T, S))
            if m.ndim < 2 or m.ndim > 3:
                raise ValueError(
                    f"{head}: attention_mask must have shape (batch, T, S) = ({batch}, {T}, {S}), "
                    f"received {np.shape(attention_mask)}"
                )
            mask = both(m if m.ndim == 3 else m[None])
        if mask is None:
            return None
        try:
            np.broadcast_shapes(mask.shape, (batch, T, S))
        except ValueError:
            raise ValueError(
                f"{head}: the masks do not fit the attention scores (batch, T, S) = ({batch}, {T}, {S}); "
                f"combined mask shape {mask.shape}"
            ) from None
        return mask[:, None]  # the heads axis

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False):
        # masks attached by earlier layers (Embedding(mask_zero=True), Masking) count like given ones
        if query_mask is None:
            query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not None:
            key_mask = getattr(key, "_keras_mask", None)
        value = self._autocast(value)
        key = value if key is None else self._autocast(key)
        if self._query_dense is None:
            self.build(query.shape, value.shape, key.shape)
        batch, t_dims, s_dims = query.shape[0], query.shape[1:-1], value.shape[1:-1]
        T, S, N = int(np.prod(t_dims)), int(np.prod(s_dims)), self.num_heads
        mask = self._attention_mask(batch, t_dims, s_dims, query_mask, value_mask, key_mask,
                                    attention_mask, use_causal_mask)

        gate = ops.sigmoid(self._gate_dense(query)) if self.use_gate else None
        # (batch, *T, heads, size) -> (batch, heads, T, size); keys transposed to (batch, heads, size, S)
        q = ops.transpose(ops.reshape(self._query_dense(query), (batch, T, N, self.key_dim)), (0, 2, 1, 3))
        k = ops.transpose(ops.reshape(self._key_dense(key), (batch, S, N, self.key_dim)), (0, 2, 3, 1))
        v = ops.transpose(ops.reshape(self._value_dense(value), (batch, S, N, self.value_dim)), (0, 2, 1, 3))
        q = q * self._inverse_sqrt_key_dim
        scores = _masked_softmax(ops.matmul(q, k), mask)                       # (batch, heads, T, S)
        weights = scores
        if training and self.dropout > 0:
            weights = ops.dropout(scores, self.dropout, seed=self._rng)
        context = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))          # (batch, T, heads, value_dim)
        context = ops.reshape(context, (batch,) + tuple(t_dims) + (N, self.value_dim))
        if gate is not None:
            context = context * gate
        output = self._output_dense(context)
        if query_mask is not None:
            output._keras_mask = _mask_array(query_mask)
        if return_attention_scores:
            return output, ops.reshape(scores, (batch, N) + tuple(t_dims) + tuple(s_dims))
        return output

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        return query_shape[:-1] + (self._out_shape or (query_shape[-1],))

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": list(self._out_shape) if self._out_shape else None,
            "attention_axes": list(self.attention_axes) if self.attention_axes is not None else None,
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.sublayer_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        })
        return config


class Attention(Layer):
    """Dot-product (Luong-style) attention, as keras.layers.Attention.

    Call on ``[query, value]`` or ``[query, value, key]``: query (batch, Tq, dim), value and key
    (batch, Tv, dim). score_mode "dot": scores = query key^T (times the weight ``scale`` when
    use_scale); "concat": scores = concat_score_weight * sum(tanh(scale * (q + k)), -1). Then
    weights = softmax(scores) over Tv and output = weights value, (batch, Tq, dim).
    ``mask=[query_mask, value_mask]``: padded values get a score 1e9 lower; padded queries
    output zeros. ``use_causal_mask`` lets position i see only j <= i.
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f'{type(self).__name__} "{self.name}": invalid value for argument score_mode. '
                f"Expected one of {{'dot', 'concat'}}. Received: score_mode={score_mode!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'{type(self).__name__} "{self.name}": dropout must be in [0, 1), received {dropout!r}')
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self._rng = None if seed is None else gn_random.generator(seed)
        self.supports_masking = True

    def _validate(self, inputs, mask=None):
        name = f'{type(self).__name__} "{self.name}"'
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{name}: the layer must be called on a list of inputs, namely [query, value] or "
                f"[query, value, key]. Received: a single input of shape {getattr(inputs, 'shape', None)}"
            )
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name}: accepts a list of 2 or 3 inputs ([query, value] or [query, value, key]), received {len(inputs)}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{name}: mask must be a list [query_mask, value_mask], received {mask!r}")

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones", name="concat_score_weight")
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
            return scores * self.scale if self.scale is not None else scores
        q, k = ops.expand_dims(query, -2), ops.expand_dims(key, -3)   # (b, Tq, 1, d), (b, 1, Tv, d)
        s = q + k if self.scale is None else self.scale * (q + k)
        return self.concat_score_weight * ops.sum(ops.tanh(s), axis=-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        self._validate(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = _mask_array(mask[0]) if mask else None
        v_mask = _mask_array(mask[1]) if mask else None
        scores = self._calculate_scores(q, k)
        keep = None if v_mask is None else v_mask[:, None, :]              # (batch, 1, Tv)
        if use_causal_mask:
            causal = np.tril(np.ones(scores.shape[-2:], bool))[None]
            keep = causal if keep is None else keep & causal
        if keep is not None:
            big = 65504.0 if scores.dtype == np.float16 else 1e9
            scores = ops.where(keep, scores, scores - big)
        weights = ops.softmax(scores, axis=-1)
        used = ops.dropout(weights, self.dropout, seed=self._rng) if training and self.dropout > 0 else weights
        output = ops.matmul(used, v)
        if q_mask is not None:
            output = ops.where(q_mask[..., None], output, 0.0)
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return _mask_array(mask[0])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode,
                       "dropout": self.dropout, "seed": self.seed})
        return config


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention, as keras.layers.AdditiveAttention:
    scores = sum(scale * tanh(query_i + key_j), -1), scale a (dim,) weight when use_scale;
    otherwise as Attention."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(input_shape[0][-1],), initializer="glorot_uniform", name="scale")
        self.built = True

    def _calculate_scores(self, query, key):
        s = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))
        if self.scale is not None:
            s = self.scale * s
        return ops.sum(s, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
