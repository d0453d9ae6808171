"""Utilities with Keras' names: seeding, label and sequence helpers, PyDataset, Progbar."""
import random as _pyrandom

from glassnet import random as _gn_random
from glassnet.utils.sequence import pad_sequences, to_categorical, timeseries_windows
from glassnet.utils.dataset import PyDataset
from glassnet.utils.lr_finder import LRFinderResult, find_learning_rate


def set_random_seed(seed):
    """Seed glassnet's generator and Python's ``random``: same seed, same machine, same run."""
    if not isinstance(seed, int):
        raise TypeError(f"set_random_seed: expected an int seed, received {seed!r}")
    _gn_random.set_seed(seed)
    _pyrandom.seed(seed)


def __getattr__(name):
    if name == "Progbar":
        from glassnet.training.progbar import Progbar
        return Progbar
    raise AttributeError(f"module 'glassnet.utils' has no attribute {name!r}")
