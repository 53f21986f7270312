"""Error-against-size curves: Pareto frontiers and fitted scaling exponents.

``fit_scaling`` measures the exponent ``alpha`` of ``RMSE ~ N**-alpha`` (N: parameter count)
on the part of a curve before it flattens.  The rule, the same for KANs and MLPs:

1. points with ``N`` above the number of training rows are left out (past the interpolation
   threshold the test error of an exact fit rises again; the KAN paper's Fig. 3.1 marks it);
2. of the rest, sorted by ``N``, the points up to the lowest test RMSE are kept (what follows
   the best point is the floor, or an optimisation failure);
3. the floor starts at the first point within a factor 3 of that lowest RMSE: the fit runs
   from the smallest model up to that point, and ``alpha`` is minus the slope of the
   least-squares line of ``log RMSE`` against ``log N`` there (two points at least).  That
   last point may sit on the floor already, which flattens the line: the rule errs low (on
   ``3 N^-4`` with a floor of 1e-9 it gives 3.6), never high.

Beside it: ``alpha_floor``, from fitting ``log RMSE = log sqrt((C N^-alpha)^2 + F^2)`` (a power
law that levels off at a floor F) to all points of step 2, when there are four or more, and
the local slopes between neighbours, so a reader can judge the choice of range.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

__all__ = ["pareto_front", "smallest_reaching", "fit_scaling", "best_restarts"]


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


def best_restarts(runs, keys: list[str]):
    """Of several restarts (seeds) of the same model, the one with the lowest training RMSE.

    ``runs``: a DataFrame with ``train_rmse`` and the ``keys`` columns naming a model (a
    KAN's shape and grid, an MLP's shape).  The choice uses the training error only, as a
    practitioner would; the test error of the chosen run is what gets reported.
    """
    order = runs.assign(_nan=runs.train_rmse.isna()).sort_values(["_nan", "train_rmse"], kind="stable")
    best = order.drop_duplicates(keys, keep="first").drop(columns="_nan")
    return best.sort_index()


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


def fit_scaling(params, errors, *, n_train: int | None = None, floor_factor: float = 3.0) -> dict:
    """Scaling exponent of a curve of test RMSE against parameter count (see the module notes).

    Returns
    -------
    dict with ``alpha`` (straight line before the floor), ``n_points`` and ``params_used`` (its
    points), ``alpha_floor`` and ``floor`` (power law with a floor), ``local_slopes``.
    """
    p, e = _curve(params, errors, n_train)
    out = {"alpha": math.nan, "n_points": 0, "params_used": [], "alpha_floor": math.nan, "floor": math.nan,
           "local_slopes": []}
    if len(p) < 2:
        out.update(n_points=int(len(p)), params_used=[int(v) for v in p])
        return out
    lp, le = np.log(p), np.log(e)
    out["local_slopes"] = [float(-(le[i + 1] - le[i]) / (lp[i + 1] - lp[i])) if lp[i + 1] > lp[i] else math.nan
                           for i in range(len(p) - 1)]
    end = int(np.flatnonzero(e <= floor_factor * e.min())[0])
    end = max(end, 1)
    out["n_points"] = end + 1
    out["params_used"] = [int(v) for v in p[: end + 1]]
    if np.ptp(lp[: end + 1]) > 0:
        out["alpha"] = float(-np.polyfit(lp[: end + 1], le[: end + 1], 1)[0])
    if len(p) >= 4 and np.ptp(lp) > 0:
        out["alpha_floor"], out["floor"] = _floor_fit(lp, le)
    return out


def _floor_fit(lp: np.ndarray, le: np.ndarray) -> tuple[float, float]:
    def model(theta):
        log_c, alpha, log_f = theta
        return np.logaddexp(2 * (log_c - alpha * lp), 2 * log_f) / 2

    a0 = min(max(float(-np.polyfit(lp, le, 1)[0]), 0.05), 9.5)
    c0 = float(np.mean(le + a0 * lp))
    fit = least_squares(lambda t: model(t) - le, x0=[c0, a0, float(le.min()) - 3.0],
                        bounds=([-np.inf, 0.0, -np.inf], [np.inf, 10.0, np.inf]))
    return float(fit.x[1]), float(np.exp(fit.x[2]))
