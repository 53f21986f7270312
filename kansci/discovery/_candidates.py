"""Candidate formulas: finish them (refine, recognise, tidy) and score them on held-out rows."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

from .._evaluate import numpy_function
from ..formula import complexity, refine_constants, simplify_formula, tidy
from .._timeout import CallTimeout, time_limit
from ._problem import Problem

__all__ = ["Candidate", "score", "finish", "fallback_candidates"]

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

    @property
    def n_params(self) -> int:
        """Float constants left in the formula (fitted, not recognised)."""
        return len(self.expr.atoms(sympy.Float))

    def key(self) -> str:
        return sympy.srepr(self.expr)


def _predict(expr, problem: Problem, rows) -> np.ndarray:
    f = numpy_function(expr, problem.symbols)
    with np.errstate(all="ignore"):
        out = np.asarray(f(*[problem.X[rows, j] for j in range(problem.n_vars)]), dtype=float)
    return np.broadcast_to(out, (len(rows),)).astype(float)


def _rmse(pred: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(pred)):
        return float("inf")
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def score(expr, problem: Problem, source: str, **notes) -> Candidate | None:
    """Score ``expr`` as it is (no refitting); None when it cannot be evaluated."""
    try:
        val = _predict(expr, problem, problem.val)
        train = _predict(expr, problem, problem.train)
    except Exception as exc:  # an expression sympy built but numpy cannot evaluate
        log.debug("cannot evaluate %s: %s", expr, exc)
        return None
    yv = problem.y[problem.val]
    rmse = _rmse(val, yv)
    var = float(np.var(yv)) or 1.0
    r2 = 1.0 - rmse**2 / var if np.isfinite(rmse) else float("-inf")
    return Candidate(
        expr=expr, source=source, complexity=complexity(expr), rmse=rmse, r2=r2,
        train_rmse=_rmse(train, problem.y[problem.train]), exact=not expr.atoms(sympy.Float), notes=notes,
        residuals=val - yv,
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
        err = (_predict(cand.expr, problem, rows) - problem.y[rows]) / scale
        return float(np.sqrt(np.mean(err**2))) if np.all(np.isfinite(err)) else float("inf")
    errs = []
    start = time.perf_counter()
    for i in range(len(rows)):
        keep = np.delete(rows, i)
        try:
            with time_limit(max_seconds):
                refit, _ = refine_constants(cand.expr, problem.symbols, problem.X[keep], problem.y[keep])
            pred = _predict(refit, problem, rows[i : i + 1])[0]
        except (Exception, CallTimeout):  # a refit that fails counts as a miss
            return float("inf")
        errs.append((pred - problem.y[rows[i]]) / scale[i])
        if time.perf_counter() - start > max_seconds:
            return float("inf")
    errs = np.asarray(errs)
    return float(np.sqrt(np.mean(errs**2))) if np.all(np.isfinite(errs)) else float("inf")


def _train_sample(problem: Problem, max_rows: int = 1500):
    rows = problem.train
    if len(rows) > max_rows:
        rows = rows[np.linspace(0, len(rows) - 1, max_rows).astype(int)]
    return problem.X[rows], problem.y[rows]


def _recognisable(expr, max_complexity: int = 70, max_constants: int = 12) -> bool:
    """Constant recognition is a combinatorial search: only for formulas of modest size."""
    return complexity(expr) <= max_complexity and len(expr.atoms(sympy.Float)) <= max_constants


def rounded(expr, window: float = 0.002):
    """Every float replaced by the cheapest nice constant within ``window`` (relative), or None.

    No refit: an exact alternative for the chooser to weigh against the fitted formula,
    useful where the data cannot tell 0.9994 from 1 (few rows, real measurements, noise).
    """
    from ..formula._candidates import nice_candidates

    floats = expr.atoms(sympy.Float)
    if not floats:
        return None
    exponents = {p.exp for p in expr.atoms(sympy.Pow) if isinstance(p.exp, sympy.Float)}
    subs = {}
    for f in floats:
        role = "exponent" if f in exponents else "other"
        options = [c for c in nice_candidates(float(f), role, window=window) if c.value != 0]
        if not options:
            return None
        subs[f] = min(options, key=lambda c: (c.cost, abs(c.number - float(f)))).value
    return expr.xreplace(subs)


def finish(expr, problem: Problem, source: str, *, recognise: bool = True, max_seconds: float = 8.0,
           **notes) -> list[Candidate]:
    """Refine the constants of ``expr`` on the training rows, then recognise them.

    Returns the refined candidate and, when recognition changed it, the exact one too.
    """
    X, y = _train_sample(problem)
    out = []
    start = time.perf_counter()
    try:
        with time_limit(max_seconds):
            refined, _ = refine_constants(expr, problem.symbols, X, y)
    except (Exception, CallTimeout) as exc:  # keep going with other candidates
        log.debug("refine failed for %s: %s", expr, exc)
        refined = expr
    cand = score(refined, problem, source, **notes)
    if cand is not None:
        out.append(cand)
    if recognise and refined.atoms(sympy.Float) and _recognisable(refined):
        try:
            with time_limit(max_seconds):
                nice = simplify_formula(refined, problem.symbols, X, y)
        except (Exception, CallTimeout) as exc:  # keep the refined formula
            log.debug("recognition failed for %s: %s", refined, exc)
            nice = None
        if nice is not None and nice != refined:
            cand = score(nice, problem, source, **notes)
            if cand is not None:
                out.append(cand)
    near = rounded(refined)
    if near is not None:
        try:
            with time_limit(min(max_seconds, 2.0)):
                near = tidy(near, problem.symbols, X)
        except (Exception, CallTimeout) as exc:  # tidying is cosmetic
            log.debug("tidy failed for %s: %s", near, exc)
    if near is not None and all(near != c.expr for c in out):
        cand = score(near, problem, source + "+rounded", **notes)
        if cand is not None:
            out.append(cand)
    log.debug("finished %s candidate in %.2fs", source, time.perf_counter() - start)
    return out
