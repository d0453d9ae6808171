"""glassnet against PyTorch on the CPU: training steps, predict, peak memory and import time.

    python benchmarks/bench.py                  # the full run (about 5-10 minutes)
    python benchmarks/bench.py --quick          # a smoke run that proves the harness works (CI)
    python benchmarks/bench.py --only mlp,cnn   # some workloads (tiny mlp cnn lstm predict_mlp
                                                #   predict_cnn import)
    python benchmarks/bench.py --profile cnn    # where glassnet's time goes (cProfile, top functions)
    python benchmarks/bench.py --run glassnet cnn --steps 50   # just run steps (for py-spy etc.)

Workloads (benchmarks/workloads.py): identical models, float32 data and Adam(1e-3) on both
sides. glassnet trains through its public API (``train_on_batch``, ``predict``), PyTorch
through a plain nn.Module + torch.optim.Adam + ``loss.backward()`` loop.

Method:
- Speed: each framework runs in its own worker process (so that thread pools, allocator
  state and imports of one never touch the other), driven by this one. After a warm-up,
  each round times a block of steps of one framework, then of the other (the order
  alternates from round to round, with a 0.25 s pause before each block so that the other
  side's BLAS/OpenMP threads have stopped spinning); the ratio of a round is
  torch_ms / glassnet_ms (above 1: glassnet is faster). The table shows the median ms of
  each side and the median (and quartiles) of the per-round ratios: on a VM with CPU steal
  the ms drift, the paired ratios much less.
- Threads: both frameworks use the number of threads of NumPy's BLAS (threadpoolctl, else
  OPENBLAS_NUM_THREADS, else the core count), torch through torch.set_num_threads.
- Peak memory: a fresh child process per framework and workload imports the framework,
  makes the data, and runs the workload once on a throwaway model (so the framework's lazy
  set-up, such as thread pools, kernel code pages and BLAS buffers, is not counted; a
  glassnet child is then made hot and runs it once more, loading its compiled kernels, so
  that the measured steps run the tier that was timed); then,
  with the freed heap trimmed (malloc_trim) and the kernel's peak-RSS mark reset (writing 5
  to /proc/self/clear_refs), it builds a fresh model and runs the steps. The figure is
  VmHWM minus the RSS before that build: weights, gradients, optimizer state, activations,
  workspace and allocator slack, counted the same way for both (a 1 ms RSS sampler where
  clear_refs cannot be written). The JSON also has "cold_mb", the first model's growth.
- Import: ``import glassnet`` / ``import torch`` timed inside fresh interpreters, alternating,
  both from cached bytecode (a private PYTHONPYCACHEPREFIX, filled by one untimed import).
- GEMM floor: the run starts by measuring NumPy's float32 GEMM speed (best of several
  1024^3 products) and measures it again before each workload (here and in glassnet's
  worker, after ``import glassnet``) and at the end (CPU steal comes and goes; the best
  speed seen is the machine's). glassnet's worker also times its compiled AVX-512 GEMM
  (glassnet.compiled.gemm) on the same product, in row blocks on its threads, where it runs.
  A workload's floor is its GEMM/conv FLOPs (forward + backward) at the faster of the two
  speeds, and "floor %" is floor / step time (100 % = nothing but GEMMs at peak speed).

The last line lists every ratio: ``RATIOS tiny=... import=...``.
"""
import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import workloads as W  # noqa: E402

GOALS = {"tiny": 5.0, "mlp": 1.2, "cnn": 1.5, "lstm": 1.2, "predict_mlp": 1.0, "predict_cnn": 1.5}
IMPORT_GOAL_S = 0.25
ALL = list(W.WORKLOADS) + ["import"]


# ---- threads ---------------------------------------------------------------------------------
def blas_threads():
    """Threads NumPy's BLAS uses: threadpoolctl, else OPENBLAS_NUM_THREADS, else the cores."""
    try:
        from threadpoolctl import threadpool_info
        counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return int(env) if env and env.isdigit() else (os.cpu_count() or 1)


