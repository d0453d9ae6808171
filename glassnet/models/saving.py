"""Models and weights in Keras 3's file formats: ``.keras`` archives and ``.weights.h5``.

A ``.keras`` file is a zip of ``metadata.json``, ``config.json`` (the model as Keras 3's
serialized dict, plus ``compile_config``) and ``model.weights.h5``. In the HDF5 file each
layer's own variables are datasets "0", "1", ... of a group ``<path>/vars``, where the path
is the one Keras computes: ``layers/<snake_case class name, numbered in Keras' layer order>``
("layers/dense", "layers/dense_1"), sublayers under their attribute name
("layers/lstm/cell"), the optimizer under "optimizer". So files move both ways between
glassnet and Keras 3. Saving needs h5py (the ``h5`` extra).

Safety: loading never runs code from a file. There is no pickle; the config is JSON and
names only registered classes (others must come in ``custom_objects``); zip members and
HDF5 objects are checked (names, sizes before reading, links, numeric dtypes, shapes)
before anything is read. A bad file raises ``FileFormatError`` (a ValueError) naming the
file and the problem; a missing one, ``FileNotFoundError``. A save writes a temporary file
in the same directory, fsyncs it and renames it over the target, so a crash mid-save
leaves the previous file intact.
"""
import datetime
import io
import json
import os
import warnings
import zipfile

import numpy as np

from glassnet.layers.layer import Layer
from glassnet.layers.serialization import deserialize_layer, keras_snake_case, parse_shape, serialize_layer
from glassnet.models.compile_config import compile_config, compile_from_config
from glassnet.models.functional import Functional
from glassnet.models.functional_config import keras_layer_order
from glassnet.models.model import Model
from glassnet.models.sequential import Sequential
from glassnet.models.safe_files import (  # noqa: F401 (the errors are part of this module's API)
    MAX_EXPANSION, MAX_JSON_BYTES, FileFormatError, UnsafeFileError, atomic_write, check_member_name,
    check_regular_file, checked_path, parse_json, read_member,
)

KERAS_VERSION = "3.15.1"  # the Keras release whose layout these files follow
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}  # HDF5 filters built into h5py


class _Mismatch(Exception):
    """Saved weights that do not fit the model (count or shape): skippable with skip_mismatch."""


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Saving and loading weights needs h5py: pip install 'glassnet[h5]'") from None
    return h5py


