"""What the data say about each fitted constant: role in the tree, spread, degeneracy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats
import sympy

__all__ = ["Slot", "analyse", "auto_rtol", "covariance", "slots"]


def auto_rtol(n: int, k: int) -> float:
    """Relative RMSE increase that fixing ``k`` of ``n``-point fitted constants may cause by chance.

    Fixing k constants at their true values raises the residual sum of squares by a
    chi-square(k) multiple of the noise variance; this is its 99.9 % quantile, as a relative
    RMSE increase.
    """
    k = max(k, 1)
    return float(np.sqrt(1.0 + scipy.stats.chi2.ppf(0.999, k) / max(n - k, 1)) - 1.0)


@dataclass(frozen=True)
class Slot:
    """Where a constant sits: ``role`` is "add", "mul", "exponent" or "other"; ``depth``
    counts nodes from the root."""

    role: str
    depth: int


def slots(template: sympy.Basic, dummies: Sequence[sympy.Dummy]) -> list[Slot]:
    """The slot of each parameter Dummy of a template, in ``dummies`` order."""
    wanted = set(dummies)
    found: dict[sympy.Dummy, Slot] = {}

    def walk(e: sympy.Basic, parent: sympy.Basic | None, depth: int) -> None:
        if e in wanted:
            if parent is None:
                role = "other"
            elif parent.is_Add:
                role = "add"
            elif parent.is_Mul:
                role = "mul"
            elif parent.is_Pow and parent.exp == e:
                role = "exponent"
            else:
                role = "other"
            found.setdefault(e, Slot(role, depth))
            return
        for a in e.args:
            walk(a, e, depth + 1)

    walk(template, None, 0)
    return [found.get(d, Slot("other", 0)) for d in dummies]


def analyse(J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-parameter variance and degeneracy flags from the residual Jacobian ``J`` (n, k).

    The variance is ``diag((J^T J)^-1)`` (column-scaled, with a tiny ridge), in units of the
    residual sum of squares: fixing parameter i at c costs about ``(c - p_i)**2 / var_i``
    after the others re-adjust. A parameter is degenerate when it has weight in a null
    direction of ``J^T J`` (the data cannot see that combination; its ridge variance is huge).
    """
    cov, degenerate = covariance(J)
    return np.diag(cov).copy(), degenerate


def covariance(J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(J^T J)^-1`` (k, k) in units of the residual sum of squares (column-scaled, with a tiny
    ridge, as in :func:`analyse`), and the degeneracy flags: the variance of a combination
    ``a @ p`` is ``a @ cov @ a``."""
    norms = np.sqrt(np.sum(J**2, axis=0))
    norms[norms == 0] = 1.0
    A = (J / norms).T @ (J / norms)
    evals, evecs = np.linalg.eigh(A)
    top = max(float(evals.max()), 1e-300)
    null = evals < 1e-9 * top
    degenerate = np.sum(evecs[:, null] ** 2, axis=1) > 1e-2
    inv = evecs @ np.diag(1.0 / (np.maximum(evals, 0.0) + 1e-10 * top)) @ evecs.T
    return inv / np.outer(norms, norms), degenerate
