"""Scale symmetries found on the data: dimensional analysis without units.

Many laws are homogeneous in a pair of inputs: scaling ``x_i`` and ``x_j`` together by any
factor multiplies the target by a power of it, ``y(l*x_i, l*x_j, ...) = l**d * y(...)``, which
is the same as ``y = x_i**d * f(x_j/x_i, other inputs)`` (Euler's theorem on homogeneous
functions); likewise for a triple (``g``, ``w`` and ``w0`` of a driven oscillator).  Inputs of one physical dimension (a width ``sigma`` and an offset ``theta``; a
speed ``v`` and ``c``; ``omega`` and ``omega_0``) enter a law this way, units given or not.
The reduction removes one variable, and a function of the ratio is often one that the
snapping engine finds directly on the data (``exp(-u**2/2)``, ``1/sqrt(1 - u**2)``), where a
surrogate of the full problem would have had to resolve it.

The test is done on the data, not on a surrogate: for each pair and each degree ``d`` in a
small set, the reduced target ``y / x_i**d`` is checked for being a function of the groups
(the leave-one-out local linear neighbour error on ranks that the units stage uses,
``_dimensional._functional_error``); a reduction is kept when that error is below the full
problem's and is not lowered by giving the base input ``x_i`` back (the reduced target does
not depend on the scale: the test by which irrelevant columns are dropped).  The best one is searched like a reduction by units (its formulas mapped back
to the columns); the nested search applies the test again, so three inputs of one dimension
reduce in two steps.

Reference: S.-M. Udrescu & M. Tegmark, "AI Feynman", Sci. Adv. 6, eaay2631 (2020) (scale and
translation symmetries tested on a surrogate); here the pairwise scale test runs on the data.
"""

from __future__ import annotations

import itertools
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
#: ... and giving the base input back must raise the error by this factor or more (a reduced
#: target that does not depend on the scale is predicted better without it; the ratio ranks
#: the reductions: it told true symmetries from false ones better than the error itself) ...
SCALE_FREE = 0.8
#: ... and only when the neighbours resolve the full problem at all (a fast oscillation does not
#: let them, and every reduction then looks as good as any other).
MAX_BASE = 0.1


def _unit(n: int, m: int) -> list[int]:
    return [1 if k == m else 0 for k in range(n)]


def _subset_reductions(X: np.ndarray, sizes=(2, 3)):
    """Reductions by a scale symmetry of a pair (then of a triple) of inputs: the ratios of the
    subset's other inputs to a base input, the rest unchanged, and a power of the base."""
    n = X.shape[1]
    for size in sizes:
        for subset in itertools.combinations(range(n), size):
            rest = [_unit(n, m) for m in range(n) if m not in subset]
            seen = set()
            for base in subset:
                ratios = []
                for j in subset:
                    if j != base:
                        g = [0] * n
                        g[j], g[base] = 1, -1
                        ratios.append(g)
                groups = _orient_for(X, ratios) + rest
                for d in DEGREES:
                    key = (tuple(map(tuple, groups)), d) if d == 0 else (base, d)
                    if key in seen:
                        continue
                    seen.add(key)
                    pre = [0] * n
                    pre[base] = d
                    r = Reduction((), groups, pre)
                    if _valid(X, r):
                        yield base, r


def scale_reductions(X: np.ndarray, y: np.ndarray, *, max_rows: int = 800, time_budget: float = 5.0,
                     gain: float = GAIN) -> tuple[list[Reduction], float]:
    """Scale symmetries of pairs (and, up to five inputs, triples) of inputs of ``y(X)`` that
    the data support, best first.

    Parameters
    ----------
    X : ndarray, shape (n, k); y : ndarray, shape (n,)
    max_rows : rows used (evenly spaced)
    time_budget : seconds; the pairs not reached are not tried
    gain : keep a reduction whose neighbour error is below ``gain`` times the full problem's

    Returns
    -------
    (reductions, base_error): each reduction with its ``score`` (neighbour error of the
    reduced target on its groups), sorted by that error over the error with the base input
    given back; and the full problem's error.
    """
    n = X.shape[1]
    rows = np.linspace(0, len(y) - 1, min(len(y), max_rows)).round().astype(int)
    Xs, ys = X[rows], y[rows]
    full = Reduction((), [_unit(n, m) for m in range(n)], [0] * n)
    base = _functional_error(*full.values(Xs, ys))
    stop = time.perf_counter() + time_budget
    kept = []
    for i, r in _subset_reductions(Xs, sizes=(2, 3) if n <= 5 else (2,)):
        if time.perf_counter() > stop:
            break
        with np.errstate(all="ignore"):
            G, t = r.values(Xs, ys)
        r.score = _functional_error(G, t)
        if not (np.isfinite(r.score) and r.score <= gain * base):
            continue
        # the reduced target must not depend on the scale itself: given the base input back,
        # the neighbours must not do better (the test by which irrelevant columns are dropped)
        with_base = _functional_error(np.column_stack([G, Xs[:, i]]), t)
        if r.score <= SCALE_FREE * with_base:
            kept.append((r.score / with_base, r))
    return [r for _, r in sorted(kept, key=lambda p: p[0])], float(base)


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
