"""Coarse search space for ``c*f(a*x + b) + d``: candidate ranges of the inner argument.

Over the data, ``u = a*x + b`` runs linearly from ``u0`` (at the smallest x) to ``u1`` (at the
largest x), so a start is the pair ``(u0, u1)``; its shape on the data does not depend on the
x units. Each primitive's symmetries shrink the search:

- shift-free (``exp``): only the width ``u1 - u0`` matters;
- scale-free (powers, ``abs``, ``log``): only the ratio ``u0 : u1`` matters, so one end is +-1;
- periodic (``sin``, ``cos``): the centre only matters modulo the period;
- reflect (odd, even): ``(u0, u1)`` and ``(-u0, -u1)`` are equivalent, keep ``u0 < u1``;
- anything else: pairs from a set of points spread over the domain.

All starts are scored at once (vectorised) on a subsample, and the best few that cover
different parts of the domain are handed to the refinement.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._edge import EdgeData
from ._primitive import Interval, Primitive

__all__ = ["best_starts", "candidate_ranges", "coarse_losses", "margin", "periodogram_start", "piece_of"]


def margin(lo: float, hi: float) -> float:
    """Distance kept from an open domain end."""
    width = hi - lo if math.isfinite(hi - lo) else 1.0
    return 1e-9 * max(1.0, min(width, 1e3))


def _points(piece: Interval, n: int) -> np.ndarray:
    lo, hi, lo_closed, hi_closed = piece
    half = max(n // 2, 3)
    if math.isfinite(lo) and math.isfinite(hi):
        inner = np.linspace(0.2, 0.8, half)
        fractions = np.concatenate([[0.0, 0.02, 0.08], inner, [0.92, 0.98, 1.0]])
        points = lo + (hi - lo) * fractions
    elif math.isfinite(lo):
        points = lo + np.concatenate([[0.0, 0.01, 0.05], np.geomspace(0.2, 16.0, half)])
    elif math.isfinite(hi):
        points = hi - np.concatenate([[0.0, 0.01, 0.05], np.geomspace(0.2, 16.0, half)])
    else:
        steps = np.geomspace(0.25, 10.0, half)
        points = np.concatenate([-steps[::-1], [0.0], steps])
    eps = margin(lo, hi)
    points = np.where((points == lo) & ~lo_closed, lo + eps, points)
    points = np.where((points == hi) & ~hi_closed, hi - eps, points)
    return np.unique(points)


def piece_of(primitive: Primitive, u0: float, u1: float) -> Interval | None:
    """The domain piece containing the whole segment ``[u0, u1]``, or ``None``."""
    lo_u, hi_u = min(u0, u1), max(u0, u1)
    for piece in primitive.intervals():
        lo, hi, lo_closed, hi_closed = piece
        above = lo_u >= lo if lo_closed else lo_u > lo
        below = hi_u <= hi if hi_closed else hi_u < hi
        if above and below:
            return piece
    return None


def _feasible(primitive: Primitive, pairs: np.ndarray) -> np.ndarray:
    lo_u, hi_u = pairs.min(axis=1), pairs.max(axis=1)
    keep = np.zeros(len(pairs), dtype=bool)
    for lo, hi, lo_closed, hi_closed in primitive.intervals():
        above = lo_u >= lo if lo_closed else lo_u > lo
        below = hi_u <= hi if hi_closed else hi_u < hi
        keep |= above & below
    return pairs[keep]


@functools.lru_cache(maxsize=1024)
def _pairs(primitive: Primitive, n: int, w_max: float) -> np.ndarray:
    """Feasible starts ``(u0, u1)`` before the a/b filter (read-only, cached)."""
    if primitive.shift_free:
        widths = np.geomspace(min(0.05, w_max), min(w_max, 80.0), n)
        widths = np.concatenate([widths, -widths]) if primitive.reflect == 0 else widths
        pairs = np.column_stack([-widths / 2, widths / 2])
    elif primitive.scale_free:
        near = np.array([0.0, 1e-3, 1e-2, 0.04])
        ratios = np.concatenate(
            [near, 1.0 - np.geomspace(0.9, 0.005, n), -np.geomspace(0.1, 0.9, max(n // 3, 2))]
        )
        anchored = [(r, 1.0) for r in ratios] + [(1.0, r) for r in ratios]
        pairs = np.array(anchored + [(-u0, -u1) for u0, u1 in anchored])
    elif primitive.period is not None:
        period = primitive.period
        centres = np.linspace(-period / 2, period / 2, max(n // 2, 4), endpoint=False)
        widths = np.geomspace(min(0.3, w_max), w_max, n)
        if primitive.reflect == 0:
            widths = np.concatenate([widths, -widths])
        cc, ww = np.meshgrid(centres, widths)
        pairs = np.column_stack([(cc - ww / 2).ravel(), (cc + ww / 2).ravel()])
    else:
        pairs_list = []
        for piece in primitive.intervals():
            p = _points(piece, n)
            u0, u1 = np.meshgrid(p, p)
            pairs_list.append(np.column_stack([u0.ravel(), u1.ravel()]))
        pairs = np.concatenate(pairs_list)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if primitive.reflect != 0:
        pairs = pairs[pairs[:, 1] > pairs[:, 0]]
    pairs = _feasible(primitive, pairs)
    pairs.setflags(write=False)
    return pairs


def candidate_ranges(
    primitive: Primitive,
    span: float,
    mid: float,
    *,
    n: int = 16,
    a_range: tuple[float, float] | None = (-10.0, 10.0),
    b_range: tuple[float, float] | None = (-10.0, 10.0),
) -> np.ndarray:
    """Starting ranges ``(u0, u1)`` of ``u`` over the data, shape ``(G, 2)``.

    Parameters
    ----------
    primitive : Primitive
        The function to fit.
    span, mid : float
        Width and centre of the x range of the data (``span > 0``).
    n : int
        Points per search axis.
    a_range, b_range : (float, float) or None
        Bounds on the raw ``a`` and ``b`` of the starts; applied only where the primitive's
        symmetries do not make them arbitrary (they never restrict ``exp``, powers, ``log``,
        ``abs``, and only ``a`` for periodic functions). ``None``: no bound (``u`` then sweeps
        at most 40 for periodic and shift-free primitives).
    """
    generic = not (primitive.shift_free or primitive.scale_free or primitive.period is not None)
    if generic or (primitive.scale_free and not primitive.shift_free):
        w_max = 0.0  # not used: keeps the cache key independent of the data
    elif a_range is None:
        w_max = 40.0
    else:
        w_max = max(max(abs(a_range[0]), abs(a_range[1])) * span, 1e-6)
    pairs = _pairs(primitive, n, w_max)
    if generic and len(pairs):
        a = (pairs[:, 1] - pairs[:, 0]) / span
        b = 0.5 * (pairs[:, 0] + pairs[:, 1]) - a * mid
        keep = np.ones(len(pairs), dtype=bool)
        if a_range is not None:
            keep &= (a >= a_range[0]) & (a <= a_range[1])
        if b_range is not None:
            keep &= (b >= b_range[0]) & (b <= b_range[1])
        pairs = pairs[keep]
    return pairs


def _distinct(pair: np.ndarray, chosen: list[np.ndarray]) -> bool:
    """True when the u-range ``pair`` overlaps each chosen one by at most half its length."""
    lo, hi = min(pair), max(pair)
    for other in chosen:
        o_lo, o_hi = min(other), max(other)
        overlap = min(hi, o_hi) - max(lo, o_lo)
        same_direction = (pair[1] > pair[0]) == (other[1] > other[0])
        if same_direction and overlap > 0.5 * min(hi - lo, o_hi - o_lo):
            return False
    return True


def best_starts(pairs: np.ndarray, losses: np.ndarray, n_starts: int) -> list[np.ndarray]:
    """The best coarse starts, each covering a different part of the domain."""
    starts: list[np.ndarray] = []
    for i in np.argsort(losses, kind="stable"):
        if not math.isfinite(losses[i]) or len(starts) >= n_starts:
            break
        if _distinct(pairs[i], starts):
            starts.append(pairs[i])
    return starts


def _spread_sample(data: EdgeData, subsample: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t, z, w)`` on up to ``subsample`` rows spread evenly over the sorted ``t`` (all when
    fewer), the weights renormalised and ``z`` centred on them."""
    n = data.t.size
    idx = np.arange(n) if n <= subsample else np.argsort(data.t)[
        np.unique(np.linspace(0, n - 1, subsample).round().astype(int))]
    t, z, w = data.t[idx], data.z[idx], data.w[idx]
    w = w / w.sum()
    return t, z - w @ z, w


