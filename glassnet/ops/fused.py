"""The epilogue of Dense and Conv layers fused into their op: z = act(x @ w + b), act(conv(x, w) + b).

The bias and the activation are applied in place on the array the GEMM just produced, so a
layer is one graph node that keeps its output z (and what the GEMM's own backward needs)
instead of three nodes holding the GEMM output, the biased sum and z. Backward needs only z:

    d = g * act'(z)    relu: z > 0   sigmoid: z (1 - z)   tanh: 1 - z^2   linear: 1
                       softmax (last axis): z (g - sum(g z))
    db = 1^T d (a GEMV over the rows),  then dw and dx as for the plain matmul / conv.

Measured against the three plain nodes (keras-io MNIST convnet, batch 128, 1 BLAS thread,
paired): conv1 (28x28x1 -> 32, relu) fwd+bwd x1.2 when glibc reuses freed memory, x2.1 with
its default settings (two 11 MB arrays fewer to fault in each step); the whole training step
x1.05 / x1.2 and its peak memory 93 -> 64 MB (tracemalloc).

Any other activation, dtypes that are not one float32 or float64 for all operands, or a bias
not shaped (units,) go the plain way (the same ops one after the other), so results never
depend on which path ran; with neither bias nor activation the plain matmul / conv runs.
"""
import numpy as np

from glassnet import blas, parallel
from glassnet.autograd import Op, is_grad_enabled
from glassnet.ops._util import bias_grad as _bias_grad
from glassnet.ops._util import sum_in_order
from glassnet.ops.activations import relu, sigmoid, softmax
from glassnet.ops.arithmetic import add
from glassnet.ops.conv import Conv, batch_blocks, conv_args
from glassnet.ops.linalg import matmul
from glassnet.ops.math import tanh
from glassnet.ops.products import compiled_gemm
from glassnet.tensor import as_tensor

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
_PLAIN = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ---- the epilogue on (rows, units) arrays ----------------------------------------------------
def _epilogue(y, bias, act):
    """y <- act(y + bias), in place on the (rows, units) GEMM output (which no one else holds)."""
    if bias is not None:
        y += bias
    if act == "relu":
        np.maximum(y, 0, out=y)
    elif act == "sigmoid":
        # 1 / (1 + e^-y): e^-y overflows to inf below y ~ -88 (float32), and 1 / inf is the right 0
        with np.errstate(over="ignore"):
            np.negative(y, out=y)
            np.exp(y, out=y)
            y += 1
            np.reciprocal(y, out=y)
    elif act == "tanh":
        np.tanh(y, out=y)
    elif act == "softmax":
        y -= y.max(axis=-1, keepdims=True)
        np.exp(y, out=y)
        y /= y.sum(axis=-1, keepdims=True)


def _act_grad(g, z, act):
    """d loss / d (x @ w + b) from g = d loss / d z and the output z alone: one new array,
    g is never written (it may be shared). Both are (rows, units)."""
    if act == "linear":
        return g
    if act == "relu":
        return g * (z > 0)
    if act == "sigmoid":
        d = 1 - z
        d *= z
    elif act == "tanh":
        d = z * z
        np.subtract(1, d, out=d)
    else:  # softmax
        d = g * z
        np.subtract(g, d.sum(axis=-1, keepdims=True), out=d)
        d *= z
        return d
    d *= g
    return d


def _rows(a):
    """``a`` as a (rows, last axis) view; in-place writes through it must reach ``a``."""
    return a.reshape(-1, a.shape[-1], copy=False)


_NAMES = {}  # (base, has bias, act) -> the node's name: made once, not at every forward


def _node_name(base, has_bias, act):
    key = (base, bool(has_bias), act)
    name = _NAMES.get(key)
    if name is None:
        name = _NAMES[key] = base + ("_bias" if has_bias else "") + ("" if act == "linear" else "_" + act)
    return name


