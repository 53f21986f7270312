"""Refine every float constant of a formula jointly against data (scipy least squares)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import sympy

from .._evaluate import numpy_function, parameterise
from ._data import FitData, prepare

__all__ = ["RefineInfo", "refine_constants"]

logger = logging.getLogger("kansci")

#: An invalid prediction (nan/inf) costs this many target standard deviations.
INVALID_PENALTY = 100.0
#: A row's derivative is capped at this multiple of the 99th percentile of its column's (a row
#: beside a singular point counts for at most about 400 ordinary rows in the variances).
JACOBIAN_CAP = 20.0
#: Above this many constants the Jacobian is taken by central differences.
ANALYTIC_MAX_CONSTANTS = 12
#: A one-signed target spanning more decades than this is also fitted on its logarithm first.
LOG_SPAN = 3.0


@dataclass(frozen=True)
class RefineInfo:
    """What :func:`refine_constants` did.

    ``rmse_*`` are weighted RMSEs in which a non-finite prediction counts as an error of
    ``INVALID_PENALTY`` target standard deviations.
    """

    rmse_before: float
    rmse_after: float
    n_constants: int
    nfev: int
    improved: bool
    message: str


def _pure_number(a: sympy.Basic) -> bool:
    """A number without named physical constants (those stay named, never folded)."""
    from ._physical import PhysicalConstant

    return bool(a.is_number) and not a.atoms(PhysicalConstant)


def _has_float_and_exact_factor(e: sympy.Basic) -> bool:
    if not e.is_Mul:
        return False
    floats = [a for a in e.args if isinstance(a, sympy.Float)]
    return bool(floats) and any(
        _pure_number(a) and not isinstance(a, sympy.Float) for a in e.args
    )


def _fold_float_factor(e: sympy.Mul) -> sympy.Basic:
    number = [a for a in e.args if _pure_number(a)]
    rest = [a for a in e.args if not _pure_number(a)]
    return sympy.Float(float(sympy.Mul(*number))) * sympy.Mul(*rest)


def normalise(expr: sympy.Basic) -> sympy.Basic:
    """Put the floats of ``expr`` in the form the fit uses.

    ``x**2.0`` -> ``x**2`` (an integral float exponent is an integer, not a parameter), and
    a float times exact constants is one float (``1.0003*pi*x`` -> ``3.1425*x``): the
    product is the parameter, and sympy would otherwise turn ``2.0000000000000018*pi``
    inside a sine into a huge rational.
    """
    expr = expr.replace(
        lambda e: e.is_Pow and e.exp.is_Float and float(e.exp).is_integer(),
        lambda e: sympy.Pow(e.base, sympy.Integer(int(e.exp))),
    )
    return expr.replace(_has_float_and_exact_factor, _fold_float_factor)


class Model:
    """An expression whose float constants are the parameters, compiled for fitting."""

    def __init__(self, expr: sympy.Basic, symbols: Sequence[sympy.Symbol]) -> None:
        expr = normalise(expr)
        self.symbols = tuple(symbols)
        self.template, self.dummies, values, _ = parameterise(expr)
        self.p0 = np.asarray(values, dtype=float)
        self._f = numpy_function(self.template, self.symbols + self.dummies)
        self._derivs: list[Any] | None = self._compile_derivatives()

    @classmethod
    def from_template(
        cls,
        template: sympy.Basic,
        dummies: Sequence[sympy.Dummy],
        values: Sequence[float],
        symbols: Sequence[sympy.Symbol],
    ) -> "Model":
        """A model over given parameter Dummies (their identity is kept across edits).

        ``template`` may hold exact numbers and Floats; only ``dummies`` are parameters.
        Dummies no longer present in the template are dropped with their values.
        """
        kept = [(d, float(v)) for d, v in zip(dummies, values) if template.has(d)]
        self = cls.__new__(cls)
        self.symbols = tuple(symbols)
        self.template = template
        self.dummies = tuple(d for d, _ in kept)
        self.p0 = np.asarray([v for _, v in kept], dtype=float)
        self._f = numpy_function(self.template, self.symbols + self.dummies)
        self._derivs = self._compile_derivatives()
        return self

    def _compile_derivatives(self) -> list[Any] | None:
        if (
            self.k > ANALYTIC_MAX_CONSTANTS
        ):  # sympy diff of a big tree costs more than it saves
            return None
        real = {
            s: sympy.Dummy(s.name, real=True) for s in self.symbols if not s.is_real
        }
        back = {v: k for k, v in real.items()}
        body = self.template.xreplace(real)
        try:
            return [
                numpy_function(body.diff(d).xreplace(back), self.symbols + self.dummies)
                for d in self.dummies
            ]
        except (
            ValueError
        ):  # a derivative uses a node we do not evaluate (DiracDelta, ...)
            logger.debug("analytic Jacobian unavailable; using central differences")
            return None

    @property
    def k(self) -> int:
        return len(self.dummies)

    def expr(self, p: Sequence[float]) -> sympy.Basic:
        return self.template.xreplace(
            {d: sympy.Float(float(v)) for d, v in zip(self.dummies, p)}
        )

    def predict(self, data: FitData, p: Sequence[float]) -> np.ndarray:
        return self._f(*data.columns, *p)

    def residuals(self, data: FitData, p: Sequence[float]) -> np.ndarray:
        f = self.predict(data, p)
        sw = np.sqrt(data.w)
        r = sw * (f - data.y)
        bad = ~np.isfinite(r)
        r[bad] = sw[bad] * INVALID_PENALTY * data.scale
        return r

    def rmse(self, data: FitData, p: Sequence[float]) -> float:
        r = self.residuals(data, p)
        return float(np.sqrt(np.sum(r**2) / np.sum(data.w)))

    def derivatives(self, data: FitData, p: Sequence[float]) -> np.ndarray:
        """d prediction / d parameter, shape (n, k), unweighted and unchecked."""
        p = np.asarray(p, dtype=float)
        J = np.empty((data.n, self.k))
        if self._derivs is not None:
            for i, g in enumerate(self._derivs):
                J[:, i] = g(*data.columns, *p)
        else:
            for i in range(self.k):
                h = 6e-6 * max(1.0, abs(p[i]))
                up, down = p.copy(), p.copy()
                up[i] += h
                down[i] -= h
                J[:, i] = (self.predict(data, up) - self.predict(data, down)) / (2 * h)
        return J

    def jacobian(self, data: FitData, p: Sequence[float]) -> np.ndarray:
        """d residual / d parameter, shape (n, k); zero where the prediction is invalid."""
        f = self.predict(data, p)
        J = self.derivatives(data, p) * np.sqrt(data.w)[:, None]
        J[~np.isfinite(f)] = 0.0
        J[~np.isfinite(J)] = 0.0
        if data.n >= 100:  # rows at a singular point (a square root near 0) have derivatives that
            # no finite step follows; capped, they stop dominating the steps and the variances
            cap = JACOBIAN_CAP * np.quantile(np.abs(J), 0.99, axis=0)
            cap[cap == 0] = np.inf
            np.clip(J, -cap, cap, out=J)
        return J


@dataclass(frozen=True)
class Fit:
    """A fitted model: its parameters and weighted RMSE at the optimum."""

    model: Model
    params: np.ndarray
    rmse: float
    info: RefineInfo

    @property
    def expr(self) -> sympy.Basic:
        return self.model.expr(self.params)


def _least_squares(residuals, jacobian, p0: np.ndarray, anchor: np.ndarray, max_nfev: int):
    """Levenberg-Marquardt on ``residuals`` plus the anchor rows; ``(p, nfev, message)``."""
    try:
        res = scipy.optimize.least_squares(
            lambda p: np.concatenate([residuals(p), anchor * (p - p0)]),
            p0,
            jac=lambda p: np.vstack([jacobian(p), np.diag(anchor)]),
            method="lm",  # the anchor rows keep it over-determined
            x_scale="jac",
            ftol=1e-13,
            xtol=1e-13,
            gtol=1e-13,
            max_nfev=max_nfev,
        )
        return np.asarray(res.x, dtype=float), int(res.nfev), str(res.message)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return p0, 0, f"least squares failed: {exc}"


def _log_start(model: Model, data: FitData, p0: np.ndarray, max_nfev: int) -> np.ndarray | None:
    """Parameters fitted to ``log|y|`` where the target keeps one sign over more than
    ``LOG_SPAN`` decades and the start predicts that sign everywhere; else None.

    On such a target a fit on ``y`` sees only its largest rows, and from an inexact start
    (``exp(0.69*a + 1.1*b)`` over 20 decades) Levenberg-Marquardt stalls far from the optimum
    that every row agrees on.  On logarithms each row counts by its relative error, which is
    what a multiplicative law's constants are pinned by; the fit on ``y`` then starts there.
    """
    y = data.y
    sign = 1.0 if np.all(y > 0) else (-1.0 if np.all(y < 0) else 0.0)
    if not sign or np.log10(np.max(np.abs(y)) / np.min(np.abs(y))) < LOG_SPAN:
        return None
    with np.errstate(all="ignore"):
        if not np.all(sign * model.predict(data, p0) > 0):
            return None
        log_y, sw = np.log(np.abs(y)), np.sqrt(data.w)

        def residuals(p):
            r = sw * (np.log(sign * model.predict(data, p)) - log_y)
            r[~np.isfinite(r)] = INVALID_PENALTY
            return r

        def jacobian(p):
            J = model.derivatives(data, p) / model.predict(data, p)[:, None] * sw[:, None]
            J[~np.isfinite(J)] = 0.0
            return J

        anchor = 1e-6 * np.sqrt(np.sum(jacobian(p0) ** 2, axis=0))
        p, _, _ = _least_squares(residuals, jacobian, p0, anchor, max_nfev)
    return p if np.all(np.isfinite(p)) and not np.array_equal(p, p0) else None


def fit_model(model: Model, data: FitData, *, max_nfev: int | None = None) -> Fit:
    """Least-squares fit of the model's parameters, keeping the start if nothing improves.

    On a one-signed target spanning many decades the fit is also run from the optimum of
    ``log|y|`` (see :func:`_log_start`), and the better of the two on ``y`` is kept."""
    p0 = model.p0
    before = model.rmse(data, p0)
    if model.k == 0:
        info = RefineInfo(before, before, 0, 0, False, "no float constants")
        return Fit(model, p0, before, info)
    nfev_cap = max_nfev if max_nfev is not None else 50 + 10 * model.k
    # A faint pull towards the start (1e-12 of each parameter's own curvature) pins
    # directions the data cannot see (c*exp(u + d) only sees c*e**d), so degenerate
    # constants stay near their composed values instead of drifting; it does not move
    # identifiable constants measurably.
    anchor = 1e-6 * np.sqrt(np.sum(model.jacobian(data, p0) ** 2, axis=0))
    p, nfev, message = _least_squares(
        lambda q: model.residuals(data, q), lambda q: model.jacobian(data, q), p0, anchor, nfev_cap
    )
    after = model.rmse(data, p) if np.all(np.isfinite(p)) else np.inf
    p_log = _log_start(model, data, p0, nfev_cap)
    if p_log is not None:
        q, n_q, m_q = _least_squares(
            lambda q: model.residuals(data, q), lambda q: model.jacobian(data, q), p_log, anchor, nfev_cap
        )
        after_q = model.rmse(data, q) if np.all(np.isfinite(q)) else np.inf
        if after_q < after:
            p, nfev, message, after = q, nfev + n_q, m_q + " (from the fit on log|y|)", after_q
    if not after < before:
        info = RefineInfo(
            before, before, model.k, nfev, False, message + " (kept original)"
        )
        return Fit(model, p0, before, info)
    return Fit(model, p, after, RefineInfo(before, after, model.k, nfev, True, message))


def refine_constants(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    *,
    weights: Any = None,
    max_nfev: int | None = None,
    max_rows: int | None = None,
) -> tuple[sympy.Basic, RefineInfo]:
    """Refine all float constants of ``expr`` jointly by least squares.

    Every ``Float`` occurrence (integral float exponents such as ``x**2.0`` become
    integers first) is a free parameter; integers, rationals and ``pi`` stay fixed. The
    Jacobian is sympy's exact derivative, compiled; invalid predictions are penalised.

    Parameters
    ----------
    expr : sympy.Expr
        Formula with float constants.
    symbols : sequence of sympy.Symbol
        The columns of ``X``, in order.
    X : array-like (n, len(symbols)) or DataFrame
        Inputs.
    y : array-like (n,)
        Target.
    weights : array-like (n,), optional
        Non-negative row weights.
    max_nfev : int, optional
        Cap on residual evaluations (default 50 + 10 * n_constants).
    max_rows : int, optional
        Rows fitted at most (evenly spaced beyond it; default ``kansci.formula._data.MAX_ROWS``,
        4,000, which is plenty for the few constants of a formula on ordinary tables).

    Returns
    -------
    expr : sympy.Expr
        The refined expression, or the original one if refinement did not reduce the error.
    info : RefineInfo
    """
    if isinstance(expr, str):
        raise TypeError(
            "expected a sympy expression, got a string; kansci never parses text"
        )
    data = prepare(symbols, X, y, weights, **({} if max_rows is None else {"max_rows": int(max_rows)}))
    fit = fit_model(Model(expr, symbols), data, max_nfev=max_nfev)
    logger.debug(
        "refine: rmse %.3g -> %.3g (%s)",
        fit.info.rmse_before,
        fit.info.rmse_after,
        fit.info.message,
    )
    return (fit.expr if fit.info.improved else expr), fit.info