def coarse_losses(
    prim: Primitive, data: EdgeData, pairs: np.ndarray, subsample: int
) -> np.ndarray:
    """Loss (unexplained fraction of variance) of every start, on a spread-out subsample."""
    t, z, w = _spread_sample(data, subsample)
    u = pairs[:, :1] * (0.5 * (1.0 - t)) + pairs[:, 1:] * (0.5 * (1.0 + t))
    with np.errstate(all="ignore"):
        f = prim.numpy(u)
        f_mean = f @ w
        fc = f - f_mean[:, None]
        cov = fc @ (w * z)
        var = (fc * fc) @ w
        syy = float(w @ (z * z))
        losses = np.where(var > 1e-300, syy - cov * cov / var, syy)
    return np.where(np.isfinite(losses), losses, np.inf)


#: Half-widths ``(u1 - u0)/2`` of the inner argument scanned by :func:`periodogram_start`: a
#: quarter radian apart, up to 100 (about 32 periods over the data).
_OMEGA = np.arange(0.5, 100.0, 0.25)


def periodogram_start(prim: Primitive, data: EdgeData, subsample: int = 192) -> np.ndarray | None:
    """The start ``(u0, u1)`` of ``sin`` or ``cos`` at the peak of the data's least-squares
    periodogram; None for other primitives or flat data.

    A sinusoid ``A cos(W t) + B sin(W t)`` (``t`` is x mapped to [-1, 1]) is fitted by weighted
    least squares at every trial ``W`` (the Lomb-Scargle periodogram: N. R. Lomb, Astrophys.
    Space Sci. 39 (1976) 447; J. D. Scargle, ApJ 263 (1982) 835) and the best gives the
    frequency and the phase.  The coarse grid of starts sweeps at most 40 radians over the
    data in 16 steps; a function with many periods over its range (``sin(2*pi*E*t/h)**2``
    in ``u = E*t/h``: seven and a half) has a basin narrower than that step.
    """
    if prim.name not in ("sin", "cos"):
        return None
    t, z, w = _spread_sample(data, subsample)
    ang = _OMEGA[:, None] * t[None, :]
    C, S = np.cos(ang), np.sin(ang)
    C -= (C @ w)[:, None]
    S -= (S @ w)[:, None]
    cc, ss, cs = (C * C) @ w, (S * S) @ w, (C * S) @ w
    cz, sz = C @ (w * z), S @ (w * z)
    det = cc * ss - cs * cs
    ok = det > 1e-12 * np.maximum(cc * ss, 1e-300)
    if not ok.any():
        return None
    with np.errstate(all="ignore"):
        A = np.where(ok, (ss * cz - cs * sz) / det, 0.0)
        B = np.where(ok, (cc * sz - cs * cz) / det, 0.0)
    power = A * cz + B * sz  # explained weighted variance
    k = int(np.argmax(power))
    if not power[k] > 0:
        return None
    W = float(_OMEGA[k])
    # A cos(W t) + B sin(W t) = R sin(W t + phi) = R cos(W t + psi)
    phi = math.atan2(A[k], B[k]) if prim.name == "sin" else math.atan2(-B[k], A[k])
    return np.array([phi - W, phi + W])
