"""Matrix products for the engine's fused ops: the compiled AVX-512 GEMM once training is hot.

``matmul_into(a, b, out)`` is ``np.matmul(a, b, out=out)`` for 2-D operands, run on
glassnet.compiled.gemm when training is hot (glassnet.compiled.hot), the CPU has AVX-512,
the operands are float32 and b has a multiple of 16 columns; NumPy's BLAS otherwise. The
two agree to float32 rounding (tests/ops/test_products.py). The LSTM and GRU layers use it
for their input projections, their recurrent products and their kernel gradients.
"""
import numpy as np

from glassnet import compiled


def compiled_gemm(*arrays):
    """The compiled GEMM module when it may multiply these float32 arrays, else None."""
    if any(a.dtype != np.float32 for a in arrays):
        return None
    kernels = compiled.hot()
    return None if kernels is None else kernels.gemm


def matmul_into(a, b, out=None):
    """a @ b for 2-D a (m, k) and b (k, n), into ``out`` (m, n) when given."""
    gemm = compiled_gemm(a, b) if b.shape[1] % 16 == 0 else None
    if gemm is None or (out is not None and (out.dtype != np.float32 or not out.flags.c_contiguous)):
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.float32)
    return gemm.matmul(a, b, out)
