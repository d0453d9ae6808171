"""Op benchmarks: glassnet beside PyTorch (CPU, float32), forward + backward.

    python benchmarks/ops.py            # warm-up, then 9 paired alternating rounds per case
    python benchmarks/ops.py --quick    # a smoke run: small batch, 3 rounds

Each round times glassnet then torch (or the reverse, alternating) on the same data; the
table shows the median ms of each and the median of the per-round ratios torch / glassnet
(1.0 = as fast as torch, 0.5 = twice as slow). torch gets as many threads as NumPy's BLAS.
On a machine shared with other work the ms vary from run to run; the paired ratios less so.
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


def conv_case(batch, size, c_in, filters, x_grad):
    """Conv2D 3x3 "same": forward, then backward for the kernel (and x unless first layer)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, c_in), dtype=np.float32)
    w = (rng.standard_normal((3, 3, c_in, filters), dtype=np.float32) * 0.1)
    g = rng.standard_normal((batch, size, size, filters), dtype=np.float32)

    def glassnet_step():
        xt = gn.tensor(x, requires_grad=x_grad)
        wt = gn.tensor(w, requires_grad=True)
        gn.ops.conv(xt, wt, padding="same").backward(g)

    def torch_setup(torch):
        xt = torch.tensor(x).permute(0, 3, 1, 2).contiguous()     # torch's native NCHW
        wt = torch.tensor(w).permute(3, 2, 0, 1).contiguous()
        gt = torch.tensor(g).permute(0, 3, 1, 2).contiguous()

        def step():
            a = xt.detach().requires_grad_(x_grad)
            b = wt.detach().requires_grad_(True)
            torch.nn.functional.conv2d(a, b, padding=1).backward(gt)
        return step

    return glassnet_step, torch_setup


def matmul_case(m, k, n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    g = rng.standard_normal((m, n), dtype=np.float32)

    def glassnet_step():
        at, bt = gn.tensor(a, requires_grad=True), gn.tensor(b, requires_grad=True)
        gn.ops.matmul(at, bt).backward(g)

    def torch_setup(torch):
        at, bt, gt = torch.tensor(a), torch.tensor(b), torch.tensor(g)

        def step():
            (at.detach().requires_grad_(True) @ bt.detach().requires_grad_(True)).backward(gt)
        return step

    return glassnet_step, torch_setup


def timed(fn, reps, settle):
    """Median ms of ``reps`` calls, after a pause and one untimed call.

    Both libraries' idle BLAS/OpenMP threads spin for a while after their work (OpenBLAS
    ~0.1 s); on 2 cores that spin steals the other library's cores. Pausing before each
    block lets them go to sleep. The median of single calls resists other processes'
    bursts on a shared machine better than a mean does.
    """
    time.sleep(settle)
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def run(cases, rounds, torch, settle):
    rows = []
    for name, (gn_step, torch_setup) in cases:
        t_step = torch_setup(torch)
        for _ in range(2):                     # warm-up (allocator, BLAS threads, caches)
            gn_step()
            t_step()
        once = timed(gn_step, 1, settle)
        reps = max(3, int(60 / max(once, 1e-3)))   # ~60 ms of work per timing block
        g_ms, t_ms, ratios = [], [], []
        for r in range(rounds):
            order = (gn_step, t_step) if r % 2 == 0 else (t_step, gn_step)
            times = {f: timed(f, reps, settle) for f in order}
            g_ms.append(times[gn_step])
            t_ms.append(times[t_step])
            ratios.append(times[t_step] / times[gn_step])
        rows.append((name, statistics.median(g_ms), statistics.median(t_ms), statistics.median(ratios)))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small batch, 3 rounds (smoke run)")
    p.add_argument("--rounds", type=int, default=None, help="paired rounds per case (default 9)")
    p.add_argument("--threads", type=int, default=None,
                   help="limit both libraries to this many threads (needs threadpoolctl)")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("benchmarks/ops.py needs PyTorch as the reference: pip install torch", file=sys.stderr)
        return 1
    limiter = None
    if args.threads:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(args.threads, user_api="blas")  # noqa: F841 (held for the run)
    threads = blas_threads()
    torch.set_num_threads(threads)
    batch = 4 if args.quick else 32
    rounds = args.rounds or (3 if args.quick else 9)
    cases = [
        (f"conv2d {batch}x28x28x32 -> 64, 3x3 same (fwd+bwd)", conv_case(batch, 28, 32, 64, True)),
        (f"conv2d {batch}x28x28x1 -> 32, 3x3 same, first layer", conv_case(batch, 28, 1, 32, False)),
        ("matmul 128x784 @ 784x512 (fwd+bwd)", matmul_case(128, 784, 512)),
    ]
    print(f"glassnet {gn.__version__} vs torch {torch.__version__}, float32, {threads} BLAS threads, "
          f"{rounds} paired rounds")
    rows = run(cases, rounds, torch, settle=0.05 if args.quick else 0.3)
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'glassnet ms':>11}  {'torch ms':>9}  {'torch/glassnet':>14}")
    for name, g, t, ratio in rows:
        print(f"{name:<{width}}  {g:>11.2f}  {t:>9.2f}  {ratio:>14.2f}")
    print("ratios (torch_time / glassnet_time): " + ", ".join(f"{r[0].split(' (')[0]}: {r[3]:.2f}" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
