"""Judging laws in SI units: constants such as 6.62607015e-34 written into the true law.

A model is exact for such a law when each of its floats is a product of powers of the law's
constants, of pi and of a rational (within a relative tolerance), and the model so rewritten,
with the constants as symbols, equals the law identically.  Numerical agreement alone is
not enough: on inputs of size 1e-25, ``sin(x)`` equals ``x`` to 50 digits.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import sympy

from ._judge_numeric import _compare, _high_precision_values, _hp_close, _is_zero, _symbolically

_SNAP_TOL = 1e-9
_SNAP_MAX_DENOMINATOR = 1000
_MAX_P, _MAX_Q = 1000, 100  # the rational factor of a model constant: p/q (a chance match is unlikely)



def _snap_relative(expr: sympy.Expr) -> sympy.Expr:
    """Floats within 1e-9 (relative) of a nonzero rational p/q (q <= 1000) read as it."""
    replacements: dict[sympy.Basic, sympy.Expr] = {}
    for atom in expr.atoms(sympy.Float):
        value = float(atom)
        if not np.isfinite(value) or not 1e-4 <= abs(value) <= 1e4:
            continue
        fraction = Fraction(value).limit_denominator(_SNAP_MAX_DENOMINATOR)
        short = len(str(abs(fraction.numerator)).rstrip("0")) + len(str(fraction.denominator)) <= 7
        if fraction != 0 and short and abs(value - float(fraction)) <= _SNAP_TOL * abs(value):
            replacements[atom] = sympy.Rational(fraction.numerator, fraction.denominator)
    return expr.xreplace(replacements)


def _physical_floats(expr: sympy.Expr) -> list[sympy.Float]:
    """The floats of a law that are not simple rationals: its physical constants."""
    return sorted(_snap_relative(expr).atoms(sympy.Float), key=float)


def _represent(value: float, constants: list[float], rtol: float) -> sympy.Expr | None:
    """``value`` as ``(p/q) * pi**a * prod K_i**n_i`` within ``rtol``, simplest first; None if none."""
    if not np.isfinite(value) or value == 0:
        return None
    k = len(constants)
    if k == 0:
        return None
    best = None
    logs = np.log(np.asarray(constants, dtype=float)) if k else np.zeros(0)
    # integer exponents; half-integer ones (c**3 from c**2, 2*pi/sqrt(G)) with at most two
    # constants and small rationals only, so that a chance match stays unlikely
    steps = np.arange(-8, 9) / 2 if k <= 2 else np.arange(-4, 5)
    exps = np.array(list(itertools.product(steps, repeat=k)), dtype=float).reshape(-1, k)
    half = np.any(exps != np.round(exps), axis=1)
    for a in range(-4, 5):
        rest = np.log(abs(value)) - a * np.log(np.pi) - exps @ logs
        ratio = np.exp(rest)
        for i in np.flatnonzero((ratio > 1e-6) & (ratio < 1e6)):
            max_p, max_q = (12, 12) if half[i] else (_MAX_P, _MAX_Q)
            fraction = Fraction(float(ratio[i])).limit_denominator(max_q)
            if fraction == 0 or fraction.numerator > max_p or abs(float(fraction) - ratio[i]) > rtol * ratio[i]:
                continue
            cost = float(np.abs(exps[i]).sum()) + abs(a) + len(str(fraction.numerator * fraction.denominator))
            if best is None or cost < best[0]:
                best = (cost, exps[i], a, fraction)
        # or exactly a power of ten (a change of units), without another rational factor
        tens = np.round(rest / np.log(10))
        for i in np.flatnonzero((np.abs(rest - tens * np.log(10)) <= rtol) & ~half):
            cost = float(np.abs(exps[i]).sum()) + abs(a) + 2 + abs(tens[i]) / 10
            if best is None or cost < best[0]:
                best = (cost, exps[i], a, Fraction(10) ** int(tens[i]))
    if best is None:
        return None
    _, n, a, fraction = best
    out = sympy.Rational(fraction.numerator, fraction.denominator) * sympy.pi**a
    for i, e in enumerate(n):
        if e:
            out *= _constant_symbol(i) ** sympy.Rational(int(round(2 * e)), 2)
    return out if value > 0 else -out


def _constant_symbol(i: int) -> sympy.Symbol:
    return sympy.Symbol(f"_K{i}", positive=True)


def exact_with_constants(m, t, symbols, bounds, *, seed, timeout, rtol) -> bool:
    """Whether ``m`` equals the SI law ``t`` (see the module docstring)."""

    # the law's constants reduced to independent ones (1/c and 1/c**2 are one constant, c)
    values: list[float] = []
    t_subs = {}
    for c in sorted(_physical_floats(t), key=lambda f: abs(np.log(abs(float(f))))):
        rep = _represent(float(c), values, 1e-9) if values else None  # mu_0 and 1/(eps_0*c**2) are one
        if rep is None:
            values.append(abs(float(c)))
            rep = (1 if c > 0 else -1) * _constant_symbol(len(values) - 1)
        t_subs[c] = rep
    t_sym = _snap_relative(t).xreplace(t_subs)
    m = _snap_relative(m)
    subs = {}
    for f in m.atoms(sympy.Float):
        rep = _represent(float(f), values, rtol)
        if rep is None:
            return False  # a constant the law does not have
        subs[f] = rep
    m_sym = m.xreplace(subs)
    ks = [_constant_symbol(i) for i in range(len(values))]
    krange = {k.name: (0.5 * v, 2.0 * v) for k, v in zip(ks, values)}
    all_bounds = {**bounds, **krange}
    all_symbols = [*symbols, *ks]
    numeric = _compare(m_sym, t_sym, all_symbols, all_bounds, seed)
    if numeric.equal is False:
        return False
    difference = m_sym - t_sym
    if difference == 0 or _symbolically(difference, _is_zero, timeout):
        return True
    rows = _high_precision_values([m_sym, t_sym], all_symbols, all_bounds, seed)
    return bool(rows) and all(
        _hp_close(mv, tv, max(abs(mv), abs(tv), sympy.Float(1e-300))) for mv, tv in rows
    )


