import os

import numpy as np
import pytest

# Keras is a test-only reference; it runs on its torch backend (torch==2.13.0).
os.environ.setdefault("KERAS_BACKEND", "torch")

# pytest -n 2 runs two workers on two cores: one BLAS thread each, or they oversubscribe
# the cores and small GEMMs become ten times slower (measured on the LSTM tests).
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _training_not_hot(monkeypatch):
    """Each test starts as a fresh process does: its own training time only counts towards
    glassnet.compiled.hot() (numba kernels load after 1 s of training steps). Otherwise the
    kernels would switch on midway through a worker's tests, and tests that check the NumPy
    path bit for bit would depend on which tests ran before them."""
    from glassnet import compiled
    monkeypatch.setitem(compiled._state, "spent", 0.0)


@pytest.fixture(autouse=True)
def _seeded_global_generator():
    """Each test starts from the same global random state (glassnet.random seeds itself from
    the OS at import): an unseeded initializer or dropout draws the same numbers in every run,
    so a test whose tolerance a rare draw could exceed fails always or never, not now and then."""
    from glassnet import random as gn_random
    state = gn_random.get_state()
    gn_random.set_seed(20261124)
    yield
    gn_random.set_state(state)
