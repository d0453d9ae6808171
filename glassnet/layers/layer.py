"""Layer: the Keras 3 layer lifecycle on glassnet tensors.

    __init__(config only) -> build(input_shape) on first call -> call(inputs) -> get_config()

Weights are made in ``build`` from the first input's shape, so sizes are never typed twice.
A failed build or call leaves the layer as it was. Calling a layer on symbolic inputs
(``gn.Input``) builds a functional graph instead (see glassnet.layers.input_layer).
"""
import inspect
import re
import threading

import numpy as np

from glassnet import backend, ops

from glassnet.tensor import Tensor
from glassnet.variables import Variable

_names = threading.local()
_context = threading.local()


def snake_case(name):
    """Keras' rule: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, LSTM -> lstm."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix):
    """Keras-style auto names: "dense", then "dense_1", "dense_2", ..."""
    counts = getattr(_names, "counts", None)
    if counts is None:
        counts = _names.counts = {}
    n = counts.get(prefix, 0)
    counts[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names():
    """Restart auto-numbering (keras.backend.clear_session does the same)."""
    _names.counts = {}


def call_context():
    """The stack of (layer, training) frames of the calls in progress, innermost last."""
    stack = getattr(_context, "stack", None)
    if stack is None:
        stack = _context.stack = []
    return stack


_KT = []


def _keras_tensor_class():
    """KerasTensor, imported once (input_layer imports this module)."""
    if not _KT:
        from glassnet.layers.input_layer import KerasTensor
        _KT.append(KerasTensor)
    return _KT[0]


def current_training():
    stack = call_context()
    return stack[-1][1] if stack else None


class InputSpec:
    """What a layer accepts: rank (ndim / min_ndim / max_ndim) and fixed axis sizes."""

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None, dtype=None):
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})
        self.dtype = dtype


def _flatten(structure):
    if isinstance(structure, (list, tuple)):
        return [x for item in structure for x in _flatten(item)]
    if isinstance(structure, dict):
        return [x for key in structure for x in _flatten(structure[key])]
    return [structure]


def _map(fn, structure):
    if isinstance(structure, list):
        return [_map(fn, x) for x in structure]
    if isinstance(structure, tuple):
        return tuple(_map(fn, x) for x in structure)
    if isinstance(structure, dict):
        return {k: _map(fn, v) for k, v in structure.items()}
    return fn(structure)


def _shape_of(structure):
    return _map(lambda t: tuple(t.shape) if hasattr(t, "shape") else None, structure)


class Layer:
    """Base class of every layer; subclasses implement ``build`` and ``call``."""

    _allowed_kwargs = {"input_shape", "input_dim", "batch_input_shape", "batch_size", "weights"}

    def __init__(self, activity_regularizer=None, trainable=True, name=None, dtype=None, autocast=True, **kwargs):
        unknown = set(kwargs) - self._allowed_kwargs
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unrecognized keyword arguments {sorted(unknown)}; "
                f"check the spelling against the Keras documentation of {type(self).__name__}"
            )
        object.__setattr__(self, "_layers", [])
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.built = False
        if isinstance(dtype, dict):  # Keras 3 configs store a DTypePolicy: {"class_name", "config": {"name"}}
            dtype = dtype.get("config", {}).get("name")
        self._dtype = np.dtype(dtype).name if dtype is not None else backend.floatx()
        self._np_dtype = np.dtype(self._dtype)
        self.autocast = autocast
        self._trainable_vars = []
        self._non_trainable_vars = []
        self._activity_losses = []
        from glassnet import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.input_spec = None
        self.supports_masking = False
        self._output_shape = None
        self._checked_shape = None
        self._input_shape_arg = None
        self._inbound_nodes = []
        if "input_shape" in kwargs and kwargs["input_shape"] is not None:
            self._input_shape_arg = (None,) + tuple(kwargs["input_shape"])
        elif "input_dim" in kwargs and kwargs["input_dim"] is not None:
            self._input_shape_arg = (None, int(kwargs["input_dim"]))
        elif kwargs.get("batch_input_shape") is not None:
            self._input_shape_arg = tuple(kwargs["batch_input_shape"])
        sig = inspect.signature(self.call).parameters
        self._call_has_training = "training" in sig
        self._call_has_mask = "mask" in sig

    # ---- attribute tracking: sublayers assigned as attributes are part of this layer --
    def __setattr__(self, name, value):
        if isinstance(value, Layer) and name not in ("_parent",):
            if all(value is not l for l in self.__dict__.get("_layers", [])):
                self.__dict__.setdefault("_layers", []).append(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            tracked = self.__dict__.setdefault("_layers", [])
            for v in value:
                if all(v is not l for l in tracked):
                    tracked.append(v)
        object.__setattr__(self, name, value)

    # ---- dtype ----------------------------------------------------------------------
    @property
    def dtype(self):
        """The dtype of this layer's weights and computations (floatx when it was made, unless given)."""
        return self._dtype

    @property
    def compute_dtype(self):
        return self.dtype

    @property
    def variable_dtype(self):
        return self.dtype

    # ---- weights --------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None, autocast=True):
        """Create a weight of this layer (Keras' signature); call it from ``build``."""
        from glassnet import constraints, initializers, regularizers

        dtype = np.dtype(dtype or self.dtype).name
        if initializer is None:
            initializer = "glorot_uniform" if np.issubdtype(np.dtype(dtype), np.floating) else "zeros"
        init = initializers.get(initializer)
        shape = tuple(int(n) for n in (shape or ()))
        if any(n < 0 for n in shape):
            raise ValueError(f'Layer "{self.name}": weight {name!r} cannot have a negative size, shape {shape}')
        name = name or f"variable_{len(self._trainable_vars) + len(self._non_trainable_vars)}"
        var = Variable(init, shape=shape, dtype=dtype, trainable=trainable, name=name,
                       path=f"{self.name}/{name}")
        var.regularizer = regularizers.get(regularizer)
        var.constraint = constraints.get(constraint)
        (self._trainable_vars if trainable else self._non_trainable_vars).append(var)
        return var

    def _own_weights(self):
        return self._trainable_vars + self._non_trainable_vars

    @property
    def weights(self):
        """All weights in Keras order: own trainable, own non-trainable, then sublayers'."""
        out, seen = [], set()
        for w in self._own_weights() + [w for l in self._layers for w in l.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [w for w in self._trainable_vars]
        for l in self._layers:
            out += [w for w in l.trainable_weights if all(w is not o for o in out)]
        return out

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        """Freeze (False) or unfreeze this layer and all its sublayers."""
        self._trainable = bool(flag)
        for l in self._layers:
            l.trainable = flag
        for w in self._trainable_vars:
            w.requires_grad = bool(flag) and np.issubdtype(w.dtype, np.floating)

    def get_weights(self):
        """Copies of the weights as NumPy arrays, in ``weights`` order."""
        return [np.array(w.data, copy=True) for w in self.weights]

    def set_weights(self, weights):
        """Load arrays in ``weights`` order; any count or shape mismatch is named."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f'Layer "{self.name}": set_weights expected a list of {len(own)} arrays '
                f"({', '.join(f'{w.name} {w.shape}' for w in own) or 'no weights'}), received {len(weights)}"
                + ("; the layer may not be built yet: call it on an input first" if not self.built and not own else "")
            )
        arrays = [np.asarray(a) for a in weights]
        bad = [f"{w.path}: expected {w.shape}, received {a.shape}" for w, a in zip(own, arrays) if a.shape != w.shape]
        if bad:
            raise ValueError(f'Layer "{self.name}": set_weights shape mismatch: ' + "; ".join(bad))
        for w, a in zip(own, arrays):
            w.data[...] = a

    def count_params(self):
        """Number of scalars in all weights (the layer must be built)."""
        if not self.built:
            raise ValueError(
                f'Layer "{self.name}" is not built yet, so its parameters do not exist; call it '
                f"on an input (or build(input_shape)) first"
            )
        return int(sum(w.size for w in self.weights))

    @property
    def losses(self):
        """Regularisation terms (Tensors): the trainable weights' regularizers, then the last
        call's activity regularizer terms, then the sublayers' (as Keras 3)."""
        out = [w.regularizer(w) for w in self.trainable_weights if w.regularizer is not None]
        out += self._activity_losses
        for l in self._layers:
            out += l._activity_losses_deep()
        return out

    def _activity_losses_deep(self):
        return self._activity_losses + [x for l in self._layers for x in l._activity_losses_deep()]

    # ---- lifecycle ------------------------------------------------------------------
    def build(self, input_shape):
        """Create weights for inputs of ``input_shape``; the default makes none."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        """The mask of the output: passed through when the layer supports masking."""
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (None = unknown size), found by running the layer."""
        from glassnet.layers.input_layer import probe_output_shape
        return probe_output_shape(self, input_shape)

    def _check_input(self, inputs):
        spec = self.input_spec
        if spec is None:
            return
        specs = spec if isinstance(spec, (list, tuple)) else [spec]
        flat = _flatten(inputs)
        for i, (s, x) in enumerate(zip(specs, flat)):
            if s is None or not hasattr(x, "shape"):
                continue
            shape = tuple(x.shape)
            shown = (None,) + shape[1:] if shape else shape
            head = f'Input {i} of layer "{self.name}" is incompatible with the layer: '
            if s.ndim is not None and len(shape) != s.ndim:
                raise ValueError(head + f"expected ndim={s.ndim}, found ndim={len(shape)}. Full shape received: {shown}" + self._rank_hint(len(shape), s.ndim))
            if s.min_ndim is not None and len(shape) < s.min_ndim:
                raise ValueError(head + f"expected min_ndim={s.min_ndim}, found ndim={len(shape)}. Full shape received: {shown}" + self._rank_hint(len(shape), s.min_ndim))
            if s.max_ndim is not None and len(shape) > s.max_ndim:
                raise ValueError(head + f"expected max_ndim={s.max_ndim}, found ndim={len(shape)}. Full shape received: {shown}" + self._rank_hint(len(shape), s.max_ndim))
            for axis, size in s.axes.items():
                if size is not None and -len(shape) <= axis < len(shape) and shape[axis] is not None and shape[axis] != size:
                    raise ValueError(
                        head + f"expected axis {axis} of input shape to have value {size}, but received "
                        f"input with shape {shown}" + self._size_hint(shape, axis, size)
                    )

    def _rank_hint(self, got, want):
        if got > want and type(self).__name__ == "Dense":
            return ""
        if got > want:
            return f"; did you forget a Flatten() (or a pooling layer) before this {type(self).__name__}?"
        if got < want:
            return f"; add a Reshape or expand the input to {want} dimensions (e.g. a channels axis for images)"
        return ""

    def _size_hint(self, shape, axis, size):
        if len(shape) > 2 and axis in (-1, len(shape) - 1) and int(np.prod(shape[1:])) == size:
            return "; did you forget a Flatten() before this layer?"
        return ""

    def _maybe_build(self, inputs):
        if self.built:
            return
        shapes = _map(lambda t: (None,) + tuple(t.shape)[1:] if len(getattr(t, "shape", ())) else tuple(getattr(t, "shape", ())), inputs)
        saved = (list(self._trainable_vars), list(self._non_trainable_vars), list(self._layers), self.input_spec)
        try:
            self.build(shapes)
        except BaseException:
            self._trainable_vars, self._non_trainable_vars, layers, self.input_spec = saved
            object.__setattr__(self, "_layers", layers)
            self.built = False
            raise
        self.built = True
        self._build_input_shape = shapes  # Keras' build_config, written into saved files

    def _autocast(self, x):
        if isinstance(x, Tensor):
            if self.autocast and x.data.dtype != self._np_dtype and x.data.dtype.kind == "f":
                cast = ops.cast(x, self.compute_dtype)
                cast._keras_mask = x._keras_mask  # the mask belongs to the values, not the dtype
                return cast
            return x
        if isinstance(x, (np.ndarray, np.generic, float, int, list)) and not isinstance(x, bool):
            arr = np.asarray(x)
            if arr.dtype.kind == "f" and self.autocast:
                arr = arr.astype(self._np_dtype, copy=False)
            elif arr.dtype == np.float64:
                arr = arr.astype(backend.floatx())
            return Tensor._from_op(arr, None)
        return x

    def __call__(self, *args, **kwargs):
        if not args:
            raise ValueError(f'Layer "{self.name}": call it with the inputs as the first argument')
        first = args[0]
        single = isinstance(first, (Tensor, np.ndarray))  # the common case, kept cheap
        if not single and any(isinstance(x, _keras_tensor_class()) for x in _flatten(first)):
            from glassnet.layers.input_layer import symbolic_call
            return symbolic_call(self, args, kwargs)
        inputs = self._autocast(first) if single else _map(self._autocast, first)
        if len(args) > 1:
            args = (inputs,) + args[1:]
        training = kwargs.get("training")
        if training is None:
            training = current_training()
        if self._call_has_training:
            kwargs["training"] = training
        elif "training" in kwargs:
            del kwargs["training"]
        if self._call_has_mask:
            if kwargs.get("mask") is None:
                if single:
                    if inputs._keras_mask is not None:
                        kwargs["mask"] = inputs._keras_mask
                else:
                    masks = [getattr(x, "_keras_mask", None) for x in _flatten(inputs)]
                    if any(m is not None for m in masks):
                        kwargs["mask"] = masks[0] if not isinstance(inputs, (list, tuple)) else masks
        elif "mask" in kwargs:
            del kwargs["mask"]
        # checked before build too (a wrong input never creates weights), and again only
        # when the input shape changes: a training loop pays for the check once
        shape = inputs.shape if single else None
        if shape is None or shape != self._checked_shape:
            self._check_input(inputs)
            if not self.built:
                self._maybe_build(inputs)
                self._check_input(inputs)
            self._checked_shape = shape
        stack = call_context()
        stack.append((self, training))
        try:
            outputs = self.call(inputs, *args[1:], **kwargs)
        except Exception as e:
            if hasattr(e, "add_note") and not getattr(e, "_glassnet_noted", False):
                e.add_note(f'Raised in layer "{self.name}" ({type(self).__name__}), called with input shape {_shape_of(inputs)}')
                e._glassnet_noted = True
            raise
        finally:
            stack.pop()
        if self.activity_regularizer is not None:
            # divided by the batch size, as Keras 3 does, so the strength does not depend on it
            self._activity_losses = [self.activity_regularizer(o) / max(o.shape[0], 1) if o.ndim else self.activity_regularizer(o)
                                     for o in _flatten(outputs) if isinstance(o, Tensor)]
        out_mask = self.compute_mask(inputs, kwargs.get("mask"))
        if isinstance(outputs, Tensor):
            if out_mask is not None:
                outputs._keras_mask = out_mask.data if isinstance(out_mask, Tensor) else out_mask
            self._output_shape = (None,) + outputs.shape[1:] if outputs.ndim else None
            return outputs
        if out_mask is not None:
            flat = _flatten(outputs)
            masks = _flatten(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask] * len(flat)
            for o, mk in zip(flat, masks):
                if isinstance(o, Tensor):
                    o._keras_mask = mk.data if isinstance(mk, Tensor) else mk
        self._output_shape = _map(lambda t: (None,) + tuple(t.shape)[1:] if hasattr(t, "shape") and len(t.shape) else None, outputs)
        return outputs

    # ---- config ---------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments (JSON-friendly) that rebuild this layer."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:
            from glassnet import regularizers
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._input_shape_arg is not None:
            config["batch_input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def output_shape(self):
        if self._output_shape is None:
            raise AttributeError(f'Layer "{self.name}" has not been called yet, so it has no output shape')
        return self._output_shape

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f'Layer "{self.name}" has never been called on a symbolic input')
        return self._inbound_nodes[0].inputs

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f'Layer "{self.name}" has never been called on a symbolic input')
        return self._inbound_nodes[0].outputs

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def standardize_tuple(value, n, name, layer="layer", allow_zero=False):
    """An int or a sequence of ``n`` ints as a tuple (Keras' kernel_size/strides rule)."""
    if isinstance(value, (int, np.integer)):
        value = (int(value),) * n
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(f"{layer}: `{name}` must be an int or a tuple of {n} ints, received {value!r}") from None
    if len(value) != n or not all(isinstance(v, (int, np.integer)) for v in value):
        raise ValueError(f"{layer}: `{name}` must be an int or a tuple of {n} ints, received {value!r}")
    if any(v < (0 if allow_zero else 1) for v in value):
        raise ValueError(f"{layer}: `{name}` must be {'non-negative' if allow_zero else 'positive'}, received {value!r}")
    return tuple(int(v) for v in value)
