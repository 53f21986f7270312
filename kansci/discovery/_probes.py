"""Structure probes on a black-box function ``f(X)`` over a box: separability and symmetries.

* Additive separability of inputs i and j: ``f(a,b) + f(a',b') - f(a',b) - f(a,b') = 0``
  for moves of x_i and x_j; multiplicative: ``f(a,b) f(a',b') - f(a',b) f(a,b') = 0``.
  Pairs that interact are joined; the connected groups are the separable parts.
* Homogeneity of a subset S (a scaling symmetry, what dimensional analysis exploits):
  ``sum_{i in S} x_i df/dx_i = k f`` with k constant means ``f = x_r**k g(x_i/x_r, ...)``.
* Translation and product symmetries of a pair: ``df/dx_i + df/dx_j = 0`` (depends on
  ``x_i - x_j``), ``x_i df/dx_i - x_j df/dx_j = k f`` (``x_i**k g(x_i*x_j)``).

Everything is evaluated in batches; only moves that stay inside the box are used, so a
surrogate is never asked to extrapolate.
"""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction

import numpy as np

__all__ = ["interaction_stats", "groups_from_stats", "homogeneous_subsets", "pair_symmetries"]


def _pair_stats(f, lo, h, span, pairs, rng, n):
    k = len(lo)
    base = lo + rng.random((len(pairs), n, k)) * (span - h)
    pts = np.repeat(base[None], 4, axis=0)
    for p, (i, j) in enumerate(pairs):
        pts[1, p, :, i] += h[i]
        pts[2, p, :, j] += h[j]
        pts[3, p, :, i] += h[i]
        pts[3, p, :, j] += h[j]
    with np.errstate(all="ignore"):
        v = np.asarray(f(pts.reshape(-1, k)), float).reshape(4, len(pairs), n)
        f00, f10, f01, f11 = v
        d_add = np.abs(f00 + f11 - f10 - f01).mean(1)
        s_add = (np.abs(f10 - f00) + np.abs(f01 - f00) + np.abs(f11 - f10) + np.abs(f11 - f01)).mean(1)
        tiny = 1e-300
        a = np.where(np.isfinite(d_add), d_add / (s_add + tiny), 1.0)
        if np.all(np.abs(v) > 0):  # additive separability of log|f|, scaled like the additive test
            L00, L10, L01, L11 = np.log(np.abs(v))
            d_mul = np.abs(L00 + L11 - L10 - L01).mean(1)
            s_mul = (np.abs(L10 - L00) + np.abs(L01 - L00) + np.abs(L11 - L10) + np.abs(L11 - L01)).mean(1)
        else:  # f crosses zero: the product form
            d_mul = np.abs(f00 * f11 - f10 * f01).mean(1)
            s_mul = (np.abs(f00 * f11) + np.abs(f10 * f01)).mean(1)
        m = np.where(np.isfinite(d_mul), d_mul / (s_mul + tiny), 1.0)
    return a, m


