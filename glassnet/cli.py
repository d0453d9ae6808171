"""The ``glassnet`` command: run the seed applications end to end.

    glassnet demo                 the digits convnet (about a minute or less on 2 cores)
    glassnet run NAME [--epochs N] [--seed S] [--out DIR]
    glassnet list
"""
import argparse
import sys


def _parser():
    import glassnet
    p = argparse.ArgumentParser(prog="glassnet", description="glassnet: a glass-box deep learning framework on NumPy")
    p.add_argument("--version", action="version", version=f"glassnet {glassnet.__version__}")
    sub = p.add_subparsers(dest="command", metavar="{demo,run,list}")
    demo = sub.add_parser("demo", help="train the digits convnet on real handwritten digits")
    run = sub.add_parser("run", help="run one application (see `glassnet list`)")
    run.add_argument("name", help="application name")
    for q in (demo, run):
        q.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the app's own)")
        q.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        q.add_argument("--out", default="glassnet-out", help="output directory (default ./glassnet-out)")
        q.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None, help="progress display (default: auto)")
    sub.add_parser("list", help="list the applications")
    return p


def _run_app(name, args):
    from glassnet import apps
    app = apps.load(name)
    print(f"glassnet run {name}: {app.SUMMARY}")
    results = app.run(epochs=args.epochs, seed=args.seed, out=args.out,
                      verbose="auto" if args.verbose is None else args.verbose)
    out = results.pop("out", None)
    width = max(len(k) for k in results)
    print()
    for key, value in results.items():
        shown = value
        if isinstance(value, float) and not key.endswith("seconds"):
            shown = f"{value:.3e}" if 0 < abs(value) < 1e-3 else f"{value:.4f}"
        print(f"  {key:<{width}}  {shown}")
    if out:
        print(f"\nresults written to {out}")
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            from glassnet import apps
            for name in apps.names():
                print(f"  {name:<14} {apps.load(name).SUMMARY}")
            return 0
        if args.command == "demo":
            return _run_app("digits", args)
        if args.command == "run":
            return _run_app(args.name, args)
        _parser().print_help()
        return 0
    except (ValueError, FileNotFoundError, ImportError) as e:
        print(f"glassnet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
