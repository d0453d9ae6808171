"""Arithmetic with NumPy broadcasting: +, -, *, /, ** and negation.

Gradients of broadcast operands are summed back to their shapes (``unbroadcast``).
"""
import numpy as np

from glassnet.autograd import Op
from glassnet.ops._util import broadcast_shape, pair, unbroadcast


class _Binary(Op):
    """Shared forward wrapper: check broadcasting, remember the input shapes."""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape(self.name, a.shape, b.shape)
        self.shapes = (a.shape, b.shape)
        return self.compute(a, b)


class Add(_Binary):
    """z = a + b;  dz/da = 1, dz/db = 1."""
    name = "add"

    def compute(self, a, b):
        return a + b

    def backward(self, g):
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Subtract(_Binary):
    """z = a - b;  dz/da = 1, dz/db = -1."""
    name = "subtract"

    def compute(self, a, b):
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        return unbroadcast(g, sa), (unbroadcast(-g, sb) if self.needs[1] else None)


class Multiply(_Binary):
    """z = a * b;  dz/da = b, dz/db = a."""
    name = "multiply"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        sa, sb = self.shapes
        ga = unbroadcast(g * self.b, sa) if self.needs[0] else None
        gb = unbroadcast(g * self.a, sb) if self.needs[1] else None
        return ga, gb


class Divide(_Binary):
    """z = a / b;  dz/da = 1/b, dz/db = -a/b^2 = -z/b."""
    name = "divide"

    def compute(self, a, b):
        self.b = b
        self.z = a / b
        return self.z

    def backward(self, g):
        sa, sb = self.shapes
        gb_ = g / self.b
        ga = unbroadcast(gb_, sa) if self.needs[0] else None
        gb = unbroadcast(-gb_ * self.z, sb) if self.needs[1] else None
        return ga, gb


class Power(_Binary):
    """z = a ** b;  dz/da = b a^(b-1), dz/db = z ln a (a > 0)."""
    name = "power"

    def compute(self, a, b):
        self.a, self.b = a, b
        self.z = a ** b
        return self.z

    def backward(self, g):
        sa, sb = self.shapes
        a, b = self.a, self.b
        ga = unbroadcast(g * b * a ** (b - 1), sa) if self.needs[0] else None
        gb = None
        if self.needs[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                loga = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0).astype(self.z.dtype, copy=False)
            gb = unbroadcast(g * self.z * loga, sb)
        return ga, gb


class Negative(Op):
    """z = -a;  dz/da = -1."""
    name = "negative"

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


def add(x, y):
    """Elementwise x + y with broadcasting."""
    return Add.apply(*pair("add", x, y))


def subtract(x, y):
    """Elementwise x - y with broadcasting."""
    return Subtract.apply(*pair("subtract", x, y))


def multiply(x, y):
    """Elementwise x * y with broadcasting."""
    return Multiply.apply(*pair("multiply", x, y))


def divide(x, y):
    """Elementwise x / y with broadcasting (true division)."""
    return Divide.apply(*pair("divide", x, y))


def power(x, y):
    """Elementwise x ** y with broadcasting."""
    return Power.apply(*pair("power", x, y))


def negative(x):
    """Elementwise -x."""
    from glassnet.tensor import as_tensor
    return Negative.apply(as_tensor(x))
