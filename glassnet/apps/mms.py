"""How many M&Ms in a bag? Least squares by gradient descent ("How optimization works", seed 001).

The loss of a guess n is the squared error summed over the bags counted,
L(n) = sum_i (n_i - n)^2; its slope is dL/dn = -2 sum_i (n_i - n), zero at the mean.
Here the slope comes from glassnet's autodiff, not from that formula: the guess is a
``gn.Variable``, the loss is built from ops, ``loss.backward()`` fills ``n.grad``, and each
step moves the guess downhill, n <- n - learning_rate * dL/dn ("let the marble roll
downhill"). Each step is printed with the formula's slope beside autodiff's. The
exhaustive search ("pick the lowest point") is printed too, as a table of L over whole
candidate counts.

``BAG_COUNTS`` are illustrative numbers written for this example (about what a 1.69 oz
bag of plain M&Ms holds), not a measurement.
"""
import json
from pathlib import Path

import numpy as np

NAME = "mms"
SUMMARY = "how many M&Ms in a bag: least squares by gradient descent on one variable, step by step"
DEFAULT_EPOCHS = 25   # here: gradient-descent steps

BAG_COUNTS = np.array([55, 58, 53, 56, 57, 54, 59, 55, 56, 52, 57, 56], np.float64)   # illustrative
START = 40.0
LEARNING_RATE = 0.02  # each step shrinks the error by 1 - 2 * 12 * 0.02 = 0.52


def loss_fn(n, counts=BAG_COUNTS):
    """L(n) = sum_i (n_i - n)^2 as a glassnet graph (n a Tensor)."""
    from glassnet import ops
    return ops.sum(ops.square(ops.subtract(counts, n)))


def gradient_descent(counts=BAG_COUNTS, start=START, learning_rate=LEARNING_RATE, steps=DEFAULT_EPOCHS):
    """Run the descent; returns the rows (step, estimate, loss, autodiff slope, formula slope)."""
    import glassnet as gn
    n = gn.Variable(np.array(start, np.float64), name="n_est")
    rows = []
    for step in range(steps + 1):
        n.grad = None
        loss = loss_fn(n, counts)
        loss.backward()
        slope = float(n.grad)
        rows.append((step, float(n.data), float(loss.data), slope, float(-2 * np.sum(counts - n.data))))
        if step == steps:
            break
        n.assign_sub(learning_rate * n.grad)
    return rows


def exhaustive(counts=BAG_COUNTS, candidates=None):
    """L(n) for each whole candidate count; returns (candidates, losses)."""
    if candidates is None:
        candidates = np.arange(int(counts.min()) - 3, int(counts.max()) + 4)
    losses = ((counts[None, :] - candidates[:, None]) ** 2).sum(1)
    return candidates, losses


def cost_table(ds=(1, 2, 4, 8)):
    """The slide's 'cost of being off by d' for four cost functions."""
    return {"sqrt|d|": [np.sqrt(d) for d in ds], "|d|": list(ds), "d^2": [d * d for d in ds],
            "10^(|d|-1)": [10 ** (d - 1) for d in ds]}


def run(epochs=None, seed=0, out=None, verbose="auto"):
    """Estimate the count per bag by gradient descent; ``epochs`` is the number of steps.

    ``seed`` is accepted for the common interface and unused: the run is deterministic.
    """
    steps = DEFAULT_EPOCHS if epochs is None else epochs
    out = Path(out or "glassnet-out") / NAME
    out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)
    counts, mean = BAG_COUNTS, float(BAG_COUNTS.mean())

    lines = [f"M&Ms counted in {len(counts)} bags (illustrative): " + " ".join(f"{c:.0f}" for c in counts), "",
             "The cost of being off by d:", "  d           " + "".join(f"{d:>12}" for d in (1, 2, 4, 8))]
    for name, vals in cost_table().items():
        lines.append(f"  {name:<12}" + "".join(f"{v:>12.3g}" if isinstance(v, float) else f"{v:>12,}" for v in vals))
    lines += ["", "Exhaustive search: L(n) = sum_i (n_i - n)^2 for each whole candidate n"]
    cands, losses = exhaustive(counts)
    best = int(cands[np.argmin(losses)])
    for c, l in zip(cands, losses):
        bar = "#" * int(round(50 * l / losses.max()))
        lines.append(f"  n = {c:3d}  L = {l:7.1f}  {bar}{'  <- lowest' if c == best else ''}")
    lines += ["", f"Gradient descent from n = {START:g}, learning rate {LEARNING_RATE:g}; dL/dn by autodiff"
              " (the formula -2 sum_i (n_i - n) beside it)",
              f"  {'step':>4}  {'estimate':>12}  {'loss':>14}  {'dL/dn':>14}  {'formula':>14}"]
    rows = gradient_descent(counts, steps=steps)
    for step, est, loss, slope, formula in rows:
        lines.append(f"  {step:4d}  {est:12.6f}  {loss:14.6f}  {slope:14.6f}  {formula:14.6f}")
    final = rows[-1][1]
    lines += ["", f"final estimate {final:.6f}; the mean of the counts is {mean:.6f} (off by {abs(final - mean):.2e});"
              f" the best whole count by exhaustive search is {best}"]
    text = "\n".join(lines)
    say(text)
    (out / "steps.txt").write_text(text + "\n")
    results = {"final_estimate": final, "true_mean": mean, "abs_error": abs(final - mean),
               "final_loss": rows[-1][2], "min_loss": float(((counts - mean) ** 2).sum()),
               "exhaustive_best": best, "steps": steps, "learning_rate": LEARNING_RATE, "bags": int(len(counts))}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    results["out"] = str(out)
    return results
