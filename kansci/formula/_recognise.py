"""Replace fitted floats by exact constants when the data cannot tell the difference.

A change is accepted only if the refitted RMSE stays below
``max(rmse_ref * (1 + rtol), atol * std(y))``, where ``rmse_ref`` is the error of the refined
input: every change is judged against the best fit of the given structure, never against
the previous step, so small losses cannot accumulate. The search is greedy; each accepted
change refits the remaining floats, and a round tries, in order:

1. *snap*: every float within 4 sigma of a very simple constant (0, +-1, 2, 3, pi, ...) is
   fixed at once (correlated constants drift together within the noise; fixing the simple
   ones jointly keeps one of them from being pinned to a contrived value);
2. *identifiable floats* (pinned down by the data): exact candidates (0, integers, p/q with
   q <= 12, rational multiples of pi, e, sqrt(2), 1/sqrt(2*pi), ...) whose predicted cost,
   from the Jacobian after the other floats re-adjust, fits the budget; cheapest first;
   an elaborate constant (``17*sqrt(2)/8``) only counts when a chance match within the
   noise is unlikely (look-elsewhere); one step of lookahead rejects a choice that pushes
   a correlated float off its own simple value;
3. *degenerate floats* (a direction the data cannot see, e.g. ``c*exp(u + d)`` where only
   ``c*e**d`` matters): each is set to its identity (0 in a sum, +-1 elsewhere) and the
   choice that leaves the others nicest wins (``0.4*exp(-x**2/2 - 0.003)`` becomes
   ``exp(-x**2/2)/sqrt(2*pi)``, not ``exp(-x**2/2 - 0.919)``);
4. float-free terms of sums with negligible contribution are dropped.

Honesty gates (a fitted constant is an estimate, not a number to be prettified):

* every constant keeps its identity through the search, and a constant may only be replaced
  by an exact value inside its own 95 % confidence interval in the reference fit (all
  constants free; :mod:`._uncertainty`, with the residual variance floored at ``atol``);
  once only identities (0, +-1: a term or a factor the data do not need) are fixed, the
  formula is a smaller structure and a constant's interval in it counts too (a constant
  nearly collinear with a dropped term has a wide interval in the reference and a narrow one
  without the term); the interval used is the one reported;
* the result is the point of least description length along the greedy path (the code of
  :mod:`._codelength`, at the noise level given or the reference fit's residual variance),
  so a replacement is kept only where the total description length drops;
* after the identities (0, +-1: a term or a factor that the data do not need) are fixed,
  a formula that still has more than ``max_recognised`` constants is a mimic, not a law:
  its constants are not recognised one by one (they keep their fitted values).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats
import sympy

from ._data import prepare
from ._evidence import auto_rtol
from ._recognise_search import Search, State
from ._refine import Model, fit_model
from ._uncertainty import ConstantEstimate, estimates, unscaled_covariance

__all__ = ["MAX_CONSTANTS", "MAX_RECOGNISED", "Recognition", "recognise_constants", "recognise_with_record"]

logger = logging.getLogger("kansci")

#: Recognition is skipped for formulas with more float constants than this.
MAX_CONSTANTS = 30
#: A formula with more constants than this, once identities are fixed, is not recognised
#: constant by constant (a mimic keeps its floats).
MAX_RECOGNISED = 4
#: A formula whose residual standard deviation exceeds the noise by this factor does not
#: describe the data: its constants are not recognised (only identities are fixed).
MISFIT = 1.5


@dataclass(frozen=True)
class Recognition:
    """What :func:`recognise_with_record` did.

    ``reference`` is the refined formula (all constants free), ``template`` the same with each
    constant replaced by its Dummy in ``dummies``, and ``intervals`` the estimates of its
    constants (``ConstantEstimate.index`` is the position in ``dummies``); ``assigned`` maps
    such a position to the exact value that replaced it, or to None when the constant left
    the formula with a term or factor that was removed.
    """

    expr: sympy.Basic
    reference: sympy.Basic
    intervals: list[ConstantEstimate]
    assigned: dict[int, sympy.Expr | None]
    template: sympy.Basic = sympy.S.Zero
    dummies: tuple = ()


def recognise_constants(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    *,
    tol: float | None = None,
    weights: Any = None,
    atol: float = 1e-6,
    max_denominator: int = 12,
    max_constants: int = MAX_CONSTANTS,
    max_recognised: int | None = MAX_RECOGNISED,
    noise: float | None = None,
    absolute_sigma: bool = False,
) -> sympy.Basic:
    """Replace float constants by exact ones (0, 1, 3/2, pi/2, sqrt(2), ...) where the data allow.

    Parameters
    ----------
    expr : sympy.Expr
        Formula with float constants (it is refined first; refined input is fine).
    symbols : sequence of sympy.Symbol
        The columns of ``X``, in order.
    X : array-like (n, len(symbols)) or DataFrame
    y : array-like (n,)
    tol : float, optional
        Allowed relative RMSE increase over the refined fit. Default: a chi-square bound for
        fixing all constants under pure noise (about 1 % for 1000 rows and 6 constants).
    weights : array-like (n,), optional
    atol : float
        Floor of the allowed RMSE, relative to ``std(y)``; it decides at zero noise, and it
        floors the residual standard deviation of the confidence intervals.
    max_denominator : int
        Largest q in rational constants p/q.
    max_constants : int
        With more float constants than this the search (which grows roughly with their
        square) is skipped and the refined expression returned; prune the model first.
    max_recognised : int or None
        A formula with more constants than this once identities are fixed keeps its floats
        (only 0 and +-1 may still remove terms and factors); None for no limit.
    noise : float, optional
        Noise standard deviation of ``y`` in the units of the (weighted) RMSE, e.g. estimated
        from the best fit of the data; it narrows the intervals of a formula that fits worse
        than the noise, and a formula whose residuals exceed it by more than ``MISFIT`` (1.5)
        times gets no constant recognised.  Default: the refined fit's own residual variance.
    absolute_sigma : bool
        The weights are ``1/sigma**2`` of known error bars: the residual variance is 1.

    Returns
    -------
    sympy.Expr
        The expression with recognised constants; floats that match nothing stay floats.
    """
    return recognise_with_record(
        expr, symbols, X, y, tol=tol, weights=weights, atol=atol, max_denominator=max_denominator,
        max_constants=max_constants, max_recognised=max_recognised, noise=noise,
        absolute_sigma=absolute_sigma,
    ).expr


def recognise_with_record(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    *,
    tol: float | None = None,
    weights: Any = None,
    atol: float = 1e-6,
    max_denominator: int = 12,
    max_constants: int = MAX_CONSTANTS,
    max_recognised: int | None = MAX_RECOGNISED,
    noise: float | None = None,
    absolute_sigma: bool = False,
    level: float = 0.95,
    interval_method: str = "wald",
) -> Recognition:
    """:func:`recognise_constants`, also saying which constant became which exact value.

    ``interval_method`` is passed to the interval computation (``"jackknife"`` for tables of
    a handful of rows, see :func:`kansci.formula.constant_errors`).

    Returns
    -------
    Recognition
        The result, the refined reference formula, the confidence intervals of its constants
        (at ``level``) and the exact value given to each recognised one.
    """
    if isinstance(expr, str):
        raise TypeError(
            "expected a sympy expression, got a string; kansci never parses text"
        )
    data = prepare(symbols, X, y, weights)
    ref = fit_model(Model(expr, symbols), data)
    start = ref.expr if ref.info.improved else expr
    if ref.model.k > max_constants:
        logger.warning(
            "recognise_constants: %d float constants exceed max_constants=%d; returning the "
            "refined formula. Prune the model (fewer edges) to get exact constants.",
            ref.model.k,
            max_constants,
        )
        return Recognition(start, start, [], {}, start, ())
    per_row = float(np.sum(data.w)) / data.n  # RMSE units -> weighted residual units per row
    cov, sse, dof = unscaled_covariance(ref.model, data, ref.params) if ref.model.k else (None, 0.0, 1)
    s2 = 1.0 if absolute_sigma else sse / dof
    floor = (atol * data.scale) ** 2 * per_row
    if noise is not None and np.isfinite(noise) and noise > 0:
        s2 = min(s2, float(noise) ** 2 * per_row)
        if sse / dof > MISFIT**2 * max(float(noise) ** 2 * per_row, floor):
            max_recognised = 0  # the formula does not describe the data: only identities
            logger.debug("recognise: residual %.3g above %.1f x the noise %.3g: identities only",
                         np.sqrt(sse / dof / per_row), MISFIT, noise)
    s2 = max(s2, floor)
    intervals = (estimates(ref.model, data, ref.params, cov, s2, level=level, method=interval_method)
                 if ref.model.k else [])
    if tol is not None:
        threshold = max(ref.rmse * (1.0 + tol), atol * data.scale)
    elif noise is not None or absolute_sigma:
        quantile = float(scipy.stats.chi2.ppf(0.999, max(ref.model.k, 1)))
        threshold = max(np.sqrt(ref.rmse**2 + quantile * s2 / per_row / data.n), atol * data.scale)
    else:
        rtol = auto_rtol(data.n, ref.model.k)
        threshold = max(ref.rmse * (1.0 + rtol), atol * data.scale)
    logger.debug("recognise: reference rmse %.3g, threshold %.3g", ref.rmse, threshold)
    bounds = {d: (e.lower, e.upper) for d, e in zip(ref.model.dummies, intervals)}
    search = Search(symbols, data, threshold, ref, max_denominator, s2, bounds)
    result = search.run(State(ref, {}), max_recognised)
    reference = (ref.model.template, ref.model.dummies)
    if result.fit is ref:
        return Recognition(start, start, intervals, {}, *reference)
    index = {d: i for i, d in enumerate(ref.model.dummies)}

    def position(d) -> int:  # a constant of a tie (two of the reference's as one) comes after them
        if d not in index:
            index[d] = len(intervals)
            intervals.append(ConstantEstimate(index[d], math.nan, math.nan, math.nan, math.nan))
        return index[d]

    for d, e in (result.conditional or {}).items():
        i = position(d)
        intervals[i] = ConstantEstimate(i, e.value, e.std_error, e.lower, e.upper)
    assigned: dict[int, sympy.Expr | None] = {position(d): v for d, v in result.assigned.items()}
    for d, i in index.items():  # constants that left with a removed term or factor
        if i not in assigned and d not in result.fit.model.dummies:
            assigned[i] = None
    return Recognition(result.fit.expr, start, intervals, assigned, *reference)