# ---- public API ------------------------------------------------------------------------
def save_model(model, filepath, overwrite=True, zipped=None):
    """Write ``model`` (config, weights, optimizer state, compile settings) as a .keras file."""
    path = checked_path(filepath, (".keras",), "save", "a `.keras` extension")
    if zipped is False:
        raise ValueError("save: only zipped .keras files are supported (zipped=False is not)")
    if not model.built:
        warnings.warn(f'Model "{model.name}" is not built yet, so the file holds no weights; call it on data first',
                      stacklevel=2)
    config = serialize_layer(model)
    config["compile_config"] = compile_config(model)
    config_json = json.dumps(config)
    import glassnet
    metadata_json = json.dumps({"keras_version": KERAS_VERSION,
                                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                                "glassnet_version": glassnet.__version__})
    weights = _weights_bytes(model)

    def write(f):
        with zipfile.ZipFile(f, "w") as zf:
            with zf.open(METADATA, "w") as member:
                member.write(metadata_json.encode())
            with zf.open(CONFIG, "w") as member:
                member.write(config_json.encode())
            zf.writestr(WEIGHTS, weights)

    atomic_write(path, write, overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved in a .keras file (by glassnet or Keras 3), with its weights; compiled
    with the saved settings and optimizer state when ``compile`` and possible.

    ``custom_objects`` ({name: class or function}) supplies anything not built into
    glassnet. ``safe_mode`` is accepted for Keras compatibility: glassnet never runs code
    from a file in any mode."""
    path = checked_path(filepath, (".keras",), "load_model", "a `.keras` extension")
    members = _read_archive(path, (CONFIG, WEIGHTS))
    config = parse_json(members[CONFIG], f"{path} ({CONFIG})")
    model = _model_from_config(config, custom_objects, path)
    compile_config = config.get("compile_config") if compile else None
    if isinstance(compile_config, dict) and compile_config:
        compile_from_config(model, compile_config, custom_objects, path)
    with _open_h5(io.BytesIO(members[WEIGHTS]), f"{path} ({WEIGHTS})") as h5:
        _load_state(model, h5, f"{path} ({WEIGHTS})", skip_mismatch=False)
    return model


def save_weights(model, filepath, overwrite=True):
    """Write the weights (and optimizer state) of ``model`` as a Keras .weights.h5 file."""
    path = checked_path(filepath, (".weights.h5",), "save_weights", "a `.weights.h5` extension")
    if not model.built:
        raise ValueError(f'save_weights: model "{model.name}" is not built yet; call it on data (or build it) first')
    weights = _weights_bytes(model)
    atomic_write(path, lambda f: f.write(weights), overwrite)


def load_weights(model, filepath, skip_mismatch=False):
    """Load weights (and optimizer state, if the model is compiled) from a .weights.h5 or
    .keras file into ``model``, which must have the same layers. Nothing is changed unless
    everything loads; with ``skip_mismatch`` layers whose weights do not fit are skipped
    with a warning instead."""
    path = checked_path(filepath, (".weights.h5", ".keras"), "load_weights", "a `.weights.h5` or `.keras` extension")
    if not model.built:
        raise ValueError(f'load_weights: model "{model.name}" is not built yet; call it on data (or build it) first')
    if path.endswith(".keras"):
        source, where = io.BytesIO(_read_archive(path, (WEIGHTS,))[WEIGHTS]), f"{path} ({WEIGHTS})"
    else:
        check_regular_file(path)
        source, where = path, path
    with _open_h5(source, where) as h5:
        _load_state(model, h5, where, skip_mismatch=skip_mismatch)


# ---- which objects own which variables (Keras' traversal) ------------------------------
_INTERNAL_ATTRS = {"_layers", "_input_layer", "optimizer", "_parent"}


def _is_optimizer(obj):
    from glassnet.optimizers import Optimizer
    return isinstance(obj, Optimizer)


def _holds_layer(value, depth=0):
    if isinstance(value, Layer) or _is_optimizer(value):
        return True
    if depth < 8 and isinstance(value, (list, tuple)):
        return any(_holds_layer(v, depth + 1) for v in value)
    if depth < 8 and isinstance(value, dict):
        return any(_holds_layer(v, depth + 1) for v in value.values())
    return False


def _keras_sublayers(layer):
    return keras_layer_order(layer) if isinstance(layer, Functional) else list(layer._layers)


def _children(obj):
    """(attribute, child) pairs in the order Keras' saver visits them."""
    first = [("layers", _keras_sublayers(obj))] if isinstance(obj, (Sequential, Functional)) else []
    attrs = {}
    if isinstance(obj, Model):
        if not first:
            attrs["layers"] = obj.layers
        if _is_optimizer(getattr(obj, "optimizer", None)):
            attrs["optimizer"] = obj.optimizer
    for key, value in vars(obj).items():
        if not key.startswith("__") and key not in _INTERNAL_ATTRS and key not in attrs and _holds_layer(value):
            attrs[key] = value
    return first + sorted(attrs.items(), key=lambda kv: "~" + kv[0] if kv[0].startswith("_") else kv[0])


def _saveables(model):
    """[(path, layer or optimizer)]: every object with variables once, at Keras' h5 path."""
    out, visited = [], set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out.append((path, obj))
        if _is_optimizer(obj):
            return
        for attr, child in _children(obj):
            child_path = f"{path}/{attr}" if path else attr
            if isinstance(child, Layer) or _is_optimizer(child):
                visit(child, child_path)
            elif isinstance(child, (list, tuple, dict)):
                visit_container(child, child_path, set())

    def visit_container(container, path, seen):
        if id(container) in seen:
            return
        seen.add(id(container))
        used = {}
        for item in container.values() if isinstance(container, dict) else container:
            if isinstance(item, Layer) or _is_optimizer(item):
                visit(item, f"{path}/{_unique(keras_snake_case(type(item).__name__), used)}")
            elif isinstance(item, (list, tuple, dict)):
                visit_container(item, f"{path}/{_unique('container', used)}", seen)

    visit(model, "")
    return out


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _keras_trainables(layer, seen=None):
    """Trainable variables in Keras' order (own, then sublayers in Keras' layer order):
    the order Keras' optimizer slots follow."""
    seen = set() if seen is None else seen
    if not layer.trainable:
        return []
    out = []
    for v in layer._trainable_vars:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    for sub in _keras_sublayers(layer):
        out += _keras_trainables(sub, seen)
    return out


def _optimizer_variables(optimizer, model):
    """The optimizer's variables in the order Keras stores them. An optimizer built on the
    model's variables in another order is matched to a twin built in Keras' order, by name."""
    variables = list(optimizer.variables)
    built_on = list(getattr(optimizer, "_trainable_variables", None) or [])
    keras_order = _keras_trainables(model)
    if not optimizer.built or [id(v) for v in built_on] == [id(v) for v in keras_order]:
        return variables
    if {id(v) for v in built_on} != {id(v) for v in keras_order}:
        return variables
    twin = type(optimizer).from_config(optimizer.get_config())
    twin.build(keras_order)
    by_name = {v.name: v for v in variables}
    names = [v.name for v in twin.variables]
    if len(by_name) != len(variables) or sorted(names) != sorted(by_name):
        warnings.warn(f"{optimizer.name}: cannot match its variables to Keras' order; they are saved as they are",
                      stacklevel=3)
        return variables
    return [by_name[n] for n in names]


def _own_variables(obj, model):
    if _is_optimizer(obj):
        return _optimizer_variables(obj, model)
    return list(obj._trainable_vars) + list(obj._non_trainable_vars)


# ---- HDF5 weights ----------------------------------------------------------------------
def _weights_bytes(model):
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for path, obj in _saveables(model):
            group = h5.create_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = obj.name
            for i, variable in enumerate(_own_variables(obj, model)):
                group[str(i)] = np.asarray(variable.data)
    return buffer.getvalue()


def _open_h5(source, where):
    h5py = _h5py()
    try:
        return h5py.File(source, "r")
    except Exception as e:
        raise FileFormatError(f"{where}: not a readable HDF5 weights file ({type(e).__name__}: {e})") from e


def _load_state(model, h5, where, skip_mismatch):
    optimizer = getattr(model, "optimizer", None)
    if _is_optimizer(optimizer) and not optimizer.built and model.built:
        trainables = _keras_trainables(model)
        if trainables:
            optimizer.build(trainables)  # Keras' compile_from_config does the same
    plan, problems = [], []
    try:
        for path, obj in _saveables(model):
            group_path = f"{path}/vars" if path else "vars"
            expected = _own_variables(obj, model)
            group = _group(h5, group_path, where)
            keys = list(group.keys()) if group is not None else []
            label = f'optimizer "{obj.name}"' if _is_optimizer(obj) else f'layer "{obj.name}" ({type(obj).__name__})'
            if len(keys) != len(expected) and _is_optimizer(obj):
                if keys or expected:
                    warnings.warn(f"{where}: skipping the state of {label}: it has {len(expected)} variables, the "
                                  f"file has {len(keys)} (saved before the optimizer was built?)", stacklevel=3)
                continue
            try:
                if len(keys) != len(expected):
                    raise _Mismatch(f"{label} has {len(expected)} weight(s) "
                                    f"{[(v.name, v.shape) for v in expected]}, the file has {len(keys)} at '{group_path}'")
                if sorted(keys) != sorted(str(i) for i in range(len(expected))):
                    raise FileFormatError(f"{where}: '{group_path}' must hold datasets named 0..{len(keys) - 1}, "
                                          f"found {sorted(keys)[:10]}")
                arrays = [_read_dataset(group, str(i), v, where, f"{group_path}/{i}", label)
                          for i, v in enumerate(expected)]
            except _Mismatch as e:
                problems.append(str(e))
                continue
            plan.extend(zip(expected, arrays))
    except (FileFormatError, _Mismatch):
        raise
    except Exception as e:
        raise FileFormatError(f"{where}: corrupt weights file ({type(e).__name__}: {e})") from e
    if problems:
        message = f"{where}: {len(problems)} layer(s) could not be loaded; first: {problems[0]}"
        if not skip_mismatch:
            raise FileFormatError(message + ". Nothing was loaded; pass skip_mismatch=True to load the others")
        warnings.warn(message + ". Those layers were skipped", stacklevel=3)
    for variable, array in plan:
        variable.data[...] = array


def _group(h5, path, where):
    """The group at ``path`` (None if absent), refusing soft/external links on the way."""
    h5py = _h5py()
    current = h5
    for part in path.split("/"):
        link = current.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise UnsafeFileError(f"{where}: '{path}' goes through a {type(link).__name__}; links are never followed")
        current = current[part]
        if not isinstance(current, h5py.Group):
            raise FileFormatError(f"{where}: '{path}' should be a group, found a {type(current).__name__}")
    return current


def _read_dataset(group, key, variable, where, what, label):
    """The array at ``group[key]``, checked before reading: a plain numeric dataset of the
    variable's shape, stored in this file, not a link, no filters beyond h5py's own."""
    h5py = _h5py()
    link = group.get(key, getlink=True)
    if link is None:
        raise _Mismatch(f"{label}: '{what}' is missing from the file")
    if not isinstance(link, h5py.HardLink):
        raise UnsafeFileError(f"{where}: '{what}' is a {type(link).__name__}; links are never followed")
    dataset = group[key]
    if not isinstance(dataset, h5py.Dataset):
        raise FileFormatError(f"{where}: '{what}' should be a dataset, found a {type(dataset).__name__}")
    dtype = dataset.dtype
    if (dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None
            or h5py.check_dtype(vlen=dtype) is not None or h5py.check_dtype(ref=dtype) is not None):
        raise FileFormatError(f"{where}: '{what}' has dtype {dtype}; weights must be plain numbers")
    if dataset.external:
        raise UnsafeFileError(f"{where}: '{what}' keeps its data in external files; refusing to read them")
    if dataset.is_virtual:
        raise UnsafeFileError(f"{where}: '{what}' is a virtual dataset (data from other files); refusing it")
    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in _FILTERS:
            raise FileFormatError(f"{where}: '{what}' needs HDF5 filter {code}, which glassnet does not read")
    shape = dataset.shape
    if shape is None or tuple(shape) != tuple(variable.shape):
        raise _Mismatch(f"{label}: '{what}' has shape {shape} in the file, {variable.path} has shape {variable.shape}")
    declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    stored = dataset.id.get_storage_size()
    if declared > (1 << 20) and declared > 1000 * stored:
        raise FileFormatError(f"{where}: '{what}' declares {declared} bytes but stores {stored}; refusing a likely bomb")
    array = np.asarray(dataset[()])
    if array.shape != tuple(variable.shape):
        raise FileFormatError(f"{where}: '{what}' read as shape {array.shape}, expected {variable.shape}")
    return array.astype(variable.dtype, copy=False)


# ---- the .keras archive ----------------------------------------------------------------
def _read_archive(path, wanted):
    """{member name: bytes} for ``wanted`` members of the zip at ``path``, each size-checked
    before it is read."""
    check_regular_file(path)
    archive_size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set()
            for info in zf.infolist():
                check_member_name(info.filename, path)
                if info.filename in names:
                    raise UnsafeFileError(f"{path}: the archive holds {info.filename!r} twice")
                names.add(info.filename)
            out = {}
            for name in wanted:
                if name not in names:
                    hint = " (weights saved as .npz are not supported; save them as .h5)" if (
                        name == WEIGHTS and "model.weights.npz" in names) else ""
                    raise FileFormatError(f"{path}: not a Keras model archive: {name} is missing{hint}")
                limit = MAX_JSON_BYTES if name.endswith(".json") else MAX_EXPANSION * archive_size + (1 << 20)
                out[name] = read_member(zf, zf.getinfo(name), archive_size, limit, path)
            return out
    except FileFormatError:
        raise
    except Exception as e:
        raise FileFormatError(f"{path}: corrupt or not a .keras archive ({type(e).__name__}: {e})") from e


# ---- config and compile settings -------------------------------------------------------
def _model_from_config(config, custom_objects, path):
    try:
        model = deserialize_layer(config, custom_objects)
        if not isinstance(model, Model):
            raise FileFormatError(f"{path}: {CONFIG} describes a {type(model).__name__} layer, not a model")
        build_config = config.get("build_config")
        if not model.built and isinstance(build_config, dict) and build_config.get("input_shape") is not None:
            _build_by_calling(model, parse_shape(build_config["input_shape"], "build_config"))
        return model
    except FileFormatError:
        raise
    except Exception as e:
        raise FileFormatError(f"{path}: cannot rebuild the model from {CONFIG}: {type(e).__name__}: {e}") from e


def _build_by_calling(model, shape):
    """A subclassed model is built by calling it once, on zeros of its saved input shape."""
    from glassnet import backend
    from glassnet.autograd import no_grad
    if isinstance(shape, tuple) and all(n is not None for n in shape[1:]):
        with no_grad():
            model(np.zeros((1,) + shape[1:], dtype=backend.floatx()), training=False)


