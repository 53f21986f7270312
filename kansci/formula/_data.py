"""Validate and prepare (X, y, weights) for fitting a formula's constants."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sympy

logger = logging.getLogger("kansci")

MAX_ROWS = 4000


@dataclass(frozen=True)
class FitData:
    """Columns of X (one array per symbol), target and weights, all finite."""

    columns: list[np.ndarray]
    y: np.ndarray
    w: np.ndarray

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def scale(self) -> float:
        """Size of the target: its weighted std, or RMS for a constant target, or 1."""
        mean = np.average(self.y, weights=self.w)
        std = float(np.sqrt(np.average((self.y - mean) ** 2, weights=self.w)))
        if std > 0:
            return std
        rms = float(np.sqrt(np.average(self.y**2, weights=self.w)))
        return rms if rms > 0 else 1.0


def as_matrix(X: Any, symbols: Sequence[sympy.Symbol]) -> np.ndarray:
    """X as a float matrix (n, len(symbols)); DataFrames are read by symbol name if possible."""
    if isinstance(X, pd.DataFrame):
        names = [str(s) for s in symbols]
        if all(n in X.columns for n in names):
            X = X[names]
        X = X.to_numpy(dtype=float)
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1 and len(symbols) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(symbols):
        raise ValueError(
            f"X must have shape (n_rows, {len(symbols)}) with columns "
            f"{[str(s) for s in symbols]}, got shape {arr.shape}"
        )
    return arr


def prepare(
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    weights: Any = None,
    *,
    max_rows: int = MAX_ROWS,
) -> FitData:
    """Check shapes, drop non-finite rows, and thin very long data evenly (no randomness)."""
    Xm = as_matrix(X, symbols)
    yv = np.asarray(y, dtype=float).ravel()
    if yv.size != Xm.shape[0]:
        raise ValueError(
            f"X has {Xm.shape[0]} rows but y has {yv.size} values; they must match"
        )
    if weights is None:
        wv = np.ones_like(yv)
    else:
        wv = np.asarray(weights, dtype=float).ravel()
        if wv.size != yv.size:
            raise ValueError(
                f"weights has {wv.size} values but y has {yv.size}; they must match"
            )
        if np.any(wv < 0):
            raise ValueError("weights must be non-negative")
    keep = (
        np.isfinite(yv) & np.isfinite(wv) & np.all(np.isfinite(Xm), axis=1) & (wv > 0)
    )
    if not np.all(keep):
        logger.debug(
            "dropping %d rows with non-finite values or zero weight", int((~keep).sum())
        )
    Xm, yv, wv = Xm[keep], yv[keep], wv[keep]
    if yv.size == 0:
        raise ValueError(
            "no usable rows: every row has a non-finite value or zero weight"
        )
    if yv.size > max_rows:
        idx = np.linspace(0, yv.size - 1, max_rows).round().astype(int)
        Xm, yv, wv = Xm[idx], yv[idx], wv[idx]
    return FitData([np.ascontiguousarray(Xm[:, j]) for j in range(Xm.shape[1])], yv, wv)
