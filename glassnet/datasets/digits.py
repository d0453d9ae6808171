"""The 8x8 handwritten digits: 1797 real digits, vendored with glassnet (no download, no install).

The data are the test part of the UCI "Optical Recognition of Handwritten Digits" set
(E. Alpaydin, C. Kaynak, 1998; CC BY 4.0), in the CSV that scikit-learn ships as
``sklearn/datasets/data/digits.csv.gz`` (``sklearn.datasets.load_digits``). Each image is
the count of "on" pixels in 4x4 blocks of a 32x32 bitmap, so pixels are integers 0..16.
See glassnet/datasets/data/README.md for source and licence.
"""
import gzip

import numpy as np

from ._files import own_data_file, stratified_split

FILE = "digits.csv.gz"
NUM_SAMPLES = 1797


def load_raw():
    """All 1797 digits in file order: images (1797, 8, 8) uint8 in 0..16, labels (1797,) uint8."""
    path = own_data_file(FILE)
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    except FileNotFoundError as e:
        raise FileNotFoundError(
            f"{path} is missing: glassnet was installed without its package data "
            "(reinstall glassnet; the wheel must include glassnet/datasets/data/*)"
        ) from e
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"{path}: corrupt digits file ({e}); reinstall glassnet") from e
    if table.shape != (NUM_SAMPLES, 65):
        raise ValueError(f"{path}: expected a {NUM_SAMPLES}x65 table, found shape {table.shape}")
    images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)
    labels = table[:, 64].astype(np.uint8)
    return images, labels


def load_data(test_split=0.2, seed=0):
    """Load the 8x8 digits as ``(x_train, y_train), (x_test, y_test)``.

    x: uint8 (n, 8, 8) with values 0..16 (divide by 16.0 to scale to [0, 1]); y: uint8 (n,)
    digits 0..9.

    The split is stratified and fixed for a given ``seed``: each digit class gives
    round(test_split * its count) images to the test set, picked by
    ``np.random.default_rng(seed)``; train and test are then shuffled by the same generator.
    With the defaults that is 1438 train / 359 test images. ``test_split=0`` puts every
    image in the training set (and an empty test set).
    """
    images, labels = load_raw()
    train, test = stratified_split(labels, test_split, seed)
    return (images[train], labels[train]), (images[test], labels[test])
