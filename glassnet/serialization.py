"""Keras' config dicts for named objects (initializers, regularizers, constraints, ...).

    {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {...},
     "registered_name": None}

Deserialising looks names up only in a module's table of built-ins and in the caller's
``custom_objects``: a config can never name arbitrary code to import or run.
"""
import inspect


def serialize_object(obj, table, module, kind):
    """``obj`` as Keras' dict; built-ins (found in ``table``) carry Keras' ``module``."""
    if obj is None:
        return None
    if not hasattr(obj, "get_config"):
        raise ValueError(f"serialize: cannot serialize {obj!r}; only {kind} objects (with get_config) can be saved")
    cls = type(obj)
    builtin = table.get(cls.__name__) is cls
    return {"module": module if builtin else cls.__module__, "class_name": cls.__name__,
            "config": obj.get_config(), "registered_name": None if builtin else cls.__name__}


def deserialize_object(config, table, custom_objects, unknown, factories=()):
    """The object a name or config dict stands for; ``unknown(config)`` builds the error.
    Functions listed in ``factories`` are called with the config (Keras' ``l1_l2``)."""
    if config is None:
        return None
    if isinstance(config, str):
        name, inner = config, {}
    elif isinstance(config, dict) and "class_name" in config:
        name, inner = config["class_name"], config.get("config") or {}
    else:
        raise unknown(config)
    custom_objects = custom_objects or {}
    cls = custom_objects.get(name)
    if cls is None and isinstance(config, dict):
        cls = custom_objects.get(config.get("registered_name"))
    if cls is None:
        cls = table.get(name)
    if cls is None:
        raise unknown(config)
    if not inspect.isclass(cls):
        return cls(**inner) if any(cls is f for f in factories) else cls
    return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)


def get_object(identifier, table, deserialize, unknown):
    """Keras' ``get`` for losses and metrics: a name from ``table`` (a class becomes an
    instance, a function stays a function), a config dict through ``deserialize``, or any
    callable as is; None gives None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = table.get(identifier)
        if obj is None:
            raise unknown(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise unknown(identifier)
