"""Numbers from inside a model: every layer's output, the gradient of every weight, and
the gradient of a class score with respect to the input (saliency).

None of these change the model: activations record no graph; gradient_norms and saliency
run with ``training=False`` (no dropout draws from the random stream, no batch-norm
moving-statistics updates) and leave every weight's ``.grad`` as they found it, so they
can be called in the middle of training without changing the run.

    acts = gn.viz.activations(model, x[:8])          # {"conv2d": (8, 8, 8, 32), ...}
    norms = gn.viz.gradient_norms(model, x[:32], y[:32])
    sal = gn.viz.saliency(model, x[:4])              # |d score / d input|, shaped like x
"""
import numpy as np

from glassnet import backend
from glassnet.autograd import enable_grad, no_grad
from glassnet.layers.input_layer import KerasTensor
from glassnet.layers.layer import Layer, _flatten, _map
from glassnet.models.functional import Functional
from glassnet.models.model import Model
from glassnet.models.sequential import Sequential
from glassnet.tensor import Tensor


def _numpy(out):
    return _map(lambda t: t.data if isinstance(t, Tensor) else np.asarray(t), out)


def _input_rank(model):
    """Rank of the model's (first) input including the batch axis, or None if unknown."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list):
        shape = shape[0]
    return len(shape) if shape is not None else None


def as_batch(model, x):
    """``x`` as a batch: a single example (one axis short of the model's input) gets one."""
    if isinstance(x, Tensor):
        x = x.data
    x = np.asarray(x)
    rank = _input_rank(model)
    if rank is not None and x.ndim == rank - 1:
        return x[None], True
    return x, False


def activations(model, x):
    """The output of every layer of ``model`` for the input batch ``x``.

    Returns ``{layer name: array}`` in the order the layers run (a layer called twice in a
    functional model also appears as "name[1]", "name[2]"). Sequential models run layer by
    layer; functional models replay their recorded nodes; subclassed models are run once
    while each sublayer's output is noted. Inference mode, no graph recorded. A single
    example without the batch axis is accepted and keeps its batch axis of 1 in the result.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"activations: expected a glassnet model, received {type(model).__name__}")
    if not isinstance(x, (list, tuple, dict)):
        x, _ = as_batch(model, x)
    with no_grad():
        if isinstance(model, Sequential):
            return _sequential_activations(model, x)
        if isinstance(model, Functional):
            return _functional_activations(model, x)
        return _traced_activations(model, x)


def _sequential_activations(model, x):
    out, h = {}, x
    for layer in model.layers:
        h = layer(h, training=False)
        out[layer.name] = _numpy(h)
    return out


def _node_key(counts, layer):
    n = counts.get(id(layer), 0)
    counts[id(layer)] = n + 1
    return layer.name if n == 0 else f"{layer.name}[{n}]"


def _functional_activations(model, x):
    values = {id(kt): v for kt, v in zip(model._flat_inputs, model._feed(x))}
    sub = lambda t: values[id(t)] if isinstance(t, KerasTensor) else t
    out, counts = {}, {}
    for node in model._nodes:
        args = _map(sub, node.args)
        kwargs = {k: _map(sub, v) for k, v in node.kwargs.items()}
        kwargs["training"] = False
        result = node.layer(*args, **kwargs)
        for kt, o in zip(_flatten(node.outputs), _flatten(result)):
            values[id(kt)] = o
        out[_node_key(counts, node.layer)] = _numpy(result)
    return out


def _traced_activations(model, x):
    """Subclassed models have no static graph: run the model and note each sublayer's output
    by wrapping its ``call`` on the instance for the duration of one forward pass."""
    out, counts, patched = {}, {}, []

    def wrap(layer, original):
        def call(*args, **kwargs):
            result = original(*args, **kwargs)
            out[_node_key(counts, layer)] = _numpy(result)
            return result
        return call

    for layer in model.layers:
        had = "call" in layer.__dict__
        patched.append((layer, had, layer.__dict__.get("call")))
        object.__setattr__(layer, "call", wrap(layer, layer.call))
    try:
        model(x, training=False)
    finally:
        for layer, had, previous in patched:
            if had:
                object.__setattr__(layer, "call", previous)
            else:
                del layer.__dict__["call"]
    return out


def weight_layers(model):
    """The layers that own trainable weights, input to output (nested models opened up)."""
    found = []
    for layer in model.layers:
        if isinstance(layer, Model):
            found += weight_layers(layer)
        elif layer.trainable_weights:
            found.append(layer)
    return found


def _weight_labels(weights):
    names = [w.name for w in weights]
    return [w.name if names.count(w.name) == 1 else getattr(w, "path", w.name) for w in weights]


def _total_loss(model, x, y, y_pred, loss, sample_weight):
    if loss is None:
        if not getattr(model, "compiled", False) or getattr(model, "_compiled_loss", None) is None:
            raise ValueError(
                f'gradient_norms: model "{model.name}" has no compiled loss; compile it, or pass loss=, '
                'e.g. loss="sparse_categorical_crossentropy"'
            )
        return model.compute_loss(x, y, y_pred, sample_weight)
    from glassnet.training.compile_utils import _loss_object

    total = _loss_object(loss)(y, y_pred, sample_weight=sample_weight)
    for term in model.losses:
        total = total + term
    return total


class _KeepGrads:
    """Save every weight's ``.grad`` on entry and put it back on exit."""

    def __init__(self, weights):
        self.weights = list(weights)

    def __enter__(self):
        self.saved = [w.grad for w in self.weights]
        for w in self.weights:
            w.grad = None
        return self

    def __exit__(self, *exc):
        for w, g in zip(self.weights, self.saved):
            w.grad = g


def gradient_norms(model, x, y, loss=None, sample_weight=None, training=False):
    """The L2 norm of the loss gradient of each trainable weight, for one batch.

    ``{layer name: {weight name: ||d loss / d weight||}}``, layers from input to output:
    the picture of vanishing (or exploding) gradients, where the lower layers of a deep
    network get far smaller gradients than the top. The loss is the compiled loss plus the
    regularisation terms (or ``loss=``, e.g. for a model that is not compiled). The model
    runs with ``training=False`` unless asked, so calling this changes nothing in a run.
    """
    if not isinstance(x, (list, tuple, dict)):
        x, _ = as_batch(model, x)
    if not model.built:
        with no_grad():
            model(x, training=False)
    layers = weight_layers(model)
    with _KeepGrads(model.trainable_weights), enable_grad():
        y_pred = model(x, training=training)
        total = _total_loss(model, x, y, y_pred, loss, sample_weight)
        total.backward()
        result = {}
        for layer in layers:
            ws = layer.trainable_weights
            result[layer.name] = {
                label: (0.0 if w.grad is None else float(np.sqrt(np.vdot(w.grad, w.grad))))
                for label, w in zip(_weight_labels(ws), ws)
            }
    return result


def layer_norm(weight_norms):
    """One number per layer: the norm of all its weights' gradients together."""
    return float(np.sqrt(sum(v * v for v in weight_norms.values())))


def saliency(model, x, class_index=None):
    """``|d score / d input|``: how much each input value moves the score of a class.

    ``score`` is the model's output for ``class_index`` (an int, one int per example, or
    None for each example's predicted class; a model with one output unit uses that unit),
    as in Simonyan et al. 2014. ``x`` is a batch or a single example; the result has the
    shape of ``x``. Inference mode; the weights' gradients are left as they were.
    """
    if isinstance(x, (list, tuple, dict)):
        raise TypeError("saliency: pass one input array (a model with several inputs: compute the gradient "
                        "of its output with gn.tensor(..., requires_grad=True) inputs and .backward())")
    x, single = as_batch(model, x)
    if not np.issubdtype(x.dtype, np.floating):
        if np.issubdtype(x.dtype, np.integer) and _has_embedding(model):
            raise TypeError("saliency: this model takes integer token ids, which have no gradient; "
                            "look at the embedding layer's output instead (gn.viz.activations)")
        x = x.astype(backend.floatx())
    xt = Tensor(np.array(x, copy=True), requires_grad=True)
    with _KeepGrads(model.trainable_weights), enable_grad():
        out = model(xt, training=False)
        if isinstance(out, (list, tuple, dict)):
            out = _flatten(out)[0]
        n = out.shape[0]
        flat = out.data.reshape(n, -1)
        if class_index is None:
            idx = np.argmax(flat, axis=1) if flat.shape[1] > 1 else np.zeros(n, dtype=int)
        else:
            idx = np.broadcast_to(np.asarray(class_index, dtype=int), (n,))
        if np.any(idx < 0) or np.any(idx >= flat.shape[1]):
            raise ValueError(f"saliency: class_index {class_index} is out of range for an output with "
                             f"{flat.shape[1]} values per example")
        pick = np.zeros(flat.shape, dtype=out.data.dtype)
        pick[np.arange(n), idx] = 1
        (out * Tensor(pick.reshape(out.shape))).sum().backward()
        grad = np.abs(xt.grad) if xt.grad is not None else np.zeros_like(x)
    return grad[0] if single else grad


def _has_embedding(model):
    return any(type(l).__name__ == "Embedding" for l in model.layers)


def pick_layer(model, layer, want=None, what="layer"):
    """A layer of ``model`` from a name, an index or a Layer; None picks the first that
    ``want(layer)`` accepts."""
    layers = model.layers
    if isinstance(layer, Layer):
        if all(layer is not l for l in layers):
            raise ValueError(f'{what}: layer "{layer.name}" is not a layer of model "{model.name}"')
        return layer
    if isinstance(layer, str):
        return model.get_layer(name=layer)
    if isinstance(layer, (int, np.integer)):
        return model.get_layer(index=int(layer))
    if layer is not None:
        raise TypeError(f"{what}: layer must be a name, an index or a Layer, received {layer!r}")
    for l in layers:
        if want is None or want(l):
            return l
    return None
