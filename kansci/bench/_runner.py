"""Scheduling benchmark tasks: one child process per law, locally or on a Dask cluster.

Each law runs in a child process of its own, so that a crash (a segfault, ``os._exit``) or a
hang costs that law only: a child that dies without a result is recorded as ``crashed``, one
still running after its hard time limit is killed and recorded as ``timeout``. Locally the
children come from a fork server that has imported kansci once (so a child starts in
milliseconds, not seconds), ``jobs`` at a time. On a Dask cluster each task runs the same
isolation on a worker, in a ``python -m kansci.bench._task`` subprocess (worker processes are
daemons, which may not have multiprocessing children).

Rows are appended to the results file as each law finishes; laws already there are skipped.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from multiprocessing.connection import wait as wait_ready
from pathlib import Path
from typing import Any

from ._report import ResultsWriter, read_results
from ._task import ONE_THREAD_ENV, TaskSpec, failure_row, one_line, one_thread_env, prepare_child, run_task

__all__ = [
    "Timeout",
    "default_jobs",
    "default_timeout",
    "pending_specs",
    "run_benchmark",
    "run_isolated",
]

logger = logging.getLogger("kansci")

Row = dict[str, Any]
Timeout = float | Callable[[TaskSpec], float] | None
"""A hard limit per law: seconds, a function of the task, or None for the default."""
METHODS = ("auto", "forkserver", "spawn", "subprocess")
_GRACE_S = 10.0  # after sending its row, a child gets this long to exit before it is killed


def default_jobs() -> int:
    """Laws run at a time by default: the CPU cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_timeout(spec: TaskSpec) -> float:
    """The hard limit of one law, start-up and judging included: ``1.5 * time_limit + 30`` s."""
    return 1.5 * float(spec.time_limit) + 30.0


# --- children -----------------------------------------------------------------------------------


