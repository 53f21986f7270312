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

__all__ = ["interaction_stats", "groups_from_stats", "homogeneous_subsets", "pair_symmetries", "single_combinations",
           "invariant_directions"]


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


# ---------------------------------------------------------------- combinations of inputs
def _robust_scale(s: np.ndarray) -> float:
    return float(np.median(np.abs(s))) + 1e-300


def _snap_ratio(v: np.ndarray, tol: float, max_den: int = 4, max_num: int = 6) -> np.ndarray | None:
    """``v`` scaled so its largest entry is 1, each entry snapped to p/q (q <= max_den) within ``tol``."""
    v = v / v[np.argmax(np.abs(v))]
    out = []
    for x in v:
        r = Fraction(float(x)).limit_denominator(max_den)
        if abs(float(r) - x) > tol or abs(r.numerator) > max_num:
            return None
        out.append(r)
    den = math.lcm(*(r.denominator for r in out))
    ints = [int(r * den) for r in out]
    g = math.gcd(*ints) or 1
    return np.array([Fraction(i // g) for i in ints], dtype=object)


def _coordinates(f, X, lo, hi, space: str):
    """Gradient in the coordinates of ``space``: ``df/dx`` ("linear") or the elasticities
    ``x df/dx / f`` ("log", positive inputs); with the rows where it is defined."""
    Xc, fx, grad = _gradients(f, X, lo, hi)
    if space == "linear":
        ok = np.all(np.isfinite(grad), axis=1)
        return grad[ok], ok
    ok = np.isfinite(fx) & (np.abs(fx) > 1e-9 * (np.abs(fx).max() or 1.0)) & np.all(np.isfinite(grad), axis=1)
    return (Xc * grad)[ok] / fx[ok, None], ok


def _probed_gradients(f, X, lo, hi, space: str):
    """``(G, scale)``: the gradient coordinates of ``f`` at the usable probe points (see
    ``_coordinates``) and each input's median magnitude; None when there are fewer than two
    inputs, log space meets a non-positive input, or fewer than 8 points are usable."""
    if X.shape[1] < 2 or space == "log" and np.any(lo <= 0):
        return None
    G, ok = _coordinates(f, X, lo, hi, space)
    if ok.sum() < 8:
        return None
    return G, np.median(np.abs(G), axis=0) + 1e-300


def single_combinations(f, X, lo, hi, *, tol: float, space: str = "linear", min_size: int = 2):
    """Subsets S on which ``f`` depends through one combination ``w . x_S`` (or ``prod x**w``).

    The gradient restricted to S stays parallel to one vector w over the probe points (the
    ratio ``df/dx_i / df/dx_j`` is the constant ``w_i/w_j``; in log space the ratio of the
    elasticities), i.e. the rows of the gradient matrix have rank one.  w is the leading
    right singular vector, snapped to small integer ratios when they fit within ``tol``,
    else kept as floats.  AI Feynman's translation symmetry ``x_i - x_j`` is the case w =
    (1, -1).  Returns ``[(S, w)]``, largest S first; w is an array of Fractions or floats.
    """
    k = X.shape[1]
    probed = _probed_gradients(f, X, lo, hi, space)
    if probed is None:
        return []
    G, scale = probed
    found = []
    for size in range(k, min_size - 1, -1):
        for S in itertools.combinations(range(k), size):
            if any(set(S) <= set(T) for T, _ in found) or np.any(scale[list(S)] < 1e-9 * scale.max()):
                continue
            Gs = G[:, list(S)] / scale[list(S)]
            norms = np.linalg.norm(Gs, axis=1)
            rows = norms > 1e-6 * (np.median(norms) + 1e-300)
            if rows.sum() < 8:
                continue
            U = Gs[rows] / norms[rows, None]
            _, sv, Vt = np.linalg.svd(U, full_matrices=False)
            if sv[1] / sv[0] > tol:
                continue
            w = Vt[0] * scale[list(S)]  # rows of G/scale are parallel to w/scale
            snapped = _snap_ratio(w, tol=max(3 * tol, 0.02))
            if snapped is not None and _parallel(G[:, list(S)], snapped.astype(float), scale[list(S)]) <= 2 * tol:
                w = snapped
            else:
                w = w / w[np.argmax(np.abs(w))]
            found.append((list(S), w))
        if found:
            break
    return found


def _parallel(G: np.ndarray, w: np.ndarray, scale: np.ndarray) -> float:
    """How far the rows of G are from parallel to w: median sine of the angle (scaled coordinates)."""
    Gs, ws = G / scale, w / scale
    ws = ws / np.linalg.norm(ws)
    norms = np.linalg.norm(Gs, axis=1)
    rows = norms > 1e-6 * (np.median(norms) + 1e-300)
    cos = np.abs(Gs[rows] @ ws) / norms[rows]
    return float(np.median(np.sqrt(np.maximum(1.0 - cos**2, 0.0))))


def _integer_directions(k: int, max_support: int, weights=(1, 2, 3)):
    """Sparse integer vectors (first entry positive, gcd 1) over k coordinates, simplest first."""
    out = []
    for size in range(2, min(max_support, k) + 1):
        for S in itertools.combinations(range(k), size):
            for mags in itertools.product(weights, repeat=size):
                if math.gcd(*mags) != 1:
                    continue
                for signs in itertools.product((1, -1), repeat=size - 1):
                    d = np.zeros(k)
                    d[list(S)] = np.array(mags) * np.array((1, *signs))
                    out.append(d)
    out.sort(key=lambda d: (np.count_nonzero(d), np.abs(d).sum()))
    return np.array(out).reshape(-1, k)


def invariant_directions(f, X, lo, hi, *, tol: float, space: str = "log", max_support: int = 3):
    """Directions d along which ``f`` is invariant or scales: a generalised symmetry.

    In log space (positive inputs), ``sum_i d_i x_i df/dx_i = k f``: f(x * s**d) = s**k f(x),
    so ``f = x_r**(k/d_r) g(x_i * x_r**(-d_i/d_r), ...)`` has one input fewer (homogeneity,
    the ratio and product symmetries are d = (1, 1, ...), (1, -1); here any small integer
    weights, e.g. ``b*t`` and ``a/t`` in ``exp(-t/a)*cos(b*t)``).  In linear space
    ``sum_i d_i df/dx_i = 0``: f is constant along d, so ``x_i - (d_i/d_r) x_r`` replace x_i.
    Directions are sparse integer vectors (up to ``max_support`` inputs, weights up to 3)
    and the snapped least singular vector of the gradient matrix.  Returns ``[(d, k)]``
    (d an integer array, k a Fraction), simplest and best-fitting first.
    """
    n, kvars = X.shape
    probed = _probed_gradients(f, X, lo, hi, space)
    if probed is None:
        return []
    G, scale = probed
    live = scale > 1e-9 * scale.max()
    D = _integer_directions(kvars, max_support)
    Gn = G / scale
    _, sv, Vt = np.linalg.svd(np.column_stack([Gn, -np.ones(len(Gn))]) if space == "log" else Gn,
                              full_matrices=False)
    learned = Vt[-1][:kvars] / scale
    snapped = _snap_ratio(learned, tol=0.05) if np.all(np.isfinite(learned)) else None
    if snapped is not None:
        D = np.vstack([snapped.astype(float)[None], D])
    D = D[np.all(live | (D == 0), axis=1)]
    S = G @ D.T  # (n, m): sum_i d_i g_i
    ref = np.abs(G) @ np.abs(D.T) + 1e-300  # what the terms add up to, without cancelling
    out = []
    for j in range(D.shape[0]):
        s, r = S[:, j], np.median(ref[:, j])
        if space == "log":
            spread = _spread(s) / r
            deg = _simple_rational(float(np.median(s)), max(10 * tol, 1e-2))
        else:
            spread, deg = float(np.median(np.abs(s))) / r, Fraction(0)
        if spread < tol and deg is not None:
            out.append((spread, D[j].astype(int), deg))
    seen, result = set(), []
    for spread, d, deg in sorted(out, key=lambda t: (np.count_nonzero(t[1]), np.abs(t[1]).sum(), t[0])):
        key = tuple(d)
        if key not in seen:
            seen.add(key)
            result.append((d, deg))
    return result
