"""Convolution on the compiled implicit GEMMs (glassnet.ops.conv_gemm) equals the NumPy
im2col path to float32 rounding: outputs, input, kernel and bias gradients, for plain,
padded, strided, dilated and 1-D convolutions, whole and in batch blocks."""
import importlib
import types

import numpy as np
import pytest

pytest.importorskip("numba")
from glassnet import blas, compiled, parallel  # noqa: E402
from glassnet.compiled import gemm  # noqa: E402
from glassnet.ops import conv_gemm  # noqa: E402
from glassnet.ops.fused import ConvBiasAct  # noqa: E402

conv_mod = importlib.import_module("glassnet.ops.conv")
rng = np.random.default_rng(0)


def _run(x, w, b, act, geom, needs, compiled_gemm, monkeypatch, held=False):
    kernels = types.SimpleNamespace(gemm=gemm) if compiled_gemm else None
    monkeypatch.setattr(compiled, "hot", lambda: kernels)
    op = ConvBiasAct()
    op.needs = needs
    if held:
        monkeypatch.setattr(conv_mod, "MIN_BLOCK_VALUES", 10)
        monkeypatch.setattr(parallel, "threads", lambda: 2)
        with blas.single_threaded():
            z = op.forward(x, w, b, act=act, **geom)
            assert op.blocks is not None and len(op.blocks) == 2
            grads = op.backward(np.cos(np.arange(z.size)).reshape(z.shape).astype(np.float32))
    else:
        z = op.forward(x, w, b, act=act, **geom)
        grads = op.backward(np.cos(np.arange(z.size)).reshape(z.shape).astype(np.float32))
    assert (op.gemm is not None) == compiled_gemm
    return z.copy(), grads


GEOMS = [dict(strides=(1, 1), pads=[(0, 0), (0, 0)], dilation=(1, 1), groups=1),
         dict(strides=(1, 1), pads=[(1, 1), (1, 1)], dilation=(1, 1), groups=1),  # "same"
         dict(strides=(1, 1), pads=[(2, 1), (0, 2)], dilation=(2, 1), groups=1),  # dilated
         dict(strides=(2, 1), pads=[(1, 1), (0, 2)], dilation=(1, 1), groups=1)]  # strided: col2im


@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("channels", [1, 16])  # 16: the input gradient on the kernel too
@pytest.mark.parametrize("held", [False, True])
def test_compiled_convolution_equals_numpy(geom, channels, held, monkeypatch):
    x = rng.standard_normal((4, 9, 8, channels)).astype(np.float32)
    w = (rng.standard_normal((3, 3, channels, 32)) / np.sqrt(9 * channels)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    needs = (True, True, True)
    plain = _run(x, w, b, "relu", geom, needs, False, monkeypatch)
    fast = _run(x, w, b, "relu", geom, needs, True, monkeypatch, held)
    np.testing.assert_allclose(fast[0], plain[0], rtol=1e-5, atol=1e-5)
    for got, want in zip(fast[1], plain[1]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_first_layer_without_input_gradient(monkeypatch):
    x = rng.standard_normal((6, 10, 10, 1)).astype(np.float32)
    w = rng.standard_normal((3, 3, 1, 16)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    plain = _run(x, w, b, "linear", GEOMS[0], (False, True, True), False, monkeypatch)
    fast = _run(x, w, b, "linear", GEOMS[0], (False, True, True), True, monkeypatch)
    assert fast[1][0] is None
    np.testing.assert_allclose(fast[1][1], plain[1][1], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast[1][2], plain[1][2], rtol=1e-5, atol=1e-4)


def test_one_d_convolution(monkeypatch):
    x = rng.standard_normal((3, 12, 16)).astype(np.float32)
    w = rng.standard_normal((5, 16, 16)).astype(np.float32)
    geom = dict(strides=(1, 1), pads=[(0, 0), (4, 0)], dilation=(1, 1), groups=1)  # causal
    plain = _run(x, w, None, "linear", geom, (True, True), False, monkeypatch)
    fast = _run(x, w, None, "linear", geom, (True, True), True, monkeypatch)
    assert fast[0].shape == (3, 12, 16) and fast[1][0].shape == x.shape and fast[1][1].shape == w.shape
    np.testing.assert_allclose(fast[0], plain[0], rtol=1e-4, atol=1e-4)
    for got, want in zip(fast[1], plain[1]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype,filters,groups", [("float64", 32, 1), ("float32", 24, 1), ("float32", 32, 2)])
def test_other_convolutions_keep_numpy(dtype, filters, groups, monkeypatch):
    monkeypatch.setattr(compiled, "hot", lambda: types.SimpleNamespace(gemm=gemm))
    x = np.zeros((2, 5, 5, 4), dtype)
    w = np.zeros((3, 3, 4 // groups, filters), dtype)
    assert conv_gemm.kernel_for(x, w, groups) is None


def test_nothing_is_used_before_training_is_hot(monkeypatch):
    monkeypatch.setattr(compiled, "hot", lambda: None)
    x, w = np.zeros((2, 5, 5, 4), np.float32), np.zeros((3, 3, 4, 32), np.float32)
    assert conv_gemm.kernel_for(x, w, 1) is None
