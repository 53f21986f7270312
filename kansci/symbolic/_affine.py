"""Fit ``y ~ c*f(a*x + b) + d`` for one primitive ``f``.

Method: for fixed ``(a, b)`` the best ``(c, d)`` is a weighted linear least-squares solve. The
inner map is parametrised by ``u0``/``u1``, the values of ``u = a*x + b`` at the smallest and
largest x, so that the domain of ``f`` becomes box bounds on them. A coarse search over
candidate ``(u0, u1)`` (chosen from the primitive's symmetries, see ``_search``) is scored for
all candidates at once on a subsample; the best one or two that cover different parts of the
domain are refined on all data by Levenberg-Marquardt with ``(c, d)`` eliminated (variable
projection, see ``_lm``; a dedicated 2-parameter solver, ~10x less overhead than
``scipy.optimize.least_squares``). ``f`` is never evaluated outside its domain.

Canonical forms (so that constants are reproducible):

- ``x``: ``a = 1, b = 0``; ``0``: ``a = 1, b = 0, c = 0``;
- scale-free primitives (powers, ``abs``, ``log``, ``sqrt``...): ``|a| = 1``, the scale moves
  into ``c`` (into ``d`` for ``log``);
- reflect symmetry (odd/even functions, ``arccos``): ``a > 0``;
- periodic (``sin``, ``cos``): ``a > 0`` and ``b`` in ``[-pi/2, pi/2)``, as a shift by pi only
  flips the sign of ``c``;
- shift-free (``exp``): ``b = 0``, the factor ``exp(b)`` moves into ``c``;
- otherwise the fitted ``(a, b)`` as found.

``c`` and ``d`` are always re-solved for the canonical ``(a, b)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from ._defaults import DEFAULT_PRIMITIVES
from ._edge import EdgeData, prepare_edge, solve_cd
from ._lm import VPProblem, vp_refine
from ._primitive import Primitive
from ._search import best_starts, candidate_ranges, coarse_losses, margin, periodogram_start, piece_of

__all__ = ["AffineFit", "fit_affine", "canonical_inner"]

_DEFAULTS = {p.name: p for p in DEFAULT_PRIMITIVES}


@dataclass(frozen=True)
class AffineFit:
    """Result of fitting ``c*f(a*x + b) + d``.

    Attributes
    ----------
    primitive : str
        Name of ``f``.
    a, b, c, d : float
        The constants, in the canonical form of ``f`` (see module docs); NaN when not ``ok``.
    r2 : float
        Weighted coefficient of determination against the variance of ``y`` (1 for a constant
        ``y`` that is fitted exactly; ``-inf`` when no fit was possible).
    rmse : float
        Weighted root-mean-square error (``inf`` when no fit was possible).
    n_valid : int
        Number of samples used (finite ``x``, ``y`` and weight, weight > 0).
    ok : bool
        False when ``f`` could not be fitted (e.g. no start inside its domain).
    notes : tuple of str
        What happened along the way (rows dropped, canonical form not applied...).
    function : Primitive
        The primitive itself (for :meth:`predict` and :meth:`formula`).
    """

    primitive: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    rmse: float
    n_valid: int
    ok: bool = True
    notes: tuple[str, ...] = ()
    function: Primitive | None = field(default=None, repr=False, compare=False)

    @property
    def loss(self) -> float:
        """``1 - r2``: the fraction of the variance of ``y`` left unexplained."""
        return 1.0 - self.r2

    def predict(self, x: Any) -> np.ndarray:
        """``c*f(a*x + b) + d`` (exact numpy form; NaN where ``a*x + b`` leaves the domain)."""
        if self.function is None or not self.ok:
            raise ValueError(f"fit of {self.primitive!r} has no usable function (ok={self.ok})")
        x = np.asarray(x, dtype=float)
        if self.c == 0.0:
            return np.full_like(x, self.d)
        return self.c * self.function.numpy(self.a * x + self.b) + self.d

    def formula(self, symbol: sympy.Symbol | None = None) -> sympy.Expr:
        """The fitted function as a sympy expression in ``symbol`` (default ``x``)."""
        if self.function is None or not self.ok:
            raise ValueError(f"fit of {self.primitive!r} has no usable function (ok={self.ok})")
        return self.function.formula(self.a, self.b, self.c, self.d, symbol)


def canonical_inner(primitive: Primitive, a: float, b: float) -> tuple[float, float]:
    """The canonical ``(a, b)`` of ``f(a*x + b)`` (up to a new ``c``, ``d``); see module docs."""
    if primitive.scale_free and primitive.shift_free:
        return 1.0, 0.0
    if primitive.scale_free and a != 0.0:
        a, b = math.copysign(1.0, a), b / abs(a)
    if primitive.reflect != 0 and a < 0.0:
        a, b = -a, -b
    if primitive.period is not None:
        period = primitive.period
        b = b - period * math.floor(b / period + 0.5)
    if primitive.shift_free:
        b = 0.0
    return a, b


def _refine(
    prim: Primitive, data: EdgeData, start: np.ndarray, max_iter: int
) -> tuple[float, float] | None:
    """Refine a start ``(u0, u1)`` on all data; None when it lies in no domain piece."""
    piece = piece_of(prim, float(start[0]), float(start[1]))
    if piece is None:
        return None
    lo, hi, lo_closed, hi_closed = piece
    eps = margin(lo, hi)
    tiny = 1e-12 * max(1.0, abs(float(start[1] - start[0])))
    problem = VPProblem(
        f=prim.numpy_fn,  # type: ignore[arg-type]
        fprime=prim.derivative_fn or prim.derivative,
        right=data.right,
        z=data.z,
        w=data.w,
        sw=data.sw,
        lower=lo if lo_closed else lo + eps,
        upper=hi if hi_closed else hi - eps,
        d_lower=lo + tiny,
        d_upper=hi - tiny,
        clip=(lo_closed and math.isfinite(lo)) or (hi_closed and math.isfinite(hi)),
    )
    u0, u1, cost = vp_refine(problem, (float(start[0]), float(start[1])), max_iter)
    return (u0, u1) if math.isfinite(cost) else None


def _resolve(primitive: Primitive | str) -> Primitive:
    if isinstance(primitive, Primitive):
        return primitive
    if isinstance(primitive, str) and primitive in _DEFAULTS:
        return _DEFAULTS[primitive]
    raise ValueError(
        f"primitive must be a Primitive or the name of a default one ({', '.join(_DEFAULTS)}), "
        f"got {primitive!r}; for a custom library pass library[name]"
    )


def _nudge(prim: Primitive, a: float, b: float, x: np.ndarray) -> float | None:
    """Shift ``b`` by a rounding-sized amount so that ``a*x + b`` lies in one domain piece."""
    u_lo, u_hi = float(np.min(a * x + b)), float(np.max(a * x + b))
    if piece_of(prim, u_lo, u_hi) is not None:
        return b
    tol = 1e-9 * (1.0 + abs(u_hi - u_lo) + abs(b))
    for lo, hi, lo_closed, hi_closed in prim.intervals():
        shift = 0.0
        if u_lo < lo + (0.0 if lo_closed else margin(lo, hi)):
            shift = lo - u_lo + (0.0 if lo_closed else 2 * margin(lo, hi))
        elif u_hi > hi - (0.0 if hi_closed else margin(lo, hi)):
            shift = hi - u_hi - (0.0 if hi_closed else 2 * margin(lo, hi))
        if 0.0 < abs(shift) <= tol and piece_of(prim, u_lo + shift, u_hi + shift) is not None:
            return b + shift
    return None


def _result(
    prim: Primitive, data: EdgeData, a: float, b: float, notes: list[str]
) -> AffineFit | None:
    """Canonicalise ``(a, b)``, solve ``(c, d)`` and score; None if ``f`` is not finite there."""
    fits = []
    canonical_ab = canonical_inner(prim, a, b)
    for a_k, b_k in (canonical_ab, (a, b)) if canonical_ab != (a, b) else (canonical_ab,):
        b_k = _nudge(prim, a_k, b_k, data.x)  # type: ignore[assignment]
        if b_k is None:
            fits.append(None)
            continue
        f_values = prim.numpy(a_k * data.x + b_k)
        c, d, loss = solve_cd(f_values, data.z, data.w)
        ok = math.isfinite(loss) and math.isfinite(c) and bool(np.isfinite(f_values).all())
        fits.append((float(a_k), float(b_k), c, d, loss) if ok else None)
    canonical, raw = fits if len(fits) == 2 else (fits[0], None)
    extra: list[str] = []
    if canonical is None or (raw is not None and canonical[4] > raw[4] * (1 + 1e-6) + 1e-15):
        # e.g. exp(a*x) under- or overflows on the data while exp(a*x + b) does not
        canonical, extra = raw, ["canonical form not applied: f under/overflows there"]
    if canonical is None:
        return None
    a_k, b_k, c, d, loss = canonical
    return AffineFit(
        prim.name, a_k, b_k, c * data.y_std, d * data.y_std + data.y_mean,
        r2=1.0 - loss, rmse=math.sqrt(loss) * data.y_std, n_valid=data.x.size,
        notes=tuple(notes + extra), function=prim,
    )


def _failed(prim: Primitive, data: EdgeData, why: str) -> AffineFit:
    return AffineFit(
        prim.name, math.nan, math.nan, math.nan, math.nan, -math.inf, math.inf,
        data.x.size, ok=False, notes=tuple(data.notes + [why]), function=prim,
    )


def fit_affine(
    x: Any,
    y: Any,
    primitive: Primitive | str,
    *,
    weights: Any = None,
    a_range: tuple[float, float] | None = (-10.0, 10.0),
    b_range: tuple[float, float] | None = (-10.0, 10.0),
    grid: int = 16,
    n_starts: int | None = None,
    max_iter: int = 20,
    subsample: int = 64,
) -> AffineFit:
    """Fit ``y ~ c*primitive(a*x + b) + d`` by weighted least squares.

    Parameters
    ----------
    x, y : array_like
        Samples of the edge (1-D, same length). Rows with a non-finite value are dropped.
    primitive : Primitive or str
        The function ``f`` (a name refers to the default library).
    weights : array_like, optional
        Non-negative sample weights.
    a_range, b_range : (float, float) or None
        Bounds of the coarse search over the raw ``a`` and ``b`` (where the primitive's
        symmetries do not make them arbitrary: not for powers, ``log``, ``abs``, ``exp``,
        only ``a`` for ``sin``/``cos``); the refinement may leave them. ``None`` removes a
        bound. They are in the units of ``x``: widen them for data far from ``[-10, 10]``.
    grid : int
        Points per axis of the coarse search.
    n_starts : int, optional
        How many of the best coarse starts are refined; default 1 where the symmetries reduce
        the search to one dimension (powers, ``log``, ``exp``), else 2.
    max_iter : int
        Iteration budget of each least-squares refinement.
    subsample : int
        Samples used by the coarse search (spread over the x range).

    Returns
    -------
    AffineFit
        Constants in canonical form (see the module docs), R^2 and RMSE on the valid rows.
        A primitive that cannot be fitted (no start in its domain) gives ``ok=False``,
        ``r2=-inf``; this function does not raise for it.
    """
    prim = _resolve(primitive)
    data = prepare_edge(x, y, weights)
    notes = list(data.notes)
    y_scale = float(np.max(np.abs(data.z * data.y_std + data.y_mean)))
    if data.y_std <= 1e-12 * y_scale or data.y_std == 0.0:
        return AffineFit(
            prim.name, 1.0, 0.0, 0.0, data.y_mean, 1.0, data.y_std, data.x.size,
            notes=tuple(notes + ["y is constant: c = 0"]), function=prim,
        )
    if data.half == 0.0:
        return _failed(prim, data, "x has no spread, so no function of x can be fitted")
    if prim.scale_free and prim.shift_free:  # affine in u (x) or constant (0)
        fit = _result(prim, data, 1.0, 0.0, notes)
        return fit if fit is not None else _failed(prim, data, "f is not finite on the data")
    pairs = candidate_ranges(
        prim, 2.0 * data.half, data.mid, n=grid, a_range=a_range, b_range=b_range
    )
    if len(pairs) == 0:
        return _failed(prim, data, "no start inside the domain and within a_range, b_range")
    if n_starts is None:
        n_starts = 1 if (prim.scale_free or prim.shift_free) else 2
    losses = coarse_losses(prim, data, pairs, subsample)
    starts = best_starts(pairs, losses, n_starts)
    extra = periodogram_start(prim, data) if not np.min(losses) < 1e-6 else None
    if extra is not None:  # many periods over the data: a basin between the grid's steps
        starts.append(extra)
    if not starts:
        return _failed(prim, data, "f is not finite for any start on the data")
    best: AffineFit | None = None
    for start in starts:
        u0, u1 = _refine(prim, data, start, max_iter) or (float(start[0]), float(start[1]))
        a = (u1 - u0) / (2.0 * data.half)
        fit = _result(prim, data, a, 0.5 * (u0 + u1) - a * data.mid, notes)
        if fit is not None and (best is None or fit.loss < best.loss):
            best = fit
        if best is not None and best.loss < 1e-24:
            break
    return best if best is not None else _failed(prim, data, "refinement left the domain")
