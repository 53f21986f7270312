"""Scale symmetries found on the data: dimensional analysis without units.

Many laws are homogeneous in a pair of inputs: scaling ``x_i`` and ``x_j`` together by any
factor multiplies the target by a power of it, ``y(l*x_i, l*x_j, ...) = l**d * y(...)``, which
is the same as ``y = x_i**d * f(x_j/x_i, other inputs)`` (Euler's theorem on homogeneous
functions).  Inputs of one physical dimension (a width ``sigma`` and an offset ``theta``; a
speed ``v`` and ``c``; ``omega`` and ``omega_0``) enter a law this way, units given or not.
The reduction removes one variable, and a function of the ratio is often one that the
snapping engine finds directly on the data (``exp(-u**2/2)``, ``1/sqrt(1 - u**2)``), where a
surrogate of the full problem would have had to resolve it.

The test is done on the data, not on a surrogate: for each pair and each degree ``d`` in a
small set, the reduced target ``y / x_i**d`` is checked for being a function of the groups
(the leave-one-out local linear neighbour error on ranks that the units stage uses,
``_dimensional._functional_error``); a reduction is kept when that error is clearly below the
full problem's.  The best one is searched like a reduction by units (its formulas mapped back
to the columns); the nested search applies the test again, so three inputs of one dimension
reduce in two steps.

Reference: S.-M. Udrescu & M. Tegmark, "AI Feynman", Sci. Adv. 6, eaay2631 (2020) (scale and
translation symmetries tested on a surrogate); here the pairwise scale test runs on the data.
"""

from __future__ import annotations

import logging
import time
import numpy as np

from ._dimensional import Reduction, _functional_error, _orient_for, _search_reduced, _valid

__all__ = ["scale_reductions", "symmetry_strategy"]

log = logging.getLogger("kansci")

#: Degrees of homogeneity tried for each pair.
DEGREES = (0, 1, -1, 2, -2, 3, -3)  # half-integer degrees gave false matches (sqrt priors on smooth targets)
#: A reduction is kept when its neighbour error is below this fraction of the full problem's
#: (noise raises both errors towards a common floor, so a true reduction may gain little) ...
GAIN = 0.9
#: ... and only when the neighbours resolve the full problem at all (a fast oscillation does not
#: let them, and every reduction then looks as good as any other).
MAX_BASE = 0.1


def _unit(n: int, m: int) -> list[int]:
    return [1 if k == m else 0 for k in range(n)]


def _pair_reductions(X: np.ndarray):
    n = X.shape[1]
    for i in range(n):
        for j in range(i + 1, n):
            ratio = [0] * n
            ratio[j], ratio[i] = 1, -1
            groups = _orient_for(X, [ratio]) + [_unit(n, m) for m in range(n) if m not in (i, j)]
            seen = set()
            for base in (i, j):
                for d in DEGREES:
                    pre = [0] * n
                    pre[base] = d
                    if d == 0 and 0 in seen:
                        continue
                    seen.add(d if d == 0 else (base, d))
                    r = Reduction((), groups, pre)
                    if _valid(X, r):
                        yield r


def scale_reductions(X: np.ndarray, y: np.ndarray, *, max_rows: int = 800, time_budget: float = 5.0,
                     gain: float = GAIN) -> tuple[list[Reduction], float]:
    """Pairwise scale symmetries of ``y(X)`` that the data support, best first.

    Parameters
    ----------
    X : ndarray, shape (n, k); y : ndarray, shape (n,)
    max_rows : rows used (evenly spaced)
    time_budget : seconds; the pairs not reached are not tried
    gain : keep a reduction whose neighbour error is below ``gain`` times the full problem's

    Returns
    -------
    (reductions, base_error): each reduction with its ``score`` (neighbour error of the
    reduced target on its groups), sorted by score; and the full problem's error.
    """
    n = X.shape[1]
    rows = np.linspace(0, len(y) - 1, min(len(y), max_rows)).round().astype(int)
    Xs, ys = X[rows], y[rows]
    full = Reduction((), [_unit(n, m) for m in range(n)], [0] * n)
    base = _functional_error(*full.values(Xs, ys))
    stop = time.perf_counter() + time_budget
    kept = []
    for r in _pair_reductions(Xs):
        if time.perf_counter() > stop:
            break
        with np.errstate(all="ignore"):
            G, t = r.values(Xs, ys)
        r.score = _functional_error(G, t)
        if np.isfinite(r.score) and r.score <= gain * base:
            kept.append(r)
    return sorted(kept, key=lambda r: r.score), float(base)


def symmetry_strategy(ctx, *, max_vars: int = 6) -> None:
    """The discovery stage: search the problem reduced by the best scale symmetry."""
    raw = ctx.raw
    if not 2 <= raw.n_vars <= max_vars or ctx.remaining() < 2.0:
        return
    X, y = raw.subset(raw.train)
    if len(y) < 50:
        return
    t0 = time.perf_counter()
    found, base = scale_reductions(X, y, time_budget=min(3.0, 0.2 * ctx.remaining()))
    if base > MAX_BASE:
        found = []
    log.debug("symmetry: %d pair reductions kept in %.2fs (full problem %.3g)", len(found),
              time.perf_counter() - t0, base)
    if not found:
        return
    best = found[0]
    ctx.diagnostics["scale_symmetry"] = best.describe(raw.columns).split(", ", 1)[1]
    log.debug("symmetry: searching %s (score %.3g)", best.describe(raw.columns), best.score)
    reserve = min(3.0, 0.2 * ctx.remaining())
    _search_reduced(ctx, None, best, ctx.deadline - reserve, source="symmetry")
