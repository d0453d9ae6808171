"""conv and conv_transpose: gradients, numbers against PyTorch, dtypes, errors."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.ops import conv, conv_transpose

rng = np.random.default_rng(0)

# (x shape, kernel shape, strides, padding, dilation, groups)
CASES = [
    ((1, 5, 5, 1), (3, 3, 1, 2), 1, "valid", 1, 1),
    ((2, 6, 5, 3), (3, 2, 3, 4), 1, "same", 1, 1),          # non-square kernel, odd sizes
    ((2, 7, 6, 2), (3, 3, 2, 3), 2, "same", 1, 1),
    ((1, 7, 8, 3), (2, 3, 3, 2), 2, "valid", 1, 1),
    ((2, 7, 7, 2), (3, 3, 2, 2), 1, "valid", 2, 1),          # dilation 2
    ((1, 6, 7, 2), (3, 2, 2, 3), (2, 1), "same", (1, 2), 1),  # per-axis strides / dilation
    ((2, 5, 4, 4), (3, 3, 2, 4), 1, "same", 1, 2),           # 2 groups
    ((1, 5, 6, 3), (3, 3, 1, 6), 2, "same", 1, 3),           # depthwise, multiplier 2
    ((1, 5, 4, 2), (3, 3, 2, 2), 1, ((2, 0), (1, 1)), 1, 1),  # explicit (before, after)
    ((1, 9, 2), (3, 2, 3), 1, "valid", 1, 1),                 # 1-D
    ((2, 8, 3), (3, 3, 2), 2, "same", 1, 1),
    ((1, 9, 2), (2, 2, 2), 1, "causal", 2, 1),
    ((2, 7, 4), (3, 2, 4), 1, "valid", 1, 2),
]


def _id(case):
    return f"x{case[0]}-k{case[1]}-s{case[2]}-{case[3]}-d{case[4]}-g{case[5]}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_conv_gradcheck(case):
    xs, ks, s, p, d, g = case
    x, w = rng.standard_normal(xs), rng.standard_normal(ks)
    assert gn.gradcheck(lambda a, b: conv(a, b, strides=s, padding=p, dilation_rate=d, groups=g), x, w)


def _torch_pad(p, xs, ks, s, d):
    """Our padding as explicit (before, after) pairs, for F.pad on the torch side."""
    from glassnet.ops.conv import same_padding
    rank = len(ks) - 2
    s = (s,) * rank if isinstance(s, int) else s
    d = (d,) * rank if isinstance(d, int) else d
    k_eff = [(k - 1) * dd + 1 for k, dd in zip(ks[:rank], d)]
    if p == "valid":
        return [(0, 0)] * rank
    if p == "same":
        return [same_padding(n, k, ss) for n, k, ss in zip(xs[1:-1], k_eff, s)]
    if p == "causal":
        return [(k_eff[0] - 1, 0)]
    return list(p)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_conv_matches_torch(case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    xs, ks, s, p, d, g = case
    rank = len(ks) - 2
    x, w = rng.standard_normal(xs), rng.standard_normal(ks)
    xg = gn.tensor(x, requires_grad=True)
    wg = gn.tensor(w, requires_grad=True)
    y = conv(xg, wg, strides=s, padding=p, dilation_rate=d, groups=g)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)

    # torch: channels first, kernel (F, C/g, *k), asymmetric pads done with F.pad
    to_cf = (0, rank + 1, *range(1, rank + 1))
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    pads = _torch_pad(p, xs, ks, s, d)
    flat = [q for pair in reversed(pads) for q in pair]
    fn = F.conv2d if rank == 2 else F.conv1d
    yt = fn(F.pad(xt.permute(*to_cf), flat), wt.permute(rank + 1, rank, *range(rank)),
            stride=s, dilation=d, groups=g)
    yt = yt.permute(0, *range(2, rank + 2), 1)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wg.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_same_padding_shapes_follow_keras():
    x = np.zeros((1, 7, 8, 1))
    assert conv(x, np.zeros((3, 3, 1, 2))).shape == (1, 5, 6, 2)
    assert conv(x, np.zeros((3, 3, 1, 2)), padding="same").shape == (1, 7, 8, 2)
    assert conv(x, np.zeros((3, 3, 1, 2)), strides=2, padding="same").shape == (1, 4, 4, 2)
    assert conv(x, np.zeros((4, 4, 1, 2)), strides=3, padding="SAME").shape == (1, 3, 3, 2)
    assert conv(np.zeros((2, 10, 3)), np.zeros((3, 3, 4)), padding="causal", dilation_rate=3).shape == (2, 10, 4)


def test_same_padding_puts_extra_pixel_after():
    # TensorFlow: an even kernel pads 0 before, 1 after; so the last output sees a zero
    x = np.arange(1.0, 5.0).reshape(1, 4, 1)
    y = conv(x, np.ones((2, 1, 1)), padding="same").numpy().ravel()
    np.testing.assert_array_equal(y, [3, 5, 7, 4])


def test_float32_stays_float32_and_float64_works():
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    xt, wt = gn.tensor(x, requires_grad=True), gn.tensor(w, requires_grad=True)
    y = conv(xt, wt, strides=2, padding="same", groups=1)
    assert y.dtype == np.float32
    y.sum().backward()
    assert xt.grad.dtype == np.float32 and wt.grad.dtype == np.float32
    y64 = conv(x.astype(np.float64), w.astype(np.float64), strides=2, padding="same")
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), y64.numpy(), rtol=1e-5, atol=1e-5)
    yt = conv_transpose(x, w.transpose(0, 1, 3, 2)[..., :3], strides=2)
    assert yt.dtype == np.float32


def test_no_input_grad_when_not_needed():
    # first layer: x needs no grad, only the kernel does
    x = rng.standard_normal((1, 5, 5, 2))
    w = gn.tensor(rng.standard_normal((3, 3, 2, 2)), requires_grad=True)
    y = conv(x, w)
    assert y.op.needs == (False, True)
    assert y.op.backward(np.ones(y.shape))[0] is None
    y.sum().backward()
    assert w.grad.shape == w.shape


def test_strided_and_small_channel_paths_agree():
    # the im2col copy has two paths (few channels: per-offset copies; many: one view copy)
    x = rng.standard_normal((2, 7, 6, 16))
    w = rng.standard_normal((3, 3, 16, 5))
    w_small = w[:, :, :2]
    from glassnet.ops.conv import _im2col
    wide = _im2col(np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), (4, 3), (3, 3), (2, 2), (1, 1), 1)
    narrow = np.concatenate([_im2col(np.pad(x[..., i:i + 1], ((0, 0), (1, 1), (1, 1), (0, 0))),
                                     (4, 3), (3, 3), (2, 2), (1, 1), 1)[:, :, :, None]
                             for i in range(16)], axis=-1)
    np.testing.assert_array_equal(wide, narrow.reshape(wide.shape))
    assert conv(x[..., :2], w_small).shape == (2, 5, 4, 5)


# ---- conv_transpose ----------------------------------------------------------------------
TCASES = [
    # x shape, kernel (kh, kw, F, C), strides, padding, output_padding, dilation
    ((1, 3, 4, 2), (3, 3, 2, 2), 1, "valid", None, 1),
    ((2, 3, 3, 2), (3, 3, 3, 2), 2, "same", None, 1),
    ((1, 4, 3, 2), (2, 3, 2, 2), 2, "valid", None, 1),
    ((1, 3, 4, 3), (4, 4, 2, 3), 2, "same", 1, 1),
    ((1, 3, 3, 2), (3, 3, 2, 2), 1, "valid", None, 2),
    ((1, 3, 2, 2), (2, 2, 2, 2), 3, "valid", None, 1),        # kernel smaller than stride
    ((2, 5, 3), (3, 2, 3), 2, "same", None, 1),               # 1-D
    ((1, 4, 2), (2, 3, 2), 2, "valid", 1, 1),
]


def _tid(case):
    return f"x{case[0]}-k{case[1]}-s{case[2]}-{case[3]}-op{case[4]}-d{case[5]}"


@pytest.mark.parametrize("case", TCASES, ids=_tid)
def test_conv_transpose_gradcheck(case):
    xs, ks, s, p, op, d = case
    x, w = rng.standard_normal(xs), rng.standard_normal(ks)
    assert gn.gradcheck(lambda a, b: conv_transpose(a, b, strides=s, padding=p, output_padding=op, dilation_rate=d), x, w)


@pytest.mark.parametrize("case", TCASES, ids=_tid)
def test_conv_transpose_is_the_input_gradient_of_conv(case):
    # the definition (TensorFlow's conv2d_transpose): y = d<conv(z, w), x>/dz for z of y's shape
    xs, ks, s, p, op, d = case
    x, w = rng.standard_normal(xs), rng.standard_normal(ks)
    y = conv_transpose(x, w, strides=s, padding=p, output_padding=op, dilation_rate=d)
    z = gn.tensor(np.zeros(y.shape), requires_grad=True)
    out = conv(z, w, strides=s, padding=p, dilation_rate=d)
    assert out.shape == x.shape
    out.backward(x)
    np.testing.assert_allclose(y.numpy(), z.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", TCASES, ids=_tid)
def test_conv_transpose_matches_torch(case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    xs, ks, s, p, op, d = case
    rank = len(ks) - 2
    x, w = rng.standard_normal(xs), rng.standard_normal(ks)
    xg, wg = gn.tensor(x, requires_grad=True), gn.tensor(w, requires_grad=True)
    y = conv_transpose(xg, wg, strides=s, padding=p, output_padding=op, dilation_rate=d)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)

    # torch without padding gives the full (n-1)*s + k_eff output; Keras/TF keep a window
    # of it: `before` = (total pad) // 2 cropped in front, zeros after if Keras' is longer
    to_cf = (0, rank + 1, *range(1, rank + 1))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    fn = F.conv_transpose2d if rank == 2 else F.conv_transpose1d
    full = fn(xt.permute(*to_cf), wt.permute(rank + 1, rank, *range(rank)), stride=s, dilation=d)
    ss = (s,) * rank if isinstance(s, int) else s
    k_eff = [(k - 1) * d + 1 for k in ks[:rank]]
    sl, pad = [slice(None), slice(None)], []
    for n, o, ke, st, f in zip(xs[1:-1], y.shape[1:-1], k_eff, ss, full.shape[2:]):
        before = max((n - 1) * st + ke - o, 0) // 2 if p == "same" else 0
        sl.append(slice(before, before + o))
        pad.append(max(before + o - f, 0))
    yt = full[tuple(sl)]
    yt = F.pad(yt, [q for e in reversed(pad) for q in (0, e)]).permute(0, *range(2, rank + 2), 1)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wg.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv_transpose_output_shapes_follow_keras():
    x = np.zeros((1, 5, 7, 4))
    assert conv_transpose(x, np.zeros((3, 3, 2, 4)), strides=2, padding="same").shape == (1, 10, 14, 2)
    assert conv_transpose(x, np.zeros((3, 3, 2, 4)), strides=2).shape == (1, 11, 15, 2)
    assert conv_transpose(x, np.zeros((3, 3, 2, 4)), strides=2, output_padding=1).shape == (1, 12, 16, 2)
    assert conv_transpose(x, np.zeros((3, 3, 2, 4)), strides=2, padding="same", output_padding=1).shape == (1, 10, 14, 2)
    assert conv_transpose(x, np.zeros((2, 2, 2, 4)), strides=3).shape == (1, 15, 21, 2)


# ---- errors ------------------------------------------------------------------------------
def test_errors():
    x = np.zeros((1, 6, 6, 3))
    with pytest.raises(ValueError, match=r"conv: a 2-D kernel .* expects x of rank 4 .* received shape \(6, 6, 3\); add a batch axis"):
        conv(np.zeros((6, 6, 3)), np.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match=r"conv: expected a kernel of rank 3 .* or rank 4 .* received shape \(3, 3\)"):
        conv(x, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"conv: x has 3 channels but the kernel of shape \(3, 3, 2, 4\) expects 2"):
        conv(x, np.zeros((3, 3, 2, 4)))
    with pytest.raises(ValueError, match=r"conv: groups=2 must divide the input channels \(3\)"):
        conv(x, np.zeros((3, 3, 1, 4)), groups=2)
    with pytest.raises(ValueError, match=r"conv: the kernel .* is larger than the padded input .*\(6, 6\)"):
        conv(x, np.zeros((7, 3, 3, 2)))
    with pytest.raises(ValueError, match=r"conv: the kernel .*dilation \(3, 3\).*larger than the padded input"):
        conv(x, np.zeros((3, 3, 3, 2)), dilation_rate=3)
    with pytest.raises(ValueError, match=r"conv: padding must be 'valid', 'same'.* received 'full'"):
        conv(x, np.zeros((3, 3, 3, 2)), padding="full")
    with pytest.raises(ValueError, match=r"conv: padding='causal' is only for 1-D"):
        conv(x, np.zeros((3, 3, 3, 2)), padding="causal")
    with pytest.raises(ValueError, match=r"conv: strides must be positive, received 0"):
        conv(x, np.zeros((3, 3, 3, 2)), strides=0)
    with pytest.raises(ValueError, match=r"conv: strides must be an int or a tuple of 2 ints .* received \(1, 2, 3\)"):
        conv(x, np.zeros((3, 3, 3, 2)), strides=(1, 2, 3))
    with pytest.raises(TypeError, match=r"conv: expected a floating tensor, received dtype int64"):
        conv(np.zeros((1, 6, 6, 3), dtype=np.int64), np.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match=r"conv_transpose: x has 3 channels but the kernel of shape \(3, 3, 3, 2\) expects 2"):
        conv_transpose(x, np.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match=r"conv_transpose: padding must be 'valid' or 'same', received 'causal'"):
        conv_transpose(x, np.zeros((3, 3, 2, 3)), padding="causal")
    with pytest.raises(ValueError, match=r"conv_transpose: output_padding must be 2 non-negative ints each smaller than the stride"):
        conv_transpose(x, np.zeros((3, 3, 2, 3)), strides=2, output_padding=2)