def set_threads(n, torch=None, torch_n=None):
    """NumPy's BLAS and torch both on ``n`` threads (torch on ``torch_n`` if given)."""
    try:
        from threadpoolctl import threadpool_limits
        set_threads._keep = threadpool_limits(limits=n, user_api="blas")
    except ImportError:
        pass  # the children get OPENBLAS_NUM_THREADS in their environment
    if torch is not None:
        torch.set_num_threads(torch_n or n)


# ---- measurements ----------------------------------------------------------------------------
def gemm_gflops(reps):
    """NumPy float32 GEMM speed on this machine: best of ``reps`` 1024^3 products."""
    rng = np.random.default_rng(0)
    n = 1024
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def _block(fn, k, pause=0.02):
    # let the other framework's worker threads stop spinning first (OpenBLAS threads spin for
    # ~0.1 s after a call, OpenMP's for a while too): on 2 shared cores they would steal this
    # block's CPU
    time.sleep(pause)
    t = time.perf_counter()
    for _ in range(k):
        fn()
    return (time.perf_counter() - t) / k


def _quartiles(values):
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def time_pair(name, workers, rounds, warmup, warmup_s, target_s, pause):
    """Paired alternating rounds: per-step ms of each framework and per-round ratios.
    Each framework runs in its own worker process; the timing is taken inside the worker."""
    per_call = W.steps_per_call(name)
    blocks, tier = {}, None
    for fw, worker in workers.items():
        reply = worker.call(cmd="build", name=name, warmup=warmup, warmup_s=warmup_s)
        one = reply["one"]
        tier = reply.get("tier", tier)
        blocks[fw] = max(1, min(2000, math.ceil(target_s / max(one, 1e-6))))
    ms = {fw: [] for fw in workers}
    ratios = []
    order = list(workers)
    for r in range(rounds):
        this = {}
        for fw in (order if r % 2 == 0 else order[::-1]):
            this[fw] = workers[fw].call(cmd="time", k=blocks[fw], pause=pause)["s"] / per_call * 1e3
            ms[fw].append(this[fw])
        ratios.append(this["torch"] / this["glassnet"])
    return {
        "glassnet_ms": statistics.median(ms["glassnet"]),
        "torch_ms": statistics.median(ms["torch"]),
        "ratio": statistics.median(ratios),
        "ratio_q": _quartiles(ratios),
        "rounds": rounds,
        "steps_per_block": blocks,
        "glassnet_tier": tier,
    }


class WorkerError(RuntimeError):
    pass


class Worker:
    """One framework in its own process, driven by JSON lines: its threads, allocator and
    imports never touch the other framework's (see ``worker_main``)."""

    def __init__(self, fw, threads, adam, torch_threads=None):
        self.fw = fw
        self.err = tempfile.TemporaryFile(mode="w+")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", fw, "--threads", str(threads),
               "--torch-adam", adam] + (["--torch-threads", str(torch_threads)] if torch_threads else [])
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=_child_env(threads), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True, bufsize=1)
        self.hello = self._recv()

    def _recv(self):
        line = self.proc.stdout.readline()
        if not line:
            self.err.seek(0)
            tail = (self.err.read().strip().splitlines() or ["no output"])[-1]
            raise WorkerError(f"{self.fw} worker exited: {tail}")
        msg = json.loads(line)
        if "error" in msg:
            raise WorkerError(msg["error"])
        return msg

    def call(self, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._recv()

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=60)
        self.err.close()


def _import_framework(fw, threads, torch_threads=None):
    """Import one framework and its workload module, with the benchmark's thread setting."""
    if fw == "torch":
        import torch
        import workloads_torch as impl
        set_threads(threads, torch, torch_threads)
        return impl, torch.__version__
    import glassnet
    import workloads_glassnet as impl
    set_threads(threads)
    return impl, getattr(glassnet, "__version__", "?")


