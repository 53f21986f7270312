"""The formulas discovery reports, in their simplest equivalent form.

Before one formula is chosen, the candidates that could be chosen (those that fit about as
well as the best one, and the Pareto front) are tidied (:func:`kansci.formula.tidy`:
factored squares, ``3**b`` for ``exp(1.0986*b)``, rounding dust removed, sympy's rewrites),
with what the data say about signs.  A rewrite is kept only when it gives the same values on
the training rows, so the scores do not change; the complexity, and whether the formula is
exact, are those of the form shown.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import sympy

from .._timeout import CallTimeout, time_limit
from ..formula import complexity, tidy
from ._pareto import fit_tolerance, pareto_front

__all__ = ["make_readable"]

log = logging.getLogger("kansci")


def make_readable(candidates, problem, *, max_formulas: int = 10, seconds: float = 3.0) -> None:
    """Tidy, in place, the candidates that can be chosen or shown (see the module docstring)."""
    finite = [c for c in candidates if math.isfinite(c.rmse)]
    if not finite:
        return
    best = min(c.rmse for c in finite)
    tol = fit_tolerance(best, len(problem.val), problem.y_scale)
    pool = sorted([c for c in finite if c.rmse <= 2 * tol], key=lambda c: (c.complexity, c.rmse))[:max_formulas]
    pool += [c for c in pareto_front(finite) if c not in pool][:max_formulas]
    rows = problem.train[np.linspace(0, len(problem.train) - 1, min(len(problem.train), 300)).astype(int)]
    X = problem.X[rows]
    deadline = time.perf_counter() + seconds
    done: dict = {}
    for c in pool:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        if c.expr in done:
            new = done[c.expr]
        else:
            try:
                with time_limit(min(left, 1.0)):
                    new = tidy(c.expr, problem.symbols, X)
            except (Exception, CallTimeout) as exc:  # tidying is cosmetic
                log.debug("readable: tidy failed for %s: %s", c.expr, exc)
                new = c.expr
            done[c.expr] = new
        if new != c.expr:
            c.expr, c.complexity, c.exact = new, complexity(new), not new.atoms(sympy.Float)
