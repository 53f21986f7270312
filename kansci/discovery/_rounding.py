"""Floats left by rounding and by changes of units, made exact (a hook on every candidate).

A search in rescaled units, or a fit of a law with physical constants, leaves exponents like
``0.499999999999973``, terms like ``0.999999999999848`` and factors like ``1e-40``; here they
become ``1/2``, ``1`` and exact powers of ten, and redundant constants of a ratio are merged.
"""

from __future__ import annotations

import logging
import math

import sympy

__all__ = ["snap_rounding", "normalise_ratio"]

log = logging.getLogger("kansci")


#: Relative distance within which a float may be a simple number (kept only if the fit stays as good).
WINDOW = 1e-6


def _exact_near(v: float, window: float = WINDOW) -> sympy.Expr | None:
    """The simple number within ``window`` (relative) of ``v``: a small rational or a power of ten."""
    from fractions import Fraction

    if v == 0 or not math.isfinite(v):
        return None
    fr = Fraction(v).limit_denominator(12)
    if fr != 0 and abs(fr.numerator) <= 100 and abs(float(fr) - v) <= window * abs(v):
        return sympy.Rational(fr.numerator, fr.denominator)
    k = round(math.log10(abs(v)))
    if k and abs(abs(v) - 10.0**k) <= window * abs(v):  # 1.00000000000002e-40: a unit conversion
        return (1 if v > 0 else -1) * sympy.Integer(10) ** k
    return None


def _unit_constant_terms(expr: sympy.Expr) -> sympy.Expr:
    """``c*(d - a*v**2)**e`` as ``c*d**e*(1 - (a/d)*v**2)**e``: the constant term of a power's
    base made 1, so that a redundant pair of constants becomes one."""
    def fix(p):
        c0, rest = p.base.as_coeff_Add()
        if c0 in (0, 1, -1) or not c0.is_number or not rest.free_symbols or c0 < 0:
            return p
        return c0**p.exp * (1 + rest / c0) ** p.exp

    return expr.replace(lambda e: e.is_Pow and e.base.is_Add and e.exp.is_number and not e.exp.is_Integer, fix)


def normalise_ratio(expr: sympy.Expr) -> sympy.Expr:
    """``N/D`` with the constant term of ``D`` made 1: ``1e14*(u + v)/(a*u*v + 1e14)`` is
    ``(u + v)/(1e-14*a*u*v + 1)`` (what a search in rescaled units leaves behind); likewise
    the bases of roots, ``c/sqrt(d - a*v**2)`` is ``(c/sqrt(d))/sqrt(1 - (a/d)*v**2)``."""
    expr = _unit_constant_terms(expr)
    num, den = sympy.fraction(sympy.together(expr))
    den = sympy.expand(den)
    c0, rest = den.as_coeff_Add()
    if c0 == 0 or c0 == 1 or not rest.free_symbols:
        return expr
    new = sympy.expand(num / c0) / sympy.expand(rest / c0 + 1)
    from ..formula import complexity

    return new if complexity(new) <= complexity(expr) else expr


def snap_rounding(ctx, cands):
    """Add, for each candidate, the formula with floats within rounding of simple numbers made
    exact and redundant constants merged.

    ``0.499999999999973`` as an exponent or ``0.999999999999848`` as a term is ``1/2`` or
    ``1``, and ``1.00000000000002e-40`` a power of ten left by a change of units: floats
    within 1e-6 (relative; a constant whose effect is below the target's rounding, like the
    ``-1`` of ``exp(E/kT) - 1`` where the exponential is huge, is fitted only that well) of a rational with denominator <= 12 and numerator <= 100, or of a
    power of ten, are replaced and the formula tidied (``1e-40*sqrt(1/(1e-80 - a*v**2))`` is
    ``1/sqrt(1 - 1e80*a*v**2)``); constant terms of denominators and of roots' bases are made
    1 (:func:`normalise_ratio`); the other floats are refitted; kept when the fit stays as good.
    """
    from .._timeout import CallTimeout, time_limit
    from ..formula import refine_constants, tidy
    from ._candidates import score

    out = list(cands)
    X, y = ctx.raw.subset(ctx.raw.train)
    for c in cands:
        if not c.expr.atoms(sympy.Float):
            continue
        subs = {f: e for f in c.expr.atoms(sympy.Float) if (e := _exact_near(float(f))) is not None}
        new = c.expr.xreplace(subs)
        try:
            with time_limit(2.0):
                new = normalise_ratio(tidy(new, ctx.raw.symbols, X[:200]) if subs else new)
            if new == c.expr:
                continue
            with time_limit(2.0):
                if new.atoms(sympy.Float):
                    new, _ = refine_constants(new, ctx.raw.symbols, X, y)
                    new = new.xreplace({f: e for f in new.atoms(sympy.Float) if (e := _exact_near(float(f))) is not None})
        except (Exception, CallTimeout) as exc:  # keep the candidate as it is
            log.debug("rounding snap failed: %s", exc)
            continue
        s = score(new, ctx.raw, c.source, **c.notes)
        if s is not None and s.rmse <= c.rmse * (1 + 1e-6) + 1e-12 * ctx.raw.y_scale:
            out.append(s)
    return out
