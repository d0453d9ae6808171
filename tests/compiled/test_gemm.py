"""The compiled AVX-512 GEMM (glassnet.compiled.gemm) equals NumPy's products to float32
rounding: plain, transposed, accumulating, every edge of its register tiles, and through
offset tables (an implicit im2col)."""
import numpy as np
import pytest

pytest.importorskip("numba")
from glassnet.compiled import gemm  # noqa: E402

rng = np.random.default_rng(0)


def _close(got, a, b, base=0.0):
    want = base + a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64) + 1
    assert np.all(np.abs(got - want) <= 1e-5 * scale), np.max(np.abs(got - want) / scale)


# n chooses the tile (multiples of 64, 32, 16); m and k leave partial tiles and k > KC
@pytest.mark.parametrize("m,k,n", [(1, 1, 16), (5, 3, 64), (7, 300, 16), (13, 5, 48), (33, 257, 32),
                                   (81, 513, 128), (12, 0, 32), (200, 64, 192)])
@pytest.mark.parametrize("layout", ["c", "f"])
def test_matmul_equals_numpy(m, k, n, layout):
    a = rng.standard_normal((m, k)).astype(np.float32)
    if layout == "f":
        a = np.asfortranarray(a)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = np.full((m, n), np.nan, np.float32)
    gemm.matmul(a, b, out)
    _close(out, a, b)
    base = rng.standard_normal((m, n)).astype(np.float32)
    acc = base.copy()
    gemm.matmul(a, b.T.copy().T, acc, accumulate=True)  # an F-ordered b is read by rows
    _close(acc, a, b, base)


def test_strided_operands_are_copied_not_misread():
    big = rng.standard_normal((20, 40)).astype(np.float32)
    a = big[::2, 3:35:2]  # neither C- nor F-contiguous
    b = rng.standard_normal((16, 32)).astype(np.float32)
    out = np.empty((10, 32), np.float32)
    gemm.matmul(a, b, out)
    _close(out, a, b)


def test_offset_tables_do_an_implicit_im2col():
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 16)).astype(np.float32)
    N, H, W, C = x.shape
    rows = (np.arange(N)[:, None, None] * H * W * C + np.arange(4)[:, None] * W * C + np.arange(5) * C).reshape(-1)
    cols = (np.arange(3)[:, None, None] * W * C + np.arange(3)[:, None] * C + np.arange(C)).reshape(-1)
    out = np.empty((N * 4 * 5, 16), np.float32)
    gemm.gemm(x.reshape(-1), rows, cols, w.reshape(-1), gemm.offsets(27, 16), out.reshape(-1),
              gemm.offsets(out.shape[0], 16), 16, False)
    patches = np.stack([x[:, a:a + 4, b:b + 5] for a in range(3) for b in range(3)], axis=3)
    _close(out, patches.reshape(-1, 27), w.reshape(27, 16))


def test_a_row_of_results_never_depends_on_the_other_rows():
    # the sums run in a fixed order, so a batch block gives the rows of the whole product
    a = rng.standard_normal((40, 300)).astype(np.float32)
    b = rng.standard_normal((300, 64)).astype(np.float32)
    whole, part = np.empty((40, 64), np.float32), np.empty((17, 64), np.float32)
    gemm.matmul(a, b, whole)
    gemm.matmul(a[11:28], b, part)
    np.testing.assert_array_equal(part, whole[11:28])


def test_glassnet_gemm_0_keeps_numpy_products(monkeypatch):
    from glassnet import compiled

    for value, expected in (("0", False), ("1", gemm.avx512())):
        monkeypatch.setenv("GLASSNET_GEMM", value)
        monkeypatch.setitem(compiled._state, "tried", False)  # as in a fresh process
        monkeypatch.setitem(compiled._state, "kernels", None)
        kernels = compiled.load()
        assert (kernels.gemm is gemm) is expected and (kernels.lstm_sequence is not None) is expected


@pytest.mark.parametrize("a,b,out,error", [
    ((4, 3), (5, 16), (4, 16), ValueError),       # inner sizes differ
    ((4, 3), (3, 16), (4, 32), ValueError),       # out of another shape
    ((4, 3), (3, 20), (4, 20), ValueError),       # not a multiple of 16 columns
    ((4, 3), (3, 16), "f", ValueError),           # out not C-contiguous: the result would be lost
    ((4, 3), (3, 16), "float64", TypeError)])
def test_bad_operands_are_refused(a, b, out, error):
    x, y = np.zeros(a, np.float32), np.zeros(b, np.float32)
    if out == "f":
        out = np.zeros((16, 4), np.float32).T
    elif out == "float64":
        out = np.zeros((4, 16))
    else:
        out = np.zeros(out, np.float32)
    with pytest.raises(error, match="compiled gemm.matmul"):
        gemm.matmul(x, y, out)
