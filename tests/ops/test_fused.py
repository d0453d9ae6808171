"""matmul_bias_act and conv_bias_act: gradients, equality with the plain ops, dtypes, what the
node keeps, inference, errors."""
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.ops import conv, conv_bias_act, matmul, matmul_bias_act
from glassnet.ops.fused import ACTIVATIONS

rng = np.random.default_rng(0)
PLAIN = {"linear": lambda y: y, "relu": gn.ops.relu, "sigmoid": gn.ops.sigmoid, "tanh": gn.ops.tanh,
         "softmax": gn.ops.softmax}

# (x shape, kernel shape, strides, padding, dilation, groups): the conv variants the layers use
CONV_CASES = [
    ((2, 5, 6, 3), (3, 3, 3, 4), 1, "valid", 1, 1),
    ((2, 7, 6, 2), (3, 2, 2, 3), 2, "same", 1, 1),           # strided, non-square kernel
    ((1, 7, 7, 2), (3, 3, 2, 2), 1, "same", 2, 1),           # dilation
    ((2, 5, 4, 4), (3, 3, 2, 6), (2, 1), "same", 1, 2),      # groups, per-axis strides
    ((1, 5, 6, 3), (3, 3, 1, 6), 1, "valid", 1, 3),          # depthwise, multiplier 2
    ((1, 5, 4, 2), (3, 3, 2, 2), 1, ((2, 0), (1, 1)), 1, 1),  # explicit (before, after)
    ((2, 3, 4, 9), (1, 1, 9, 3), 1, "valid", 1, 1),          # 1x1, wide channels (view im2col)
    ((2, 9, 3), (3, 3, 4), 2, "same", 1, 1),                  # 1-D
    ((1, 9, 2), (2, 2, 2), 1, "causal", 2, 1),
]


def _cid(case):
    return f"x{case[0]}-k{case[1]}-s{case[2]}-{case[3]}-d{case[4]}-g{case[5]}"


def _conv_kw(case):
    _, _, s, p, d, g = case
    return dict(strides=s, padding=p, dilation_rate=d, groups=g)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("case", CONV_CASES, ids=_cid)
def test_conv_bias_act_gradcheck(case, act):
    xs, ks = case[:2]
    kw = _conv_kw(case)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ks), rng.standard_normal(ks[-1])
    assert gn.gradcheck(lambda x, w, b: conv_bias_act(x, w, b, act, **kw), x, w, b)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_conv_act_without_bias_gradcheck(act):
    x, w = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 3, 3, 4))
    assert gn.gradcheck(lambda x, w: conv_bias_act(x, w, None, act, padding="same"), x, w)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("xshape", [(5, 4), (1, 4), (2, 3, 4), (4,)], ids=str)
def test_matmul_bias_act_gradcheck(xshape, act):
    x, w, b = rng.standard_normal(xshape), rng.standard_normal((4, 3)), rng.standard_normal(3)
    assert gn.gradcheck(lambda x, w, b: matmul_bias_act(x, w, b, act), x, w, b)
    assert gn.gradcheck(lambda x, w: matmul_bias_act(x, w, None, act), x, w)


