"""One training step of a stack of Dense layers with a mean squared error, compiled.

The model is a chain of L layers, z_l = act_l(h_l @ W_l + b_l), h_0 = x, whose output z_L is
scored with mean squared error. One call of ``dense_mse_grads`` runs the forward pass, the
loss, the backward pass and the finite check, and writes every gradient into one flat
buffer; the optimizer's update is a second call (update_rules.py). The arithmetic is that of
the NumPy ops it replaces (glassnet.ops.fused.MatMulBiasAct, glassnet.losses.fused.
ReducedSquaredError), in the same dtype, operation for operation; only the order in which a
matrix product sums its terms differs from BLAS, so results agree to float rounding
(tests/compiled/test_dense.py checks them against the NumPy path).

Weights arrive as flat 1-D views (one homogeneous tuple, however many layers): layer l's
kernel is ``params[kernel_at[l]]`` (in * out values, row-major as the (in, out) array) and
its bias ``params[bias_at[l]]``, or none when ``bias_at[l]`` is -1. Loops run with the output
units innermost, over contiguous memory, which LLVM vectorises.
"""
import numpy as np
from numba import njit

from glassnet.compiled.codes import RELU as _RELU, SIGMOID as _SIGMOID, TANH as _TANH

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def _activate(z, act, one):
    """z <- act(z) in place (z: (rows, units)); as glassnet.ops.fused._epilogue."""
    if act == _RELU:
        for r in range(z.shape[0]):
            for j in range(z.shape[1]):
                if z[r, j] < 0:  # NaN stays NaN, as np.maximum(z, 0)
                    z[r, j] = 0
    elif act == _SIGMOID:
        for r in range(z.shape[0]):
            for j in range(z.shape[1]):
                z[r, j] = one / (one + np.exp(-z[r, j]))
    elif act == _TANH:
        for r in range(z.shape[0]):
            for j in range(z.shape[1]):
                z[r, j] = np.tanh(z[r, j])


@njit(**_JIT)
def _activation_grad(d, z, act, one):
    """d <- d * act'(z) in place, from the layer's output z alone (as ops.fused._act_grad)."""
    if act == _RELU:
        for r in range(d.shape[0]):
            for j in range(d.shape[1]):
                if not z[r, j] > 0:
                    d[r, j] = 0
    elif act == _SIGMOID:
        for r in range(d.shape[0]):
            for j in range(d.shape[1]):
                d[r, j] = (one - z[r, j]) * z[r, j] * d[r, j]
    elif act == _TANH:
        for r in range(d.shape[0]):
            for j in range(d.shape[1]):
                d[r, j] = (one - z[r, j] * z[r, j]) * d[r, j]


@njit(**_JIT)
def _layer_forward(h, w, b, use_bias, act, z, one):
    """z <- act(h @ w + b); h (rows, in), w (in, units), z (rows, units)."""
    rows, units = z.shape
    for r in range(rows):
        zr = z[r]
        for j in range(units):
            zr[j] = 0
        for p in range(h.shape[1]):
            a = h[r, p]
            wp = w[p]
            for j in range(units):
                zr[j] += a * wp[j]
        if use_bias:
            for j in range(units):
                zr[j] += b[j]
    _activate(z, act, one)


@njit(**_JIT)
def _layer_backward(h, w, d, gw, gb, use_bias, dh, need_dh):
    """From d = dL/d(h @ w + b): gw = h^T d, gb = 1^T d, and dh = d w^T when needed."""
    rows, units = d.shape
    gw[:, :] = 0
    for r in range(rows):
        dr = d[r]
        for p in range(h.shape[1]):
            a = h[r, p]
            gwp = gw[p]
            for j in range(units):
                gwp[j] += a * dr[j]
    if use_bias:
        gb[:] = 0
        for r in range(rows):
            for j in range(units):
                gb[j] += d[r, j]
    if need_dh:
        for r in range(rows):
            for p in range(h.shape[1]):
                s = d[r, 0] * w[p, 0]
                for j in range(1, units):
                    s += d[r, j] * w[p, j]
                dh[r, p] = s


@njit(**_JIT)
def _layer_output(x, out, acts_buf, act_off, widths, l):
    """Layer l's output as a (rows, units) array: ``out`` for the last layer, else its part
    of ``acts_buf``; layer -1's output is the batch x."""
    rows = x.shape[0]
    if l < 0:
        return x
    if l == act_off.shape[0]:
        return out
    return acts_buf[act_off[l]:act_off[l] + rows * widths[l + 1]].reshape((rows, widths[l + 1]))


@njit(**_JIT)
def dense_mse_grads(x, y, params, kernel_at, bias_at, acts, scale, one, grad, offsets, out):
    """Forward, mean squared error, backward of the Dense chain on batch (x, y).

    Writes the prediction into ``out`` (rows, units of the last layer) and each variable's
    gradient into ``grad[offsets[i]:]`` (variable i = params[i]); the error's gradient is
    (out - y) * scale, scale = 2 / (units * divisor) as the loss computes it. Returns the sum
    of squared errors (float64) and whether it and every gradient are finite."""
    n_layers = acts.shape[0]
    rows = x.shape[0]
    widths = np.empty(n_layers + 1, np.int64)
    widths[0] = x.shape[1]
    act_off = np.empty(n_layers - 1, np.int64)  # where each hidden layer's output starts
    hidden = 0
    for l in range(n_layers):
        widths[l + 1] = params[kernel_at[l]].size // widths[l]
        if l < n_layers - 1:
            act_off[l] = hidden
            hidden += rows * widths[l + 1]
    acts_buf = np.empty(hidden, x.dtype)
    empty = np.empty(0, x.dtype)

    for l in range(n_layers):  # forward
        units = widths[l + 1]
        w = params[kernel_at[l]].reshape((widths[l], units))
        b = params[bias_at[l]] if bias_at[l] >= 0 else empty
        _layer_forward(_layer_output(x, out, acts_buf, act_off, widths, l - 1), w, b, bias_at[l] >= 0,
                       acts[l], _layer_output(x, out, acts_buf, act_off, widths, l), one)

    # the loss's gradient, then backward, last layer first: dh of layer l is d of layer l - 1
    widest = widths.max()
    buffers = (np.empty(rows * widest, x.dtype), np.empty(rows * widest, x.dtype))
    units = widths[n_layers]
    d = buffers[0][:rows * units].reshape((rows, units))
    sse = 0.0
    for r in range(rows):
        for j in range(units):
            e = out[r, j] - y[r, j]
            sse += e * e
            d[r, j] = e * scale
    for l in range(n_layers - 1, -1, -1):
        units = widths[l + 1]
        _activation_grad(d, _layer_output(x, out, acts_buf, act_off, widths, l), acts[l], one)
        k, c = kernel_at[l], bias_at[l]
        gw = grad[offsets[k]:offsets[k] + params[k].size].reshape((widths[l], units))
        gb = grad[offsets[c]:offsets[c] + units] if c >= 0 else empty
        dh = buffers[(n_layers - l) % 2][:rows * widths[l]].reshape((rows, widths[l]))
        _layer_backward(_layer_output(x, out, acts_buf, act_off, widths, l - 1),
                        params[k].reshape((widths[l], units)), d, gw, gb, c >= 0, dh, l > 0)
        d = dh

    total = sse
    for i in range(grad.size):
        total += grad[i]
    return sse, np.isfinite(total)
