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

import logging
import time
from fractions import Fraction

import numpy as np
import sympy

from .._evaluate import numpy_function
from .._timeout import CallTimeout, time_limit
from ..formula import complexity, refine_constants
from ._features import FeatureSpace, enumerate_features
from ._sparse import sparse_subsets

__all__ = ["expression_search", "sparse_subsets", "rank_by_simplicity", "shortlist"]

log = logging.getLogger("kansci")


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
    w = _row_weights(name, y)
    w = np.ones(len(y)) if w is None else w
    coef, *_ = np.linalg.lstsq(A * w[:, None], t * w, rcond=None)
    with np.errstate(all="ignore"):
        pred = inv(A @ coef)
    if name in ("y^2", "1/y^2") and not np.all(np.isfinite(pred)):
        # a sum of squares that reaches zero (a distance between nearby points): the fitted
        # intercept, slightly negative within the noise, puts the square root's argument below
        # zero on a few rows; the law has no intercept, so the fit through the origin is tried
        coef = np.concatenate([[0.0], np.linalg.lstsq(A[:, 1:] * w[:, None], t * w, rcond=None)[0]])
        with np.errstate(all="ignore"):
            pred = inv(A @ coef)
    terms = [sympy.Float(float(c)) * space.expr(i) for c, i in zip(coef[1:], subset)]
    body = sympy.Float(float(coef[0])) + sympy.Add(*terms)
    sign = float(np.sign(y[0]))
    expr = {"y": body, "1/y": 1 / body, "y^2": sign * sympy.sqrt(body), "1/y^2": sign / sympy.sqrt(body)}[name]
    return _rel_err(sign * pred if name in ("y^2", "1/y^2") else pred, y), expr


_ADDITIVE = (  # in the order they are tried (the log|y| space comes second)
    ("y", lambda y: y, lambda v: v),
    ("y^2", lambda y: y**2, np.sqrt),  # norms and distances: the square is a sum
    ("1/y", lambda y: 1.0 / y, lambda v: 1.0 / v),
    ("1/y^2", lambda y: 1.0 / y**2, lambda v: 1.0 / np.sqrt(v)),  # resonance amplitudes
)
#: Row weights ``1/|dT/dy|`` of each space (``|y|`` for log|y|): a residual in ``T(y)`` times the
#: weight is, to first order, the residual in ``y``, so that noise of constant size in ``y``
#: (heteroscedastic in ``T(y)``) does not let the rows where ``T`` magnifies it decide the fit
#: (weighted linearised least squares, the delta method).
_WEIGHTS = {
    "y": None,
    "y^2": lambda y: 1.0 / np.abs(y),
    "1/y": lambda y: y**2,
    "1/y^2": lambda y: np.abs(y) ** 3,
    "log": np.abs,
}


def _row_weights(name: str, y: np.ndarray) -> np.ndarray | None:
    """The rows' weights in space ``name`` (None: unweighted), scaled to mean 1; None where
    they are not finite and positive."""
    f = _WEIGHTS[name]
    if f is None:
        return None
    with np.errstate(all="ignore"):
        w = f(y)
    if not np.all(np.isfinite(w)) or not np.all(w > 0):
        return None
    return w / float(np.mean(w))


def _snapped_exponents(A: np.ndarray, t: np.ndarray, pows: list[bool], weights=None) -> list[list]:
    """Exponent vectors for ``t = c0 + A @ p`` (log space): the least-squares one and the one
    whose power exponents are snapped to simple rationals, one at a time.

    The exponent nearest a simple rational, in standard errors, is fixed first and the others
    are refitted with it fixed: correlated factors (``w`` and ``w**2 - 1``) trade exponent
    within the noise, and an exponent snapped on its own would drag the rest.  An exponent
    snaps within ``max(0.04, 2.5 standard errors)`` (at most 0.25).  Returns up to two vectors
    (floats for free exponents and exponential rates, ``sympy.Rational`` for snapped ones).
    ``weights`` (n,) multiply the rows' residuals."""
    n, k = A.shape
    if weights is not None:
        A, t = A * weights[:, None], t * weights
    one = np.ones(n) if weights is None else weights
    free = list(range(k))
    fixed: dict[int, sympy.Rational] = {}
    raw = None
    while True:
        offset = A[:, list(fixed)] @ np.array([float(v) for v in fixed.values()]) if fixed else 0.0
        M = np.column_stack([one, A[:, free]])
        coef, *_ = np.linalg.lstsq(M, t - offset, rcond=None)
        resid = t - offset - M @ coef
        s2 = float(resid @ resid) / max(n - M.shape[1], 1)
        try:
            cov = s2 * np.linalg.pinv(M.T @ M)
        except np.linalg.LinAlgError:
            return [raw] if raw else []
        se = np.sqrt(np.maximum(np.diag(cov)[1:], 0.0))
        current = dict(zip(free, coef[1:]))
        if raw is None:
            raw = [float(current[j]) for j in range(k)]
        best = None
        for pos, j in enumerate(free):
            if not pows[j]:
                continue
            tol = float(min(max(0.04, 2.5 * se[pos]), 0.25))
            r = _snap_exponent(float(current[j]), tol)
            if r is None or r == 0:
                continue
            z = abs(float(r) - current[j]) / max(se[pos], 1e-15)
            if best is None or z < best[0]:
                best = (z, j, r)
        if best is None:
            break
        fixed[best[1]] = best[2]
        free.remove(best[1])
        if not free:
            current = {}
            break
    if not any(pows[j] and j not in fixed for j in range(k)) and fixed:
        snapped = [fixed[j] if j in fixed else float(current[j]) for j in range(k)]
        return [snapped, raw]
    return [raw]


