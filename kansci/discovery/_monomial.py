"""Power laws by a log-space fit: ``y = C * prod x_i**p_i`` is linear in ``log x``.

When every input is positive and the target keeps one sign, ``log|y| = log C + sum p_i log x_i``
is an ordinary least-squares problem; its exponents are rounded to simple rationals so the
candidate is exact when the law is a monomial (about a third of the Feynman table).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

__all__ = ["monomial_candidates", "log_space_ok"]


def log_space_ok(X: np.ndarray, y: np.ndarray) -> bool:
    """All inputs positive and the target of one sign (no zeros)."""
    return bool(np.all(X > 0) and (np.all(y > 0) or np.all(y < 0)))


def _round_exponent(p: float, tol: float) -> sympy.Rational | None:
    for q in (1, 2, 3, 4):
        frac = Fraction(p).limit_denominator(q)
        if abs(float(frac) - p) <= tol:
            return sympy.Rational(frac.numerator, frac.denominator)
    return None


def monomial_candidates(X: np.ndarray, y: np.ndarray, symbols) -> list[sympy.Expr]:
    """Monomial candidates for ``y(X)`` (empty when the data are not all positive).

    Returns the rounded-exponent monomial (exponents within 0.05 of a simple rational)
    and the raw least-squares one, both with a float coefficient to be refined.
    """
    if X.shape[1] == 0 or not log_space_ok(X, y):
        return []
    sign = 1 if np.all(y > 0) else -1
    L = np.column_stack([np.ones(len(y)), np.log(X)])
    ly = np.log(np.abs(y))
    coef, *_ = np.linalg.lstsq(L, ly, rcond=None)
    powers = coef[1:]
    out = []
    rounded = [_round_exponent(float(p), 0.05) for p in powers]
    if all(r is not None for r in rounded):
        mono = sympy.Mul(*[s**r for s, r in zip(symbols, rounded)])
        m = np.prod(X ** np.array([float(r) for r in rounded]), axis=1)
        scale = float(np.dot(m, y) / np.dot(m, m))
        out.append(sympy.Float(scale) * mono)
    raw = sympy.Mul(*[s ** sympy.Float(float(p)) for s, p in zip(symbols, powers)])
    out.append(sign * sympy.Float(float(np.exp(coef[0]))) * raw)
    return out
