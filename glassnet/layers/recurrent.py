"""Recurrent layers: RNN (any cell looped over time), SimpleRNN, LSTM and GRU (Keras 3 API).

Inputs are (batch, time, features). The output is the last step's output (batch, units), or
every step's (batch, time, units) with ``return_sequences=True``; ``return_state=True`` adds the
final states (LSTM: h and c). A mask (batch, time) from ``Embedding(mask_zero=True)``,
``Masking`` or the ``mask=`` argument makes masked steps keep the previous state and output.

SimpleRNN, LSTM and GRU run a fused whole-sequence op (rnn_fused.py) whenever it covers the
configuration (activations tanh / sigmoid / relu / linear, GRU reset_after=True); otherwise, or
with ``layer.use_fused = False``, they loop their cell step by step with plain ops, which is
the readable reference the fused ops are tested against. Both give the same numbers.
"""
import inspect

import numpy as np

from glassnet import ops
from glassnet.layers import rnn_fused, rnn_parts
from glassnet.layers.layer import InputSpec, Layer
from glassnet.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from glassnet.tensor import Tensor


def prefix_weight_paths(parent, child):
    """Give ``child``'s weights Keras' nested paths, e.g. "lstm/lstm_cell/kernel"."""
    for w in child.weights:
        if not w.path.startswith(parent.name + "/"):
            w.path = f"{parent.name}/{w.path}"


