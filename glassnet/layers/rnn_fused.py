"""Fused recurrences: a whole SimpleRNN / LSTM / GRU sequence as ONE op, forward beside backward.

The plain way (``RNN`` looping a cell over time, see rnn_cells.py) records ~20 graph nodes per
step; for 100 steps that is thousands of nodes on small arrays, dominated by Python overhead.
These ops do the same math on NumPy arrays directly:

- the input projection of all time steps is one GEMM: Z = X W + b, shape (T, batch, G*units);
- each step adds the recurrent part with one GEMM (all G gates at once): z_t += h_{t-1} U;
- the gate activations and the state update are in-place NumPy calls on the step's block;
- backward (backpropagation through time) walks the steps in reverse, computing all gate
  gradients of a step in place and dh_{t-1} = dz_t U^T with one GEMM, then dW = X^T dZ,
  dU = H_prev^T dZ and dX = dZ W^T with one GEMM each over all steps.

Inside, arrays are time-major and in processing order (reversed for go_backwards), so that
every step reads and writes one contiguous block: strided rows of a batch-major array made
each step's elementwise work 2-3x slower (measured). Every op equals the composed per-step
cell (tests/layers/test_recurrent.py checks values and gradients against it in float64, and
against Keras 3).

Arguments shared by the three ops: x (batch, T, features), kernel, recurrent_kernel, the
initial states (batch, units), then the bias if the layer has one; and, as plain arrays:
  mask      (batch, T) bool: steps where it is False keep the previous state (Keras masking);
  in_mask   (1 or G, batch, features): dropout mask of the inputs, shared or one per gate;
  rec_mask  (1 or G, batch, units): dropout mask of the recurrent state, shared or per gate;
  reverse   process the steps last to first (go_backwards).

Output, time-major: (T + 1, batch, units) with out[k] the state h after k processed steps
(out[0] = h0), and for the LSTM one more slot, out[T + 1] = c_T, the final carry.
"""
import numpy as np

from glassnet import compiled, parallel
from glassnet.autograd import Op
from glassnet.layers.rnn_parts import _ACTS, _GateBlock, _Recurrent, _act_into, _project, _project_backward, _time_major


# ---- batch blocks on threads ------------------------------------------------------------------
# The per-step products of a recurrence are small (batch x units x gate units: 64 x 128 x 512
# for the lstm benchmark), and OpenBLAS shares them badly between threads. Rows of a batch are
# independent in a recurrence, so the batch runs as row blocks on as many threads as NumPy's
# BLAS may use, each block with single-threaded products (no OpenBLAS worker is woken, so none
# spins on a core a block needs). Measured, 2 cores, paired rounds in one process: the lstm
# benchmark's training step x1.06-1.09 (LSTM op alone x1.4 on a quiet machine). Blocks keep at
# least MIN_BLOCK_ROWS rows; a given batch size and thread count always splits the same way.
MIN_BLOCK_ROWS = 16


