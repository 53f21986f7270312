"""A KAN surrogate of the data: an accurate smooth stand-in ``f(x)`` to probe structure with.

Inputs are mapped affinely to [-1, 1] and the target standardised; the KAN is trained in
float64 with LBFGS on a coarse-to-fine grid schedule, stopping early when the time share is
spent or the validation error stops improving.  A positive input spanning more than two
decades (log-uniformly sampled, as physical data often are) enters through its logarithm, so
its grid cells hold data in every decade rather than all rows in the lowest cell.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from .._model import KAN

__all__ = ["Surrogate", "fit_surrogate"]

log = logging.getLogger("kansci")


class Surrogate:
    """A trained KAN with the maps between raw units and its standardised coordinates."""

    def __init__(self, model: KAN, lo: np.ndarray, hi: np.ndarray, y_mean: float, y_std: float,
                 *, view: str = "raw", sign: float = 1.0, log_columns=None) -> None:
        self.model = model
        self.log_columns = None if log_columns is None or not np.any(log_columns) else np.asarray(log_columns, bool)
        self.view, self.sign = view, float(sign)
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.y_mean, self.y_std = float(y_mean), float(y_std)
        self.rel_error = float("nan")  # validation RMSE / std(y)
        self.history = None

    @property
    def n_vars(self) -> int:
        return len(self.lo)

    @property
    def log_view(self) -> bool:
        return self.view == "log"

    def to_unit(self, X: np.ndarray) -> np.ndarray:
        """Raw inputs to the KAN's coordinates (``lo``/``hi`` are in those of the view)."""
        X = np.asarray(X, float)
        if self.log_view:
            with np.errstate(all="ignore"):
                X = np.log(X)
        elif self.log_columns is not None:
            X = X.copy()
            with np.errstate(all="ignore"):
                X[:, self.log_columns] = np.log(X[:, self.log_columns])
        mid, half = (self.hi + self.lo) / 2, (self.hi - self.lo) / 2
        return (X - mid) / np.where(half > 0, half, 1.0)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        z = torch.as_tensor(self.to_unit(X), dtype=self.model.dtype, device=self.model.device)
        with torch.no_grad():
            out = self.y_mean + self.y_std * self.model(z)[:, 0].cpu().numpy()
        if self.view in ("log", "logy"):
            return self.sign * np.exp(out)
        if self.view == "square":
            return self.sign * np.sqrt(np.maximum(out, 0.0))
        return out


GRIDS = (3, 6, 12, 24)
STEPS = (40, 30, 30, 30)


def _train_stage(model, Z, t, Zv, tv, i, deadline):
    if i:
        model.update_grid(Z)
        model.extend_grid(GRIDS[i], Z)
    model.fit(Z, t, steps=STEPS[i], X_val=Zv, y_val=tv, update_grid=(i == 0),
              grid_update_every=5, stop_grid_update_step=STEPS[i] // 2,
              time_limit=max(deadline - time.perf_counter(), 0.1))


def wide_columns(X: np.ndarray, Xv: np.ndarray | None = None, decades: float = 2.0) -> np.ndarray:
    """Positive columns spanning more than ``decades`` decades (fitted in log space)."""
    both = X if Xv is None else np.vstack([X, Xv])
    positive = np.all(both > 0, axis=0)
    with np.errstate(all="ignore"):
        span = np.where(positive, np.log10(np.where(positive, both.max(0) / np.where(positive, both.min(0), 1), 1)), 0)
    return positive & (span > decades)


