"""Reshaping layers: Reshape, Permute, RepeatVector, and Lambda (any function as a layer).

All act per sample: the batch axis is never touched.
"""
import inspect

import numpy as np

from glassnet import ops
from glassnet.layers.layer import InputSpec, Layer


class Reshape(Layer):
    """(batch, ...) -> (batch, *target_shape); one entry of target_shape may be -1 (inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)):
            target_shape = (target_shape,)
        try:
            target_shape = tuple(int(n) for n in target_shape)
        except (TypeError, ValueError):
            raise TypeError(f'Reshape "{self.name}": target_shape must be a tuple of ints, received {target_shape!r}') from None
        if any(n < -1 for n in target_shape) or target_shape.count(-1) > 1:
            raise ValueError(
                f'Reshape "{self.name}": each entry of target_shape must be a non-negative int, or -1 for at '
                f"most one inferred size, received target_shape={target_shape}"
            )
        self.target_shape = target_shape

    def _resolve(self, sample_shape):
        """target_shape with the -1 filled in for samples of ``sample_shape``, or a clear error."""
        size = int(np.prod(sample_shape))
        known = int(np.prod([n for n in self.target_shape if n != -1]))
        if -1 in self.target_shape:
            ok = known > 0 and size % known == 0
            shape = tuple(size // known if n == -1 else n for n in self.target_shape) if ok else None
        else:
            ok = known == size
            shape = self.target_shape
        if not ok:
            raise ValueError(
                f'Reshape "{self.name}": cannot reshape input of shape {(None,) + tuple(sample_shape)} '
                f"({size} values per sample) to target_shape {self.target_shape} "
                f"({'a multiple of ' if -1 in self.target_shape else ''}{known} values); the total size must be unchanged"
            )
        return shape

    def call(self, inputs):
        shape = self._resolve(inputs.shape[1:])
        return ops.reshape(inputs, (inputs.shape[0],) + shape)

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        if None in rest:
            return (input_shape[0],) + tuple(None if n == -1 else n for n in self.target_shape)
        return (input_shape[0],) + self._resolve(rest)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Permute(Layer):
    """Permute the non-batch axes: dims (1-based) gives the input axis of each output axis,
    e.g. Permute((2, 1)) turns (batch, time, features) into (batch, features, time)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise TypeError(f'Permute "{self.name}": dims must be a tuple of ints, received {dims!r}') from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f'Permute "{self.name}": dims must be a permutation of 1..{len(dims)} (axis 0, the batch, stays '
                f"first), received dims={dims}"
            )
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the input repeated n times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f'RepeatVector "{self.name}": n must be an integer, received {type(n).__name__} {n!r}')
        if n <= 0:
            raise ValueError(f'RepeatVector "{self.name}": n must be a positive integer, received n={n}')
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        x = ops.reshape(inputs, (inputs.shape[0], 1, inputs.shape[1]))
        return ops.repeat(x, self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


def _function_config(fn):
    """A function by name only (Keras' layout); its code is never written."""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return {"module": getattr(fn, "__module__", None), "class_name": "function", "config": name,
            "registered_name": name}


def _function_from_config(layer_name, what, config, custom_objects):
    """The function a config names, from ``custom_objects`` (or glassnet's own activations
    and ops); never from code in the file."""
    if callable(config):
        return config
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        raise ValueError(
            f'Lambda "{layer_name}": the {what} was saved as Python bytecode (a Keras file with an inline '
            f"lambda); glassnet never runs code from a file. Define the function with `def` and pass it "
            f"as custom_objects={{'name': function}} when loading"
        )
    if isinstance(config, dict):
        name, module = config.get("registered_name") or config.get("config"), config.get("module")
    else:
        name, module = config, None
    custom_objects = custom_objects or {}
    for key in (name, isinstance(config, dict) and config.get("config")):
        if key and key in custom_objects:
            return custom_objects[key]
    if isinstance(name, str) and (module or "").startswith("glassnet"):
        from glassnet import activations
        if module == "glassnet.activations" and name in activations.ALL_OBJECTS_DICT:
            return activations.ALL_OBJECTS_DICT[name]
        if module.startswith("glassnet.ops") and callable(getattr(ops, name, None)):
            return getattr(ops, name)
    hint = " (a Python lambda has no name to find: define it with `def`)" if name == "<lambda>" else ""
    raise ValueError(
        f'Lambda "{layer_name}": cannot find the {what} {name!r}{hint}. A Lambda config names its function '
        f"but never holds its code: pass it when loading, custom_objects={{{name!r}: {name if name != '<lambda>' else 'fn'}}}"
    )


class Lambda(Layer):
    """Wrap any function of tensors as a layer: y = function(x, **arguments).

    ``function`` may take ``mask`` and ``training`` arguments (passed when it does).
    ``output_shape`` (without the batch axis, or a function of the input shape) and ``mask``
    (a mask, or a function (inputs, mask) -> mask) are optional.

    Saving: the config names the function and never serialises its code, so loading needs
    the function itself: ``from_config(config, custom_objects={"my_fn": my_fn})``.
    Functions of glassnet.activations and glassnet.ops are found by name.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f'Lambda "{self.name}": function must be callable, received {function!r}')
        self.function = function
        self.arguments = dict(arguments or {})
        if output_shape is not None and not callable(output_shape):
            output_shape = tuple(output_shape)
        self._output_shape_arg = output_shape
        self.mask = mask if mask is None or callable(mask) else np.asarray(mask)
        self.supports_masking = mask is not None
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape_arg is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape_arg):
            return self._output_shape_arg(input_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + tuple(self._output_shape_arg)

    def get_config(self):
        config = super().get_config()
        config["function"] = _function_config(self.function)
        if self._output_shape_arg is not None:
            out = self._output_shape_arg
            config["output_shape"] = _function_config(out) if callable(out) else list(out)
        if self.mask is not None:
            config["mask"] = _function_config(self.mask) if callable(self.mask) else np.asarray(self.mask).tolist()
        config["arguments"] = dict(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        name = config.get("name", "lambda")
        config["function"] = _function_from_config(name, "function", config["function"], custom_objects)
        out = config.get("output_shape")
        if isinstance(out, dict) or callable(out):
            config["output_shape"] = _function_from_config(name, "output_shape function", out, custom_objects)
        mask = config.get("mask")
        if isinstance(mask, dict) or callable(mask):
            config["mask"] = _function_from_config(name, "mask function", mask, custom_objects)
        return cls(**config)