def _run(fn, arrays, cot):
    """Output and the gradients of <cot, output> for each array, via glassnet's backward."""
    ts = [gn.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    y.backward(cot)
    return [y.numpy()] + [t.grad for t in ts]


def _assert_same(fused, plain, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for i, (a, b) in enumerate(zip(fused, plain)):
        assert a.dtype == b.dtype == dtype, f"result {i}: {a.dtype} vs {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"result {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("case", CONV_CASES, ids=_cid)
def test_conv_bias_act_equals_the_plain_ops(case, act, dtype):
    xs, ks = case[:2]
    kw = _conv_kw(case)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (xs, ks, ks[-1:])]
    y = conv(*arrays[:2], **kw)
    cot = rng.standard_normal(y.shape).astype(dtype)
    fused = _run(lambda x, w, b: conv_bias_act(x, w, b, act, **kw), arrays, cot)
    plain = _run(lambda x, w, b: PLAIN[act](conv(x, w, **kw) + b), arrays, cot)
    _assert_same(fused, plain, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("xshape", [(16, 10), (3, 5, 10)], ids=str)
def test_matmul_bias_act_equals_the_plain_ops(xshape, act, dtype):
    arrays = [rng.standard_normal(s).astype(dtype) for s in (xshape, (10, 7), (7,))]
    cot = rng.standard_normal(xshape[:-1] + (7,)).astype(dtype)
    fused = _run(lambda x, w, b: matmul_bias_act(x, w, b, act), arrays, cot)
    plain = _run(lambda x, w, b: PLAIN[act](matmul(x, w) + b), arrays, cot)
    _assert_same(fused, plain, dtype)


def test_one_node_that_keeps_its_output_not_the_pre_activation():
    x = gn.tensor(rng.standard_normal((4, 6, 6, 2)).astype(np.float32), requires_grad=True)
    w = gn.tensor(rng.standard_normal((3, 3, 2, 5)).astype(np.float32), requires_grad=True)
    b = gn.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    y = conv_bias_act(x, w, b, "relu")
    op = y.op
    assert op.name == "conv_bias_relu" and op.inputs == (x, w, b)
    assert op.z is y.data  # the GEMM output itself, biased and activated in place
    out_sized = [v for v in vars(op).values() if isinstance(v, np.ndarray) and v.size == y.data.size]
    assert all(np.shares_memory(v, y.data) for v in out_sized)
    d = matmul_bias_act(x.reshape((4, -1)), gn.tensor(np.ones((72, 3), np.float32)), None, "tanh")
    assert d.op.name == "matmul_tanh" and np.shares_memory(d.op.z, d.data)
    assert conv_bias_act(x, w, b).op.z is None  # linear: backward needs no output


def test_backward_leaves_g_alone_and_can_run_twice():
    # the explainer calls an op's backward twice; autograd may share g with other ops
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 5, 5, 2), (3, 3, 2, 4), (4,)))
    for act in ACTIVATIONS:
        y = conv_bias_act(x, gn.tensor(w, requires_grad=True), gn.tensor(b, requires_grad=True), act)
        g = rng.standard_normal(y.shape).astype(np.float32)
        keep = g.copy()
        first = y.op.backward(g)
        second = y.op.backward(g)
        np.testing.assert_array_equal(g, keep)
        assert first[0] is None  # x needs no gradient
        for a, c in zip(first[1:], second[1:]):
            np.testing.assert_array_equal(a, c)


