"""Judging a recovered formula against the true law.

Three verdicts, strictest first:

- *exact*: ``model - truth`` is identically zero once floats within 1e-9 of a small rational are
  read as that rational (``1.0*x`` is ``x``, ``x**1.0`` is ``x``; ``0.99985*x`` is not ``x``);
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

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import sympy

from .._parse import parse_expression
from .._timeout import CallTimeout, time_limit
from ._judge_constants import _physical_floats, exact_with_constants, far_from_unity

__all__ = ["is_exact", "is_symbolic_solution", "judge", "r2_score", "round_floats"]

logger = logging.getLogger("kansci")

Ranges = Mapping[str, tuple[float, float]] | Iterable[tuple[str, float, float]]

DEFAULT_RANGE = (1.0, 3.0)
"""Sampling range for a variable that has no range given."""

_N_POINTS = 64  # random points of the double-precision comparison
_MIN_VALID = 8  # fewer finite points than this make the comparison inconclusive
_RTOL = 1e-6  # double precision: only a difference larger than this is a difference
_HP_DIGITS = 60  # high-precision fallback: digits of evaluation
_HP_POINTS = 4
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


# --- numeric comparison -------------------------------------------------------------------------


def _sample(
    symbols: list[sympy.Symbol], ranges: Mapping[str, tuple[float, float]], seed: int, n: int
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(*ranges.get(s.name, DEFAULT_RANGE), size=n) for s in symbols]


@functools.lru_cache(maxsize=512)
def _compile(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> Callable[..., Any]:
    return sympy.lambdify(symbols, expr, modules=["numpy", "scipy"], dummify=True)


def _values(expr: sympy.Expr, symbols: list[sympy.Symbol], columns: list[np.ndarray]) -> np.ndarray:
    """Complex values of ``expr`` at the points; NaN where it cannot be evaluated."""
    n = len(columns[0]) if columns else 1
    try:
        with np.errstate(all="ignore"):
            raw = _compile(expr, tuple(symbols))(*columns)
            values = np.asarray(raw, dtype=complex)
    except Exception:  # an expression numpy cannot evaluate: this comparison is inconclusive
        logger.debug("judge: numeric evaluation failed for %s", expr, exc_info=True)
        return np.full(n, np.nan, dtype=complex)
    return np.array(np.broadcast_to(values, (n,)))


@dataclass(frozen=True)
class _Numeric:
    """What the random points say; ``None`` when too few points could be evaluated."""

    equal: bool | None
    difference_constant: bool | None
    ratio_constant: bool | None


def _compare(
    model: sympy.Expr,
    truth: sympy.Expr,
    symbols: list[sympy.Symbol],
    ranges: Mapping[str, tuple[float, float]],
    seed: int,
) -> _Numeric:
    columns = _sample(symbols, ranges, seed, _N_POINTS)
    m, t = _values(model, symbols, columns), _values(truth, symbols, columns)
    ok = np.isfinite(m) & np.isfinite(t)
    if ok.sum() < _MIN_VALID:
        return _Numeric(None, None, None)
    m, t = m[ok], t[ok]
    size = np.abs(m) + np.abs(t)
    equal = bool(np.all(np.abs(m - t) <= _RTOL * size + 1e-300))
    d = m - t
    d0 = np.median(d.real) + 1j * np.median(d.imag)
    difference_constant = bool(np.all(np.abs(d - d0) <= _RTOL * (size + abs(d0)) + 1e-300))
    nonzero = t != 0
    ratio_constant: bool | None = None
    if nonzero.sum() >= _MIN_VALID:
        r = m[nonzero] / t[nonzero]
        r0 = np.median(r.real) + 1j * np.median(r.imag)
        ratio_constant = bool(abs(r0) > 0 and np.all(np.abs(r - r0) <= _RTOL * abs(r0)))
    return _Numeric(equal, difference_constant, ratio_constant)


def _high_precision_values(
    exprs: list[sympy.Expr],
    symbols: list[sympy.Symbol],
    ranges: Mapping[str, tuple[float, float]],
    seed: int,
) -> list[list[sympy.Expr]]:
    """Each expression at a few random points to 60 digits (120 far from order one, where
    ``sin(x)`` equals ``x`` to 50 digits for ``x ~ 1e-25``); points that fail are dropped."""
    digits = 2 * _HP_DIGITS if far_from_unity(symbols, ranges) else _HP_DIGITS
    columns = _sample(symbols, ranges, seed + 1, _HP_POINTS)
    rows = []
    for i in range(_HP_POINTS):
        subs = {s: sympy.Float(float(c[i]), digits) for s, c in zip(symbols, columns)}
        try:
            row = [sympy.N(e, digits, subs=subs) for e in exprs]
        except Exception:
            continue
        if all(v.is_number and v.is_finite for v in row):
            rows.append(row)
    return rows


def _hp_close(a: sympy.Expr, b: sympy.Expr, scale: sympy.Expr) -> bool:
    """Agreement to 25 digits less than evaluated (1e-35 at 60 digits, 1e-95 at 120)."""
    digits = min((int(x._prec * 0.30103) for x in (a, b) if isinstance(x, sympy.Float)), default=_HP_DIGITS)
    return bool(abs(sympy.N(a - b, digits)) <= sympy.Float(10) ** (25 - digits) * scale)



# --- symbolic proof under a time limit ---------------------------------------------------------


_REWRITES: tuple[Callable[[sympy.Expr], sympy.Expr], ...] = (
    sympy.expand,
    lambda e: sympy.cancel(sympy.together(e)),
    lambda e: sympy.powsimp(sympy.expand_log(sympy.expand(e), force=False)),
    sympy.simplify,
)


def _symbolically(expr: sympy.Expr, accept: Callable[[sympy.Expr], bool], timeout: float) -> bool:
    """Whether some rewrite of ``expr`` (cheap ones first, simplify last) satisfies ``accept``."""
    if accept(expr):
        return True
    try:
        with time_limit(timeout) as guarded:
            if not guarded:
                return False  # without a time limit, leave it to the numbers
            for rewrite in _REWRITES:
                try:
                    if accept(rewrite(expr)):
                        return True
                except CallTimeout:
                    raise
                except Exception:  # sympy gives up on some inputs; try the next rewrite
                    logger.debug("judge: %s failed", rewrite, exc_info=True)
    except CallTimeout:
        logger.debug("judge: symbolic check ran past %.1f s; comparing numerically", timeout)
    return False


def _is_zero(e: sympy.Expr) -> bool:
    return e == 0


_NOT_FINITE = (sympy.nan, sympy.zoo, sympy.oo, sympy.S.NegativeInfinity)


def _is_finite_constant(e: sympy.Expr) -> bool:
    return not e.free_symbols and bool(e.is_number) and not e.has(*_NOT_FINITE)


def _is_nonzero_constant(e: sympy.Expr) -> bool:
    return _is_finite_constant(e) and e != 0 and bool(sympy.N(e) != 0)


# --- verdicts -----------------------------------------------------------------------------------


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
