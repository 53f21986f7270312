"""The Pareto front of complexity against held-out error, and the choice of one formula."""

from __future__ import annotations

import math

import numpy as np
import sympy

from ._candidates import Candidate

__all__ = ["pareto_front", "choose", "fit_tolerance"]


def pareto_front(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates no other candidate beats in both complexity and error, simplest first."""
    best_by_complexity: dict[int, Candidate] = {}
    for c in candidates:
        if not math.isfinite(c.rmse):
            continue
        old = best_by_complexity.get(c.complexity)
        if old is None or (c.rmse, not c.exact) < (old.rmse, not old.exact):
            best_by_complexity[c.complexity] = c
    front, best = [], math.inf
    for k in sorted(best_by_complexity):
        c = best_by_complexity[k]
        if c.rmse < best:
            front.append(c)
            best = c.rmse
    return front


def pysr_scores(front: list[Candidate], floor: float) -> list[float]:
    """PySR's score: drop in log error per unit of complexity against the previous entry."""
    scores = []
    for i, c in enumerate(front):
        if i == 0:
            scores.append(0.0)
            continue
        prev = front[i - 1]
        drop = math.log(max(prev.rmse, floor)) - math.log(max(c.rmse, floor))
        scores.append(drop / max(c.complexity - prev.complexity, 1))
    return scores


def fit_tolerance(best_rmse: float, n_val: int, y_scale: float) -> float:
    """Largest validation RMSE that still counts as fitting as well as the best one.

    A few standard errors of an RMSE estimate from ``n_val`` rows above the best, plus a
    floor at rounding level so that at zero noise every essentially exact fit qualifies.
    """
    return best_rmse * (1.0 + 3.0 / math.sqrt(2.0 * max(n_val, 1))) + 1e-9 * y_scale


def fits_as_well(c: Candidate, best: Candidate, n_val: int, y_scale: float, z: float = 3.0) -> bool:
    """Whether ``c`` predicts the validation rows as well as ``best``.

    Two tests, both must pass.  The RMSE must be within :func:`fit_tolerance` of the best,
    and a paired test on the same rows must not find ``c`` worse: the per-row difference of
    squared errors measures how much worse ``c`` is far more precisely than two separate
    RMSEs, so a near-miss formula inside the RMSE tolerance is still told apart from the
    right one; it fails when that difference is ``z`` standard errors above zero.  (The
    paired test alone is too lenient for heavy-tailed targets, whose squared errors have a
    huge spread.)  At rounding level (zero noise) everything within ``1e-9`` of the target's
    scale fits.
    """
    if c.rmse <= best.rmse + 1e-9 * y_scale:
        return True
    if c.rmse > fit_tolerance(best.rmse, n_val, y_scale):
        return False
    if c.residuals is None or best.residuals is None or not np.all(np.isfinite(c.residuals)):
        return True
    d = c.residuals**2 - best.residuals**2
    se = float(np.std(d)) / math.sqrt(len(d)) if len(d) > 1 else math.inf
    return float(np.mean(d)) <= z * se


def _digits(n: int) -> int:
    return len(str(abs(int(n))))


def description_cost(c: Candidate) -> float:
    """Complexity plus the extra length of elaborate exact constants (``119/4`` is not ``2``).

    A node count charges every number one node, so a formula that mimics the law with a few
    long rationals (``119/4*(1 - tanh(5/2 + x**2/4))`` for a gaussian tail) would look as
    simple as the law itself; counting the digits beyond the first (and beyond one for each
    part of a fraction) keeps the description-length ordering that recognition itself uses.
    """
    extra = 0
    for node in sympy.preorder_traversal(c.expr):
        if isinstance(node, sympy.Rational) and not isinstance(node, sympy.Float):
            if node.q == 1:
                extra += _digits(node.p) - 1
            else:
                extra += max(_digits(node.p) + _digits(node.q) - 2, 0)
    return c.complexity + extra


def choose(candidates: list[Candidate], n_val: int, y_scale: float, *, error=None,
           exact_slack: float = 1.0) -> Candidate:
    """The simplest formula among those that fit within the noise, exact ones first.

    Among candidates that fit the validation rows as well as the best one (an RMSE tolerance
    and a paired test, :func:`fits_as_well`), take an exact one (no float constants left) of
    least :func:`description_cost` if any, else the least costly.
    ``error`` replaces the validation RMSE (e.g. a leave-one-out error for tables too small
    to hold rows out, so that nothing wins by interpolating a handful of rows); ``exact_slack``
    lets an exact formula count as fitting up to that multiple of the best error (used for
    such small tables, where a fitted exponent always beats the exact one by a little).
    """
    if error is None:  # validation rows held out: paired comparison with the best
        finite = [c for c in candidates if math.isfinite(c.rmse)]
        if not finite:
            raise ValueError("no candidate formula could be evaluated")
        best = min(finite, key=lambda c: c.rmse)
        fitting = [c for c in finite if fits_as_well(c, best, n_val, y_scale)]
        exact = [c for c in fitting if c.exact]
        return min(exact or fitting, key=lambda c: (description_cost(c), c.rmse))
    err = error
    finite = [c for c in candidates if math.isfinite(err(c))]
    if not finite:
        finite = [c for c in candidates if math.isfinite(c.rmse)]
        err = lambda c: c.rmse  # noqa: E731
    if not finite:
        raise ValueError("no candidate formula could be evaluated")
    best = min(err(c) for c in finite)
    tol = fit_tolerance(best, n_val, y_scale)
    fitting = [c for c in finite if err(c) <= tol]
    exact = [c for c in finite if c.exact and err(c) <= max(tol, exact_slack * best)]
    pool = exact or fitting
    return min(pool, key=lambda c: (description_cost(c), err(c)))


def front_table(front: list[Candidate], chosen: Candidate, y_scale: float):
    """Rows for the Pareto DataFrame."""
    floor = 1e-12 * y_scale
    scores = pysr_scores(front, floor)
    return [
        dict(complexity=c.complexity, rmse=c.rmse, r2=c.r2, score=s, exact=c.exact, source=c.source,
             chosen=c is chosen, expr=c.expr)
        for c, s in zip(front, scores)
    ]


def noise_estimate(candidates: list[Candidate]) -> float:
    finite = [c.rmse for c in candidates if np.isfinite(c.rmse)]
    return min(finite) if finite else math.nan
