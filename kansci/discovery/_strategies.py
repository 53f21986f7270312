"""The search stages of discovery, each adding finished candidates to the context."""

from __future__ import annotations

import logging
import time

import numpy as np

from ._monomial import monomial_candidates
from ._terms import term_candidates

__all__ = ["baseline_strategy", "monomial_strategy", "univariate_strategy", "terms_strategy", "decomposition_strategy",
           "search_strategy", "kan_strategy"]

log = logging.getLogger("kansci")

#: Below this many training rows, no surrogate or KAN is trained and no ratio forms are searched.
SMALL_DATA = 50
#: A searched formula is refined and recognised when its error relative to ``std(y)`` is below
#: this, or below three times the noise the data show (see :func:`worth_finishing`).
MIMIC = 0.05
#: ... the noise estimate is used from this many training rows (a table of a few dozen rows
#: is interpolated by many formulas within its scatter: there the cut stays at MIMIC).
NEIGHBOUR_ROWS = 200


def worth_finishing(ctx, rel: float) -> bool:
    """Whether a formula of relative error ``rel`` (RMSE over ``std(y)``) is worth refining and
    recognising: below :data:`MIMIC`, or within three times the noise level of the target
    estimated from nearest neighbours (the Gamma test, :func:`._noise.neighbour_noise`; computed
    once per problem, on :data:`NEIGHBOUR_ROWS` training rows or more).

    Noise proportional to the target's size is large against ``std(y)`` where the target
    varies little about its mean (a Lorentz factor between 1 and 1.35 at 1 % noise: relative
    error 0.1); a fixed threshold would drop every formula there, the law among them."""
    if rel <= MIMIC:
        return True
    if len(ctx.raw.train) < NEIGHBOUR_ROWS:  # neighbours too far apart to tell noise from the law
        return False
    spread = float(np.std(ctx.raw.y[ctx.raw.train]))
    sigma = ctx.neighbour_noise() if spread > 0 else np.nan
    return bool(np.isfinite(sigma) and rel <= 3.0 * sigma / spread)


def with_few_within_noise(ctx, found: list, key=None, extra: int = 3) -> list:
    """The formulas of ``found`` (``(relative error, expr)``) under :data:`MIMIC`, in order, and
    the ``extra`` best of the rest (by ``key``, default: their order) that are
    :func:`worth_finishing`: few, since the noise estimate of a sharp law (a pole) is rough and
    would let a long list of mimics take the time of the stages after, and not one, since
    before recognition the law and its mimics tie (``sqrt(1/(1 - 0.998*z**2))`` came third by
    BIC at 1 % noise, each with two constants)."""
    close = [f for f in found if f[0] <= MIMIC]
    rest = [f for f in found if f[0] > MIMIC]
    if key is not None:
        rest = sorted(rest, key=key)
    return close + [f for f in rest if worth_finishing(ctx, f[0])][:extra]


