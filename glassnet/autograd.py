"""Reverse-mode automatic differentiation: the Op base class, grad mode and backward().

An op runs its ``forward`` on plain NumPy arrays and, when any input needs a gradient,
records itself as the creator of its output tensor. ``backward`` walks the recorded graph
in reverse topological order and calls each op's ``backward`` with the gradient of its
output, on plain arrays (first-order only: no graph is built during backward).

Conventions every op follows:
- ``backward(g)`` returns one gradient (or None) per input, shaped like that input;
- it never writes into ``g`` or into saved arrays (gradients may be shared views);
- ``self.needs[i]`` tells whether input i needs a gradient, so costly ones can be skipped.
"""
import threading

_state = threading.local()

# Called as hook(op, input_tensors, output_array) after every recorded or unrecorded op
# forward, and hook(op, grads) after every op backward; used by anomaly detection and
# explain (see glassnet.debug). Empty lists: no cost.
forward_hooks = []
backward_hooks = []

# Called as tracer(op, input_tensors, kwargs, output_tensor) after every op, recorded in the
# graph or not; glassnet.training.replay records a training step's ops this way. Unlike the
# hooks above, a tracer only watches: ops keep their fast paths. Empty list: no cost.
tracers = []


def is_grad_enabled():
    """Whether ops currently record a graph (False inside ``no_grad()``)."""
    return getattr(_state, "enabled", True)


class _GradMode:
    """Context manager (and decorator) that sets grad recording on or off, then restores."""

    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        self.prev = is_grad_enabled()
        _state.enabled = self.enabled

    def __exit__(self, *exc):
        _state.enabled = self.prev

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad():
    """``with gn.no_grad():`` nothing inside records a graph (inference, weight updates)."""
    return _GradMode(False)


def enable_grad():
    """``with gn.enable_grad():`` recording on again, e.g. inside a no_grad block."""
    return _GradMode(True)


class Op:
    """A differentiable operation: ``forward`` on arrays, ``backward`` from output grad.

    Subclasses set ``name`` and implement both methods; ``apply`` wires them into the graph.
    """

    name = "op"
    __slots__ = ("inputs", "needs", "__dict__")

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, g):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run the op on Tensors and return a Tensor that remembers this op if needed."""
        op = cls()
        needs = tuple([t.requires_grad for t in inputs])
        op.needs = needs
        out = op.forward(*[t.data for t in inputs], **kwargs)
        if forward_hooks:
            for hook in forward_hooks:
                hook(op, inputs, out)
        if True in needs and getattr(_state, "enabled", True):
            op.inputs = inputs
            result = _make_tensor(out, op)
        else:
            result = _make_tensor(out, None)
        if tracers:
            for tracer in tracers:
                tracer(op, inputs, kwargs, result)
        return result

    def __repr__(self):
        return f"<{self.name}>"


def _make_tensor(data, op):
    """Replaced by Tensor._from_op when glassnet.tensor loads (it imports this module)."""
    raise RuntimeError("glassnet.tensor has not been imported")


_RELEASED = "_released_by_backward"


def topological_order(root):
    """Tensors reachable from ``root`` through recorded ops, inputs before outputs; each op's
    inputs are visited left to right, so the order reads as a person writes the expression."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        op = t._op
        if op is not None:
            for parent in reversed(op.inputs):
                if parent._op is not None and id(parent) not in seen:
                    stack.append((parent, False))
    return order


def backward(root, grad, retain_graph=True):
    """Send ``grad`` (d out / d root) back through the graph; leaves accumulate ``.grad``.

    retain_graph=False releases what each op saved for its backward as soon as that backward
    has run (as PyTorch does by default): a training step's peak memory then falls as backward
    proceeds, e.g. a convnet's im2col patches go before the layers below them are reached. A
    second backward through such a graph is an error. The graph's structure (each op's inputs)
    stays, so it can still be walked and drawn."""
    pending = {id(root): grad}
    for t in reversed(topological_order(root)):
        g = pending.pop(id(t), None)
        if g is None:
            continue
        if t._retain:
            t.grad = g if t.grad is None else t.grad + g
        op = t._op
        if _RELEASED in op.__dict__:
            raise RuntimeError(
                f"backward: the {op.name} op's saved arrays were released by an earlier backward with "
                f"retain_graph=False; run the forward again, or pass retain_graph=True the first time"
            )
        grads = op.backward(g)
        if backward_hooks:
            for hook in backward_hooks:
                hook(op, grads)
        if not retain_graph:
            op.__dict__.clear()
            op.__dict__[_RELEASED] = True
        for parent, pg, need in zip(op.inputs, grads, op.needs):
            if pg is None or not need:
                continue
            if pg.shape != parent.data.shape:
                raise RuntimeError(
                    f"{op.name} backward produced a gradient of shape {pg.shape} for an "
                    f"input of shape {parent.data.shape}; this is a bug in glassnet"
                )
            if pg.dtype != parent.data.dtype:
                pg = pg.astype(parent.data.dtype)
            if parent._op is None:
                parent.grad = pg if parent.grad is None else parent.grad + pg
            else:
                key = id(parent)
                prev = pending.get(key)
                pending[key] = pg if prev is None else prev + pg
