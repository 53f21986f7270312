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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats
import sympy

from ._data import prepare
from ._refine import Model

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
    model = Model(expr, symbols)
    if model.k == 0:
        return []
    data = prepare(symbols, X, y, weights, max_rows=MAX_ROWS)
    p = model.p0
    r = model.residuals(data, p)  # sqrt(w) * (f - y)
    J = model.jacobian(data, p)
    n, k = J.shape
    dof = max(n - k, 1)
    norms = np.sqrt(np.sum(J**2, axis=0))
    safe = np.where(norms > 0, norms, 1.0)
    A = (J / safe).T @ (J / safe)
    evals, evecs = np.linalg.eigh(A)
    top = max(float(evals.max()), 1e-300)
    null = evals <= 1e-12 * top
    inv_evals = np.where(null, 0.0, 1.0 / np.where(null, 1.0, evals))
    cov = (evecs * inv_evals) @ evecs.T / np.outer(safe, safe)
    degenerate = (norms == 0) | (np.sum(evecs[:, null] ** 2, axis=1) > 1e-6)
    s2 = 1.0 if absolute_sigma else float(np.sum(r**2)) / dof
    se = np.sqrt(np.maximum(np.diag(cov), 0.0) * s2)
    se[degenerate] = np.inf
    t = float(scipy.stats.t.ppf(0.5 + level / 2, dof))
    return [
        ConstantEstimate(i, float(v), float(e), float(v - t * e), float(v + t * e))
        for i, (v, e) in enumerate(zip(p, se))
    ]
