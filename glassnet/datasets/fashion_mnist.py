"""Fashion-MNIST (Zalando): 28x28 grey images of 10 kinds of clothing, 60,000 train / 10,000 test.

Read from, first match wins: ``path`` given to ``load_data``; the environment variable
``GLASSNET_FASHION_MNIST``; the directory ``/usr/share/datasets/fashion-mnist/`` that the
Debian/Ubuntu package ``dataset-fashion-mnist`` installs (``apt-get install
dataset-fashion-mnist``). A path is a directory with the four IDX files
(``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
``t10k-labels-idx1-ubyte.gz``; plain or gzipped) or ``fashion_mnist.npz``, or an npz file
with keys x_train, y_train, x_test, y_test. The split is the official one. Nothing is
ever downloaded. Data: MIT licence, Copyright 2017 Zalando SE.
"""
import os

from ._files import find_idx_files, load_idx_set, load_user_set

ENV_VAR = "GLASSNET_FASHION_MNIST"
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist/"
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def load_data(path=None):
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``: x uint8 (n, 28, 28), y uint8 (n,).

    Labels index ``CLASS_NAMES``. ``path`` defaults to ``$GLASSNET_FASHION_MNIST``, then
    /usr/share/datasets/fashion-mnist/.
    """
    source = path if path is not None else os.environ.get(ENV_VAR) or None
    if source is not None:
        return load_user_set(source, "fashion_mnist", "fashion_mnist.npz")
    files = find_idx_files(DEFAULT_DIR) if os.path.isdir(DEFAULT_DIR) else None
    if files is None:
        raise FileNotFoundError(
            f"Fashion-MNIST not found in {DEFAULT_DIR}. Install it with "
            "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass "
            "load_data(path=...) / set the environment variable GLASSNET_FASHION_MNIST to a "
            "directory holding the four IDX files (train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) "
            "or to an npz file with keys x_train, y_train, x_test, y_test. "
            "glassnet never downloads data."
        )
    return load_idx_set(files)