def worker_main(fw, threads, adam, torch_threads=None):
    """The worker loop: build a workload, time blocks of its steps, free it (see Worker)."""
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # stray prints must not garble the protocol

    def send(msg):
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    impl, version = _import_framework(fw, threads, torch_threads)
    send({"version": version, "threads": threads})
    step = None
    kwargs = {"adam": adam} if fw == "torch" else {}
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["cmd"] == "build":
                step = None
                gc.collect()
                name = msg["name"]
                step, model = impl.build(name, *impl.prepare(name, *W.make_data(name)), **kwargs)
                # warm-up: at least `warmup` steps and `warmup_s` seconds (glassnet compiles a hot
                # small Dense net's step after 1 s of steps: the rounds time the steady state)
                end, n = time.perf_counter() + msg.get("warmup_s", 0.0), 0
                while n < max(1, msg.get("warmup", 1)) or time.perf_counter() < end:
                    step()
                    n += 1
                reply = {"one": _block(step, 1), "warmup_steps": n}
                if hasattr(impl, "tier"):
                    reply["tier"] = impl.tier(name, model)
                send(reply)
            elif msg["cmd"] == "gemm":
                compiled = getattr(impl, "compiled_gemm_gflops", lambda reps: None)(msg.get("reps", 5))
                send({"gflops": gemm_gflops(msg.get("reps", 5)), "compiled_gflops": compiled})
            elif msg["cmd"] == "time":
                send({"s": _block(step, msg["k"], msg.get("pause", 0.02))})
            elif msg["cmd"] == "free":
                step = None
                gc.collect()
                send({})
            elif msg["cmd"] == "exit":
                break
        except Exception as e:  # e.g. a layer glassnet does not have yet: reported, not fatal
            step = None
            send({"error": f"{type(e).__name__}: {e}".splitlines()[0][:200]})


def _child_env(threads):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def import_times(rounds, threads):
    """Seconds of ``import glassnet`` and ``import torch`` in fresh interpreters, alternating."""
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
    env = _child_env(threads)
    # Both import from cached bytecode, as an installed package does: where the environment
    # sets PYTHONDONTWRITEBYTECODE, a source checkout of glassnet would otherwise be compiled
    # at every import (~2x slower) while torch's wheel ships its .pyc files. The cache lives
    # outside the repository and persists between runs; one untimed import fills it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "glassnet-bench-pycache")
    for mod in ("glassnet", "torch"):
        subprocess.run([sys.executable, "-c", code.format(mod)], cwd=ROOT, env=env, capture_output=True, check=True)
    times = {"glassnet": [], "torch": []}
    ratios = []
    for r in range(rounds):
        this = {}
        for mod in (("glassnet", "torch") if r % 2 == 0 else ("torch", "glassnet")):
            out = subprocess.run([sys.executable, "-c", code.format(mod)], cwd=ROOT, env=env,
                                 capture_output=True, text=True, check=True)
            this[mod] = float(out.stdout.strip().splitlines()[-1])
            times[mod].append(this[mod])
        ratios.append(this["torch"] / this["glassnet"])
    return {"glassnet_s": statistics.median(times["glassnet"]), "torch_s": statistics.median(times["torch"]),
            "ratio": statistics.median(ratios), "ratio_q": _quartiles(ratios), "rounds": rounds}


def peak_memory(fw, name, steps, threads, adam, torch_threads=None):
    """Peak RSS growth (MB) of ``steps`` steps of a workload, in a fresh child process."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_mem", fw, name, "--steps", str(steps),
           "--threads", str(threads), "--torch-adam", adam]
    if torch_threads:
        cmd += ["--torch-threads", str(torch_threads)]
    out = subprocess.run(cmd, cwd=ROOT, env=_child_env(threads), capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("MEM "):
            return json.loads(line[4:])
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": tail}


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


class _RssSampler(threading.Thread):
    """Fallback peak tracker where /proc/self/clear_refs cannot be written: RSS every 1 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = _status_kb("VmRSS"), False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, _status_kb("VmRSS"))
            time.sleep(0.001)


