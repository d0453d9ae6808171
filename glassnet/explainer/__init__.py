"""gn.explain: any op, layer, loss, optimizer step, graph or model, step by step on a small
input, with the numbers, the way the lecture slides work them out.

    gn.explain(gn.ops.conv, image, feature, normalize=True)  # patch x kernel, sum, / 9
    gn.explain(gn.ops.max_pool, fmap, pool_size=2)           # each window, its winner
    gn.explain(gn.ops.relu, x)                               # x -> relu(x), relu'(x)
    gn.explain(gn.layers.Dense(1, activation="tanh"), x)     # inputs x weights, sum, squash
    gn.explain(gn.losses.SparseCategoricalCrossentropy(from_logits=True), y, logits)
    gn.explain(f, w, x, mode="backward")                     # graph, local gradients, dw, dx
    gn.explain.backward(loss)                                # the same for a computed tensor
    gn.explain(gn.optimizers.SGD(0.1, momentum=0.9), w, g)   # slots, update, before -> after
    gn.explain(model, x)                                     # each layer's output in order

The result is an Explanation: ``print(exp)`` gives text, a notebook shows HTML, and
``exp.steps`` (a list of dicts) / ``exp.result`` / ``exp.data`` hold the exact numbers.
Options for everything: ``max_cells`` (how many cells / windows / neurons / elements to
expand, default 16, None for all), ``max_grid`` (arrays with a longer side are summarised),
``decimals`` and ``truncate`` (how results print), ``sample`` (which batch element).
"""
from glassnet import activations, ops
from glassnet import losses as _losses
from glassnet.explainer.activation import explain_activation, explain_activation_layer, is_activation_function
from glassnet.explainer.backward import explain_backward, explain_function
from glassnet.explainer.conv import explain_conv, explain_conv_layer
from glassnet.explainer.core import Explanation, reject_unknown, take_options
from glassnet.explainer.dense import explain_dense
from glassnet.explainer.loss import explain_loss
from glassnet.explainer.model import explain_layer, explain_model
from glassnet.explainer.optimizer import explain_optimizer
from glassnet.explainer.pooling import explain_pool, explain_pool_layer
from glassnet.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from glassnet.layers.convolutional import _Conv, _ConvTranspose
from glassnet.layers.core import Activation, Dense
from glassnet.layers.layer import Layer
from glassnet.layers.pooling import _GlobalPooling, _Pooling
from glassnet.models.model import Model
from glassnet.optimizers.base import Optimizer
from glassnet.tensor import Tensor

__all__ = ["explain", "Explanation"]


def _positional(fn_name, inputs, names, options):
    """Move positional arguments after the first ``len(names)``... into keyword options."""
    head, rest = inputs[:1], inputs[1:]
    if len(rest) > len(names):
        raise TypeError(f"explain({fn_name}): too many positional arguments ({len(inputs)})")
    for name, value in zip(names, rest):
        if name in options:
            raise TypeError(f"explain({fn_name}): {name} given twice")
        options[name] = value
    return head


def _need(what, inputs, n, example):
    if len(inputs) < n:
        raise TypeError(f"explain({what}): needs {n} input(s), received {len(inputs)}; e.g. {example}")


def _is_loss(thing):
    if isinstance(thing, _losses.Loss):
        return True
    if isinstance(thing, type) and issubclass(thing, _losses.Loss):
        return True
    return any(thing is f for f in _losses.ALL_OBJECTS if not isinstance(f, type))


def _explain_layer(layer, inputs, opts, options):
    _need(type(layer).__name__, inputs, 1, "gn.explain(layer, x)")
    x = inputs[0]
    if len(inputs) > 1:
        raise TypeError(f"explain({type(layer).__name__}): expected one input, received {len(inputs)}")
    if isinstance(layer, Model):
        return explain_model(layer, x, opts, **options)
    if isinstance(layer, _Conv) and not isinstance(layer, _ConvTranspose):
        return explain_conv_layer(layer, x, opts, **options)
    if isinstance(layer, (_Pooling, _GlobalPooling)):
        return explain_pool_layer(layer, x, opts, **options)
    if isinstance(layer, Dense):
        return explain_dense(layer, x, opts, **options)
    if isinstance(layer, (Activation, ReLU, LeakyReLU, ELU, Softmax, PReLU)):
        return explain_activation_layer(layer, x, opts, **options)
    return explain_layer(layer, x, opts, **options)