def _prepare(view: str, X, y, Xv, yv, seed, hidden, device=None):
    """A surrogate for one view (``"raw"``, ``"log"``, ``"square"``) and its training tensors."""
    sign = float(np.sign(y[0])) if view != "raw" else 1.0
    wide = wide_columns(X, Xv) if view != "log" else None
    if view == "log":
        Xk, Xvk, yk, yvk = np.log(X), np.log(Xv), np.log(np.abs(y)), np.log(np.abs(yv))
    elif view == "logy":  # a target spanning decades, inputs not all positive
        Xk, Xvk, yk, yvk = X, Xv, np.log(np.abs(y)), np.log(np.abs(yv))
    elif view == "square":
        Xk, Xvk, yk, yvk = X, Xv, y**2, yv**2
    else:
        Xk, Xvk, yk, yvk = X, Xv, y, yv
    if wide is not None and wide.any():
        Xk, Xvk = Xk.copy(), Xvk.copy()
        Xk[:, wide], Xvk[:, wide] = np.log(Xk[:, wide]), np.log(Xvk[:, wide])
    lo, hi = np.minimum(Xk.min(0), Xvk.min(0)), np.maximum(Xk.max(0), Xvk.max(0))
    y_mean, y_std = float(np.mean(yk)), float(np.std(yk)) or 1.0
    model = KAN([X.shape[1], hidden, 1], grid=GRIDS[0], seed=seed, dtype=torch.float64, device=device)
    sur = Surrogate(model, lo, hi, y_mean, y_std, view=view, sign=sign, log_columns=wide)
    tensors = tuple(torch.as_tensor(a, device=device) for a in (  # moved once, before training
        sur.to_unit(X), ((yk - y_mean) / y_std)[:, None], sur.to_unit(Xv), ((yvk - y_mean) / y_std)[:, None]))
    return sur, tensors


def _raw_error(sur, Xv, yv) -> float:
    pred = sur(Xv)
    if not np.all(np.isfinite(pred)):
        return np.inf
    return float(np.sqrt(np.mean((pred - yv) ** 2)) / (np.std(yv) or 1.0))


def fit_surrogate(X: np.ndarray, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray, *, seed: int = 0,
                  time_budget: float = 20.0, hidden: int | None = None, device=None) -> Surrogate:
    """Fit a KAN surrogate to ``(X, y)``, scored on ``(Xv, yv)``.

    Besides ``y(x)``, when the target keeps one sign a KAN learns ``y**2`` (norms and
    distances become polynomials) and, with positive inputs, ``log|y|`` from ``log x``
    (products become sums, power laws become linear; several times more accurate for most
    laws of physics).  The best view after the first, coarse stage is refined on finer
    grids while the validation error keeps dropping and time allows.  ``device``: where the
    KAN trains (None: the CPU).
    """
    deadline = time.perf_counter() + time_budget
    d = X.shape[1]
    hidden = hidden or int(min(max(2 * d + 1, 3), 10))
    views = ["raw"]
    one_sign = bool(np.all(y > 0) or np.all(y < 0))
    if one_sign and np.all(X > 0) and np.all(Xv > 0):
        views.insert(0, "log")
    elif one_sign and np.abs(y).max() > 1e3 * np.abs(y).min():
        views.insert(0, "logy")
    if one_sign:
        views.append("square")  # distances and norms: sqrt of a polynomial
    scored = []
    for k, view in enumerate(views):
        sur, tensors = _prepare(view, X, y, Xv, yv, seed, hidden, device)
        share = 0.2 if k < len(views) - 1 else 0.25
        stage_deadline = time.perf_counter() + share * max(deadline - time.perf_counter(), 0.0)
        _train_stage(sur.model, *tensors, 0, stage_deadline)
        scored.append((_raw_error(sur, Xv, yv), view, sur, tensors))
    err, view, sur, tensors = min(scored, key=lambda t: t[0])
    for i in range(1, len(GRIDS)):
        if time.perf_counter() > deadline:
            break
        before = sur.model.snapshot()
        _train_stage(sur.model, *tensors, i, deadline)
        new = _raw_error(sur, Xv, yv)
        if new > err:  # the finer grid did not help: keep the coarser model
            sur.model.restore(before)
            break
        improved, err = new < 0.7 * err, new
        if not improved:
            break
    sur.rel_error = float(err)
    log.debug("surrogate [%d,%d,1] (%s view): relative validation error %.2e", d, hidden, view, err)
    return sur
