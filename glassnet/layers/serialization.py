"""Layers as Keras 3 config dicts, and back: ``serialize_layer`` / ``deserialize_layer``.

A serialized layer is Keras 3's dict, so configs move between glassnet and Keras:

    {"module": "keras.layers", "class_name": "Dense", "config": {...layer.get_config()...},
     "registered_name": None, "build_config": {"input_shape": [None, 784]}}

Reading one never runs code from the config: the class is looked up by name among the
classes glassnet.layers exports (and Sequential / Functional), or in ``custom_objects``;
"module" is never imported, lambdas are refused, and a Lambda layer's function must be
passed in ``custom_objects``. Keras' own spellings are accepted: a ``DTypePolicy`` dict
for ``dtype``, "shared_object_id" markers, and Keras-only options left at their defaults.
"""
import difflib
import inspect
import re
import warnings

import numpy as np

from glassnet.layers.input_layer import InputLayer
from glassnet.layers.layer import Layer

MAX_DEPTH = 100  # nesting of a config (JSON levels); Keras' own stay under ~30

# Keras-only constructor arguments glassnet's layers do not take, with the value Keras
# writes by default: a config holding that value loses nothing when the key is dropped.
_KERAS_ONLY_DEFAULTS = {
    "quantization_config": None, "lora_rank": None, "lora_alpha": None,
    "ragged": False, "optional": False, "synchronized": False,
}
_SPECIAL_CLASSES = ("__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__slice__",
                    "__ellipsis__", "__lambda__", "__typespec__", "function")
_DTYPES = {"float16", "float32", "float64", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
           "uint64"}
# Constructor arguments whose config may name a custom object (initializers, activations...).
_OBJECT_ARG = re.compile(r"(^|_)(initializer|regularizer|constraint|activation)$")


class UnknownLayerError(ValueError):
    """A config names a layer class that is neither built in nor in ``custom_objects``."""


class LayerConfigError(ValueError):
    """A layer config that cannot be turned back into a layer (bad value, missing key...)."""


