"""How an elementwise update rule runs: small variables fused, big ones in place by slices.

An elementwise rule (SGD, Adam, RMSprop, ...) gives the same numbers, bit for bit, whether
it runs on each variable, on all of them laid end to end, or on slices of one. Each such
optimizer writes its rule once, as ``_update_arrays(w, g, slots, coefficients)`` on plain
arrays (``coefficients``: the step's scalars, from ``_step_coefficients``, computed once per
step), and ``run`` below picks where to run it:

- Small variables (at most ``optimizer._fuse_max_size`` elements: biases, norm scales, the
  kernels of tiny nets) run as one call on flat buffers (``FlatState``): a dozen NumPy calls
  per step instead of a dozen per variable. Their slots are re-homed for good as views of
  one flat buffer (checked by identity each step: a rebound slot array rebuilds the
  buffers); the parameters keep their own arrays (a user may hold one, and ``assign`` or a
  rebinding of ``.data`` must keep working), gathered into a flat copy and written back each
  step, which is cheap as they are small.
- Big variables are updated in place, on ``v.data`` and the gradient as they are, in slices
  of about ``CHUNK`` elements along the first axis: no copy of the parameters or gradients,
  and the rule's scratch arrays are one slice long.

Measured against fusing everything (paired, 1 thread, medians of 11-15 rounds), Adam's
apply: the 2-16-16-1 net 24 -> 20 us, the 784-512-512-10 mlp 0.93 -> 0.75 ms, the lstm's
2.7 M parameters 7.2 -> 3.9 ms (SGD with momentum x1.6 and x2.1 on those two); peak memory
of a training run (benchmarks/bench.py): mlp 22.4 -> 12.3 MB, lstm 126 -> 85 MB. Slices of
64 K elements keep the rule's passes in cache (x1.3 on the 2.56 M embedding against whole).
"""
import numpy as np

from glassnet import compiled, parallel

# In-place updates go over slices of about this many elements (256 KB in float32); 32 K to
# 128 K measured best, 16 K pays ~1 us a NumPy call too often, whole arrays fall out of cache.
CHUNK = 65536


def run(optimizer, grads, variables, learning_rate):
    """Run ``optimizer``'s elementwise rule on every (gradient, variable) pair, in place."""
    state = optimizer._flat
    if state is None or not state.matches(variables):
        state = optimizer._flat = FlatState(optimizer, variables, {v.dtype for v in variables})
    if len(state.dtypes) == 1:  # the common case: one dtype, one set of coefficients
        f = state.dtype.type
        coefficients = optimizer._step_coefficients(f(learning_rate), f)
        if state.small:
            state.update(optimizer, grads, coefficients)
        if not state.large:
            return
        coefficients = {state.dtype: coefficients}
    else:
        coefficients = {dt: optimizer._step_coefficients(dt.type(learning_rate), dt.type) for dt in state.dtypes}
        if state.small:
            state.update(optimizer, grads, coefficients[state.param.dtype])
    slot_lists = optimizer._slot_lists
    for k in state.large:
        v = variables[k]
        i = optimizer._index[id(v)]
        update_in_place(optimizer, v.data, grads[k], [s[i].data for s in slot_lists], coefficients[v.dtype])


def update_in_place(optimizer, w, g, slots, coefficients):
    """The rule on ``w`` (and its ``slots``) in place, in slices of about CHUNK elements along axis 0;
    a big variable in parts on glassnet's threads with the compiled rule, once that is hot."""
    if w.ndim == 0 or w.size <= CHUNK:
        optimizer._update_arrays(w, g, slots, coefficients)
        return
    if w.size >= PARALLEL_MIN:
        kernels = compiled.hot()
        update = optimizer._compiled_update(kernels.update_rules) if kernels is not None else None
        arrays = (w, g, *slots)
        if update is not None and all(a.dtype == w.dtype and a.flags.c_contiguous for a in arrays):
            _update_in_parts(update, [a.reshape(-1) for a in arrays], coefficients)
            return
    _update_by_slices(optimizer, w, g, slots, coefficients)


