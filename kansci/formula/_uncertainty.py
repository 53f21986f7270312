"""Standard errors and confidence intervals of a formula's fitted constants.

At a least-squares optimum the covariance of the constants is estimated from the Jacobian J
of the residuals (the Gauss-Newton approximation of the Hessian):

* unknown noise (``absolute_sigma=False``): ``cov = s**2 (J^T W J)^-1`` with
  ``s**2 = sum w r**2 / (n - k)``, the residual variance (as ``scipy.optimize.curve_fit``);
* known per-row errors ``sigma_i`` (weights ``w = 1/sigma**2``, ``absolute_sigma=True``):
  ``cov = (J^T W J)^-1``.

The interval is ``value +- t_{(1+level)/2, n-k} * se`` (Student's t).  Source: Seber & Wild,
*Nonlinear Regression* (Wiley, 1989), ch. 2 (asymptotic inference), and Bates & Watts,
*Nonlinear Regression Analysis and Its Applications* (Wiley, 1988), sec. 2.3.  A constant in
a direction the data cannot see (``c*exp(u + d)``, where only ``c*e**d`` is identified) gets an
infinite standard error.

Where the model is too nonlinear for the Jacobian's quadratic approximation (an exponent, a
rate inside ``exp``), the interval comes from the profile likelihood instead: the values ``v``
of constant i at which the residual sum of squares, minimised over the other constants with
constant i held at ``v``, exceeds its minimum by ``t**2 * s**2`` (Seber & Wild sec. 5.2;
Venzon & Moolgavkar, Appl. Statist. 37 (1988) 87).  ``method="auto"`` checks each Wald
end point against the profile and profiles only the constants where they disagree.

For tables too small to trust a Gaussian noise model (a handful of rows, residuals that may be
systematic rather than random), ``method="jackknife"`` estimates the standard errors by
refitting with each row left out in turn (Efron & Tibshirani, *An Introduction to the
Bootstrap*, Chapman & Hall 1993, ch. 11): it widens the intervals of a formula whose
constants the individual rows pull around.

Two guards for real data: ``min_sigma`` floors the residual standard deviation (at zero noise
the residuals are rounding error, far below the optimiser's own precision), and with known
error bars ``inflate=True`` scales the covariance by the Birge ratio ``chi2/dof`` when it
exceeds 1 (the error bars are too small for the scatter; Birge, Phys. Rev. 40 (1932) 207; the
Particle Data Group's scale factor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import scipy.stats
import sympy

from ._data import FitData, prepare
from ._refine import Model, fit_model

__all__ = ["ConstantEstimate", "constant_errors"]

#: Rows used for the Jacobian (more rows only shrink the errors as they should; this bounds memory).
MAX_ROWS = 200_000


@dataclass(frozen=True)
class ConstantEstimate:
    """One fitted constant of a formula with its uncertainty.

    ``index`` is the position of the constant among the formula's float occurrences, in the
    order of :func:`kansci._evaluate.parameterise` applied to the normalised formula
    (``x**2.0`` is ``x**2``, a float times ``pi`` is one float); ``value`` is the fitted number.
    """

    index: int
    value: float
    std_error: float
    lower: float
    upper: float

    def contains(self, number: float) -> bool:
        """Whether ``number`` lies inside the confidence interval."""
        return bool(self.lower <= number <= self.upper)


def constant_errors(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    *,
    weights: Any = None,
    absolute_sigma: bool = False,
    level: float = 0.95,
    min_sigma: float = 0.0,
    inflate: bool = False,
    method: str = "wald",
) -> list[ConstantEstimate]:
    """Standard error and confidence interval of every float constant of ``expr``.

    ``expr`` should already be fitted (e.g. by :func:`kansci.formula.refine_constants`):
    the errors are those of the least-squares estimate at that point.

    Parameters
    ----------
    expr : sympy.Expr
        Formula whose ``Float`` atoms are the fitted constants.
    symbols : sequence of sympy.Symbol
        The columns of ``X``, in order.
    X : array-like (n, len(symbols)) or DataFrame
    y : array-like (n,)
    weights : array-like (n,), optional
        Row weights; with ``absolute_sigma=True`` they must be ``1/sigma**2``.
    absolute_sigma : bool
        Weights are inverse variances in the target's units (known error bars): the
        covariance is not rescaled by the residual variance.
    level : float
        Confidence level of the interval (default 0.95).
    min_sigma : float
        Floor of the residual standard deviation, in the target's units (weighted units with
        weights); 0 for none.  Use a rounding-level floor on exact (noise-free) data.
    inflate : bool
        With ``absolute_sigma``, multiply the covariance by ``chi2/dof`` when it exceeds 1.
    method : {"wald", "profile", "auto", "jackknife"}
        ``wald``: Jacobian covariance; ``profile``: profile-likelihood intervals (refits);
        ``auto``: profile only the constants whose Wald end points the profile contradicts
        by more than 25 % in residual sum of squares; ``jackknife``: delete-one refits (for
        small tables; the larger of its and the Wald standard error is used).

    Returns
    -------
    list of ConstantEstimate, one per float occurrence (empty when there is none).

    Raises
    ------
    ValueError
        Shapes that do not match, or no usable rows.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    if method not in ("wald", "profile", "auto", "jackknife"):
        raise ValueError(f"method must be 'wald', 'profile', 'auto' or 'jackknife', got {method!r}")
    model = Model(expr, symbols)
    if model.k == 0:
        return []
    data = prepare(symbols, X, y, weights, max_rows=MAX_ROWS)
    p = model.p0
    cov, chi2, dof = unscaled_covariance(model, data, p)
    if absolute_sigma:
        s2 = max(chi2 / dof, 1.0) if inflate else 1.0
    else:
        s2 = chi2 / dof
    s2 = max(s2, float(min_sigma) ** 2)
    return estimates(model, data, p, cov, s2, level=level, method=method, sse=chi2)