def _multiplicative(space, ev, subset, kinds, vectors, y):
    """``C prod f**p exp(sum q g)`` for each exponent vector, C fitted; [(error, expr)]."""
    out = []
    for coefs in vectors:
        factors, vals = [], []
        for i, kind, c in zip(subset, kinds, coefs):
            f, v = space.expr(i), ev(i)
            if kind == "exp":
                q = sympy.Float(float(c))
                factors.append(sympy.exp(q * f))
                with np.errstate(all="ignore"):
                    vals.append(np.exp(float(c) * v))
                continue
            p = c if isinstance(c, sympy.Rational) else sympy.Float(float(c))
            if p == 0:
                break
            crosses = np.any(v < 0) and np.any(v > 0)
            if crosses and not p.is_Integer:
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
    subsets = _both_ways(space.values.T, t, _row_weights(tr[0], ys), max_terms=max_terms, costs=space.costs,
                         groups=space.masks, deadline=deadline)
    return [_additive(space, ev, subset, y, tr) for subset in subsets]


def _scaled_phase(space, ev, Xs, X, ys, y, j, power, symbol, max_terms, deadline):
    """``y = x_j**power * (c0 + sum c_k f_k)``: an input's power factored out of an additive model.

    A law proportional to one input times a sum (``2*U*(1 - cos(k*d))``) is a sum only after
    the division, and its terms times the input are features too costly to enumerate.  The
    subsets are chosen for ``y / x_j**power`` with row weights ``|x_j**power|`` (the residual in
    ``y`` to first order); the coefficients are then fitted to ``y`` itself on every row."""
    with np.errstate(all="ignore"):
        s_probe, s_all = Xs[:, j] ** power, X[:, j] ** power
        t = ys / s_probe
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s_all))):
        return []
    w = np.abs(s_probe) / float(np.mean(np.abs(s_probe)))
    out = []
    for subset in _both_ways(space.values.T, t, w, max_terms=max_terms, costs=space.costs, groups=space.masks,
                             deadline=deadline):
        A = np.column_stack([s_all, *[s_all * ev(i) for i in subset]])
        if not np.all(np.isfinite(A)):
            continue
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        body = sympy.Float(float(coef[0])) + sympy.Add(*[sympy.Float(float(c)) * space.expr(i)
                                                          for c, i in zip(coef[1:], subset)])
        out.append((_rel_err(A @ coef, y), symbol**power * body))
    return out


def _factored_inputs(X: np.ndarray) -> list[int]:
    """Inputs that can be factored out of a law: of one sign and bounded away from zero."""
    if X.shape[1] < 2:
        return []
    a = np.abs(X)
    one_sign = np.all(X > 0, axis=0) | np.all(X < 0, axis=0)
    return [j for j in range(X.shape[1]) if one_sign[j] and a[:, j].min() >= 1e-3 * a[:, j].max()]


def _screened_scales(space, Xs, ys, inputs, keep: int = 2) -> list[tuple[int, int]]:
    """The ``keep`` most promising ``(input, power)`` of :func:`_scaled_phase`.

    Each scaled target ``y/x_j**power`` (power 1 or -1) is scored by the
    largest squared correlation of one feature with it (the first step of sure-independence
    screening): a law that is an input times a sum of few terms leaves one of them nearly
    explained by a single feature.  Only the best ``keep`` get a search, so that the cost does
    not grow with the number of inputs."""
    if not inputs:
        return []
    V = space.values
    Vc = V - V.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(Vc, axis=1)
    norms[norms == 0] = np.inf
    scored = []
    for power in (1, -1):
        for j in inputs:
            with np.errstate(all="ignore"):
                t = ys / Xs[:, j] ** power
            if not np.all(np.isfinite(t)) or np.ptp(t) == 0:
                continue
            tc = t - t.mean()
            r = (Vc @ tc) / (norms * np.linalg.norm(tc))
            scored.append((float(np.max(r * r)), j, power))
    scored.sort(key=lambda c: -c[0])
    return [(j, power) for _, j, power in scored[:keep]]


