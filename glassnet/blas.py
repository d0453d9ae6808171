"""NumPy's BLAS thread count, read and set from glassnet (NumPy has no API for it).

glassnet.parallel runs batch blocks on glassnet's own threads, each with single-threaded
products, instead of a whole batch with multi-threaded ones. For that it needs to know how
many threads BLAS may use (the rule: no more threads than the user gave NumPy) and to hold it
at 1 meanwhile. Measured here (OpenBLAS in NumPy's wheel, 2 cores): after any multi-threaded
product, OpenBLAS's idle worker spins for ~0.1 s, and two single-threaded products on two
threads then take as long as one after the other (6400x128x512: 7.3 ms in halves, 7.4 ms
whole on one thread, 3.6 ms whole on two); with no multi-threaded product in between, the
halves take 3.6 ms. So a step that splits its big ops holds BLAS at one thread throughout.

NumPy's wheels bundle OpenBLAS; its ``*_get_num_threads`` / ``*_set_num_threads`` are found once
with ctypes among the libraries already loaded (never a new copy). With any other BLAS the
functions say so (``threads()`` is None) and ``single_threaded()`` changes nothing.
"""
import ctypes
import glob
import os
import threading

import numpy as np

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "_64_", "")
_api = []  # [(get, set)] once looked up; [None] when NumPy's BLAS is not a reachable OpenBLAS
_lock = threading.Lock()
_depth = {"n": 0, "prev": None}


def _library_paths():
    root = os.path.dirname(np.__file__)
    paths = []
    for libs in (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".dylibs")):
        paths += sorted(glob.glob(os.path.join(libs, "*openblas*")))
    return paths


def _find():
    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LOCAL", 0)  # only what is loaded
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path, mode=mode)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.argtypes, get.restype = [], ctypes.c_int
                    put.argtypes, put.restype = [ctypes.c_int], None
                    return get, put
    return None


def _openblas():
    if not _api:
        try:
            _api.append(_find())
        except Exception:  # an unusual build must never break NumPy code: do nothing then
            _api.append(None)
    return _api[0]


def threads():
    """How many threads NumPy's BLAS uses now (inside ``single_threaded()``: the count
    outside it), or None when that cannot be read."""
    api = _openblas()
    if api is None:
        return None
    with _lock:
        return _depth["prev"] if _depth["n"] else api[0]()


def held():
    """Whether a ``single_threaded()`` block is open (a training step that does its own
    splitting opens one for the whole step; see glassnet.parallel)."""
    return _depth["n"] > 0


class single_threaded:
    """``with single_threaded():`` NumPy's matrix products run on one thread; the count comes
    back when the outermost block ends, also on an exception (blocks may nest and may be
    entered from several threads)."""

    def __enter__(self):
        api = _openblas()
        if api is not None:
            with _lock:
                if _depth["n"] == 0:
                    _depth["prev"] = api[0]()
                    api[1](1)
                _depth["n"] += 1
        return self

    def __exit__(self, *exc):
        api = _openblas()
        if api is not None:
            with _lock:
                _depth["n"] -= 1
                if _depth["n"] == 0:
                    api[1](_depth["prev"])
                    _depth["prev"] = None
