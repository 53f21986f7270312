"""`Primitive`: one univariate function that a KAN edge can be snapped to.

An edge is snapped to ``c * f(a*x + b) + d``; the primitive is ``f``. It carries its sympy form
(in the module-level symbol :data:`X`), a complexity, its real domain and the symmetries that
make some of (a, b, c, d) redundant, plus exact numpy and safe torch implementations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
import torch

__all__ = ["X", "Primitive", "Interval"]

X = sympy.Symbol("x", real=True)
"""The variable every primitive's ``expr`` is written in."""

Interval = tuple[float, float, bool, bool]
"""A connected piece of a domain: ``(lo, hi, lo_closed, hi_closed)``."""


@dataclass(frozen=True)
class Primitive:
    """A univariate function ``f`` with its domain, symmetries and implementations.

    Parameters
    ----------
    name : str
        Key in a :class:`~kansci.symbolic.Library`, e.g. ``"sin"``.
    expr : sympy.Expr
        ``f`` written in :data:`X`.
    complexity : int
        Cost used to break ties between equally good fits (lower is simpler).
    domain : (float, float)
        Hull of the set of ``u`` where ``f(u)`` is real and finite (ends may be +-inf).
    closed : (bool, bool)
        Whether the lower / upper end belongs to the domain.
    poles : tuple of float
        Points inside ``domain`` that are excluded (``0`` for ``1/x``).
    reflect : int
        ``s`` in {-1, +1} when ``f(-u) = s*f(u) + k`` for a constant ``k`` (odd, even, arccos);
        0 when there is no such identity. Lets a fit fix ``a > 0``.
    scale_free : bool
        ``f(t*u)`` is affine in ``f(u)`` for every ``t > 0`` (powers, ``abs``, ``log``).
        Lets a fit fix ``|a| = 1``.
    shift_free : bool
        ``f(u + t)`` is affine in ``f(u)`` for every ``t`` (``exp``, ``x``). Lets a fit fix
        ``b = 0``.
    period : float or None
        Smallest ``T > 0`` with ``f(u + T)`` affine in ``f(u)`` (``pi`` for sin and cos, as
        ``sin(u + pi) = -sin(u)``). Lets a fit wrap ``b`` into ``[-T/2, T/2)``.
    numpy_fn, derivative_fn, torch_fn : callable
        Raw implementations; use :meth:`numpy`, :meth:`derivative` and :meth:`torch`.
    """

    name: str
    expr: sympy.Expr
    complexity: int
    domain: tuple[float, float] = (-math.inf, math.inf)
    closed: tuple[bool, bool] = (False, False)
    poles: tuple[float, ...] = ()
    reflect: int = 0
    scale_free: bool = False
    shift_free: bool = False
    period: float | None = None
    numpy_fn: Callable[[np.ndarray], np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    derivative_fn: Callable[[np.ndarray], np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    torch_fn: Callable[[torch.Tensor], torch.Tensor] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        lo, hi = self.domain
        if not lo < hi:
            raise ValueError(f"primitive {self.name!r}: domain {self.domain} must have lo < hi")
        if self.reflect not in (-1, 0, 1):
            raise ValueError(f"primitive {self.name!r}: reflect must be -1, 0 or 1")
        if self.numpy_fn is None or self.torch_fn is None:
            raise ValueError(f"primitive {self.name!r}: numpy_fn and torch_fn are required")

    # --- evaluation -------------------------------------------------------------------------

    def in_domain(self, u: Any) -> np.ndarray:
        """Boolean mask of the ``u`` where ``f(u)`` is real and finite (mathematically)."""
        u = np.asarray(u, dtype=float)
        lo, hi = self.domain
        with np.errstate(invalid="ignore"):
            ok = (u >= lo) if self.closed[0] else (u > lo)
            ok &= (u <= hi) if self.closed[1] else (u < hi)
            for pole in self.poles:
                ok &= u != pole
        return ok

    def numpy(self, u: Any) -> np.ndarray:
        """Exact values of ``f(u)``; NaN outside the domain, no floating-point warnings."""
        u = np.asarray(u, dtype=float)
        with np.errstate(all="ignore"):
            values = np.asarray(self.numpy_fn(u), dtype=float)  # type: ignore[misc]
        return np.where(self.in_domain(u), values, np.nan)

    def derivative(self, u: Any) -> np.ndarray:
        """``f'(u)`` (numpy); central differences when no closed form is known."""
        u = np.asarray(u, dtype=float)
        with np.errstate(all="ignore"):
            if self.derivative_fn is not None:
                return np.asarray(self.derivative_fn(u), dtype=float)
            h = 1e-6 * (1.0 + np.abs(u))
            return (self.numpy_fn(u + h) - self.numpy_fn(u - h)) / (2.0 * h)  # type: ignore[misc]

    def torch(self, u: torch.Tensor) -> torch.Tensor:
        """Safe differentiable ``f(u)`` for training.

        Vectorised, keeps dtype and device. For the default primitives, values and
        gradients are finite for every finite ``u`` whose exact image fits the dtype (``u``
        is clamped into the domain with a small margin, ``exp`` to ``u <= 50``; float32,
        bfloat16 and float64, not float16, whose range is too small); equal to
        :meth:`numpy` inside the domain away from its boundary and poles. User primitives
        are clamped into their domain interval; poles inside it are not guarded.
        """
        return self.torch_fn(u)  # type: ignore[misc]

    # --- domain structure -------------------------------------------------------------------

    def intervals(self) -> list[Interval]:
        """The connected pieces of the domain, split at the poles, in increasing order."""
        lo, hi = self.domain
        cuts = sorted(p for p in self.poles if lo < p < hi)
        edges = [lo, *cuts, hi]
        closed_lo = [self.closed[0]] + [False] * len(cuts)
        closed_hi = [False] * len(cuts) + [self.closed[1]]
        return [
            (edges[i], edges[i + 1], closed_lo[i], closed_hi[i]) for i in range(len(edges) - 1)
        ]

    def formula(
        self,
        a: float = 1.0,
        b: float = 0.0,
        c: float = 1.0,
        d: float = 0.0,
        symbol: sympy.Symbol | None = None,
    ) -> sympy.Expr:
        """``c*f(a*symbol + b) + d`` as a sympy expression (default symbol: :data:`X`)."""
        var = X if symbol is None else symbol
        inner = var if a == 1.0 else sympy.Float(a) * var
        if b != 0.0:
            inner = inner + sympy.Float(b)
        outer = self.expr.xreplace({X: inner})
        if c != 1.0:
            outer = sympy.Float(c) * outer
        return outer + sympy.Float(d) if d != 0.0 else outer
