"""glassnet's own worker threads: a job split in parts, one per thread, BLAS held at one thread.

Where work splits into independent parts (the rows of a recurrence's batch, the halves of a
big optimizer update), running them side by side on glassnet's threads, each with
single-threaded BLAS, uses both cores better than one call with OpenBLAS's threads: its
threads share small products badly, and after each call they spin for a while on the cores
the next parts need. NumPy and the compiled kernels release the GIL while they compute.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from glassnet import blas

_pools = {}  # number of workers -> (process id, ThreadPoolExecutor)
_wanted = [0]  # ops that would have run in blocks but BLAS was not held (see note_wanted)
_local = threading.local()  # .inside: this thread is running a part


def threads():
    """How many threads a split may use: as many as NumPy's BLAS may (1 when unknown)."""
    return blas.threads() or 1


def split(n, parts):
    """``parts`` slices of range(n), as equal as can be, in order."""
    bounds = [n * k // parts for k in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def _pool(workers):
    pid, pool = _pools.get(workers, (None, None))
    if pid != os.getpid():  # none yet, or made before a fork: its threads are not in this process
        pool = ThreadPoolExecutor(workers, thread_name_prefix="glassnet")
        _pools[workers] = (os.getpid(), pool)
    return pool


def run(fn, parts):
    """[fn(part) for part in parts], the last part on this thread and the others on the pool,
    with NumPy's BLAS held at one thread meanwhile; an exception in any part is raised (after
    every part has ended). Called from inside a part, it runs its parts one after the other
    (the pool's threads are busy with the outer parts)."""
    parts = list(parts)
    if len(parts) == 1 or getattr(_local, "inside", False):
        return [fn(p) for p in parts]
    pool = _pool(len(parts) - 1)
    with blas.single_threaded():
        futures = [pool.submit(_inside, fn, p) for p in parts[:-1]]
        try:
            last = _inside(fn, parts[-1])
        finally:
            done = [f.result() for f in futures]
    return done + [last]


def _inside(fn, part):
    _local.inside = True
    try:
        return fn(part)
    finally:
        _local.inside = False


def note_wanted():
    """An op big enough for batch blocks ran whole because BLAS was not held at one thread
    (ops.conv.batch_blocks). A caller that runs the same model again (predict's next piece,
    the next eager training step) compares ``wanted()`` before and after, and holds BLAS then."""
    _wanted[0] += 1


def wanted():
    """How many times note_wanted() was called (compare two readings)."""
    return _wanted[0]