def _malloc_trim():
    """Give freed heap memory back to the OS (glibc), so RSS shows what is still in use."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _peak_growth(run):
    """Peak RSS growth (kB) while ``run()`` runs, over the RSS just before it."""
    gc.collect()
    _malloc_trim()
    sampler = None
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        method = "VmHWM after clear_refs"
    except OSError:
        sampler = _RssSampler()
        sampler.start()
        method = "1 ms RSS sampler"
    base = _status_kb("VmRSS")
    run()
    if sampler is None:
        peak = _status_kb("VmHWM")
    else:
        sampler.stop = True
        sampler.join()
        peak = max(sampler.peak, _status_kb("VmRSS"))
    return peak - base, base, method


def child_memory(fw, name, steps, threads, adam, torch_threads=None):
    """Peak RSS growth of building a workload's model and running ``steps`` steps, twice:
    "cold" (the first model in the process: includes the framework's lazy set-up, such as
    thread pools, kernel code pages, BLAS buffers) and "warm" (a second, fresh model after
    the first was freed: the memory of the training itself, which the table reports). A
    glassnet process is made hot in between (glassnet.compiled: its kernels loaded, by one
    more session), so that the warm session runs the tier the timed steps ran on."""
    impl, _ = _import_framework(fw, threads, torch_threads)
    x, y = impl.prepare(name, *W.make_data(name))
    kwargs = {"adam": adam} if fw == "torch" else {}

    def session():
        step, _model = impl.build(name, x, y, **kwargs)
        for _ in range(steps):
            step()

    cold, _, _ = _peak_growth(session)
    heated = hasattr(impl, "heat")
    if heated:  # glassnet: the compiled tier the timed steps run on after their warm-up
        impl.heat()
        session()  # loads (or compiles) the kernels: set-up, like the cold session's
    warm, base, method = _peak_growth(session)
    print("MEM " + json.dumps({"peak_mb": warm / 1024, "cold_mb": cold / 1024, "base_mb": base / 1024,
                               "method": method, "heated": heated}))


# ---- the run ---------------------------------------------------------------------------------
def run(args):
    threads = args.threads or blas_threads()
    set_threads(threads)
    quick = args.quick
    rounds = args.rounds or (3 if quick else 9)
    warmup = 1 if quick else 3
    warmup_s = 0.0 if quick else 2.5
    target_s = args.target_s if args.target_s is not None else (0.02 if quick else 0.4)
    mem_steps = 2 if quick else 5
    selected = ALL if not args.only else [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in selected if w not in ALL]
    if unknown:
        sys.exit(f"bench: unknown workload(s) {unknown}; choose from {ALL}")

    gflops = gemm_gflops(3 if quick else 15)
    workers = {fw: Worker(fw, threads, args.torch_adam, args.torch_threads) for fw in ("glassnet", "torch")}
    try:
        load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = "?"
    print(f"glassnet benchmark{' (--quick)' if quick else ''}: Python {platform.python_version()}, "
          f"NumPy {np.__version__}, torch {workers['torch'].hello['version']}; {os.cpu_count()} cores, load {load}")
    threads_text = (f"{threads} for both (NumPy BLAS and torch.set_num_threads)" if not args.torch_threads
                    else f"NumPy BLAS {threads}, torch {args.torch_threads} (--torch-threads: not the standard setting)")
    print(f"threads: {threads_text}; each framework in its own worker process; torch Adam: {args.torch_adam}; "
          f"{rounds} paired rounds after a warm-up of {warmup} steps and {warmup_s:g} s, ~{target_s:g} s per block")
    print(f"NumPy float32 GEMM at the start: {gflops:.1f} GFLOP/s (best of 1024^3 products); re-measured "
          f"before each workload, the best speed seen sets the GEMM floors")
    print()

    results = {}
    compiled_gflops = 0.0  # glassnet's compiled GEMM (AVX-512 CPUs), measured in its worker
    for name in selected:
        if name == "import":
            results[name] = import_times(rounds, threads)
            print(f"  import: glassnet {results[name]['glassnet_s']:.3f} s, torch {results[name]['torch_s']:.3f} s",
                  flush=True)
            continue
        # CPU steal comes and goes; measured in glassnet's worker too, whose NumPy set-up
        # (e.g. an OpenBLAS core type chosen at import) is the one the floor is about
        speeds = workers["glassnet"].call(cmd="gemm", reps=3 if quick else 5)
        gflops = max(gflops, gemm_gflops(3 if quick else 5), speeds["gflops"])
        compiled_gflops = max(compiled_gflops, speeds["compiled_gflops"] or 0.0)
        try:
            res = time_pair(name, workers, rounds, warmup, warmup_s, target_s, 0.02 if quick else 0.25)
        except WorkerError as e:
            results[name] = {"unavailable": str(e)}
            print(f"  {name}: unavailable ({e})", flush=True)
            for fw, worker in list(workers.items()):  # a crashed worker is replaced
                if worker.proc.poll() is not None:
                    workers[fw] = Worker(fw, threads, args.torch_adam, args.torch_threads)
                else:
                    worker.call(cmd="free")
            continue
        for worker in workers.values():
            worker.call(cmd="free")
        if not args.no_memory:
            for fw in ("glassnet", "torch"):
                res[f"{fw}_mem"] = peak_memory(fw, name, mem_steps, threads, args.torch_adam, args.torch_threads)
        results[name] = res
        print(f"  {name}: glassnet {res['glassnet_ms']:.2f} ms ({res['glassnet_tier']}), torch "
              f"{res['torch_ms']:.2f} ms, ratio {res['ratio']:.2f}", flush=True)

    for worker in workers.values():
        worker.close()
    gflops = max(gflops, gemm_gflops(3 if quick else 15))
    numpy_gflops, gflops = gflops, max(gflops, compiled_gflops)
    for name, res in results.items():
        if "glassnet_ms" in res:
            floor_ms = W.gemm_flops(name) / (gflops * 1e9) * 1e3
            res.update(floor_ms=floor_ms, glassnet_floor=floor_ms / res["glassnet_ms"],
                       torch_floor=floor_ms / res["torch_ms"])
    print()
    compiled_text = (f", glassnet's compiled GEMM {compiled_gflops:.1f}" if compiled_gflops
                     else "; glassnet's compiled GEMM did not run")
    print(f"GEMM floors at {gflops:.1f} GFLOP/s, the best float32 GEMM speed seen in this run (NumPy "
          f"{numpy_gflops:.1f}{compiled_text})")
    print_table(results, selected)
    if args.json:
        Path(args.json).write_text(json.dumps({"gemm_gflops": gflops, "numpy_gemm_gflops": numpy_gflops,
                                               "compiled_gemm_gflops": compiled_gflops or None, "threads": threads,
                                               "rounds": rounds, "quick": quick, "results": results},
                                              indent=2, default=str))
    return results


def _mem_text(m):
    if m is None:
        return "-"
    if "error" in m:
        return "error"
    return f"{m['peak_mb']:.1f}"


def print_table(results, selected):
    head = (f"{'workload':<13}{'glassnet ms':>12}{'torch ms':>10}{'ratio t/g':>10}{'[q1-q3]':>13}{'goal':>9}"
            f"{'met':>5}{'floor ms':>10}{'gn floor':>9}{'pt floor':>9}{'gn MB':>8}{'pt MB':>8}{'mem ok':>7}")
    print(head)
    print("-" * len(head))
    ratios = []
    for name in selected:
        r = results[name]
        if name == "import":
            met = "yes" if r["glassnet_s"] <= IMPORT_GOAL_S else "no"
            print(f"{'import (s)':<13}{r['glassnet_s']:>12.3f}{r['torch_s']:>10.3f}{r['ratio']:>10.2f}"
                  f"{'%.2f-%.2f' % r['ratio_q']:>13}{'<=%.2fs' % IMPORT_GOAL_S:>9}{met:>5}")
            ratios.append(f"import={r['ratio']:.2f}")
            continue
        if "unavailable" in r:
            print(f"{name:<13}{'unavailable: ' + r['unavailable']}")
            ratios.append(f"{name}=unavailable")
            continue
        goal = GOALS[name]
        gm, tm = r.get("glassnet_mem"), r.get("torch_mem")
        mem_ok = "-"
        if gm and tm and "error" not in gm and "error" not in tm:
            mem_ok = "yes" if gm["peak_mb"] <= tm["peak_mb"] else "no"
        noisy = "*" if r["ratio_q"][1] > 1.5 * r["ratio_q"][0] else " "
        print(f"{name:<13}{r['glassnet_ms']:>12.2f}{r['torch_ms']:>10.2f}{r['ratio']:>9.2f}{noisy}"
              f"{'%.2f-%.2f' % r['ratio_q']:>13}{'>=%g' % goal:>9}{'yes' if r['ratio'] >= goal else 'no':>5}"
              f"{r['floor_ms']:>10.3f}{r['glassnet_floor']:>9.1%}{r['torch_floor']:>9.1%}"
              f"{_mem_text(gm):>8}{_mem_text(tm):>8}{mem_ok:>7}")
        ratios.append(f"{name}={r['ratio']:.2f}")
    print()
    print("ms: per training step (predict_*: per batch of 1024); ratio: median over paired rounds of "
          "torch ms / glassnet ms (>1: glassnet faster); floor: GEMM/conv FLOPs at the best GEMM speed seen; "
          "MB: peak RSS growth over the model build and steps, fresh process per framework and workload "
          "(glassnet hot, as timed); "
          "*: noisy (the per-round ratios' q3 > 1.5 x q1; rerun, or compare with --threads 1)")
    tiers = [f"{n}={r['glassnet_tier']}" for n, r in results.items() if r.get("glassnet_tier")]
    if tiers:
        print("glassnet's step after the warm-up (compiled: numba kernels, glassnet[fast]; replayed: the "
              "recorded NumPy ops; eager): " + " ".join(tiers))
    print("RATIOS " + " ".join(ratios))


# ---- profiling helpers -----------------------------------------------------------------------
def run_steps(fw, name, steps, threads, adam, torch_threads=None):
    """Build one side of a workload and run ``steps`` steps (for an outside profiler)."""
    impl, _ = _import_framework(fw, threads, torch_threads)
    kwargs = {"adam": adam} if fw == "torch" else {}
    step, _ = impl.build(name, *impl.prepare(name, *W.make_data(name)), **kwargs)
    for _ in range(3):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t) / steps / W.steps_per_call(name)
    print(f"{fw} {name}: {dt * 1e3:.2f} ms per step over {steps} steps")


def profile(name, steps, threads):
    """cProfile of glassnet's side of a workload: the top functions by own time and by total."""
    import cProfile
    import pstats

    import workloads_glassnet as impl
    set_threads(threads)
    step, _ = impl.build(name, *impl.prepare(name, *W.make_data(name)))
    for _ in range(3):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(30)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds of short blocks")
    p.add_argument("--only", help=f"comma-separated workloads, from {','.join(ALL)}")
    p.add_argument("--rounds", type=int, help="paired rounds after warm-up (default 9, quick 3)")
    p.add_argument("--target-s", type=float, help="seconds per timed block (default 0.4, quick 0.02)")
    p.add_argument("--threads", type=int, help="threads for both frameworks (default: NumPy's BLAS threads)")
    p.add_argument("--torch-threads", type=int,
                   help="give torch a different thread count (a diagnostic; the benchmark's rule is the same count)")
    p.add_argument("--torch-adam", choices=["default", "foreach", "fused"], default="default",
                   help="torch.optim.Adam implementation (default: torch's own choice on CPU)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--profile", metavar="WORKLOAD", help="cProfile glassnet's side of WORKLOAD")
    p.add_argument("--run", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"), help="just run steps (for py-spy)")
    p.add_argument("--steps", type=int, default=None, help="steps for --profile / --run / memory")
    p.add_argument("--_mem", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        p.error("--rounds must be >= 1")
    threads = args.threads or blas_threads()
    if args._worker:
        return worker_main(args._worker, threads, args.torch_adam, args.torch_threads)
    if args._mem:
        return child_memory(*args._mem, args.steps or 5, threads, args.torch_adam, args.torch_threads)
    if args.run:
        return run_steps(*args.run, args.steps or 20, threads, args.torch_adam, args.torch_threads)
    if args.profile:
        return profile(args.profile, args.steps or 20, threads)
    run(args)


if __name__ == "__main__":
    main()
