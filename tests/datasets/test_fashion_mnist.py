"""Fashion-MNIST loader: the real IDX files of Debian's dataset-fashion-mnist, and user paths."""
import os

import numpy as np
import pytest

from glassnet.datasets import _files, fashion_mnist, idx


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)


@pytest.mark.skipif(
    not os.path.isdir(fashion_mnist.DEFAULT_DIR), reason="apt-get install dataset-fashion-mnist"
)
def test_real_files_from_the_debian_package():
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    # Published facts about the official files: the first labels, and the pixel mean (0.2860).
    np.testing.assert_array_equal(y_train[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
    np.testing.assert_array_equal(y_test[:10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
    assert abs(x_train.mean() / 255 - 0.2860) < 1e-4
    assert fashion_mnist.CLASS_NAMES[y_train[0]] == "Ankle boot"


def test_missing_everywhere_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError) as err:
        fashion_mnist.load_data()
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "GLASSNET_FASHION_MNIST" in message and "train-images-idx3-ubyte.gz" in message


def test_env_var_directory_of_idx_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "y_train": np.array([0, 9, 4], np.uint8),
        "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "y_test": np.array([1, 2], np.uint8),
    }
    for key, name in _files.IDX_NAMES.items():
        idx.write_idx(tmp_path / (name.format(sep="-") + ".gz"), arrays[key])
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(tmp_path))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    # an npz with the Keras keys works too
    np.savez(tmp_path / "f.npz", **arrays)
    (x_train, _), _ = fashion_mnist.load_data(tmp_path / "f.npz")
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_corrupt_file_in_directory(tmp_path):
    for name in _files.IDX_NAMES.values():
        shape = (2, 2, 2) if "images" in name else (2,)
        idx.write_idx(tmp_path / (name.format(sep="-") + ".gz"), np.zeros(shape, np.uint8))
    bad = tmp_path / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as err:
        fashion_mnist.load_data(tmp_path)
    assert str(bad) in str(err.value)