# ---- Dense: act(x @ w + b) ----------------------------------------------------------------------
class MatMulBiasAct(Op):
    """z = act(x @ w + b), x (..., in), w (in, units), b (units,);  d = g act'(z),
    dx = d w^T, dw = x^T d (batch axes folded into the rows), db = 1^T d.
    Inside a step that holds BLAS at one thread (ops.conv.batch_blocks), a big one runs as row
    blocks on glassnet's threads, so that it keeps both cores; it never asks for the hold."""
    name = "matmul_bias_act"

    def forward(self, x, w, *bias, act):
        flat = x.ndim == 2  # Dense on (batch, in): no reshapes on the way in or out
        x2 = x if flat else x.reshape(-1, x.shape[-1])
        b = bias[0] if bias else None
        rows = x2.shape[0]
        self.blocks = blocks = batch_blocks(rows, rows * (x2.shape[1] + w.shape[1]))
        gemm = _inference_gemm(x2, w, self.needs)
        if gemm is not None:
            z = _inference_forward(gemm, x2, w, b, act)
        elif blocks is None:
            z = x2 @ w
            _epilogue(z, b, act)
        else:
            z = np.empty((rows, w.shape[1]), np.result_type(x2, w))

            def part(sl):
                np.matmul(x2[sl], w, out=z[sl])
                _epilogue(z[sl], b, act)

            parallel.run(part, blocks)
        self.name = _node_name("matmul", bias, act)
        self.act, self.xshape = act, x.shape
        needs = self.needs
        self.x2 = x2 if needs[1] else None
        self.w = w if needs[0] else None
        self.z = None if act == "linear" else z
        return z if flat else z.reshape(x.shape[:-1] + w.shape[1:])

    def backward(self, g):
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        need_bias = len(self.needs) == 3 and self.needs[2]
        if self.blocks is None:
            d = _act_grad(g2, self.z, self.act)
            dx = d @ self.w.T if self.needs[0] else None
            dw = self.x2.T @ d if self.needs[1] else None
            db = _bias_grad(d) if need_bias else None
        else:
            dx = np.empty((g2.shape[0], self.w.shape[0]), g2.dtype) if self.needs[0] else None
            z, act = self.z, self.act

            def part(sl):
                d = _act_grad(g2[sl], None if z is None else z[sl], act)
                if dx is not None:
                    np.matmul(d, self.w.T, out=dx[sl])
                return (self.x2[sl].T @ d if self.needs[1] else None), (_bias_grad(d) if need_bias else None)

            parts = parallel.run(part, self.blocks)
            dw = sum_in_order(p[0] for p in parts) if self.needs[1] else None
            db = sum_in_order(p[1] for p in parts) if need_bias else None
        if dx is not None and len(self.xshape) != 2:
            dx = dx.reshape(self.xshape)
        if len(self.needs) == 2:
            return dx, dw
        return dx, dw, db


# Inference (predict: nothing needs a gradient) of a big float32 Dense layer runs on the compiled
# AVX-512 GEMM once the process is hot, in row blocks on glassnet's threads (predict then holds
# BLAS at one thread, so that no OpenBLAS worker spins beside them). predict_mlp, batch 1024,
# 2 threads: the 784x512 layer 3.7 -> 2.8 ms. Training keeps NumPy's products for Dense.
INFERENCE_SPLIT_MACS = 1 << 26


def _inference_gemm(x2, w, needs):
    """The compiled GEMM module for an inference product of this size, else None."""
    if (True in needs and is_grad_enabled()) or w.shape[1] % 16:
        return None
    if x2.shape[0] * x2.shape[1] * w.shape[1] < INFERENCE_SPLIT_MACS:
        return None
    return compiled_gemm(x2, w)


def _inference_forward(gemm, x2, w, b, act):
    """act(x2 @ w + b) by row blocks on the compiled GEMM."""
    rows = x2.shape[0]
    z = np.empty((rows, w.shape[1]), np.float32)
    w = np.ascontiguousarray(w)
    parts = parallel.split(rows, max(1, min(parallel.threads(), rows)))
    if len(parts) > 1 and not blas.held():
        parallel.note_wanted()

    def part(sl):
        gemm.matmul(x2[sl], w, z[sl])
        _epilogue(z[sl], b, act)

    parallel.run(part, parts)
    return z


