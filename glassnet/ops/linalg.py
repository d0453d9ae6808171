"""Matrix products: matmul (batched, broadcasting like NumPy), dot and outer."""
import numpy as np

from glassnet.autograd import Op
from glassnet.ops._util import pair, unbroadcast


class MatMul(Op):
    """Z = A @ B;  dA = G @ B^T, dB = A^T @ G (batch axes summed back where broadcast)."""
    name = "matmul"

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        # 1-D operands act as (1, n) rows / (n, 1) columns, as in NumPy
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs[0]:
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if self.needs[1]:
            if b2.ndim == 2 and a2.ndim > 2:
                # a shared weight (Dense on sequences): fold the batch into the rows so one
                # GEMM does it, instead of a batched product followed by a sum
                gb = a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
            else:
                gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


def matmul(x, y):
    """Matrix product with NumPy's rules: batched over leading axes, 1-D as vectors."""
    x, y = pair("matmul", x, y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dimension, received shapes {x.shape} and {y.shape}; use multiply for scalars")
    k1 = x.shape[-1]
    k2 = y.shape[-2] if y.ndim > 1 else y.shape[0]
    if k1 != k2:
        raise ValueError(
            f"matmul: inner dimensions must match, received shapes {x.shape} and {y.shape} "
            f"({k1} != {k2}); the last axis of the first must equal the "
            f"{'second-to-last' if y.ndim > 1 else 'only'} axis of the second"
        )
    if x.ndim > 2 or y.ndim > 2:
        from glassnet.ops._util import broadcast_shape
        broadcast_shape("matmul (batch axes)", x.shape[:-2], y.shape[:-2])
    return MatMul.apply(x, y)


def dot(x, y):
    """NumPy ``dot`` for vectors and matrices (inner product, matrix-vector, matrix-matrix)."""
    x, y = pair("dot", x, y)
    if x.ndim > 2 or y.ndim > 2:
        raise ValueError(f"dot: supports 1-D and 2-D operands, received shapes {x.shape} and {y.shape}; use matmul for batches")
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    return matmul(x, y)


def outer(x, y):
    """Outer product of two vectors (flattened first, like NumPy): z[i, j] = x[i] y[j]."""
    from glassnet.ops.shape import reshape
    x, y = pair("outer", x, y)
    return reshape(x, (-1, 1)) * reshape(y, (1, -1))
