"""Rank the primitives of a library for one edge: fit quality first, simplicity second.

Rule. Let ``L = 1 - R^2`` and ``L*`` the smallest ``L`` over the library. Every fit with
``L <= max((1 + rtol) * L*, L* + atol)`` is *as good as the best*; among those the lowest
complexity wins (then the lower ``L``). The remaining fits are grouped the same way, best
first. The constant ``0`` never wins over a real signal: it is ranked last within its group,
unless the edge is *flat* (its weighted standard deviation is at most ``flat_tol * scale``),
in which case every fit counts as equally good and ``0``, the simplest, comes first.

pykan's default rule (score ``0.8*complexity + 0.2*log2(1 - R^2)``) lets ``0`` beat a
fit with ``R^2 = 0.996`` (pykan issues #415, #422); here ``0`` cannot beat it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._affine import AffineFit, fit_affine
from ._library import Library
from ._primitive import Primitive

__all__ = ["suggest", "best_fit", "ranked_fits", "COLUMNS"]

COLUMNS = ["primitive", "r2", "rmse", "complexity", "a", "b", "c", "d", "score"]
"""Columns of the :func:`suggest` table, in order."""

_MAX_SCORE = 16.0  # nines of R^2 that double precision can tell apart


def _library(library: Library | Mapping[str, Primitive] | Iterable[str] | None) -> Library:
    if library is None:
        return Library.default()
    if isinstance(library, Library):
        return library
    if isinstance(library, Mapping):
        return Library(library.values())
    if isinstance(library, str):
        raise TypeError(
            f"library must be a Library, a mapping of primitives or a list of names, got the "
            f"str {library!r}; wrap a single name in a list"
        )
    return Library.default().subset(library)


def _is_flat(y: np.ndarray, weights: Any, flat_tol: float, scale: float | None) -> bool:
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float).ravel()
    keep = np.isfinite(y) & np.isfinite(w) & (w > 0)
    y, w = y[keep], w[keep]
    if y.size == 0:
        return False
    mean = float(w @ y) / float(w.sum())
    std = math.sqrt(float(w @ (y - mean) ** 2) / float(w.sum()))
    reference = max(float(np.max(np.abs(y))), 0.0 if scale is None else abs(float(scale)))
    return std <= flat_tol * reference


def _is_constant(fit: AffineFit) -> bool:
    return fit.primitive == "0" or (
        fit.function is not None and not fit.function.expr.free_symbols
    )


def _order(
    fits: list[AffineFit], complexity: list[int], rtol: float, atol: float, flat: bool
) -> list[tuple[AffineFit, int, float]]:
    """Sort fits by the rule; returns ``(fit, complexity, score)`` best first."""
    losses = [0.0 if flat and f.ok else (f.loss if f.ok else math.inf) for f in fits]
    # within a band: simplest first; the constant last unless the edge is flat
    tie_break = [
        (math.inf if _is_constant(f) and not flat else complexity[i], losses[i], i)
        for i, f in enumerate(fits)
    ]
    remaining = sorted(range(len(fits)), key=lambda i: losses[i])
    ranked: list[tuple[AffineFit, int, float]] = []
    while remaining:
        best = losses[remaining[0]]
        if not math.isfinite(best):
            group, remaining, score = remaining, [], -math.inf
        else:
            threshold = max((1.0 + rtol) * best, best + atol)
            group = [i for i in remaining if losses[i] <= threshold]
            remaining = [i for i in remaining if losses[i] > threshold]
            score = _MAX_SCORE if flat else min(-math.log10(max(threshold, 1e-300)), _MAX_SCORE)
        group.sort(key=lambda i: tie_break[i])
        ranked.extend((fits[i], complexity[i], score) for i in group)
    return ranked


def ranked_fits(
    x: Any,
    y: Any,
    library: Library | Mapping[str, Primitive] | Iterable[str] | None = None,
    *,
    weights: Any = None,
    rtol: float = 0.1,
    atol: float = 1e-6,
    flat_tol: float = 1e-8,
    scale: float | None = None,
    **fit_options: Any,
) -> list[tuple[AffineFit, int, float]]:
    """Fit every primitive and return ``(fit, complexity, score)`` for all, best first.

    Parameters are those of :func:`suggest`.
    """
    lib = _library(library)
    if len(lib) == 0:
        raise ValueError("the library is empty; use Library.default() or add primitives")
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    fits = [fit_affine(x, y, prim, weights=weights, **fit_options) for prim in lib.values()]
    flat = _is_flat(np.asarray(y, dtype=float).ravel(), weights, flat_tol, scale)
    return _order(fits, [p.complexity for p in lib.values()], rtol, atol, flat)


def suggest(
    x: Any,
    y: Any,
    library: Library | Mapping[str, Primitive] | Iterable[str] | None = None,
    *,
    top_k: int = 5,
    weights: Any = None,
    rtol: float = 0.1,
    atol: float = 1e-6,
    flat_tol: float = 1e-8,
    scale: float | None = None,
    **fit_options: Any,
) -> pd.DataFrame:
    """Rank the primitives that best describe an edge ``y(x)`` as ``c*f(a*x + b) + d``.

    Parameters
    ----------
    x, y : array_like
        Samples of the edge.
    library : Library, mapping, list of names or None
        Primitives to try (default: ``Library.default()``; names refer to it).
    top_k : int
        Rows returned (``None`` or <= 0: all).
    weights : array_like, optional
        Non-negative sample weights.
    rtol, atol : float
        A simpler primitive wins when its ``1 - R^2`` is at most
        ``max((1 + rtol) * best, best + atol)`` (see module docs).
    flat_tol, scale : float
        The edge is flat (``0`` wins) when std(y) <= ``flat_tol * max(max|y|, scale)``;
        pass the typical output magnitude of the layer as ``scale`` to call small edges flat.
    **fit_options
        Passed to :func:`fit_affine` (``a_range``, ``b_range``, ``grid``, ``n_starts``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``primitive, r2, rmse, complexity, a, b, c, d, score``, best first.
        ``score`` is ``-log10`` of the tolerance band a row was ranked in (the number of
        nines of R^2 that count, at most 16); rows are sorted by score, then complexity.
    """
    ranked = ranked_fits(
        x, y, library, weights=weights, rtol=rtol, atol=atol, flat_tol=flat_tol, scale=scale,
        **fit_options,
    )
    if top_k is not None and top_k > 0:
        ranked = ranked[:top_k]
    rows = [
        (f.primitive, f.r2, f.rmse, comp, f.a, f.b, f.c, f.d, score) for f, comp, score in ranked
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def best_fit(
    x: Any,
    y: Any,
    library: Library | Mapping[str, Primitive] | Iterable[str] | None = None,
    **options: Any,
) -> AffineFit:
    """The winning fit of :func:`suggest` (same options), as an :class:`AffineFit`."""
    return ranked_fits(x, y, library, **options)[0][0]
