"""Keep glibc from handing big activation arrays back to the kernel after every step.

A training step allocates the same large arrays every time (a convnet's activations and
im2col matrices are megabytes each). glibc serves blocks above its mmap threshold with fresh
``mmap`` calls and returns them with ``munmap``, and it trims the top of the heap back to the
kernel when more than its trim threshold is free; either way the next step touches new pages,
and the kernel must fault in and zero every 4 KiB page again. On the keras-io MNIST convnet at
batch 128 that is ~11,000 page faults per step, about a third of the step's time (measured:
benchmarks/PROFILE_NOTES.md, "Page faults").

``tune()`` raises both thresholds once, before the first training or prediction step: blocks
up to 32 MiB (glibc's own ceiling for its adaptive threshold) come from the heap, and up to
128 MiB of free heap is kept for the next step. It also keeps every thread on the one heap
(M_ARENA_MAX 1): glassnet's worker threads (glassnet.parallel) allocate half of a convnet
step's arrays, and in arenas of their own the memory each thread frees would be kept apart
from the other's (keras-io convnet step, peak RSS growth: 56-67 MB with per-thread arenas,
55 MB with one). Peak memory does not change; memory freed after
training stays with the process (up to that bound) instead of going back to the kernel.
Only glibc on Linux is touched; ``GLASSNET_MALLOC_TUNING=0`` turns it off.
"""
import ctypes
import os
import sys

MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 128 * 2**20
ARENA_MAX = 1
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameter numbers

_state = {"done": False, "applied": False}


def enabled():
    """False when the user opted out with GLASSNET_MALLOC_TUNING=0 (or off / false / no)."""
    return os.environ.get("GLASSNET_MALLOC_TUNING", "1").strip().lower() not in ("0", "off", "false", "no")


def _glibc():
    """The C library when it is glibc on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # musl and others lack it
        return libc
    except (OSError, AttributeError):
        return None


def tune():
    """Raise glibc's mmap and trim thresholds once per process; True if they were set."""
    if _state["done"]:
        return _state["applied"]
    _state["done"] = True
    libc = _glibc() if enabled() else None
    if libc is not None:
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
        ok = libc.mallopt(_M_ARENA_MAX, ARENA_MAX) == 1 and ok
        _state["applied"] = ok
    return _state["applied"]
