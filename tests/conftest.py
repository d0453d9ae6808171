import os

import numpy as np
import pytest

# Keras is a test-only reference; it runs on its torch backend (torch==2.13.0).
os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
