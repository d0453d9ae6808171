"""Helpers for tests that compare a layer's fused op with its plain path (glassnet.ops.fused)."""
import contextlib

import glassnet as gn
from glassnet import autograd


@contextlib.contextmanager
def watched():
    """A glass-box observer: any forward hook makes the layers take their plain path."""
    def hook(op, inputs, out):
        pass
    autograd.forward_hooks.append(hook)
    try:
        yield
    finally:
        autograd.forward_hooks.remove(hook)


def grads_of(layer, x, cot):
    """The layer's output on x, and the gradients of <output, cot> for x and each trainable weight."""
    xt = gn.tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(cot)
    grads = [xt.grad] + [w.grad for w in layer.trainable_weights]
    for w in layer.trainable_weights:
        w.grad = None
    return y, grads
