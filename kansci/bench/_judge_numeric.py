"""The judge's numeric side: double-precision comparison on random points, high-precision
evaluation, and sympy rewrites under a time limit (shared by ``judge`` and the SI judge)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from .._timeout import CallTimeout, time_limit

logger = logging.getLogger("kansci")

DEFAULT_RANGE = (1.0, 3.0)
"""Sampling range for a variable that has no range given."""

_N_POINTS = 64  # random points of the double-precision comparison
_MIN_VALID = 8  # fewer finite points than this make the comparison inconclusive
_RTOL = 1e-6  # double precision: only a difference larger than this is a difference
_HP_DIGITS = 60  # high-precision fallback: digits of evaluation
_HP_POINTS = 4


def far_from_unity(symbols, ranges: Mapping[str, tuple[float, float]]) -> bool:
    """Some variable's range lies beyond 1e3 or below 1e-3 in magnitude."""
    return any(
        max(abs(lo), abs(hi)) > 1e3 or 0 < max(abs(lo), abs(hi)) < 1e-3
        for lo, hi in (ranges.get(s.name, DEFAULT_RANGE) for s in symbols)
    )


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


