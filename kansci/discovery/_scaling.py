"""Work in well-scaled units: each column divided by a power of ten, formulas mapped back exactly.

Data in SI units sit at 1e-30 or 1e12; the search stages (term regression, the KAN surrogate
and its probes, the snapping engine) have tolerances and initialisations made for numbers
of order one.  Discovery therefore searches a copy of the problem in which each column with
a typical magnitude (median of ``|x|``) beyond ``10**±MIN_EXPONENT`` is divided by the
nearest power of ten, ``x' = x / 10**k``.  A formula found in those units maps back exactly,
``y = 10**k_y * f(x / 10**k_x)`` with exact rationals, so recognised constants stay exact and
fitted ones change by a power of ten only; refitting and recognising constants then happen
in the data's own units.  Columns of ordinary size are left alone, so a table in sensible
units is searched exactly as it was given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import sympy

from ._problem import Problem

__all__ = ["MIN_EXPONENT", "ScaleMap", "rescale"]

MIN_EXPONENT = 3
"""Columns whose typical magnitude is within ``10**±(MIN_EXPONENT - 0.5)`` are not rescaled."""


def _exponent(values: np.ndarray) -> int:
    a = np.abs(values[np.isfinite(values) & (values != 0)])
    if a.size == 0:
        return 0
    k = int(round(math.log10(float(np.median(a)))))
    return k if abs(k) >= MIN_EXPONENT else 0


@dataclass(frozen=True)
class ScaleMap:
    """The powers of ten by which the search's units differ from the data's.

    ``x_exponents[j]`` = k means the search sees ``x_j / 10**k``; likewise ``y_exponent``.
    """

    symbols: tuple
    x_exponents: tuple[int, ...]
    y_exponent: int

    @property
    def identity(self) -> bool:
        return self.y_exponent == 0 and not any(self.x_exponents)

    def to_raw(self, expr: sympy.Basic) -> sympy.Basic:
        """A formula in the search's units, rewritten in the data's units (exact)."""
        if self.identity:
            return expr
        subs = {s: s * sympy.Integer(10) ** (-k) for s, k in zip(self.symbols, self.x_exponents) if k}
        out = expr.xreplace(subs) if subs else expr
        return sympy.Integer(10) ** self.y_exponent * out if self.y_exponent else out

    def to_scaled(self, expr: sympy.Basic) -> sympy.Basic:
        """The inverse of :meth:`to_raw`."""
        if self.identity:
            return expr
        subs = {s: s * sympy.Integer(10) ** k for s, k in zip(self.symbols, self.x_exponents) if k}
        out = expr.xreplace(subs) if subs else expr
        return sympy.Integer(10) ** (-self.y_exponent) * out if self.y_exponent else out


def rescale(problem: Problem) -> tuple[Problem, ScaleMap]:
    """The problem in well-scaled units, and the map back to the data's units.

    Returns the problem itself (and an identity map) when every column is of ordinary size.
    """
    kx = tuple(_exponent(problem.X[:, j]) for j in range(problem.n_vars))
    ky = _exponent(problem.y)
    smap = ScaleMap(tuple(problem.symbols), kx, ky)
    if smap.identity:
        return problem, smap
    X = problem.X / np.power(10.0, np.array(kx, dtype=float))
    y = problem.y / 10.0**ky
    extra = {}
    if getattr(problem, "sigma", None) is not None:  # per-row error bars of the target
        extra["sigma"] = np.asarray(problem.sigma, dtype=float) / 10.0**ky
    parts = [f"{c} by 1e{k}" for c, k in zip(problem.columns, kx) if k]
    if ky:
        parts.append(f"{problem.target} by 1e{ky}")
    problem.notes.append("searched in rescaled units (" + ", ".join(parts) + "); formulas are in the data's units")
    return replace(problem, X=X, y=y, notes=list(problem.notes), **extra), smap
