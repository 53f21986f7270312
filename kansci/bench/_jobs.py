"""Run independent benchmark items one by one or in worker processes, one torch thread each."""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import torch

from ._task import one_thread_env

__all__ = ["map_jobs", "cpu_seconds"]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (worker processes), in seconds.

    On a shared machine, wall time depends on the other users; CPU time measures the work.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def map_jobs(fn: Callable[[Any], Any], items: Iterable[Any], *, jobs: int = 1, threads: int = 1) -> Iterator[Any]:
    """``fn(item)`` for every item, yielded as they finish (in order when ``jobs`` is 1).

    ``fn`` must be a module-level function (it is pickled into spawned workers).
    """
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            for item in items:
                yield fn(item)
        finally:
            torch.set_num_threads(previous)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(threads,)) as pool:
        with one_thread_env():  # the workers start here, and load BLAS single-threaded
            futures = [pool.submit(fn, item) for item in items]
        for fut in as_completed(futures):
            yield fut.result()
