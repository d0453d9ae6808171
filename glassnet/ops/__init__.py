"""Differentiable ops on Tensors, NumPy-like: one file per family, forward beside backward.

Each function accepts Tensors, NumPy arrays or Python numbers and returns a Tensor.
"""
from glassnet.ops.arithmetic import add, subtract, multiply, divide, power, negative
from glassnet.ops.math import (
    abs, exp, log, log1p, sqrt, square, tanh, clip, maximum, minimum, where, cast, erf,
)
from glassnet.ops.activations import (
    sigmoid, relu, relu6, leaky_relu, elu, selu, softplus, softsign, gelu, silu, swish,
    hard_sigmoid, hard_silu, softmax, log_softmax, mish,
)
from glassnet.ops.reductions import sum, mean, max, min, var, std, logsumexp, argmax, argmin
from glassnet.ops.linalg import matmul, dot, outer
from glassnet.ops.shape import (
    reshape, transpose, expand_dims, squeeze, broadcast_to, concatenate, stack, split,
    pad, repeat, tile, flip,
)
from glassnet.ops.indexing import getitem, take
from glassnet.ops.conv import conv
from glassnet.ops.conv_transpose import conv_transpose
from glassnet.ops.pooling import max_pool, avg_pool
from glassnet.ops.dropout import dropout
from glassnet.ops.fused import matmul_bias_act, conv_bias_act
