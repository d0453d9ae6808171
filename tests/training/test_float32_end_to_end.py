"""No silent float64: in a training step of each benchmark model every op output, every
gradient, every weight and every optimizer slot stays float32 (issue 8's "float32 end to end")."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import autograd

L = gn.layers


def _models():
    return {
        "tiny": (lambda: gn.Sequential([gn.Input((2,)), L.Dense(16, activation="relu"), L.Dense(16, activation="relu"),
                                        L.Dense(1)]), "mse", lambda r: (r.random((8, 2)), r.random((8, 1)))),
        "mlp": (lambda: gn.Sequential([gn.Input((12,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")]),
                "sparse_categorical_crossentropy", lambda r: (r.random((8, 12)), r.integers(0, 3, 8))),
        "cnn": (lambda: gn.Sequential([gn.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                                       L.Flatten(), L.Dropout(0.5), L.Dense(3, activation="softmax")]),
                "sparse_categorical_crossentropy", lambda r: (r.random((8, 8, 8, 1)), r.integers(0, 3, 8))),
        "lstm": (lambda: gn.Sequential([gn.Input((5,), dtype="int64"), L.Embedding(20, 4), L.LSTM(6),
                                        L.Dense(1, activation="sigmoid")]),
                 "binary_crossentropy", lambda r: (r.integers(0, 20, (8, 5)), r.integers(0, 2, (8, 1)))),
    }


@pytest.mark.parametrize("name", ["tiny", "mlp", "cnn", "lstm"])
@pytest.mark.parametrize("jit_compile", [False, "auto"])
def test_training_step_is_float32_throughout(name, jit_compile):
    build, loss, data = _models()[name]
    rng = np.random.default_rng(0)
    x, y = data(rng)
    x = x.astype("float32") if x.dtype.kind == "f" else x  # the data as a user would give it
    gn.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer="adam", loss=loss, jit_compile=jit_compile)
    for _ in range(3):  # with jit_compile="auto": eager, then recorded, then replayed
        model.train_on_batch(x, y)
    for v in model.trainable_weights:
        assert v.grad.dtype == np.float32, v.path
    for v in model.weights + model.optimizer.variables:
        if v.dtype.kind == "f":
            assert v.dtype == np.float32, v.path
    assert model.predict(x, verbose=0).dtype == np.float32
    # one more step, eager (any tracer turns replay off), watching every op and gradient
    seen = []

    def tracer(op, inputs, kwargs, out):
        seen.append((op.name, out.dtype))

    def grads_hook(op, grads):
        seen.extend((op.name + " grad", g.dtype) for g in grads if g is not None)

    autograd.tracers.append(tracer)
    autograd.backward_hooks.append(grads_hook)
    try:
        model.train_on_batch(x, y)
    finally:
        autograd.tracers.remove(tracer)
        autograd.backward_hooks.remove(grads_hook)
    assert len(seen) > 4
    wide = sorted({n for n, dt in seen if dt.kind == "f" and dt != np.float32})
    assert not wide, f"ops producing non-float32 floats: {wide}"
