"""A functional model's graph as Keras 3's config, and back.

    {"name": ..., "trainable": ...,
     "layers": [{...serialized layer..., "name": "dense", "inbound_nodes": [
                    {"args": [{"class_name": "__keras_tensor__", "config": {"shape": [None, 4],
                               "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}],
                     "kwargs": {}}]}, ...],
     "input_layers": [["input_layer", 0, 0]], "output_layers": [["dense", 0, 0]]}

A tensor is named by (layer name, node index, output index); node indices count only the
calls that belong to this model. Layers are listed in Keras' order (by depth from the
inputs, then by traversal order), which is also the order Keras gives their weights in
.weights.h5 files (see ``keras_layer_order``). Reading never runs code: call arguments may
only be tensors and plain values.
"""
import numpy as np

from glassnet.layers.input_layer import InputLayer, KerasTensor
from glassnet.layers.layer import _flatten
from glassnet.layers.serialization import (
    LayerConfigError, check_depth, deserialize_layer, serialize_layer, _short,
)

_NUMERIC_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                   "float16", "float32", "float64"}


# ---- Keras' graph order ----------------------------------------------------------------
def _keras_flatten(x):
    """Keras' tree.flatten: lists/tuples in order, dicts by sorted key."""
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _keras_flatten(item)]
    if isinstance(x, dict):
        return [leaf for key in sorted(x) for leaf in _keras_flatten(x[key])]
    return [x]


def _input_tensors(node):
    return [t for t in _keras_flatten((node.args, node.kwargs)) if isinstance(t, KerasTensor)]


def _is_input(node):
    return isinstance(node.layer, InputLayer) or not _input_tensors(node)


def keras_graph(inputs, outputs):
    """(layers in Keras' order, ids of the nodes in the graph) for a functional graph.

    Keras (ops/function.py map_graph): a depth-first walk from the outputs gives each layer
    a traversal index; a layer's depth is its longest distance to an output; layers are
    sorted by decreasing depth, then by traversal index. Inputs unused by the outputs come
    at depth 0."""
    input_ids = {id(t) for t in inputs}
    finished, in_progress, ordered_nodes, traversal = set(), set(), [], {}
    layers_by_id = {}
    for output in outputs:
        stack = [(output, None)]  # (tensor, iterator over its node's inputs once entered)
        while stack:
            tensor, children = stack[-1]
            node = tensor.node
            if children is None:
                if id(node) in finished:
                    stack.pop()
                    continue
                if not _is_input(node) and id(tensor) in input_ids:
                    finished.add(id(node))
                    stack.pop()
                    continue
                if id(node) in in_progress:
                    raise ValueError(f'Tensor {tensor.name} from layer "{node.layer.name}" is part of a cycle')
                layers_by_id[id(node.layer)] = node.layer
                traversal.setdefault(id(node.layer), len(traversal))
                in_progress.add(id(node))
                children = iter([] if _is_input(node) else _input_tensors(node))
                stack[-1] = (tensor, children)
            child = next(children, None)
            if child is not None:
                stack.append((child, None))
                continue
            finished.add(id(node))
            in_progress.discard(id(node))
            ordered_nodes.append(node)
            stack.pop()

    in_graph = {id(n) for n in ordered_nodes}
    node_depth, layer_depth = {}, {}
    for node in reversed(ordered_nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in (t.node for t in _input_tensors(node)):
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        layer = t.node.layer
        if id(layer) not in layer_depth and _is_input(t.node):
            layer_depth[id(layer)] = 0
            traversal[id(layer)] = -1
            layers_by_id[id(layer)] = layer
            in_graph.add(id(t.node))
    order = sorted(layer_depth, key=lambda i: (-layer_depth[i], traversal[i]))
    return [layers_by_id[i] for i in order], in_graph


def keras_layer_order(model):
    """The layers of a functional model in Keras' order (InputLayers included)."""
    return keras_graph(model._flat_inputs, model._flat_outputs)[0]


# ---- writing ---------------------------------------------------------------------------
def _node_index(layer, node, in_graph):
    """The index of ``node`` among ``layer``'s calls that belong to the model."""
    index = 0
    for n in layer._inbound_nodes:
        if n is node:
            return index
        if id(n) in in_graph:
            index += 1
    raise ValueError(f'Internal error: a node of layer "{layer.name}" is missing from its inbound nodes')


def _tensor_ref(t, in_graph, offset=0):
    from glassnet.models.functional import Functional
    layer = t.node.layer
    extra = offset if isinstance(layer, Functional) else 0
    return [layer.name, _node_index(layer, t.node, in_graph) + extra, t.index]


def _serialize_argument(x, in_graph, layer_name):
    if isinstance(x, KerasTensor):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(x.shape), "dtype": x.dtype.name, "keras_history": _tensor_ref(x, in_graph)}}
    if isinstance(x, (list, tuple)):
        return [_serialize_argument(v, in_graph, layer_name) for v in x]
    if isinstance(x, dict):
        return {str(k): _serialize_argument(v, in_graph, layer_name) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": x.tolist(), "dtype": x.dtype.name}}
    if isinstance(x, np.generic):
        return x.item()
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    raise TypeError(
        f'Layer "{layer_name}" was called with an argument of type {type(x).__name__} ({_short(x)}), which '
        "cannot be written to a model config; only tensors, numbers, strings, None and lists/dicts of them can"
    )


def functional_config(model):
    """Keras 3's config of a functional model: layers with their inbound nodes, the input
    and output tensors."""
    order, in_graph = keras_graph(model._flat_inputs, model._flat_outputs)
    layer_configs = []
    for layer in order:
        inbound = []
        for node in layer._inbound_nodes:
            if id(node) in in_graph and not _is_input(node):
                inbound.append({"args": _serialize_argument(node.args, in_graph, layer.name),
                                "kwargs": _serialize_argument(node.kwargs, in_graph, layer.name)})
        config = serialize_layer(layer)
        config["name"] = layer.name
        config["inbound_nodes"] = inbound
        layer_configs.append(config)
    names = [c["name"] for c in layer_configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f'Model "{model.name}": layer names {duplicates} are used more than once; a saved model names its '
            "layers, so give each layer a unique name"
        )

    def refs(structure):
        if isinstance(structure, KerasTensor):
            return _tensor_ref(structure, in_graph, offset=1)
        if isinstance(structure, dict):
            return {k: refs(v) for k, v in structure.items()}
        return [refs(v) for v in structure]

    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": refs(model._inputs_struct), "output_layers": refs(model._outputs_struct)}


# ---- reading ---------------------------------------------------------------------------
class _NotReady(Exception):
    """A node refers to a call of a layer that has not been replayed yet."""


def _history(config, what):
    history = config.get("keras_history") if isinstance(config, dict) else config
    ok = (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)
          and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2 ** 31 for i in history[1:]))
    if not ok:
        raise LayerConfigError(f"{what}: a tensor reference must be [layer name, node index, tensor index], received {_short(history)}")
    return history