def keras_snake_case(name):
    """Keras' to_snake_case: "BatchNormalization" -> "batch_normalization", "Conv2D" -> "conv2d"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def layer_registry():
    """{Keras class name: glassnet class}, from what glassnet.layers exports right now."""
    import glassnet.layers as layers_pkg
    from glassnet.models import Functional, Model, Sequential

    registry = {}
    for name, obj in vars(layers_pkg).items():
        if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer and not name.startswith("_"):
            registry[name] = obj
    registry.update({"Sequential": Sequential, "Functional": Functional, "Model": Model})
    return registry


# ---- writing ---------------------------------------------------------------------------
def serialize_layer(layer):
    """``layer`` as Keras 3's serialized dict (module, class_name, config, registered_name,
    build_config; models also get an empty compile_config, as Keras writes for them)."""
    from glassnet.models import Functional, Model

    cls = type(layer)
    builtin = layer_registry().get(cls.__name__) is cls
    registered_name = None if builtin else cls.__name__
    if cls is Functional:  # Keras does not export Functional: it writes where the class lives
        module, registered_name = "keras.src.models.functional", "Functional"
    elif builtin:
        module = "keras" if isinstance(layer, Model) else "keras.layers"
    else:
        module = cls.__module__
    config = layer.get_config()
    if not isinstance(config, dict):
        raise TypeError(f'Layer "{layer.name}": get_config() must return a dict, received {type(config).__name__}')
    config = _to_keras_config(layer, config)
    out = {"module": module, "class_name": cls.__name__, "config": config, "registered_name": registered_name}
    build_config = _build_config(layer)
    if build_config is not None:
        out["build_config"] = build_config
    if isinstance(layer, Model):
        out["compile_config"] = {}
    return out


def _to_keras_config(layer, config):
    config = dict(config)
    config.pop("batch_input_shape", None)  # Keras 3 layers refuse it; an InputLayer carries the shape
    if isinstance(config.get("dtype"), str) and not isinstance(layer, InputLayer):
        config["dtype"] = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": config["dtype"]},
                           "registered_name": None}
    from glassnet.models import Sequential

    if isinstance(layer, Sequential) and layer.inputs and "build_input_shape" not in config:
        config["build_input_shape"] = list(layer.input_shape)
    return {key: _json_value(layer, key, value) for key, value in config.items()}


def _json_value(layer, key, value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (list, tuple)):
        return [_json_value(layer, key, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(layer, key, v) for k, v in value.items()}
    raise TypeError(
        f'Layer "{layer.name}" ({type(layer).__name__}): config entry {key!r} holds {value!r} '
        f"({type(value).__name__}), which cannot be written to a JSON config; return its name or "
        "config from get_config()"
    )


def _build_config(layer):
    from glassnet.models import Functional, Sequential

    if isinstance(layer, InputLayer):
        return None
    if isinstance(layer, Functional):
        return {"input_shape": None}
    if isinstance(layer, Sequential):
        return {"input_shape": list(layer.input_shape)} if layer.inputs else None
    shape = getattr(layer, "_build_input_shape", None)
    if shape is None:
        from glassnet.layers.input_layer import KerasTensor
        for node in layer._inbound_nodes:
            first = node.args[0] if node.args else None
            if first is not None and all(isinstance(t, KerasTensor) for t in _leaves(first)) and _leaves(first):
                shape = _shapes(first)
                break
    if not layer.built or shape is None:
        return None
    return {"input_shape": _json_value(layer, "input_shape", shape)}


def _leaves(x):
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _leaves(item)]
    return [x]


def _shapes(x):
    if isinstance(x, (list, tuple)):
        return [_shapes(item) for item in x]
    return list(x.shape)


# ---- reading ---------------------------------------------------------------------------
def deserialize_layer(config, custom_objects=None):
    """The layer a Keras 3 serialized dict describes (built when it has a build_config).

    Classes come from glassnet.layers (plus Sequential / Functional) or ``custom_objects``
    ({name: class or function}); an unknown class name is a ``ValueError`` that says so."""
    check_depth(config, "layer config")
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise LayerConfigError(f"A layer config must be a dict with a 'class_name' string, received {_short(config)}")
    class_name = config["class_name"]
    inner = config.get("config")
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise LayerConfigError(f"The config of layer class {class_name!r} must be a dict, received {_short(inner)}")
    cls = _resolve_class(class_name, config.get("registered_name"), custom_objects)
    name = inner.get("name")
    name = name if isinstance(name, str) and len(name) <= 200 else class_name[:200]
    try:
        inner = _from_keras_config(inner, custom_objects, name)
        layer = _instantiate(cls, class_name, inner, custom_objects, name)
        build_config = config.get("build_config")
        if isinstance(build_config, dict) and not layer.built and build_config.get("input_shape") is not None:
            _build(layer, parse_shape(build_config["input_shape"], f'build_config of layer "{name}"'))
    except (UnknownLayerError, LayerConfigError):
        raise
    except Exception as e:
        raise LayerConfigError(f'Cannot rebuild layer "{name}" ({class_name}) from its config: {type(e).__name__}: {e}') from e
    return layer


def _resolve_class(class_name, registered_name, custom_objects):
    custom_objects = custom_objects or {}
    keys = [class_name]
    if isinstance(registered_name, str):
        keys += [registered_name, registered_name.split(">")[-1]]
    for key in keys:
        if key in custom_objects:
            obj = custom_objects[key]
            if not (isinstance(obj, type) and issubclass(obj, Layer)):
                raise LayerConfigError(f"custom_objects[{key!r}] must be a Layer subclass to rebuild a layer, received {obj!r}")
            return obj
    registry = layer_registry()
    if class_name in registry:
        return registry[class_name]
    if len(class_name) > 200:
        class_name = class_name[:200] + "..."
    close = difflib.get_close_matches(class_name, list(registry), n=3)
    raise UnknownLayerError(
        f"Unknown layer class {class_name!r}: glassnet has no built-in layer of that name"
        + (f" (did you mean {', '.join(close)}?)" if close else "")
        + f". If it is your own class, pass it when loading: custom_objects={{{class_name!r}: {class_name}}}"
    )


def _from_keras_config(inner, custom_objects, name):
    """Keras' spellings to glassnet's: DTypePolicy dicts, shared-object markers, custom objects."""
    inner = _strip_shared_ids(dict(inner))
    _refuse_lambdas(inner, name)
    if isinstance(inner.get("dtype"), dict):
        inner["dtype"] = _dtype_from_policy(inner["dtype"], name)
    if inner.get("dtype") is not None and inner["dtype"] not in _DTYPES:
        raise LayerConfigError(f'Layer "{name}": dtype must be one of {sorted(_DTYPES)}, received {_short(inner["dtype"])}')
    for key, value in list(inner.items()):
        if _OBJECT_ARG.search(key):
            inner[key] = _custom_object(value, custom_objects)
    return inner


def _strip_shared_ids(x):
    if isinstance(x, dict):
        return {k: _strip_shared_ids(v) for k, v in x.items() if k != "shared_object_id"}
    if isinstance(x, list):
        return [_strip_shared_ids(v) for v in x]
    return x


def _refuse_lambdas(x, name):
    if isinstance(x, dict):
        if x.get("class_name") == "__lambda__":
            raise LayerConfigError(
                f'Layer "{name}": the config holds a Python lambda as bytecode; glassnet never runs code from '
                "a file. Define the function with `def` and pass it as custom_objects={'name': function}"
            )
        for v in x.values():
            _refuse_lambdas(v, name)
    elif isinstance(x, list):
        for v in x:
            _refuse_lambdas(v, name)


def _dtype_from_policy(policy, name):
    inner = policy.get("config")
    policy_name = inner.get("name") if isinstance(inner, dict) else None
    if policy.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy") or not isinstance(policy_name, str):
        raise LayerConfigError(f'Layer "{name}": unsupported dtype policy {_short(policy)}; glassnet knows float dtypes only')
    if policy_name.startswith("mixed_"):
        warnings.warn(f'Layer "{name}": mixed precision policy {policy_name!r} loaded as float32', stacklevel=3)
        return "float32"
    return policy_name


def _custom_object(value, custom_objects):
    """A nested config naming something in ``custom_objects`` becomes that object; anything
    else stays a config for the layer's own ``initializers.get`` etc. to read."""
    if not custom_objects:
        return value
    if isinstance(value, str):
        return custom_objects.get(value, value)
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        return value
    inner = value.get("config")
    if value["class_name"] == "function":
        keys = [inner, value.get("registered_name")]
    else:
        keys = [value["class_name"], value.get("registered_name")]
    for key in keys:
        if isinstance(key, str) and key in custom_objects:
            obj = custom_objects[key]
            if isinstance(obj, type):
                inner = inner if isinstance(inner, dict) else {}
                return obj.from_config(inner) if hasattr(obj, "from_config") else obj(**inner)
            return obj
    return value


