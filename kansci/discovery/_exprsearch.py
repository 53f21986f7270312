"""Expression search for what decomposition leaves unsplit: features, sparse models, refits.

A sub-problem of one to a few inputs that no separability or symmetry test splits is solved
by search.  Small expression trees are enumerated from the inputs (``_features``: unary
primitives and ``+ - * /``, cheapest first, deduplicated by their values on the probe rows),
and the law is sought as a sparse model over them, in two spaces:

* additive, ``T(y) = c0 + sum_k c_k f_k`` for ``T`` in {``y``, ``1/y``, ``y**2``, ``1/y**2``}: the coefficients
  are linear, so every subset is solved in closed form;
* multiplicative, ``log|y| = c0 + sum_k p_k log|f_k| + sum_k q_k g_k``, i.e.
  ``y = C prod |f_k|**p_k exp(sum q_k g_k)``: products, quotients, powers and exponential
  factors (``exp(-a*t)*sin(b*t)``) are linear in log space; exponents are snapped to simple
  rationals.

Subsets of up to ``max_terms`` features are chosen by sure-independence screening and an
exhaustive search among the screened ones (the SIS + l0 scheme of SISSO, Ouyang et al. 2018):
the columns most correlated with the target, and with what the leading ones leave
unexplained, then every pair or triple of them from the Gram matrix.  The best formulas are
built in sympy, their constants refitted by least squares (linear ones in closed form, the
rest by a few Levenberg-Marquardt steps) and returned ranked.  Complexity bound and time
budget are parameters.
"""

from __future__ import annotations

import itertools
import logging
import time
from fractions import Fraction

import numpy as np
import sympy

from .._evaluate import numpy_function
from .._timeout import CallTimeout, time_limit
from ..formula import complexity, refine_constants
from ._features import FeatureSpace, enumerate_features

__all__ = ["expression_search", "sparse_subsets", "rank_by_simplicity", "shortlist"]

log = logging.getLogger("kansci")


# ------------------------------------------------------------------ sparse selection
def _standardise(A: np.ndarray):
    mean = A.mean(axis=0)
    Ac = A - mean
    norm = np.linalg.norm(Ac, axis=0)
    norm[norm == 0] = 1.0
    return Ac / norm


def _pair_scores(G, rp, P):
    """Explained sum of squares of every pair of the pool (closed form from the Gram matrix)."""
    iu, ju = np.triu_indices(len(P), 1)
    g = G[iu, ju]
    det = 1.0 - g * g
    expl = (rp[iu] ** 2 + rp[ju] ** 2 - 2 * g * rp[iu] * rp[ju]) / np.maximum(det, 1e-12)
    expl[det < 1e-9] = -np.inf  # collinear pair
    return iu, ju, expl


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


def _in_columns(out, index):
    """Subsets in the caller's column numbers, each once (with its least error), in order."""
    best: dict[tuple[int, ...], float] = {}
    for e, sub in out:
        key = tuple(int(index[j]) for j in sub)
        best[key] = min(best.get(key, np.inf), e)
    return [(e, key) for key, e in best.items()]


