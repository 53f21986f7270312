"""From a raw composed formula to the law: refine, recognise constants, then tidy the tree."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from .._evaluate import numpy_function
from ._complexity import complexity
from ._data import as_matrix, prepare
from ._readable import READABLE_REWRITES, SYMPY_ERRORS, real_roots
from ._recognise import recognise_constants
from ._refine import refine_constants

__all__ = ["simplify_formula", "tidy"]

logger = logging.getLogger("kansci")

#: ``sympy.simplify`` is only tried on expressions at most this complex (it can take
#: minutes on large ones); the cheaper rewrites below are always tried.
SIMPLIFY_MAX_COMPLEXITY = 60

_Rewrite = Callable[[sympy.Basic], sympy.Basic]


def _rewrites(size: int, has_floats: bool) -> list[tuple[str, _Rewrite]]:
    cheap: list[tuple[str, _Rewrite]] = [
        ("powsimp", sympy.powsimp),
        ("expand_power_exp", sympy.expand_power_exp),
        ("together", sympy.together),
        ("cancel", sympy.cancel),
        ("factor_terms", sympy.factor_terms),
        ("logcombine", sympy.logcombine),
        ("expand_log", sympy.expand_log),
        ("radsimp", sympy.radsimp),
        # a root of a reciprocal or product as powers (sqrt(1/(1 - z**2)) is (1 - z**2)**(-1/2)
        # where the base is positive): kept only where the values agree on the data's rows
        ("power_of_power", _power_of_power),
        *READABLE_REWRITES,
    ]
    if size <= SIMPLIFY_MAX_COMPLEXITY and not has_floats:  # floats can make it hang
        cheap.append(("apart", _apart))
        cheap.append(
            ("simplify", lambda e: sympy.simplify(e, ratio=1.0, rational=None))
        )
    return cheap


def _power_of_power(expr: sympy.Basic) -> sympy.Basic:
    """``(b**p)**q`` as ``b**(p*q)`` (true where ``b > 0``; tidy keeps it only where the values
    agree on the data's rows)."""
    return expr.replace(lambda e: e.is_Pow and e.base.is_Pow,
                        lambda e: e.base.base ** (e.base.exp * e.exp))


def _apart(expr: sympy.Basic) -> sympy.Basic:
    """Partial fractions in the input that gives the smallest form (``(x*z**2 + 3*x - 2*z**2)/(x - 2)``
    is ``z**2 + 3 + 6/(x - 2)``); rational functions only."""
    if not isinstance(expr, sympy.Expr) or not expr.is_rational_function():
        return expr
    best = expr
    for s in sorted(expr.free_symbols, key=str):
        if sympy.degree(sympy.denom(sympy.together(expr)), s) < 1:
            continue
        cand = sympy.apart(expr, s)
        if complexity(cand) < complexity(best):
            best = cand
    return best


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    fa, fb = np.isfinite(a), np.isfinite(b)
    if np.any(fa & ~fb):  # the rewrite broke points where the formula was valid
        return False
    both = fa & fb
    if not both.any():
        return True
    scale = float(np.max(np.abs(a[both]))) or 1.0
    return bool(np.allclose(a[both], b[both], rtol=1e-9, atol=1e-12 * scale))


def _size(expr: sympy.Basic) -> tuple[int, int, int, int, int]:
    """Fitted floats, node count, operation count, nested powers, occurrences of the inputs: a
    rewrite that gives the same values with fewer floats (``3**b`` for ``exp(1.0986*b)``) is
    exact; ties go to fewer operations, then to fewer powers of powers (``1/sqrt(1 - z**2)``,
    not ``sqrt(1/(1 - z**2))``), then to the form that names each input fewer times
    (``(theta - theta1)**2/sigma**2``, not ``(theta/sigma - theta1/sigma)**2``)."""
    nested = sum(1 for e in sympy.preorder_traversal(expr) if e.is_Pow and e.base.is_Pow)
    named = sum(1 for e in sympy.preorder_traversal(expr) if e.is_Symbol)
    return len(expr.atoms(sympy.Float)), complexity(expr), int(sympy.count_ops(expr)), nested, named


def tidy(expr: sympy.Basic, symbols: Sequence[sympy.Symbol], X: Any) -> sympy.Basic:
    """Rewrite ``expr`` into a smaller equivalent form, checked numerically on ``X``.

    Tries powsimp, expand_power_exp, together, cancel, factor_terms, logcombine,
    expand_log, radsimp, partial fractions (``apart``, rational functions), the readable rewrites of ``_readable`` (factored squares,
    ``exp(log(3)*b)`` as ``3**b``, rounding dust removed) and, for small expressions,
    ``sympy.simplify``; keeps a rewrite only if it lowers :func:`complexity` (ties: fewer
    operations) and gives the same values on the rows of ``X``.  Symbols whose data are
    positive are treated as positive (``sqrt((a + 2*b)**2)`` is ``a + 2*b`` there).  An odd
    root of an expression that is negative on some rows is written as the real root
    (``sign(u)*Abs(u)**(1/3)``), never the complex principal one.
    """
    symbols = tuple(symbols)
    matrix = as_matrix(X, symbols)
    columns = list(matrix.T)
    stand_in = _assumed_symbols(symbols, matrix) if symbols else {}
    back = {v: k for k, v in stand_in.items()}
    names = tuple(stand_in.get(s, s) for s in symbols)
    work = expr.xreplace(stand_in)
    reference = numpy_function(work, names)(*columns)
    real = real_roots(work)
    rooted = False
    if real != work:  # the principal root is complex where the base is negative: never keep it
        try:
            values = numpy_function(real, names)(*columns)
            if np.sum(np.isfinite(values)) > np.sum(np.isfinite(reference)) or _same_values(reference, values):
                work, reference, rooted = real, values, True
        except ValueError:
            pass
    best, best_size = work, _size(work)
    for _ in range(3):
        improved = False
        for name, rewrite in _rewrites(best_size[1], best.has(sympy.Float)):
            try:
                candidate = rewrite(best)
            except SYMPY_ERRORS as exc:
                logger.debug("tidy: %s failed: %s", name, exc)
                continue
            if candidate == best or candidate.has(sympy.zoo, sympy.nan, sympy.I):
                continue
            size = _size(candidate)
            if size >= best_size:
                continue
            try:
                values = numpy_function(candidate, names)(*columns)
            except ValueError:
                continue
            if _same_values(reference, values):
                logger.debug("tidy: %s %s -> %s", name, best_size, size)
                best, best_size, improved = candidate, size, True
        if not improved:
            break
    out = best.xreplace(back) if best != work or stand_in else expr
    if not rooted and _size(out) > _size(expr):  # the stand-ins' own evaluation made it larger
        return expr  # (sqrt(exp(a)) is exp(a/2) for a real a)
    return out


def _assumed_symbols(symbols: Sequence[sympy.Symbol], X: np.ndarray) -> dict:
    """Stand-ins that are positive where the data are, real elsewhere."""
    out = {}
    for j, s in enumerate(symbols):
        col = X[:, j][np.isfinite(X[:, j])]
        positive = col.size > 0 and bool(np.all(col > 0))
        out[s] = (
            sympy.Dummy(s.name, positive=True)
            if positive
            else sympy.Dummy(s.name, real=True)
        )
    return out


def simplify_formula(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    *,
    weights: Any = None,
    tol: float | None = None,
) -> sympy.Basic:
    """Turn a raw composed formula into the exact law the data support.

    Refines all float constants jointly, replaces them by exact constants where the fit
    allows (:func:`recognise_constants`), then tidies the tree (:func:`tidy`). Symbols are
    treated as positive where their data are, so ``exp(log(a) + log(b))`` becomes ``a*b``.

    Parameters
    ----------
    expr : sympy.Expr
        Raw formula, e.g. ``1.0003*exp(0.99985*y**2 + 1.0*sin(3.1416*x) + 0.0002)``.
    symbols : sequence of sympy.Symbol
        The columns of ``X``, in order; the result uses these same symbols.
    X : array-like (n, len(symbols)) or DataFrame
    y : array-like (n,)
    weights : array-like (n,), optional
    tol : float, optional
        Allowed relative RMSE increase when fixing constants (see
        :func:`recognise_constants`).

    Returns
    -------
    sympy.Expr
    """
    if isinstance(expr, str):
        raise TypeError(
            "expected a sympy expression, got a string; kansci never parses text"
        )
    symbols = tuple(symbols)
    data = prepare(symbols, X, y, weights)
    Xd = np.column_stack(data.columns) if data.columns else np.empty((data.n, 0))
    stand_in = _assumed_symbols(symbols, Xd)
    back = {v: k for k, v in stand_in.items()}
    work = expr.xreplace(stand_in)
    names = tuple(stand_in[s] for s in symbols)
    refined, info = refine_constants(work, names, Xd, data.y, weights=data.w)
    logger.debug(
        "simplify_formula: refined rmse %.3g -> %.3g", info.rmse_before, info.rmse_after
    )
    recognised = recognise_constants(
        refined, names, Xd, data.y, weights=data.w, tol=tol
    )
    tidied = tidy(recognised, names, Xd)
    return tidied.xreplace(back)
