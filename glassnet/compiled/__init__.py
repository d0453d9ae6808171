"""Compiled kernels (numba), an optional extra: ``pip install glassnet[fast]``.

The NumPy engine spends most of a tiny network's training step outside arithmetic: a
2-16-16-1 net at batch 32 does ~30 K multiply-adds a step, yet its replayed step makes about
60 NumPy calls at ~1 us each. The kernels here do a whole step of such a net (forward, loss,
backward, gradient finite check) in one compiled call, and an optimizer's update in another
(dense.py, update_rules.py); an LSTM time step's pointwise work in one call (lstm.py); an
Embedding's gradient in one pass (scatter.py); max pooling and its gradient in one pass each
(pooling.py); float32 matrix products with AVX-512 register tiles (gemm.py), on CPUs that have
AVX-512, where NumPy's OpenBLAS may run only its AVX2 kernels, and with them an LSTM
sequence's whole recurrence in one call each way (lstm_sequence.py).

Nothing here is imported by ``import glassnet``: ``load()`` imports numba and the kernels on
first use (~0.5 s, plus compiling them once per machine, a few seconds; numba caches the
machine code). The engine asks for them through ``hot()``: only once this process's training
steps and predict calls have taken HOT_SECONDS, so that a short run never pays for loading them.
Every kernel has its plain NumPy counterpart, which stays the reference: the tests check
that both give the same numbers. ``GLASSNET_NUMBA=0`` turns the kernels off.
"""
import os
import threading

HOT_SECONDS = 1.0
_state = {"tried": False, "kernels": None, "reason": None, "spent": 0.0}
_lock = threading.Lock()


def enabled():
    """False when the user opted out with GLASSNET_NUMBA=0 (or off / false / no)."""
    return os.environ.get("GLASSNET_NUMBA", "1").strip().lower() not in ("0", "off", "false", "no")


def load():
    """The kernels as a namespace (``dense``, ``update_rules``, ``lstm``, ``scatter``,
    ``pooling``, ``gemm`` and ``lstm_sequence``; the last two None on a CPU without AVX-512 or
    with GLASSNET_GEMM=0), or None: numba is not installed, fails to import, or the user
    turned it off. Imports once per process."""
    if not enabled():
        return None
    with _lock:  # the blocks of an op may ask from two threads at once
        if not _state["tried"]:
            _load()
    return _state["kernels"]


def _load():
    _state["tried"] = True
    try:
        from glassnet.compiled import dense, gemm, lstm, lstm_sequence, pooling, scatter, update_rules
    except ImportError as err:  # numba absent, or built against another NumPy
        _state["reason"] = f"numba could not be imported ({err})"
    else:
        fast = gemm.avx512() and gemm_enabled()
        _state["kernels"] = _Kernels(dense, update_rules, lstm, scatter, pooling, gemm if fast else None,
                                     lstm_sequence if fast else None)


def gemm_enabled():
    """False when the user opted out of the compiled matrix products with GLASSNET_GEMM=0."""
    return os.environ.get("GLASSNET_GEMM", "1").strip().lower() not in ("0", "off", "false", "no")


def add_training_time(seconds):
    """Count ``seconds`` of training steps or predictions (trainer.train_step calls this for
    every step, trainer.predict for every call)."""
    _state["spent"] += seconds


def hot_enough():
    """Whether training steps and predict calls have taken HOT_SECONDS in this process
    (nothing is loaded)."""
    return _state["spent"] >= HOT_SECONDS


def hot():
    """The kernels (as ``load()``) once training steps and predict calls have taken
    HOT_SECONDS in this process, else None."""
    return load() if _state["spent"] >= HOT_SECONDS else None


def unavailable_reason():
    """Why ``load()`` returned None, in words (None when it did not, or was not called)."""
    if not enabled():
        return "GLASSNET_NUMBA=0 turned the compiled kernels off"
    return _state["reason"]


class _Kernels:
    def __init__(self, dense, update_rules, lstm, scatter, pooling, gemm, lstm_sequence):
        self.dense, self.update_rules, self.lstm, self.scatter = dense, update_rules, lstm, scatter
        self.pooling, self.gemm, self.lstm_sequence = pooling, gemm, lstm_sequence