def _both_ways(A, t, weights, *, deadline, snappable=None, **kw) -> list[tuple[int, ...]]:
    """The subsets :func:`sparse_subsets` selects unweighted and, in the remaining time, with
    the space's row weights (where noise of constant size in ``y`` is not constant in ``t``)."""
    first = [s for _, s in sparse_subsets(A, t, deadline=deadline, **kw)]
    if weights is None or time.perf_counter() > deadline:
        return first
    now = time.perf_counter()
    second = [s for _, s in sparse_subsets(A, t, deadline=now + 0.8 * (deadline - now), weights=weights,
                                           snappable=snappable, **kw)]
    return list(dict.fromkeys([*first, *second]))


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
    # the subsets are chosen on the probe rows; their exponents are fitted on every row
    every = np.abs(y) > 1e-3 * np.abs(y).max()
    ly_all = np.log(np.abs(y[every]))
    for subset in _both_ways(A, ly, _row_weights("log", ys[big]), max_terms=max_terms, costs=costs, groups=groups,
                             deadline=deadline, snappable=[kind == "pow" for _, kind in meta]):
        idx, kinds = [meta[j][0] for j in subset], [meta[j][1] for j in subset]
        with np.errstate(all="ignore"):
            cols = [np.log(np.abs(ev(i)[every])) if kind == "pow" else ev(i)[every] for i, kind in zip(idx, kinds)]
        Af = np.column_stack(cols)
        if not np.all(np.isfinite(Af)):
            continue
        vectors = _snapped_exponents(Af, ly_all, [kind == "pow" for kind in kinds], _row_weights("log", y[every]))
        out += _multiplicative(space, ev, idx, kinds, vectors, y)
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
    phases += [lambda d, j=j, q=q: _scaled_phase(space, ev, Xs, X, ys, y, j, q, symbols[j], max_terms, d)
               for j, q in _screened_scales(space, Xs, ys, _factored_inputs(X))]
    # y, log|y|, y**2, 1/y, 1/y**2, then y/x_j**(+-1) for the best two: each a fair share of what is left
    for i, phase in enumerate(phases):
        now = time.perf_counter()
        if now > deadline:
            break
        found += phase(now + 0.85 * (deadline - now) / (len(phases) - i))
        if found and min(e for e, _ in found) <= 0.1 * tol:  # an exact fit: the rest cannot do better
            break
    found = [(e, f) for e, f in found if f is not None and np.isfinite(e)]
    found = [(e, f) for e, f in found if complexity(f) <= max_complexity]
    found = shortlist(_dedupe(found), 30, 15, 10, len(y))
    out = []
    for i, (err, expr) in enumerate(found):
        if i < refine and err > 1e-10 and time.perf_counter() < deadline:
            err, expr = _refit(expr, symbols, X, y, max(deadline - time.perf_counter(), 0.05))
        out.append((err, expr))
    out = rank_by_simplicity([(e, f.xreplace(back)) for e, f in out], tol)
    log.debug("expression search: best %.2e %s (%.2fs)", out[0][0] if out else np.inf, out[0][1] if out else None,
              time.perf_counter() - start)
    return out


def shortlist(found, by_error: int, by_simplicity: int, by_information: int = 0, n: int = 0) -> list:
    """The ``by_error`` most accurate formulas, then the ``by_simplicity`` best by
    ``log(error) + 0.3*complexity`` and the ``by_information`` best by the Bayesian information
    criterion ``n*log(error**2) + k*log(n)`` (k fitted constants, ``n`` rows) not among them:
    with noise, mimics with more free constants fit a little better than the law, which must
    not be lost (Schwarz 1978)."""
    acc = sorted(found, key=lambda t: (t[0], complexity(t[1])))
    out = acc[:by_error]
    simple = sorted(acc[by_error:], key=lambda t: np.log(t[0] + 1e-15) + 0.3 * complexity(t[1]))
    out += simple[:by_simplicity]
    if by_information and n > 0:
        chosen = {id(t) for t in out}
        rest = [t for t in acc if id(t) not in chosen]
        out += sorted(rest, key=lambda t: information(t[0], t[1], n))[:by_information]
    return out


def information(error: float, expr, n: int) -> float:
    """``n*log(error**2) + k*log(n)``: the BIC of a formula of relative RMSE ``error`` with
    ``k`` float constants fitted on ``n`` rows (Gaussian noise; lower is better)."""
    k = len(expr.atoms(sympy.Float))
    return n * np.log(max(error, 1e-15) ** 2) + k * np.log(max(n, 2))


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

