"""Symbolic inputs for the functional API: ``gn.Input``, KerasTensor and graph nodes.

Calling a layer on KerasTensors records a Node (layer, arguments, outputs) instead of
computing numbers. Output shapes come from the layer's ``compute_output_shape``, which by
default runs the layer once on a small zero input (batch 2) and reads the result: every
layer gets shape inference for free, and what is shown is what the layer really does.
"""
import numpy as np

from glassnet import backend
from glassnet.autograd import no_grad
from glassnet.layers.layer import Layer, _flatten, _map, unique_name
from glassnet.tensor import Tensor

# stand-ins for unknown (None) non-batch sizes; a dim that differs between the two runs stays
# None. Far apart and coprime, so strides and pooling cannot map both to one size.
_PROBE_SIZES = (13, 29)


class KerasTensor:
    """A symbolic tensor: a shape (None = any size), a dtype and the node that made it."""

    def __init__(self, shape, dtype=None, name=None, node=None, index=0, has_mask=False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype or backend.floatx())
        self.name = name
        self.node = node
        self.index = index
        self.has_mask = has_mask

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"


class Node:
    """One symbolic call of a layer: its layer, its arguments and its output KerasTensors."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.inputs = args[0]

    @property
    def parent_tensors(self):
        return [t for t in _flatten((self.args, list(self.kwargs.values()))) if isinstance(t, KerasTensor)]


class InputLayer(Layer):
    """The layer behind ``gn.Input``: holds the input's shape and dtype, computes nothing."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, sparse=None, **kwargs):
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, **kwargs)
        if sparse:
            raise ValueError(f'InputLayer "{self.name}": sparse inputs are not supported')
        if batch_shape is None:
            if shape is None:
                raise ValueError(f'InputLayer "{self.name}": give `shape` (without the batch axis), e.g. Input(shape=(784,))')
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self.batch_shape = tuple(None if n is None else int(n) for n in batch_shape)
        self._dtype = np.dtype(dtype or backend.floatx()).name
        self._np_dtype = np.dtype(self._dtype)
        self.built = True
        self.output_tensor = KerasTensor(self.batch_shape, self._dtype, name=self.name)
        self.output_tensor.node = Node(self, ((),), {}, self.output_tensor)
        self._inbound_nodes.append(self.output_tensor.node)
        self._output_shape = self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self._dtype, "sparse": False, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None):
    """A symbolic input of ``shape`` (no batch axis), to start a functional model."""
    if tensor is not None:
        raise ValueError("Input: `tensor=` is not supported; pass shape= and call the model on data instead")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name, sparse=sparse)
    return layer.output_tensor


def _probe_array(shape, dtype, probe):
    if shape:
        shape = (2 if shape[0] is None else shape[0],) + tuple(probe if n is None else n for n in shape[1:])
    return Tensor._from_op(np.zeros(shape, dtype=dtype), None)


def _run_probe(layer, args, kwargs, probe):
    def concrete(x):
        if isinstance(x, KerasTensor):
            return _probe_array(x.shape, x.dtype, probe)
        if isinstance(x, tuple) and all(n is None or isinstance(n, (int, np.integer)) for n in x):
            return _probe_array(x, backend.floatx(), probe)
        return x

    cargs = _map(concrete, args)
    ckwargs = {k: _map(concrete, v) for k, v in kwargs.items()}
    ckwargs["training"] = False
    with no_grad():
        return layer(*cargs, **ckwargs)


def _shape_from_probes(outs, probes):
    """Output shape with None where the size followed the batch or an unknown input size."""
    first = _flatten(outs[0])
    shapes = []
    for i, t in enumerate(first):
        if not isinstance(t, Tensor):
            shapes.append(None)
            continue
        dims = list(t.shape)
        if dims:
            dims[0] = None
        for other in outs[1:]:
            o = _flatten(other)[i]
            for k, (a, b) in enumerate(zip(t.shape, o.shape)):
                if a != b:
                    dims[k] = None
        shapes.append(tuple(dims))
    return shapes


def probe_output_shape(layer, input_shape):
    """compute_output_shape by example: run ``layer`` on zeros of ``input_shape``."""
    unknown = any(n is None for s in _flatten([input_shape]) if isinstance(s, tuple) for n in s[1:])
    probes = _PROBE_SIZES if unknown else _PROBE_SIZES[:1]
    outs = [_run_probe(layer, (input_shape,), {}, p) for p in probes]
    shapes = _shape_from_probes(outs, probes)
    return shapes[0] if not isinstance(outs[0], (list, tuple)) else shapes


def _declared_shapes(layer, args):
    """The layer's own compute_output_shape, when it defines one, as a flat list of shapes."""
    if type(layer).compute_output_shape is Layer.compute_output_shape:
        return None
    in_shapes = _map(lambda t: t.shape if isinstance(t, KerasTensor) else t, args[0])
    out = layer.compute_output_shape(in_shapes)
    if isinstance(out, tuple) and all(n is None or isinstance(n, (int, np.integer)) for n in out):
        return [tuple(out)]
    return [tuple(s) for s in _flatten(out)] if isinstance(out, list) else None


def symbolic_call(layer, args, kwargs):
    """Record ``layer(*args, **kwargs)`` on KerasTensors; return output KerasTensors."""
    kts = [x for x in _flatten(args) if isinstance(x, KerasTensor)]
    unknown = any(n is None for t in kts for n in t.shape[1:])
    probes = _PROBE_SIZES if unknown else _PROBE_SIZES[:1]
    outs = [_run_probe(layer, args, dict(kwargs), p) for p in probes]
    shapes = _shape_from_probes(outs, probes)
    if unknown:
        declared = _declared_shapes(layer, args)
        if declared is not None and len(declared) == len(shapes):
            shapes = [(None,) + d[1:] for d in declared]
    flat_first = _flatten(outs[0])
    result = []
    for i, (t, shape) in enumerate(zip(flat_first, shapes)):
        if not isinstance(t, Tensor):
            raise TypeError(f'Layer "{layer.name}" returned {type(t).__name__}, expected tensors')
        result.append(KerasTensor(shape, t.dtype, name=f"{layer.name}_out_{i}" if i else layer.name,
                                  index=i, has_mask=t._keras_mask is not None))
    structured = _restructure(outs[0], iter(result))
    node = Node(layer, args, kwargs, structured)
    for kt in result:
        kt.node = node
    layer._inbound_nodes.append(node)
    layer._output_shape = _map(lambda k: k.shape, structured)
    return structured


def _restructure(template, flat_iter):
    if isinstance(template, list):
        return [_restructure(x, flat_iter) for x in template]
    if isinstance(template, tuple):
        return tuple(_restructure(x, flat_iter) for x in template)
    if isinstance(template, dict):
        return {k: _restructure(v, flat_iter) for k, v in template.items()}
    return next(flat_iter)
