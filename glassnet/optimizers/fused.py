"""One update for all variables: parameters and slots re-homed into flat buffers.

An elementwise update rule (SGD, Adam, RMSprop, ...) gives the same numbers whether it runs
on each variable or on all of them laid end to end. Running it once on flat buffers turns
a dozen NumPy calls per variable into a dozen per step, which is most of an optimizer
step for small models (the tiny benchmark net has 6 variables).

The slots (owned by the optimizer) are re-homed for good: their ``.data`` become views of
one flat buffer. The parameters keep their own arrays (an array a user holds stays live):
they are gathered into a flat copy before the update and written back after it, one copy
each way. Before each step the slot views are checked by identity; if anything rebound a
slot's array, the flat state is rebuilt from the current values.
"""
import numpy as np


class FlatVariable:
    """What update_step needs of a variable (data, dtype, shape, size), over a flat buffer."""

    __slots__ = ("data", "dtype", "shape", "size", "path", "name")

    def __init__(self, data):
        self.data, self.dtype, self.shape, self.size = data, data.dtype, data.shape, data.size
        self.path = self.name = "fused"


def _rehome(arrays_owners, total, dtype):
    """A flat buffer holding each owner's values; each owner's .data becomes a view of it."""
    flat = np.empty(total, dtype)
    start = 0
    for owner in arrays_owners:
        n = owner.data.size
        flat[start:start + n] = owner.data.reshape(-1)
        owner.data = flat[start:start + n].reshape(owner.data.shape)
        start += n
    return flat


class FlatState:
    """The flat parameter and slot buffers of one optimizer over one list of variables."""

    def __init__(self, optimizer, variables):
        self.variables = list(variables)
        dtype = self.variables[0].dtype
        total = int(sum(v.size for v in self.variables))
        self.param = FlatVariable(np.empty(total, dtype))
        self.bounds = np.cumsum([0] + [v.size for v in self.variables]).tolist()
        index = [optimizer._index[id(v)] for v in self.variables]
        self.slot_lists = list(optimizer._slot_lists)
        self.slots = []
        for slots in self.slot_lists:
            owners = [slots[i] for i in index]
            self.slots.append((owners, FlatVariable(_rehome(owners, total, dtype))))
        self.grad = np.empty(total, dtype)
        self._owners = [o for owners, _ in self.slots for o in owners]
        self._views = [o.data for o in self._owners]

    def matches(self, variables):
        """Same variables, and no array was rebound since the buffers were made."""
        if len(variables) != len(self.variables):
            return False
        for a, b in zip(variables, self.variables):
            if a is not b:
                return False
        for owner, view in zip(self._owners, self._views):
            if owner.data is not view:
                return False
        return True

    def update(self, optimizer, grads, learning_rate):
        """Concatenate the gradients and run the optimizer's own update_step once."""
        np.concatenate([g.reshape(-1) for g in grads], out=self.grad)
        np.concatenate([v.data.reshape(-1) for v in self.variables], out=self.param.data)
        k = len(optimizer._trainable_variables)
        # the flat slots sit at index k of every slot list for this one call
        for slots, (_, flat) in zip(self.slot_lists, self.slots):
            slots.append(flat)
        optimizer._index[id(self.param)] = k
        try:
            optimizer.update_step(self.grad, self.param, learning_rate)
        finally:
            del optimizer._index[id(self.param)]
            for slots in self.slot_lists:
                slots.pop()
        flat, b = self.param.data, self.bounds
        for i, v in enumerate(self.variables):
            v.data[...] = flat[b[i]:b[i + 1]].reshape(v.data.shape)