def _update_by_slices(optimizer, w, g, slots, coefficients):
    n = w.shape[0]
    rows = max(1, CHUNK * n // w.size)
    for start in range(0, n, rows):
        part = slice(start, start + rows)
        optimizer._update_arrays(w[part], g[part], [s[part] for s in slots], coefficients)


# Variables of at least PARALLEL_MIN elements (an embedding table, a big kernel) run the compiled
# rule (glassnet.compiled: numba, the ``fast`` extra) as one pass per part, a part per thread,
# once training is hot (glassnet.compiled.hot). The same numbers bit for bit (the rules round
# as NumPy does). Adam on a 20000 x 128 embedding, 2 cores: 3.5 ms by slices, 1.7 ms in two parts.
PARALLEL_MIN = 1 << 18


def _update_in_parts(update, flat, coefficients):
    """``update`` over (w, g, *slots), flat views, split in as many parts as there are threads."""
    zero = np.zeros(1, np.int64)

    def part(sl):
        update((flat[0][sl],), flat[1][sl], zero, tuple((s[sl],) for s in flat[2:]), coefficients)

    parallel.run(part, parallel.split(flat[0].size, parallel.threads()))


def _rehome(owners, total, dtype):
    """A flat buffer holding each owner's values; each owner's .data becomes a view of it."""
    flat = np.empty(total, dtype)
    start = 0
    for owner in owners:
        n = owner.data.size
        flat[start:start + n] = owner.data.reshape(-1)
        owner.data = flat[start:start + n].reshape(owner.data.shape)
        start += n
    return flat


class FlatState:
    """One optimizer's plan over one list of variables: which are fused, and the flat parameter,
    gradient and slot buffers of those."""

    def __init__(self, optimizer, variables, dtypes):
        self.variables, self.dtypes = list(variables), dtypes
        self._dtypes = [v.dtype for v in self.variables]  # each variable's, checked by matches()
        limit = optimizer._fuse_max_size
        small = [k for k, v in enumerate(self.variables) if v.size <= limit]
        if len(small) < 2 or len(dtypes) > 1:
            small = []
        self.small, fused = small, [self.variables[k] for k in small]
        self.large = sorted(set(range(len(self.variables))) - set(small))
        dtype = self.dtype = self.variables[0].dtype
        total = int(sum(v.size for v in fused))
        self.param, self.grad = np.empty(total, dtype), np.empty(total, dtype)
        index = [optimizer._index[id(v)] for v in fused]
        owners = [[slots[i] for i in index] for slots in optimizer._slot_lists]
        self.slots = [_rehome(o, total, dtype) for o in owners]
        self.fused = fused
        bounds = np.cumsum([0] + [v.size for v in fused]).tolist()
        self._param_views = [self.param[a:b].reshape(v.shape) for v, a, b in zip(fused, bounds, bounds[1:])]
        self._owners = [o for group in owners for o in group]
        self._views = [o.data for o in self._owners]
        # update() gathers the gradients at these positions of the grads list
        self._small_all = small == list(range(len(self.variables)))

    def matches(self, variables):
        """Same variables of the same dtypes, and no fused slot's array was rebound since the
        buffers were made."""
        if len(variables) != len(self.variables):
            return False
        for a, b, dt in zip(variables, self.variables, self._dtypes):
            if a is not b or a.data.dtype != dt:
                return False
        for owner, view in zip(self._owners, self._views):
            if owner.data is not view:
                return False
        return True

    def update(self, optimizer, grads, coefficients):
        """Gather the fused parameters and gradients (``grads``: one per variable of the plan), run
        the rule once on the flat buffers, scatter back."""
        if not self._small_all:
            grads = [grads[k] for k in self.small]
        np.concatenate([g.ravel() for g in grads], out=self.grad)  # ravel: a view as reshape(-1), half the call cost
        np.concatenate([v.data.ravel() for v in self.fused], out=self.param)
        optimizer._update_arrays(self.param, self.grad, self.slots, coefficients)
        for v, view in zip(self.fused, self._param_views):
            v.data[...] = view
