"""The global random state: one NumPy Generator that every random op and initializer draws from.

``gn.utils.set_random_seed(n)`` reseeds it (and Python's ``random``) so a run repeats bit for
bit on the same machine. Code that needs its own stream takes an explicit ``seed``.
"""
import random as _pyrandom

import numpy as np

_rng = np.random.default_rng()


def generator(seed=None):
    """The global Generator, or a fresh one seeded with ``seed`` when given."""
    if seed is None:
        return _rng
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def set_seed(seed):
    """Reseed the global Generator and Python's ``random``."""
    global _rng
    _rng = np.random.default_rng(seed)
    _pyrandom.seed(seed)


def get_state():
    """The global Generator's state (a plain dict of ints, safe to save)."""
    return _rng.bit_generator.state


def set_state(state):
    """Restore a state returned by get_state()."""
    _rng.bit_generator.state = state
