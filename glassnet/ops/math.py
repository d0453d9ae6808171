"""Elementwise math: abs, exp, log, log1p, sqrt, square, tanh, erf, clip, maximum,
minimum, where and cast."""
import numpy as np

from glassnet.autograd import Op
from glassnet.ops._util import broadcast_shape, pair, unbroadcast
from glassnet.tensor import Tensor, as_tensor


class Abs(Op):
    """z = |x|;  dz/dx = sign(x) (0 at 0)."""
    name = "abs"

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, g):
        return (g * np.sign(self.x),)


class Exp(Op):
    """z = e^x;  dz/dx = z."""
    name = "exp"

    def forward(self, x):
        self.z = np.exp(x)
        return self.z

    def backward(self, g):
        return (g * self.z,)


class Log(Op):
    """z = ln x;  dz/dx = 1/x."""
    name = "log"

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)


class Log1p(Op):
    """z = ln(1 + x);  dz/dx = 1/(1 + x)."""
    name = "log1p"

    def forward(self, x):
        self.x = x
        return np.log1p(x)

    def backward(self, g):
        return (g / (1 + self.x),)


class Sqrt(Op):
    """z = sqrt(x);  dz/dx = 1/(2 z)."""
    name = "sqrt"

    def forward(self, x):
        self.z = np.sqrt(x)
        return self.z

    def backward(self, g):
        return (g / (2 * self.z),)


class Square(Op):
    """z = x^2;  dz/dx = 2x."""
    name = "square"

    def forward(self, x):
        self.x = x
        return np.square(x)

    def backward(self, g):
        return (g * (2 * self.x),)


class Tanh(Op):
    """z = tanh x;  dz/dx = 1 - z^2."""
    name = "tanh"

    def forward(self, x):
        self.z = np.tanh(x)
        return self.z

    def backward(self, g):
        z = self.z
        return (g * (1 - z * z),)


# erf to double precision without SciPy: a positive-term series below 2.5 (no
# cancellation) and a continued fraction for erfc above; fixed term counts, all vectorised.
_SERIES_TERMS = 60
_CF_TERMS = 60


def _erf_array(x):
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    a = np.abs(x).astype(np.float64)
    small = a < 2.5
    out = np.empty_like(a)
    s = a[small]
    if s.size:
        # erf(s) = 2/sqrt(pi) e^{-s^2} sum_n 2^n s^{2n+1} / (1*3*...*(2n+1))
        term = s.copy()
        total = s.copy()
        s2 = 2 * s * s
        for n in range(1, _SERIES_TERMS):
            term = term * s2 / (2 * n + 1)
            total += term
        out[small] = 2 / np.sqrt(np.pi) * np.exp(-s * s) * total
    big = a[~small]
    if big.size:
        # erfc(b) = e^{-b^2}/sqrt(pi) * 1/(b + (1/2)/(b + 1/(b + (3/2)/(b + ...)))), bottom-up
        frac = np.zeros_like(big)
        for k in range(_CF_TERMS, 0, -1):
            frac = (k / 2) / (big + frac)
        out[~small] = 1 - np.exp(-big * big) / np.sqrt(np.pi) / (big + frac)
    return (np.sign(x) * out).astype(dtype, copy=False)


class Erf(Op):
    """z = erf x;  dz/dx = 2/sqrt(pi) e^(-x^2)."""
    name = "erf"

    def forward(self, x):
        self.x = x
        return _erf_array(x)

    def backward(self, g):
        x = self.x
        return (g * ((2 / np.sqrt(np.pi)) * np.exp(-x * x)).astype(x.dtype, copy=False),)


class Clip(Op):
    """z = min(max(x, lo), hi);  dz/dx = 1 where lo <= x <= hi, else 0."""
    name = "clip"

    def forward(self, x, lo=None, hi=None):
        self.x, self.lo, self.hi = x, lo, hi
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.x
        keep = np.ones(x.shape, bool)
        if self.lo is not None:
            keep &= x >= self.lo
        if self.hi is not None:
            keep &= x <= self.hi
        return (g * keep,)


class Maximum(Op):
    """z = max(a, b);  the gradient goes to the larger input, split evenly on ties."""
    name = "maximum"
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape(self.name, a.shape, b.shape)
        self.a, self.b = a, b
        return self.pick(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = self.wins(a, b) + 0.5 * (a == b)
        wa = wa.astype(g.dtype, copy=False)
        ga = unbroadcast(g * wa, a.shape) if self.needs[0] else None
        gb = unbroadcast(g * (1 - wa), b.shape) if self.needs[1] else None
        return ga, gb


class Minimum(Maximum):
    """z = min(a, b);  the gradient goes to the smaller input, split evenly on ties."""
    name = "minimum"
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Op):
    """z = cond ? a : b;  dz/da = cond, dz/db = not cond (cond gets no gradient)."""
    name = "where"

    def forward(self, a, b, cond=None):
        broadcast_shape(self.name, cond.shape, a.shape, b.shape)
        self.cond, self.sa, self.sb = cond, a.shape, b.shape
        return np.where(cond, a, b)

    def backward(self, g):
        zero = np.zeros((), g.dtype)
        ga = unbroadcast(np.where(self.cond, g, zero), self.sa) if self.needs[0] else None
        gb = unbroadcast(np.where(self.cond, zero, g), self.sb) if self.needs[1] else None
        return ga, gb


class Cast(Op):
    """z = x as another dtype;  dz/dx = g cast back (no gradient into integers)."""
    name = "cast"

    def forward(self, x, dtype=None):
        self.src = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        if not np.issubdtype(self.src, np.floating):
            return (None,)
        return (g.astype(self.src),)


def _unary(cls):
    def fn(x):
        return cls.apply(as_tensor(x))
    fn.__name__ = cls.name
    fn.__doc__ = cls.__doc__
    return fn


abs = _unary(Abs)
exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
sqrt = _unary(Sqrt)
square = _unary(Square)
tanh = _unary(Tanh)
erf = _unary(Erf)


def clip(x, x_min=None, x_max=None):
    """Limit values to [x_min, x_max] (either may be None)."""
    if x_min is None and x_max is None:
        raise ValueError("clip: give x_min, x_max or both, received neither")
    if x_min is not None and x_max is not None and x_min > x_max:
        raise ValueError(f"clip: x_min must not exceed x_max, received {x_min} > {x_max}")
    return Clip.apply(as_tensor(x), lo=x_min, hi=x_max)


def maximum(x, y):
    """Elementwise larger of x and y, with broadcasting."""
    return Maximum.apply(*pair("maximum", x, y))


def minimum(x, y):
    """Elementwise smaller of x and y, with broadcasting."""
    return Minimum.apply(*pair("minimum", x, y))


def where(condition, x, y):
    """Pick x where ``condition`` is true, else y (broadcasting all three)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be boolean, received dtype {cond.dtype}")
    x, y = pair("where", x, y)
    return Where.apply(x, y, cond=cond)


def cast(x, dtype):
    """x converted to ``dtype`` (gradients flow back between float types)."""
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    return Cast.apply(x, dtype=dtype)
