"""The ``kansci`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np

__all__ = ["main"]


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _cmd_fit(args) -> int:
    import pandas as pd
    import torch

    from . import KAN
    from ._arrays import InputError

    try:
        df = pd.read_csv(args.data)
    except FileNotFoundError:
        raise CLIError(f"no such file: {args.data}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CLIError(f"could not read {args.data} as CSV ({exc})") from None
    if args.target not in df.columns:
        raise CLIError(f"target column {args.target!r} not in {args.data}; columns are {list(df.columns)}")
    return _fit_table(df, args.target, args.width, args.grid, args.steps, args.seed, KAN, InputError, torch)


def _fit_table(df, target, width, grid, steps, seed, KAN, InputError, torch) -> int:
    X = df.drop(columns=[target])
    y = df[target]
    rng = np.random.default_rng(seed)
    test = rng.random(len(df)) < 0.2
    hidden = [int(w) for w in width.split(",")] if width else [5]
    model = KAN([X.shape[1], *hidden, 1], grid=5, seed=seed, dtype=torch.float64, input_names=list(X.columns))
    try:
        Xtr, ytr = X[~test].to_numpy(float), y[~test].to_numpy(float)
        start = time.perf_counter()
        model.fit(Xtr, ytr, steps=steps)
        for g in (10, grid):
            if g > model.grid:
                model.extend_grid(g, Xtr)
                model.fit(Xtr, ytr, steps=steps, update_grid=False)
        seconds = time.perf_counter() - start
    except (InputError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    pred = model.predict(X[test].to_numpy(float)).numpy().ravel()
    rmse = float(np.sqrt(np.mean((pred - y[test].to_numpy(float)) ** 2)))
    print(f"KAN {model.width}, grid {model.grid}: held-out RMSE {rmse:.3g} "
          f"(target std {y.std():.3g}, {int(test.sum())} held-out rows, {seconds:.1f} s)")
    return 0


def _cmd_demo(args) -> int:
    import torch

    from . import KAN
    from ._arrays import InputError
    from .datasets import feynman

    df, truth = feynman("I.6.2a", n=1000, seed=args.seed)
    print(f"Feynman I.6.2a, f = {truth}: fitting a KAN to 1000 rows")
    return _fit_table(df, "f", "5", 20, 40, args.seed, KAN, InputError, torch)


def _cmd_bench(args) -> int:
    if args.which == "speed":
        from .bench.speed import main as speed_main

        return speed_main(args.rest)
    raise CLIError(f"unknown benchmark {args.which!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kansci", description="Rediscover physical laws from tabular data.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit a KAN to a CSV and print the held-out error")
    p.add_argument("data")
    p.add_argument("--target", required=True)
    p.add_argument("--width", default="5", help="hidden layer sizes, comma separated (default 5)")
    p.add_argument("--grid", type=int, default=20, help="final grid size after extension")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("demo", help="run the main job on a bundled dataset")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("bench", help="benchmarks that print figures")
    p.add_argument("which", choices=["speed"])
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"kansci: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kansci: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
