"""Sparse selection for the expression search: which few columns of a feature matrix explain a
target (sure-independence screening, then exhaustive pairs and triples from the Gram matrix,
then greedy growth), with row weights and, in log space, a preference within the noise for
subsets whose exponents are simple rationals.  The scheme is SISSO's SIS + l0 (Ouyang et al.
2018); see :mod:`._exprsearch` for how the subsets become formulas.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

__all__ = ["sparse_subsets"]


def _pair_scores(G, rp, P):
    """Explained sum of squares of every pair of the pool (closed form from the Gram matrix)."""
    iu, ju = np.triu_indices(len(P), 1)
    g = G[iu, ju]
    det = 1.0 - g * g
    expl = (rp[iu] ** 2 + rp[ju] ** 2 - 2 * g * rp[iu] * rp[ju]) / np.maximum(det, 1e-12)
    expl[det < 1e-9] = -np.inf  # collinear pair
    return iu, ju, expl


def _best_partners(An, r, order, *, head: int = 400, leaders: int = 48, per: int = 3) -> list[int]:
    """The best partners, over every column, of a few distinct leading columns.

    Two terms that nearly cancel (``eps/r**9 - eps/r**3``) may each correlate poorly with the
    target: one is among the leading columns, the other hundreds of places down, where the
    screened pool does not reach.  For up to ``leaders`` of the ``head`` best-correlated
    columns, none within |correlation| 0.9999 of one already taken (``exp(f)``, ``sin(f)`` and
    ``f`` are one leader for small ``f``), the explained sum of squares of the pair with every
    column is computed in closed form (one (leaders, m) product) and the ``per`` best partners
    of each are returned (column numbers of ``An``)."""
    top = np.asarray(order[:head])
    Gh = An[:, top].T @ An[:, top]
    chosen: list[int] = []
    for a in range(len(top)):
        if all(abs(Gh[a, b]) < 0.9999 for b in chosen):
            chosen.append(a)
            if len(chosen) >= leaders:
                break
    lead = top[chosen]
    g = An[:, lead].T @ An  # (L, m)
    rl, rm = r[lead][:, None], r[None, :]
    det = 1.0 - g * g
    with np.errstate(all="ignore"):
        expl = (rl**2 + rm**2 - 2 * g * rl * rm) / np.maximum(det, 1e-12)
    expl[det < 1e-9] = -np.inf
    part = np.argsort(-expl, axis=1)[:, :per]
    return [int(c) for c in part.ravel()]


def _triple_scores(G, rp, limit: int = 700_000):
    """Explained sum of squares of every triple of a small pool, by batched 3x3 solves."""
    combos = np.array(list(itertools.islice(itertools.combinations(range(len(rp)), 3), limit)))
    if len(combos) == 0:
        return combos, np.empty(0)
    Gs = G[combos[:, :, None], combos[:, None, :]]
    rs = rp[combos]
    ok = np.linalg.det(Gs) > 1e-9
    expl = np.full(len(combos), -np.inf)
    if ok.any():
        x = np.linalg.solve(Gs[ok], rs[ok][..., None])[..., 0]
        expl[ok] = np.einsum("ij,ij->i", rs[ok], x)
    return combos, expl


def _noise_band(sse: np.ndarray, n: int, tried: int) -> np.ndarray:
    """Indices of the subsets whose residual sum of squares is within the noise of the best.

    The best of ``tried`` subsets fitted on ``n`` rows absorbs about ``2*log(tried)`` noise
    variances more than the law (the largest of ``tried`` chi-square gains), so subsets with
    ``sse <= best * (1 + 2*log(tried)/n)`` are not told apart by the data: the cheapest of
    them are kept too (with noise, a law with simple exponents and a mimic with free ones fit
    the same on a few hundred rows)."""
    finite = np.isfinite(sse)
    if not finite.any():
        return np.empty(0, int)
    best = float(np.min(sse[finite]))
    width = 2.0 * np.log(max(tried, 2)) / max(n, 1)
    return np.flatnonzero(finite & (sse <= best * (1.0 + width) + 1e-300))


def _snapped(p: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Each exponent ``p`` as the simplest nonzero rational of denominator 1, 2 or 3 within
    ``max(0.04, 2.5 se)`` (at most 0.25) of it; NaN where there is none."""
    tol = np.clip(2.5 * se, 0.04, 0.25)
    out = np.full(len(p), np.nan)
    for q in (3, 2, 1):  # the simplest last, so that it wins
        k = np.round(p * q)
        hit = (k != 0) & (np.abs(p - k / q) <= tol)
        out[hit] = k[hit] / q
    return out


