"""Compiled kernels (numba), an optional extra: ``pip install glassnet[fast]``.

The NumPy engine spends most of a tiny network's training step outside arithmetic: a
2-16-16-1 net at batch 32 does ~30 K multiply-adds a step, yet its replayed step makes about
60 NumPy calls at ~1 us each. The kernels here do a whole step of such a net (forward, loss,
backward, gradient finite check) in one compiled call, and an optimizer's update in another.

Nothing here is imported by ``import glassnet``: ``load()`` imports numba and the kernels on
first use (~0.2 s, plus compiling them once per machine; numba caches the machine code).
Every kernel has its plain NumPy counterpart, which stays the reference: the tests check
that both give the same numbers. ``GLASSNET_NUMBA=0`` turns the kernels off.
"""
import os

_state = {"tried": False, "kernels": None, "reason": None}


def enabled():
    """False when the user opted out with GLASSNET_NUMBA=0 (or off / false / no)."""
    return os.environ.get("GLASSNET_NUMBA", "1").strip().lower() not in ("0", "off", "false", "no")


def load():
    """The kernels as a namespace (``dense``, ``update_rules``), or None: numba is not installed,
    fails to import, or the user turned it off. Imports once per process."""
    if not enabled():
        return None
    if not _state["tried"]:
        _state["tried"] = True
        try:
            from glassnet.compiled import dense, update_rules
        except ImportError as err:  # numba absent, or built against another NumPy
            _state["reason"] = f"numba could not be imported ({err})"
        else:
            _state["kernels"] = _Kernels(dense, update_rules)
    return _state["kernels"]


def unavailable_reason():
    """Why ``load()`` returned None, in words (None when it did not, or was not called)."""
    if not enabled():
        return "GLASSNET_NUMBA=0 turned the compiled kernels off"
    return _state["reason"]


class _Kernels:
    def __init__(self, dense, update_rules):
        self.dense, self.update_rules = dense, update_rules
