"""Random initializers: normal, uniform, truncated normal, the variance-scaling family
(Glorot/Xavier, He, LeCun) and orthogonal.

Seeding follows Keras 3: an instance with ``seed=None`` draws an int seed once, when it is
made, from the global stream (``glassnet.random``, reseeded by ``gn.utils.set_random_seed``),
so every call of that instance returns the same values, as does every call of an instance
with an int seed. Pass a ``np.random.Generator`` as ``seed`` (Keras: a SeedGenerator) to get
new values on every call. The values themselves cannot match Keras' (another RNG); their
distributions do.
"""
import math

import numpy as np

from glassnet import random
from glassnet.initializers.initializer import Initializer, standardize_dtype, standardize_shape

# std of a standard normal truncated to (-2, 2): dividing by it makes the truncated draw have
# the asked-for std (scipy.stats.truncnorm.std(a=-2, b=2)); the constant Keras uses.
TRUNCATED_STD = 0.87962566103423978


class RandomInitializer(Initializer):
    """Base of the random initializers: holds the seed (None, int or np.random.Generator)."""

    def __init__(self, seed=None):
        self._init_seed = seed
        if seed is None:
            seed = int(random.generator().integers(1, 10**9))
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = int(seed)
        elif not isinstance(seed, np.random.Generator):
            raise ValueError(
                f"{type(self).__name__}: seed must be None, an int or a numpy.random.Generator, "
                f"received seed={seed!r}"
            )
        self.seed = seed

    def _rng(self):
        """The Generator for one call: fresh from an int seed (so calls repeat), else the one given."""
        if isinstance(self.seed, np.random.Generator):
            return self.seed
        return np.random.default_rng(self.seed & 0xFFFFFFFFFFFFFFFF)  # NumPy refuses negative seeds

    def _setup(self, shape, dtype):
        name = type(self).__name__
        return standardize_shape(shape, name), standardize_dtype(dtype, name, floating=True), self._rng()

    def get_config(self):
        # a Generator is state, not config: it serializes as None (a fresh seed on load)
        seed = self._init_seed
        return {"seed": int(seed) if isinstance(seed, (int, np.integer)) else None}


def _standard_normal(rng, shape, dt):
    """N(0, 1) samples drawn directly in float32/float64 (float16 via float32)."""
    draw = dt if dt in (np.float32, np.float64) else np.float32
    return np.asarray(rng.standard_normal(shape, dtype=draw)).astype(dt, copy=False)


def _uniform(rng, shape, dt, low, high):
    draw = dt if dt in (np.float32, np.float64) else np.float32
    u = np.asarray(rng.random(shape, dtype=draw))
    return (low + (high - low) * u).astype(dt, copy=False)


def _truncated_normal(rng, shape, dt):
    """N(0, 1) samples with every value outside (-2, 2) redrawn until none is left."""
    z = _standard_normal(rng, shape, dt)
    bad = np.abs(z) >= 2
    while bad.any():
        z[bad] = _standard_normal(rng, int(bad.sum()), dt)
        bad = np.abs(z) >= 2
    return z


class RandomNormal(RandomInitializer):
    """Samples of N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dt, rng = self._setup(shape, dtype)
        return (self.mean + self.stddev * _standard_normal(rng, shape, dt)).astype(dt, copy=False)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Samples of N(mean, stddev^2), values more than 2 stddev from the mean redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dt, rng = self._setup(shape, dtype)
        return (self.mean + self.stddev * _truncated_normal(rng, shape, dt)).astype(dt, copy=False)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Samples of U[minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dt, rng = self._setup(shape, dtype)
        return _uniform(rng, shape, dt, self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight shape, as Keras counts them.

    Dense (in, out): (in, out). Conv kernel (*window, in_ch, out_ch): each fan times the
    receptive field size prod(window). A vector (n,): (n, n); a scalar: (1, 1). With both
    ``input_axes`` and ``output_axes`` given, each fan is the product of those axes' sizes.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(np.prod([shape[a] for a in input_axes])), int(np.prod([shape[a] for a in output_axes]))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return int(shape[-2] * receptive_field), int(shape[-1] * receptive_field)


class VarianceScaling(RandomInitializer):
    """Zero-mean samples with variance ``scale / n``, n = fan_in, fan_out or their mean (``mode``).

    truncated_normal: std sqrt(scale/n) / 0.8796 before truncation at 2 std (so the result has
    std sqrt(scale/n)); untruncated_normal: std sqrt(scale/n); uniform: U[-l, l], l = sqrt(3 scale/n).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if not scale > 0.0:
            raise ValueError(f"VarianceScaling: argument `scale` must be a positive float, received scale={scale}")
        modes = ("fan_in", "fan_out", "fan_avg")
        if mode not in modes:
            raise ValueError(f"VarianceScaling: invalid `mode` {mode!r}, expected one of {', '.join(modes)}")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        dists = ("truncated_normal", "untruncated_normal", "uniform")
        if distribution not in dists:
            raise ValueError(
                f"VarianceScaling: invalid `distribution` {distribution!r}, expected one of {', '.join(dists)}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dt, rng = self._setup(shape, dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            out = (math.sqrt(scale) / TRUNCATED_STD) * _truncated_normal(rng, shape, dt)
        elif self.distribution == "untruncated_normal":
            out = math.sqrt(scale) * _standard_normal(rng, shape, dt)
        else:
            limit = math.sqrt(3.0 * scale)
            out = _uniform(rng, shape, dt, -limit, limit)
        return out.astype(dt, copy=False)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution: only the seed (and axes) configurable."""
    _args = ()

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._args
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": RandomInitializer.get_config(self)["seed"],
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: U[-l, l], l = sqrt(6 / (fan_in + fan_out)). Keras' Dense default."""
    _args = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot (Xavier) normal: truncated normal with std sqrt(2 / (fan_in + fan_out))."""
    _args = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_Preset):
    """He normal: truncated normal with std sqrt(2 / fan_in), for ReLU layers."""
    _args = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: U[-l, l], l = sqrt(6 / fan_in)."""
    _args = (2.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal: truncated normal with std sqrt(1 / fan_in), for SELU networks."""
    _args = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform: U[-l, l], l = sqrt(3 / fan_in)."""
    _args = (1.0, "fan_in", "uniform")


class Orthogonal(RandomInitializer):
    """``gain`` times a random orthogonal matrix (Saxe et al.): the Q of the QR decomposition
    of a normal matrix, signs fixed by diag(R) so Q is uniformly (Haar) distributed.

    Shape (..., n) is treated as a matrix (prod(...), n): orthonormal columns if it is tall,
    orthonormal rows if it is wide. Keras' LSTM/GRU recurrent kernel default.
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dt, rng = self._setup(shape, dtype)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal: the tensor to initialize must be at least two-dimensional, "
                f"received shape={shape} of rank {len(shape)}"
            )
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        # QR in float64 whatever the dtype, so float32 weights are orthogonal to float32 precision
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dt)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}