def as_mask(layer, mask, batch, steps):
    """A (batch, time) boolean array from a mask argument (array, Tensor or list), or None."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.shape != (batch, steps):
        raise ValueError(
            f'Layer "{layer.name}": the mask must have shape (batch, time) = ({batch}, {steps}), received '
            f"shape {m.shape}"
        )
    m = m.astype(bool, copy=False)
    return None if m.all() else m


class RNN(Layer):
    """Loops a cell over the time axis (keras.layers.RNN).

    cell: an object with ``state_size`` and ``call(inputs, states, training=None)`` returning
    ``(output, new_states)`` (SimpleRNNCell, LSTMCell, GRUCell or your own Layer).
    """

    fused_op = None  # the whole-sequence op of the subclass, if any

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            raise ValueError(
                f'RNN "{self.name}": a list of cells (StackedRNNCells) is not supported; stack RNN layers '
                "with return_sequences=True instead"
            )
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(f'RNN "{self.name}": the cell needs a `call` method and a `state_size` attribute, received {cell!r}')
        if stateful:
            raise ValueError(
                f'{type(self).__name__} "{self.name}": stateful=True is not supported by glassnet; to carry the '
                "state from one batch to the next, use return_state=True and pass the returned states as "
                "initial_state= to the next call"
            )
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)  # accepted for compatibility; the loop is never unrolled
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states = None
        self.use_fused = True
        self.input_spec = InputSpec(min_ndim=3)

    @property
    def state_size(self):
        s = self.cell.state_size
        return list(s) if isinstance(s, (list, tuple)) else [s]

    def build(self, sequences_shape, initial_state_shape=None):
        spec = self.input_spec
        rank = len(sequences_shape)
        if (spec.ndim is not None and rank != spec.ndim) or rank < 3:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected ndim=3, found '
                f"ndim={rank}. Full shape received: {tuple(sequences_shape)}; recurrent layers take "
                "(batch, time, features)"
            )
        if isinstance(self.cell, Layer):
            if not self.cell.built:
                self.cell.build((sequences_shape[0],) + tuple(sequences_shape[2:]))
                self.cell.built = True
            prefix_weight_paths(self, self.cell)
        self.built = True

    def get_initial_state(self, batch_size):
        if hasattr(self.cell, "get_initial_state"):
            states = self.cell.get_initial_state(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return [Tensor(np.zeros((batch_size, n), self.compute_dtype)) for n in self.state_size]

    def reset_states(self):
        """Nothing to reset: glassnet's recurrent layers are not stateful."""

    reset_state = reset_states

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * len(self.state_size)
        return out

    # ---- call -----------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None):
        x = sequences
        if not np.issubdtype(x.dtype, np.floating):
            x = ops.cast(x, self.compute_dtype)
        if x.ndim != 3:
            raise ValueError(
                f'{type(self).__name__} "{self.name}": expected inputs of shape (batch, time, features), '
                f"received shape {x.shape}"
            )
        B, T = x.shape[0], x.shape[1]
        if T == 0:
            raise ValueError(f'{type(self).__name__} "{self.name}": the input has no time steps, shape {x.shape}')
        mask = as_mask(self, mask, B, T)
        states, given = self._initial_states(initial_state, B)
        cell = self.cell
        try:
            if self.use_fused and self._fused_args() is not None:
                seq, last, states = self._run_fused(x, states, mask, training, given)
            else:
                seq, last, states = self._run_composed(x, states, mask, training)
        finally:
            if hasattr(cell, "reset_dropout_mask"):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()
        output = seq if self.return_sequences else last
        if self.return_state:
            return (output, *states)
        return output

    def _initial_states(self, initial_state, batch):
        if initial_state is None:
            return self.get_initial_state(batch), False
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        sizes = self.state_size
        if len(given) != len(sizes):
            raise ValueError(
                f'{type(self).__name__} "{self.name}": initial_state must be a list of {len(sizes)} tensors '
                f"of shape (batch, units) ({'h and c' if len(sizes) == 2 else 'h'}), received {len(given)}"
            )
        states = []
        for i, (s, n) in enumerate(zip(given, sizes)):
            s = s if isinstance(s, Tensor) else Tensor(np.asarray(s))
            s = ops.cast(s, self.compute_dtype)
            if s.shape != (batch, n):
                raise ValueError(
                    f'{type(self).__name__} "{self.name}": initial_state[{i}] must have shape (batch, {n}) = '
                    f"({batch}, {n}), received {s.shape}"
                )
            states.append(s)
        return states, True

    def _run_composed(self, x, states, mask, training):
        """The reference: the cell's plain-op step, once per time step (as keras.backend.rnn)."""
        cell = self.cell
        takes_training = getattr(cell, "_call_has_training", None)
        if takes_training is None:
            takes_training = "training" in inspect.signature(cell.call).parameters
        kwargs = {"training": training} if takes_training else {}
        T = x.shape[1]
        outputs, prev = [], None
        for t in (range(T - 1, -1, -1) if self.go_backwards else range(T)):
            out, new_states = cell.call(x[:, t], states, **kwargs)
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            if mask is not None:
                m = mask[:, t, None]
                if prev is None or self.zero_output_for_mask:
                    prev = ops.multiply(out, 0.0)
                out = ops.where(m, out, prev)
                new_states = [ops.where(m, n, s) for n, s in zip(new_states, states)]
                prev = out
            states = new_states
            if self.return_sequences or not outputs:
                outputs.append(out)
            else:
                outputs[0] = out
        seq = ops.stack(outputs, axis=1) if self.return_sequences else None
        return seq, outputs[-1], states

    # ---- the fused path -------------------------------------------------------------
    def _fused_args(self):
        """Keyword arguments of the fused op for this configuration, or None if it has none."""
        return None

    def _run_fused(self, x, states, mask, training, given):
        cell = self.cell
        T = x.shape[1]
        dp = rdp = None
        if training:
            if 0 < cell.dropout < 1:
                dp = cell.get_dropout_mask(x.data[:, 0])
            if 0 < cell.recurrent_dropout < 1:
                rdp = cell.get_recurrent_dropout_mask(states[0].data)
        inputs = [x, cell.kernel, cell.recurrent_kernel] + list(states)
        if cell.bias is not None:
            inputs.append(cell.bias)
        y = self.fused_op.apply(*inputs, mask=mask, in_mask=dp, rec_mask=rdp, reverse=self.go_backwards,
                                **self._fused_args())
        # y is time-major: y[k] = h after k steps (y[T + 1] = c_T for the LSTM)
        seq = ops.transpose(y[1:T + 1], (1, 0, 2)) if self.return_sequences else None
        last = y[T]
        finals = [last] + ([y[T + 1]] if len(states) == 2 else [])
        if mask is not None:
            m = mask[:, ::-1] if self.go_backwards else mask
            # Keras' output of a masked step: the previous output (zeros before the first
            # unmasked step, which differs from the state only when the initial state is not
            # zero), or zeros with zero_output_for_mask
            w = m if self.zero_output_for_mask else (np.logical_or.accumulate(m, axis=1) if given else None)
            if w is not None and not w.all():
                w = w[:, :, None].astype(x.dtype)
                if seq is not None:
                    seq = seq * w
                last = last * w[:, -1]
        return seq, last, finals

    # ---- config ---------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        })
        if type(self) is RNN:
            from glassnet.layers.serialization import serialize_layer
            config["cell"] = serialize_layer(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = config.pop("cell", None)
        if isinstance(cell, dict):
            from glassnet.layers.serialization import deserialize_layer
            cell = deserialize_layer(cell, custom_objects)
        return cls(cell, **config)


_CELL_ARGS = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout")


class _CellLayer(RNN):
    """A recurrent layer that owns its cell (SimpleRNN, LSTM, GRU): config is flat, as in Keras."""

    cell_class = None
    cell_name = None
    extra_cell_args = ()

    def __init__(self, units, *, cell_kwargs, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: use_cudnn must be 'auto', True or False, received {use_cudnn!r}")
        cell = self.cell_class(units, name=self.cell_name, dtype=kwargs.get("dtype"),
                               trainable=kwargs.get("trainable", True), **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, **kwargs)
        self.use_cudnn = use_cudnn  # kept for configs; glassnet's fused op plays cuDNN's part
        self.input_spec = InputSpec(ndim=3)

    def __getattr__(self, name):
        # units, activation, kernel_initializer, ... live on the cell, as in Keras
        cell = self.__dict__.get("cell")
        if cell is not None and (name in _CELL_ARGS or name in type(self).extra_cell_args or name == "seed"):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _fused_args(self):
        act = rnn_parts.fusable_activation(self.cell.activation)
        if act is None:
            return None
        args = {"activation": act}
        if hasattr(self.cell, "recurrent_activation"):
            ract = rnn_parts.fusable_activation(self.cell.recurrent_activation)
            if ract is None:
                return None
            args["recurrent_activation"] = ract
        return args

    def get_config(self):
        config = super().get_config()
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class SimpleRNN(_CellLayer):
    """Fully-connected RNN: h_t = activation(x_t W + h_{t-1} U + b) (keras.layers.SimpleRNN).

    Weights: kernel (features, units), recurrent_kernel (units, units), bias (units,).
    """

    cell_class, cell_name, fused_op = SimpleRNNCell, "simple_rnn_cell", rnn_fused.SimpleRNNSequence

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, seed=None, **kwargs):
        cell_kwargs = dict(activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                           dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(units, cell_kwargs=cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)


class LSTM(_CellLayer):
    """Long Short-Term Memory (Hochreiter & Schmidhuber, 1997) (keras.layers.LSTM).

    Per step, gates i, f, c, o:  z = x_t W + h_{t-1} U + b;  c_t = f c_{t-1} + i tanh(z_c);
    h_t = o tanh(c_t) (i, f, o = sigmoid of their z). Weights exactly Keras 3's: kernel
    (features, 4 units), recurrent_kernel (units, 4 units), bias (4 units,).
    """

    cell_class, cell_name, fused_op = LSTMCell, "lstm_cell", rnn_fused.LSTMSequence
    extra_cell_args = ("recurrent_activation", "unit_forget_bias")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell_kwargs = dict(activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                           kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                           dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                           implementation=kwargs.pop("implementation", 2))
        super().__init__(units, cell_kwargs=cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         use_cudnn=use_cudnn, activity_regularizer=activity_regularizer, **kwargs)


class GRU(_CellLayer):
    """Gated Recurrent Unit (Cho et al., 2014) (keras.layers.GRU), Keras 3's variant by default.

    Gates z, r and candidate hh:  h_t = z h_{t-1} + (1 - z) hh, with reset_after=True
    hh = tanh(x_h + r (h_{t-1} U_h + b_h')). Weights: kernel (features, 3 units),
    recurrent_kernel (units, 3 units), bias (2, 3 units) (input and recurrent biases), or
    (3 units,) with reset_after=False.
    """

    cell_class, cell_name, fused_op = GRUCell, "gru_cell", rnn_fused.GRUSequence
    extra_cell_args = ("recurrent_activation", "reset_after")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell_kwargs = dict(activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                           reset_after=reset_after, seed=seed, implementation=kwargs.pop("implementation", 2))
        super().__init__(units, cell_kwargs=cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         use_cudnn=use_cudnn, activity_regularizer=activity_regularizer, **kwargs)

    def _fused_args(self):
        return super()._fused_args() if self.cell.reset_after else None
