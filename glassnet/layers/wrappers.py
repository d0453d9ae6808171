"""Layer wrappers: Bidirectional (an RNN run both ways) and TimeDistributed (a layer applied
to every time step), as keras.layers.Bidirectional / TimeDistributed."""
import numpy as np

from glassnet import ops
from glassnet.layers.layer import InputSpec, Layer
from glassnet.layers.recurrent import prefix_weight_paths
from glassnet.tensor import Tensor


def _build_sublayer(parent, layer, input_shape):
    if not layer.built:
        layer.build(input_shape)
        layer.built = True
    prefix_weight_paths(parent, layer)


class Wrapper(Layer):
    """Base of layers that hold another layer (keras.layers.Wrapper)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: expected a glassnet layer to wrap, received {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        _build_sublayer(self, self.layer, input_shape)
        self.built = True

    def get_config(self):
        from glassnet.layers.serialization import serialize_layer
        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from glassnet.layers.serialization import deserialize_layer
        config = dict(config)
        return cls(deserialize_layer(config.pop("layer"), custom_objects), **config)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to every time step: (batch, time, ...) -> (batch, time, ...layer output).

    The same weights serve every step. Steps are folded into the batch, (batch * time, ...),
    so the layer runs once; a layer with state that depends on the batch (non-trainable
    weights, e.g. BatchNormalization) is called step by step instead, as Keras does.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f'TimeDistributed "{self.name}": the input needs at least 3 dimensions (batch, time, ...), '
                f"received shape {input_shape}"
            )
        super().build((input_shape[0],) + tuple(input_shape[2:]))

    def call(self, inputs, training=None, mask=None):
        B, T = inputs.shape[0], inputs.shape[1]
        kwargs = {"training": training} if self.layer._call_has_training else {}
        m = None
        if mask is not None and self.layer._call_has_mask:
            m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
            if m.shape[:2] != (B, T):
                raise ValueError(
                    f'TimeDistributed "{self.name}": the mask has shape {m.shape}, but its first two axes must '
                    f"be the input's (batch, time) = ({B}, {T})"
                )
        if self.layer.non_trainable_weights:
            outs = []
            for t in range(T):
                step_kwargs = dict(kwargs, **({"mask": m[:, t]} if m is not None else {}))
                outs.append(self.layer(inputs[:, t], **step_kwargs))
            return ops.stack(outs, axis=1)
        x = ops.reshape(inputs, (B * T,) + tuple(inputs.shape[2:]))
        if m is not None:
            kwargs["mask"] = m.reshape((B * T,) + m.shape[2:])
        y = self.layer(x, **kwargs)
        return ops.reshape(y, (B, T) + tuple(y.shape[1:]))


class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, then merge the two outputs
    (merge_mode "concat" (default), "sum", "mul", "ave", or None for both as a list).

    With return_sequences the backward output is flipped back, so step t of both outputs
    refers to input step t. Weights: the forward layer's, then the backward layer's.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: expected a recurrent layer instance, received {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: backward_layer must be a layer instance, received {backward_layer!r}")
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(
                f'Bidirectional: invalid merge_mode {merge_mode!r}; use one of "sum", "mul", "ave", "concat" or None'
            )
        super().__init__(**kwargs)
        # fresh copies, as Keras: the layer passed in is a template, its own weights are not used
        config = layer.get_config()
        config["name"] = "forward_" + layer.name.removeprefix("forward_")
        self.forward_layer = type(layer).from_config(config)
        if backward_layer is None:
            config = layer.get_config()
            config["go_backwards"] = True
            config["name"] = "backward_" + layer.name.removeprefix("backward_")
            backward_layer = type(layer).from_config(config)
        self.backward_layer = backward_layer
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                f'Bidirectional "{self.name}": the forward and backward layers must have different go_backwards, '
                f"both have {fwd.go_backwards}"
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(
                    f'Bidirectional "{self.name}": the forward and backward layers must have the same {attr}, '
                    f"received {getattr(fwd, attr)} and {getattr(bwd, attr)}"
                )
        for sub in (fwd, bwd):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences  # as Keras: masked steps output zeros
        self.merge_mode = merge_mode
        self.return_sequences = fwd.return_sequences
        self.return_state = fwd.return_state
        self.stateful = fwd.stateful
        self.supports_masking = True
        self.input_spec = fwd.input_spec
        self._initial_weights = None if weights is None else list(weights)

    def build(self, sequences_shape, initial_state_shape=None):
        _build_sublayer(self, self.forward_layer, sequences_shape)
        _build_sublayer(self, self.backward_layer, sequences_shape)
        self.built = True
        if self._initial_weights is not None:
            w, self._initial_weights = self._initial_weights, None
            self.set_weights(w)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        kwargs = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        y = self.forward_layer(sequences, initial_state=fwd_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=bwd_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (tuple(output) if self.merge_mode is None else (output,)) + states
        return output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        masks = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            masks += [None] * (len(self.forward_layer.state_size) * 2)
        return masks if len(masks) > 1 else masks[0]

    def get_config(self):
        from glassnet.layers.serialization import serialize_layer
        config = super().get_config()
        config.update({"merge_mode": self.merge_mode, "layer": serialize_layer(self.forward_layer),
                       "backward_layer": serialize_layer(self.backward_layer)})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from glassnet.layers.serialization import deserialize_layer
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize_layer(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)
