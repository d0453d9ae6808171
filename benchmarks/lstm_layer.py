"""LSTM layer benchmark: glassnet LSTM(128) beside torch.nn.LSTM(128) (CPU, float32),
forward + backward on (64, 100, 128) inputs, the same weights on both sides.

    python benchmarks/lstm_layer.py            # warm-up, then 9 paired alternating rounds per case
    python benchmarks/lstm_layer.py --quick    # a smoke run: 3 rounds
    python benchmarks/lstm_layer.py --threads 1 --cpu-time   # CPU time, on a busy machine
    python benchmarks/lstm_layer.py --profile  # where glassnet's time goes (cProfile)

Each round times glassnet then torch (or the reverse, alternating); the table shows the median
ms of each and the median of the per-round ratios torch / glassnet (above 1.0: glassnet is
faster). Both get the gradient of the input too (an LSTM inside a model), and torch gets as
many threads as NumPy's BLAS. On a shared machine, wall-clock times swing with other
processes' load; ``--threads 1 --cpu-time`` measures the CPU time of the one working thread
instead (both libraries then compute on the calling thread), which other processes barely move.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import glassnet as gn  # noqa: E402
from bench import blas_threads  # noqa: E402  (this folder is on the path of a script run from it)

BATCH, STEPS, FEATURES, UNITS = 64, 100, 128, 128


def blas_kernels():
    """The CPU kernels NumPy's BLAS picked, e.g. OpenBLAS "Haswell" (AVX2) or "SkylakeX"
    (AVX-512): GEMM dominates this benchmark, so this decides most of glassnet's time."""
    try:
        from threadpoolctl import threadpool_info
        return ", ".join(f"{i['internal_api']} {i.get('architecture')}" for i in threadpool_info()
                         if i["user_api"] == "blas") or "unknown"
    except ImportError:
        return "unknown (install threadpoolctl)"


def lstm_case(torch, return_sequences):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, STEPS, FEATURES), dtype=np.float32)
    out_shape = (BATCH, STEPS, UNITS) if return_sequences else (BATCH, UNITS)
    g = rng.standard_normal(out_shape, dtype=np.float32)
    layer = gn.layers.LSTM(UNITS, return_sequences=return_sequences)
    layer(x[:2])
    kernel, recurrent, bias = layer.get_weights()

    ref = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
    with torch.no_grad():  # the same weights: torch keeps (4u, in) matrices and two biases
        ref.weight_ih_l0.copy_(torch.tensor(kernel.T))
        ref.weight_hh_l0.copy_(torch.tensor(recurrent.T))
        ref.bias_ih_l0.copy_(torch.tensor(bias))
        ref.bias_hh_l0.zero_()
    xt_ref, g_ref = torch.tensor(x), torch.tensor(g)

    def glassnet_step():
        xt = gn.tensor(x, requires_grad=True)
        y = layer(xt, training=True)
        y.backward(g)
        return y

    def torch_step():
        xt = xt_ref.detach().requires_grad_(True)
        seq, _ = ref(xt)
        y = seq if return_sequences else seq[:, -1]
        y.backward(g_ref)
        return y

    diff = np.abs(glassnet_step().numpy() - torch_step().detach().numpy()).max()
    assert diff < 1e-4, f"glassnet and torch disagree by {diff}"
    return glassnet_step, torch_step


def timed(fn, reps, settle, clock=time.perf_counter):
    """Median ms of ``reps`` calls after a pause (idle BLAS/OpenMP threads of the other library
    spin for a while and would steal its cores on a small machine) and one untimed call."""
    time.sleep(settle)
    fn()
    times = []
    for _ in range(reps):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times) * 1e3


def run(cases, rounds, settle, reps, clock):
    rows = []
    for name, (gn_step, torch_step) in cases:
        for _ in range(2):  # warm-up: allocator, BLAS threads, caches
            gn_step()
            torch_step()
        g_ms, t_ms, ratios = [], [], []
        for r in range(rounds):
            order = (gn_step, torch_step) if r % 2 == 0 else (torch_step, gn_step)
            times = {f: timed(f, reps, settle, clock) for f in order}
            g_ms.append(times[gn_step])
            t_ms.append(times[torch_step])
            ratios.append(times[torch_step] / times[gn_step])
        rows.append((name, statistics.median(g_ms), statistics.median(t_ms), statistics.median(ratios)))
    return rows


def profile(step):
    import cProfile
    import pstats
    step()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(5):
        step()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(15)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 rounds (smoke run)")
    p.add_argument("--rounds", type=int, default=None, help="paired rounds per case (default 9)")
    p.add_argument("--threads", type=int, default=None,
                   help="limit both libraries to this many threads (needs threadpoolctl)")
    p.add_argument("--cpu-time", action="store_true",
                   help="time the calling thread's CPU time (with --threads 1) instead of wall-clock time")
    p.add_argument("--profile", action="store_true", help="profile glassnet's step instead of timing")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("benchmarks/lstm_layer.py needs PyTorch as the reference: pip install torch", file=sys.stderr)
        return 1
    if args.threads:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(args.threads, user_api="blas")  # noqa: F841 (held for the run)
    threads = blas_threads()
    torch.set_num_threads(threads)
    cases = [
        (f"LSTM({UNITS}) {BATCH}x{STEPS}x{FEATURES}, last output (fwd+bwd)", lstm_case(torch, False)),
        (f"LSTM({UNITS}, return_sequences=True) (fwd+bwd)", lstm_case(torch, True)),
    ]
    if args.profile:
        profile(cases[0][1][0])
        return 0
    rounds = args.rounds or (3 if args.quick else 9)
    if args.cpu_time and threads != 1:
        print("--cpu-time counts only the calling thread: add --threads 1", file=sys.stderr)
        return 1
    clock = time.thread_time if args.cpu_time else time.perf_counter
    print(f"glassnet {gn.__version__} vs torch {torch.__version__}, float32, {threads} BLAS threads, "
          f"{rounds} paired rounds, {'CPU' if args.cpu_time else 'wall-clock'} time; NumPy BLAS: {blas_kernels()}")
    rows = run(cases, rounds, settle=0.05 if args.quick else 0.3, reps=3, clock=clock)
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'glassnet ms':>11}  {'torch ms':>9}  {'torch/glassnet':>14}")
    for name, g, t, ratio in rows:
        print(f"{name:<{width}}  {g:>11.2f}  {t:>9.2f}  {ratio:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
