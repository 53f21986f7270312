"""Fake solvers for the benchmark tests, importable by child processes and Dask workers.

Each takes ``(train, target=..., time_limit=..., seed=..., progress=...)`` like
``kansci.discover``. ``mixed`` behaves by law, so that one run holds every outcome.
"""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

from kansci.datasets import evaluate_law, feynman_law, feynman_table


class FakeDiscoveryError(RuntimeError):
    """Like kansci.DiscoveryError: says at which stage it gave up."""

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.stage = stage


class FakeDiscovery:
    def __init__(self, data: dict) -> None:
        self._data = data

    def to_json(self) -> dict:
        return dict(self._data)


def identify(train, target: str):
    """The law that generated the table (same output, variables and values)."""
    names = sorted(c for c in train.columns if c != target)
    for row in feynman_table().itertuples(index=False):
        law = feynman_law(row.id)
        if law.output == target and sorted(law.names) == names:
            y, seen = evaluate_law(law, train), train[target].to_numpy()
            if np.sqrt(np.mean((y - seen) ** 2)) < 0.5 * np.sqrt(np.mean(seen**2)):  # noise ok
                return law
    raise LookupError(f"no law gives {target} from {names}")


def _result(formula: str, **diagnostics) -> FakeDiscovery:
    return FakeDiscovery(
        {"formula": formula, "latex": formula, "r2": 1.0, "rmse": 0.0, "complexity": 7,
         "seconds": 0.01, "pareto": [], "diagnostics": {"stage": None, **diagnostics}}
    )  # fmt: skip


def exact(train, target, time_limit=60, seed=0, progress=False):
    """(a) The true formula."""
    law = identify(train, target)
    return _result(str(law.formula), fit_r2=1.0, snap_r2=1.0, pruned_width=[2, 1])


def wrong(train, target, time_limit=60, seed=0, progress=False):
    """(b) A wrong formula, after a poor fit."""
    law = identify(train, target)
    return _result(f"{law.names[0]} + 1", fit_r2=0.5, snap_r2=0.4)


def wrong_snap(train, target, time_limit=60, seed=0, progress=False):
    """(b') Nearly right, after a perfect fit: the snapping is to blame."""
    law = identify(train, target)
    return _result(f"1.01*({law.formula})", fit_r2=0.99999, snap_r2=0.9999)


def crash(train, target, time_limit=60, seed=0, progress=False):
    """(c) The process dies at once."""
    os._exit(1)


def segfault(train, target, time_limit=60, seed=0, progress=False):
    """(c') The process dies of a segmentation fault."""
    ctypes.string_at(0)


def hang(train, target, time_limit=60, seed=0, progress=False):
    """(d) Never returns (in time)."""
    time.sleep(600)


def raises(train, target, time_limit=60, seed=0, progress=False):
    """(e) Gives up with a stage."""
    raise FakeDiscoveryError("no edge survived pruning", stage="pruning")


def bare_formula(train, target, time_limit=60, seed=0, progress=False):
    """The formula as plain text, no diagnostics."""
    return "1.0*" + f"({identify(train, target).formula})"


def threads(train, target, time_limit=60, seed=0, progress=False):
    """The true formula, with torch's thread count as its complexity."""
    import torch

    result = exact(train, target).to_json()
    result["complexity"] = torch.get_num_threads()
    return result


def _openblas_threads() -> int:
    """numpy's OpenBLAS thread count, -1 where it cannot be asked (no /proc, another BLAS)."""
    import re

    try:
        maps = open("/proc/self/maps", encoding="utf-8").read()
    except OSError:
        return -1
    for path in sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps))):
        library = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                     "openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(library, name):
                return int(getattr(library, name)())
    return -1


def blas_threads(train, target, time_limit=60, seed=0, progress=False):
    """The true formula, with the OpenBLAS thread count that numpy uses as its complexity."""
    result = exact(train, target).to_json()
    result["complexity"] = _openblas_threads()
    return result


BEHAVIOUR = {
    "I.6.2a": exact,
    "I.12.1": wrong,
    "I.12.2": crash,
    "I.12.4": hang,
    "I.12.5": raises,
    "I.14.3": wrong_snap,
}


def mixed(train, target, time_limit=60, seed=0, progress=False):
    """Behave by law (:data:`BEHAVIOUR`), exactly elsewhere."""
    law = identify(train, target)
    return BEHAVIOUR.get(law.id, exact)(train, target, time_limit, seed, progress)
