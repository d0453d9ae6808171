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


def rnn_outputs_and_grads(layer, x, init, mask, seed, twice=False):
    """A recurrent layer's outputs on x (training, the given initial states and mask, the
    same dropout masks each call) and the gradients of a random projection of them for x, the
    initial states and each trainable weight; ``twice`` runs the backward twice on one graph."""
    import numpy as np
    layer.cell._rng = None  # the seeded cell draws the same dropout masks again
    xt = gn.tensor(x, requires_grad=True)
    states = [gn.tensor(s, requires_grad=True) for s in init]
    outs = layer(xt, mask=mask, initial_state=states, training=True)
    for w in layer.trainable_weights:
        w.grad = None
    rng = np.random.default_rng(seed)
    total = sum((o * gn.tensor(rng.standard_normal(o.shape).astype(x.dtype))).sum() for o in outs)
    total.backward()
    if twice:  # the LSTM recomputes its forward for a second backward
        total.backward()
    return [o.numpy() for o in outs] + [xt.grad] + [s.grad for s in states] + [w.grad for w in layer.trainable_weights]
