"""The seed applications, each runnable as ``glassnet run NAME`` and as a Python function.

An app module defines ``NAME``, ``SUMMARY``, ``DEFAULT_EPOCHS`` and
``run(epochs=None, seed=0, out=None, verbose="auto") -> dict`` returning its quality
figures (and the paths it wrote). Apps are imported only when run, so listing is cheap.
"""
import importlib

# name -> module under glassnet.apps
REGISTRY = {
    "digits": "digits",
    "mnist_mlp": "mnist_mlp",
    "mnist_convnet": "mnist_convnet",
    "finetune": "finetune",
    "gan": "gan",
    "xo": "xo",
    "camera": "camera",
    "mms": "mms",
    "stocks": "stocks",
    "sentiment": "sentiment",
}


def report_callbacks(out, filename="report.html", **kwargs):
    """[gn.callbacks.Report(out / filename)] when matplotlib is installed, else [] and a
    one-line note: every run writes its HTML report when it can."""
    from glassnet.callbacks import Report
    try:
        return [Report(out / filename, **kwargs)]
    except ImportError:
        print("note: no HTML report (matplotlib is missing): pip install \"glassnet[viz]\"")
        return []


def names():
    return sorted(REGISTRY)


def load(name):
    """The app module for ``name``; a ValueError listing the valid names otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown application {name!r}; choose one of: {', '.join(names())}")
    return importlib.import_module(f"glassnet.apps.{REGISTRY[name]}")
