"""Dropout (Keras ``random.dropout``): zero each value with probability ``rate``, scale the rest."""
import numpy as np

from glassnet import random
from glassnet.autograd import Op
from glassnet.ops._util import check_float
from glassnet.tensor import as_tensor


class Dropout(Op):
    """y = x * m,  m = keep / (1 - rate) with keep ~ Bernoulli(1 - rate);  dx = g * m."""
    name = "dropout"

    def forward(self, x, rate, noise_shape, seed):
        keep = 1.0 - rate
        draw = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
        u = random.generator(seed).random(noise_shape, dtype=draw)
        # the mask holds 0 or 1/keep, in x's dtype, shaped noise_shape (broadcast over x): the
        # comparison's booleans times 1/keep, the same values as np.where(u < keep, 1/keep, 0)
        # (which takes 0.76 ms at 128 x 1600 against 0.04)
        self.mask = np.multiply(u < keep, x.dtype.type(1 / keep))
        return x * self.mask

    def backward(self, g):
        return (g * self.mask,)


def dropout(x, rate, noise_shape=None, seed=None):
    """Randomly zero entries of x with probability ``rate`` and scale the kept ones by 1/(1-rate).

    noise_shape: the shape of the random mask, broadcast over x (Keras: None entries take
    x's size, e.g. (batch, 1, features) drops whole features for every time step).
    seed: an int or a numpy Generator for a repeatable mask; None draws from the global
    generator (``gn.utils.set_random_seed``). rate 0 returns x itself.
    """
    op = "dropout"
    x = as_tensor(x)
    check_float(op, x)
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: rate must be a number in [0, 1), received {rate!r}") from None
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{op}: rate must be in [0, 1) (the probability of dropping a value), received {rate}")
    if rate == 0.0:
        return x
    if noise_shape is None:
        shape = x.shape
    else:
        noise_shape = tuple(noise_shape)
        if len(noise_shape) != x.ndim:
            raise ValueError(f"{op}: noise_shape {noise_shape} must have one entry per axis of x, whose shape is {x.shape}")
        shape = tuple(n if s is None else int(s) for s, n in zip(noise_shape, x.shape))
        if any(s not in (1, n) for s, n in zip(shape, x.shape)):
            raise ValueError(
                f"{op}: each noise_shape entry must be 1, None or x's size on that axis; "
                f"received noise_shape {noise_shape} for x of shape {x.shape}"
            )
    return Dropout.apply(x, rate=rate, noise_shape=shape, seed=seed)
