"""Run one law of the Feynman benchmark and return one flat result row.

A task samples the law's data (SRBench protocol), calls the solver on the training table within
its time limit, judges the returned formula on the clean test table and says, when the law was
not recovered exactly, at which stage of the pipeline it fell short.

The module is also the entry point of an isolated child process:
``python -m kansci.bench._task SPEC.json ROW.json`` reads a task spec and writes its row.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "COLUMNS",
    "DEFAULT_SOLVER",
    "TaskSpec",
    "failure_row",
    "limit_threads",
    "prepare_child",
    "resolve_solver",
    "run_task",
    "solver_name",
]

logger = logging.getLogger("kansci")

DEFAULT_SOLVER = "kansci:discover"
"""The solver a benchmark calls unless told otherwise, as ``module:function``."""

COLUMNS = (
    "id", "noise", "seed", "n_vars", "n_train", "time_limit", "truth", "formula",
    "exact", "symbolic", "accurate", "r2", "rmse", "complexity", "seconds",
    "fit_r2", "snap_r2", "pruned_width", "status", "stage", "error",
    "noise_est", "n_constants", "n_recognised", "recognised_outside",
)  # fmt: skip
"""The columns of a result row, in the order of the results file.

``noise_est``: the solver's estimate of the noise standard deviation; ``n_constants``: the
constants of its formula (fitted and recognised); ``n_recognised``: those replaced by a closed
form (pi/2, 3/5, ...); ``recognised_outside``: recognised ones whose closed form lies outside the
95 % interval of the fitted value it replaced (false exactness; from ``to_json()["constants"]``).
"""

STATUSES = ("ok", "error", "crashed", "timeout")
"""``ok``: the solver returned and its formula was judged; ``error``: an exception;
``crashed``: the child process died; ``timeout``: it was killed after the hard time limit."""

_ACCURATE_R2 = 0.999
_MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class TaskSpec:
    """One run of the benchmark: a law at a noise level with a seed.

    Attributes
    ----------
    law_id : str
        Id in the Feynman table, e.g. ``"I.6.2a"``.
    noise : float
        Relative noise on the training target (SRBench: 0, 0.001, 0.01, 0.1).
    seed : int
        Seed of the data sampling and of the solver.
    time_limit : float
        Seconds given to the solver.
    n_train, n_test : int
        Rows of the training and of the (clean) test table.
    solver : str
        ``module:function`` of the solver, importable where the task runs.
    units : bool
        Give the solver the units of the columns (``units=`` keyword; the law's table must
        have them, as the ``realistic`` table does).
    """

    law_id: str
    noise: float = 0.0
    seed: int = 0
    time_limit: float = 60.0
    n_train: int = 2000
    n_test: int = 1000
    solver: str = DEFAULT_SOLVER
    units: bool = False

    @property
    def key(self) -> tuple[str, float, int]:
        """``(law id, noise, seed)``: what identifies a row of the results file."""
        return (self.law_id, float(self.noise), int(self.seed))

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskSpec:
        """The spec from :meth:`to_dict`'s output."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


# --- solvers ------------------------------------------------------------------------------------


def solver_name(solver: str | Callable[..., Any]) -> str:
    """The ``module:function`` name of a solver given as that text or as a module-level function."""
    if isinstance(solver, str):
        if solver.count(":") != 1 or not all(solver.split(":")):
            raise ValueError(f"solver must be 'module:function', got {solver!r}")
        return solver
    if not callable(solver):
        raise TypeError(f"solver must be 'module:function' or a function, got {solver!r}")
    module = getattr(solver, "__module__", None)
    qualname = getattr(solver, "__qualname__", "")
    if not module or not qualname or "<" in qualname or module == "__main__":
        raise ValueError(
            f"solver {solver!r} must be a function defined at the top level of an importable "
            "module (child processes import it by name); lambdas and local functions cannot be"
        )
    return f"{module}:{qualname}"


def resolve_solver(name: str) -> Callable[..., Any]:
    """Import the solver named ``module:function`` (no code is evaluated, only imported).

    Raises
    ------
    ImportError
        When the module or the function cannot be found.
    """
    module_name, _, attribute = solver_name(name).partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ImportError(f"{module_name} has no {attribute!r}") from None
    if not callable(target):
        raise ImportError(f"{name} is not callable")
    return target


