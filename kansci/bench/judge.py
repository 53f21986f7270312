"""Judging a recovered formula against the true law.

Three verdicts, strictest first:

- *exact*: ``model - truth`` is identically zero once floats within 1e-9 of a small rational are
  read as that rational (``1.0*x`` is ``x``, ``x**1.0`` is ``x``; ``0.99985*x`` is not ``x``),
  and floats within 1e-9 of a float constant of the law (a measured constant) as that constant;
- *symbolic* (SRBench's "symbolic solution"): after rounding the model's floats, ``model - truth``
  is a constant or ``model / truth`` is a nonzero constant;
- *accurate* (SRBench's "accuracy solution"): R^2 > 0.999 on held-out rows.

``sympy.simplify`` can run for a very long time, so every symbolic proof is guarded: the two
expressions are first compared numerically at random points (a formula that differs there is
never exact), cheap rewrites come next, and ``simplify`` runs under a time limit. When sympy
cannot settle the question in time, the expressions are compared at 60 significant digits on a
few random points; agreement to 1e-35 is taken as an identity.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import sympy

from .._parse import parse_expression
from ._judge_constants import _physical_floats, exact_with_constants
from ._judge_numeric import (_compare, _compile, _high_precision_values, _hp_close, _is_finite_constant,
                             _is_nonzero_constant, _is_zero, _symbolically)

__all__ = ["is_exact", "is_symbolic_solution", "judge", "r2_score", "round_floats"]

logger = logging.getLogger("kansci")

Ranges = Mapping[str, tuple[float, float]] | Iterable[tuple[str, float, float]]

_SNAP_TOL = 1e-9
_SNAP_MAX_DENOMINATOR = 1000


# --- inputs -------------------------------------------------------------------------------------


def _as_expr(value: object, what: str, names=()) -> sympy.Expr:
    """An expression from sympy or text; in text, ``names`` are variables (``gamma`` too)."""
    if isinstance(value, sympy.Expr):
        return value
    if isinstance(value, str):
        return parse_expression(value, sorted(set(names)) or None, allow_unknown=True)
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a sympy expression or formula text, got a bool")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        return sympy.Float(value)
    raise TypeError(
        f"{what} must be a sympy expression or formula text, got {type(value).__name__}"
    )


def _ranges(ranges: Ranges | None) -> dict[str, tuple[float, float]]:
    if ranges is None:
        return {}
    if isinstance(ranges, Mapping):
        items = [(str(k), *v) for k, v in ranges.items()]
    else:
        items = [tuple(item) for item in ranges]
    result = {}
    for item in items:
        if len(item) != 3:
            raise ValueError(
                f"each range must be (name, low, high) or name -> (low, high), got {item!r}"
            )
        name, low, high = item
        name = name.name if isinstance(name, sympy.Symbol) else str(name)
        low, high = float(low), float(high)
        if not (np.isfinite(low) and np.isfinite(high) and low <= high):
            raise ValueError(f"range of {name} must be finite with low <= high, got {low}, {high}")
        result[name] = (low, high)
    return result


def _unify(
    model: sympy.Expr, truth: sympy.Expr, ranges: Mapping[str, tuple[float, float]]
) -> tuple[sympy.Expr, sympy.Expr, list[sympy.Symbol]]:
    """Put both expressions over one Symbol per name, with what the ranges tell about signs."""
    free = model.free_symbols | truth.free_symbols
    canonical: dict[str, sympy.Symbol] = {}
    for name in sorted({s.name for s in free}):
        low = ranges[name][0] if name in ranges else None
        if low is not None and low > 0:
            canonical[name] = sympy.Symbol(name, positive=True)
        elif low is not None and low == 0:
            canonical[name] = sympy.Symbol(name, nonnegative=True)
        else:
            canonical[name] = sympy.Symbol(name, real=True)
    mapping = {s: canonical[s.name] for s in free}
    return model.xreplace(mapping), truth.xreplace(mapping), list(canonical.values())


# --- floats -------------------------------------------------------------------------------------


def round_floats(expr: sympy.Expr, digits: int = 3) -> sympy.Expr:
    """Round every float in an expression to ``digits`` decimal places (SRBench).

    A float that rounds to an integer becomes a sympy Integer, so ``1.0002*x**2.0001`` becomes
    ``x**2``; one that rounds to zero disappears.
    """
    expr = _as_expr(expr, "expr")
    replacements: dict[sympy.Basic, sympy.Expr] = {}
    for atom in expr.atoms(sympy.Float):
        value = float(atom)
        if not np.isfinite(value):
            continue
        rounded = round(value, digits)
        replacements[atom] = (
            sympy.Integer(int(rounded)) if rounded == int(rounded) else sympy.Float(rounded)
        )
    return expr.xreplace(replacements)


def _snap_floats(expr: sympy.Expr) -> sympy.Expr:
    """Read floats within 1e-9 (relative) of a small rational as that rational."""
    replacements: dict[sympy.Basic, sympy.Expr] = {}
    for atom in expr.atoms(sympy.Float):
        value = float(atom)
        if not np.isfinite(value):
            continue
        tolerance = _SNAP_TOL * max(1.0, abs(value))
        fraction = Fraction(value).limit_denominator(_SNAP_MAX_DENOMINATOR)
        if abs(value - round(value)) <= tolerance:
            replacements[atom] = sympy.Integer(round(value))
        elif abs(value - float(fraction)) <= tolerance:
            replacements[atom] = sympy.Rational(fraction.numerator, fraction.denominator)
    return expr.xreplace(replacements)


# --- verdicts -----------------------------------------------------------------------------------


def _align_floats(model: sympy.Expr, truth: sympy.Expr) -> sympy.Expr:
    """Read a model float within 1e-9 (relative) of a float constant of the law as that constant.

    A law with measured constants (``0.0416*((3.4/r)**12 - (3.4/r)**6)``) has float
    coefficients once expanded; a model that recovered them to 1e-9 recovered the law, the
    same tolerance at which floats are read as small rationals.
    """
    floats = truth.atoms(sympy.Float)
    try:
        floats |= sympy.expand(truth).atoms(sympy.Float)
    except Exception:  # expansion is only a help here
        pass
    values = [(float(f), f) for f in floats if f != 0]
    replacements = {}
    for atom in model.atoms(sympy.Float):
        v = float(atom)
        match = [f for t, f in values if abs(v - t) <= _SNAP_TOL * abs(t)]
        if match:
            replacements[atom] = match[0]
    return model.xreplace(replacements) if replacements else model


def is_exact(
    model: sympy.Expr | str,
    truth: sympy.Expr | str,
    ranges: Ranges | None = None,
    *,
    seed: int = 0,
    timeout: float = 5.0,
    const_rtol: float = 1e-8,
) -> bool:
    """Whether ``model`` equals ``truth`` identically.

    Floats within 1e-9 of a rational with denominator <= 1000 count as that rational; a truth
    with float constants (SI laws) is judged by :mod:`kansci.bench._judge_constants`.

    Parameters
    ----------
    model, truth : sympy.Expr or str
        Expressions over variables matched by name (assumptions on the Symbols are ignored).
    ranges : mapping name -> (low, high), or iterable of (name, low, high), optional
        Where to draw the random test points (e.g. ``law.variables``); default ``[1, 3]``.
        A positive range lets sympy treat the variable as positive.
    seed : int
        Seed of the random points.
    timeout : float
        Seconds allowed to sympy's rewrites before the high-precision comparison decides.
    const_rtol : float
        Agreement required between a model's constant and the truth's (SI laws).
    """
    bounds = _ranges(ranges)
    t = _as_expr(truth, "truth", bounds)
    m = _as_expr(model, "model", [*bounds, *(x.name for x in t.free_symbols)])
    m, t, symbols = _unify(m, t, bounds)
    if _physical_floats(t):
        return exact_with_constants(m, t, symbols, bounds, seed=seed, timeout=timeout, rtol=const_rtol)
    m, t = _snap_floats(m), _snap_floats(t)
    if t.has(sympy.Float):
        m = _align_floats(m, t)
    difference = m - t
    if difference == 0:
        return True
    numeric = _compare(m, t, symbols, bounds, seed)
    if numeric.equal is False:
        return False
    if _symbolically(difference, _is_zero, timeout):
        return True
    rows = _high_precision_values([m, t], symbols, bounds, seed)
    return bool(rows) and all(
        _hp_close(mv, tv, max(abs(mv), abs(tv), sympy.Float(1e-300))) for mv, tv in rows
    )


def is_symbolic_solution(
    model: sympy.Expr | str,
    truth: sympy.Expr | str,
    ranges: Ranges | None = None,
    *,
    digits: int = 3,
    seed: int = 0,
    timeout: float = 5.0,
) -> bool:
    """SRBench's symbolic-solution test.

    The model's floats are rounded to ``digits`` decimals (:func:`round_floats`); then the
    model is a symbolic solution when ``model - truth`` is a constant (zero included) or
    ``model / truth`` is a nonzero constant. The truth's floats are left as they are.

    Parameters
    ----------
    model, truth, ranges, seed, timeout
        As in :func:`is_exact`.
    digits : int
        Decimal places kept in the model's floats.
    """
    bounds = _ranges(ranges)
    t = _as_expr(truth, "truth", bounds)
    m = _as_expr(model, "model", [*bounds, *(x.name for x in t.free_symbols)])
    m, t, symbols = _unify(m, t, bounds)
    if _physical_floats(t):  # rounding to decimals would erase constants like 1e-34
        return bool((n := _compare(m, t, symbols, bounds, seed)).difference_constant or n.ratio_constant)
    m = round_floats(m, digits)
    difference = m - t
    if _is_finite_constant(difference):
        return True
    ratio = m / t if t != 0 else None
    if ratio is not None and _is_nonzero_constant(ratio):
        return True
    numeric = _compare(m, t, symbols, bounds, seed)
    if numeric.difference_constant is not False and _symbolically(
        difference, _is_finite_constant, timeout
    ):
        return True
    if (
        ratio is not None
        and numeric.ratio_constant is not False
        and _symbolically(ratio, _is_nonzero_constant, timeout)
    ):
        return True
    if numeric.difference_constant is False and numeric.ratio_constant is not True:
        return False
    rows = _high_precision_values([m, t], symbols, bounds, seed)
    if len(rows) < 2:
        return False
    scale = max(max(abs(mv), abs(tv)) for mv, tv in rows)
    scale = max(scale, sympy.Float(1e-300))
    d0 = rows[0][0] - rows[0][1]
    if numeric.difference_constant is not False and all(
        _hp_close(mv - tv, d0, scale) for mv, tv in rows[1:]
    ):
        return True
    if numeric.ratio_constant is not False and all(tv != 0 for _, tv in rows):
        r0 = rows[0][0] / rows[0][1]
        return bool(r0 != 0) and all(_hp_close(mv / tv, r0, abs(r0)) for mv, tv in rows[1:])
    return False


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``.

    Returns ``-inf`` when a prediction is not finite. With a constant ``y_true`` it is 1.0
    for a perfect prediction and 0.0 otherwise (as scikit-learn).
    """
    truth = np.asarray(y_true, dtype=float).ravel()
    pred = np.asarray(y_pred, dtype=complex).ravel()
    if truth.shape != pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {truth.size} and {pred.size}"
        )
    if truth.size == 0:
        raise ValueError("r2_score needs at least one value")
    if not np.all(np.isfinite(truth)):
        raise ValueError("y_true contains NaN or infinite values; clean the test data first")
    if not np.all(np.isfinite(pred)) or np.any(np.abs(pred.imag) > 1e-9 * np.abs(pred.real)):
        return float("-inf")
    residual = float(np.sum((truth - pred.real) ** 2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return 1.0 - residual / total


def _predict(model: sympy.Expr, X: pd.DataFrame) -> np.ndarray:
    symbols = sorted(model.free_symbols, key=lambda s: s.name)
    missing = [s.name for s in symbols if s.name not in X.columns]
    if missing:
        raise KeyError(
            f"the model uses {', '.join(missing)}, which X_test lacks "
            f"(it has: {', '.join(map(str, X.columns))})"
        )
    columns = [np.asarray(X[s.name], dtype=float) for s in symbols]
    with np.errstate(all="ignore"):
        raw = _compile(model, tuple(symbols))(*columns)
        values = np.asarray(raw, dtype=complex)
    return np.array(np.broadcast_to(values, (len(X),)))


def judge(
    model: sympy.Expr | str,
    truth: sympy.Expr | str,
    X_test: pd.DataFrame,
    y_test: Any,
    *,
    ranges: Ranges | None = None,
    digits: int = 3,
    seed: int = 0,
    timeout: float = 5.0,
    constants: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """All verdicts on one model.

    Parameters
    ----------
    model, truth : sympy.Expr or str
        Expressions over the columns of ``X_test``, matched by name.
    X_test : pandas.DataFrame
        Clean held-out inputs.
    y_test : array-like
        The true outputs on ``X_test``.
    ranges : optional
        Where to test the formulas (as in :func:`is_exact`); default: the range of each
        column of ``X_test``.
    digits, seed, timeout
        As in :func:`is_symbolic_solution`.
    constants : optional mapping name -> value of named constants in the model, substituted first.

    Returns
    -------
    dict
        ``exact`` (bool), ``symbolic`` (bool), ``r2`` (float) and ``accurate`` (r2 > 0.999).
    """
    if not isinstance(X_test, pd.DataFrame):
        raise TypeError(f"X_test must be a pandas DataFrame, got {type(X_test).__name__}")
    t = _as_expr(truth, "truth", _ranges(ranges))
    names = [*_ranges(ranges), *(x.name for x in t.free_symbols), *map(str, X_test.columns), *(constants or {})]
    m = _as_expr(model, "model", names)
    m = m.xreplace({s: sympy.Float(float(constants[s.name])) for s in m.free_symbols if s.name in (constants or {})})
    r2 = r2_score(y_test, _predict(m, X_test))
    if ranges is None:
        names = {s.name for s in m.free_symbols | t.free_symbols}
        ranges = {
            name: (float(X_test[name].min()), float(X_test[name].max()))
            for name in names
            if name in X_test.columns and len(X_test) > 0
        }
    exact = is_exact(m, t, ranges, seed=seed, timeout=timeout)
    symbolic = exact or is_symbolic_solution(
        m, t, ranges, digits=digits, seed=seed, timeout=timeout
    )
    return {"exact": exact, "symbolic": symbolic, "r2": r2, "accurate": bool(r2 > 0.999)}
