"""Power laws by a log-space fit: ``y = C * prod x_i**p_i`` is linear in ``log x``.

When every input is positive and the target keeps one sign, ``log|y| = log C + sum p_i log x_i``
is an ordinary least-squares problem; its exponents are rounded to simple rationals so the
candidate is exact when the law is a monomial (about a third of the Feynman table).

Measured data carry additive noise, which the log transform turns into an error of size
``sigma/|y|``: rows where the law is small dominate an unweighted log fit, and noise can flip
their sign. So the log fit is reweighted by the fitted magnitude (iteratively reweighted least
squares with weights ``yhat**2``, the inverse variance of ``log|y|`` under additive noise), rows
of the minority sign are left out of it, and the result is polished by Gauss-Newton on the
original scale (``scipy.optimize.least_squares``) over all rows. See Bates & Watts, *Nonlinear
Regression Analysis* (1988), section 1.3, on transformed versus original-scale fits.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

__all__ = ["monomial_candidates", "fit_power_law"]

def _dominant_sign(y: np.ndarray) -> int:
    """+1 or -1 when that sign holds at least half of the rows and 95% of the target's energy
    (``sum y**2``; noise may flip the sign of small values), else 0."""
    energy = float(np.sum(y**2))
    for sign in (1, -1):
        same = sign * y > 0
        if energy > 0 and np.sum(y[same] ** 2) >= 0.95 * energy and same.mean() >= 0.5:
            return sign
    return 0


def fit_power_law(X: np.ndarray, y: np.ndarray) -> tuple[int, np.ndarray] | None:
    """Fit ``y = sign * exp(c0) * prod X[:, i]**c[i+1]``.

    Parameters
    ----------
    X : ndarray, shape (n, k), all entries positive
    y : ndarray, shape (n,)

    Returns
    -------
    (sign, coef) with coef of shape (k + 1,): log-coefficient then exponents; None when the
    inputs are not all positive or the target has no dominant sign.
    """
    if X.shape[1] == 0 or not np.all(X > 0) or len(y) < X.shape[1] + 2:
        return None
    sign = _dominant_sign(y)
    if sign == 0:
        return None
    L = np.column_stack([np.ones(len(y)), np.log(X)])
    keep = sign * y > 0
    Lk, ly = L[keep], np.log(sign * y[keep])
    coef, *_ = np.linalg.lstsq(Lk, ly, rcond=None)
    resid = ly - Lk @ coef
    if keep.all() and float(np.max(np.abs(resid))) < 1e-9:
        return sign, coef  # exact already
    log_hat = ly  # the first weights are the observed magnitudes, later ones the fitted
    for _ in range(4):  # IRLS: weight by the magnitude
        sw = np.exp(np.clip(log_hat - log_hat.max(), -700.0, 0.0))
        if not np.all(np.isfinite(sw)) or sw.sum() <= 0:
            break
        new, *_ = np.linalg.lstsq(Lk * sw[:, None], ly * sw, rcond=None)
        if not np.all(np.isfinite(new)):
            break
        coef = new
        log_hat = Lk @ coef
    return sign, _polish(L, y, sign, coef)


def _polish(L: np.ndarray, y: np.ndarray, sign: int, coef: np.ndarray) -> np.ndarray:
    """Least squares on the original scale, started from the log fit; the start if it fails."""
    from scipy.optimize import least_squares

    scale = float(np.sqrt(np.mean(y**2))) or 1.0
    shift = float(np.log(scale))

    def residual(c):
        return sign * np.exp(np.clip(L @ c - shift, -700.0, 700.0)) - y / scale

    def jacobian(c):
        return (sign * np.exp(np.clip(L @ c - shift, -700.0, 700.0)))[:, None] * L

    try:
        with np.errstate(all="ignore"):
            before = float(np.sum(residual(coef) ** 2))
            fit = least_squares(residual, coef, jac=jacobian, method="lm", max_nfev=200)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return coef
    if not np.all(np.isfinite(fit.x)) or not 2.0 * fit.cost < before:
        return coef
    return fit.x


def _round_exponent(p: float, tol: float) -> sympy.Rational | None:
    for q in (1, 2, 3, 4):
        frac = Fraction(p).limit_denominator(q)
        if abs(float(frac) - p) <= tol:
            return sympy.Rational(frac.numerator, frac.denominator)
    return None


def monomial_candidates(X: np.ndarray, y: np.ndarray, symbols) -> list[sympy.Expr]:
    """Monomial candidates for ``y(X)`` (empty when the inputs are not all positive).

    Returns the rounded-exponent monomial (exponents within 0.05 of a simple rational)
    and the raw least-squares one, both with a float coefficient to be refined.
    """
    fitted = fit_power_law(X, y)
    if fitted is None:
        return []
    sign, coef = fitted
    powers = coef[1:]
    out = []
    rounded = [_round_exponent(float(p), 0.05) for p in powers]
    if all(r is not None for r in rounded):
        mono = sympy.Mul(*[s**r for s, r in zip(symbols, rounded)])
        with np.errstate(all="ignore"):
            m = np.prod(X ** np.array([float(r) for r in rounded]), axis=1)
            scale = float(np.dot(m, y) / np.dot(m, m))
        if np.isfinite(scale):
            out.append(sympy.Float(scale) * mono)
    raw = sympy.Mul(*[s ** sympy.Float(float(p)) for s, p in zip(symbols, powers)])
    out.append(sign * sympy.Float(float(np.exp(coef[0]))) * raw)
    return out
