"""Large tables: search on a subsample, then refit and score the formulas on all rows.

Finding the form of a law needs a few thousand rows: the surrogate KAN, the decomposition
probes, the KAN pipeline and the term search cost time in proportion to the rows they see,
and a million rows tell them little more than five thousand.  What does gain from every row
is the precision of the fitted constants and the honesty of the comparison between
formulas.  So on a table with more training rows than ``search_rows`` the stages run on a
uniform random subsample (fixed by the seed; the validation rows are subsampled too, at a
quarter of that size), and afterwards every candidate is scored again on all held-out rows,
the constants of the most promising refitted on up to ``refit_rows`` training rows first.
Only candidates scored on the full validation set reach the chooser.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from .._timeout import CallTimeout, time_limit
from ..formula import refine_constants
from ._candidates import Candidate, score
from ._pareto import pareto_front
from ._problem import MIN_ROWS, Problem

__all__ = ["SEARCH_ROWS", "REFIT_ROWS", "search_problem", "rescore_on_all_rows"]

log = logging.getLogger("kansci")

#: Default cap on the training rows the search stages see.
SEARCH_ROWS = 5000
#: Default cap on the training rows a final refit of constants uses.
REFIT_ROWS = 200_000
# candidates whose constants get the final refit: the front, then the best by error
_MAX_REFITS = 12


def _sample(rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= n else np.sort(rng.choice(rows, size=n, replace=False))


def search_problem(problem: Problem, search_rows: int | None, seed: int) -> Problem:
    """The problem the search stages see: ``problem`` itself, or one on a subsample of its rows.

    The subsample shares the data arrays (only the row indices differ), is uniform and is
    fixed by ``seed``.
    """
    if search_rows is None or len(problem.train) <= search_rows:
        return problem
    rng = np.random.default_rng([int(seed), 1])  # its own stream: the split is not disturbed
    n_val = min(len(problem.val), max(search_rows // 4, 2 * MIN_ROWS))
    sub = dataclasses.replace(problem, train=_sample(problem.train, search_rows, rng),
                              val=_sample(problem.val, n_val, rng), notes=list(problem.notes))
    log.info("large table: the search uses %d of %d training rows and %d of %d validation rows",
             len(sub.train), len(problem.train), len(sub.val), len(problem.val))
    return sub


def _order(candidates: list[Candidate]) -> list[Candidate]:
    """Exact formulas first (nothing to refit, so scoring them is cheap, and the noise-aware
    choice must weigh them against the fitted ones), then the Pareto front (simplest first),
    then the rest by their search error."""
    exact = sorted((c for c in candidates if c.n_params == 0), key=lambda c: (c.rmse, c.complexity))
    fitted = [c for c in candidates if c.n_params > 0]
    front = pareto_front(fitted)
    ids = {id(c) for c in front}
    rest = sorted((c for c in fitted if id(c) not in ids), key=lambda c: (c.rmse, c.complexity))
    return exact + sorted(front, key=lambda c: c.complexity) + rest


def rescore_on_all_rows(candidates: list[Candidate], problem: Problem, *, refit_rows: int = REFIT_ROWS,
                        seed: int = 0, deadline: float | None = None) -> list[Candidate]:
    """Every candidate scored on all of ``problem``'s rows; constants refitted for the best first.

    The Pareto front of the search and then the most accurate candidates with fitted
    constants (at most twelve) get their constants refitted jointly on up to ``refit_rows``
    training rows; every candidate is then scored on all validation rows.  When the
    ``deadline`` passes, the candidates not yet scored are left out (the front comes first,
    so the ones that matter are scored).
    """
    rng = np.random.default_rng([int(seed), 2])
    rows = _sample(problem.train, refit_rows, rng)
    X, y = problem.X[rows], problem.y[rows]
    out: list[Candidate] = []
    refits = 0
    seen: set[str] = set()
    for cand in _order(candidates):
        if deadline is not None and time.perf_counter() > deadline and out:
            log.info("large table: time is up, %d of %d formulas scored on all rows", len(out), len(candidates))
            break
        key = cand.key()
        if key in seen:
            continue
        seen.add(key)
        expr = cand.expr
        if cand.n_params and refits < _MAX_REFITS:
            refits += 1
            left = 8.0 if deadline is None else max(min(deadline - time.perf_counter(), 8.0), 0.5)
            try:
                with time_limit(left):
                    expr, _ = refine_constants(expr, problem.symbols, X, y, max_rows=len(rows))
            except (Exception, CallTimeout) as exc:  # keep the constants of the search
                log.debug("refit on all rows failed for %s: %s", expr, exc)
                expr = cand.expr
        new = score(expr, problem, cand.source, **cand.notes)
        if new is not None:
            if expr == cand.expr:  # the same formula: what recognition made of it still holds
                new.parent, new.recognised, new.intervals = cand.parent, cand.recognised, cand.intervals
            out.append(new)
    return out
