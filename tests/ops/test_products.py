"""ops.products.matmul_into: NumPy's product before training is hot, the compiled AVX-512
GEMM after (float32, a multiple of 16 columns), the same numbers to float32 rounding."""
import types

import numpy as np
import pytest

from glassnet import compiled
from glassnet.ops import products

rng = np.random.default_rng(0)


def _spy(monkeypatch):
    gemm = pytest.importorskip("glassnet.compiled.gemm")
    calls = []
    spy = types.SimpleNamespace(matmul=lambda a, b, out: calls.append(1) or gemm.matmul(a, b, out))
    monkeypatch.setattr(compiled, "hot", lambda: types.SimpleNamespace(gemm=spy))
    return calls


@pytest.mark.parametrize("transposed", [False, True])
def test_compiled_product_equals_numpy(transposed, monkeypatch):
    calls = _spy(monkeypatch)
    a = rng.standard_normal((40, 70)).astype(np.float32)
    b = rng.standard_normal((70, 48)).astype(np.float32)
    a = np.asfortranarray(a) if transposed else a
    out = np.empty((40, 48), np.float32)
    assert products.matmul_into(a, b, out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(products.matmul_into(a, b.T.copy().T), a @ b, rtol=1e-5, atol=1e-5)
    assert len(calls) == 2


@pytest.mark.parametrize("case", ["float64", "columns", "strided_out", "cold"])
def test_everything_else_is_numpy(case, monkeypatch):
    calls = _spy(monkeypatch)
    if case == "cold":
        monkeypatch.setattr(compiled, "hot", lambda: None)
    dtype = np.float64 if case == "float64" else np.float32
    n = 40 if case == "columns" else 32
    a, b = rng.standard_normal((8, 5)).astype(dtype), rng.standard_normal((5, n)).astype(dtype)
    out = np.empty((n, 8), dtype).T if case == "strided_out" else None
    got = products.matmul_into(a, b, out)
    np.testing.assert_array_equal(got, np.matmul(a, b))
    assert not calls
