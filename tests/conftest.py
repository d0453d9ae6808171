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
