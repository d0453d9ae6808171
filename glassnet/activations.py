"""Activation functions by Keras 3 name (keras.activations), each a function Tensor -> Tensor.

    gn.activations.get("relu")(x)          # what Dense(..., activation="relu") calls
    gn.activations.gelu(x, approximate=True)

Built on ``glassnet.ops``, so every one is differentiable; the values equal Keras' (torch
backend) to float32 precision. ``get(None)`` is ``linear``; ``serialize`` gives the name.
"""
import inspect

import numpy as np

from glassnet import ops
from glassnet.tensor import as_tensor


def linear(x):
    """The identity: x unchanged (Keras' activation=None)."""
    return as_tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), with Keras' options: x for x > threshold (else 0), capped at ``max_value``,
    minus ``negative_slope * max(threshold - x, 0)`` (a leak below the threshold)."""
    x = as_tensor(x)
    if threshold == 0:
        return ops.relu(x, negative_slope=negative_slope, max_value=max_value)
    y = ops.where(x.data > threshold, x, 0.0)
    if max_value is not None:
        y = ops.minimum(ops.maximum(y, 0.0), max_value)
    if negative_slope != 0:
        y = y - negative_slope * ops.relu(threshold - x)
    return y


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, negative_slope * x otherwise (the function's default slope is 0.2)."""
    return ops.leaky_relu(as_tensor(x), negative_slope=negative_slope)


def relu6(x):
    """min(max(x, 0), 6)."""
    return ops.relu6(as_tensor(x))


def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return ops.elu(as_tensor(x), alpha=alpha)


def selu(x):
    """scale * elu(x, alpha), scale = 1.0507, alpha = 1.6733 (Klambauer et al. 2017)."""
    return ops.selu(as_tensor(x))


def celu(x, alpha=1.0):
    """x for x > 0, alpha (e^(x/alpha) - 1) otherwise: alpha * elu(x / alpha)."""
    x = as_tensor(x)
    return ops.where(x.data > 0, x, alpha * ops.elu(x / alpha))


def softplus(x):
    """ln(1 + e^x), computed without overflow."""
    return ops.softplus(as_tensor(x))


def softsign(x):
    """x / (1 + |x|)."""
    return ops.softsign(as_tensor(x))


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2: a smooth relu with no exponentials."""
    x = as_tensor(x)
    return (x + ops.sqrt(ops.square(x) + b)) / 2


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, 0 between."""
    x = as_tensor(x)
    return ops.where(x.data > threshold, x - threshold, ops.where(x.data < -threshold, x + threshold, 0.0))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = as_tensor(x)
    return ops.where(np.abs(x.data) > threshold, x, 0.0)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1."""
    x = as_tensor(x)
    return ops.where(x.data <= -1, 0.0, ops.where(x.data < 1, 0.25 * ops.square(x + 1), x))


def silu(x):
    """x * sigmoid(x) (a.k.a. swish)."""
    return ops.silu(as_tensor(x))


swish = silu


def gelu(x, approximate=False):
    """x * Phi(x), Phi the standard normal CDF (exact by default, the tanh formula when
    ``approximate``), as Keras' gelu activation (whose default is approximate=False)."""
    return ops.gelu(as_tensor(x), approximate=approximate)


def glu(x, axis=-1):
    """a * sigmoid(b), where a and b are the two halves of x along ``axis`` (size must be even)."""
    x = as_tensor(x)
    if x.ndim == 0 or x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even to split it in two halves, received shape {x.shape}")
    a, b = ops.split(x, 2, axis=axis)
    return a * ops.sigmoid(b)


def tanh(x):
    """Hyperbolic tangent (e^x - e^-x) / (e^x + e^-x)."""
    return ops.tanh(as_tensor(x))


def tanh_shrink(x):
    """x - tanh(x)."""
    x = as_tensor(x)
    return x - ops.tanh(x)


def hard_tanh(x):
    """x clipped to [-1, 1]."""
    return ops.clip(as_tensor(x), -1.0, 1.0)


def threshold(x, threshold, default_value):
    """x where x > threshold, else ``default_value``."""
    x = as_tensor(x)
    return ops.where(x.data > threshold, x, default_value)