#: Environment that makes a child process's numerical libraries single-threaded.  It must be
#: in place when the child (or the fork server it comes from) starts: OpenBLAS reads it once,
#: when numpy is first imported, and a fork server imports numpy before any task runs.
#: Without it every child's least-squares calls ran on a pool of busy-waiting BLAS threads; two
#: laws at a time on two cores then took turns, and laws near the time limit came and went
#: between runs (a law solved in 16 s alone took 60 s beside another).
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@contextlib.contextmanager
def one_thread_env() -> Iterator[None]:
    """Within the block, processes started by this one get :data:`ONE_THREAD_ENV`."""
    saved = {name: os.environ.get(name) for name in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def limit_threads(n: int = 1) -> None:
    """Run this process's numerical libraries with ``n`` threads (torch included, if present).

    The environment variables set here only reach libraries loaded later and child processes;
    start children under :func:`one_thread_env` for BLAS loaded at their start."""
    for variable in ONE_THREAD_ENV:
        os.environ[variable] = str(n)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


# --- rows ---------------------------------------------------------------------------------------


def one_line(text: object) -> str:
    """A message squeezed onto one short line."""
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 3] + "..."


def _base_row(spec: TaskSpec) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        id=spec.law_id, noise=float(spec.noise), seed=int(spec.seed), n_train=spec.n_train,
        time_limit=float(spec.time_limit), exact=False, symbolic=False, accurate=False,
        formula="", stage="", error="",
    )  # fmt: skip
    try:
        from ..datasets import feynman_law

        law = feynman_law(spec.law_id)
        row.update(n_vars=law.n_vars, truth=str(law.formula))
    except Exception:  # an unknown id is reported by the row's error, not here
        row.update(truth="")
    return row


def failure_row(
    spec: TaskSpec, status: str, stage: str, error: str, seconds: float
) -> dict[str, Any]:
    """The row of a law that produced no result (a crash, a timeout, an error)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    row = _base_row(spec)
    row.update(status=status, stage=stage, error=one_line(error), seconds=float(seconds))
    return row


def _describe(exc: BaseException) -> str:
    # a KeyError shows the repr of its message; show the message
    text = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else exc
    return one_line(f"{type(exc).__name__}: {text}")


def _as_result(result: Any) -> dict[str, Any]:
    """The solver's result as a dict: a Discovery (``to_json``), a mapping, or formula text."""
    if hasattr(result, "to_json"):
        result = result.to_json()
    if isinstance(result, str):
        return {"formula": result}
    if not isinstance(result, Mapping):
        raise TypeError(f"the solver returned a {type(result).__name__}, not a Discovery")
    return dict(result)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if not math.isnan(number) else None


def _accurate_threshold(noise: float, y_clean: np.ndarray) -> float:
    """R^2 a good fit reaches on data with this noise: 0.999 less the noise's share of variance."""
    variance = float(np.var(y_clean))
    if noise <= 0 or variance <= 0:
        return _ACCURATE_R2
    return _ACCURATE_R2 - noise**2 * float(np.mean(np.square(y_clean))) / variance


def failure_stage(
    verdict: Mapping[str, Any],
    diagnostics: Mapping[str, Any],
    reported_r2: float | None,
    threshold: float,
) -> str:
    """Where a judged run fell short of exact recovery ("" when it did not).

    The solver's own ``stage`` wins; else ``fit`` when the KAN's held-out R^2 is below
    ``threshold``; else ``export`` when the solver reported an accurate formula that is not
    accurate on the test table; else ``snapping``; ``unknown`` without diagnostics to tell.
    """
    if verdict["exact"]:
        return ""
    stage = diagnostics.get("stage")
    if stage:
        return str(stage)
    fit_r2 = _float(diagnostics.get("fit_r2"))
    if fit_r2 is not None and fit_r2 < threshold:
        return "fit"
    if not verdict["accurate"] and reported_r2 is not None and reported_r2 >= threshold:
        return "export"
    if fit_r2 is None and not verdict["accurate"]:
        return "unknown"
    return "snapping"


def constant_counts(result: Mapping[str, Any]) -> dict[str, Any]:
    """``noise_est``, ``n_constants``, ``n_recognised``, ``recognised_outside`` of a result
    (None where the solver does not report constants)."""
    constants = result.get("constants")
    noise = result.get("noise")
    out: dict[str, Any] = {"noise_est": _float(noise.get("sigma")) if isinstance(noise, Mapping) else None,
                           "n_constants": None, "n_recognised": None, "recognised_outside": None}
    if not isinstance(constants, list):
        return out
    recognised = [c for c in constants if isinstance(c, Mapping) and c.get("recognised")]
    out.update(n_constants=len(constants), n_recognised=len(recognised),
               recognised_outside=sum(1 for c in recognised if c.get("in_interval") is False))
    return out


