"""Re-check decomposition's formulas on the real rows before the surrogate's error picks them.

Decomposition snaps one-variable leaves against the KAN surrogate's output, and ranks the
composed formulas by their error against the surrogate.  The surrogate's smooth error (largest
near poles and edges, e.g. ``1/sqrt(1 - v**2/c**2)`` as ``v -> c``) can make a flexible mimic
of a leaf look better than the true leaf.  Here every composed alternative (several candidates
per leaf) is refitted on a sample of the real training rows and ranked by a description
length at the noise the best of them reaches, so that the data, not the surrogate, choose.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import sympy

from .._evaluate import numpy_function
from .._timeout import CallTimeout, time_limit
from ..formula import refine_constants
from ..formula._codelength import structure_codelength

__all__ = ["rerank_on_data"]

log = logging.getLogger("kansci")


def _refit(expr, symbols, X, y, w, seconds: float):
    try:
        with time_limit(seconds):
            new, _ = refine_constants(expr, symbols, X, y, weights=w)
    except (Exception, CallTimeout):  # keep the composed constants
        new = expr
    try:
        with np.errstate(all="ignore"):
            pred = np.broadcast_to(np.asarray(numpy_function(new, symbols)(*X.T), float), y.shape)
    except Exception:  # an expression numpy cannot evaluate
        return new, math.inf
    if not np.all(np.isfinite(pred)):
        return new, math.inf
    r = pred - y
    return new, float(np.sum(r**2 * (w if w is not None else 1.0)))


def rerank_on_data(results, problem, *, rows: int = 400, deadline: float | None = None,
                   seed: int = 0, origins: dict | None = None) -> list[tuple[float, sympy.Expr]]:
    """``results`` (``(surrogate error, formula)`` pairs) refitted on real training rows and
    ordered by ``SSE / (2 sigma**2) + k log n + constants + log(rows)/2 per fitted constant``
    (``sigma``: the smallest RMSE among them, or the error bars), best first.  Formulas not
    reached before ``deadline`` keep their order after the checked ones.  ``origins`` (a dict,
    optional) receives each refitted formula's original, so records kept by formula (the
    decomposition's trace) still find it."""
    train = problem.train
    rng = np.random.default_rng(seed)
    pick = train if len(train) <= rows else np.sort(rng.choice(train, size=rows, replace=False))
    X, y = problem.X[pick], problem.y[pick]
    w = None if problem.weights is None else problem.weights[pick]
    checked, rest = [], []
    for err, expr in results:
        if deadline is not None and time.perf_counter() > deadline:
            rest.append((err, expr))
            continue
        new, sse = _refit(expr, problem.symbols, X, y, w, 1.0)
        checked.append((err, new, sse))
        if origins is not None:
            origins[new] = expr
    finite = [sse for _, _, sse in checked if math.isfinite(sse)]
    if not finite:
        return [(err, e) for err, e, _ in checked] + rest
    variance = 1.0 if w is not None else max(min(finite) / len(y), (1e-9 * problem.y_scale) ** 2)

    def length(item):
        _, expr, sse = item
        if not math.isfinite(sse):
            return math.inf
        structure, constants = structure_codelength(expr)
        params = 0.5 * math.log(len(y)) * len(expr.atoms(sympy.Float))
        return sse / (2 * variance) + structure + constants + params

    checked.sort(key=length)
    log.debug("decomposition: %d formulas re-checked on %d real rows", len(checked), len(y))
    return [(err, e) for err, e, _ in checked] + rest