def sigmoid(x):
    """1 / (1 + e^-x)."""
    return ops.sigmoid(as_tensor(x))


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 for -1 < x < 1, 1 for x >= 1."""
    x = as_tensor(x)
    return ops.where(x.data <= -1, 0.0, ops.where(x.data >= 1, 1.0, 0.5 * (x + 1)))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return -ops.softplus(-as_tensor(x))


def exponential(x):
    """e^x."""
    return ops.exp(as_tensor(x))


def hard_sigmoid(x):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, x/6 + 1/2 between (Keras 3's definition)."""
    return ops.relu6(as_tensor(x) + 3.0) / 6.0


def hard_silu(x):
    """x * relu6(x + 3) / 6 (a.k.a. hard swish)."""
    x = as_tensor(x)
    return x * ops.relu6(x + 3.0) / 6.0


hard_swish = hard_silu


def mish(x):
    """x * tanh(softplus(x))."""
    return ops.mish(as_tensor(x))


def softmax(x, axis=-1):
    """e^x / sum(e^x) along ``axis`` (None: over all elements)."""
    x = as_tensor(x)
    if axis is None:
        return ops.reshape(ops.softmax(ops.reshape(x, (-1,))), x.shape)
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis`` (None: over all elements)."""
    x = as_tensor(x)
    if axis is None:
        return ops.reshape(ops.log_softmax(ops.reshape(x, (-1,))), x.shape)
    return ops.log_softmax(x, axis=axis)


def sparsemax(x, axis=-1):
    """max(x - tau, 0), tau chosen so each slice along ``axis`` sums to 1 (Martins & Astudillo).

    tau = (sum of the k largest - 1) / k over the support; the support is found on plain
    arrays, and tau is then recomputed from x with ops, so the gradient is the true one."""
    x = as_tensor(x)
    z = np.flip(np.sort(x.data, axis=axis), axis=axis)
    r_shape = [1] * x.ndim
    r_shape[axis] = -1
    r = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(r_shape)
    support_sorted = z - (np.cumsum(z, axis=axis) - 1) / r > 0
    k = support_sorted.sum(axis=axis, keepdims=True)
    kth = np.take_along_axis(z, k - 1, axis=axis)  # the smallest value in the support
    mask = (x.data >= kth).astype(x.dtype)
    tau = (ops.sum(x * mask, axis=axis, keepdims=True) - 1) / k.astype(x.dtype)
    return ops.relu(x - tau)


ALL_OBJECTS_DICT = {fn.__name__: fn for fn in (
    relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus,
    soft_shrink, sparse_plus, silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid,
    sparse_sigmoid, exponential, hard_sigmoid, hard_silu, hard_tanh, hard_shrink, linear, mish,
    log_softmax, log_sigmoid, sparsemax,
)}
ALL_OBJECTS_DICT["swish"] = silu
ALL_OBJECTS_DICT["hard_swish"] = hard_silu


def _unknown(identifier):
    return ValueError(
        f"Could not interpret activation function identifier: {identifier!r}. Valid names: "
        f"{', '.join(sorted(ALL_OBJECTS_DICT))}; or a callable"
    )


def serialize(activation):
    """The name of a built-in activation ("relu"); a config dict for an object with
    get_config (an activation layer, say). Other functions cannot be serialized."""
    for name, fn in ALL_OBJECTS_DICT.items():
        if activation is fn:
            return fn.__name__  # swish -> "silu", as Keras
    if hasattr(activation, "get_config"):
        cls = type(activation)
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": activation.get_config(), "registered_name": cls.__name__}
    raise ValueError(
        f"Unknown activation function {activation!r} cannot be serialized: use a name from "
        f"glassnet.activations, or pass it in custom_objects when loading"
    )


def deserialize(config, custom_objects=None):
    """An activation from its name, or from a config dict (Keras' {"class_name": "function",
    "config": "relu"} included); only built-ins and ``custom_objects`` can be named."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        fn = custom_objects.get(config) or ALL_OBJECTS_DICT.get(config)
        if fn is None:
            raise _unknown(config)
        return fn
    if isinstance(config, dict) and "class_name" in config:
        name, inner = config["class_name"], config.get("config")
        if name == "function" and isinstance(inner, str):
            return deserialize(inner, custom_objects)
        cls = custom_objects.get(name) or custom_objects.get(config.get("registered_name"))
        if cls is None:
            raise _unknown(config)
        return cls.from_config(inner or {}) if inspect.isclass(cls) else cls
    raise _unknown(config)


def get(identifier):
    """An activation function from a name, a config dict or a callable; None gives ``linear``."""
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise _unknown(identifier)
