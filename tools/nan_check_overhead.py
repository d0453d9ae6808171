"""Overhead of fit's default NaN/inf check on one epoch of the seed 002 MLP.

    python tools/nan_check_overhead.py [--rounds 7] [--steps 60]

Alternates epochs with the check on and off (paired rounds, the machine is noisy) and
prints the median per-round ratio (on / off) and the overhead in percent.
"""
import argparse
import statistics
import time

import numpy as np

import glassnet as gn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=60, help="batches of 128 per epoch")
    args = p.parse_args()
    gn.utils.set_random_seed(0)
    L = gn.layers
    model = gn.Sequential([gn.Input((784,)), L.Dense(512, activation="relu"), L.Dropout(0.2),
                           L.Dense(512, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((128 * args.steps, 784), dtype=np.float32)
    y = rng.integers(0, 10, len(x))
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)  # warm-up
    ratios, on_times, off_times = [], [], []
    for _ in range(args.rounds):
        times = {}
        for enabled in (True, False):
            gn.debug.set_check_numerics(enabled)
            t = time.perf_counter()
            model.fit(x, y, batch_size=128, epochs=1, verbose=0)
            times[enabled] = time.perf_counter() - t
        gn.debug.set_check_numerics(True)
        ratios.append(times[True] / times[False])
        on_times.append(times[True])
        off_times.append(times[False])
    r = statistics.median(ratios)
    print(f"epoch of {args.steps} steps: check on {statistics.median(on_times):.3f} s, "
          f"off {statistics.median(off_times):.3f} s; median ratio {r:.4f} -> overhead {100 * (r - 1):+.2f} %")


if __name__ == "__main__":
    main()
