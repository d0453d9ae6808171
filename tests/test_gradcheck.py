"""gn.gradcheck itself: it passes right gradients and catches wrong ones."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.autograd import Op


class WrongSquare(Op):
    name = "wrong_square"

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return (g * 3 * self.x,)  # should be 2x


def test_catches_a_wrong_backward_and_names_the_worst_element():
    x = np.array([[1.0, -2.0], [0.5, 4.0]])
    with pytest.raises(gn.GradcheckError, match=r"input 0 \(shape \(2, 2\)\) disagrees at index \(1, 1\): analytic .* vs numeric"):
        gn.gradcheck(lambda t: WrongSquare.apply(t), x)


def test_multiple_inputs_outputs_and_params():
    w = gn.tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True)
    assert gn.gradcheck(lambda x: (gn.ops.matmul(x, w), gn.ops.tanh(x)), np.ones((2, 3)), params=[w])


def test_rejects_float32_leaves():
    with pytest.raises(TypeError, match="float64"):
        gn.gradcheck(lambda t: t * 2, gn.tensor([1.0], requires_grad=True))
