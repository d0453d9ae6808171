"""Recurrent cells: one time step of SimpleRNN, LSTM and GRU, written with plain glassnet ops.

A cell holds the weights (Keras 3 shapes and gate orders) and computes one step:
``output, new_states = cell.call(x_t, states, training)``. ``keras.layers.RNN(cell)`` loops it
over time; the SimpleRNN / LSTM / GRU layers normally run the fused whole-sequence ops of
rnn_fused.py instead, and fall back to this step-by-step form for what those do not cover
(custom activations, GRU reset_after=False). Being plain ops, this is also the readable
reference that the fused ops are tested against.

Dropout as in Keras 3: one mask per sequence (the same for every step), drawn on the first
step and reused; with recurrent_dropout > 0 the LSTM and GRU draw one mask per gate
(Keras' "implementation 1"), otherwise one shared input mask.
"""
import numpy as np

from glassnet import activations, constraints, initializers, ops, regularizers
from glassnet import random as gn_random
from glassnet.layers.layer import Layer
from glassnet.tensor import Tensor


class DropoutRNNCell:
    """Mixin: per-sequence dropout masks, cached between steps (Keras' DropoutRNNCell).

    Masks are arrays of shape (count, batch, size), count = 1 (shared) or the number of gates,
    holding 0 or 1 / (1 - rate)."""

    dropout_mask_count = 1

    def _draw(self, shape, rate, dtype):
        if self._rng is None and self.seed is not None:
            self._rng = gn_random.generator(self.seed)
        rng = gn_random.generator(None) if self._rng is None else self._rng
        keep = 1.0 - rate
        draw = np.dtype(dtype) if np.dtype(dtype) in (np.float32, np.float64) else np.float32
        u = rng.random((self.dropout_mask_count,) + tuple(shape), dtype=draw)
        return np.where(u < keep, np.asarray(1 / keep, dtype), np.asarray(0, dtype))

    def get_dropout_mask(self, step_input):
        if getattr(self, "_dropout_mask", None) is None and 0 < self.dropout < 1:
            self._dropout_mask = self._draw(step_input.shape, self.dropout, self.compute_dtype)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_state):
        if getattr(self, "_recurrent_dropout_mask", None) is None and 0 < self.recurrent_dropout < 1:
            self._recurrent_dropout_mask = self._draw(step_state.shape, self.recurrent_dropout, self.compute_dtype)
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


def _gate_matmul(x, kernel, masks, n):
    """x @ kernel for n gates side by side; with n masks, gate g sees x * masks[g]."""
    if masks is None:
        return ops.matmul(x, kernel)
    if masks.shape[0] == 1:
        return ops.matmul(x * masks[0], kernel)
    parts = ops.split(kernel, n, axis=1)
    return ops.concatenate([ops.matmul(x * masks[g], parts[g]) for g in range(n)], axis=-1)


class _Cell(Layer, DropoutRNNCell):
    """Weights and arguments shared by the three cells."""

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        kwargs.pop("implementation", None)  # Keras' choice of kernel; the math is the same
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f'{type(self).__name__} "{self.name}": units must be a positive integer, received {units!r}')
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self._rng = None
        self._dropout_mask = self._recurrent_dropout_mask = None
        self.state_size = self.units
        self.output_size = self.units

    def _build_weights(self, input_shape, gates, bias_shape, bias_initializer=None):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f'{type(self).__name__} "{self.name}": the feature axis of the input must be known, received shape {input_shape}')
        self.kernel = self.add_weight(shape=(in_dim, gates * self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, gates * self.units), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint, name="recurrent_kernel")
        # the orthogonal initializer returns a Fortran-ordered array; in-place perturbation
        # (gradcheck) and reshaped views need C order
        self.recurrent_kernel.data = np.ascontiguousarray(self.recurrent_kernel.data)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=bias_shape, initializer=bias_initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.built = True

    def _masks(self, inputs, h_tm1, training):
        dp = self.get_dropout_mask(inputs) if training and 0 < self.dropout < 1 else None
        rdp = self.get_recurrent_dropout_mask(h_tm1) if training and 0 < self.recurrent_dropout < 1 else None
        return dp, rdp

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [Tensor(np.zeros((batch_size, n), self.compute_dtype)) for n in sizes]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        })
        return config


