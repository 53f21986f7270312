"""Name the fitted constants of a formula that are physical constants, judged on the data.

Each float of a fitted formula gets its standard error and 95 % interval
(:func:`kansci.formula.constant_errors`); with units, dimensional analysis gives its dimension
and its factor to SI (:func:`kansci.units.check_dimensions`).  A float whose interval holds a
product of powers of CODATA constants of that dimension
(:func:`match_physical_constant`) is replaced by it, the other floats are refitted, and the
replacement is kept when the fit stays within the tolerance constant recognition uses
(``max(rmse_ref * (1 + rtol), atol * std(y))``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from ._data import prepare
from ._evidence import auto_rtol
from ._physical import prefer_h
from ._physical_match import match_physical_constant
from ._refine import Model, fit_model
from ._uncertainty import constant_errors

__all__ = ["recognise_physical"]

log = logging.getLogger("kansci")


def _exact_factor(f: float) -> sympy.Expr:
    """A unit conversion factor as an exact number (1000, 1.602176634e-19 as a decimal)."""
    if abs(f - 1.0) <= 1e-12:
        return sympy.S.One
    from fractions import Fraction

    fr = Fraction(f).limit_denominator(10**6)
    if abs(float(fr) - f) <= 1e-12 * abs(f):
        return sympy.Rational(fr.numerator, fr.denominator)
    return sympy.Rational(repr(f))


def _exponent_dummies(template: sympy.Basic) -> set:
    return {d for p in template.atoms(sympy.Pow) for d in p.exp.atoms(sympy.Dummy)}


def recognise_physical(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    *,
    units: Mapping | None = None,
    target=None,
    weights: Any = None,
    atol: float = 1e-6,
    level: float = 0.95,
) -> sympy.Basic:
    """Replace fitted constants by named physical constants where the data allow.

    Parameters
    ----------
    expr : sympy.Expr
        A fitted formula (its floats at the least-squares optimum).
    symbols : the columns of ``X``, in order.
    X : array-like (n, len(symbols)); y : array-like (n,)
    units : mapping Symbol -> Dimension or (Dimension, SI factor), optional
        With units, only constants of the dimension the formula gives them are proposed
        (and none for a formula that is dimensionally inconsistent).
    target : the target's Dimension (or (Dimension, factor)), with ``units``.
    weights : row weights, optional.
    atol : floor of the allowed RMSE, relative to ``std(y)`` (as constant recognition).
    level : confidence level of the constants' intervals.

    Returns
    -------
    sympy.Expr
        ``expr`` with matched constants named (e.g. ``8.9875517923e9*q1*q2/r**2`` becomes
        ``q1*q2/(4*pi*eps_0*r**2)``); ``expr`` itself when nothing matched.
    """
    model = Model(expr, symbols)
    if model.k == 0:
        return expr
    dims = [None] * model.k
    if units is not None:
        from ..units import check_dimensions

        chk = check_dimensions(expr, units, target)
        if not chk.consistent:
            return expr
        dims = list(chk.constants)
    try:
        errors = constant_errors(expr, symbols, X, y, weights=weights, level=level)
    except (ValueError, np.linalg.LinAlgError) as exc:
        log.debug("physical constants: no errors for %s: %s", expr, exc)
        return expr
    in_exponent = _exponent_dummies(model.template)
    proposals = []
    for i, est in enumerate(errors):
        if model.dummies[i] in in_exponent or not math.isfinite(est.std_error):
            continue
        if units is not None and dims[i] is None:
            continue  # the formula does not fix this constant's unit
        dim, factor = dims[i] if dims[i] is not None else (None, 1.0)
        value = est.value
        if value == 0:
            continue
        rel = (est.upper - est.lower) / 2 / abs(value)
        found = match_physical_constant(value * factor, rel, dim)
        if found is not None:
            proposals.append((found.chance, i, found.expr / _exact_factor(factor)))
    if not proposals:
        return expr
    data = prepare(symbols, X, y, weights)
    ref = fit_model(model, data)
    threshold = max(ref.rmse * (1.0 + auto_rtol(data.n, model.k)), atol * data.scale)
    current = {d: sympy.Float(float(v)) for d, v in zip(model.dummies, ref.params)}
    accepted = {}
    for _, i, named in sorted(proposals, key=lambda t: t[0]):
        trial = {**current, **accepted, model.dummies[i]: named}
        candidate = model.template.xreplace(trial)
        fit = fit_model(Model(candidate, symbols), data)
        if fit.rmse <= threshold * (1 + 1e-9):
            accepted[model.dummies[i]] = named
            log.debug("physical constants: %.10g -> %s", ref.params[i], named)
    if not accepted:
        return expr
    final = model.template.xreplace({**current, **accepted})
    fit = fit_model(Model(final, symbols), data)
    return prefer_h(fit.expr if fit.info.improved else final)