def _lookup(created, history, what, offset=0):
    from glassnet.models.functional import Functional
    name, node_index, tensor_index = history
    layer = created.get(name)
    if layer is None:
        raise LayerConfigError(f"{what}: refers to layer {name!r}, which the config does not define")
    if isinstance(layer, Functional):
        node_index -= offset
    if node_index < 0:
        raise LayerConfigError(f"{what}: invalid node index in {_short(history)}")
    if node_index >= len(layer._inbound_nodes):
        raise _NotReady(name)
    flat = _flatten(layer._inbound_nodes[node_index].outputs)  # the order KerasTensor.index counts in
    if tensor_index >= len(flat):
        raise LayerConfigError(f"{what}: layer {name!r} has {len(flat)} output(s), the config asks for output {tensor_index}")
    return flat[tensor_index]


def _deserialize_argument(x, created, what):
    if isinstance(x, list):
        return [_deserialize_argument(v, created, what) for v in x]
    if not isinstance(x, dict):
        return x
    if "class_name" not in x:
        return {k: _deserialize_argument(v, created, what) for k, v in x.items()}
    kind, inner = x["class_name"], x.get("config")
    inner = inner if isinstance(inner, dict) else {}
    if kind == "__keras_tensor__":
        return _lookup(created, _history(inner, what), what)
    if kind in ("__numpy__", "__tensor__"):
        dtype = inner.get("dtype")
        if dtype not in _NUMERIC_DTYPES:
            raise LayerConfigError(f"{what}: array arguments must have a numeric dtype, received {_short(dtype)}")
        return np.array(inner.get("value"), dtype=dtype)
    if kind == "__bytes__" and isinstance(inner.get("value"), str):
        return inner["value"].encode("utf-8")
    if kind == "__ellipsis__":
        return Ellipsis
    if kind == "__slice__":
        parts = [_deserialize_argument(inner.get(k), created, what) for k in ("start", "stop", "step")]
        if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
            raise LayerConfigError(f"{what}: a slice takes integers or null, received {_short(parts)}")
        return slice(*parts)
    if kind == "__lambda__":
        raise LayerConfigError(f"{what}: a call argument is Python bytecode (a lambda); glassnet never runs code from a file")
    raise LayerConfigError(f"{what}: layer call arguments may only be tensors and plain values, received an object of class {_short(kind)}")