def run_task(spec: TaskSpec, solver: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run one law: sample its data, solve within the time limit, judge on clean test rows.

    Exceptions of the solver or of the judging become a row with status ``error``; the stage
    is the exception's ``stage`` attribute when it has one.

    Parameters
    ----------
    spec : TaskSpec
        The law, noise level, seed and budget.
    solver : callable, optional
        Called as ``solver(train, target=..., time_limit=..., seed=..., progress=False)``
        (and ``units=`` when ``spec.units``); default: the function named by ``spec.solver``.
        Named constants the result reports (``physical_constants``) are substituted before
        judging.

    Returns
    -------
    dict
        One value per name in :data:`COLUMNS`.
    """
    from ..datasets import feynman_law, make_dataset
    from .judge import judge

    row = _base_row(spec)
    try:
        law = feynman_law(spec.law_id)
        n_train = law.rows or spec.n_train  # a few-row law fixes its own training rows
        row["n_train"] = n_train
        train, test = make_dataset(law, n_train, spec.n_test, spec.noise, spec.seed)
        call = solver if solver is not None else resolve_solver(spec.solver)
        options: dict[str, Any] = {}
        if spec.units:
            from ..datasets import law_units

            options["units"] = law_units(law, spec.seed)
            if not options["units"]:
                raise ValueError(f"law {law.id} has no units; use a table with units (realistic)")
    except Exception as exc:
        return failure_row(spec, "error", "setup", _describe(exc), 0.0)

    start = time.perf_counter()
    try:
        found = call(
            train, target=law.output, time_limit=spec.time_limit, seed=spec.seed, progress=False,
            **options,
        )
        result = _as_result(found)
    except Exception as exc:
        stage = getattr(exc, "stage", None) or "unknown"
        return failure_row(spec, "error", str(stage), _describe(exc), time.perf_counter() - start)
    seconds = time.perf_counter() - start

    diagnostics = result.get("diagnostics") or {}
    width = diagnostics.get("pruned_width")
    row.update(constant_counts(result))
    row.update(
        formula=" ".join(str(result.get("formula") or "").split()), seconds=seconds,
        complexity=_float(result.get("complexity")), fit_r2=_float(diagnostics.get("fit_r2")),
        snap_r2=_float(diagnostics.get("snap_r2")),
        pruned_width="" if width is None else one_line(width),
    )  # fmt: skip
    y_test = test[law.output].to_numpy(dtype=float)
    try:
        if not row["formula"]:
            raise ValueError("the solver returned no formula")
        verdict = judge(row["formula"], law.formula, test.drop(columns=[law.output]), y_test,
                        ranges=law.variables, constants=result.get("physical_constants") or None)
    except Exception as exc:
        row.update(status="error", stage="export", error=_describe(exc))
        return row
    r2 = float(verdict["r2"])
    variance = float(np.var(y_test))
    rmse = math.sqrt(max(1.0 - r2, 0.0) * variance) if math.isfinite(r2) else math.inf
    threshold = _accurate_threshold(float(spec.noise), y_test)
    row.update(
        exact=bool(verdict["exact"]), symbolic=bool(verdict["symbolic"]),
        accurate=bool(verdict["accurate"]), r2=r2, rmse=rmse, status="ok",
        stage=failure_stage(verdict, diagnostics, _float(result.get("r2")), threshold),
    )  # fmt: skip
    return row


# --- the child process's side ------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _exit_with(owner: int, period: float = 2.0) -> None:
    while True:
        time.sleep(period)
        if not _alive(owner):  # the benchmark that started us is gone: stop working
            os._exit(3)


def prepare_child(log_path: str | None = None, owner: int | None = None) -> None:
    """Set up a child process that runs one law.

    - Ctrl-C is left to the parent, which kills its children and records nothing for them.
    - The child exits by itself once ``owner`` (the process running the benchmark; default
      its parent) is gone; a fork server's child would not notice otherwise.
    - Output goes to ``log_path`` when given (file descriptors 1 and 2, so that native code's
      output goes there too); a fatal signal writes a traceback there.
    - Numerical libraries use one thread.
    """
    import faulthandler
    import signal
    import threading

    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log_path is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    faulthandler.enable(file=sys.stderr)
    owner = os.getppid() if owner is None else owner
    watchdog = threading.Thread(
        target=_exit_with, args=(owner,), name="kansci-orphan-watch", daemon=True
    )
    watchdog.start()
    limit_threads(1)


def main(argv: list[str] | None = None) -> int:
    """``python -m kansci.bench._task SPEC.json ROW.json [OWNER_PID]``: run one task."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        sys.stderr.write("usage: python -m kansci.bench._task SPEC.json ROW.json [OWNER_PID]\n")
        return 2
    with open(args[0], encoding="utf-8") as handle:
        spec = TaskSpec.from_dict(json.load(handle))
    prepare_child(owner=int(args[2]) if len(args) == 3 else None)
    row = run_task(spec)
    with open(args[1], "w", encoding="utf-8") as handle:
        json.dump(row, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