def interaction_stats(f, lo, hi, rng, *, n: int = 48, step: float = 0.4,
                      deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(additive, multiplicative) interaction strength of every pair, each a (k, k) matrix in [0, ~1].

    Pairs are probed in batches; past ``deadline`` the untested pairs count as interacting
    (the safe assumption: no split is claimed that was not tested).
    """
    k = len(lo)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    span = hi - lo
    h = step * span
    add, mul = np.ones((k, k)), np.ones((k, k))
    np.fill_diagonal(add, 0.0)
    np.fill_diagonal(mul, 0.0)
    pairs = list(itertools.combinations(range(k), 2))
    batch = max(1, 20_000 // (4 * n * max(k, 1)))
    for start in range(0, len(pairs), batch):
        if deadline is not None and time.perf_counter() > deadline:
            break
        chunk = pairs[start : start + batch]
        a, m = _pair_stats(f, lo, h, span, chunk, rng, n)
        for p, (i, j) in enumerate(chunk):
            add[i, j] = add[j, i] = a[p]
            mul[i, j] = mul[j, i] = m[p]
    return add, mul


def groups_from_stats(stats: np.ndarray, threshold: float) -> list[list[int]]:
    """Connected components of the graph joining pairs whose interaction exceeds ``threshold``."""
    k = stats.shape[0]
    parent = list(range(k))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(k), 2):
        if stats[i, j] > threshold:
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(k):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def _spread(s: np.ndarray) -> float:
    """Robust spread (scaled median absolute deviation): a few bad points near zeros of f
    must not hide a symmetry."""
    return float(1.4826 * np.median(np.abs(s - np.median(s))))


def _gradients(f, X, lo, hi):
    """Central finite-difference gradient (n, k), step 1% of each range, kept inside the box.

    A step of a percent smooths over the surrogate's knots; its truncation error is far
    below the surrogate's own.
    """
    n, k = X.shape
    h = 1e-2 * (hi - lo)
    Xc = np.clip(X, lo + h, hi - h)
    pts = np.repeat(Xc[None], 2 * k + 1, axis=0)
    for i in range(k):
        pts[2 * i, :, i] += h[i]
        pts[2 * i + 1, :, i] -= h[i]
    with np.errstate(all="ignore"):
        v = np.asarray(f(pts.reshape(-1, k)), float).reshape(2 * k + 1, n)
    grad = np.stack([(v[2 * i] - v[2 * i + 1]) / (2 * h[i]) for i in range(k)], axis=1)
    return Xc, v[-1], grad


def _simple_rational(x: float, tol: float) -> Fraction | None:
    for q in (1, 2, 3, 4):
        r = Fraction(x).limit_denominator(q)
        if abs(float(r) - x) <= tol:
            return r
    return None


def homogeneous_subsets(f, X, lo, hi, *, tol: float, max_size: int | None = None):
    """Subsets S (size >= 2, all inputs positive) with ``sum_S x_i df/dx_i / f`` a simple constant.

    Returns ``[(S, k)]`` sorted by subset size, then spread.
    """
    k = X.shape[1]
    if k < 2 or np.any(lo <= 0):
        return []
    Xc, fx, grad = _gradients(f, X, lo, hi)
    ok = np.isfinite(fx) & (np.abs(fx) > 1e-12 * (np.abs(fx).max() or 1.0))
    if ok.sum() < 8:
        return []
    el = (Xc * grad)[ok] / fx[ok, None]  # elasticities
    scale = np.median(np.abs(el), axis=0).sum() + 1e-12
    found = []
    largest = max_size or k
    # keep the search to ~20,000 subsets: all of them for the handful of inputs a law has
    while largest > 2 and math.comb(k, largest) > 20_000:
        largest -= 1
    for size in range(2, largest + 1):
        for S in itertools.combinations(range(k), size):
            s = el[:, list(S)].sum(1)
            spread = _spread(s) / scale
            if spread > tol:
                continue
            deg = _simple_rational(float(np.median(s)), max(10 * tol, 1e-2))
            if deg is not None:
                found.append((spread, S, deg))
    found.sort(key=lambda t: (len(t[1]), t[0]))
    return [(list(S), deg) for _, S, deg in found]


def pair_symmetries(f, X, lo, hi, *, tol: float):
    """Pairs with a translation (``x_i - x_j``, ``x_i + x_j``) or product (``x_i**k g(x_i x_j)``) symmetry.

    Returns ``[(kind, i, j, degree)]`` with kind in {"minus", "plus", "times"}.
    """
    k = X.shape[1]
    if k < 2:
        return []
    Xc, fx, grad = _gradients(f, X, lo, hi)
    out = []
    g_scale = np.abs(grad).mean(0) + 1e-300
    for i, j in itertools.combinations(range(k), 2):
        gi, gj = grad[:, i], grad[:, j]
        denom = float(np.mean(np.abs(gi) + np.abs(gj))) + 1e-300
        if g_scale[i] < 1e-12 * g_scale.max() or g_scale[j] < 1e-12 * g_scale.max():
            continue
        if float(np.mean(np.abs(gi + gj))) / denom < tol:
            out.append((float(np.mean(np.abs(gi + gj))) / denom, "minus", i, j, Fraction(0)))
        if float(np.mean(np.abs(gi - gj))) / denom < tol:
            out.append((float(np.mean(np.abs(gi - gj))) / denom, "plus", i, j, Fraction(0)))
        if np.all(lo[[i, j]] > 0):
            ok = np.abs(fx) > 1e-12 * (np.abs(fx).max() or 1.0)
            if ok.sum() >= 8:
                r = (Xc[ok, i] * gi[ok] - Xc[ok, j] * gj[ok]) / fx[ok]
                sc = float(np.median(np.abs(Xc[ok, i] * gi[ok] / fx[ok])) + np.median(np.abs(Xc[ok, j] * gj[ok] / fx[ok])))
                spread = _spread(r) / (sc + 1e-300)
                deg = _simple_rational(float(np.median(r)), max(10 * tol, 1e-2))
                if spread < tol and deg is not None:
                    out.append((spread, "times", i, j, deg))
    out.sort(key=lambda t: t[0])
    return [(kind, i, j, deg) for _, kind, i, j, deg in out]
