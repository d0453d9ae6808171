"""compile() settings in a .keras file: Keras 3's ``compile_config``, written and read back."""
import json
import warnings


def compile_config(model):
    """Keras' compile_config: how ``compile`` was called ({} when it was not)."""
    from glassnet import optimizers
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return {}
    given = getattr(model, "_compile_config", None) or {}
    try:
        config = {"optimizer": optimizers.serialize(model.optimizer),
                  "loss": _serialize_fn(given.get("loss"), "losses"),
                  "loss_weights": given.get("loss_weights"),
                  "metrics": _serialize_fn(given.get("metrics"), "metrics"),
                  "weighted_metrics": _serialize_fn(given.get("weighted_metrics"), "metrics"),
                  "run_eagerly": bool(getattr(model, "run_eagerly", False)), "steps_per_execution": 1,
                  "jit_compile": getattr(model, "jit_compile", "auto")}
        json.dumps(config)
        return config
    except (TypeError, ValueError) as e:
        warnings.warn(f'Model "{model.name}": its compile settings cannot be saved ({e}); the file will load '
                      "uncompiled", stacklevel=3)
        return {}


def _serialize_fn(x, kind):
    from glassnet import losses, metrics
    if x is None or isinstance(x, (str, bool, int, float)):
        return x
    if isinstance(x, (list, tuple)):
        return [_serialize_fn(v, kind) for v in x]
    if isinstance(x, dict):
        return {str(k): _serialize_fn(v, kind) for k, v in x.items()}
    if isinstance(x, losses.Loss):
        return losses.serialize(x)
    if isinstance(x, metrics.Metric):
        return metrics.serialize(x)
    if isinstance(x, type):
        return x.__name__
    name = getattr(x, "__name__", None)
    if callable(x) and isinstance(name, str) and name != "<lambda>":
        builtin = losses.ALL_OBJECTS_DICT.get(name) is x or (kind == "metrics" and metrics._FUNCTIONS.get(name) is x)
        module = f"keras.{kind}" if builtin else getattr(x, "__module__", None)
        return {"module": module, "class_name": "function", "config": name, "registered_name": name}
    raise TypeError(f"{kind[:-1]} {x!r} has no name to save it by (define it with `def`)")


def _revive(x, kind, custom_objects):
    from glassnet import losses, metrics
    custom_objects = custom_objects or {}
    if isinstance(x, str):
        return custom_objects.get(x, x)
    if x is None or isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, list):
        return [_revive(v, kind, custom_objects) for v in x]
    if isinstance(x, dict) and "class_name" not in x:
        return {k: _revive(v, kind, custom_objects) for k, v in x.items()}
    if isinstance(x, dict) and x["class_name"] == "function":
        name = x.get("config")
        if not isinstance(name, str):
            raise ValueError(f"a function entry needs a name, received {x!r}")
        return custom_objects.get(name, name)
    if isinstance(x, dict):
        return (losses if kind == "loss" else metrics).deserialize(x, custom_objects)
    raise ValueError(f"cannot read the {kind} entry {x!r}")


def compile_from_config(model, config, custom_objects, path):
    """compile() with the saved settings; when that is impossible, warn and stay uncompiled."""
    from glassnet import optimizers
    try:
        optimizer = config.get("optimizer", "rmsprop")
        if isinstance(optimizer, dict):
            optimizer = optimizers.deserialize(optimizer, custom_objects)
        weights = config.get("loss_weights")
        check = weights if isinstance(weights, list) else list(weights.values()) if isinstance(weights, dict) else [weights]
        if not all(w is None or (isinstance(w, (int, float)) and not isinstance(w, bool)) for w in check):
            raise ValueError(f"loss_weights must be numbers, received {weights!r}")
        jit_compile = config.get("jit_compile", "auto")
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f'jit_compile must be true, false or "auto", received {jit_compile!r}')
        model.compile(optimizer=optimizer, loss=_revive(config.get("loss"), "loss", custom_objects),
                      loss_weights=weights, metrics=_revive(config.get("metrics"), "metric", custom_objects),
                      weighted_metrics=_revive(config.get("weighted_metrics"), "metric", custom_objects),
                      run_eagerly=config.get("run_eagerly") is True, jit_compile=jit_compile)
        return True
    except Exception as e:
        warnings.warn(f"{path}: the model was loaded uncompiled, its compile settings could not be restored "
                      f"({type(e).__name__}: {e}); call compile() yourself or pass custom_objects", stacklevel=3)
        return False
