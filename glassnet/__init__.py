"""glassnet: a glass-box deep learning framework on NumPy with the Keras 3 API.

    import glassnet as gn
    x = gn.tensor([1.0, 2.0], requires_grad=True)
"""
__version__ = "0.1.0"

from glassnet import backend
from glassnet.autograd import no_grad, enable_grad, is_grad_enabled
from glassnet.tensor import Tensor, tensor, _install_methods
from glassnet import ops
from glassnet.gradcheck import gradcheck, GradcheckError
from glassnet.variables import Variable
from glassnet import activations, constraints, initializers, regularizers
from glassnet import losses, metrics, optimizers
from glassnet import layers, models
from glassnet.layers import Input, InputLayer, Layer
from glassnet.models import Model, Sequential
from glassnet import training, callbacks, utils, datasets, debug

_install_methods()
del _install_methods

from glassnet.explain import explain  # noqa: E402  (the glass box sits above everything)
