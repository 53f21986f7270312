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
    and the raw least-squares one, both with a float coefficient to be refined; then, where
    a bounded group (see :func:`bounded_groups`) improves the log-space fit, the rounded
    power product with that group's complements (:func:`_with_group`).
    """
    fitted = fit_power_law(X, y)
    if fitted is None:
        return []
    sign, coef = fitted
    out = _power_product(X, y, sign, coef, symbols, [])
    out += _with_group(X, y, symbols, _log_misfit(X, y, sign, coef))
    return out


def _power_product(X, y, sign, coef, symbols, extra, raw: bool = True) -> list[sympy.Expr]:
    """The rounded and (``raw``) the raw candidate of a log-space fit ``coef`` over the columns
    of ``X`` and the factors ``extra`` (sympy expressions whose values are the columns after
    ``X``)."""
    factors = list(symbols) + list(extra)
    powers = coef[1:]
    out = []
    rounded = [_round_exponent(float(p), 0.05) for p in powers]
    if extra and not all(r is not None for r in rounded):
        rounded = _round_in_turn(X, y, sign, coef)
    if all(r is not None for r in rounded):
        mono = sympy.Mul(*[s**r for s, r in zip(factors, rounded)])
        with np.errstate(all="ignore"):
            m = np.prod(X ** np.array([float(r) for r in rounded]), axis=1)
            scale = float(np.dot(m, y) / np.dot(m, m))
        if np.isfinite(scale):
            out.append(sympy.Float(scale) * mono)
    if raw:
        free = sympy.Mul(*[s ** sympy.Float(float(p)) for s, p in zip(factors, powers)])
        out.append(sign * sympy.Float(float(np.exp(coef[0]))) * free)
    return out


def _round_in_turn(X: np.ndarray, y: np.ndarray, sign: int, coef: np.ndarray) -> list:
    """Exponents rounded one at a time, the one nearest a simple rational first, the others
    refitted in log space after each (weighted by the fitted magnitude, as the fit itself):
    where columns are nearly collinear (``v``, ``c`` and ``1 +- v/c``) a joint rounding fails
    on exponents that each move by noise, and fixing the clear ones pins the rest."""
    k = X.shape[1]
    keep = sign * y > 0
    L = np.log(X[keep])
    ly = np.log(sign * y[keep])
    with np.errstate(all="ignore"):
        w = np.exp(np.clip(coef[0] + L @ coef[1:], -700.0, 700.0))
    w = w / (w.max() or 1.0)
    fixed: dict[int, sympy.Rational] = {}
    powers = np.array(coef[1:], dtype=float)
    while len(fixed) < k:
        free = [j for j in range(k) if j not in fixed]
        # the distance to the nearest simple rational (an integer is always within 0.5)
        best = min(free, key=lambda j: abs(float(_round_exponent(powers[j], 0.5)) - powers[j]))
        r = _round_exponent(powers[best], 0.1)
        if r is None:
            return [None] * k
        fixed[best] = r
        free = [j for j in free if j != best]
        known = L[:, list(fixed)] @ np.array([float(v) for v in fixed.values()])
        A = np.column_stack([np.ones(len(ly)), L[:, free]])
        sol, *_ = np.linalg.lstsq(A * w[:, None], (ly - known) * w, rcond=None)
        powers[free] = sol[1:]
    return [fixed[j] for j in range(k)]


def _log_misfit(X: np.ndarray, y: np.ndarray, sign: int, coef: np.ndarray) -> float:
    """RMS of the fit's relative residuals, ``(y - yhat)/yhat``."""
    with np.errstate(all="ignore"):
        yhat = sign * np.exp(np.clip(coef[0] + np.log(X) @ coef[1:], -700.0, 700.0))
        r = (y - yhat) / yhat
    return float(np.sqrt(np.mean(r**2))) if np.all(np.isfinite(r)) else np.inf


#: At most this many bounded groups are tried by :func:`_with_group` ...
MAX_GROUPS = 8
#: ... and one is kept when it brings the relative misfit below this fraction of the plain
#: power law's (two more exponents always lower it a little; the candidates are judged by the
#: criterion like any other).
GROUP_GAIN = 0.95


def bounded_groups(X: np.ndarray, symbols) -> list[tuple[np.ndarray, sympy.Expr]]:
    """Dimensionless-looking quantities of the inputs bounded in (0, 1) on every row, as
    ``(values, expression)``: an input itself (an eccentricity, a fraction) and the ratio of
    two inputs taken the side below 1 (``v/c``).  Laws take such a ``u`` through ``1 - u``
    and ``1 + u`` (a Lorentz factor ``(1 - u**2)**(-1/2)``, a Doppler factor
    ``sqrt((1 + u)/(1 - u))``, an orbit's ``1 - e**2``)."""
    out = []
    n = X.shape[1]
    for j in range(n):
        if np.all((X[:, j] > 0) & (X[:, j] < 1)):
            out.append((X[:, j], symbols[j]))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            with np.errstate(all="ignore"):
                u = X[:, i] / X[:, j]
            if np.all(np.isfinite(u)) and np.all((u > 0) & (u < 1)) and np.ptp(u) > 1e-6:
                out.append((u, symbols[i] / symbols[j]))
    # the widest ranges first: a group near 0 everywhere makes 1 - u and 1 + u indistinguishable
    out.sort(key=lambda g: -float(np.max(g[0])))
    return out[:MAX_GROUPS]


def _with_group(X: np.ndarray, y: np.ndarray, symbols, plain: float) -> list[sympy.Expr]:
    """Power products of the inputs and of ``1 - u`` and ``1 + u`` for the bounded group ``u``
    (:func:`bounded_groups`) that fits best in log space, when it beats the plain power law's
    relative misfit ``plain`` by :data:`GROUP_GAIN`.  Equal exponents of the two are written
    as one power of ``1 - u**2``."""
    best = None
    if not plain > 1e-9:  # the power law is exact already
        return []
    for u, g in bounded_groups(X, symbols):
        Z = np.column_stack([X, 1.0 - u, 1.0 + u])
        fitted = fit_power_law(Z, y)
        if fitted is None:
            continue
        misfit = _log_misfit(Z, y, *fitted)
        if misfit < GROUP_GAIN * plain and (best is None or misfit < best[0]):
            best = (misfit, Z, fitted, g)
    if best is None:
        return []
    _, Z, (sign, coef), g = best
    # the rounded form only: free exponents of nearly collinear columns are a mimic's floats
    out = _power_product(Z, y, sign, coef, symbols, [1 - g, 1 + g], raw=False)
    return [_merge_complements(e, g) for e in out]


def _merge_complements(expr: sympy.Expr, g: sympy.Expr) -> sympy.Expr:
    """``(1 - g)**a * (1 + g)**a`` as ``(1 - g**2)**a`` (the Lorentz factor's form)."""
    a = dict(expr.as_powers_dict())
    lo, hi = a.get(1 - g, 0), a.get(1 + g, 0)
    if lo == 0 or lo != hi or not isinstance(lo, sympy.Rational):
        return expr
    rest = sympy.Mul(*[b**e for b, e in a.items() if b not in (1 - g, 1 + g)])
    return rest * (1 - g**2) ** lo
