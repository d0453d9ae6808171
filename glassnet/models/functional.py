"""Functional models: ``gn.Model(inputs, outputs)`` over a graph of symbolic layer calls.

The graph is found by walking back from the outputs through the recorded nodes; calling
the model replays those nodes in order on real tensors. Several inputs and outputs,
shared layers and nested models all work, because a node is just one layer call.
"""

from glassnet.layers.input_layer import InputLayer, KerasTensor
from glassnet.layers.layer import Layer, _flatten, _map, unique_name
from glassnet.models import summary as _summary
from glassnet.models.model import Model


def _ordered_nodes(outputs):
    """Nodes that produce ``outputs``, each after the nodes it depends on."""
    order, seen = [], set()
    stack = [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in reversed(node.parent_tensors):
            if id(parent.node) not in seen:
                stack.append((parent.node, False))
    return order


class Functional(Model):
    """A model defined by connecting symbolic inputs to outputs through layer calls."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name or unique_name("functional"), trainable=trainable, **kwargs)
        self.optimizer = None
        self.compiled = False
        if isinstance(inputs, dict):
            self._input_names = list(inputs)
        else:
            self._input_names = None
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._flat_inputs = _flatten(inputs)
        self._flat_outputs = _flatten(outputs)
        for kind, group in (("inputs", self._flat_inputs), ("outputs", self._flat_outputs)):
            for t in group:
                if not isinstance(t, KerasTensor):
                    raise TypeError(
                        f'Model "{self.name}": all {kind} must be symbolic tensors from gn.Input or layer '
                        f"calls on them, received {type(t).__name__}"
                    )
        nodes = _ordered_nodes(self._flat_outputs)
        input_ids = {id(t) for t in self._flat_inputs}
        for node in nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs) not in input_ids:
                raise ValueError(
                    f'Model "{self.name}": graph disconnected: output depends on input "{node.layer.name}", '
                    f"which is not among the model's inputs {[t.name for t in self._flat_inputs]}"
                )
        self._nodes = [n for n in nodes if not isinstance(n.layer, InputLayer)]
        layers = [t.node.layer for t in self._flat_inputs]
        for n in self._nodes:
            if all(n.layer is not l for l in layers):
                layers.append(n.layer)
        object.__setattr__(self, "_layers", layers)
        self.built = True
        self._output_shape = _map(lambda t: t.shape, outputs)

    @property
    def inputs(self):
        return self._flat_inputs

    @property
    def outputs(self):
        return self._flat_outputs

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._flat_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _feed(self, inputs):
        if isinstance(inputs, dict):
            if self._input_names is None:
                names = [t.node.layer.name for t in self._flat_inputs]
            else:
                names = self._input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f'Model "{self.name}": missing inputs {missing}; expected keys {names}')
            return [inputs[n] for n in names]
        flat = _flatten(inputs)
        if len(flat) != len(self._flat_inputs):
            raise ValueError(
                f'Model "{self.name}" expects {len(self._flat_inputs)} input(s) '
                f"{[t.shape for t in self._flat_inputs]}, received {len(flat)}"
            )
        return flat

    def call(self, inputs, training=None, mask=None):
        values = {}
        for i, (kt, x) in enumerate(zip(self._flat_inputs, self._feed(inputs))):
            shape = tuple(getattr(x, "shape", ()))
            ok = len(shape) == len(kt.shape) and all(a is None or a == b for a, b in zip(kt.shape, shape))
            if not ok:
                raise ValueError(
                    f'Input {i} of layer "{self.name}" is incompatible with the layer: expected '
                    f"shape={kt.shape}, found shape={shape}"
                )
            values[id(kt)] = x
        for node in self._nodes:
            args = _map(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, node.args)
            kwargs = {k: _map(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, v) for k, v in node.kwargs.items()}
            out = node.layer(*args, **kwargs)
            for kt, o in zip(_flatten(node.outputs), _flatten(out)):
                values[id(kt)] = o
        return _map(lambda kt: values[id(kt)], self._outputs_struct)

    def _summary_rows(self):
        sequential_like = all(len(n.parent_tensors) <= 1 for n in self._nodes) and len(self._flat_inputs) == 1 \
            and len(self._flat_outputs) == 1 and len({id(n.layer) for n in self._nodes}) == len(self._nodes)
        rows = []
        for layer in self.layers:
            row = _summary.layer_row(layer)
            if not sequential_like:
                links = []
                for node in layer._inbound_nodes:
                    if not any(node is n for n in self._nodes):
                        continue
                    for p in node.parent_tensors:
                        pl = p.node.layer
                        links.append(f"{pl.name}[{_node_index(pl, p.node)}][{p.index}]")
                row.append(", ".join(links) if links else "-")
            rows.append(row)
        return rows

    def get_config(self):
        from glassnet.models.functional_config import functional_config
        return functional_config(self)


def _node_index(layer, node):
    for i, n in enumerate(layer._inbound_nodes):
        if n is node:
            return i
    return 0
