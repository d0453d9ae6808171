"""Compare a glassnet layer with real Keras 3 (torch backend) given the same weights.

    k = keras_or_skip()
    assert_matches_keras(gn.layers.Dense(3), k.layers.Dense(3), x)

Forward outputs must agree, and so must the gradients of <cotangent, output> with respect
to the input and every trainable weight (torch autograd through Keras on one side,
glassnet's backward on the other).
"""
import os

import numpy as np
import pytest

import glassnet as gn


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("reference tests need Keras on its torch backend")
    return keras


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def assert_matches_keras(gn_layer, k_layer, inputs, training=False, rtol=1e-5, atol=1e-5,
                         grads=True, call_kwargs=None, seed=0):
    """Run both layers on ``inputs`` (an array or a list of arrays) and compare."""
    import torch

    call_kwargs = dict(call_kwargs or {})
    multi = isinstance(inputs, (list, tuple))
    arrays = [np.asarray(a) for a in _as_list(inputs)]
    gn_in = [gn.tensor(a, requires_grad=grads and a.dtype.kind == "f") for a in arrays]
    gn_out = gn_layer(gn_in if multi else gn_in[0], training=training, **call_kwargs)
    k_layer(*( [ [torch.tensor(a) for a in arrays] ] if multi else [torch.tensor(arrays[0])] ), training=training, **call_kwargs)
    k_layer.set_weights(gn_layer.get_weights())
    k_in = [torch.tensor(a, requires_grad=grads and a.dtype.kind == "f") for a in arrays]
    k_out = k_layer(k_in if multi else k_in[0], training=training, **call_kwargs)

    gn_outs, k_outs = _as_list(gn_out), _as_list(k_out)
    assert len(gn_outs) == len(k_outs), f"{len(gn_outs)} outputs vs Keras' {len(k_outs)}"
    for i, (a, b) in enumerate(zip(gn_outs, k_outs)):
        np.testing.assert_allclose(a.numpy(), b.detach().cpu().numpy(), rtol=rtol, atol=atol, err_msg=f"output {i}")
    if not grads:
        return gn_outs
    rng = np.random.default_rng(seed)
    cots = [rng.standard_normal(a.shape).astype(a.numpy().dtype) for a in gn_outs]
    total = None
    for a, c in zip(gn_outs, cots):
        term = (a * gn.tensor(c)).sum()
        total = term if total is None else total + term
    total.backward()
    k_total = sum((b * torch.tensor(c)).sum() for b, c in zip(k_outs, cots))
    k_total.backward()
    for i, (g_in, k_x) in enumerate(zip(gn_in, k_in)):
        if k_x.requires_grad and k_x.grad is not None:
            np.testing.assert_allclose(g_in.grad, k_x.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
    for w, kw in zip(gn_layer.trainable_weights, k_layer.trainable_weights):
        kg = kw.value.grad
        got = np.zeros(w.shape) if w.grad is None else w.grad
        want = np.zeros(w.shape) if kg is None else kg.numpy()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"gradient of {w.path}")
    return gn_outs