def unscaled_covariance(model: Model, data: FitData, p: np.ndarray) -> tuple[np.ndarray, float, int]:
    """``((J^T W J)^-1, chi2, dof)`` at ``p``: the covariance per unit residual variance
    (infinite on the diagonal for a direction the data cannot see), the weighted residual
    sum of squares and the degrees of freedom ``max(n - k, 1)``."""
    r = model.residuals(data, p)  # sqrt(w) * (f - y)
    J = model.jacobian(data, p)
    n, k = J.shape
    norms = np.sqrt(np.sum(J**2, axis=0))
    safe = np.where(norms > 0, norms, 1.0)
    A = (J / safe).T @ (J / safe)
    evals, evecs = np.linalg.eigh(A)
    top = max(float(evals.max()), 1e-300)
    null = evals <= 1e-12 * top
    inv_evals = np.where(null, 0.0, 1.0 / np.where(null, 1.0, evals))
    cov = (evecs * inv_evals) @ evecs.T / np.outer(safe, safe)
    degenerate = (norms == 0) | (np.sum(evecs[:, null] ** 2, axis=1) > 1e-6)
    cov[degenerate, degenerate] = np.inf
    return cov, float(np.sum(r**2)), max(n - k, 1)


def estimates(
    model: Model, data: FitData, p: np.ndarray, cov: np.ndarray, s2: float, *,
    level: float = 0.95, method: str = "wald", sse: float | None = None,
) -> list[ConstantEstimate]:
    """Estimates from an unscaled covariance and a residual variance ``s2`` (weighted units)."""
    k = len(p)
    dof = max(data.n - k, 1)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.maximum(np.diag(cov), 0.0) * s2)
    se[~np.isfinite(se)] = np.inf
    t = float(scipy.stats.t.ppf(0.5 + level / 2, dof))
    if method == "jackknife" and k:
        se = np.maximum(se, _jackknife(model, data, p))
    bounds = [(float(v - t * e), float(v + t * e)) for v, e in zip(p, se)]
    if method in ("profile", "auto") and k:
        if sse is None:
            sse = float(np.sum(model.residuals(data, p) ** 2))
        profile = _Profile(model, data, p, sse, t * t * s2)
        for i in range(k):
            if not np.isfinite(se[i]) or se[i] == 0:
                continue
            if method == "auto" and profile.wald_holds(i, t * se[i]):
                continue
            bounds[i] = profile.interval(i, t * se[i])
    return [
        ConstantEstimate(i, float(v), float(e), lo, hi)
        for i, (v, e, (lo, hi)) in enumerate(zip(p, se, bounds))
    ]


