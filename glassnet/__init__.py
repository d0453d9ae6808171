"""glassnet: a glass-box deep learning framework on NumPy with the Keras 3 API.

    import glassnet as gn
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    model = gn.Sequential([gn.Input((784,)), gn.layers.Dense(10, activation="softmax")])

``import glassnet`` loads only the core (tensors, autodiff, ops); every other part
(layers, models, training, explain, ...) loads on first use, so importing is quick.
"""
import importlib

__version__ = "0.1.0"

from glassnet import backend
from glassnet.autograd import no_grad, enable_grad, is_grad_enabled
from glassnet.tensor import Tensor, tensor, _install_methods
from glassnet import ops
from glassnet.gradcheck import gradcheck, GradcheckError
from glassnet.variables import Variable

_install_methods()
del _install_methods

_SUBPACKAGES = {
    "activations", "constraints", "initializers", "regularizers", "losses", "metrics", "optimizers",
    "layers", "models", "training", "callbacks", "utils", "datasets", "debug", "viz", "apps",
    "random", "serialization",
}
_NAMES = {  # top-level shortcuts, as in keras: gn.Input, gn.Sequential, gn.Model, ...
    "Input": "glassnet.layers", "InputLayer": "glassnet.layers", "Layer": "glassnet.layers",
    "Model": "glassnet.models", "Sequential": "glassnet.models", "explain": "glassnet.explainer",
}


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"glassnet.{name}")
    else:
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__():
    return sorted(set(globals()) | _SUBPACKAGES | set(_NAMES))