class _Children:
    """The live children of one run, so that an interrupted run can kill them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kills: dict[int, Callable[[], None]] = {}
        self._closed = False

    def add(self, key: int, kill: Callable[[], None]) -> bool:
        """Register a child; False (and no registration) once the run is being torn down."""
        with self._lock:
            if self._closed:
                return False
            self._kills[key] = kill
            return True

    def remove(self, key: int) -> None:
        with self._lock:
            self._kills.pop(key, None)

    def kill_all(self) -> None:
        with self._lock:
            self._closed = True
            kills = list(self._kills.values())
        for kill in kills:
            try:
                kill()
            except OSError:  # already gone
                pass


def _crash_message(exitcode: int | None, log_path: str) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"was killed by signal {-exitcode}"
    else:
        how = f"exited with code {exitcode}"
    message = f"the law's process {how} before returning a result"
    try:
        lines = [line.strip() for line in Path(log_path).read_text(errors="replace").splitlines()]
    except OSError:
        lines = []
    lines = [line for line in lines if line]
    fatal = [line for line in lines if line.startswith("Fatal Python error")]
    detail = fatal[-1] if fatal else (lines[-1] if lines else "")
    return one_line(f"{message}: {detail}" if detail else message)


def _child_main(spec: TaskSpec, connection: Any, log_path: str, owner: int) -> None:
    """Body of a multiprocessing child: run the task, send the row."""
    prepare_child(log_path, owner)
    row = run_task(spec)
    try:
        connection.send(row)
    except (BrokenPipeError, OSError):  # the parent stopped waiting
        pass
    connection.close()


def _context(method: str, spec: TaskSpec) -> Any:
    if method == "forkserver":
        context = multiprocessing.get_context("forkserver")
        preload = ["kansci.bench._task", spec.solver.partition(":")[0]]
        context.set_forkserver_preload(preload)  # used when the server first starts
        return context
    return multiprocessing.get_context("spawn")


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method != "auto":
        return method
    if multiprocessing.current_process().daemon:
        return "subprocess"
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _run_in_process(
    spec: TaskSpec, timeout: float, method: str, children: _Children | None, log_path: str
) -> Row:
    context = _context(method, spec)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main, args=(spec, sender, log_path, os.getpid()), name=f"kansci-{spec.law_id}"
    )
    with one_thread_env():  # the fork server, started and importing kansci once per session
        process.start()
    start = time.monotonic()
    sender.close()
    key = id(process)
    if children is not None and not children.add(key, process.kill):
        process.kill()
    try:
        ready = wait_ready([receiver, process.sentinel], timeout=timeout)
        row = None
        if ready:
            try:
                if receiver.poll():
                    row = receiver.recv()
            except (EOFError, OSError):
                row = None
        elapsed = time.monotonic() - start
        if row is None and not ready:
            process.kill()
            process.join()
            return failure_row(
                spec, "timeout", "timeout", f"killed after the hard limit of {timeout:g} s", elapsed
            )
        process.join(_GRACE_S if row is not None else None)
        if process.is_alive():
            process.kill()
            process.join()
        if row is None:
            return failure_row(
                spec, "crashed", "crash", _crash_message(process.exitcode, log_path), elapsed
            )
        return row
    finally:
        if children is not None:
            children.remove(key)
        receiver.close()


def _run_in_subprocess(
    spec: TaskSpec, timeout: float, children: _Children | None, log_path: str
) -> Row:
    with tempfile.TemporaryDirectory(prefix="kansci-law-") as folder:
        spec_path, row_path = Path(folder, "spec.json"), Path(folder, "row.json")
        spec_path.write_text(json.dumps(spec.to_dict()), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        env.update(ONE_THREAD_ENV)
        command = [sys.executable, "-X", "faulthandler", "-m", "kansci.bench._task"]
        start = time.monotonic()
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [*command, str(spec_path), str(row_path), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        key = id(process)
        if children is not None and not children.add(key, process.kill):
            process.kill()
        try:
            try:
                exitcode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return failure_row(
                    spec, "timeout", "timeout", f"killed after the hard limit of {timeout:g} s",
                    time.monotonic() - start,
                )  # fmt: skip
            if exitcode == 0 and row_path.exists():
                return json.loads(row_path.read_text(encoding="utf-8"))
            return failure_row(
                spec, "crashed", "crash", _crash_message(exitcode, log_path),
                time.monotonic() - start,
            )  # fmt: skip
        finally:
            if children is not None:
                children.remove(key)


def run_isolated(
    spec: TaskSpec,
    timeout: float | None = None,
    *,
    method: str = "auto",
    children: _Children | None = None,
) -> Row:
    """Run one task in a child process of its own; never raises for what the law does.

    Parameters
    ----------
    spec : TaskSpec
        The task.
    timeout : float, optional
        Seconds after which the child is killed (default :func:`default_timeout`).
    method : {"auto", "forkserver", "spawn", "subprocess"}
        How the child is started; ``auto``: a subprocess inside a daemon process (a Dask
        worker), else the fork server where the platform has one, else spawn.

    Returns
    -------
    dict
        The task's row; status ``crashed`` or ``timeout`` when the child gave none.
    """
    limit = default_timeout(spec) if timeout is None else float(timeout)
    how = _method(method)
    fd, log_path = tempfile.mkstemp(prefix="kansci-law-", suffix=".log")
    os.close(fd)
    try:
        if how == "subprocess":
            return _run_in_subprocess(spec, limit, children, log_path)
        return _run_in_process(spec, limit, how, children, log_path)
    finally:
        try:
            os.unlink(log_path)
        except OSError:
            pass


# --- what remains to run ------------------------------------------------------------------------


def pending_specs(
    specs: Iterable[TaskSpec], out: str | os.PathLike[str], *, retry_failed: bool = False
) -> list[TaskSpec]:
    """The specs whose (law id, noise, seed) has no row in ``out`` yet, without duplicates.

    With ``retry_failed``, a key whose rows are all crashes, timeouts or errors runs again.
    """
    done: set[tuple[str, float, int]] = set()
    path = Path(out)
    if path.exists() and path.stat().st_size > 0:
        table = read_results(path, latest=False)
        if retry_failed:
            table = table[table["status"] == "ok"]
        done = set(zip(table["id"], table["noise"].astype(float), table["seed"].astype(int)))
    pending, seen = [], set()
    for spec in specs:
        if spec.key not in done and spec.key not in seen:
            seen.add(spec.key)
            pending.append(spec)
    return pending


# --- scheduling ---------------------------------------------------------------------------------


def _limit(timeout: Timeout, spec: TaskSpec) -> float:
    value = timeout(spec) if callable(timeout) else timeout
    return default_timeout(spec) if value is None else float(value)


def _run_local(
    specs: list[TaskSpec], jobs: int, timeout: Timeout, method: str, write: Callable[[Row], None]
) -> None:
    children = _Children()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="kansci-bench")
    futures: dict[Future[Row], TaskSpec] = {}
    try:
        for spec in specs:
            limit = _limit(timeout, spec)
            future = pool.submit(run_isolated, spec, limit, method=method, children=children)
            futures[future] = spec
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                spec = futures[future]
                try:
                    row = future.result()
                except Exception as exc:  # a fault of the harness itself, e.g. no more processes
                    row = failure_row(spec, "crashed", "crash", f"{type(exc).__name__}: {exc}", 0.0)
                write(row)
    finally:  # also when interrupted: every law still running is killed and not recorded
        children.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(
    specs: list[TaskSpec], scheduler: Any, timeout: Timeout, write: Callable[[Row], None]
) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed: pip install 'kansci[dask]'"
        ) from None
    client = Client(scheduler) if isinstance(scheduler, str) else scheduler
    futures: dict[Any, TaskSpec] = {}
    try:
        for spec in specs:
            key = f"kansci-feynman-{spec.law_id}-{spec.noise!r}-{spec.seed}-{uuid.uuid4().hex[:8]}"
            future = client.submit(run_isolated, spec, _limit(timeout, spec), key=key, pure=False)
            futures[future] = spec
        for future in as_completed(list(futures)):
            spec = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # the worker died, or the task could not run there
                message = f"dask: {type(exc).__name__}: {exc}"
                row = failure_row(spec, "crashed", "crash", message, math.nan)
            write(row)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        if isinstance(scheduler, str):
            client.close()


def run_benchmark(
    specs: Iterable[TaskSpec],
    out: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    scheduler: Any = None,
    timeout: Timeout = None,
    retry_failed: bool = False,
    method: str = "auto",
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Run the tasks not yet in the results file, appending each row as its law finishes.

    Parameters
    ----------
    specs : iterable of TaskSpec
        The tasks; those whose (law id, noise, seed) is in ``out`` already are skipped.
    out : path
        The CSV results file (created with a header when missing).
    jobs : int, optional
        Laws at a time on this machine (default :func:`default_jobs`); unused with a scheduler.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (or a client) to run the tasks on instead.
    timeout : float or callable, optional
        Hard limit per law in seconds, or a function of the task giving it (default
        :func:`default_timeout` of each task).
    retry_failed : bool
        Run again the laws whose rows are all crashes, timeouts or errors.
    method : str
        How local children start (see :func:`run_isolated`).
    on_row : callable, optional
        Called with each row once it is written.

    Returns
    -------
    list of dict
        The rows written by this run, in the order the laws finished.
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if timeout is not None and not callable(timeout) and not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    _method(method)
    path = Path(out)
    todo = pending_specs(specs, path, retry_failed=retry_failed)
    appender = ResultsWriter(path)
    written: list[Row] = []

    def write(row: Row) -> None:
        appender.append(row)
        written.append(row)
        if on_row is not None:
            on_row(row)

    try:
        if not todo:
            return written
        logger.info("running %d laws", len(todo))
        if scheduler is not None:
            _run_dask(todo, scheduler, timeout, write)
        else:
            _run_local(todo, min(jobs or default_jobs(), len(todo)), timeout, method, write)
    finally:
        appender.close()
    return written
