"""dropout: Keras math (keep 1-rate, scale 1/(1-rate)), noise_shape, seeds, gradient, errors."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import random as gn_random
from glassnet.ops import dropout


def test_kept_values_are_scaled_and_the_rest_zero():
    x = np.ones((200, 100), np.float32)
    y = dropout(x, 0.25, seed=3).numpy()
    assert y.dtype == np.float32
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.01          # 20000 draws: sd ~0.003
    assert abs(y.mean() - 1.0) < 0.02                  # expectation preserved


def test_same_mask_as_keras_rule_from_the_generator():
    # Keras: keep where uniform < 1 - rate; the uniforms come from glassnet.random
    x = np.arange(1.0, 13.0).reshape(3, 4)
    u = np.random.default_rng(7).random((3, 4))
    expected = np.where(u < 0.6, x / 0.6, 0.0)
    np.testing.assert_allclose(dropout(x, 0.4, seed=7).numpy(), expected, rtol=1e-15)


def test_seed_repeats_and_global_generator_follows_set_seed():
    x = np.ones((8, 8))
    np.testing.assert_array_equal(dropout(x, 0.5, seed=1).numpy(), dropout(x, 0.5, seed=1).numpy())
    state = gn_random.get_state()
    try:
        gn_random.set_seed(5)
        a = dropout(x, 0.5).numpy()
        b = dropout(x, 0.5).numpy()
        gn_random.set_seed(5)
        np.testing.assert_array_equal(dropout(x, 0.5).numpy(), a)
        assert not np.array_equal(a, b)
    finally:
        gn_random.set_state(state)


def test_noise_shape_broadcasts_like_keras():
    x = np.ones((4, 5, 6))
    y = dropout(x, 0.5, noise_shape=(None, 1, 6), seed=0).numpy()
    assert (y == y[:, :1, :]).all()                   # same mask at every time step
    y = dropout(x, 0.5, noise_shape=(4, 1, 1), seed=0).numpy()
    assert (y == y[:, :1, :1]).all()


def test_gradient_is_g_times_mask():
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    assert gn.gradcheck(lambda a: dropout(a, 0.3, seed=11), x)
    assert gn.gradcheck(lambda a: dropout(a, 0.5, noise_shape=(3, 1, 5), seed=2), x)
    xt = gn.tensor(x.astype(np.float32), requires_grad=True)
    y = dropout(xt, 0.5, seed=4)
    y.sum().backward()
    assert xt.grad.dtype == np.float32
    np.testing.assert_array_equal(xt.grad, (y.numpy() != 0) * np.float32(2))


def test_rate_zero_is_identity():
    x = gn.tensor(np.ones((2, 3)), requires_grad=True)
    assert dropout(x, 0.0) is x


def test_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\) .* received 1.0"):
        dropout(x, 1.0)
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\) .* received -0.1"):
        dropout(x, -0.1)
    with pytest.raises(TypeError, match=r"dropout: rate must be a number in \[0, 1\), received 'half'"):
        dropout(x, "half")
    with pytest.raises(ValueError, match=r"dropout: noise_shape \(2,\) must have one entry per axis of x, whose shape is \(2, 3\)"):
        dropout(x, 0.5, noise_shape=(2,))
    with pytest.raises(ValueError, match=r"dropout: each noise_shape entry must be 1, None or x's size .* \(2, 2\)"):
        dropout(x, 0.5, noise_shape=(2, 2))
    with pytest.raises(TypeError, match=r"dropout: expected a floating tensor, received dtype int64"):
        dropout(np.ones((2, 3), np.int64), 0.5)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_mask_is_zero_or_the_scale_in_x_dtype(dtype):
    """The mask is (u < keep) * 1/keep, u the generator's draw: 0 or 1/keep exactly, x's dtype."""
    from glassnet import random
    from glassnet.ops.dropout import Dropout as DropoutOp
    x = np.random.default_rng(0).standard_normal((64, 33)).astype(dtype)
    op = DropoutOp()
    op.needs = (True,)
    op.forward(x, 0.3, x.shape, 5)
    u = random.generator(5).random(x.shape, dtype=x.dtype if dtype != "float16" else np.float32)
    want = np.where(u < 0.7, x.dtype.type(1 / 0.7), x.dtype.type(0))
    assert op.mask.dtype == x.dtype and op.mask.tobytes() == want.tobytes()