def _accepted_args(cls):
    """Keyword arguments ``cls(...)`` takes, following **kwargs up to Layer; None = any."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names
        if klass is Layer:
            return names | Layer._allowed_kwargs
    return None


def _instantiate(cls, class_name, inner, custom_objects, name):
    from glassnet.models import Functional, Model, Sequential
    from glassnet.models.functional_config import functional_from_config

    if issubclass(cls, Sequential):
        model = cls.from_config(inner, custom_objects=custom_objects)
        if not model.built and inner.get("build_input_shape") is not None:
            model.build(parse_shape(inner["build_input_shape"], f'build_input_shape of model "{model.name}"'))
        return model
    if cls in (Functional, Model) or (issubclass(cls, Functional) and "layers" in inner):
        if not all(k in inner for k in ("layers", "input_layers", "output_layers")):
            raise LayerConfigError(
                f"A {class_name} config needs 'layers', 'input_layers' and 'output_layers'; a subclassed model "
                "is rebuilt from its own class: pass it in custom_objects"
            )
        return functional_from_config(inner, custom_objects, cls)
    if issubclass(cls, InputLayer) and "batch_shape" not in inner and "batch_input_shape" in inner:
        inner["batch_shape"] = inner.pop("batch_input_shape")  # Keras 2's spelling
    accepted = _accepted_args(cls)
    if accepted is not None:
        for key in [k for k in inner if k not in accepted and k in _KERAS_ONLY_DEFAULTS]:
            if inner[key] != _KERAS_ONLY_DEFAULTS[key]:
                raise LayerConfigError(
                    f'Layer "{name}" ({class_name}) uses the Keras option '
                    f"{key}={_short(inner[key])}, which glassnet does not support"
                )
            del inner[key]
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        layer = cls.from_config(inner, custom_objects=custom_objects)
    else:
        layer = cls.from_config(inner)
    if not isinstance(layer, Layer):
        raise LayerConfigError(f"{class_name}.from_config returned {type(layer).__name__}, not a Layer")
    return layer


def _build(layer, shape):
    from glassnet.models import Model, Sequential

    if isinstance(layer, Sequential):
        layer.build(shape)
    elif isinstance(layer, Model):
        return  # a subclassed model is built by calling it (see glassnet.models.saving)
    else:
        layer.build(shape)
        layer.built = True
        layer._build_input_shape = shape


def parse_shape(value, what):
    """A JSON shape ([null, 28, 28]) or list of shapes as tuples; sizes checked."""
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return [parse_shape(v, what) for v in value]
    if not isinstance(value, (list, tuple)):
        raise LayerConfigError(f"{what}: expected a shape (a list of sizes), received {_short(value)}")
    out = []
    for n in value:
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2 ** 31):
            raise LayerConfigError(f"{what}: sizes must be null or integers in [0, 2**31), received {_short(value)}")
        out.append(n)
    return tuple(out)


def check_depth(config, what, limit=MAX_DEPTH):
    """Refuse configs nested deeper than ``limit`` (a hostile file could exhaust the stack)."""
    stack = [(config, 1)]
    while stack:
        x, depth = stack.pop()
        if depth > limit:
            raise LayerConfigError(f"The {what} is nested more than {limit} levels deep; refusing to read it")
        if isinstance(x, dict):
            stack.extend((v, depth + 1) for v in x.values())
        elif isinstance(x, list):
            stack.extend((v, depth + 1) for v in x)


def _short(x, limit=120):
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "..."