def test_no_grad_gives_the_same_values_and_records_nothing():
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 7, 7, 2), (3, 3, 2, 4), (4,)))
    wt, bt = gn.tensor(w, requires_grad=True), gn.tensor(b, requires_grad=True)
    with gn.no_grad():
        y = conv_bias_act(x, wt, bt, "relu", padding="same")
        d = matmul_bias_act(x.reshape(3, -1), np.ones((98, 2), np.float32), b[:2], "sigmoid")
    assert y.op is None and not y.requires_grad and d.op is None
    np.testing.assert_allclose(y.numpy(), gn.ops.relu(conv(x, w, padding="same") + b).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d.numpy(), gn.ops.sigmoid(matmul(x.reshape(3, -1), np.ones((98, 2), np.float32)) + b[:2]).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_for_output_and_every_gradient(dtype):
    for act in ACTIVATIONS:
        x, w, b = (gn.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in ((2, 5, 5, 3), (3, 3, 3, 4), (4,)))
        y = conv_bias_act(x, w, b, act, strides=2, padding="same")
        d = matmul_bias_act(gn.ops.reshape(y, (2, -1)), gn.tensor(np.ones((36, 3), dtype), requires_grad=True), b[:3], act)
        assert y.op.name.startswith("conv") and d.op.name.startswith("matmul")  # the fused nodes ran
        assert y.dtype == d.dtype == dtype
        for node in (y, d):  # the op's own gradients, before autograd would cast any back
            assert all(g.dtype == dtype for g in node.op.backward(np.ones(node.shape, dtype)))
        d.sum().backward()
        assert x.grad.dtype == w.grad.dtype == b.grad.dtype == dtype


def test_mixed_dtypes_and_odd_bias_shapes_take_the_plain_path():
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w64 = rng.standard_normal((3, 2))
    y = matmul_bias_act(gn.tensor(x, requires_grad=True), w64, np.zeros(2), "relu")
    assert y.op.name == "relu" and y.dtype == np.float64  # what matmul, add and relu give
    np.testing.assert_allclose(y.numpy(), np.maximum(x @ w64, 0), rtol=1e-6)
    b_row = np.ones((4, 1), np.float32)  # broadcasts over units, not a (units,) bias
    z = matmul_bias_act(gn.tensor(x, requires_grad=True), w64.astype(np.float32), b_row, "tanh")
    assert z.op.name == "tanh"
    np.testing.assert_allclose(z.numpy(), np.tanh(x @ w64.astype(np.float32) + b_row), rtol=1e-5)
    half = conv_bias_act(np.ones((1, 4, 4, 1), np.float16), gn.tensor(np.ones((3, 3, 1, 2), np.float16), requires_grad=True),
                         None, "relu")
    assert half.dtype == np.float16 and half.op.name == "relu"  # float16 sums are left to the plain ops


def test_saturating_activations_stay_finite_without_warnings():
    x = np.array([[-1000.0, -80.0, 0.0, 80.0, 1000.0]], np.float32)
    eye = np.eye(5, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = matmul_bias_act(x, eye, None, "sigmoid").numpy()
        sm = matmul_bias_act(x, eye, None, "softmax").numpy()
        t = matmul_bias_act(x, eye, None, "tanh").numpy()
    np.testing.assert_allclose(s, [[0, 1 / (1 + np.exp(80.0)), 0.5, 1, 1]], rtol=1e-5, atol=0)
    np.testing.assert_allclose(sm, [[0, 0, 0, 0, 1]])
    np.testing.assert_allclose(t, [[-1, -1, 0, 1, 1]])


def test_errors():
    x, w = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"matmul_bias_act: activation must be None or one of .*'gelu'"):
        matmul_bias_act(x, w, None, "gelu")
    with pytest.raises(ValueError, match="matmul: inner dimensions must match"):
        matmul_bias_act(x, np.ones((4, 4), np.float32), None, "relu")
    with pytest.raises(ValueError, match=r"conv_bias_act: a 2-D kernel .* expects x of rank 4"):
        conv_bias_act(np.ones((5, 5, 1), np.float32), np.ones((3, 3, 1, 2), np.float32), None, "relu")
    with pytest.raises(ValueError, match="conv_bias_act: activation must be"):
        conv_bias_act(np.ones((1, 5, 5, 1), np.float32), np.ones((3, 3, 1, 2), np.float32), None, "elu")


def test_bias_gradient_ones_are_cached_read_only_and_bounded(monkeypatch):
    from glassnet.ops import _util
    monkeypatch.setattr(_util, "_ONES", {})
    d = rng.standard_normal((9, 4)).astype(np.float32)
    first = _util.bias_grad(d)
    assert first.tobytes() == (np.ones(9, np.float32) @ d).tobytes()
    ones = _util._ONES[(9, np.dtype(np.float32))]
    assert not ones.flags.writeable and _util.bias_grad(d).tobytes() == first.tobytes()
    assert _util._ONES[(9, np.dtype(np.float32))] is ones  # made once
    for rows in range(1, 2 * _util._ONES_MAX):
        _util.bias_grad(np.ones((rows, 2)))
    assert len(_util._ONES) <= _util._ONES_MAX


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_two_d_inputs_skip_reshapes_with_the_same_bits(act):
    # (6, 10) runs without reshapes; (2, 3, 10) folds its batch axes: the same rows, the same numbers
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((6, 10), (10, 7), (7,))]
    cot = rng.standard_normal((6, 7)).astype(np.float32)
    flat = _run(lambda x, w, b: matmul_bias_act(x, w, b, act), arrays, cot)
    folded = _run(lambda x, w, b: matmul_bias_act(x, w, b, act), [arrays[0].reshape(2, 3, 10)] + arrays[1:],
                  cot.reshape(2, 3, 7))
    for a, b in zip(flat, folded):
        assert a.tobytes() == b.tobytes()
