"""The results file (append, read), its summary per noise level, and the plot of recovery."""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._task import COLUMNS

__all__ = [
    "ResultsWriter",
    "failures_by_stage",
    "false_exactness",
    "format_summary",
    "overruns",
    "plot_recovery",
    "read_results",
    "summarize",
]

logger = logging.getLogger("kansci")

_BOOL = ("exact", "symbolic", "accurate")
_FLOAT = ("noise", "time_limit", "r2", "rmse", "complexity", "seconds", "fit_r2", "snap_r2", "noise_est")
_INT = ("seed", "n_vars", "n_train", "n_constants", "n_recognised", "recognised_outside")
#: Columns a results file may lack (written before they existed): read as missing values.
_OPTIONAL = ("noise_est", "n_constants", "n_recognised", "recognised_outside")
#: A chosen formula with more recognised constants than this that is not the law is a mimic
#: dressed as exact (false exactness).
MAX_RECOGNISED = 4
_KEY = ["id", "noise", "seed"]
STAGE_ORDER = ("setup", "fit", "pruning", "snapping", "export", "timeout", "crash", "unknown")
"""Stages in pipeline order (``setup``: sampling the data or importing the solver failed),
then what stopped a law from outside the pipeline."""


def _empty() -> pd.DataFrame:
    return _typed(pd.DataFrame({name: pd.Series([], dtype=object) for name in COLUMNS}))


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    for name in _BOOL:
        table[name] = table[name].map(lambda v: str(v).strip().lower() == "true").astype(bool)
    for name in _FLOAT:
        table[name] = pd.to_numeric(table[name], errors="coerce").astype(float)
    for name in _INT:
        table[name] = pd.to_numeric(table[name], errors="coerce").astype("Int64")
    for name in set(COLUMNS) - set(_BOOL) - set(_FLOAT) - set(_INT):
        table[name] = table[name].fillna("").astype(str)
    return table


def read_results(path: str | os.PathLike[str], *, latest: bool = True) -> pd.DataFrame:
    """The rows of a results file, typed (booleans, floats, integers; "" for a missing text).

    Parameters
    ----------
    path : path
        A CSV written by the benchmark. Lines cut short by an interrupted write are skipped.
    latest : bool
        Keep only the last row of each (law id, noise, seed), as a rerun of failed laws
        appends a new row.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    ValueError
        When the file's columns are not those of a results file.
    """
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return _empty()
        missing = [name for name in COLUMNS if name not in header and name not in _OPTIONAL]
        if missing:
            raise ValueError(
                f"{path} is not a benchmark results file: it lacks the columns {', '.join(missing)}"
            )
        records, skipped = [], 0
        for line in reader:
            if len(line) != len(header):
                skipped += bool(line)
                continue
            records.append(dict(zip(header, line)))
    if skipped:
        logger.warning("%s: skipped %d incomplete line(s)", path, skipped)
    if not records:
        return _empty()
    table = pd.DataFrame.from_records(records, columns=header)
    for name in _OPTIONAL:
        if name not in table:
            table[name] = ""
    table = _typed(table[list(COLUMNS)])
    keyless = table["noise"].isna() | table["seed"].isna() | (table["id"] == "")
    if keyless.any():
        count = int(keyless.sum())
        logger.warning("%s: skipped %d line(s) without a law id, noise or seed", path, count)
        table = table[~keyless].reset_index(drop=True)
    if latest:
        table = table.drop_duplicates(subset=_KEY, keep="last").reset_index(drop=True)
    return table


class ResultsWriter:
    """Appends rows to a CSV results file, each flushed to disk at once.

    A new file gets the header; an existing one must have the same columns (else ValueError).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        self.path = path
        existing = path.exists() and path.stat().st_size > 0
        if existing:
            with open(path, encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle), [])
            if not header or any(name not in COLUMNS for name in header) or any(
                    name not in header and name not in _OPTIONAL for name in COLUMNS
                ):
                raise ValueError(
                    f"{path} is not a results file of this benchmark (its columns are "
                    f"{', '.join(header[:8]) or 'none'}...); write to another file"
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "a", encoding="utf-8", newline="")
        if existing and not _ends_a_line(path):
            self._handle.write("\n")  # an interrupted write: keep its partial line apart
        self._columns = tuple(header) if existing else COLUMNS  # an older file keeps its columns
        self._writer = csv.DictWriter(self._handle, fieldnames=self._columns, extrasaction="ignore")
        if not existing:
            self._writer.writeheader()
            self._flush()

    def _flush(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row and flush it to disk."""
        self._writer.writerow({k: _cell(row.get(k)) for k in self._columns})
        self._flush()

    def close(self) -> None:
        self._handle.close()


