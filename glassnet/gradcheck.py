"""gradcheck: analytic gradients against central differences, in float64 (public tool).

    gn.gradcheck(lambda x, w: gn.ops.matmul(x, w).tanh(), x, w)

Each input that is a floating Tensor with ``requires_grad`` (or any array/number, which is
copied into a fresh float64 leaf) is checked. A non-scalar output is reduced with a fixed
random cotangent v, so the check covers the whole Jacobian-vector product <v, J dx>.
"""
import numpy as np

from glassnet.autograd import no_grad
from glassnet.tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message names the worst element."""


def _outputs(f, inputs):
    out = f(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: the function must return Tensors, received {type(o).__name__}")
    return outs


def _leaves(inputs):
    leaves = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            if x.requires_grad and x.dtype != np.float64:
                raise TypeError(
                    f"gradcheck: input {i} is {x.dtype}; numeric gradients need float64 "
                    f"(build it with dtype='float64')"
                )
            leaves.append(x)
        else:
            leaves.append(Tensor(np.array(x, dtype=np.float64), requires_grad=True))
    return leaves


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, params=()):
    """Check d f / d input for every input (and every Tensor in ``params``, e.g. a layer's
    weights) that requires grad. Returns True, or raises GradcheckError naming the worst
    element: which input, its index, the analytic and the numeric value."""
    leaves = _leaves(inputs)
    checked = [t for t in list(leaves) + list(params) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass arrays or tensors with requires_grad=True")
    for t in params:
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: parameter of shape {t.shape} is {t.dtype}; numeric gradients need float64")
    rng = np.random.default_rng(seed)
    outs = _outputs(f, leaves)
    cotangents = [rng.standard_normal(o.shape) for o in outs]

    def objective():
        with no_grad():
            return sum(float(np.sum(o.data.astype(np.float64) * v)) for o, v in zip(_outputs(f, leaves), cotangents))

    for t in checked:
        t.grad = None
    total = None
    for o, v in zip(outs, cotangents):
        if o.requires_grad:
            term = (o * Tensor(v.astype(o.dtype))).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("gradcheck: the output does not depend on any input that requires grad")
    total.backward()

    names = [f"input {i}" for i in range(len(leaves))] + [f"param {i}" for i in range(len(params))]
    owners = list(leaves) + list(params)
    for t in checked:
        name = names[next(i for i, o in enumerate(owners) if o is t)]
        analytic = np.zeros(t.shape) if t.grad is None else np.asarray(t.grad, dtype=np.float64)
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)  # a view: perturbing it perturbs the tensor
        if not np.shares_memory(flat, t.data):
            raise ValueError(f"gradcheck: {name} is not contiguous; pass a contiguous array")
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            up = objective()
            flat[k] = orig - eps
            down = objective()
            flat[k] = orig
            numeric.reshape(-1)[k] = (up - down) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            k = np.unravel_index(int(np.argmax(err)), t.shape)
            raise GradcheckError(
                f"gradcheck: {name} (shape {t.shape}) disagrees at index {tuple(int(i) for i in k)}: "
                f"analytic {analytic[k]:.8g} vs numeric {numeric[k]:.8g} "
                f"(atol={atol}, rtol={rtol}; {int((err > 0).sum())} of {err.size} elements off)"
            )
    return True
