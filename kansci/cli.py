"""The ``kansci`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
import time

# only the standard library at import time: `kansci --help` must not wait for torch, sympy or
# numpy; every command imports what it needs when it runs

__all__ = ["main"]


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _check_device(args) -> None:
    """Fail at once, in one line, when the device asked for is not there (before reading data)."""
    if getattr(args, "device", None) is not None:
        from ._arrays import InputError
        from ._device import resolve_device

        try:
            resolve_device(args.device)
        except InputError as exc:
            raise CLIError(str(exc)) from None


def _cmd_fit(args) -> int:
    _check_device(args)
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
    return _fit_table(df, args.target, args.width, args.grid, args.steps, args.seed, KAN, InputError, torch,
                      device=args.device)


def _fit_table(df, target, width, grid, steps, seed, KAN, InputError, torch, device=None) -> int:
    import numpy as np

    X = df.drop(columns=[target])
    y = df[target]
    rng = np.random.default_rng(seed)
    test = rng.random(len(df)) < 0.2
    hidden = [int(w) for w in width.split(",")] if width else [5]
    model = KAN([X.shape[1], *hidden, 1], grid=5, seed=seed, dtype=torch.float64, input_names=list(X.columns))
    try:
        Xtr, ytr = X[~test].to_numpy(float), y[~test].to_numpy(float)
        start = time.perf_counter()
        model.fit(Xtr, ytr, steps=steps, device=device)
        for g in (10, grid):
            if g > model.grid:
                model.extend_grid(g, Xtr)
                model.fit(Xtr, ytr, steps=steps, update_grid=False)
        seconds = time.perf_counter() - start
    except (InputError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    pred = model.predict(X[test].to_numpy(float)).cpu().numpy().ravel()
    rmse = float(np.sqrt(np.mean((pred - y[test].to_numpy(float)) ** 2)))
    print(f"KAN {model.width}, grid {model.grid}: held-out RMSE {rmse:.3g} "
          f"(target std {y.std():.3g}, {int(test.sum())} held-out rows, {seconds:.1f} s)")
    return 0


def _read_csv(path: str):
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise CLIError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CLIError(f"{path} is a directory, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise CLIError(f"{path} is empty; expected a CSV with a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"could not read {path} as CSV ({first})") from None
    if len(df) == 0:
        raise CLIError(f"{path} has a header but no data rows")
    if df.shape[1] < 2:
        raise CLIError(f"{path} has {df.shape[1]} column(s); expected a header with the inputs and the target")
    dup = [c for c in df.columns if "." in str(c) and str(c).rsplit(".", 1)[0] in df.columns
           and str(c).rsplit(".", 1)[1].isdigit()]
    if dup:
        raise CLIError(f"duplicate column names in {path} (pandas renamed them to {dup}); make every name unique")
    return df


def _print_discovery(d, quiet: bool) -> None:
    print(f"{d.target} = {d.formula}")
    print(f"LaTeX: {d.latex()}")
    if not quiet:
        print(f"held-out R^2 = {d.r2:.8f}, RMSE = {d.rmse:.4g}, complexity {d.complexity}, "
              f"{d.seconds:.1f} s (found by: {d.source})")
        late = [f"{name} (cut)" for name in d.diagnostics.get("cut", [])]
        late += [f"{name} (skipped)" for name in d.diagnostics.get("skipped", [])]
        if late:
            print(f"time ran out: {', '.join(late)}; the best formula found in time is shown")
        for line in d.uncertainty_lines():
            print(line)
    dropped = getattr(d, "dropped_columns", [])
    if dropped:
        print(f"left out (the target does not depend on them): {', '.join(map(str, dropped))}")
    named = getattr(d, "physical_constants", {})
    if named and not quiet:
        print("physical constants: " + ", ".join(f"{k} = {v:.10g}" for k, v in named.items()))
    units = [r for r in getattr(d, "constant_units", []) if r.get("unit")]
    if units and not quiet:
        print("fitted constants: " + ", ".join(f"{r['value']:.6g} [{r['unit']}]" for r in units))


def _run_discovery(df, target, args, **options):
    import warnings

    from . import discover
    from ._arrays import InputError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            d = discover(df, target, time_limit=args.time_limit, seed=args.seed, progress=not args.quiet,
                         device=getattr(args, "device", None), **options)
        except InputError as exc:
            raise CLIError(str(exc)) from None
    for w in caught:
        print(f"kansci: warning: {w.message}", file=sys.stderr)
    return d


def _known_columns(columns) -> set[str]:
    """The names a column may be called by: its own, and without a unit ('v [m/s]' is 'v')."""
    from .units import split_header_units

    cols = [str(c) for c in columns]
    return set(cols) | set(split_header_units(cols)[0])


def _targets(spec: str, columns, data: str) -> list[str]:
    """``--target``: one column, or several separated by commas (``Fx,Fy``)."""
    cols = [str(c) for c in columns]
    known = _known_columns(cols)
    targets = [spec] if spec in known else [t.strip() for t in spec.split(",")]
    missing = [t for t in targets if t not in known]
    if missing or not all(targets):
        what = ", ".join(repr(t) for t in missing) if missing else repr(spec)
        raise CLIError(f"target column {what} not in {data}; columns are {cols}")
    if len(set(targets)) < len(targets):
        raise CLIError(f"--target lists a column twice: {spec!r}")
    return targets


def _cmd_discover(args) -> int:
    import json

    _check_device(args)
    df = _read_csv(args.data)
    targets = _targets(args.target, df.columns, args.data)
    options = {"units": args.units} if args.units else {}
    if args.sigma is not None and args.sigma not in _known_columns(df.columns):
        raise CLIError(f"sigma column {args.sigma!r} not in {args.data}; columns are {list(df.columns)}")
    d = _run_discovery(df, targets if len(targets) > 1 else targets[0], args, sigma=args.sigma, **options)
    laws = list(d.values()) if len(targets) > 1 else [d]
    for law in laws:
        _print_discovery(law, args.quiet)
        if args.tree:
            print(law.tree if law.tree is not None else "(no tree)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(d.to_json(), fh, indent=2)
    if args.plot:
        from matplotlib.figure import Figure

        from .plot import plot_pareto

        fig = Figure(figsize=(6.0 * len(laws), 4.0), layout="constrained")
        for law, ax in zip(laws, fig.subplots(1, len(laws), squeeze=False)[0]):
            plot_pareto(law, ax=ax)
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
    return 0


def _cmd_demo(args) -> int:
    from .datasets import kepler

    df = kepler()[["a", "P"]]
    print("Kepler's third law from the eight planets (a: semi-major axis in AU, P: period in years)")
    d = _run_discovery(df, "P", args, min_rows=len(df))  # eight planets: fewer rows than the usual minimum
    _print_discovery(d, args.quiet)
    return 0


def _cmd_bench(args) -> int:
    import importlib

    module = importlib.import_module(f".bench.{args.which}", __package__)
    return module.main(args.rest) or 0


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
    p.add_argument("--device", default=None, help="cpu (default), cuda, cuda:N or auto")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("discover", help="find the law target = f(other columns) in a CSV")
    p.add_argument("data", help="CSV file with a header row")
    p.add_argument("--target", required=True,
                   help="the column to explain, or several separated by commas (Fx,Fy): one law each")
    p.add_argument("--time-limit", type=float, default=60.0,
                   help="seconds to spend (default 60; shared between several targets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the result as JSON to this file")
    p.add_argument("--sigma", metavar="COL",
                   help="column of per-row uncertainties of the target (error bars; not a feature):"
                        " weighted fits, chi-square per degree of freedom")
    p.add_argument("--plot", help="save the Pareto front as an image")
    p.add_argument("--quiet", action="store_true", help="no progress bar, formula and LaTeX only")
    p.add_argument("--tree", action="store_true",
                   help="print the structure of the law (the decomposition's splits, transforms, leaves)")
    p.add_argument("--device", default=None, help="where the KANs train: cpu (default), cuda, cuda:N or auto")
    p.add_argument("--units", metavar="COL=UNIT,...",
                   help="units of every column, e.g. m=kg,v=m/s,F=N (pint syntax; '1' for dimensionless);"
                        " or write them in the header as 'v [m/s]'")
    p.set_defaults(func=_cmd_discover)

    p = sub.add_parser("demo", help="rediscover Kepler's third law from the bundled planets")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("bench", help="benchmarks that print figures")
    p.add_argument("which", choices=["speed", "feynman", "pruning", "snapping", "special", "scaling", "continual",
                                     "poisson"])
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
    except BrokenPipeError:  # the reader went away (``kansci demo | head``): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