def sparse_subsets(A: np.ndarray, t: np.ndarray, *, max_terms: int = 3, keep: int = 6,
                   pool: int = 150, cheap: int = 400, costs=None, groups=None,
                   deadline: float | None = None) -> list[tuple[float, tuple[int, ...]]]:
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
    factors in different inputs is found from a leader in each).
    """
    deadline = deadline if deadline is not None else time.perf_counter() + 5.0
    An = _standardise(A)
    # columns equal up to scale and offset (f, 2*f, f + 1; log|f**3| in log space) are one
    proj = np.random.default_rng(0).standard_normal((2, An.shape[0])) @ An
    sign = np.where(proj[0] < 0, -1.0, 1.0)
    _, first = np.unique(np.round(proj * sign, 7), axis=1, return_index=True)
    first = np.sort(first)
    An, index = An[:, first], first
    m = An.shape[1]
    cost = np.ones(m) if costs is None else np.asarray(costs, float)[first]
    tc = t - t.mean()
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
    P = np.asarray(list(dict.fromkeys(int(c) for c in cand)))
    G = An[:, P].T @ An[:, P]
    iu, ju, expl = _pair_scores(G, r[P], P)
    by_error = list(np.argsort(-expl)[:5])
    pen = np.log(np.sqrt(np.maximum(tt - expl, 1e-300) / tt) + 1e-15) + 0.3 * (cost[P[iu]] + cost[P[ju]])
    best2 = by_error + [b for b in np.argsort(pen)[:5] if b not in by_error]
    pairs = [(int(P[iu[b]]), int(P[ju[b]])) for b in best2]
    out += [(rel(tt - expl[b]), p) for b, p in zip(best2, pairs)]
    prev = pairs
    if max_terms >= 3 and time.perf_counter() < deadline:
        small = list(dict.fromkeys([*order[:20], *by_cost[:50], *(j for p in pairs for j in p)]))[:80]
        S = np.asarray(small)
        combos, expl3 = _triple_scores(An[:, S].T @ An[:, S], r[S])
        best3 = np.argsort(-expl3)[:keep] if len(combos) else []
        out += [(rel(tt - expl3[b]), tuple(sorted(int(S[c]) for c in combos[b]))) for b in best3]
    for size in range(3, max_terms + 1):
        if time.perf_counter() > deadline:
            break
        found: dict[tuple[int, ...], float] = {}
        for sub in prev[:8]:
            if time.perf_counter() > deadline:
                break
            Q, _ = np.linalg.qr(An[:, list(sub)])
            resid = tc - Q @ (Q.T @ tc)
            proj = An.T @ np.column_stack([resid, Q])  # (m, 1 + size): one pass over the columns
            pn = 1.0 - np.einsum("ij,ij->i", proj[:, 1:], proj[:, 1:])  # columns have unit norm
            gain = np.where(pn > 1e-10, proj[:, 0] ** 2 / np.maximum(pn, 1e-300), 0.0)
            gain[list(sub)] = 0.0
            base = float(resid @ resid)
            for j in np.argsort(-gain)[:8]:
                key = tuple(sorted((*sub, int(j))))
                found[key] = min(found.get(key, np.inf), base - float(gain[j]))
        ranked = sorted(found.items(), key=lambda kv: kv[1])
        cheap_first = sorted(found.items(), key=lambda kv: np.log(rel(kv[1]) + 1e-15) + 0.3 * cost[list(kv[0])].sum())
        out += [(rel(v), k) for k, v in ranked[:keep]] + [(rel(v), k) for k, v in cheap_first[:keep]]
        prev = [k for k, _ in ranked[:5]] + [k for k, _ in cheap_first[:5]]
    return _in_columns(out, index)


# ------------------------------------------------------------------ formulas
def _snap_exponent(p: float, tol: float = 0.04) -> sympy.Rational | None:
    for q in (1, 2, 3):
        f = Fraction(p).limit_denominator(q)
        if abs(float(f) - p) <= tol:
            return sympy.Rational(f.numerator, f.denominator)
    return None


def _rel_err(pred: np.ndarray, y: np.ndarray) -> float:
    if pred is None or not np.all(np.isfinite(pred)):
        return np.inf
    return float(np.sqrt(np.mean((pred - y) ** 2)) / (np.std(y) or np.sqrt(np.mean(y**2)) or 1.0))


class _Evaluator:
    """Feature values on all rows (the enumeration used a subsample)."""

    def __init__(self, space: FeatureSpace, X: np.ndarray) -> None:
        self.space, self.X = space, X
        self.cache: dict[int, np.ndarray] = {}

    def __call__(self, i: int) -> np.ndarray:
        if i not in self.cache:
            try:
                with np.errstate(all="ignore"):
                    v = numpy_function(self.space.expr(i), self.space.symbols)(*self.X.T)
                self.cache[i] = np.broadcast_to(np.asarray(v, float), (len(self.X),))
            except (ValueError, TypeError):  # a feature numpy cannot evaluate on every row
                self.cache[i] = np.full(len(self.X), np.nan)
        return self.cache[i]


def _additive(space, ev, subset, y, transform):
    """``T^-1(c0 + sum c_k f_k)`` with the c fitted on all rows; (error, expr)."""
    name, fwd, inv = transform
    cols = [ev(i) for i in subset]
    with np.errstate(all="ignore"):
        t = fwd(y)
    A = np.column_stack([np.ones(len(y)), *cols])
    if not np.all(np.isfinite(A)):
        return np.inf, None
    coef, *_ = np.linalg.lstsq(A, t, rcond=None)
    terms = [sympy.Float(float(c)) * space.expr(i) for c, i in zip(coef[1:], subset)]
    body = sympy.Float(float(coef[0])) + sympy.Add(*terms)
    with np.errstate(all="ignore"):
        pred = inv(A @ coef)
    sign = float(np.sign(y[0]))
    expr = {"y": body, "1/y": 1 / body, "y^2": sign * sympy.sqrt(body), "1/y^2": sign / sympy.sqrt(body)}[name]
    return _rel_err(sign * pred if name in ("y^2", "1/y^2") else pred, y), expr


_ADDITIVE = (  # in the order they are tried (the log|y| space comes second)
    ("y", lambda y: y, lambda v: v),
    ("y^2", lambda y: y**2, np.sqrt),  # norms and distances: the square is a sum
    ("1/y", lambda y: 1.0 / y, lambda v: 1.0 / v),
    ("1/y^2", lambda y: 1.0 / y**2, lambda v: 1.0 / np.sqrt(v)),  # resonance amplitudes
)


def _multiplicative(space, ev, subset, kinds, coefs, y):
    """``C prod f**p exp(sum q g)`` with snapped exponents, C fitted; [(error, expr)] (snapped, raw)."""
    out = []
    for snap in (True, False):
        factors, vals = [], []
        for i, kind, c in zip(subset, kinds, coefs):
            f, v = space.expr(i), ev(i)
            if kind == "exp":
                q = sympy.Float(float(c))
                factors.append(sympy.exp(q * f))
                with np.errstate(all="ignore"):
                    vals.append(np.exp(float(c) * v))
                continue
            p = _snap_exponent(float(c)) if snap else sympy.Float(float(c))
            if p is None or p == 0:
                break
            crosses = np.any(v < 0) and np.any(v > 0)
            if crosses and not (p.is_Integer if snap else False):
                break
            base = f if crosses or np.all(v > 0) else -f
            bv = v if crosses or np.all(v > 0) else -v
            factors.append(base**p)
            with np.errstate(all="ignore"):
                vals.append(bv ** float(p))
        else:
            m = np.prod(vals, axis=0) if vals else np.ones(len(y))
            if np.all(np.isfinite(m)):
                C = float(np.dot(m, y) / (np.dot(m, m) or 1.0))
                out.append((_rel_err(C * m, y), sympy.Float(C) * sympy.Mul(*factors)))
    return out


def _additive_phase(space, ev, ys, y, tr, max_terms, deadline):
    with np.errstate(all="ignore"):
        t = tr[1](ys)
    if not np.all(np.isfinite(t)) or (tr[0] != "y" and not np.all(np.abs(ys) > 1e-12 * np.abs(ys).max())):
        return []
    if tr[0] in ("y^2", "1/y^2") and not (np.all(ys > 0) or np.all(ys < 0)):
        return []
    subsets = sparse_subsets(space.values.T, t, max_terms=max_terms, costs=space.costs, groups=space.masks,
                             deadline=deadline)
    return [_additive(space, ev, subset, y, tr) for _, subset in subsets]


def _multiplicative_phase(space, ev, ys, y, max_terms, deadline):
    big = np.abs(ys) > 1e-3 * np.abs(ys).max()
    if big.sum() < 8:
        return []
    A, meta = _log_columns(space, space.values, big)
    if not A.shape[1]:
        return []
    ly = np.log(np.abs(ys[big]))
    costs = [space.costs[i] + (1 if kind == "exp" else 0) for i, kind in meta]
    out = []
    groups = [space.masks[i] for i, _ in meta]
    for _, subset in sparse_subsets(A, ly, max_terms=max_terms, costs=costs, groups=groups, deadline=deadline):
        An = np.column_stack([np.ones(len(ly)), A[:, list(subset)]])
        coef, *_ = np.linalg.lstsq(An, ly, rcond=None)
        out += _multiplicative(space, ev, [meta[j][0] for j in subset], [meta[j][1] for j in subset], coef[1:], y)
    return out


def _log_columns(space, V, rows_ok):
    """Columns of the multiplicative space: log|f| (f without zeros) and f (exp factors)."""
    with np.errstate(all="ignore"):
        L = np.log(np.abs(V[:, rows_ok]))
    okL = np.all(np.isfinite(L), axis=1)
    cost = np.asarray(space.costs)
    okE = np.all(np.abs(V[:, rows_ok]) < 50, axis=1) & (cost <= 5)
    idx_l, idx_e = np.flatnonzero(okL), np.flatnonzero(okE)
    A = np.concatenate([L[idx_l], V[idx_e][:, rows_ok]]).T
    meta = [(int(i), "pow") for i in idx_l] + [(int(i), "exp") for i in idx_e]
    return A, meta


def expression_search(X: np.ndarray, y: np.ndarray, symbols, *, max_complexity: int = 25,
                      max_terms: int = 4, time_budget: float = 5.0, max_cost: int | None = None,
                      max_features: int = 20000, rows: int = 256, refine: int = 6, tol: float = 1e-9,
                      rng: np.random.Generator | None = None) -> list[tuple[float, sympy.Expr]]:
    """Formulas for ``y(X)`` found by expression search, ``[(relative error, expr)]``, best first.

    Parameters
    ----------
    X : (n, k) inputs; y : (n,) target; symbols : the k input symbols.
    max_complexity : largest node count (:func:`kansci.formula.complexity`) of a returned formula.
    max_terms : most features in one sparse model.
    time_budget : seconds; enumeration, selection and refits stop when they are spent.
    max_cost : node bound of a feature (default: 7 for one input, 6 for two or three, 5 for more; the
        enumeration also stops at ``max_features``).
    rows : probe rows used for the enumeration and the selection (a random subset).
    refine : how many of the best formulas get a Levenberg-Marquardt refit of all constants.
    tol : relative error below which formulas count as equally good (the simplest first).
    rng : numpy Generator (row subset, pair sampling).

    Returns
    -------
    list of (relative RMSE on all rows, sympy.Expr), the error relative to ``std(y)``.
    """
    start = time.perf_counter()
    deadline = start + time_budget
    rng = rng if rng is not None else np.random.default_rng(0)
    X, y = np.asarray(X, float), np.asarray(y, float)
    k = X.shape[1]
    if k == 0 or not np.all(np.isfinite(y)) or np.ptp(y) == 0:
        return []
    sub = rng.choice(len(y), size=min(rows, len(y)), replace=False)
    Xs, ys = X[sub], y[sub]
    # stand-ins with what the data say about signs (sqrt(x**2) is x only for x > 0)
    given = list(symbols)
    stand = [sympy.Dummy(str(s), positive=True) if np.all(X[:, j] > 0) else sympy.Dummy(str(s), real=True)
             for j, s in enumerate(given)]
    back = dict(zip(stand, given))
    symbols = stand
    max_cost = max_cost or {1: 7, 2: 6, 3: 6}.get(k, 5)
    space = enumerate_features(Xs, symbols, max_cost=max_cost, max_features=max_features,
                               deadline=start + 0.35 * time_budget, rng=rng)
    log.debug("expression search: %d features (cost <= %d) in %.2fs", len(space), max_cost, time.perf_counter() - start)
    ev = _Evaluator(space, X)
    found: list[tuple[float, sympy.Expr]] = []
    phases = [lambda d, tr=tr: _additive_phase(space, ev, ys, y, tr, max_terms, d) for tr in _ADDITIVE]
    phases.insert(1, lambda d: _multiplicative_phase(space, ev, ys, y, max_terms, d))
    for i, phase in enumerate(phases):  # y, log|y|, y**2, 1/y, 1/y**2: each a fair share of what is left
        now = time.perf_counter()
        if now > deadline:
            break
        found += phase(now + 0.85 * (deadline - now) / (len(phases) - i))
        if found and min(e for e, _ in found) <= 0.1 * tol:  # an exact fit: the rest cannot do better
            break
    found = [(e, f) for e, f in found if f is not None and np.isfinite(e)]
    found = [(e, f) for e, f in found if complexity(f) <= max_complexity]
    found = shortlist(_dedupe(found), 30, 15)
    out = []
    for i, (err, expr) in enumerate(found):
        if i < refine and err > 1e-10 and time.perf_counter() < deadline:
            err, expr = _refit(expr, symbols, X, y, max(deadline - time.perf_counter(), 0.05))
        out.append((err, expr))
    out = rank_by_simplicity([(e, f.xreplace(back)) for e, f in out], tol)
    log.debug("expression search: best %.2e %s (%.2fs)", out[0][0] if out else np.inf, out[0][1] if out else None,
              time.perf_counter() - start)
    return out


def shortlist(found, by_error: int, by_simplicity: int) -> list:
    """The ``by_error`` most accurate formulas, then the ``by_simplicity`` best by
    ``log(error) + 0.3*complexity`` not among them: with noise, mimics fit a little better than
    the law, which must not be lost."""
    acc = sorted(found, key=lambda t: (t[0], complexity(t[1])))
    out = acc[:by_error]
    simple = sorted(acc[by_error:], key=lambda t: np.log(t[0] + 1e-15) + 0.3 * complexity(t[1]))
    return out + simple[:by_simplicity]


def rank_by_simplicity(found, tol: float = 1e-9):
    """Best first: formulas within ``max(10*best, tol)`` of the best error by complexity, then the rest."""
    if not found:
        return []
    best = min(e for e, _ in found)
    cut = max(10 * best, tol)
    return sorted(found, key=lambda t: (t[0] > cut, complexity(t[1]) if t[0] <= cut else 0, t[0]))


def _dedupe(found):
    seen, out = set(), []
    for e, f in found:
        if f in seen:
            continue
        seen.add(f)
        out.append((e, f))
    return out


def _refit(expr, symbols, X, y, seconds):
    try:
        with time_limit(min(seconds, 1.0)):
            new, _ = refine_constants(expr, symbols, X, y)
    except (Exception, CallTimeout):  # keep the closed-form constants
        return _rel_err(_predict(expr, symbols, X), y), expr
    return _rel_err(_predict(new, symbols, X), y), new


def _predict(expr, symbols, X):
    try:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(numpy_function(expr, symbols)(*X.T), float), (len(X),))
    except Exception:  # an expression numpy cannot evaluate
        return None

