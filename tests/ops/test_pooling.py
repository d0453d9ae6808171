"""max_pool and avg_pool: gradients, numbers against PyTorch, Keras padding, dtypes, errors."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.ops import avg_pool, max_pool

rng = np.random.default_rng(1)

# (x shape, pool_size, strides, padding)
CASES = [
    ((1, 4, 4, 1), (2, 2), None, "valid"),
    ((2, 5, 7, 3), (2, 2), None, "valid"),        # odd sizes: last row/col dropped
    ((2, 5, 7, 2), (2, 2), None, "same"),
    ((1, 7, 6, 2), (3, 3), 2, "valid"),           # overlapping windows
    ((2, 7, 5, 2), (3, 3), 2, "same"),
    ((1, 6, 5, 2), (3, 2), 1, "same"),            # stride 1, non-square
    ((1, 6, 6, 1), 3, (2, 1), "valid"),
    ((2, 9, 3), 2, None, "valid"),                # 1-D (rank from x)
    ((2, 9, 3), (3,), 2, "same"),
    ((1, 8, 2), (3,), 1, "valid"),
]


def _id(case):
    return f"x{case[0]}-p{case[1]}-s{case[2]}-{case[3]}"


@pytest.mark.parametrize("fn", [max_pool, avg_pool])
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_gradcheck(case, fn):
    xs, pool, s, p = case
    x = rng.standard_normal(xs)  # distinct values: max is differentiable away from ties
    assert gn.gradcheck(lambda a: fn(a, pool, strides=s, padding=p), x)


def _torch_pool(torch, kind, x, pool, s, p):
    """Keras pooling through torch: explicit TF-style pads (-inf / excluded from the mean)."""
    F = torch.nn.functional
    from glassnet.ops.conv import same_padding
    rank = x.dim() - 2
    pool = (pool,) * rank if isinstance(pool, int) else tuple(pool)
    s = pool if s is None else ((s,) * rank if isinstance(s, int) else tuple(s))
    pads = [same_padding(n, k, st) if p == "same" else (0, 0) for n, k, st in zip(x.shape[1:-1], pool, s)]
    flat = [q for pair in reversed(pads) for q in pair]
    xc = x.permute(0, rank + 1, *range(1, rank + 1))
    if rank == 1:
        xc, pool, s, flat = xc[:, :, None], (1,) + pool, (1,) + s, flat + [0, 0]
    if kind == "max":
        y = F.max_pool2d(F.pad(xc, flat, value=-np.inf), pool, s)
    else:
        total = F.avg_pool2d(F.pad(xc, flat), pool, s, divisor_override=1)
        count = F.avg_pool2d(F.pad(torch.ones_like(xc[:1, :1]), flat), pool, s, divisor_override=1)
        y = total / count
    if rank == 1:
        y = y[:, :, 0]
    return y.permute(0, *range(2, rank + 2), 1)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_torch(case, kind):
    torch = pytest.importorskip("torch")
    xs, pool, s, p = case
    x = rng.standard_normal(xs)
    fn = max_pool if kind == "max" else avg_pool
    xg = gn.tensor(x, requires_grad=True)
    y = fn(xg, pool, strides=s, padding=p)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    xt = torch.tensor(x, requires_grad=True)
    yt = _torch_pool(torch, kind, xt, pool, s, p)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_plain_torch_pools_without_padding():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((2, 7, 9, 3))
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    np.testing.assert_allclose(max_pool(x, (3, 3), 2).numpy(), F.max_pool2d(xt, 3, 2).permute(0, 2, 3, 1).numpy())
    np.testing.assert_allclose(avg_pool(x, (2, 3), (1, 2)).numpy(),
                               F.avg_pool2d(xt, (2, 3), (1, 2)).permute(0, 2, 3, 1).numpy(), rtol=1e-12)


def test_max_gradient_goes_to_first_maximum():
    # ties: TensorFlow and PyTorch route the whole gradient to the first max (row-major)
    x = gn.tensor(np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 1.0]]).reshape(1, 2, 4, 1), requires_grad=True)
    y = max_pool(x, (2, 2))
    np.testing.assert_array_equal(y.numpy().ravel(), [3, 3])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[0, 1, 1, 0], [0, 0, 0, 0]])
    # overlapping windows: a cell that is the max of two windows gets both gradients
    x = gn.tensor(np.array([0.0, 5.0, 1.0, 2.0, 0.0]).reshape(1, 5, 1), requires_grad=True)
    max_pool(x, 3, strides=1).sum().backward()
    np.testing.assert_array_equal(x.grad.ravel(), [0, 2, 0, 1, 0])


def test_same_padding_excludes_padded_cells_from_the_mean():
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)          # pads 0 before, 1 after
    np.testing.assert_allclose(avg_pool(x, 2, padding="same").numpy().ravel(), [1.5, 3.5, 5.0])
    np.testing.assert_array_equal(max_pool(-x, 2, padding="same").numpy().ravel(), [-1, -3, -5])


def test_shapes_follow_keras():
    x = np.zeros((2, 7, 9, 3))
    assert max_pool(x, 2).shape == (2, 3, 4, 3)
    assert max_pool(x, (2, 2), padding="same").shape == (2, 4, 5, 3)
    assert avg_pool(x, (3, 3), strides=2).shape == (2, 3, 4, 3)
    assert avg_pool(x, (3, 3), strides=1, padding="SAME").shape == (2, 7, 9, 3)
    assert max_pool(np.zeros((2, 10, 4)), 3).shape == (2, 3, 4)


def test_float32_stays_float32():
    x = gn.tensor(rng.standard_normal((2, 6, 6, 3)).astype(np.float32), requires_grad=True)
    for fn in (max_pool, avg_pool):
        y = fn(x, (3, 3), strides=2, padding="same")
        assert y.dtype == np.float32
        x.grad = None
        y.sum().backward()
        assert x.grad.dtype == np.float32


def test_errors():
    x = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match=r"max_pool: a 2-D pool_size \(2, 2\) expects x of rank 4 .* received shape \(4, 4, 2\)"):
        max_pool(np.zeros((4, 4, 2)), (2, 2))
    with pytest.raises(ValueError, match=r"avg_pool: supports 1-D .* and 2-D .* received x of shape \(1, 2, 2, 2, 1\)"):
        avg_pool(np.zeros((1, 2, 2, 2, 1)), 2)
    with pytest.raises(ValueError, match=r"max_pool: padding must be 'valid' or 'same', received 'causal'"):
        max_pool(x, 2, padding="causal")
    with pytest.raises(ValueError, match=r"avg_pool: pool_size \(5, 5\) is larger than the input"):
        avg_pool(x, 5)
    with pytest.raises(ValueError, match=r"max_pool: strides must be positive"):
        max_pool(x, 2, strides=0)
    with pytest.raises(TypeError, match=r"max_pool: expected a floating tensor, received dtype int64"):
        max_pool(np.zeros((1, 4, 4, 2), dtype=np.int64), 2)
