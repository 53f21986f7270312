"""The Feynman benchmark: how many of the table's 100 laws does the solver recover?

Run ``python -m kansci.bench.feynman --out results.csv`` (or ``kansci bench feynman ...``).
Each (law, noise level, seed) runs in a process of its own, ``--jobs`` at a time, or on a Dask
cluster with ``--scheduler ADDRESS``. Rows are appended to the results file as laws finish,
and laws already there are skipped, so an interrupted run continues where it stopped. At the
end the command prints the recovery rates per noise level and where the failures happened,
and saves a plot of recovery against noise next to the results file.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..datasets import LAW_TABLES, UnknownLawError, feynman_law, feynman_table
from ._report import format_summary, plot_recovery, read_results
from ._runner import Timeout, default_jobs, pending_specs, run_benchmark
from ._task import DEFAULT_SOLVER, TaskSpec, resolve_solver, solver_name

__all__ = ["main", "resolve_ids", "run_feynman"]

PROG = "kansci bench feynman"


class _UsageError(Exception):
    """Bad input: one line on stderr, exit code 2."""


# --- law ids ------------------------------------------------------------------------------------


def _all_ids(table: str = "feynman") -> list[str]:
    return list(feynman_table(table)["id"])


def resolve_ids(tokens: Iterable[str]) -> list[str]:
    """Law ids from ids, ranges and patterns, in the order given, without repeats.

    A token is an id (``I.6.2a``; PMLB names such as ``feynman_I_6_2a`` too), a range of the
    table's order (``I.6.2a..I.12.1``, both ends included) or a pattern (``II.*``).
    Commas separate tokens too.

    Raises
    ------
    kansci.datasets.UnknownLawError
        A KeyError naming close ids, for an id that is not in the table.
    """
    ids = [i for t in LAW_TABLES for i in _all_ids(t)]
    chosen: list[str] = []
    for token in (t.strip() for item in tokens for t in str(item).split(",")):
        if not token:
            continue
        if ".." in token:
            first, last = (feynman_law(end.strip()).id for end in token.split("..", 1))
            i, j = ids.index(first), ids.index(last)
            if i > j:
                raise UnknownLawError(
                    f"the range {token!r} is empty: {last} comes before {first} in the table"
                )
            chosen += ids[i : j + 1]
        elif any(c in token for c in "*?["):
            matches = fnmatch.filter(ids, token)
            if not matches:
                raise UnknownLawError(f"no Feynman law id matches the pattern {token!r}")
            chosen += matches
        else:
            chosen.append(feynman_law(token).id)
    return list(dict.fromkeys(chosen))


def _ids_from_file(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _UsageError(f"cannot read the ids file {path}: {exc.strerror or exc}") from None
    return [token for line in text.splitlines() for token in line.split("#", 1)[0].split()]


# --- the library entry point -------------------------------------------------------------------


def _specs(
    ids: Sequence[str], noises: Sequence[float], seeds: Sequence[int], **common: Any
) -> list[TaskSpec]:
    # all laws at the first noise level and seed first: a partial run is a complete small one
    return [
        TaskSpec(law_id, float(noise), int(seed), **common)
        for noise in noises
        for seed in seeds
        for law_id in ids
    ]


def _select(results: pd.DataFrame, specs: Sequence[TaskSpec]) -> pd.DataFrame:
    keys = {spec.key for spec in specs}
    mask = [
        (i, float(n), int(s)) in keys
        for i, n, s in zip(results["id"], results["noise"], results["seed"])
    ]
    return results[mask].reset_index(drop=True)


def run_feynman(
    ids: Iterable[str] | None = None,
    noise: Iterable[float] = (0.0,),
    seeds: Iterable[int] = (0,),
    *,
    out: str | Path,
    time_limit: float = 60.0,
    n_train: int = 2000,
    n_test: int = 1000,
    jobs: int | None = None,
    scheduler: Any = None,
    timeout: Timeout = None,
    solver: Any = DEFAULT_SOLVER,
    retry_failed: bool = False,
    on_row: Any = None,
    table: str = "feynman",
    units: bool = False,
) -> pd.DataFrame:
    """Run the Feynman benchmark (or another law table) and return its results table.

    Parameters
    ----------
    ids : iterable of str, optional
        Laws, ranges or patterns (see :func:`resolve_ids`); default every law of ``table``.
    noise, seeds : iterables
        Noise levels and seeds; every law runs at each combination.
    out : path
        The CSV results file; runs already in it are skipped, new rows are appended.
    time_limit : float
        Seconds given to the solver per law.
    n_train, n_test : int
        Rows of the training and of the clean test table.
    jobs, scheduler, timeout, retry_failed, on_row
        As in :func:`kansci.bench._runner.run_benchmark`.
    solver : str or function
        ``module:function`` or a module-level function, called as
        ``solver(train, target=..., time_limit=..., seed=..., progress=False)``; default
        :func:`kansci.discover`.
    table : str
        The law table whose laws run when ``ids`` is None (see
        :data:`kansci.datasets.LAW_TABLES`).
    units : bool
        Give the solver the units of the columns (the laws' table must have them).

    Returns
    -------
    pandas.DataFrame
        The rows of the requested runs, earlier ones included.
    """
    law_ids = resolve_ids(ids) if ids is not None else _all_ids(table)
    name = solver_name(solver)
    resolve_solver(name)  # fail here, once, rather than in every child
    common = {"time_limit": float(time_limit), "n_train": n_train, "n_test": n_test, "solver": name,
              "units": bool(units)}
    specs = _specs(law_ids, list(noise), list(seeds), **common)
    run_benchmark(
        specs, out, jobs=jobs, scheduler=scheduler, timeout=timeout,
        retry_failed=retry_failed, on_row=on_row,
    )  # fmt: skip
    return _select(read_results(out), specs)


# --- the command -------------------------------------------------------------------------------


def _nonnegative(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add = p.add_argument
    add("--out", required=True, help="CSV results file (appended to; runs in it are skipped)")
    add("--ids", nargs="+", metavar="ID",
        help="laws: ids, ranges A..B of the table's order, patterns like 'II.*' (default: all)")
    add("--ids-file", metavar="PATH", help="a file of law ids or ranges (# starts a comment)")
    add("--table", choices=LAW_TABLES, default="feynman",
        help="the law table whose laws run when no ids are given (default feynman; 'beyond':"
             " textbook laws of kinds the Feynman table does not test; 'realistic': the"
             " Feynman laws in SI units)")
    add("--realistic", action="store_true",
        help="the Feynman laws in SI units (physical ranges and constants, a unit per column,"
             " 1-3 irrelevant columns): the 'realistic' table, run without and with units")
    add("--units", choices=("off", "on", "both"),
        help="give the solver the columns' units: off, on, or both (two results files, the"
             " second named like OUT with -units; default: both with --realistic, else off)")
    add("--noise", nargs="+", type=_nonnegative, default=[0.0], metavar="EPS",
        help="noise levels, fractions of the target's RMS (default 0)")
    add("--seeds", nargs="+", type=int, default=[0], metavar="N", help="seeds (default 0)")
    add("--time-limit", type=_positive, default=60.0, metavar="S",
        help="seconds per law given to the solver (default 60)")
    add("--timeout", type=_positive, metavar="S",
        help="hard limit per law, after which it is killed (default 1.5*time-limit+30)")
    add("--n-train", type=_count, default=2000, metavar="N", help="training rows (default 2000)")
    add("--n-test", type=_count, default=1000, metavar="N", help="clean test rows (default 1000)")
    add("--jobs", type=_count, metavar="N",
        help=f"laws at a time on this machine (default: the cores, {default_jobs()})")
    add("--scheduler", metavar="ADDRESS",
        help="run on a Dask cluster, e.g. tcp://host:8786 (needs kansci[dask])")
    add("--solver", default=DEFAULT_SOLVER, metavar="MODULE:FUNCTION",
        help=f"the function to benchmark (default {DEFAULT_SOLVER})")
    add("--retry-failed", action="store_true",
        help="run again the laws recorded as crashed, timed out or in error")
    add("--summary-only", action="store_true",
        help="print the summary of the results file and run nothing")
    add("--per-law", action="store_true", help="add a line per run to the summary")
    add("--plot", metavar="PATH",
        help="where to save the recovery plot (default: the results file's name with .png;"
             " with --summary-only, only when given)")
    add("--no-plot", action="store_true", help="save no plot")
    add("--quiet", action="store_true", help="no line per law while running")
    return p  # fmt: skip


def _progress_line(row: dict[str, Any], done: int, total: int) -> str:
    count = f"[{done:>{len(str(total))}}/{total}]"
    where = f"{count} {row['id']} noise {row['noise']:g} seed {row['seed']}"
    seconds = row.get("seconds")
    took = "" if seconds is None or math.isnan(seconds) else f" ({seconds:.1f} s)"
    if row["status"] != "ok":
        stage = "" if row["stage"] in ("crash", "timeout") else f" at {row['stage']}"
        return f"{where}: {row['status']}{stage}{took}: {row['error']}"
    verdict = next((v for v in ("exact", "symbolic", "accurate") if row[v]), "missed")
    stage = f" [short at {row['stage']}]" if row["stage"] else ""
    return f"{where}: {verdict}{stage}{took}: {row['formula']}"


def _summary_only(args: argparse.Namespace) -> int:
    if args.realistic and (args.units or "both") == "both":
        code = _summary_only(argparse.Namespace(**{**vars(args), "realistic": False}))
        print()
        print("with units:")
        return code or _summary_only(argparse.Namespace(**{**vars(args), "realistic": False,
                                                          "out": _units_out(args.out)}))
    try:
        results = read_results(args.out)
    except FileNotFoundError:
        raise _UsageError(f"no such results file: {args.out}") from None
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    print(format_summary(results, per_law=args.per_law, title=str(args.out)))
    if args.plot and not args.no_plot:
        plot_recovery(results, args.plot)
        print(f"plot: {args.plot}")
    return 0


def _units_out(out: str) -> str:
    path = Path(out)
    return str(path.with_name(path.stem + "-units" + (path.suffix or ".csv")))


def _run(args: argparse.Namespace) -> int:
    if args.realistic:
        args.table = "realistic"
    mode = args.units or ("both" if args.realistic else "off")
    if mode == "off":
        return _run_one(args, False, args.out)
    if mode == "on":
        return _run_one(args, True, args.out)
    code = _run_one(args, False, args.out)
    if code:
        return code
    print()
    print("with units:")
    return _run_one(args, True, _units_out(args.out))


def _run_one(args: argparse.Namespace, units: bool, out: str) -> int:
    args = argparse.Namespace(**{**vars(args), "out": out})
    tokens = list(args.ids or []) + (_ids_from_file(args.ids_file) if args.ids_file else [])
    try:
        law_ids = resolve_ids(tokens) if tokens else _all_ids(args.table)
    except UnknownLawError as exc:
        raise _UsageError(str(exc)) from None
    if not law_ids:
        raise _UsageError("no laws to run: the ids given are empty")
    try:
        resolve_solver(args.solver)
    except Exception as exc:  # whatever importing it raised, the user gets one line
        raise _UsageError(f"cannot use the solver {args.solver}: {exc}") from None
    common = {"time_limit": args.time_limit, "n_train": args.n_train, "n_test": args.n_test,
              "solver": args.solver, "units": units}  # fmt: skip
    specs = _specs(law_ids, args.noise, args.seeds, **common)
    try:
        todo = len(pending_specs(specs, args.out, retry_failed=args.retry_failed))
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    jobs = min(args.jobs or default_jobs(), max(todo, 1))
    where = f"on {args.scheduler}" if args.scheduler else f"{jobs} at a time"
    if not args.quiet:
        done = len(specs) - todo
        print(f"{len(specs)} runs, {done} already in {args.out}; running {todo}, {where}")
    finished = [0]

    def report(row: dict[str, Any]) -> None:
        finished[0] += 1
        if not args.quiet:
            print(_progress_line(row, finished[0], todo), flush=True)

    try:
        run_benchmark(
            specs, args.out, jobs=args.jobs, scheduler=args.scheduler, timeout=args.timeout,
            retry_failed=args.retry_failed, on_row=report,
        )  # fmt: skip
    except (ImportError, ValueError, OSError) as exc:
        raise _UsageError(str(exc)) from None
    results = _select(read_results(args.out), specs)
    print()
    print(format_summary(results, per_law=args.per_law, title=str(args.out)))
    if not args.no_plot:
        plot_path = Path(args.plot) if args.plot else Path(args.out).with_suffix(".png")
        plot_recovery(results, plot_path)
        print(f"plot: {plot_path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (2 on bad input, 130 when interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return _summary_only(args) if args.summary_only else _run(args)
    except _UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finished laws are in {args.out}, run again to go on",
              file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    raise SystemExit(main())
