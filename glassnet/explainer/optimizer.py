"""Explain one optimizer step on one variable: the gradient, the slots (momentum,
velocity, ...) before and after, the update, and the value before -> after.

    opt = gn.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    gn.explain(opt, w, grad)                  # shows the step, then puts w and opt back
    gn.explain(opt, w, grad, dry_run=False)   # takes it, as opt.apply([grad], [w]): call
                                              # again to watch momentum build up

The step is the optimizer's own (``apply``: clipping, weight decay, update_step); SGD and
Adam are also worked out line by line in float64 from the values before, and checked
against it. Any other optimizer is read generically: every slot it keeps for the variable
(found among its per-variable slot lists), before and after.
"""
import sys

import numpy as np

from glassnet.explainer.core import Explanation, as_array, reject_unknown, value_text
from glassnet.explainer.render import Table, Text
from glassnet.optimizers.adam import Adam
from glassnet.optimizers.base import Optimizer
from glassnet.optimizers.sgd import SGD
from glassnet.tensor import Tensor
from glassnet.variables import Variable


def _formula(opt):
    """The update in math, from the optimizer module's docstring (lines before 'Defaults')."""
    cls = type(opt)
    doc = sys.modules[cls.__module__].__doc__ if cls.__module__.startswith("glassnet.optimizers") else cls.__doc__
    lines = (doc or cls.__name__).strip().split("\n")
    body = []
    for line in lines[1:]:
        if line.strip().startswith(("Defaults", "Slot")):
            break
        if line.strip():
            body.append(line.strip())
    return "\n".join(body) or lines[0]


def _slots(opt, variable):
    """{slot name: slot Variable} that ``opt`` keeps for ``variable``."""
    i = opt._get_variable_index(variable)
    n = len(opt._trainable_variables)
    ref = getattr(variable, "path", None) or variable.name or "variable"
    prefix = f"{str(ref).replace('/', '_').replace(':', '_')}_"
    out = {}
    for attr, value in vars(opt).items():
        if attr in ("_trainable_variables", "_variables") or not isinstance(value, list) or len(value) != n:
            continue
        if not all(isinstance(v, Variable) for v in value):
            continue
        slot = value[i]
        name = slot.name[len(prefix):] if slot.name.startswith(prefix) else attr.strip("_")
        out[name] = slot
    return out