def baseline_strategy(ctx) -> None:
    """The constant and the linear least-squares fit: there is always an answer to compare."""
    import sympy

    p = ctx.problem
    X, y = p.subset(p.train)
    ctx.add(sympy.Float(float(np.mean(y))), "baseline", recognise=False)
    A = np.column_stack([X, np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    linear = sum(sympy.Float(float(c)) * s for c, s in zip(coef[:-1], p.symbols)) + sympy.Float(float(coef[-1]))
    ctx.add(linear, "linear", always=True)


def monomial_strategy(ctx) -> None:
    """Power laws by a log-space fit (inputs positive, target of one sign)."""
    p = ctx.problem
    X, y = p.subset(p.train)
    for expr in monomial_candidates(X, y, p.symbols):
        ctx.add(expr, "monomial")


def terms_strategy(ctx, *, max_candidates: int = 4) -> None:
    """Sparse regression over monomial and trigonometric terms, target transforms, ratios."""
    p = ctx.problem
    if p.n_vars > 5:  # the term library grows too fast; decomposition splits such problems first
        return
    X, y = p.subset(p.train)
    n = len(y)
    max_terms = min(6, n // 8)  # a handful of rows pins down only a few coefficients
    if max_terms < 1:
        return
    budget = max(ctx.remaining() * 0.6, 0.5)
    # ratios P/(1 + Q) by linearisation are linear least squares too: with eight rows a term,
    # a few dozen rows pin down a pole (3*x/(x - 2) + z**2 from 40 rows); below 30 rows they
    # interpolate noise (a 22-row table with error bars)
    found = term_candidates(X, y, p.symbols, time_budget=budget, seed=ctx.seed, max_terms=max_terms,
                            ratios=n >= 30)
    # best first by BIC: the close fits, and a few beyond the fixed cut within the noise
    for rel, expr in with_few_within_noise(ctx, found)[:max_candidates]:
        if ctx.remaining() <= 0:
            break
        ctx.add(expr, "terms")


def univariate_strategy(ctx) -> None:
    """One input: snap ``y(x)`` (and ``log y``, ``1/y``, ``y**2``; ``x`` or ``log x``) directly."""
    from ._decompose import Node, Search, _leaf_1d

    p = ctx.problem
    if p.n_vars != 1:
        return
    X, y = p.subset(p.train)
    node = Node(None, p.symbols, X.min(0), X.max(0), X)
    search = Search(deadline=ctx.deadline, eps=1e-9, rng=np.random.default_rng(ctx.seed))
    for _, expr in _leaf_1d(node, y, search)[:3]:
        ctx.add(expr, "snap")


def decomposition_strategy(ctx) -> None:
    """Separability and symmetry tests on a KAN surrogate, solving the parts recursively."""
    from ._decompose import solve_by_decomposition

    if len(ctx.problem.train) < SMALL_DATA:  # too few rows to train a surrogate
        return
    solve_by_decomposition(ctx)


#: the expression search on the whole table: feature node bound by number of inputs (4 beyond),
#: and the most features (the two-input space to cost 6 has about 23,000, built cheapest first;
#: a cap of 12,000 cut half of cost 6, (1 - b*cos(theta)) among it).  Three inputs to cost 6
#: (about 51,000) cost 2-4 s more a law, which laws at the time limit lost
SEARCH_MAX_COST = {1: 7, 2: 6, 3: 5}
SEARCH_MAX_FEATURES = 30000


def search_strategy(ctx, *, max_vars: int = 6, max_candidates: int = 3, max_seconds: float = 12.0) -> None:
    """Expression search on the table itself (see ``_exprsearch``), before the KAN stages.

    Cheap and exact where it succeeds: products of functions of a few inputs
    (``A*sin(k*x)*cos(w*t)``), damped oscillations, sums with a term of a combination, laws
    with too few rows for a surrogate.  The feature bound shrinks with the number of inputs.
    """
    from ._exprsearch import expression_search, information, shortlist

    p = ctx.problem
    X, y = p.subset(p.train)
    max_terms = min(4, len(y) // 10 - 1)  # ten rows a coefficient: a handful of rows is interpolated by anything
    if p.n_vars > max_vars or ctx.remaining() < 1.0 or max_terms < 1:
        return
    seconds = max_seconds if p.n_vars <= 3 else max_seconds / 2  # more inputs: decomposition's turn
    found = expression_search(X, y, p.symbols, time_budget=min(0.8 * ctx.remaining(), seconds),
                              max_cost=SEARCH_MAX_COST.get(p.n_vars, 4), max_features=SEARCH_MAX_FEATURES,
                              max_terms=max_terms,
                              rng=np.random.default_rng(ctx.seed))
    # the closest fits, the simplest close ones, and the best by information (fewest free constants)
    chosen = with_few_within_noise(ctx, shortlist(found, max_candidates, 2, 2, len(y)),
                                   key=lambda t: information(t[0], t[1], len(y)))
    for rel, expr in chosen:
        if ctx.remaining() <= 0:
            break
        ctx.add(expr, "search", provenance={"stage": "search", "relative_error": float(rel)})


def kan_strategy(ctx) -> None:
    """The KAN pipeline: fit, prune, snap every edge, compose, refine, recognise."""
    from ._kan_path import kan_candidates

    if len(ctx.problem.train) < SMALL_DATA:
        return
    t0 = time.perf_counter()
    kan_candidates(ctx)
    log.debug("kan strategy took %.1fs", time.perf_counter() - t0)
