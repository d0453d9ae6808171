"""Convolution and max pooling in batch blocks on glassnet's threads (ops.conv.batch_blocks):
the same outputs and gradients as one block (pooling exactly, convolution to float rounding),
and only while BLAS is held at one thread."""
import contextlib
import importlib

import numpy as np
import pytest

from glassnet import blas, parallel
from glassnet.ops.fused import ConvBiasAct
from glassnet.ops.pooling import MaxPool

conv_mod = importlib.import_module("glassnet.ops.conv")  # glassnet.ops.conv is also a function's name
rng = np.random.default_rng(0)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(conv_mod, "MIN_BLOCK_VALUES", 10)
    monkeypatch.setattr(parallel, "threads", lambda: 2)


def _conv(x, w, b, act, geom, needs, held):
    op = ConvBiasAct()
    op.needs = needs
    if held:
        with blas.single_threaded():
            z = op.forward(x, w, b, act=act, **geom)
            assert op.blocks is not None and len(op.blocks) == 2
            g = np.cos(np.arange(z.size)).reshape(z.shape).astype(z.dtype)
            return z.copy(), op.backward(g)
    z = op.forward(x, w, b, act=act, **geom)
    assert op.blocks is None
    g = np.cos(np.arange(z.size)).reshape(z.shape).astype(z.dtype)
    return z.copy(), op.backward(g)


GEOMS = [dict(strides=(1, 1), pads=[(0, 0), (0, 0)], dilation=(1, 1), groups=1),
         dict(strides=(2, 1), pads=[(1, 1), (0, 2)], dilation=(1, 2), groups=1)]


@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("act", ["relu", "linear", "tanh"])
@pytest.mark.parametrize("channels", [1, 9])  # the two im2col paths
def test_conv_blocks_equal_one_block(geom, act, channels, small_blocks):
    x = rng.standard_normal((5, 9, 8, channels))
    w = rng.standard_normal((3, 3, channels, 4))
    b = rng.standard_normal(4)
    needs = (True, True, True)
    whole = _conv(x, w, b, act, geom, needs, held=False)
    blocks = _conv(x, w, b, act, geom, needs, held=True)
    np.testing.assert_allclose(blocks[0], whole[0], rtol=1e-13, atol=1e-13)
    for got, want in zip(blocks[1], whole[1]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv_blocks_without_input_gradient_or_bias(small_blocks):
    x, w, b = rng.standard_normal((4, 6, 6, 2)), rng.standard_normal((3, 3, 2, 3)), rng.standard_normal(3)
    whole = _conv(x, w, b, "relu", GEOMS[0], (False, True, False), held=False)
    blocks = _conv(x, w, b, "relu", GEOMS[0], (False, True, False), held=True)
    assert blocks[1][0] is None and blocks[1][2] is None
    np.testing.assert_allclose(blocks[1][1], whole[1][1], rtol=1e-12)


@pytest.mark.parametrize("pool,strides,pads", [((2, 2), (2, 2), [(0, 0), (0, 0)]),
                                               ((3, 3), (2, 2), [(1, 1), (1, 1)])])
def test_max_pool_blocks_equal_one_block_exactly(pool, strides, pads, small_blocks):
    x = rng.standard_normal((5, 8, 8, 3)).astype(np.float32)
    results = []
    for held in (False, True):
        op = MaxPool()
        op.needs = (True,)
        if held:
            with blas.single_threaded():
                y = op.forward(x, pool, strides, pads)
                assert op.blocks is not None
                dx, = op.backward(np.ones_like(y) * np.arange(y.shape[-1], dtype=np.float32))
        else:
            y = op.forward(x, pool, strides, pads)
            assert op.blocks is None
            dx, = op.backward(np.ones_like(y) * np.arange(y.shape[-1], dtype=np.float32))
        results.append((y, dx))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])


def test_small_ops_and_single_threaded_blas_run_whole(monkeypatch):
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    assert conv_mod.batch_blocks(128, 1 << 20) is None  # not held: whole, with BLAS's own threads
    with blas.single_threaded():
        assert conv_mod.batch_blocks(128, 1 << 20) == [slice(0, 64), slice(64, 128)]
        assert conv_mod.batch_blocks(128, 1000) is None  # too small to be worth it
        assert conv_mod.batch_blocks(1, 1 << 20) is None
    monkeypatch.setattr(parallel, "threads", lambda: 1)
    with blas.single_threaded():
        assert conv_mod.batch_blocks(128, 1 << 20) is None


@pytest.mark.parametrize("act", ["relu", "softmax", "linear"])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5)])
def test_dense_row_blocks_equal_one_block(act, shape, small_blocks):
    from glassnet.ops.fused import MatMulBiasAct
    x, w, b = rng.standard_normal(shape), rng.standard_normal((5, 6)), rng.standard_normal(6)
    results = []
    for held in (False, True):
        op = MatMulBiasAct()
        op.needs = (True, True, True)
        with (blas.single_threaded() if held else contextlib.nullcontext()):
            z = op.forward(x, w, b, act=act)
            assert (op.blocks is not None) == held
            results.append((z.copy(),) + op.backward(np.sin(np.arange(z.size)).reshape(z.shape)))
    assert not getattr(MatMulBiasAct(), "wants_blocks", False)  # a Dense never asks a step to hold BLAS
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)

