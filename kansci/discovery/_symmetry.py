"""Symmetries found on the data: dimensional analysis without units.

Many laws are homogeneous in a pair of inputs: scaling ``x_i`` and ``x_j`` together by any
factor multiplies the target by a power of it, ``y(l*x_i, l*x_j, ...) = l**d * y(...)``, which
is the same as ``y = x_i**d * f(x_j/x_i, other inputs)`` (Euler's theorem on homogeneous
functions); likewise for a triple (``g``, ``w`` and ``w0`` of a driven oscillator).  Inputs
of one physical dimension (a width ``sigma`` and an offset ``theta``; a speed ``v`` and
``c``; ``omega`` and ``omega_0``) enter a law this way, units given or not.  Two more kinds
of pair symmetry are tested: a product (``x_i`` scaled up and ``x_j`` down, ``f(omega*t)``)
and a translation (``f(theta1 - theta2)``).  Each reduction removes one variable, and a
function of the new variable is often one that the snapping engine finds directly on the
data (``exp(-u**2/2)``, ``1/sqrt(1 - u**2)``), where a surrogate of the full problem would
have had to resolve it.

The test runs on the data, not on a surrogate: for each candidate, the reduced target
(``y / x_i**d`` for a degree ``d`` in a small set) is checked for being a function of the
groups by the leave-one-out local linear neighbour error on ranks that the units stage uses
(``_dimensional._functional_error``).  A reduction is kept when that error is below the full
problem's and is not lowered by giving the base input ``x_i`` back (the reduced target does
not depend on the scale: the test by which irrelevant columns are dropped).  The best one is
searched like a reduction by units, its formulas mapped back to the columns; the nested
search applies the test again, so three inputs of one dimension reduce in two steps.  The
reductions also chain at once (:func:`chained_reduction`), and on exact data a chain step may
take a power factor of one group (``m * g(v/c)`` -> ``g(v/c)``, :func:`power_factors`), so
that a law of one dimensionless group ends as a problem of one variable.

Reference: S.-M. Udrescu & M. Tegmark, "AI Feynman: a physics-inspired method for symbolic
regression", Sci. Adv. 6, eaay2631 (2020): scale, product and translation symmetries, tested
there on a neural-network surrogate; here on the data by a neighbour test.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
import numpy as np
import sympy
from scipy.stats import rankdata

from ._dimensional import Reduction, _functional_error, _orient_for, _search_reduced, _valid
from ._relevance import CONDITIONAL, FLOOR, _knn_error, _target, knn_smooth

__all__ = ["chained_reduction", "power_factors", "scale_reductions", "symmetry_strategy", "with_symmetry"]

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
#: (a reduced target that is a function of its groups to this error is one, whatever the base
#: input does to the neighbours: both errors are at rounding level) ...
EXACT = 1e-5
#: ... and only when the neighbours resolve the full problem at all (a fast oscillation does not
#: let them, and every reduction then looks as good as any other).
MAX_BASE = 0.1
#: A power factor of one input is taken only when the rest is a function of the other inputs
#: to this leave-one-out neighbour error on ranks (relative to its variance): exact data.
#: Under noise a factor that holds only within the noise passes the local test as well as a
#: true one (``asin(l/(d*n))`` as ``(l/d) * g(n)`` at 1 %: ratios 0.90-1.04; the true ``m`` of
#: ``m*c**2/sqrt(1 - v**2/c**2)``: 1.04), so noisy data keep the pair reductions only.
EXACT_FACTOR = 1e-4
#: The target counts as noisy, and the tests run on its neighbour-smoothed values, when
#: smoothing brings the full problem's neighbour error below this fraction of the raw one
#: (noise raises every error to a common floor that hides the gain of a true reduction;
#: measured: about 0.85 at noise 0, 0.4-0.55 at 1 % noise, under 0.1 at 10 %).
NOISY = 0.7


@dataclass
class Translation:
    """``y = f(x_i - x_j, other inputs)``: a translation symmetry of a pair (two positions, two
    angles), with the interface of a units ``Reduction`` (groups, prefactor, values)."""

    i: int
    j: int
    n: int
    score: float = np.inf
    constants: tuple = ()

    def _rest(self) -> list[int]:
        return [m for m in range(self.n) if m not in (self.i, self.j)]

    def group_exprs(self, symbols) -> list[sympy.Expr]:
        return [symbols[self.i] - symbols[self.j]] + [symbols[m] for m in self._rest()]

    def prefactor_expr(self, symbols) -> sympy.Expr:
        return sympy.S.One

    def values(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.column_stack([X[:, self.i] - X[:, self.j]] + [X[:, m] for m in self._rest()]), y

    def describe(self, names) -> str:
        syms = [sympy.Symbol(str(n)) for n in names]
        gs = ", ".join(str(g) for g in self.group_exprs(syms))
        return f"constants [], groups [{gs}], prefactor 1"


def _unit(n: int, m: int) -> list[int]:
    return [1 if k == m else 0 for k in range(n)]


def power_factors(X: np.ndarray, y: np.ndarray, *, max_rows: int = 800, max_error: float = EXACT_FACTOR,
                  k: int = 24) -> list[Reduction]:
    """Power factors of single inputs that the data support: ``y = x_j**d * f(other inputs)``
    (``y`` homogeneous of degree ``d`` in ``x_j`` alone: a mass, an amplitude, a prefactor
    ``K``), best first.

    The reduced target ``y / x_j**d`` must (a) be resolved by its neighbours in the other
    inputs (leave-one-out local linear error on ranks at most ``max_error`` of its variance,
    :data:`EXACT_FACTOR` by default: exact data) and (b) gain nothing from a local regression
    on ``x_j`` in those neighbourhoods (the error ratio at least
    :data:`_relevance.CONDITIONAL`; the relevance screen's test).  Measured on
    ``m*c**2/sqrt(1 - v**2/c**2)`` reduced to ``(c/v, m)`` and to ``(m/v, c/v)``: the true
    factor ``m`` (``m/v``) gave ratios 1.04-1.37, every other input and power 0.45 or less.
    (Independence of ``y / x_j**d`` from ``x_j`` is no test here: the groups of a reduction
    are correlated.)

    Parameters
    ----------
    X : ndarray, shape (n, k); y : ndarray, shape (n,)
    max_rows : rows used (evenly spaced); max_error : see (a); k : neighbours

    Returns
    -------
    reductions, each with its ``score`` (the error of (a)), lowest first.
    """
    n = X.shape[1]
    if n < 2 or len(y) < 50:
        return []
    rows = np.linspace(0, len(y) - 1, min(len(y), max_rows)).round().astype(int)
    Xs, ys = X[rows], y[rows]
    ranks = np.column_stack([rankdata(c) / len(c) for c in Xs.T])
    kept = []
    for j in range(n):
        rest = [m for m in range(n) if m != j]
        for d in DEGREES:
            if d == 0:  # an input the target does not depend on: the relevance screen's case
                continue
            pre = [0] * n
            pre[j] = d
            r = Reduction((), [_unit(n, m) for m in rest], pre)
            if not _valid(Xs, r):
                continue
            with np.errstate(all="ignore"):
                _, t = r.values(Xs, ys)
            if not np.all(np.isfinite(t)):
                continue
            tt = _target(t)
            without = _knn_error(ranks, tt, rest, k)
            if not without <= max_error:
                continue
            if without > FLOOR and _knn_error(ranks, tt, rest, k, regress=rest + [j]) < CONDITIONAL * without:
                continue
            r.score = float(without)
            kept.append(r)
    return sorted(kept, key=lambda r: r.score)


def _subset_reductions(X: np.ndarray, sizes=(2, 3)):
    """Reductions by a scale symmetry of a pair (then of a triple) of inputs: the ratios of the
    subset's other inputs to a base input, the rest unchanged, and a power of the base; for a
    pair also the product symmetry (``x_i`` scaled up, ``x_j`` down: ``f(omega*t)``); last the
    translations of pairs (``f(theta1 - theta2)``).  Yields ``(base, reduction)``."""
    n = X.shape[1]
    for size in sizes:
        for subset in itertools.combinations(range(n), size):
            rest = [_unit(n, m) for m in range(n) if m not in subset]
            seen = set()
            for sign in ((-1, 1) if size == 2 else (-1,)):
                for base in subset:
                    merged = []
                    for j in subset:
                        if j != base:
                            g = [0] * n
                            g[j], g[base] = 1, sign
                            merged.append(g)
                    groups = (_orient_for(X, merged) if sign < 0 else merged) + rest
                    for d in DEGREES:
                        key = (tuple(map(tuple, groups)), d) if d == 0 else (sign, base, d)
                        if key in seen:
                            continue
                        seen.add(key)
                        pre = [0] * n
                        pre[base] = d
                        r = Reduction((), groups, pre)
                        if _valid(X, r):
                            yield base, r
    for i, j in itertools.combinations(range(n), 2):
        yield i, Translation(i, j, n)


def scale_reductions(X: np.ndarray, y: np.ndarray, *, max_rows: int = 800, time_budget: float = 5.0,
                     gain: float = GAIN, max_base: float = MAX_BASE) -> tuple[list[Reduction], float]:
    """Scale symmetries of pairs (and, up to five inputs, triples) of inputs of ``y(X)`` that
    the data support, best first.

    Parameters
    ----------
    X : ndarray, shape (n, k); y : ndarray, shape (n,)
    max_rows : rows used (evenly spaced)
    time_budget : seconds; the pairs not reached are not tried
    gain : keep a reduction whose neighbour error is below ``gain`` times the full problem's
    max_base : nothing is kept when the full problem's neighbour error is above this

    Returns
    -------
    (reductions, base_error): each reduction with its ``score`` (neighbour error of the
    reduced target on its groups), sorted by that error over the error with the base input
    given back; and the full problem's error.  When nothing passes and the target looks noisy
    (:data:`NOISY`), the tests are repeated on the target smoothed by local linear regression
    on its neighbours (:func:`knn_smooth`), and the error returned is the smoothed one.
    """
    n = X.shape[1]
    rows = np.linspace(0, len(y) - 1, min(len(y), max_rows)).round().astype(int)
    Xs, ys = X[rows], y[rows]
    full = Reduction((), [_unit(n, m) for m in range(n)], [0] * n)
    base = raw_base = _functional_error(*full.values(Xs, ys))
    stop = time.perf_counter() + time_budget
    kept = _scan(Xs, ys, base, stop, gain, max_base)
    if not kept and len(y) >= 200 and np.all(np.isfinite(y)) and np.all(np.isfinite(X)):
        # noise raises every neighbour error to a common floor that hides the gain of a true
        # reduction: where smoothing lowers the full problem's error clearly, the target is
        # noisy and the tests run again on its smoothed values
        smooth = knn_smooth(X, y, rows)
        smooth_base = _functional_error(*full.values(Xs, smooth))
        if smooth_base < NOISY * base:
            log.debug("symmetry: noisy target (neighbour error %.3g, smoothed %.3g)", base, smooth_base)
            base = smooth_base
            kept = _scan(Xs, smooth, base, stop, gain, max_base)
    if not kept and not base <= max_base:
        kept = _one_group(Xs, ys, raw_base, max_base, stop)
    return [r for _, r in sorted(kept, key=lambda p: p[0])], float(base)


#: Exponents of the inputs in a single group (``E*t/h``) tried by :func:`_one_group`, for up to
#: this many inputs (five take 2.5 s, most of the stage's time).
ONE_GROUP_EXPONENTS, ONE_GROUP_INPUTS = (-2, -1, 0, 1, 2), 4


def _one_group(Xs, ys, base, max_base, stop) -> list:
    """``[(score, reduction)]`` for ``y = f(prod x_j**p_j)``, one group of small integer
    exponents, where the neighbours do not resolve the full problem (``base > max_base``).

    A fast oscillation in several inputs (``sin(2*pi*E*t/h)**2``: seven periods) leaves the
    neighbour error of the full problem, and of each pair reduction, near that of noise, so no
    pair test is meaningful; but in the one right group the data are a curve, which the
    neighbours resolve at once (0.007 against 0.6).  A group is kept when its error is below
    ``max_base`` and a tenth of the full problem's, and no other group comes within a factor of
    three of it (a real group has no rival; on a noisy target every group is as bad as the rest).
    """
    n = Xs.shape[1]
    if not 2 <= n <= ONE_GROUP_INPUTS:
        return []
    scored = []
    for exps in itertools.product(ONE_GROUP_EXPONENTS, repeat=n):
        nz = [e for e in exps if e]
        if len(nz) < 2 or nz[0] < 0 or np.gcd.reduce(np.abs(nz)) != 1:
            continue
        if time.perf_counter() > stop:
            return []
        r = Reduction((), _orient_for(Xs, [list(exps)]), [0] * n)
        if not _valid(Xs, r):
            continue
        with np.errstate(all="ignore"):
            G, t = r.values(Xs, ys)
        r.score = _functional_error(G, t)
        if np.isfinite(r.score):
            scored.append(r)
    scored.sort(key=lambda r: r.score)
    if not scored or not (scored[0].score <= max_base and scored[0].score <= 0.1 * base):
        return []
    if len(scored) > 1 and scored[1].score < 3 * scored[0].score:
        return []
    log.debug("symmetry: one group %s (neighbour error %.3g, full problem %.3g)", scored[0].groups[0],
              scored[0].score, base)
    return [(scored[0].score / base, scored[0])]


def _scan(Xs, ys, base, stop, gain, max_base) -> list:
    """``(rank key, reduction)`` for each reduction that passes the tests (see
    :func:`scale_reductions`)."""
    kept = []
    if not base <= max_base:  # the neighbours do not resolve the law: no test is meaningful
        return kept
    n = Xs.shape[1]
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
        if r.score <= SCALE_FREE * with_base or r.score <= EXACT:
            kept.append((min(r.score / with_base, r.score / EXACT), r))
    return kept


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
    log.debug("symmetry: %d reductions kept in %.2fs (full problem %.3g)", len(found),
              time.perf_counter() - t0, base)
    if not found:
        return
    best = found[0]
    ctx.diagnostics["scale_symmetry"] = best.describe(raw.columns).split(", ", 1)[1]
    reserve = min(3.0, 0.2 * ctx.remaining())
    from ._stages import default_strategies

    deepest = chained_reduction(X, y, best, time_budget=min(3.0, 0.1 * ctx.remaining()))
    if deepest is not best:  # the reductions of the reduced problem, found at once: searched first
        log.debug("symmetry: chained to %s", deepest.describe(raw.columns))
        ctx.diagnostics["scale_symmetry"] = deepest.describe(raw.columns).split(", ", 1)[1]
        share = ctx.deadline - reserve - time.perf_counter()
        _search_reduced(ctx, None, deepest, time.perf_counter() + 0.65 * share, source="symmetry",
                        stages=with_symmetry(default_strategies()))
        if ctx.solved() or ctx.remaining() <= reserve:
            return
    log.debug("symmetry: searching %s (score %.3g)", best.describe(raw.columns), best.score)
    _search_reduced(ctx, None, best, ctx.deadline - reserve, source="symmetry",
                    stages=with_symmetry(default_strategies()))


def _compose(outer: Reduction, inner: Reduction) -> Reduction:
    """The reduction ``outer`` of the problem reduced by ``inner``, over the original inputs:
    its groups are products of ``inner``'s groups, its prefactor ``inner``'s times a product
    of them (exponents add in log space)."""
    def over_inputs(exps) -> list:
        return [sum(e * g[j] for e, g in zip(exps, inner.groups)) for j in range(len(inner.prefactor))]

    groups = [over_inputs(g) for g in outer.groups]
    pre = [p + q for p, q in zip(inner.prefactor, over_inputs(outer.prefactor))]
    return Reduction((), groups, pre, score=outer.score)


def chained_reduction(X: np.ndarray, y: np.ndarray, best, *, time_budget: float = 3.0):
    """``best`` followed by the reductions the reduced problem has in turn, as one reduction.

    AI Feynman reduces recursively: ``1/(exp(h*omega/(k*T)) - 1)`` loses ``h``, then ``k``,
    then one of ``omega`` and ``T``, and what is left is a function of one variable that the
    snapping finds at once.  Each step takes a power factor of one group first
    (:func:`power_factors`: ``m * g(v/c)`` goes on to ``g(v/c)``; exact data only), else the
    test of :func:`scale_reductions` on the reduced data; translations end the chain (they are
    not products of powers).  Returns ``best``
    itself when nothing more reduces.
    """
    if not isinstance(best, Reduction):
        return best
    stop = time.perf_counter() + time_budget
    current = best
    while len(current.groups) > 1 and time.perf_counter() < stop:
        with np.errstate(all="ignore"):
            G, t = current.values(X, y)
        if not (np.all(np.isfinite(G)) and np.all(np.isfinite(t))):
            break
        found = power_factors(G, t)
        if not found:
            found, _ = scale_reductions(G, t, time_budget=max(stop - time.perf_counter(), 0.0))
        if not found or not isinstance(found[0], Reduction):
            break
        current = _compose(found[0], current)
    return current if current is best else _bounded_ratios(X, current)


def _bounded_ratios(X: np.ndarray, r: Reduction) -> Reduction:
    """``r`` with each group that is a ratio of two positive inputs turned so that its median
    is at most 1 (``v/c``, not ``c/v``): ``f(groups)`` is as valid either way, and a ratio of
    like quantities is bounded on the side where laws have their natural form (the Lorentz
    factor ``1/sqrt(1 - u**2)`` of ``u = v/c``; of ``b = c/v`` it is ``b/sqrt(b**2 - 1)``,
    which is nearly ``1`` plus a small power over most of its range: the leaf's search sees a
    constant)."""
    groups = []
    for g in r.groups:
        used = [j for j, e in enumerate(g) if e]
        if (sorted(g[j] for j in used) == [-1, 1] and all(j < X.shape[1] for j in used)
                and all(np.all(X[:, j] > 0) for j in used)):
            with np.errstate(all="ignore"):
                ratio = np.prod([X[:, j] ** float(g[j]) for j in used], axis=0)
            if np.median(ratio) > 1:
                g = [-e for e in g]
        groups.append(list(g))
    return Reduction(r.constants, groups, list(r.prefactor), score=r.score)


def with_symmetry(stages: list, before: str = "decompose") -> list:
    """``stages`` with the symmetry stage (0.4 of the remaining time) before the stage named
    ``before`` (decomposition by default; the end when there is no such stage)."""
    names = [name for name, _, _ in stages]
    at = names.index(before) if before in names else len(stages)
    return [*stages[:at], ("symmetry", symmetry_strategy, 0.4), *stages[at:]]