class SimpleRNNCell(_Cell):
    """h_t = activation(x_t W + h_{t-1} U + b); kernel (in, units), recurrent_kernel (units, units)."""

    def build(self, input_shape):
        self._build_weights(input_shape, 1, (self.units,))

    def call(self, inputs, states, training=None):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        dp, rdp = self._masks(inputs, h_tm1, training)
        h = _gate_matmul(inputs, self.kernel, dp, 1)
        if self.bias is not None:
            h = h + self.bias
        out = h + _gate_matmul(h_tm1, self.recurrent_kernel, rdp, 1)
        out = self.activation(out)
        return out, [out]


class LSTMCell(_Cell):
    """One LSTM step, Keras gate order i, f, c, o (kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u)):
        z = x_t W + h_{t-1} U + b;  i, f, o = recurrent_activation(z_i, z_f, z_o)
        c_t = f c_{t-1} + i activation(z_c);  h_t = o activation(c_t)
    unit_forget_bias=True starts the forget-gate bias at 1 (Jozefowicz et al., 2015)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]
        self.dropout_mask_count = 4 if self.recurrent_dropout else 1

    def build(self, input_shape):
        init = None
        if self.unit_forget_bias:
            base, u = self.bias_initializer, self.units

            def init(shape, dtype=None):
                ones = initializers.get("ones")((u,), dtype=dtype)
                return np.concatenate([np.asarray(base((u,), dtype=dtype)), np.asarray(ones),
                                       np.asarray(base((2 * u,), dtype=dtype))])
        self._build_weights(input_shape, 4, (4 * self.units,), init)

    def call(self, inputs, states, training=None):
        h_tm1, c_tm1 = states[0], states[1]
        dp, rdp = self._masks(inputs, h_tm1, training)
        z = _gate_matmul(inputs, self.kernel, dp, 4) + _gate_matmul(h_tm1, self.recurrent_kernel, rdp, 4)
        if self.bias is not None:
            z = z + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update({"recurrent_activation": activations.serialize(self.recurrent_activation),
                       "unit_forget_bias": self.unit_forget_bias})
        return config


class GRUCell(_Cell):
    """One GRU step, Keras gate order z, r, h (kernel (in, 3u), recurrent_kernel (u, 3u)):
        z = ract(x_z + r_z);  r = ract(x_r + r_r);  h_t = z h_{t-1} + (1 - z) hh
        reset_after=True (bias (2, 3u), input and recurrent):  hh = act(x_h + r (h_{t-1} U_h + b_h'))
        reset_after=False (bias (3u,)):                        hh = act(x_h + (r h_{t-1}) U_h)
    where x_* = x_t W_* + b_* and r_* = h_{t-1} U_* (+ recurrent bias when reset_after)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.dropout_mask_count = 3 if self.recurrent_dropout else 1

    def build(self, input_shape):
        self._build_weights(input_shape, 3, (2, 3 * self.units) if self.reset_after else (3 * self.units,))

    def call(self, inputs, states, training=None):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        u = self.units
        dp, rdp = self._masks(inputs, h_tm1, training)
        in_bias = rec_bias = None
        if self.bias is not None:
            in_bias, rec_bias = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        x = _gate_matmul(inputs, self.kernel, dp, 3)
        if in_bias is not None:
            x = x + in_bias
        x_z, x_r, x_h = ops.split(x, 3, axis=-1)
        if self.reset_after:
            rec = _gate_matmul(h_tm1, self.recurrent_kernel, rdp, 3)
            if rec_bias is not None:
                rec = rec + rec_bias
            r_z, r_r, r_h = ops.split(rec, 3, axis=-1)
        else:
            u_zr, u_h = self.recurrent_kernel[:, :2 * u], self.recurrent_kernel[:, 2 * u:]
            r_z, r_r = ops.split(_gate_matmul(h_tm1, u_zr, None if rdp is None else rdp[:2], 2), 2, axis=-1)
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        if self.reset_after:
            hh = self.activation(x_h + r * r_h)
        else:
            h_r = h_tm1 * rdp[-1] if rdp is not None else h_tm1
            hh = self.activation(x_h + ops.matmul(r * h_r, u_h))
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.update({"recurrent_activation": activations.serialize(self.recurrent_activation),
                       "reset_after": self.reset_after})
        return config
