"""Error-against-size curves: Pareto frontiers and fitted scaling exponents.

``fit_scaling`` measures the exponent ``alpha`` of ``RMSE ~ N**-alpha`` (N: parameter count)
on the part of a curve before it flattens.  The rule, the same for KANs and MLPs:

1. points with ``N`` above the number of training rows are left out (past the interpolation
   threshold the test error of an exact fit rises again; the KAN paper's Fig. 3.1 marks it);
2. of the rest, sorted by ``N``, the points up to the lowest test RMSE are kept (what follows
   the best point is the floor, or an optimisation failure);
3. ``log RMSE = log sqrt((C N^-alpha)^2 + F^2)`` is fitted by least squares over
   ``(C, alpha, F)``: a power law that levels off at a floor ``F`` (numerical precision,
   optimisation), so the floor's points do not drag the slope down.  ``alpha`` is bounded to
   ``[0, 10]``; with fewer than three points ``alpha`` is NaN.

The straight-line slope over the same points (``alpha_line``) and the local slopes between
neighbours are reported beside it, so a reader can see what the floor model did.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

__all__ = ["pareto_front", "smallest_reaching", "fit_scaling"]


def pareto_front(params, errors) -> np.ndarray:
    """Indices of the points no other point beats in both size and error, by increasing size."""
    p = np.asarray(params, dtype=float)
    e = np.asarray(errors, dtype=float)
    order = np.lexsort((e, p))
    keep, best = [], math.inf
    for i in order:
        if np.isfinite(e[i]) and e[i] < best:
            keep.append(int(i))
            best = e[i]
    return np.asarray(keep, dtype=int)


def smallest_reaching(params, errors, threshold: float) -> int | None:
    """Index of the smallest model with error below ``threshold`` (ties: lower error), or None."""
    p = np.asarray(params, dtype=float)
    e = np.asarray(errors, dtype=float)
    ok = np.flatnonzero(np.isfinite(e) & (e < threshold))
    if not len(ok):
        return None
    return int(ok[np.lexsort((e[ok], p[ok]))[0]])


def _curve(params, errors, n_train: int | None):
    p = np.asarray(params, dtype=float)
    e = np.asarray(errors, dtype=float)
    ok = np.isfinite(e) & (e > 0) & np.isfinite(p) & (p > 0)
    if n_train is not None:
        ok &= p <= n_train
    p, e = p[ok], e[ok]
    order = np.argsort(p, kind="stable")
    p, e = p[order], e[order]
    if len(e):
        last = int(np.argmin(e))
        p, e = p[: last + 1], e[: last + 1]
    return p, e


def fit_scaling(params, errors, *, n_train: int | None = None) -> dict:
    """Scaling exponent of a curve of test RMSE against parameter count (see the module notes).

    Returns
    -------
    dict with ``alpha`` (power law with floor), ``floor`` (F), ``alpha_line`` (straight-line
    slope on the same points), ``n_points`` used, ``params_used`` and ``local_slopes``.
    """
    p, e = _curve(params, errors, n_train)
    out = {"alpha": math.nan, "floor": math.nan, "alpha_line": math.nan, "n_points": int(len(p)),
           "params_used": [int(v) for v in p], "local_slopes": []}
    if len(p) >= 2:
        lp, le = np.log(p), np.log(e)
        out["local_slopes"] = [float(-(le[i + 1] - le[i]) / (lp[i + 1] - lp[i])) if lp[i + 1] > lp[i] else math.nan
                               for i in range(len(p) - 1)]
        out["alpha_line"] = float(-np.polyfit(lp, le, 1)[0]) if np.ptp(lp) > 0 else math.nan
    if len(p) < 3 or np.ptp(np.log(p)) == 0:
        return out
    lp, le = np.log(p), np.log(e)

    def model(theta):
        log_c, alpha, log_f = theta
        return np.logaddexp(2 * (log_c - alpha * lp), 2 * log_f) / 2

    a0 = min(max(out["alpha_line"], 0.05), 9.5)
    c0 = float(np.mean(le + a0 * lp))
    f0 = float(le.min()) - 3.0
    fit = least_squares(lambda t: model(t) - le, x0=[c0, a0, f0],
                        bounds=([-np.inf, 0.0, -np.inf], [np.inf, 10.0, np.inf]))
    out["alpha"] = float(fit.x[1])
    out["floor"] = float(np.exp(fit.x[2]))
    return out
