"""Activation functions. Sigmoid, ReLU-family, ELU and softmax are fused ops with their own
backward; the rest are composed from primitives and get their gradients for free."""
import numpy as np

from glassnet.autograd import Op
from glassnet.ops import math as m
from glassnet.ops.arithmetic import multiply
from glassnet.tensor import as_tensor

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Sigmoid(Op):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z)."""
    name = "sigmoid"

    def forward(self, x):
        # exp of -|x| only: no overflow for large |x| in either direction
        e = np.exp(-np.abs(x))
        z = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.z = z.astype(x.dtype, copy=False)
        return self.z

    def backward(self, g):
        z = self.z
        return (g * (z * (1 - z)),)


class LeakyRelu(Op):
    """z = x if x > 0 else slope * x;  dz/dx = 1 or slope (ReLU is slope 0)."""
    name = "relu"

    def forward(self, x, slope=0.0, cap=None):
        self.x, self.slope, self.cap = x, slope, cap
        if slope == 0.0:
            z = np.maximum(x, 0)
        else:
            self.name = "leaky_relu"
            z = np.where(x > 0, x, x * np.asarray(slope, x.dtype))
        if cap is not None:
            self.name = "relu6" if cap == 6 else "relu"
            z = np.minimum(z, np.asarray(cap, x.dtype))
        return z

    def backward(self, g):
        x = self.x
        pos = x > 0
        if self.cap is not None:
            pos &= x < self.cap
        if self.slope == 0.0:
            return (g * pos,)
        return (g * np.where(x > 0, pos, np.asarray(self.slope, g.dtype)),)


class Elu(Op):
    """z = x if x > 0 else alpha (e^x - 1);  dz/dx = 1 or alpha e^x."""
    name = "elu"

    def forward(self, x, alpha=1.0):
        self.x, self.alpha = x, alpha
        xm = np.minimum(x, 0)
        self.ex = np.exp(xm)
        return np.where(x > 0, x, alpha * np.expm1(xm)).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * np.where(self.x > 0, 1, self.alpha * self.ex).astype(g.dtype, copy=False),)


class Softplus(Op):
    """z = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|);  dz/dx = sigmoid(x)."""
    name = "softplus"

    def forward(self, x):
        self.x = x
        return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)

    def backward(self, g):
        e = np.exp(-np.abs(self.x))
        sig = np.where(self.x >= 0, 1 / (1 + e), e / (1 + e)).astype(g.dtype, copy=False)
        return (g * sig,)


class Softmax(Op):
    """z = e^x / sum e^x along an axis;  dx = z (g - sum(g z))."""
    name = "softmax"

    def forward(self, x, axis=-1):
        self.axis = axis
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        self.z = e
        return e

    def backward(self, g):
        z = self.z
        gz = g * z
        return (gz - z * gz.sum(axis=self.axis, keepdims=True),)


class LogSoftmax(Op):
    """z = x - logsumexp(x) along an axis;  dx = g - softmax(x) sum(g)."""
    name = "log_softmax"

    def forward(self, x, axis=-1):
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        z = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.z = z
        return z

    def backward(self, g):
        return (g - np.exp(self.z) * g.sum(axis=self.axis, keepdims=True),)


def _check_axis(op, x, axis):
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {x.shape}")


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^-x), computed without overflow."""
    return Sigmoid.apply(as_tensor(x))


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); Keras' optional ``negative_slope`` and ``max_value`` cap."""
    if threshold != 0.0:
        raise ValueError(f"relu: only threshold=0 is supported, received {threshold}")
    return LeakyRelu.apply(as_tensor(x), slope=float(negative_slope), cap=max_value)


def relu6(x):
    """min(max(x, 0), 6)."""
    return LeakyRelu.apply(as_tensor(x), slope=0.0, cap=6.0)


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, negative_slope * x otherwise (Keras' function default 0.2)."""
    return LeakyRelu.apply(as_tensor(x), slope=float(negative_slope))


def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return Elu.apply(as_tensor(x), alpha=float(alpha))


def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    return multiply(Elu.apply(as_tensor(x), alpha=SELU_ALPHA), SELU_SCALE)


def softplus(x):
    """ln(1 + e^x), stable for large |x| (exact gradient 1/2 at 0, unlike a relu composition)."""
    return Softplus.apply(as_tensor(x))


def softsign(x):
    """x / (1 + |x|)."""
    x = as_tensor(x)
    return x / (m.abs(x) + 1)


def gelu(x, approximate=False):
    """x * Phi(x) with the exact normal CDF, or the tanh approximation when asked (Keras)."""
    x = as_tensor(x)
    if approximate:
        c = np.sqrt(2 / np.pi)
        return 0.5 * x * (1 + m.tanh(c * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + m.erf(x / np.sqrt(2)))


def silu(x):
    """x * sigmoid(x) (swish with beta = 1)."""
    x = as_tensor(x)
    return x * sigmoid(x)


swish = silu


def hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid: clip(x / 6 + 1/2, 0, 1)."""
    x = as_tensor(x)
    return m.clip(x / 6 + 0.5, 0.0, 1.0)


def hard_silu(x):
    """x * hard_sigmoid(x) (hard swish)."""
    x = as_tensor(x)
    return x * hard_sigmoid(x)


def mish(x):
    """x * tanh(softplus(x))."""
    x = as_tensor(x)
    return x * m.tanh(softplus(x))


def softmax(x, axis=-1):
    """e^x / sum(e^x) along ``axis``, shifted by the max so it never overflows."""
    x = as_tensor(x)
    _check_axis("softmax", x, axis)
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``: the log of softmax without underflow."""
    x = as_tensor(x)
    _check_axis("log_softmax", x, axis)
    return LogSoftmax.apply(x, axis=axis)
