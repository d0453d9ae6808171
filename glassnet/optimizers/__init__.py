"""gn.optimizers: Keras 3's optimizers, their update rules, defaults and state layout.

    opt = gn.optimizers.Adam(learning_rate=1e-3)        # or gn.optimizers.get("adam")
    loss.backward()
    opt.apply_gradients([(w.grad, w) for w in weights])

Each optimizer's module docstring states its update in math. ``schedules`` holds the
learning-rate schedules (Keras' and OneCycle).
"""
from glassnet.optimizers import schedules
from glassnet.optimizers.adadelta import Adadelta
from glassnet.optimizers.adagrad import Adagrad
from glassnet.optimizers.adam import Adam
from glassnet.optimizers.adamax import Adamax
from glassnet.optimizers.adamw import AdamW
from glassnet.optimizers.base import Optimizer
from glassnet.optimizers.lion import Lion
from glassnet.optimizers.nadam import Nadam
from glassnet.optimizers.rmsprop import RMSprop
from glassnet.optimizers.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion",
    "get", "serialize", "deserialize", "schedules",
]

ALL_OBJECTS = (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Lion)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def serialize(optimizer):
    """The optimizer as Keras' serialized dict: {"module", "class_name", "config", "registered_name"}."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize: expected an Optimizer, received {type(optimizer).__name__}")
    cls = type(optimizer)
    builtin = ALL_OBJECTS_DICT.get(cls.__name__.lower()) is cls
    return {
        "module": "keras.optimizers" if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": optimizer.get_config(),
        "registered_name": None if builtin else cls.__name__,
    }


def deserialize(config, custom_objects=None):
    """An optimizer from ``serialize``'s dict (class names case-insensitive); custom classes
    must be given in ``custom_objects`` — nothing else is ever imported or run."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config', received {config!r}")
    name = config["class_name"]
    custom_objects = custom_objects or {}
    cls = custom_objects.get(name) or custom_objects.get(config.get("registered_name"))
    if cls is None:
        cls = ALL_OBJECTS_DICT.get(str(name).lower())
    if cls is None:
        raise ValueError(_unknown(name))
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def _unknown(identifier):
    return (
        f"Could not interpret optimizer identifier: {identifier!r}. Valid names are "
        f"{', '.join(repr(n) for n in ALL_OBJECTS_DICT)} (case-insensitive), a config dict "
        "{'class_name': ..., 'config': {...}}, or an Optimizer instance."
    )


def get(identifier):
    """An Optimizer from a name ("adam"), a config dict, or an instance (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier.lower())
        if cls is None:
            raise ValueError(_unknown(identifier))
        return cls()
    raise ValueError(_unknown(identifier))
