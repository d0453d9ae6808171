"""The vendored 8x8 digits: real data, fixed stratified split, shipped as package data."""
import hashlib
import os

import numpy as np
import pytest

from glassnet.datasets import _files, digits

SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def test_raw_digits():
    images, labels = digits.load_raw()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    assert images.min() == 0 and images.max() == 16
    np.testing.assert_array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    # The first digit of the UCI test set, a zero (as in sklearn.datasets.load_digits().images[0]).
    np.testing.assert_array_equal(
        images[0],
        [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0],
         [0, 4, 12, 0, 0, 8, 8, 0], [0, 5, 8, 0, 0, 9, 8, 0], [0, 4, 11, 0, 1, 12, 7, 0],
         [0, 2, 14, 5, 10, 12, 0, 0], [0, 0, 6, 13, 10, 0, 0, 0]],
    )
    assert labels[0] == 0


def test_vendored_file_is_scikit_learns_unchanged():
    path = _files.own_data_file(digits.FILE)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == SHA256
    sklearn_copy = _files.package_data_file("sklearn", "datasets/data/digits.csv.gz")
    if sklearn_copy is not None:  # sklearn located, not imported
        with open(sklearn_copy, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == SHA256


def test_licence_and_source_notes_ship_with_the_data():
    folder = os.path.dirname(_files.own_data_file(digits.FILE))
    readme = open(os.path.join(folder, "README.md")).read()
    licence = open(os.path.join(folder, "LICENSE")).read()
    assert "Optical Recognition of Handwritten Digits" in readme and "scikit-learn" in readme
    assert "CC BY 4.0" in licence and "BSD 3-Clause" in licence


def test_default_split_is_stratified_and_fixed():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1438, 8, 8) and x_test.shape == (359, 8, 8)
    assert y_train.dtype == np.uint8
    counts = np.bincount(digits.load_raw()[1])
    np.testing.assert_array_equal(np.bincount(y_test), np.round(0.2 * counts).astype(int))
    (x2, y2), (x3, y3) = digits.load_data()
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(y3, y_test)


def test_split_is_a_partition_and_depends_on_seed():
    _, labels = digits.load_raw()
    train, test = _files.stratified_split(labels, 0.25, seed=0)
    assert len(np.intersect1d(train, test)) == 0
    assert sorted(np.concatenate([train, test])) == list(range(1797))
    other, _ = _files.stratified_split(labels, 0.25, seed=1)
    assert not np.array_equal(train, other)
    (x, y), (xt, yt) = digits.load_data(test_split=0.0)
    assert len(x) == 1797 and len(xt) == 0


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2])
def test_bad_test_split(bad):
    with pytest.raises(ValueError, match="test_split must be in"):
        digits.load_data(test_split=bad)
