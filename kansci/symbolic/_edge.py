"""The samples of one edge, validated and standardised, and the closed-form (c, d) solve."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EdgeData", "prepare_edge", "solve_cd"]


@dataclass
class EdgeData:
    """Valid samples of an edge: ``x``, standardised ``y`` (``z``) and normalised weights."""

    x: np.ndarray
    t: np.ndarray  # x mapped to [-1, 1]
    right: np.ndarray  # x mapped to [0, 1]
    z: np.ndarray  # y standardised (weighted mean 0, weighted variance 1)
    w: np.ndarray  # weights summing to 1
    sw: np.ndarray  # sqrt(w)
    mid: float
    half: float
    y_mean: float
    y_std: float
    notes: list[str]


def prepare_edge(x: Any, y: Any, weights: Any) -> EdgeData:
    """Validate ``x``, ``y``, ``weights``; drop non-finite or zero-weight rows (with a note)."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != x.shape:
        raise ValueError(f"weights must have the length of x ({x.size}), got {w.size}")
    if np.any(w < 0):
        raise ValueError("weights must be >= 0; got negative entries")
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    notes = []
    if not keep.all():
        notes.append(f"dropped {int((~keep).sum())} rows with non-finite values or zero weight")
    x, y, w = x[keep], y[keep], w[keep]
    if x.size < 3:
        raise ValueError(f"need at least 3 finite (x, y) samples with weight > 0, got {x.size}")
    w = w / w.sum()
    y_mean = float(w @ y)
    y_std = float(np.sqrt(w @ (y - y_mean) ** 2))
    lo, hi = float(x.min()), float(x.max())
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    t = (x - mid) / half if half > 0 else np.zeros_like(x)
    z = (y - y_mean) / y_std if y_std > 0 else np.zeros_like(y)
    return EdgeData(x, t, 0.5 * (1.0 + t), z, w, np.sqrt(w), mid, half, y_mean, y_std, notes)


def solve_cd(f_values: np.ndarray, z: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares ``z ~ c*f + d``; returns ``(c, d, loss)``, loss = sum w r^2."""
    with np.errstate(all="ignore"):
        f_mean = float(w @ f_values)
        fc = f_values - f_mean
        var = float(w @ (fc * fc))
        if not math.isfinite(var):
            return math.nan, math.nan, math.inf
        c = float(w @ (fc * z)) / var if var > 1e-300 else 0.0
        d = -c * f_mean  # z has weighted mean 0
        resid = c * f_values + d - z
        return c, d, float(w @ (resid * resid))