#: The jackknife refits at most this many rows (one refit per row).
JACKKNIFE_MAX_ROWS = 200


def _jackknife(model: Model, data: FitData, p: np.ndarray) -> np.ndarray:
    """Delete-one jackknife standard errors (zeros when the table is too large or too small)."""
    n = data.n
    if n > JACKKNIFE_MAX_ROWS or n <= len(p) + 1:
        return np.zeros(len(p))
    start = Model.from_template(model.template, model.dummies, p, model.symbols)
    thetas = []
    for i in range(n):
        keep = np.arange(n) != i
        sub = FitData([c[keep] for c in data.columns], data.y[keep], data.w[keep])
        fit = fit_model(start, sub, max_nfev=50 + 10 * len(p))
        thetas.append(fit.params)
    thetas = np.asarray(thetas, float)
    if not np.all(np.isfinite(thetas)):
        return np.full(len(p), np.inf)
    return np.sqrt((n - 1) / n * np.sum((thetas - thetas.mean(axis=0)) ** 2, axis=0))


class _Profile:
    """The profile of the residual sum of squares along one constant (others refitted)."""

    def __init__(self, model: Model, data: FitData, p: np.ndarray, sse_min: float, delta: float) -> None:
        self.model, self.data, self.p = model, data, np.asarray(p, float)
        self.sse_min, self.delta = sse_min, delta
        self.weight = float(np.sum(data.w))

    def excess(self, i: int, v: float) -> float:
        """``SSE_profile(v) - SSE_min - delta``: negative inside the interval."""
        m = self.model
        fixed = m.template.xreplace({m.dummies[i]: sympy.Float(float(v))})
        others = [d for j, d in enumerate(m.dummies) if j != i]
        values = [x for j, x in enumerate(self.p) if j != i]
        sub = Model.from_template(fixed, others, values, m.symbols)
        fit = fit_model(sub, self.data, max_nfev=30 + 5 * sub.k)
        sse = fit.rmse**2 * self.weight if np.isfinite(fit.rmse) else np.inf
        return float(min(sse, 1e300) - self.sse_min - self.delta)

    def wald_holds(self, i: int, half: float) -> bool:
        for side in (-1.0, 1.0):
            ratio = (self.excess(i, self.p[i] + side * half) + self.delta) / self.delta
            if not 0.8 <= ratio <= 1.25:
                return False
        return True

    def interval(self, i: int, half: float) -> tuple[float, float]:
        out = []
        for side in (-1.0, 1.0):
            out.append(self._end(i, side, half))
        return out[0], out[1]

    def _end(self, i: int, side: float, half: float) -> float:
        p = self.p[i]
        inner, step = p, half
        outer = p + side * step
        g = self.excess(i, outer)
        expansions = 0
        while g < 0:
            if expansions >= 8:
                return side * np.inf  # the data do not bound this side
            inner, step = outer, 2 * step
            outer = p + side * step
            g = self.excess(i, outer)
            expansions += 1
        a, b = sorted((inner, outer))
        try:
            return float(scipy.optimize.brentq(lambda v: self.excess(i, v), a, b,
                                               xtol=1e-3 * half, maxiter=30))
        except (ValueError, RuntimeError):  # no sign change after all: keep the Wald end
            return float(p + side * half)