def explain(thing, *inputs, **options):
    """Explain ``thing`` on ``inputs`` step by step; returns an Explanation.

    thing may be: an op (``gn.ops.conv``, ``max_pool``, ``avg_pool``, ``relu``, ``sigmoid``,
    ``softmax``, ...) or activation (function or name); a layer (Conv1D/2D, pooling, Dense,
    Activation, ReLU, ..., any other layer generically) or a model; a loss (object, class,
    function or name) with ``(y_true, y_pred)``; an optimizer with ``(variable, gradient)``;
    a Tensor with a recorded graph (its backward pass); or any function of tensors, with
    ``mode="backward"`` (graph + gradients, the default for scalar outputs) or
    ``mode="forward"`` (graph and values only).

    Shared options: max_cells=16, max_grid=16, decimals=None, truncate=None, sample=0.
    Per kind: conv: strides, padding, dilation_rate, groups, bias, activation,
    normalize=False (divide each sum by the kernel's cell count, as seed 001), cells;
    pooling: pool_size, strides, padding, cells; Dense: units; loss: from_logits, ...;
    backward: names={"w": w}, grad; optimizer: dry_run=True; model: expand=False.
    """
    opts = take_options(options)
    mode = options.pop("mode", None)
    if mode not in (None, "forward", "backward"):
        raise ValueError(f"explain: mode must be 'forward' or 'backward', received {mode!r}")
    if isinstance(thing, Tensor):
        names, grad = options.pop("names", None), options.pop("grad", None)
        reject_unknown("tensor", options)
        if inputs:
            raise TypeError("explain(tensor): a tensor needs no inputs; its graph is already recorded")
        return explain_backward(thing, opts, names=names, grad=grad, gradients=mode != "forward")
    if isinstance(thing, Optimizer):
        _need(type(thing).__name__, inputs, 1, "gn.explain(optimizer, variable, gradient)")
        if len(inputs) > 2:
            raise TypeError(f"explain({type(thing).__name__}): expected (variable, gradient), received {len(inputs)} inputs")
        return explain_optimizer(thing, *inputs, opts=opts, **options)
    if isinstance(thing, Layer):
        return _explain_layer(thing, inputs, opts, options)
    if isinstance(thing, str):
        if thing in activations.ALL_OBJECTS_DICT:
            thing = activations.ALL_OBJECTS_DICT[thing]
        elif thing in _losses.ALL_OBJECTS_DICT:
            thing = _losses.get(thing)
        else:
            raise ValueError(f"explain: {thing!r} is neither an activation nor a loss name")
    if _is_loss(thing) and mode is None:
        _need("loss", inputs, 2, "gn.explain(loss, y_true, y_pred)")
        if len(inputs) > 2:
            raise TypeError(f"explain(loss): expected (y_true, y_pred), received {len(inputs)} inputs")
        return explain_loss(thing, inputs[0], inputs[1], opts, **options)
    if not callable(thing):
        raise TypeError(f"explain: cannot explain a {type(thing).__name__}; give an op, layer, model, loss, "
                        f"optimizer, tensor or function")
    if mode is None:
        if thing is ops.conv:
            _need("conv", inputs, 2, "gn.explain(gn.ops.conv, image, kernel)")
            x, k = inputs[0], inputs[1]
            _positional("conv", inputs[1:], ["strides", "padding", "dilation_rate", "groups"], options)
            return explain_conv(x, k, opts, **options)
        if thing is ops.max_pool or thing is ops.avg_pool:
            kind = "max" if thing is ops.max_pool else "avg"
            _need(f"{kind}_pool", inputs, 1, f"gn.explain(gn.ops.{kind}_pool, x, pool_size=2)")
            _positional(f"{kind}_pool", inputs, ["pool_size", "strides", "padding"], options)
            return explain_pool(kind, inputs[0], opts, **options)
        if is_activation_function(thing):
            _need("activation", inputs, 1, "gn.explain(gn.ops.relu, x)")
            if len(inputs) > 1:
                raise TypeError(f"explain(activation): expected one input, received {len(inputs)}")
            return explain_activation(thing, inputs[0], opts, **options)
    names, grad = options.pop("names", None), options.pop("grad", None)
    return explain_function(thing, inputs, options, opts, mode=mode, names=names, grad=grad)


def backward(thing, *inputs, **options):
    """The backward pass step by step: of a Tensor's recorded graph, or of fn(*inputs).

        gn.explain.backward(loss)                 # loss computed from tensors requiring grad
        gn.explain.backward(f, w, x)              # same as gn.explain(f, w, x, mode="backward")
    """
    if isinstance(thing, Tensor):
        return explain(thing, *inputs, **options)
    options["mode"] = "backward"
    return explain(thing, *inputs, **options)


explain.backward = backward
explain.Explanation = Explanation