def explain_optimizer(opt, variable, gradient=None, opts=None, dry_run=True, **kwargs):
    reject_unknown(type(opt).__name__, kwargs)
    if not isinstance(opt, Optimizer):
        raise TypeError(f"explain(optimizer): expected a glassnet optimizer, received {type(opt).__name__}")
    if not isinstance(variable, Tensor):
        variable = Variable(as_array(variable, "variable").astype(np.float32), name="w")
    if gradient is None:
        gradient = variable.grad
        if gradient is None:
            raise ValueError("explain(optimizer): give the gradient, gn.explain(opt, variable, gradient), "
                             "or call loss.backward() first so variable.grad is set")
    g = as_array(gradient, "gradient").astype(variable.dtype)
    if g.shape != variable.shape:
        raise ValueError(f"explain(optimizer): the gradient has shape {g.shape}, the variable {variable.shape}")
    if not opt.built:
        opt.build([variable])
    if id(variable) not in opt._index:
        raise ValueError(f"explain(optimizer): {opt.name} was built for other variables; it can only step those "
                         f"(create a new optimizer for this one)")
    slots = _slots(opt, variable)
    lr = float(opt.learning_rate)
    iteration = int(opt.iterations.data) if hasattr(opt.iterations, "data") else int(opt.iterations)
    w0 = variable.data.astype(np.float64).copy()
    s0 = {k: s.data.astype(np.float64).copy() for k, s in slots.items()}
    saved = (opt.get_state(), variable.data.copy()) if dry_run else None
    opt.apply([g], [variable])
    w1 = variable.data.astype(np.float64).copy()
    s1 = {k: s.data.astype(np.float64).copy() for k, s in slots.items()}
    if dry_run:
        opt.set_state(saved[0])
        variable.data[...] = saved[1]

    fmt, plain = opts.fmt, opts.plain
    vt = lambda v: value_text(v, fmt, opts)
    g64 = g.astype(np.float64)
    lines, computed = [], None
    gc = np.asarray(opt._clip_gradients([g])[0], np.float64)
    if not np.array_equal(gc, g64):
        lines.append(f"clipped gradient g = {vt(gc)}")
    wd = w0
    if opt.weight_decay and opt._use_weight_decay(variable):
        wd = w0 * (1 - opt.weight_decay * lr)
        lines.append(f"weight decay: w = w * (1 - weight_decay * lr) = {vt(w0)} * (1 - {plain(opt.weight_decay)} * "
                     f"{plain(lr)}) = {vt(wd)}")
    plain_step = not opt.gradient_accumulation_steps and not opt.use_ema
    if isinstance(opt, SGD) and plain_step:
        mu = float(opt._hyper("momentum"))
        if "momentum" not in s0:
            computed = wd - lr * gc
            lines.append(f"w = w - learning_rate * g = {vt(wd)} - {plain(lr)} * {vt(gc)} = {vt(computed)}")
        else:
            v1 = mu * s0["momentum"] - lr * gc
            lines.append(f"v = momentum * v - learning_rate * g = {plain(mu)} * {vt(s0['momentum'])} - {plain(lr)} * "
                         f"{vt(gc)} = {vt(v1)}   (the 'momentum' slot holds this velocity v)")
            if opt.nesterov:
                computed = wd + mu * v1 - lr * gc
                lines.append(f"w = w + momentum * v - learning_rate * g (Nesterov) = {vt(computed)}")
            else:
                computed = wd + v1
                lines.append(f"w = w + v = {vt(wd)} + {vt(v1)} = {vt(computed)}")
            lines.append("(Keras' form; seed 002 writes V = beta V + (1 - beta) grad, W = W - alpha V: the same "
                         "running average of past gradients, with the learning rate outside.)")
    elif isinstance(opt, Adam) and type(opt).__name__ in ("Adam", "AdamW") and plain_step:
        b1, b2, eps = float(opt._hyper("beta_1")), float(opt.beta_2), float(opt.epsilon)
        t = iteration + 1
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m1 = s0["momentum"] + (1 - b1) * (gc - s0["momentum"])
        v1 = s0["velocity"] + (1 - b2) * (gc * gc - s0["velocity"])
        v_use = v1
        lines.append(f"t = {t};  lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) = {plain(lr)} * sqrt(1 - "
                     f"{plain(b2)}^{t}) / (1 - {plain(b1)}^{t}) = {fmt(lr_t)}")
        lines.append(f"m = beta_1 * m + (1 - beta_1) * g = {plain(b1)} * {vt(s0['momentum'])} + {plain(1 - b1)} * "
                     f"{vt(gc)} = {vt(m1)}")
        lines.append(f"v = beta_2 * v + (1 - beta_2) * g^2 = {plain(b2)} * {vt(s0['velocity'])} + {plain(1 - b2)} * "
                     f"{vt(gc * gc)} = {vt(v1)}")
        if opt.amsgrad:
            v_use = np.maximum(s0["velocity_hat"], v1)
            lines.append(f"v_hat = max(v_hat, v) = {vt(v_use)}")
        step = lr_t * m1 / (np.sqrt(v_use) + eps)
        computed = wd - step
        lines.append(f"step = lr_t * m / (sqrt(v) + epsilon) = {vt(step)}")
        lines.append(f"w = w - step = {vt(wd)} - {vt(step)} = {vt(computed)}")

    # ---- per element -----------------------------------------------------------------------
    n = opts.limit(w0.size)
    steps, rows = [], []
    names = list(s0)
    for k in range(n):
        idx = tuple(int(i) for i in np.unravel_index(k, w0.shape)) if w0.ndim else ()
        sb = {name: float(s0[name].reshape(-1)[k]) for name in names}
        sa = {name: float(s1[name].reshape(-1)[k]) for name in names}
        before, after = float(w0.reshape(-1)[k]), float(w1.reshape(-1)[k])
        steps.append({"index": idx, "before": before, "gradient": float(g64.reshape(-1)[k]), "after": after,
                      "update": after - before, "slots_before": sb, "slots_after": sa,
                      "computed": None if computed is None else float(computed.reshape(-1)[k])})
        rows.append([", ".join(map(str, idx)), plain(before), plain(g64.reshape(-1)[k])]
                    + [f"{fmt(sb[s])} -> {fmt(sa[s])}" for s in names] + [fmt(after - before), fmt(after)])
    header = ["index", "w before", "gradient"] + [f"{s} (before -> after)" for s in names] + ["update", "w after"]

    hyper = {k: getattr(opt, k) for k in ("momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho")
             if hasattr(opt, k)}
    title = (f"{type(opt).__name__} step {iteration + 1} on {getattr(variable, 'path', None) or variable.name or 'w'} "
             f"{variable.shape}: learning_rate {plain(lr)}"
             + "".join(f", {k} {v if isinstance(v, bool) else plain(v)}" for k, v in hyper.items()))
    blocks = [Text(_formula(opt), mono=True)]
    if lines:
        blocks.append(Text("\n".join(lines), mono=True))
    blocks.append(Table(header, rows, caption=None if n == w0.size else f"first {n} of {w0.size} elements"))
    blocks.append(Text(f"value before -> after: {vt(w0)} -> {vt(w1)}"))
    if computed is not None:
        ok = np.allclose(computed, w1, rtol=1e-4, atol=1e-6)
        blocks.append(Text("The worked numbers above equal the optimizer's own step." if ok else
                           "Warning: the worked numbers differ from the optimizer's own step."))
    blocks.append(Text("dry run: the variable and the optimizer's state were put back." if dry_run else
                       f"The step was taken: the variable now holds the new value, iterations = {iteration + 1}."))
    data = {"before": w0, "after": w1, "gradient": g64, "update": w1 - w0, "slots_before": s0, "slots_after": s1,
            "learning_rate": lr, "iteration": iteration, "computed": computed}
    return Explanation("optimizer", title, blocks, steps, result=w1, data=data, fmt=fmt)
