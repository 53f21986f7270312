"""Sparse regression over a library of terms, with target transforms and rational forms.

Many laws are a few monomial terms (``m*(v**2+u**2)/2``), a ratio of such sums
(``(u+v)/(1+u*v/c**2)``) or one of these under a simple transform of the target
(``y**2 = x**2 + z**2``, ``1/y = 1/a + 1/b``);
periodic terms are sines, cosines and squared cosines of an input or of a product of two
(``x1*(cos(omega*t) + alpha*cos(omega*t)**2)``).  A ratio ``T(y) = P(x)/(1 + Q(x))`` is linear in
its coefficients once multiplied out: ``T(y) = P(x) - T(y)*Q(x)``, so the product columns
``T(y)*m(x)`` join the library and one sparse linear regression finds P and Q together.
Terms are chosen by forward selection with exact refits (orthogonal least squares) and a
small beam, so a wrong first pick does not doom the search.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import sympy

__all__ = ["term_candidates"]

_MAX_COLUMNS = 6000


@dataclass
class _Library:
    exprs: list[sympy.Expr]
    columns: np.ndarray  # (n, m)


def _exponent_sets(X: np.ndarray, n_vars: int) -> list[list[sympy.Rational]]:
    out = []
    for j in range(n_vars):
        ex = [sympy.Integer(e) for e in (-2, -1, 1, 2)]
        if np.all(X[:, j] > 0):
            ex += [sympy.Rational(-1, 2), sympy.Rational(1, 2)]
        if n_vars <= 3:
            ex += [sympy.Integer(-3), sympy.Integer(3)]
        out.append(ex)
    return out


def _monomials(X, symbols, max_vars: int, max_degree: float, limit: int):
    d = X.shape[1]
    exps = _exponent_sets(X, d)
    exprs, cols = [sympy.Integer(1)], [np.ones(len(X))]
    for size in range(1, max_vars + 1):
        for subset in itertools.combinations(range(d), size):
            for powers in itertools.product(*(exps[j] for j in subset)):
                if sum(abs(float(p)) for p in powers) > max_degree:
                    continue
                exprs.append(sympy.Mul(*[symbols[j] ** p for j, p in zip(subset, powers)]))
                cols.append(np.prod([X[:, j] ** float(p) for j, p in zip(subset, powers)], axis=0))
                if len(exprs) >= limit:
                    return exprs, cols
    return exprs, cols


#: Periodic columns of a phase, each times small monomials of the other inputs: sin, cos, and
#: cos squared (``sin**2 = 1 - cos**2``: an intensity, Malus's law, ``cos(u) + a*cos(u)**2``).
_TRIG = (
    (sympy.sin, np.sin),
    (sympy.cos, np.cos),
    (lambda s: sympy.cos(s) ** 2, lambda v: np.cos(v) ** 2),
)


def _library(X, symbols, *, trig: bool) -> _Library:
    d = X.shape[1]
    max_vars = 3 if d <= 6 else 2
    exprs, cols = _monomials(X, symbols, max_vars, 4.0, _MAX_COLUMNS)
    if trig:
        small_e, small_c = _monomials(X, symbols, 1 if d > 4 else 2, 3.0, 400)
        # the phase is an input or, up to four inputs, the product of two (omega*t, k*x)
        phases = [((j,), symbols[j], X[:, j]) for j in range(d)]
        if d <= 4:  # more inputs: many more columns, a slower regression for every law
            phases += [((i, j), symbols[i] * symbols[j], X[:, i] * X[:, j])
                       for i, j in itertools.combinations(range(d), 2)]
        for used, phase, values in phases:
            for fn, npf in _TRIG:
                t = npf(values)
                for e, c in zip(small_e, small_c):
                    if len(exprs) >= _MAX_COLUMNS + 2000 or any(symbols[j] in e.free_symbols for j in used):
                        continue
                    exprs.append(e * fn(phase))
                    cols.append(c * t)
    return _Library(exprs, np.column_stack(cols))


def _usable(col: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(col)) and np.std(col) > 0 or np.all(col == 1))


def _state(An, b, key):
    Q, _ = np.linalg.qr(An[:, list(key)])
    return tuple(key), Q, b - Q @ (Q.T @ b)


def _swap_refine(An, b, state, deadline, max_passes: int = 4):
    """1-opt local search: swap one chosen column for another while the residual drops."""
    key, Q, r = state
    best = float(r @ r)
    for _ in range(max_passes):
        improved = False
        for out in key:
            if time.perf_counter() > deadline:
                return key, Q, r
            rest = tuple(k for k in key if k != out)
            _, Qr, rr = _state(An, b, rest) if rest else ((), np.zeros((An.shape[0], 0)), b)
            P = An - Qr @ (Qr.T @ An) if Qr.shape[1] else An
            pn = np.einsum("ij,ij->j", P, P)
            gain = np.where(pn > 1e-20, (P.T @ rr) ** 2 / np.maximum(pn, 1e-300), 0.0)
            gain[list(key)] = 0.0
            j = int(np.argmax(gain))
            if float(rr @ rr - gain[j]) < best * (1 - 1e-9):
                key, Q, r = _state(An, b, tuple(sorted((*rest, j))))
                best = float(r @ r)
                improved = True
                break
        if not improved:
            break
    return key, Q, r


def _exhaustive(An, b, pool: list[int], max_size: int, best: dict, deadline: float) -> None:
    """Every subset of ``pool`` up to ``max_size`` columns, solved in batches from the Gram matrix."""
    pool = np.asarray(pool)
    G = An[:, pool].T @ An[:, pool]
    r = An[:, pool].T @ b
    bb = float(b @ b)
    bnorm = np.sqrt(bb) or 1.0
    for size in range(1, max_size + 1):
        k = len(pool) if size <= 3 else min(len(pool), 30)
        combos = np.array(list(itertools.combinations(range(k), size)))
        if len(combos) == 0 or time.perf_counter() > deadline:
            break
        Gs = G[combos[:, :, None], combos[:, None, :]] + 1e-12 * np.eye(size)
        rs = r[combos]
        try:
            x = np.linalg.solve(Gs, rs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            continue
        res = np.maximum(bb - np.einsum("ij,ij->i", rs, x), 0.0)
        i = int(np.argmin(res))
        key = tuple(int(pool[c]) for c in combos[i])
        rel = float(np.linalg.norm(_state(An, b, key)[2]) / bnorm)  # exact, no ridge
        if size not in best or rel < best[size][0]:
            best[size] = (rel, key)


def _screen(An, b, states, k: int) -> list[int]:
    """Columns that matter alone or next to another: sure-independence screening, twice.

    The columns most correlated with the target, then for each of the leading few, the
    columns most correlated with what that one leaves unexplained; plus the beam's picks.
    Most relevant first.
    """
    pool: dict[int, None] = {}
    if np.allclose(An[:, 0], An[0, 0]):
        pool[0] = None
    lead = np.argsort(np.abs(An.T @ b))[::-1]
    for j in lead[:k]:
        pool[int(j)] = None
    for key, _, _ in states:
        for j in key:
            pool[int(j)] = None
    for j in lead[:6]:
        a = An[:, j]
        r = b - a * (a @ b)
        for i in np.argsort(np.abs(An.T @ r))[::-1][:k]:
            pool[int(i)] = None
    return list(pool)


def _forward_select(A: np.ndarray, b: np.ndarray, *, max_terms: int, beam: int, deadline: float):
    """Best column subset per size: exhaustive among screened columns (up to 4), then a beam.

    The exhaustive pass settles most laws at once; the beam (forward selection with exact
    refits, the leader improved by swaps) reaches larger subsets.
    """
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0
    An = A / norms
    bnorm = np.linalg.norm(b) or 1.0
    best: dict[int, tuple[float, tuple[int, ...]]] = {}
    _exhaustive(An, b, _screen(An, b, [], 12), min(4, max_terms), best, deadline)
    if best and min(v[0] for v in best.values()) < 1e-10:
        return best
    states = [((), np.zeros((A.shape[0], 0)), b.copy())]
    for size in range(1, max_terms + 1):
        proposals: dict[tuple[int, ...], float] = {}
        for subset, Q, r in states:
            P = An - Q @ (Q.T @ An) if Q.shape[1] else An
            pn = np.einsum("ij,ij->j", P, P)
            gain = np.where(pn > 1e-20, (P.T @ r) ** 2 / np.maximum(pn, 1e-300), 0.0)
            gain[list(subset)] = 0.0
            for j in np.argsort(gain)[::-1][: beam * 2]:
                key = tuple(sorted((*subset, int(j))))
                res = max(float(r @ r - gain[j]), 0.0)
                if key not in proposals or res < proposals[key]:
                    proposals[key] = res
        ranked = sorted(proposals.items(), key=lambda kv: kv[1])[:beam]
        states = [_state(An, b, key) for key, _ in ranked]
        if size >= 3:
            states[0] = _swap_refine(An, b, states[0], deadline, max_passes=2)
        top = states[0]
        rel = float(np.linalg.norm(top[2]) / bnorm)
        if size not in best or rel < best[size][0]:
            best[size] = (rel, top[0])
        if size == 2:  # subsets around the beam's picks, exactly
            _exhaustive(An, b, _screen(An, b, states, 12), min(4, max_terms), best, deadline)
        if min(v[0] for v in best.values()) < 1e-10 or time.perf_counter() > deadline:
            break
    return best


def _transforms(y: np.ndarray):
    """``(name, T(y), inverse as a formula, inverse on values)`` for each target transform."""
    yield "y", y, lambda t: t, lambda v: v
    if np.all(y != 0):
        yield "1/y", 1.0 / y, lambda t: 1 / t, lambda v: 1.0 / v
    sign = 1 if np.all(y > 0) else (-1 if np.all(y < 0) else 0)
    if sign:
        yield "y^2", y**2, lambda t: sign * sympy.sqrt(t), lambda v: sign * np.sqrt(v)
        yield "log|y|", np.log(np.abs(y)), lambda t: sign * sympy.exp(t), lambda v: sign * np.exp(v)


def _quadratic_residual(X: np.ndarray, t: np.ndarray) -> float:
    """Relative residual of ``t`` fitted by a full quadratic in the inputs (least squares)."""
    n_vars = X.shape[1]
    cols = [np.ones(len(t)), *X.T, *(X[:, i] * X[:, j] for i in range(n_vars) for j in range(i, n_vars))]
    A = np.column_stack(cols)
    scale = float(np.std(t))
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(t))) or scale == 0:
        return np.inf if scale else 0.0
    coef, *_ = np.linalg.lstsq(A, t, rcond=None)
    return float(np.std(t - A @ coef) / scale)


def _ranked_transforms(X: np.ndarray, y: np.ndarray) -> list:
    """:func:`_transforms`, the one under which the target is closest to a quadratic in the
    inputs first (``log|y|`` of a product of powers of constants is linear, ``y**2`` of a
    root of a sum of squares quadratic), so a short budget is spent where it pays; ties keep
    the plain order, ``y`` first."""
    found = list(_transforms(y))
    score = [_quadratic_residual(X, t) for _, t, _, _ in found]
    order = sorted(range(len(found)), key=lambda i: (round(score[i], 3), i))
    return [found[i] for i in order]


def _information(y: np.ndarray, pred: np.ndarray, n_coef: int) -> tuple[float, float]:
    """``(relative residual, BIC)`` of a candidate's values on the original target.

    BIC (Schwarz, Ann. Stat. 6, 461 (1978)) for a Gaussian likelihood at the fitted residual:
    ``n log(MSE) + k log(n)``, the MSE floored at rounding level so exact fits tie and the one
    of fewer coefficients wins.  Residuals of different target transforms are compared on
    ``y`` itself: under noise, a transform's own residual says nothing about ``y``'s."""
    n = len(y)
    scale = float(np.std(y)) or 1.0
    with np.errstate(all="ignore"):
        mse = float(np.mean((pred - y) ** 2))
    if not np.isfinite(mse):
        return np.inf, np.inf
    floor = (1e-12 * scale) ** 2
    return float(np.sqrt(mse) / scale), n * float(np.log(max(mse, floor) / scale**2)) + n_coef * float(np.log(n))


def term_candidates(
    X: np.ndarray,
    y: np.ndarray,
    symbols,
    *,
    max_terms: int = 6,
    beam: int = 6,
    time_budget: float = 10.0,
    max_rows: int = 500,
    seed: int = 0,
    ratios: bool = True,
) -> list[tuple[float, sympy.Expr]]:
    """Candidate formulas ``(relative residual, expr)`` from sparse term regression, best
    first by BIC on the original target (see :func:`_information`): fewer terms unless more
    fit clearly better, so under noise the closest fit of the most terms does not come first.

    Target transforms: ``y``, ``1/y``, ``y**2`` and ``log|y|`` (the last two where the target
    keeps one sign), while the time lasts, the one closest to a quadratic in the inputs first
    (see :func:`_ranked_transforms`).

    The expressions carry float coefficients to be refined and recognised downstream.
    """
    deadline = time.perf_counter() + time_budget
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), size=min(max_rows, len(y)), replace=False)
    Xs, ys = X[rows], y[rows]
    with np.errstate(all="ignore"):
        lib = _library(Xs, symbols, trig=True)
        keep = [j for j in range(lib.columns.shape[1]) if _usable(lib.columns[:, j])]
        base_exprs = [lib.exprs[j] for j in keep]
        base = lib.columns[:, keep]
        small = [j for j, e in enumerate(base_exprs) if e != 1 and len(e.free_symbols) <= 3
                 and not e.has(sympy.sin, sympy.cos)][:800]
        out: list[tuple[float, float, float, sympy.Expr]] = []
        for name, t, inverse, inverse_values in _ranked_transforms(Xs, ys):
            if time.perf_counter() > deadline:
                break
            if not np.all(np.isfinite(t)):
                continue
            # centred monomials times T: T*sum c_k (m_k - mean m_k) can never equal T, so the
            # regression cannot fake T = T*Q with a denominator that vanishes
            means = base[:, small].mean(axis=0)
            ratio_cols = (base[:, small] - means) * t[:, None] if ratios else np.empty((len(t), 0))
            A = np.column_stack([base, ratio_cols]) if ratios else base
            ok = np.all(np.isfinite(A), axis=0)
            idx = np.flatnonzero(ok)
            # terms alone first: a ratio column T*(m - mean m) correlates with T itself, and
            # greedy steps among them can walk past a plain sum (log|y| linear in the inputs)
            plain = np.flatnonzero(idx < len(base_exprs))
            best = {size: (rel, tuple(int(plain[k]) for k in subset)) for size, (rel, subset) in
                    _forward_select(A[:, idx[plain]], t, max_terms=max_terms, beam=beam, deadline=deadline).items()}
            if ratios and min((v[0] for v in best.values()), default=1.0) >= 1e-10:
                for size, (rel, subset) in _forward_select(A[:, idx], t, max_terms=max_terms, beam=beam,
                                                           deadline=deadline).items():
                    if size not in best or rel < best[size][0]:
                        best[size] = (rel, subset)
            exact_found = min((v[0] for v in best.values()), default=1.0) < 1e-10
            for size, (rel, subset) in best.items():
                cols = [int(idx[k]) for k in subset]
                coef, *_ = np.linalg.lstsq(A[:, cols], t, rcond=None)
                num, den_parts = sympy.Integer(0), [(1.0, sympy.Integer(1), 1.0)]
                num_values, den_values = np.zeros(len(t)), np.ones(len(t))
                for c, j in zip(coef, cols):
                    if j >= len(base_exprs):  # T * (m - mean m) on the right: moves to the denominator
                        k = small[j - len(base_exprs)]
                        mean = float(means[j - len(base_exprs)])
                        den_parts[0] = (den_parts[0][0] + float(c) * mean, sympy.Integer(1), 1.0)
                        den_parts.append((-float(c), base_exprs[k], abs(mean)))
                        den_values -= float(c) * (base[:, k] - mean)
                    else:
                        num += sympy.Float(float(c)) * base_exprs[j]
                        num_values += float(c) * base[:, j]
                if num == 0:
                    continue
                residual, bic = _information(ys, inverse_values(num_values / den_values), len(cols))
                # normalise by the largest part of the denominator (its constant may vanish)
                norm = max(den_parts, key=lambda t: abs(t[0]) * t[2])[0]
                if norm == 0:
                    continue
                den = sum(sympy.Float(c / norm) * m for c, m, _ in den_parts if abs(c / norm) > 1e-12)
                if np.isfinite(bic):
                    out.append((bic, rel, residual, inverse(num / norm / den)))
            if exact_found:  # an exact fit under this transform: the others cannot do better
                break
    out.sort(key=lambda p: p[0])
    if len(out) > 2:  # the closest fit in its transform's own terms comes second: at zero noise
        # it is the exact one whose values a square root or exponential blurred on y
        closest = min(range(len(out)), key=lambda i: out[i][1])
        if closest > 1:
            out.insert(1, out.pop(closest))
    return [(residual, expr) for _, _, residual, expr in out]