def _node_call(node_data, created, layer_name):
    """(args, kwargs) of a recorded call: Keras 3's {"args", "kwargs"} or the older list form."""
    what = f'inbound node of layer "{layer_name}"'
    if isinstance(node_data, dict):
        args = _deserialize_argument(node_data.get("args", []), created, what)
        kwargs = _deserialize_argument(node_data.get("kwargs") or {}, created, what)
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise LayerConfigError(f"{what}: 'args' must be a list and 'kwargs' a dict")
        return args, kwargs
    if isinstance(node_data, list):  # legacy: [[layer name, node index, tensor index, kwargs], ...]
        tensors, kwargs = [], {}
        for entry in node_data:
            if not isinstance(entry, list) or len(entry) not in (3, 4):
                raise LayerConfigError(f"{what}: cannot read the node entry {_short(entry)}")
            tensors.append(_lookup(created, _history(entry[:3], what), what))
            if len(entry) == 4:
                if not isinstance(entry[3], dict):
                    raise LayerConfigError(f"{what}: call arguments must be a dict, received {_short(entry[3])}")
                kwargs = _deserialize_argument(entry[3], created, what)
        return [tensors[0] if len(tensors) == 1 else tensors], kwargs
    raise LayerConfigError(f"{what}: cannot read {_short(node_data)}")


def functional_from_config(config, custom_objects=None, cls=None):
    """Rebuild a functional model from ``functional_config``'s dict (or Keras 3's): create
    every layer, then replay the recorded calls once their inputs exist. ``cls`` may be a
    Functional subclass taking (inputs, outputs, name, trainable)."""
    from glassnet.models.functional import Functional

    cls = cls if isinstance(cls, type) and issubclass(cls, Functional) else Functional

    check_depth(config, "model config")
    layer_configs = config.get("layers")
    if not isinstance(layer_configs, list):
        raise LayerConfigError(f"A functional model config needs a 'layers' list, received {_short(layer_configs)}")
    created, pending, names = {}, {}, []
    for layer_config in layer_configs:
        if not isinstance(layer_config, dict):
            raise LayerConfigError(f"Each entry of 'layers' must be a dict, received {_short(layer_config)}")
        inner = layer_config.get("config")
        name = layer_config.get("name", inner.get("name") if isinstance(inner, dict) else None)
        if not isinstance(name, str):
            raise LayerConfigError(f"A layer entry has no name: {_short(layer_config)}")
        if name in created:
            raise LayerConfigError(f"The config defines layer {name!r} twice")
        nodes = layer_config.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise LayerConfigError(f'Layer "{name}": inbound_nodes must be a list, received {_short(nodes)}')
        layer = deserialize_layer(layer_config, custom_objects)
        if layer.name != name:
            layer.name = name
        created[name] = layer
        names.append(name)
        if nodes:
            pending[name] = list(nodes)

    while pending:
        progressed = False
        for name in names:
            queue = pending.get(name)
            if not queue:
                continue
            while queue:
                try:
                    args, kwargs = _node_call(queue[0], created, name)
                except _NotReady:
                    break
                try:
                    created[name](*args, **kwargs)
                except Exception as e:
                    raise LayerConfigError(f'Replaying a call of layer "{name}" failed: {type(e).__name__}: {e}') from e
                queue.pop(0)
                progressed = True
            if not queue:
                del pending[name]
        if not progressed:
            raise LayerConfigError(
                "Invalid functional model config: the graph has loops or refers to calls that never happen; "
                f"unresolved layers: {sorted(pending)[:10]}"
            )

    def tensors(structure, what):
        if isinstance(structure, list) and len(structure) == 3 and isinstance(structure[0], str):
            try:
                return _lookup(created, _history(structure, what), what, offset=1)
            except _NotReady:
                raise LayerConfigError(f"{what}: {_short(structure)} refers to a call that the config never makes") from None
        if isinstance(structure, dict):
            return {k: tensors(v, what) for k, v in structure.items()}
        if isinstance(structure, list) and structure:
            return [tensors(v, what) for v in structure]
        raise LayerConfigError(f"{what}: cannot read {_short(structure)}")

    inputs = tensors(config.get("input_layers"), "input_layers")
    outputs = tensors(config.get("output_layers"), "output_layers")
    name = config.get("name")
    trainable = config.get("trainable", True)
    return cls(inputs, outputs, name=name if isinstance(name, str) else None,
               trainable=trainable if isinstance(trainable, bool) else True)
