"""Candidate formulas: finish them (refine, recognise, tidy) and score them on held-out rows.

A formula's constants are estimates: recognition (``kansci.formula.recognise_with_record``)
replaces one by a closed form only inside its 95 % interval, where a chance match is unlikely
and the description length drops, and never constant by constant in a formula with more than
:data:`MAX_RECOGNISED` constants (a mimic keeps its floats).  Each finished candidate records
what was recognised, so the result can show each constant with its interval.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

from .._evaluate import numpy_function
from ..formula import ConstantEstimate, complexity, refine_constants, tidy
from ..formula._candidates import expected_chance_matches, nice_candidates
from ..formula._recognise import MAX_RECOGNISED, recognise_with_record
from .._timeout import CallTimeout, time_limit
from ._problem import Problem

__all__ = ["Candidate", "evaluate_rows", "score", "finish", "fallback_candidates", "MAX_RECOGNISED"]

log = logging.getLogger("kansci")


@dataclass
class Candidate:
    """One formula with its scores (RMSE and R^2 on the validation rows)."""

    expr: sympy.Expr
    source: str
    complexity: int
    rmse: float
    r2: float
    train_rmse: float
    exact: bool = False  # no float constants left
    notes: dict = field(default_factory=dict)
    residuals: np.ndarray | None = field(default=None, repr=False)  # on the validation rows
    sse: float = float("nan")  # weighted sum of squared errors over all rows (train and val)
    n_rows: int = 0
    parent: sympy.Expr | None = field(default=None, repr=False)  # the fitted formula recognised
    recognised: dict = field(default_factory=dict, repr=False)  # parent's constant -> exact value
    intervals: list[ConstantEstimate] = field(default_factory=list, repr=False)  # the parent's

    @property
    def named_constants(self) -> dict[int, sympy.Expr]:
        """Recognised constants other than identities (0, +-1: a term or factor removed)."""
        return {i: v for i, v in self.recognised.items()
                if v is not None and v not in (sympy.S.Zero, sympy.S.One, sympy.S.NegativeOne)}

    @property
    def n_params(self) -> int:
        """Float constants left in the formula (fitted, not recognised)."""
        return len(self.expr.atoms(sympy.Float))

    def key(self) -> str:
        return sympy.srepr(self.expr)


def evaluate_rows(expr, problem: Problem, rows) -> np.ndarray:
    """``expr`` on the given rows of the problem (NaN/inf where it is not finite), shape (len(rows),)."""
    f = numpy_function(expr, problem.symbols)
    with np.errstate(all="ignore"):
        out = np.asarray(f(*[problem.X[rows, j] for j in range(problem.n_vars)]), dtype=float)
    return np.broadcast_to(out, (len(rows),)).astype(float)


def _rmse(pred: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(pred)):
        return float("inf")
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def _all_rows(problem: Problem) -> np.ndarray:
    return np.union1d(problem.train, problem.val)


def score(expr, problem: Problem, source: str, **notes) -> Candidate | None:
    """Score ``expr`` as it is (no refitting); None when it cannot be evaluated."""
    try:
        val = evaluate_rows(expr, problem, problem.val)
        train = evaluate_rows(expr, problem, problem.train)
    except Exception as exc:  # an expression sympy built but numpy cannot evaluate
        log.debug("cannot evaluate %s: %s", expr, exc)
        return None
    yv = problem.y[problem.val]
    rmse = _rmse(val, yv)
    var = float(np.var(yv)) or 1.0
    r2 = 1.0 - rmse**2 / var if np.isfinite(rmse) else float("-inf")
    rows = _all_rows(problem)
    pred = np.empty(len(problem.y))
    pred[problem.train], pred[problem.val] = train, val
    err = pred[rows] - problem.y[rows]
    w = problem.weights
    sse = float(np.sum(err**2 * (w[rows] if w is not None else 1.0))) if np.all(np.isfinite(err)) else np.inf
    return Candidate(
        expr=expr, source=source, complexity=complexity(expr), rmse=rmse, r2=r2,
        train_rmse=_rmse(train, problem.y[problem.train]), exact=not expr.atoms(sympy.Float), notes=notes,
        residuals=val - yv, sse=sse, n_rows=len(rows),
    )


def fallback_candidates(problem: Problem) -> list[Candidate]:
    """The constant and the linear least-squares fit, scored as they are (no refinement).

    What discovery returns when time ran out before any stage finished a formula.
    """
    X, y = problem.subset(problem.train)
    A = np.column_stack([X, np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    linear = sum(sympy.Float(float(c)) * s for c, s in zip(coef[:-1], problem.symbols)) + sympy.Float(float(coef[-1]))
    found = [score(sympy.Float(float(np.mean(y))), problem, "baseline"), score(linear, problem, "linear")]
    return [c for c in found if c is not None]


def loo_rmse(cand: Candidate, problem: Problem, max_seconds: float = 2.0, *, relative: bool = False) -> float:
    """Leave-one-out RMSE: each row predicted by the formula refitted without it.

    For tables too small to hold rows out; a formula without fitted constants is not refitted.
    ``relative`` measures errors relative to the target (for data spanning decades).
    """
    rows = problem.train
    scale = np.abs(problem.y[rows]) if relative else np.ones(len(rows))
    if cand.n_params == 0:
        err = (evaluate_rows(cand.expr, problem, rows) - problem.y[rows]) / scale
        return float(np.sqrt(np.mean(err**2))) if np.all(np.isfinite(err)) else float("inf")
    errs = []
    start = time.perf_counter()
    for i in range(len(rows)):
        keep = np.delete(rows, i)
        try:
            with time_limit(max_seconds):
                refit, _ = refine_constants(cand.expr, problem.symbols, problem.X[keep], problem.y[keep])
            pred = evaluate_rows(refit, problem, rows[i : i + 1])[0]
        except (Exception, CallTimeout):  # a refit that fails counts as a miss
            return float("inf")
        errs.append((pred - problem.y[rows[i]]) / scale[i])
        if time.perf_counter() - start > max_seconds:
            return float("inf")
    errs = np.asarray(errs)
    return float(np.sqrt(np.mean(errs**2))) if np.all(np.isfinite(errs)) else float("inf")


def _train_sample(problem: Problem, max_rows: int = 1500):
    rows = train_rows(problem, max_rows)
    return problem.X[rows], problem.y[rows]


def train_rows(problem: Problem, max_rows: int = 1500) -> np.ndarray:
    """The training rows constants are fitted on (evenly thinned above ``max_rows``)."""
    rows = problem.train
    if len(rows) > max_rows:
        rows = rows[np.linspace(0, len(rows) - 1, max_rows).astype(int)]
    return rows


def _weights(problem: Problem, rows) -> np.ndarray | None:
    w = problem.weights
    return None if w is None else w[rows]


def _recognisable(expr, max_complexity: int = 70, max_constants: int = 12) -> bool:
    """Constant recognition is a combinatorial search: only for formulas of modest size."""
    return complexity(expr) <= max_complexity and len(expr.atoms(sympy.Float)) <= max_constants


def rounded(template, dummies, values, intervals: list[ConstantEstimate] | None = None,
            window: float = 0.002, max_recognised: int = MAX_RECOGNISED):
    """Every parameter of ``template`` set to the cheapest plausible nice constant, or None.

    No refit: an exact alternative for the chooser to weigh against the fitted formula,
    useful where the data cannot tell 0.9994 from 1 (few rows, real measurements, noise).
    With ``intervals`` (the estimates of the parameters, in ``dummies`` order) a constant may
    only become a value inside its 95 % interval that a chance match would not explain
    (fewer than 0.5 nice constants of at most its cost + 0.25 expected there, as in recognition),
    and a formula with more than ``max_recognised`` constants other than +-1 is not
    rounded; without intervals the relative ``window`` decides.

    Returns
    -------
    (expr, {position: exact value}) or None
    """
    if not dummies:
        return None
    exponents = set()
    for p in template.atoms(sympy.Pow):
        exponents |= p.exp.atoms(sympy.Dummy)
    if intervals is not None and len(intervals) != len(dummies):
        return None
    subs, named = {}, 0
    for i, (d, value) in enumerate(zip(dummies, values)):
        value = float(value)
        role = "exponent" if d in exponents else "other"
        if intervals is None:
            options = [c for c in nice_candidates(value, role, window=window) if c.value != 0]
        else:
            lo, hi = intervals[i].lower, intervals[i].upper
            if not (np.isfinite(lo) and np.isfinite(hi)):
                return None
            half = 0.5 * (hi - lo)
            wide = float(np.clip(half / abs(value), 1e-12, 1.0)) if value else 1.0
            options = [c for c in nice_candidates(value, role, window=wide)
                       if c.value != 0 and lo <= c.number <= hi
                       and (c.cost <= 0 or expected_chance_matches(value, half, c.cost + 0.25, role) <= 0.5)]
        if not options:
            return None
        best = min(options, key=lambda c: (c.cost, abs(c.number - value)))
        named += best.value not in (sympy.S.One, sympy.S.NegativeOne)
        subs[d] = best.value
    if named > max_recognised:
        return None
    return template.xreplace(subs), {i: subs[d] for i, d in enumerate(dummies)}


def _stand_ins(symbols, X: np.ndarray) -> dict:
    """Symbols assumed positive where their data are (so exp(log(a) + log(b)) tidies to a*b)."""
    out = {}
    for j, s in enumerate(symbols):
        positive = bool(np.all(X[:, j] > 0))
        out[s] = sympy.Dummy(s.name, positive=True) if positive else sympy.Dummy(s.name, real=True)
    return out


def _recognise(refined, problem: Problem, X, y, w, noise, max_seconds):
    """(recognised formula, record) or None; the formula is tidied, in the problem's symbols."""
    stand = _stand_ins(problem.symbols, X)
    back = {v: k for k, v in stand.items()}
    names = [stand[s] for s in problem.symbols]
    with time_limit(max_seconds):
        small = np.array_equal(problem.val, problem.train) and w is None  # a handful of rows
        rec = recognise_with_record(refined.xreplace(stand), names, X, y, weights=w,
                                    absolute_sigma=w is not None, noise=None if w is not None else noise,
                                    interval_method="jackknife" if small else "wald")
        nice = tidy(rec.expr, names, X) if rec.assigned else rec.expr
    return nice.xreplace(back), rec, back


