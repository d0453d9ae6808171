"""glassnet.allocator: the glibc tuning removes the page faults of re-allocated big arrays."""
import os
import subprocess
import sys

import pytest

from glassnet import allocator

pytestmark = pytest.mark.skipif(allocator._glibc() is None, reason="glibc on Linux only")

# One "step" allocates four arrays of a convnet's sizes (11, 11, 18 and 3 MiB) and frees them;
# prints the page faults of steps 3 to 10 (the first steps set glibc's adaptive thresholds).
_PROBE = """
import resource, sys
import numpy as np
from glassnet import allocator
print(allocator.tune())
faults = []
for i in range(10):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(n, np.float32) for n in (2_800_000, 2_800_000, 4_500_000, 700_000)]
    del arrays
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[2:]))
"""


def _run_probe(tuning):
    env = dict(os.environ, GLASSNET_MALLOC_TUNING=tuning)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


def test_tuned_process_reuses_pages_of_big_arrays():
    applied, faults = _run_probe("1")
    assert applied
    assert faults < 100  # untuned: ~2,300 faults of 4 KiB pages per step


def test_opt_out_leaves_glibc_alone():
    applied, faults = _run_probe("0")
    assert not applied
    assert faults > 8 * 1000  # glibc trims the heap and mmaps blocks afresh every step


@pytest.mark.parametrize("value,expected", [("0", False), ("off", False), ("False", False), ("1", True), ("", True)])
def test_enabled_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("GLASSNET_MALLOC_TUNING", value)
    assert allocator.enabled() is expected


def test_tune_sets_the_three_parameters_once(monkeypatch):
    """The thresholds, and one heap for every thread (M_ARENA_MAX = 1): glassnet's worker
    threads allocate half of a convnet step's arrays (the effect is in the benchmark's peak
    memory: keras-io convnet 56-67 MB with an arena per thread, 55 MB with one)."""
    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(allocator, "_glibc", lambda: FakeLibc())
    monkeypatch.setattr(allocator, "_state", {"done": False, "applied": False})
    assert allocator.tune() and allocator.tune()
    assert calls == [(-3, 32 * 2**20), (-1, 128 * 2**20), (-8, 1)]
