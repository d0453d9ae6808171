"""Digits convnet (the demo): a small convnet on real 8x8 handwritten digits.

The 1797 UCI digits ship with glassnet, so this runs anywhere. Two 3x3 convolutions, 2x2
max pooling, dropout and a dense head reach about 0.98 test accuracy in seconds.
"""
import json
import time
from pathlib import Path

import numpy as np

NAME = "digits"
SUMMARY = "convnet on the real 8x8 handwritten digits that ship with glassnet (the demo)"
DEFAULT_EPOCHS = 20


def build_model():
    import glassnet as gn
    L = gn.layers
    return gn.Sequential([
        gn.Input((8, 8, 1)),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.Conv2D(64, 3, padding="same", activation="relu"),
        L.MaxPooling2D(),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(128, activation="relu"),
        L.Dropout(0.4),
        L.Dense(10, activation="softmax"),
    ], name="digits_convnet")


def load_data():
    from glassnet.datasets import digits
    (x, y), (xt, yt) = digits.load_data()
    scale = np.float32(1 / 16)  # pixel values are 0..16
    return (x[..., None] * scale, y), (xt[..., None] * scale, yt)


def run(epochs=None, seed=0, out=None, verbose="auto"):
    """Train and test the digits convnet; returns test accuracy, loss, time and paths."""
    import glassnet as gn
    from glassnet.apps import report_callbacks

    epochs = DEFAULT_EPOCHS if epochs is None else epochs
    out = Path(out or "glassnet-out") / NAME
    out.mkdir(parents=True, exist_ok=True)
    gn.utils.set_random_seed(seed)
    (x, y), (xt, yt) = load_data()
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if verbose:
        model.summary()
    start = time.perf_counter()
    reports = report_callbacks(out, class_names=[str(i) for i in range(10)], x_sample=xt, y_sample=yt)
    history = model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.1, verbose=verbose,
                        callbacks=reports)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(xt, yt, verbose=0)
    results = {"test_accuracy": float(accuracy), "test_loss": float(loss), "train_seconds": round(seconds, 1),
               "epochs": epochs, "seed": seed, "train_samples": int(len(x)), "test_samples": int(len(xt))}
    (out / "history.json").write_text(json.dumps(history.history, indent=1))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    if reports:
        results["report"] = str(out / "report.html")
    results["out"] = str(out)
    return results
