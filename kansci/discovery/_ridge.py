"""Ridge decomposition of a two-input sub-problem: ``f = g1(w1 . x) + g2(w2 . x)``.

A sum in which a term depends on a combination of the inputs (``cos(a + b)/3 + cos(a)``,
``exp(-(x - m)**2/2) + m/3``) is separable, but in rotated coordinates ``u = w1 . x``,
``v = w2 . x``.  The directions come from the surrogate's curvature: the Hessian of such an
f is ``g1'' w1 w1^T + g2'' w2 w2^T`` at every point, so the Hessians span only two of the
three dimensions of symmetric 2x2 matrices; the matrix N orthogonal to them all has
``w^T N w = 0`` exactly for w1 and w2 (its isotropic directions).  The same on ``log|f|``
finds products ``g1(w1 . x) * g2(w2 . x)``.  Directions are snapped to small integer ratios;
``g1`` and ``g2`` are then read off by an additive least-squares fit on cubic B-spline bases
in u and v over points inside the data's box (so the surrogate is never extrapolated), and
each is solved as a one-input leaf.  (Projection-pursuit regression, Friedman and Stuetzle
1981, with the projections taken from the Hessian instead of a search.)
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.interpolate import BSpline

from ._probes import _snap_ratio
from ._subproblem import Node, _combine, _good, _ranked

__all__ = ["ridge_directions", "try_ridge"]

log = logging.getLogger("kansci")


def _hessians(f, X, lo, hi, step: float = 0.03):
    """Second derivatives (n, 3): f_xx, f_xy, f_yy in unit coordinates, by central differences."""
    span = hi - lo
    h = step * span
    Xc = np.clip(X, lo + h, hi - h)
    e1, e2 = np.array([h[0], 0.0]), np.array([0.0, h[1]])
    pts = [Xc, Xc + e1, Xc - e1, Xc + e2, Xc - e2, Xc + e1 + e2, Xc - e1 - e2, Xc + e1 - e2, Xc - e1 + e2]
    with np.errstate(all="ignore"):
        v = np.asarray(f(np.concatenate(pts)), float).reshape(9, len(X))
    fxx = (v[1] - 2 * v[0] + v[2]) / step**2
    fyy = (v[3] - 2 * v[0] + v[4]) / step**2
    fxy = (v[5] + v[6] - v[7] - v[8]) / (4 * step**2)
    return np.column_stack([fxx, fxy, fyy]), v[0]


def ridge_directions(f, X, lo, hi, *, tol: float, log_space: bool = False) -> list:
    """Candidate ``(w1, w2)`` in the inputs' units for ``f = g1(w1 . x) + g2(w2 . x)`` (of ``log|f|``).

    The isotropic pair first; then each curved direction with each input axis (a term with
    no curvature, ``m/3`` in ``exp(-(x - m)**2/2) + m/3``, is linear in any direction, and
    the axis it lies along keeps the other function free of it).  Empty when the Hessians
    span all three dimensions.
    """
    g = (lambda Z: np.log(np.abs(f(Z)))) if log_space else f
    H, f0 = _hessians(g, X, lo, hi)
    ok = np.all(np.isfinite(H), axis=1)
    if ok.sum() < 12:
        return []
    H = H[ok]
    norms = np.linalg.norm(H, axis=1)
    H = H[norms > 1e-8 * (np.median(norms) + 1e-300)]
    if len(H) < 12:
        return []
    _, sv, Vt = np.linalg.svd(H / np.linalg.norm(H, axis=1, keepdims=True), full_matrices=False)
    if sv[-1] / sv[0] > tol:  # the Hessians span all three dimensions: no ridge sum
        return []
    curved = []
    if sv[1] / sv[0] <= tol:  # one curved ridge, H ~ w1 w1^T
        h11, h12, h22 = Vt[0]
        curved.append(np.array([np.sqrt(abs(h11)), np.sign(h12 * h11) * np.sqrt(abs(h22))]))
    else:
        n11, n12, n22 = Vt[-1]
        disc = n12**2 - 4 * n11 * n22
        if disc > 0:  # isotropic directions (a, b) of n11 a^2 + n12 a b + n22 b^2 (unit coordinates)
            if abs(n11) > 1e-12:
                curved = [np.array([(-n12 + s * np.sqrt(disc)) / (2 * n11), 1.0]) for s in (1, -1)]
            else:
                curved = [np.array([1.0, 0.0]), np.array([-n22 / n12, 1.0])]
    raw = [_raw(d, hi - lo) for d in curved]
    pairs = [tuple(raw)] if len(raw) == 2 else []
    pairs += [(w, axis) for w in raw for axis in np.eye(2) if np.count_nonzero(np.abs(w) > 1e-12) == 2]
    return [(a, b) for a, b in pairs
            if abs(np.dot(a, b)) < 0.999 * np.linalg.norm(a) * np.linalg.norm(b)]


def _raw(d: np.ndarray, span: np.ndarray) -> np.ndarray:
    """A direction in unit coordinates as weights on the raw inputs, snapped to small integer ratios."""
    w = d / span
    snapped = _snap_ratio(w, tol=0.03)
    return snapped.astype(float) if snapped is not None else w / w[np.argmax(np.abs(w))]


def _basis(t, lo, hi, n_knots: int = 14):
    inner = np.linspace(lo, hi, n_knots)
    knots = np.concatenate([[lo] * 3, inner, [hi] * 3])
    t = np.clip(t, lo, hi)
    B = BSpline.design_matrix(t, knots, 3).toarray()
    return B, knots


def _spline(coef, knots):
    spl = BSpline(knots, coef, 3, extrapolate=True)
    return lambda Z: spl(Z[:, 0])


def _in_box_points(node, rng, n: int = 3000):
    return node.lo + rng.random((n, len(node.lo))) * (node.hi - node.lo)


def try_ridge(node, y, search) -> list:
    """Formulas ``g1(w1 . x) + g2(w2 . x)`` (or a product) for a two-input node."""

    if len(node.syms) != 2 or search.out_of_time():
        return []
    tol = max(3 * search.eps, 5e-3)
    out = []
    for log_space in (False, True):
        if log_space and not (np.all(y > 0) or np.all(y < 0)):
            continue
        pairs = ridge_directions(node.f, node.X[:200], node.lo, node.hi, tol=tol, log_space=log_space)
        for dirs in pairs[:4]:
            if all(np.count_nonzero(np.abs(w) > 1e-12) == 1 for w in dirs) or search.out_of_time():
                continue  # both along the axes: the ordinary separability test's case
            out += _ridge_split(node, y, search, np.vstack(dirs), log_space)
            if _good(_ranked(out, node, y, search.tol), search):
                return out
    return out


def _ridge_split(node, y, search, W, log_space) -> list:
    """Fit ``g1(u) + g2(v)`` (of ``log|f|``) on spline bases, solve both, combine."""
    from ._reductions import _combination, _dummy

    P = _in_box_points(node, search.rng)
    with np.errstate(all="ignore"):
        fp = np.asarray(node.f(P), float)
        target = np.log(np.abs(fp)) if log_space else fp
    UV = P @ W.T
    parts, children = [], []
    B1, k1 = _basis(UV[:, 0], UV[:, 0].min(), UV[:, 0].max())
    B2, k2 = _basis(UV[:, 1], UV[:, 1].min(), UV[:, 1].max())
    A = np.column_stack([B1, B2[:, 1:]])  # one constant, in the first basis
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    fit_err = np.sqrt(np.mean((A @ coef - target) ** 2)) / (np.std(target) or 1.0)
    if not np.isfinite(fit_err) or fit_err > max(15 * search.eps, 1e-2):
        return []
    c1 = coef[: B1.shape[1]]
    c2 = np.concatenate([[0.0], coef[B1.shape[1]:]])
    Xuv = node.X @ W.T
    syms = [node.syms[0], node.syms[1]]
    for j, (c, knots) in enumerate(((c1, k1), (c2, k2))):
        g = _spline(c, knots)
        gf = (lambda Z, _g=g: np.exp(_g(Z))) if log_space else g
        u = _dummy(f"ridge{j}_" + "_".join(map(str, syms)), Xuv[:, j])
        child = Node(gf, [u], np.array([Xuv[:, j].min()]), np.array([Xuv[:, j].max()]), Xuv[:, [j]], node.depth + 1)
        found = search.solve(child)
        back = {u: _combination(syms, W[j], "linear")}
        children.append([(e, ex.xreplace(back)) for e, ex in found])
        parts.append(str(back[u]))
    log.debug("depth %d: ridge %s of %s", node.depth, "product" if log_space else "sum", parts)
    search.trail.note(f"ridge {'product' if log_space else 'sum'} of functions of {parts[0]} and {parts[1]}")
    return _combine(node, y, children, "mul" if log_space else "add", search)