def _ends_a_line(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


# --- numbers ------------------------------------------------------------------------------------


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Recovery per noise level.

    Returns
    -------
    pandas.DataFrame
        One row per noise level, ascending: ``noise``, ``runs``, ``laws``, the rates (0 to 1)
        ``exact``, ``symbolic`` (SRBench symbolic solution) and ``accurate`` (R^2 > 0.999)
        over all runs (a crash counts as a miss), ``median_seconds`` (over runs that have a
        time, failures included), ``failed`` (runs with a crash, timeout or error), and the
        false exactness counts: ``outside_interval`` (chosen formulas carrying a recognised
        constant outside its own 95 % interval) and ``many_recognised`` (chosen formulas with
        more than 4 recognised constants that are not the law).
    """
    rows = []
    for noise, group in results.groupby("noise", sort=True):
        seconds = group["seconds"].dropna()
        outside, many = false_exactness(group)
        rows.append(
            {
                "noise": float(noise),
                "runs": len(group),
                "laws": group["id"].nunique(),
                "exact": float(group["exact"].mean()),
                "symbolic": float(group["symbolic"].mean()),
                "accurate": float(group["accurate"].mean()),
                "median_seconds": float(seconds.median()) if len(seconds) else math.nan,
                "failed": int((group["status"] != "ok").sum()),
                "outside_interval": outside,
                "many_recognised": many,
            }
        )
    columns = ["noise", "runs", "laws", "exact", "symbolic", "accurate", "median_seconds", "failed",
               "outside_interval", "many_recognised"]
    return pd.DataFrame(rows, columns=columns)


def false_exactness(results: pd.DataFrame) -> tuple[int, int]:
    """Runs whose formula carries a recognised constant outside its own 95 % interval, and
    runs with more than :data:`MAX_RECOGNISED` recognised constants that are not the law
    (``(None, None)`` when no run reports its constants)."""
    if results["n_recognised"].isna().all():  # a solver that does not report its constants
        return None, None
    outside = results["recognised_outside"].fillna(0).astype(int) > 0
    many = (results["n_recognised"].fillna(0).astype(int) > MAX_RECOGNISED) & ~results["exact"]
    return int(outside.sum()), int(many.sum())


def failures_by_stage(results: pd.DataFrame) -> pd.DataFrame:
    """Runs that fell short of exact recovery, counted by stage (rows) and noise (columns)."""
    short = results[results["stage"] != ""]
    if short.empty:
        return pd.DataFrame(dtype=int)
    table = pd.crosstab(short["stage"], short["noise"])
    order = [s for s in STAGE_ORDER if s in table.index]
    order += sorted(s for s in table.index if s not in STAGE_ORDER)
    return table.loc[order]


def overruns(results: pd.DataFrame) -> dict[str, Any]:
    """How well the runs kept their time limit.

    Returns a dict: ``worst`` (the largest ``seconds - time_limit``, NaN without timed runs),
    ``worst_id`` and ``worst_noise`` (that run), ``worst_ratio`` (its ``seconds / time_limit``),
    ``late`` (runs slower than ``1.1 * time_limit + 2`` s, the promise's tolerance) and
    ``killed`` (runs killed at the benchmark's hard limit, which returned nothing; they count
    as late and are left out of ``worst``).
    """
    killed_rows = results["status"] == "timeout"
    timed = results[~killed_rows].dropna(subset=["seconds", "time_limit"])
    killed = int(killed_rows.sum())
    if timed.empty:
        return dict(worst=math.nan, worst_id="", worst_noise=math.nan, worst_ratio=math.nan,
                    late=killed, killed=killed)
    over = timed["seconds"] - timed["time_limit"]
    i = over.idxmax()
    late = int((timed["seconds"] > 1.1 * timed["time_limit"] + 2.0).sum()) + killed
    return dict(worst=float(over[i]), worst_id=str(timed.at[i, "id"]), worst_noise=float(timed.at[i, "noise"]),
                worst_ratio=float(timed.at[i, "seconds"] / timed.at[i, "time_limit"]), late=late,
                killed=killed)


def _time_line(results: pd.DataFrame) -> str:
    o = overruns(results)
    if math.isnan(o["worst"]):
        return f"Time: no timed runs; {o['killed']} killed at the hard limit."
    sign = "over" if o["worst"] > 0 else "under"
    return (f"Time: the slowest run relative to its limit, {o['worst_id']} at noise {_noise(o['worst_noise'])},"
            f" finished {abs(o['worst']):.1f} s {sign} the limit ({o['worst_ratio']:.2f}x); "
            f"{o['late']} run(s) beyond 1.1 x limit + 2 s, {o['killed']} killed at the hard limit.")

def _counts(outside, many) -> str:
    if outside is None or (isinstance(outside, float) and math.isnan(outside)):
        return "-"
    return f"{int(outside)} + {int(many)}"


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}%"


def _noise(value: float) -> str:
    return f"{value:g}"


def _law_lines(results: pd.DataFrame) -> list[str]:
    lines = [f"{'law':<10} {'noise':>6} {'seed':>4}  {'status':<8} exact sym acc {'R^2':>9}"
             f" {'s':>6}  {'stage':<9} formula"]  # fmt: skip
    marks = {True: "  x  ", False: "  .  "}
    for row in results.sort_values(["noise", "seed"], kind="stable").itertuples(index=False):
        r2 = "" if math.isnan(row.r2) else f"{row.r2:9.6f}"
        seconds = "" if math.isnan(row.seconds) else f"{row.seconds:6.1f}"
        text = row.formula if row.status == "ok" else row.error
        text = text if len(text) <= 60 else text[:57] + "..."
        lines.append(
            f"{row.id:<10} {_noise(row.noise):>6} {row.seed!s:>4}  {row.status:<8}"
            f"{marks[row.exact]}{marks[row.symbolic][1:]}{marks[row.accurate][1:]}"
            f"{r2:>9} {seconds:>6}  {row.stage:<9} {text}"
        )
    return lines


def format_summary(results: pd.DataFrame, *, per_law: bool = False, title: str = "") -> str:
    """The summary as text: rates per noise level, failures by stage, optionally each run."""
    if results.empty:
        return f"{title}: no results yet" if title else "no results yet"
    summary = summarize(results)
    n_laws, n_seeds = results["id"].nunique(), results["seed"].nunique()
    n_noise = len(summary)
    head = (f"Feynman benchmark: {n_laws} law{'s' * (n_laws != 1)}, {n_seeds} "
            f"seed{'s' * (n_seeds != 1)}, {n_noise} noise level{'s' * (n_noise != 1)}")  # fmt: skip
    lines = [f"{head} ({title})" if title else head, ""]
    lines.append(f"{'noise':>7} {'runs':>5} {'exact':>7} {'symbolic':>9} {'accurate':>9}"
                 f" {'median s':>9} {'failed':>7} {'false exact':>12}")  # fmt: skip
    for row in summary.itertuples(index=False):
        seconds = "-" if math.isnan(row.median_seconds) else f"{row.median_seconds:.1f}"
        lines.append(
            f"{_noise(row.noise):>7} {row.runs:>5} {_percent(row.exact):>7}"
            f" {_percent(row.symbolic):>9} {_percent(row.accurate):>9} {seconds:>9}"
            f" {row.failed:>7} {_counts(row.outside_interval, row.many_recognised):>12}"
        )
    lines += ["", "exact: identical to the law; symbolic: SRBench symbolic solution (up to an",
              "added or multiplied constant); accurate: R^2 > 0.999 on clean held-out rows.",
              "false exact: formulas with a recognised constant outside its own 95% interval",
              f"+ formulas with more than {MAX_RECOGNISED} recognised constants that are not the law.",
              ""]  # fmt: skip
    lines += [_time_line(results), ""]
    stages = failures_by_stage(results)
    if stages.empty:
        lines.append("Every run recovered its law exactly.")
    else:
        lines.append("Runs short of exact recovery, by the stage where they fell short:")
        noises = [_noise(float(n)) for n in stages.columns]
        lines.append(f"{'stage':<10}" + "".join(f" {n:>7}" for n in noises))
        for stage, counts in stages.iterrows():
            lines.append(f"{stage:<10}" + "".join(f" {int(c):>7}" for c in counts))
    if per_law:
        lines += ["", *_law_lines(results)]
    return "\n".join(lines)


# --- plot ---------------------------------------------------------------------------------------


def plot_recovery(results: pd.DataFrame, path: str | os.PathLike[str] | None = None) -> Any:
    """Recovery rates (exact, symbolic, accurate) against the noise level.

    The noise levels are evenly spaced on the x axis (0 has no place on a log scale).

    Parameters
    ----------
    results : pandas.DataFrame
        Rows as from :func:`read_results`.
    path : path, optional
        Where to save the figure (PNG); nothing is written when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = summarize(results)
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = np.arange(len(summary))
    styles = (("exact", "exact", "o"), ("symbolic", "symbolic (SRBench)", "s"),
              ("accurate", "accurate (R$^2$ > 0.999)", "^"))  # fmt: skip
    for column, label, marker in styles:
        axes.plot(positions, 100 * summary[column].to_numpy(), marker=marker, label=label)
    axes.set_xticks(positions, [_noise(n) for n in summary["noise"]])
    axes.set_xlim(-0.5, max(len(summary) - 0.5, 0.5))
    axes.set_ylim(-2, 102)
    axes.set_xlabel("noise level (fraction of the target's RMS)")
    axes.set_ylabel("recovered (% of runs)")
    n_laws = results["id"].nunique() if not results.empty else 0
    axes.set_title(f"Feynman benchmark, {n_laws} law{'s' * (n_laws != 1)}")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
