"""How noisy is the target?  Model-free and model-based estimates of its noise level.

* *Nearest neighbours* (model-free): the Gamma test of Stefansson, Koncar & Jones, "A note on
  the Gamma test", Neural Comput. Appl. 5 (1997) 131.  For the p-th nearest neighbour of each
  row (inputs scaled to unit range), half the mean squared difference of the targets,
  ``gamma(p)``, grows linearly with the mean squared input distance ``delta(p)`` for a smooth
  law; the intercept at ``delta = 0`` estimates the noise variance.  It needs no formula, but
  in many dimensions the neighbours are far apart and the extrapolation is rough.
* *Surrogate*: the held-out RMSE of the KAN surrogate (an upper bound: noise plus misfit).
* *Best formula*: the smallest held-out RMSE of the formulas found (an upper bound too).

The estimate used to weigh formulas is the smallest upper bound, floored at rounding level;
the nearest-neighbour value is reported beside it and tells a formula that fits worse than
the data allow from one that fits to the noise.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["NoiseEstimate", "neighbour_noise", "neighbour_ratio", "lack_of_fit_pvalue", "looks_like_noise",
           "estimate_noise", "ROUNDING", "MIN_RATIO_ROWS"]

log = logging.getLogger("kansci")

#: Relative rounding level: noise below ``ROUNDING * std(y)`` is taken as none.
ROUNDING = 1e-9

#: Rows below which the residual test of :func:`looks_like_noise` has too little power.
MIN_RATIO_ROWS = 200


@dataclass
class NoiseEstimate:
    """The noise standard deviation of the target (its units), and where it came from.

    ``sigma`` is the value used; ``sources`` holds each estimate (``neighbours``,
    ``surrogate``, ``best_formula``; NaN when unavailable), ``method`` names the one used.
    With known error bars ``sigma`` is the RMS of the per-row errors and ``method`` is
    ``"error bars"``.  ``rows``: how many held-out rows the estimate rests on when they are
    fewer than the candidates are scored on (a search on a subsample of a large table), else
    None; the goodness-of-fit test then allows for the estimate's own sampling error.
    """

    sigma: float
    method: str
    sources: dict = field(default_factory=dict)
    rows: int | None = None

    def to_dict(self) -> dict:
        out = {"sigma": _num(self.sigma), "method": self.method}
        out.update({k: _num(v) for k, v in self.sources.items()})
        return out


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def neighbour_noise(X: np.ndarray, y: np.ndarray, *, k: int = 10, max_rows: int = 2000,
                    rng: np.random.Generator | None = None) -> float:
    """Noise standard deviation of ``y`` by the Gamma test on ``k`` nearest neighbours.

    Parameters
    ----------
    X : array (n, d); y : array (n,)
    k : neighbours per row (the regression of gamma on delta uses p = 1..k).
    max_rows : rows used at most (a random subset; ``rng`` chooses it).

    Returns
    -------
    float
        The estimate (0 when the intercept is negative; NaN with fewer than ``k + 2`` rows).
    """
    from scipy.spatial import cKDTree

    X = np.asarray(X, float)
    y = np.asarray(y, float)
    if X.ndim == 1:
        X = X[:, None]
    n = len(y)
    if n < k + 2:
        return math.nan
    if n > max_rows:
        rng = rng or np.random.default_rng(0)
        keep = rng.choice(n, size=max_rows, replace=False)
        X, y = X[keep], y[keep]
    Z = _unit_scaled(X)
    dist, idx = cKDTree(Z).query(Z, k=k + 1)
    delta = np.mean(dist[:, 1:] ** 2, axis=0)
    gamma = 0.5 * np.mean((y[idx[:, 1:]] - y[:, None]) ** 2, axis=0)
    if np.ptp(delta) <= 0:
        return float(np.sqrt(max(gamma.mean(), 0.0)))
    slope, intercept = np.polyfit(delta, gamma, 1)
    return float(np.sqrt(max(intercept, 0.0)))


def _unit_scaled(X: np.ndarray) -> np.ndarray:
    span = np.ptp(X, axis=0)
    return (X - X.min(axis=0)) / np.where(span > 0, span, 1.0)


def neighbour_ratio(X: np.ndarray, r: np.ndarray, *, max_rows: int = 4000,
                    rng: np.random.Generator | None = None, signs: bool = False):
    """Von Neumann's ratio of residuals ``r`` taken over nearest neighbours in ``X``.

    Half the mean squared difference between each row's residual and that of its nearest
    neighbour (inputs scaled to unit range), over the mean square of the residuals.  About 1,
    with standard deviation about ``sqrt(2/n)`` for ``n`` rows, when the residuals are noise
    independent of the inputs; below 1 when a smooth misfit or an offset is left in them.
    The ratio of the mean square successive difference to the variance is von Neumann's, Ann.
    Math. Statist. 12 (1941) 367; the nearest neighbour stands in for the successor as in the
    Gamma test (:func:`neighbour_noise`).

    Parameters
    ----------
    X : array (n, d); r : array (n,) (residuals, in any units)
    max_rows : rows used at most (a random subset; ``rng`` chooses it).

    With ``signs``, also the share of rows whose residual has the sign of its neighbour's:
    about 1/2 (standard deviation about ``sqrt(0.45/n)``) for noise of median zero, more for a
    misfit, however its size is spread (a few large residuals sway the ratio, not the signs).

    Returns
    -------
    float, or (ratio, share) with ``signs`` (NaN with fewer than 3 rows or residuals all zero)
    """
    from scipy.spatial import cKDTree

    X = np.asarray(X, float)
    r = np.asarray(r, float)
    if X.ndim == 1:
        X = X[:, None]
    if len(r) > max_rows:
        keep = (rng or np.random.default_rng(0)).choice(len(r), size=max_rows, replace=False)
        X, r = X[keep], r[keep]
    mean_square = float(np.mean(r**2)) if len(r) >= 3 else 0.0
    if not mean_square > 0 or not np.isfinite(mean_square):
        return (math.nan, math.nan) if signs else math.nan
    Z = _unit_scaled(X)
    _, idx = cKDTree(Z).query(Z, k=2)
    ratio = float(0.5 * np.mean((r - r[idx[:, 1]]) ** 2) / mean_square)
    if signs:
        return ratio, float(np.mean(np.sign(r) == np.sign(r[idx[:, 1]])))
    return ratio


def lack_of_fit_pvalue(X: np.ndarray, r: np.ndarray) -> float:
    """P-value of the F test of residuals ``r`` against a cubic surface in ``X``.

    The residuals are regressed on ``1``, the inputs (scaled to unit range), their squares,
    pairwise products (up to 12 inputs) and cubes; the F statistic compares the sum of squares explained with
    what is left (a lack-of-fit test in the manner of Ramsey's RESET, J. R. Statist. Soc. B 31
    (1969) 350).  A smooth misfit or an offset explains much and gives a small p-value; noise
    explains about ``p/n`` of it.  In many inputs, where nearest neighbours are far apart and
    :func:`neighbour_ratio` loses its power, a low-order surface still follows a smooth misfit.
    """
    import scipy.stats

    Z = _unit_scaled(np.asarray(X, float).reshape(len(r), -1)) - 0.5
    d = Z.shape[1]
    pairs = ((i, j) for i in range(d) for j in range(i, d)) if d <= 12 else ((i, i) for i in range(d))
    cols = [np.ones(len(r)), *Z.T, *(Z[:, i] * Z[:, j] for i, j in pairs), *(Z**3).T]
    A = np.column_stack(cols)
    p = A.shape[1]
    if len(r) <= 2 * p:
        return math.nan
    coef, *_ = np.linalg.lstsq(A, r, rcond=None)
    left = float(np.sum((r - A @ coef) ** 2))
    total = float(np.sum(r**2))
    if not left > 0:
        return 0.0
    F = ((total - left) / p) / (left / (len(r) - p))
    return float(scipy.stats.f.sf(F, p, len(r) - p))


def looks_like_noise(X: np.ndarray, r: np.ndarray, *, sigmas: float = 3.0, level: float = 1e-3,
                     rng: np.random.Generator | None = None) -> bool:
    """Whether residuals ``r`` show no structure in ``X``: :func:`neighbour_ratio` at least
    ``1 - sigmas * sqrt(2/n)``, neighbours' residuals of the same sign no more often than
    ``1/2 + sigmas * sqrt(0.45/n)``, and :func:`lack_of_fit_pvalue` above ``level``.  False with
    fewer than :data:`MIN_RATIO_ROWS` rows (too little power to tell noise from a misfit)."""
    n = min(len(r), 4000)
    if n < MIN_RATIO_ROWS:
        return False
    X, r = np.asarray(X), np.asarray(r)
    if len(r) > n:  # one subsample for both tests
        keep = (rng or np.random.default_rng(0)).choice(len(r), size=n, replace=False)
        X, r = X[keep], r[keep]
    ratio, alike = neighbour_ratio(X, r, max_rows=n, signs=True)
    if not (np.isfinite(ratio) and ratio >= 1.0 - sigmas * math.sqrt(2.0 / n)
            and alike <= 0.5 + sigmas * math.sqrt(0.45 / n)):
        return False
    return bool(lack_of_fit_pvalue(X, r) > level)


def estimate_noise(problem, candidates, surrogate=None, *, neighbours: float | None = None,
                   surrogate_rows: int | None = None) -> NoiseEstimate:
    """The noise level to weigh formulas by (see the module's docstring).

    ``problem`` gives the rows and the target's scale; ``candidates`` their held-out RMSEs;
    ``surrogate`` (optional) its relative held-out error.  With known error bars
    (``problem.sigma``) those are the noise.
    """
    floor = ROUNDING * problem.y_scale
    sigma_rows = getattr(problem, "sigma", None)
    if neighbours is None:
        rows = problem.train
        neighbours = neighbour_noise(problem.X[rows], problem.y[rows])
    sources = {"neighbours": neighbours, "surrogate": math.nan, "best_formula": math.nan}
    if surrogate is not None and math.isfinite(getattr(surrogate, "rel_error", math.nan)):
        yv = problem.y[problem.val]
        sources["surrogate"] = float(surrogate.rel_error) * (float(np.std(yv)) or 1.0)
    finite = [c.rmse for c in candidates if math.isfinite(c.rmse)]
    if finite:
        sources["best_formula"] = float(min(finite))
    if sigma_rows is not None:
        return NoiseEstimate(float(np.sqrt(np.mean(sigma_rows**2))), "error bars", sources)
    bounds = {k: v for k, v in sources.items() if k != "neighbours" and math.isfinite(v)}
    if not bounds:
        value = neighbours if math.isfinite(neighbours) else problem.y_scale
        return NoiseEstimate(max(value, floor), "neighbours", sources)
    method = min(bounds, key=bounds.get)
    rows = surrogate_rows if method == "surrogate" and surrogate_rows else None
    return NoiseEstimate(max(bounds[method], floor), method, sources, rows=rows)