# ---- Conv: act(conv(x, w) + b) -------------------------------------------------------------------
class ConvBiasAct(Conv):
    """z = act(conv(x, w) + b), b (filters,);  d = g act'(z), db = 1^T d over every output
    pixel, then dw and dx from d as for conv (its saved patches and kernel)."""
    name = "conv_bias_act"

    def forward(self, x, w, *bias, act, **geom):
        b = bias[0] if bias else None
        z = Conv.forward(self, x, w, epilogue=lambda rows: _epilogue(rows, b, act), **geom)
        self.name = _node_name("conv", bias, act)
        self.act = act
        self.z = None if act == "linear" else z
        return z

    def backward(self, g):
        z, act = (None if self.z is None else _rows(self.z)), self.act
        need_bias = len(self.needs) == 3 and self.needs[2]
        dx, dw, db = self._backward(g, lambda g_rows, rows: _act_grad(g_rows, None if z is None else z[rows], act),
                                    need_bias)
        if len(self.needs) == 2:
            return dx, dw
        return dx, dw, db


# ---- the functions -------------------------------------------------------------------------------
def _activation(op, activation):
    act = "linear" if activation is None else activation
    if not isinstance(act, str) or act not in ACTIVATIONS:
        raise ValueError(f"{op}: activation must be None or one of {ACTIVATIONS}, received {activation!r}; "
                         f"apply any other activation after the plain op")
    return act


def _fusable(units, *tensors):
    """One float32 or float64 dtype for all operands (no silent up- or down-cast in place), and
    a bias shaped (units,) when there is one (the last tensor)."""
    dtypes = {t.dtype for t in tensors if t is not None}
    bias = tensors[-1]
    return len(dtypes) == 1 and dtypes.pop() in _FLOATS and (bias is None or bias.shape == (units,))


def _plain(y, bias, act):
    """The same epilogue as separate graph nodes (add, then the activation op)."""
    if bias is not None:
        y = add(y, bias)
    return y if act == "linear" else _PLAIN[act](y)


def matmul_bias_act(x, kernel, bias=None, activation=None):
    """act(x @ kernel + bias) as one graph node: Dense's forward (Keras has no such op).

    x (..., in), kernel (in, units), bias (units,) or None; activation None / "linear",
    "relu", "sigmoid", "tanh" or "softmax" (along the last axis). Returns (..., units). Other
    shapes or mixed dtypes run matmul, add and the activation as separate ops.
    """
    act = _activation("matmul_bias_act", activation)
    x, kernel = as_tensor(x), as_tensor(kernel)
    bias = None if bias is None else as_tensor(bias)
    if (x.ndim >= 1 and kernel.ndim == 2 and x.shape[-1] == kernel.shape[0]
            and (bias is not None or act != "linear") and _fusable(kernel.shape[1], x, kernel, bias)):
        return MatMulBiasAct.apply(x, kernel, *(() if bias is None else (bias,)), act=act)
    return _plain(matmul(x, kernel), bias, act)


def conv_bias_act(x, kernel, bias=None, activation=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """act(conv(x, kernel) + bias) as one graph node: Conv1D / Conv2D's forward.

    Arguments as ``conv`` (which see), plus bias (filters,) or None and activation None /
    "linear", "relu", "sigmoid", "tanh" or "softmax" (over the channels). Returns
    (N, *out_spatial, filters). Mixed dtypes run conv, add and the activation as separate ops.
    """
    act = _activation("conv_bias_act", activation)
    x, kernel, geom = conv_args("conv_bias_act", x, kernel, strides, padding, dilation_rate, groups)
    bias = None if bias is None else as_tensor(bias)
    if (bias is not None or act != "linear") and _fusable(kernel.shape[-1], x, kernel, bias):
        return ConvBiasAct.apply(x, kernel, *(() if bias is None else (bias,)), act=act, **geom)
    return _plain(Conv.apply(x, kernel, **geom), bias, act)