def finish(expr, problem: Problem, source: str, *, recognise: bool = True, max_seconds: float = 8.0,
           noise: float | None = None, **notes) -> list[Candidate]:
    """Refine the constants of ``expr`` on the training rows, then recognise them.

    Returns the refined candidate and, when recognition changed it, the exact one too.
    ``noise`` (the target's noise standard deviation, as far as known) narrows the intervals
    of formulas that fit worse than the noise.  With error bars the fits are weighted.
    """
    rows = train_rows(problem)
    X, y, w = problem.X[rows], problem.y[rows], _weights(problem, rows)
    out = []
    start = time.perf_counter()
    try:
        with time_limit(max_seconds):
            refined, _ = refine_constants(expr, problem.symbols, X, y, weights=w)
    except (Exception, CallTimeout) as exc:  # keep going with other candidates
        log.debug("refine failed for %s: %s", expr, exc)
        refined = expr
    cand = score(refined, problem, source, **notes)
    if cand is not None:
        out.append(cand)
    rec = None
    if recognise and refined.atoms(sympy.Float) and _recognisable(refined):
        try:
            nice, rec, back = _recognise(refined, problem, X, y, w, noise, max_seconds)
        except (Exception, CallTimeout) as exc:  # keep the refined formula
            log.debug("recognition failed for %s: %s", refined, exc)
            nice = None
        if nice is not None and nice != refined:
            cand = score(nice, problem, source, **notes)
            if cand is not None:
                cand.parent, cand.recognised = rec.reference.xreplace(back), dict(rec.assigned)
                cand.intervals = list(rec.intervals)
                out.append(cand)
    near = None
    if rec is not None and rec.intervals:
        near = rounded(rec.template, rec.dummies, [e.value for e in rec.intervals], rec.intervals)
    if near is not None:
        near_expr, assigned = near
        near_expr = near_expr.xreplace(back)
        try:
            with time_limit(min(max_seconds, 2.0)):
                near_expr = tidy(near_expr, problem.symbols, X)
        except (Exception, CallTimeout) as exc:  # tidying is cosmetic
            log.debug("tidy failed for %s: %s", near_expr, exc)
        if all(near_expr != c.expr for c in out):
            cand = score(near_expr, problem, source + "+rounded", **notes)
            if cand is not None:
                cand.parent, cand.recognised = rec.reference.xreplace(back), assigned
                cand.intervals = list(rec.intervals)
                out.append(cand)
    log.debug("finished %s candidate in %.2fs", source, time.perf_counter() - start)
    return out