def _batch_parts(batch):
    """Slices of the batch, one block each, or None to run it whole (with BLAS's own threads)."""
    parts = min(parallel.threads(), batch // MIN_BLOCK_ROWS)
    return parallel.split(batch, parts) if parts >= 2 else None


# ---- compiled LSTM cells (glassnet.compiled.lstm; numba, the ``fast`` extra) --------------------
def _lstm_cells():
    """The LSTM steps' pointwise work as one compiled call each way (forward_step,
    backward_step), once training is hot (glassnet.compiled.hot), else None."""
    kernels = compiled.hot()
    return kernels.lstm if kernels is not None else None


def _lstm_sequence(cells, holds, rec_mask, units):
    """The compiled whole-sequence recurrence (glassnet.compiled.lstm_sequence) when the step
    kernels run (cells), no step is masked, there is no recurrent dropout and the units are a
    multiple of 16 (the compiled GEMM's vectors); else None."""
    if cells is None or rec_mask is not None or units % 16 or any(h is not None for h in holds):
        return None
    kernels = compiled.hot()
    return None if kernels is None else kernels.lstm_sequence


class _Sequence(Op):
    """What the three ops share: arguments in processing order, the masked hand-over, and
    running a big batch as row blocks on several threads (see _batch_parts).

    Subclasses implement ``_forward`` and ``_backward`` on a whole batch; ``forward`` and
    ``backward`` below either call them directly or split the batch: each block is an op of its
    own, run on its own thread with single-threaded BLAS; outputs and the gradients of x and the
    initial states are joined along the batch, the weight gradients summed (in block order, so
    a given thread count always gives the same numbers)."""

    n_states = 1  # initial states after x, W, U: h0 (and c0 for the LSTM)

    def forward(self, x, W, U, *rest, **kwargs):
        parts = _batch_parts(x.shape[0])
        self.blocks = None
        if parts is None:
            return self._forward(x, W, U, *rest, **kwargs)
        states, bias = rest[:self.n_states], rest[self.n_states:]

        def run(sl):
            block = type(self)()
            block.needs = self.needs
            kw = dict(kwargs)
            if kw.get("mask") is not None:
                kw["mask"] = kw["mask"][sl]
            for name in ("in_mask", "rec_mask"):  # (1 or G, batch, features)
                if kw.get(name) is not None:
                    kw[name] = kw[name][:, sl]
            return block, block._forward(x[sl], W, U, *[s[sl] for s in states], *bias, **kw)

        results = parallel.run(run, parts)
        self.blocks, self.parts = [b for b, _ in results], parts
        return np.concatenate([out for _, out in results], axis=1)  # time-major: batch is axis 1

    def backward(self, g):
        if self.blocks is None:
            return self._backward(g)
        blocks = {sl.start: block for sl, block in zip(self.parts, self.blocks)}
        # the blocks stay: a second backward on the same graph runs each block's again
        results = parallel.run(lambda sl: blocks[sl.start]._backward(np.ascontiguousarray(g[:, sl])), self.parts)
        batch = {0} | set(range(3, 3 + self.n_states))  # dx and the initial states' gradients
        grads = []
        for j, parts in enumerate(zip(*results)):
            if parts[0] is None:
                grads.append(None)
            elif j in batch:
                grads.append(np.concatenate(parts, axis=0))
            else:
                total = parts[0].copy()
                for p in parts[1:]:
                    total += p
                grads.append(total)
        return tuple(grads)

    def _setup(self, x, W, U, mask, in_mask, rec_mask, reverse, G):
        self.x_shape, self.reverse, self.G = x.shape, reverse, G
        self.in_mask, self.rec_mask, self.W = in_mask, rec_mask, W
        B, T, _ = x.shape
        self.holds = [None] * T  # per processed step: rows that keep their state, or None
        if mask is not None:
            hold = ~(mask[:, ::-1] if reverse else mask)
            for k in np.flatnonzero(hold.any(axis=0)):
                self.holds[k] = hold[:, k, None]
        return _time_major(x, reverse), B, T, U.shape[0]

    def _input_grads(self, dZ, dU):
        """dx (batch-major, input order), dW, db from the pre-activation gradients dZ."""
        need = self.needs
        dx, dW, db = _project_backward(dZ, self.xs, self.W, self.in_mask, self.G, need[0], need[1])
        if dx is not None:
            dx = (dx[::-1] if self.reverse else dx).transpose(1, 0, 2)
        return dx, dW, dU if need[2] else None, db


# ---- SimpleRNN -------------------------------------------------------------------------------
class SimpleRNNSequence(_Sequence):
    """h_t = act(x_t W + (h_{t-1} * m) U + b) over a whole sequence;
    backward: dz_t = dh_t act'(h_t), dh_{t-1} = (dz_t U^T) * m.  Output (T + 1, B, u)."""
    name = "simple_rnn"
    n_states = 1

    def _forward(self, x, W, U, h0, *bias, mask=None, in_mask=None, rec_mask=None, reverse=False,
                activation="tanh"):
        xp, B, T, u = self._setup(x, W, U, mask, in_mask, rec_mask, reverse, 1)
        self.act, self.use_bias = activation, bool(bias)
        fwd_act = _ACTS[activation][0]
        Z, self.xs = _project(xp, W, bias[0] if bias else None, in_mask, 1)
        self.rec = rec = _Recurrent(U, U, rec_mask, 1)
        out = np.empty((T + 1, B, u), x.dtype)
        out[0] = h0
        tmp = np.empty((B, u), x.dtype)
        for k in range(T):
            h = out[k + 1]
            rec.forward(out[k], tmp)
            np.add(Z[k], tmp, out=h)
            fwd_act(h)
            if self.holds[k] is not None:
                np.copyto(h, out[k], where=self.holds[k])
        self.out = out
        return out

    def _backward(self, g):
        out, rec, d_act = self.out, self.rec, _ACTS[self.act][1]
        T, B, u = out.shape[0] - 1, out.shape[1], out.shape[2]
        dZ = np.empty((T, B, u), g.dtype)
        dh = np.zeros((B, u), g.dtype)
        tu = np.empty((B, u), g.dtype)
        keep = None
        for k in range(T - 1, -1, -1):
            dh += g[k + 1]
            hold = self.holds[k]
            if hold is not None:
                keep = dh * hold
                dh *= ~hold
            d_act(out[k + 1], tu)
            np.multiply(dh, tu, out=dZ[k])
            rec.backward(dZ[k], dh)
            if hold is not None:
                dh += keep
        dh += g[0]
        dx, dW, dU, db = self._input_grads(dZ, rec.kernel_grad(out[:T], dZ) if self.needs[2] else None)
        return (dx, dW, dU, dh) + ((db,) if self.use_bias else ())


# ---- LSTM ------------------------------------------------------------------------------------
class LSTMSequence(_Sequence):
    """LSTM over a whole sequence, Keras gate order i, f, c, o:
        z = x_t W + (h_{t-1} * m) U + b;  i, f, o = ract(z_i, z_f, z_o);  g = act(z_c)
        c_t = f c_{t-1} + i g;  h_t = o act(c_t)
    backward, from dh_t and dc_t:  do = dh act(c_t);  dc += dh o act'(c_t)
        di = dc g, df = dc c_{t-1}, dg = dc i;  dc_{t-1} = dc f;  dz = d(gate) * gate'
        dh_{t-1} = dz U^T.
    Output (T + 2, B, u): [h_0, h_1, ..., h_T, c_T].
    backward writes dz_t over the step's saved activations (dead once dz_t is known) and drops
    all that forward saved, so no second (T, B, 4u) array is made and the backward of the ops
    below and the optimizer run without them (lstm benchmark step, 64 x 100 x 128: peak traced
    memory 52 -> 33 MB with Take's leaner backward); a second backward on the same graph runs
    the forward again first."""
    name = "lstm"
    n_states = 2

    def _forward(self, x, W, U, h0, c0, *bias, mask=None, in_mask=None, rec_mask=None, reverse=False,
                activation="tanh", recurrent_activation="sigmoid"):
        # what a second backward needs to run this again (the first one writes over Z)
        self.args = ((x, W, U, h0, c0) + bias, dict(mask=mask, in_mask=in_mask, rec_mask=rec_mask, reverse=reverse,
                                                    activation=activation, recurrent_activation=recurrent_activation))
        xp, B, T, u = self._setup(x, W, U, mask, in_mask, rec_mask, reverse, 4)
        dt = x.dtype
        self.use_bias, self.act = bool(bias), activation
        ract = recurrent_activation
        self.gates = gates = _GateBlock([ract, ract, activation, ract], u, B, dt)
        b = bias[0] if bias else None
        Ws, Us = W, U
        if gates.fold:
            Ws, Us, b = W * gates.scale, U * gates.scale, None if b is None else b * gates.scale
        # Z holds the pre-activations, then (in place) the gate activations i, f, g, o
        Z, self.xs = _project(xp, Ws, b, in_mask, 4)
        self.rec = rec = _Recurrent(U, Us, rec_mask, 4)
        out = np.empty((T + 2, B, u), dt)
        out[0] = h0
        C = np.empty((T + 1, B, u), dt)       # the carries
        AC = np.empty((T, B, u), dt)          # act(c_t), before masking
        C[0] = c0
        tmp = np.empty((B, 4 * u), dt)
        tu = np.empty((B, u), dt)
        self.cells = cells = _lstm_cells() if gates.fold and dt == np.float32 else None
        act_sigmoid = activation == "sigmoid"
        self.sequence = _lstm_sequence(cells, self.holds, rec_mask, u)
        if self.sequence is not None:  # the whole recurrence in one compiled call
            self.sequence.forward_sequence(Z, out, C, AC, rec.Us, gates.mul[0], gates.add[0], tmp, act_sigmoid)
        for k in range(0 if self.sequence is None else T, T):
            z = Z[k]
            rec.forward(out[k], tmp)
            if cells is not None and self.holds[k] is None:  # the same arithmetic, one compiled call
                cells.forward_step(z, tmp, gates.mul[0], gates.add[0], C[k], C[k + 1], AC[k], out[k + 1], act_sigmoid)
                continue
            z += tmp
            gates.activate(z)
            i, f, gg, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
            c = C[k + 1]
            np.multiply(f, C[k], out=c)
            np.multiply(i, gg, out=tu)
            c += tu
            _act_into(activation, c, AC[k])
            h = out[k + 1]
            np.multiply(o, AC[k], out=h)
            hold = self.holds[k]
            if hold is not None:
                np.copyto(h, out[k], where=hold)
                np.copyto(c, C[k], where=hold)
        out[T + 1] = C[T]
        self.Z, self.C, self.AC, self.out = Z, C, AC, out
        return out

    def _backward(self, g):
        if self.Z is None:  # backward again (gn.explain, or twice on one graph): recompute first
            self._forward(*self.args[0], **self.args[1])
        Z, C, AC, out, rec, gates = self.Z, self.C, self.AC, self.out, self.rec, self.gates
        self.Z = self.C = self.AC = self.out = self.rec = self.gates = None  # Z becomes dZ below
        T, B, u = out.shape[0] - 2, out.shape[1], out.shape[2]
        dt = g.dtype
        d_act = _ACTS[self.act][1]
        dh = np.zeros((B, u), dt)
        dc = np.array(g[T + 1])
        tu = np.empty((B, u), dt)
        t4 = np.empty((B, 4 * u), dt)   # act'(z) of the step's gates
        s4 = np.empty((B, 4 * u), dt)   # d(gate) of the step's gates
        keep_h = keep_c = None
        cells, act_sigmoid = self.cells, self.act == "sigmoid"
        if self.sequence is not None:  # the whole recurrence in one compiled call
            self.sequence.backward_sequence(Z, AC, C, dh, g, dc, gates.am[0], gates.om[0], rec.UT, act_sigmoid)
        for k in range(T - 1 if self.sequence is None else -1, -1, -1):
            hold = self.holds[k]
            if cells is not None and hold is None:  # dz over the activations, dc_{t-1}: one call
                cells.backward_step(Z[k], AC[k], C[k], dh, g[k + 1], dc, gates.am[0], gates.om[0], act_sigmoid)
                rec.backward(Z[k], dh)
                continue
            dh += g[k + 1]
            if hold is not None:
                keep_h, keep_c = dh * hold, dc * hold
                dh *= ~hold
                dc *= ~hold
            a, ac = Z[k], AC[k]
            i, f, gg, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
            gates.derivative(a, t4)
            np.multiply(dh, ac, out=s4[:, 3 * u:])                  # d o
            d_act(ac, tu)
            tu *= o
            tu *= dh
            dc += tu                                               # dc += dh o act'(c)
            np.multiply(dc, gg, out=s4[:, :u])                      # d i
            np.multiply(dc, C[k], out=s4[:, u:2 * u])               # d f
            np.multiply(dc, i, out=s4[:, 2 * u:3 * u])              # d g
            dc *= f                                                # dc_{t-1}
            dz = np.multiply(s4, t4, out=a)                        # dz_k, over the activations
            rec.backward(dz, dh)                                   # dh_{t-1}
            if hold is not None:
                dh += keep_h
                dc += keep_c
        dZ = Z
        del C, AC, Z  # freed before dx is allocated
        dh += g[0]
        dx, dW, dU, db = self._input_grads(dZ, rec.kernel_grad(out[:T], dZ) if self.needs[2] else None)
        self.xs = None
        return (dx, dW, dU, dh, dc) + ((db,) if self.use_bias else ())


# ---- GRU (reset_after=True, Keras 3's default) ----------------------------------------------
class GRUSequence(_Sequence):
    """GRU over a whole sequence, Keras gate order z, r, h, reset applied after the product:
        x_z, x_r, x_h = x_t W + b_in;  r_z, r_r, r_h = (h_{t-1} * m) U + b_rec
        z = ract(x_z + r_z);  r = ract(x_r + r_r);  hh = act(x_h + r r_h)
        h_t = z h_{t-1} + (1 - z) hh
    backward, from dh:  dz = dh (h_{t-1} - hh);  dhh = dh (1 - z);  d(x_h) = dhh act'(hh) = p;
        dr = p r_h;  d(r_h) = p r;  dh_{t-1} = dh z + d(r_*) U^T.
    Bias (2, 3u): [input bias, recurrent bias]. Output (T + 1, B, u)."""
    name = "gru"
    n_states = 1

    def _forward(self, x, W, U, h0, *bias, mask=None, in_mask=None, rec_mask=None, reverse=False,
                activation="tanh", recurrent_activation="sigmoid"):
        xp, B, T, u = self._setup(x, W, U, mask, in_mask, rec_mask, reverse, 3)
        dt = x.dtype
        self.use_bias, self.act = bool(bias), activation
        self.gates = gates = _GateBlock([recurrent_activation] * 2, u, B, dt)
        b_in, b_rec = (bias[0][0], bias[0][1]) if bias else (None, None)
        Ws, Us = W, U
        if gates.fold:
            scale = np.concatenate([gates.scale, np.ones(u, dt)])
            Ws, Us = W * scale, U * scale
            b_in = None if b_in is None else b_in * scale
            b_rec = None if b_rec is None else b_rec * scale
        Z, self.xs = _project(xp, Ws, b_in, in_mask, 3)
        self.rec = rec = _Recurrent(U, Us, rec_mask, 3)
        out = np.empty((T + 1, B, u), dt)
        out[0] = h0
        RH = np.empty((T, B, u), dt)           # the recurrent h-part r_h of every step
        R = np.empty((B, 3 * u), dt)
        tu = np.empty((B, u), dt)
        act = _ACTS[activation][0]
        for k in range(T):
            h_prev = out[k]
            rec.forward(h_prev, R)
            if b_rec is not None:
                R += b_rec
            RH[k] = R[:, 2 * u:]
            a = Z[k]
            zr = a[:, :2 * u]
            zr += R[:, :2 * u]
            gates.activate(zr)
            z, r, hh = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
            np.multiply(r, RH[k], out=tu)
            hh += tu
            act(hh)
            h = out[k + 1]
            np.subtract(h_prev, hh, out=tu)        # h = hh + z (h_prev - hh)
            tu *= z
            np.add(hh, tu, out=h)
            if self.holds[k] is not None:
                np.copyto(h, h_prev, where=self.holds[k])
        self.Z, self.RH, self.out = Z, RH, out
        return out

    def _backward(self, g):
        Z, RH, out, rec, gates = self.Z, self.RH, self.out, self.rec, self.gates
        T, B, u = out.shape[0] - 1, out.shape[1], out.shape[2]
        dt = g.dtype
        d_act = _ACTS[self.act][1]
        dZx = np.empty((T, B, 3 * u), dt)      # gradients of the input pre-activations
        dZr = np.empty((T, B, 3 * u), dt)      # ... and of the recurrent ones (differ in the h part)
        dh = np.zeros((B, u), dt)
        dh_rec = np.empty((B, u), dt)
        tu = np.empty((B, u), dt)
        t2 = np.empty((B, 2 * u), dt)
        keep = None
        for k in range(T - 1, -1, -1):
            dh += g[k + 1]
            hold = self.holds[k]
            if hold is not None:
                keep = dh * hold
                dh *= ~hold
            a, dzx, dzr = Z[k], dZx[k], dZr[k]
            z, r, hh = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
            np.subtract(out[k], hh, out=dzx[:, :u])                 # d z
            dzx[:, :u] *= dh
            p = dzx[:, 2 * u:]
            np.multiply(dh, z, out=tu)
            np.subtract(dh, tu, out=p)                              # d hh = dh (1 - z)
            d_act(hh, tu)
            p *= tu
            np.multiply(p, RH[k], out=dzx[:, u:2 * u])              # d r
            gates.backprop(a[:, :2 * u], dzx[:, :2 * u], t2)
            dzr[:, :2 * u] = dzx[:, :2 * u]
            np.multiply(p, r, out=dzr[:, 2 * u:])
            rec.backward(dzr, dh_rec)
            np.multiply(dh, z, out=dh)
            dh += dh_rec
            if hold is not None:
                dh += keep
        dh += g[0]
        dx, dW, dU, db_in = self._input_grads(dZx, rec.kernel_grad(out[:T], dZr) if self.needs[2] else None)
        db = np.stack([db_in, dZr.reshape(T * B, -1).sum(axis=0)]) if self.use_bias else None
        return (dx, dW, dU, dh) + ((db,) if self.use_bias else ())