def _in_columns(out, index):
    """Subsets in the caller's column numbers, each once (with its least error), in order."""
    best: dict[tuple[int, ...], float] = {}
    for e, sub in out:
        key = tuple(int(index[j]) for j in sub)
        best[key] = min(best.get(key, np.inf), e)
    return [(e, key) for key, e in best.items()]


def sparse_subsets(A: np.ndarray, t: np.ndarray, *, max_terms: int = 3, keep: int = 6,
                   pool: int = 150, cheap: int = 400, costs=None, groups=None,
                   deadline: float | None = None, weights: np.ndarray | None = None,
                   snappable=None) -> list[tuple[float, tuple[int, ...]]]:
    """Column subsets of ``A`` (n, m) that best explain ``t`` with an intercept, by size.

    Sure-independence screening then exhaustive search among the screened columns.  The
    pool holds the ``pool`` columns most correlated with ``t``, for the leading few the
    columns most correlated with what they leave unexplained, and the first ``cheap``
    columns (the columns come cheapest first: terms that cancel each other, such as
    ``r**-12`` and ``r**-6``, correlate poorly alone); every pair of the pool is solved from
    its Gram matrix, every triple of a smaller pool by batched solves, and larger subsets
    grow the best ones by the column of largest gain.  Returns ``[(relative residual,
    subset)]``, up to ``keep`` per size by error and ``keep`` by error penalised by the
    columns' ``costs`` (``log(error) + 0.3*cost``: with few rows a contrived column can beat
    a simple one that misses a single outlier, and the simple one is what a larger subset
    completes).  The leading columns whose residuals are screened are the best overall and
    the best of each of ``groups`` (e.g. the set of inputs a feature uses: a product of
    factors in different inputs is found from a leader in each).  ``weights`` (n,) multiply
    the rows' residuals (weighted least squares, the intercept fitted too).  ``snappable``
    (m,) marks columns whose coefficient is an exponent (log space): among the pairs within
    the noise of the best, those whose exponents lie near simple rationals are kept too.
    """
    deadline = deadline if deadline is not None else time.perf_counter() + 5.0
    if weights is None:
        An, tc = A - A.mean(axis=0), t - t.mean()
    else:  # rows scaled by the weights, the (weighted) intercept projected out of every column and t
        w = np.asarray(weights, float)
        w2 = w * w / float(np.sum(w * w))
        An, tc = w[:, None] * (A - w2 @ A), w * (t - float(w2 @ t))
    colnorm = np.linalg.norm(An, axis=0)
    colnorm[colnorm == 0] = 1.0
    An = An / colnorm
    # columns equal up to scale and offset (f, 2*f, f + 1; log|f**3| in log space) are one
    proj = np.random.default_rng(0).standard_normal((2, An.shape[0])) @ An
    sign = np.where(proj[0] < 0, -1.0, 1.0)
    _, first = np.unique(np.round(proj * sign, 7), axis=1, return_index=True)
    first = np.sort(first)
    An, index, colnorm = An[:, first], first, colnorm[first]
    m = An.shape[1]
    cost = np.ones(m) if costs is None else np.asarray(costs, float)[first]
    tt = float(tc @ tc) or 1.0
    r = An.T @ tc  # correlations (unnormalised by |t|)
    rel = lambda v: float(np.sqrt(max(v, 0.0) / tt))  # noqa: E731
    out: list[tuple[float, tuple[int, ...]]] = []
    order = np.argsort(-np.abs(r))
    out += [(rel(tt - r[j] ** 2), (int(j),)) for j in order[:keep]]
    if max_terms < 2 or m < 2:
        return _in_columns(out, index)
    by_cost = np.argsort(cost, kind="stable")
    cand = list(order[:pool]) + list(by_cost[:cheap])
    leaders = list(order[:6])
    if groups is not None:  # the best column of each group (of the inputs used), best groups first
        g = np.asarray(groups)[first]
        seen: set = set()
        for j in order:
            if g[j] not in seen:
                seen.add(g[j])
                leaders.append(j)
            if len(seen) >= 8:
                break
    for j in dict.fromkeys(leaders):  # what the leading columns leave unexplained
        resid = tc - An[:, j] * r[j]
        cand += list(np.argsort(-np.abs(An.T @ resid))[: pool // 4])
    cand += _best_partners(An, r, order)
    P = np.asarray(list(dict.fromkeys(int(c) for c in cand)))
    G = An[:, P].T @ An[:, P]
    iu, ju, expl = _pair_scores(G, r[P], P)
    by_error = list(np.argsort(-expl)[:5])
    pen = np.log(np.sqrt(np.maximum(tt - expl, 1e-300) / tt) + 1e-15) + 0.3 * (cost[P[iu]] + cost[P[ju]])
    n = An.shape[0]
    simple_prev: list[tuple[int, ...]] = []
    band = _noise_band(tt - expl, n, len(expl))
    c2 = cost[P[iu]] + cost[P[ju]]
    best2 = [*by_error, *np.argsort(pen)[:5], *band[np.lexsort(((tt - expl)[band], c2[band]))][:keep]]
    if snappable is not None and len(band):  # within the noise, pairs whose exponents are simple
        snap = np.asarray(snappable, bool)[first]
        i, j = P[iu[band]], P[ju[band]]
        g = G[iu[band], ju[band]]
        det = np.maximum(1.0 - g * g, 1e-12)
        a, b = (r[i] - g * r[j]) / det, (r[j] - g * r[i]) / det
        se = np.sqrt(np.maximum(tt - expl[band], 0.0) / max(n - 3, 1) / det)
        pa = np.where(snap[i], _snapped(a / colnorm[i], se / colnorm[i]), a / colnorm[i])
        pb = np.where(snap[j], _snapped(b / colnorm[j], se / colnorm[j]), b / colnorm[j])
        ok = np.isfinite(pa) & np.isfinite(pb) & (snap[i] | snap[j])
        # the residual with the exponents snapped (the free ones kept): fit of the simple law
        ua, ub = pa * colnorm[i], pb * colnorm[j]
        with np.errstate(all="ignore"):
            sse = tt - 2 * ua * r[i] - 2 * ub * r[j] + ua**2 + ub**2 + 2 * ua * ub * g
        simple = np.flatnonzero(ok)
        if len(simple):  # ranked by description length: the fit, and the choice among the pairs as cheap
            cs = c2[band[simple]]
            levels, counts = np.unique(cs, return_counts=True)
            chooser = 2.0 * np.log(np.cumsum(counts))[np.searchsorted(levels, cs)]
            with np.errstate(all="ignore"):
                dl = n * np.log(np.maximum(sse[simple], 1e-300) / tt) + chooser
            chosen = band[simple[np.argsort(dl, kind="stable")]][:3 * keep]
            best2 += list(chosen)
            simple_prev = [(int(P[iu[b]]), int(P[ju[b]])) for b in chosen]
    best2 = list(dict.fromkeys(best2))
    pairs = [(int(P[iu[b]]), int(P[ju[b]])) for b in best2]
    out += [(rel(tt - expl[b]), p) for b, p in zip(best2, pairs)]
    prev = pairs
    if max_terms >= 3 and time.perf_counter() < deadline:
        small = list(dict.fromkeys([*order[:20], *by_cost[:50], *(j for p in pairs for j in p)]))[:80]
        S = np.asarray(small)
        combos, expl3 = _triple_scores(An[:, S].T @ An[:, S], r[S])
        best3 = []
        if len(combos):
            band = _noise_band(tt - expl3, n, len(expl3))
            c3 = cost[S[combos]].sum(axis=1)
            best3 = list(dict.fromkeys([*np.argsort(-expl3)[:keep],
                                        *band[np.lexsort(((tt - expl3)[band], c3[band]))][:keep]]))
        out += [(rel(tt - expl3[b]), tuple(sorted(int(S[c]) for c in combos[b]))) for b in best3]
    for size in range(3, max_terms + 1):
        if time.perf_counter() > deadline:
            break
        found: dict[tuple[int, ...], float] = {}
        simple_set = set(simple_prev[:8])
        for sub in dict.fromkeys([*prev[:8], *simple_prev[:8]]):
            if time.perf_counter() > deadline:
                break
            Q, _ = np.linalg.qr(An[:, list(sub)])
            resid = tc - Q @ (Q.T @ tc)
            proj = An.T @ np.column_stack([resid, Q])  # (m, 1 + size): one pass over the columns
            pn = 1.0 - np.einsum("ij,ij->i", proj[:, 1:], proj[:, 1:])  # columns have unit norm
            gain = np.where(pn > 1e-10, proj[:, 0] ** 2 / np.maximum(pn, 1e-300), 0.0)
            gain[list(sub)] = 0.0
            base = float(resid @ resid)
            top = np.argsort(-gain)
            grow = list(top[:8])
            if snappable is not None and sub in simple_set:  # and the columns that complete a simple law
                snap = np.asarray(snappable, bool)[first]
                trial = [(_snapped_sse(An, tc, colnorm, snap, (*sub, int(j))), int(j)) for j in top[:64]]
                grow += [j for v, j in sorted(trial) if np.isfinite(v)][:4]
            for j in dict.fromkeys(grow):
                key = tuple(sorted((*sub, int(j))))
                found[key] = min(found.get(key, np.inf), base - float(gain[j]))
        ranked = sorted(found.items(), key=lambda kv: kv[1])
        cheap_first = sorted(found.items(), key=lambda kv: np.log(rel(kv[1]) + 1e-15) + 0.3 * cost[list(kv[0])].sum())
        out += [(rel(v), k) for k, v in ranked[:keep]] + [(rel(v), k) for k, v in cheap_first[:keep]]
        prev = [k for k, _ in ranked[:5]] + [k for k, _ in cheap_first[:5]]
        if snappable is not None:  # the grown subsets whose exponents snap, best fit with them snapped
            snap = np.asarray(snappable, bool)[first]
            fits = [(_snapped_sse(An, tc, colnorm, snap, k), cost[list(k)].sum(), k) for k in found]
            fits = sorted((f for f in fits if np.isfinite(f[0])), key=lambda f: (f[0], f[1]))[:2 * keep]
            out += [(rel(found[k]), k) for _, _, k in fits]
            simple_prev = [k for _, _, k in fits]
    return _in_columns(out, index)


def _snapped_sse(An: np.ndarray, tc: np.ndarray, colnorm: np.ndarray, snap: np.ndarray, sub) -> float:
    """Residual sum of squares of ``tc`` on the columns ``sub`` of ``An`` with the coefficients
    of the ``snap`` columns (exponents: ``coefficient / colnorm``) at simple rationals and the
    others refitted; inf when an exponent is not near one or no column snaps."""
    sub = list(sub)
    if not snap[sub].any():
        return np.inf
    M = An[:, sub]
    coef, *_ = np.linalg.lstsq(M, tc, rcond=None)
    resid = tc - M @ coef
    dof = max(len(tc) - len(sub) - 1, 1)
    se = np.sqrt(np.maximum(np.diag(np.linalg.pinv(M.T @ M)), 0.0) * float(resid @ resid) / dof)
    p = np.where(snap[sub], _snapped(coef / colnorm[sub], se / colnorm[sub]), np.nan)
    fixed = snap[sub]
    if np.isnan(p[fixed]).any():
        return np.inf
    rest = tc - M[:, fixed] @ (p[fixed] * colnorm[sub][fixed])
    if (~fixed).any():
        c, *_ = np.linalg.lstsq(M[:, ~fixed], rest, rcond=None)
        rest = rest - M[:, ~fixed] @ c
    return float(rest @ rest)


