"""Search among dimensionless groups (Buckingham pi), as AI Feynman does with units.

A law ``y = F(x_1..x_n)`` between quantities with units can be written
``y = P(x) * f(pi_1..pi_m)`` where the ``pi_k`` are the dimensionless groups of the inputs and
``P`` a product of inputs with the target's unit (``_buckingham``): fewer variables, and ``f``
is often a monomial or a one-variable function.  A law may also contain physical constants
(written as numbers in the data: ``hbar``, ``k_B``, ``c``...), which complete the dimensions:
``hbar*omega/(k_B*T)`` is a group only with them.  So the stage tries the sets of up to three
constants (from ``c, hbar, G, k_B, q_e, eps_0, m_e, N_A``) that make the target's unit
formable and are each needed, scores each set by how well the reduced target ``y/P`` is a
function of its groups (leave-one-out local linear regression on the nearest neighbours in
group space, the test ``_relevance`` uses), and runs the whole search on the best one or two
reduced problems.  Their formulas are mapped back to the columns, with the constants named.

Reference: S.-M. Udrescu & M. Tegmark, "AI Feynman: a physics-inspired method for symbolic
regression", Sci. Adv. 6, eaay2631 (2020), sec. "Dimensional analysis".
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.stats import rankdata

from ..formula import PhysicalConstant, symbols_for
from ..formula._physical import prefer_h
from ..units import pi_groups, target_prefactor
from ._relevance import _knn_error
from ._rounding import snap_rounding

__all__ = ["Reduction", "reductions", "dimensional_strategy"]

log = logging.getLogger("kansci")

#: Physical constants that may complete the dimensions of a law (one per independent
#: dimension direction; h, mu_0 and sigma_SB are combinations of these).
COMPLETION = ("c", "hbar", "G", "k_B", "q_e", "eps_0", "m_e", "N_A")
MAX_COMPLETION = 3


@dataclass
class Reduction:
    """``y = prefactor * f(groups)``: exponents over the inputs followed by the constants."""

    constants: tuple  # PhysicalConstant, ...
    groups: list[list[int]]
    prefactor: list
    score: float = np.inf
    alternatives: tuple = ()  # other prefactors, next best first

    def _product(self, exps, symbols) -> sympy.Expr:
        atoms = [*symbols, *self.constants]
        out = sympy.S.One
        for a, e in zip(atoms, exps):
            if e:
                out *= a ** sympy.Rational(e)
        return out

    def group_exprs(self, symbols) -> list[sympy.Expr]:
        return [self._product(g, symbols) for g in self.groups]

    def prefactor_expr(self, symbols) -> sympy.Expr:
        return self._product(self.prefactor, symbols)

    def values(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The groups (n, m) and the reduced target y / prefactor, from the data (log space)."""
        logs = np.column_stack([np.log(np.abs(X)), np.tile([np.log(float(c)) for c in self.constants], (len(X), 1))])
        signs = np.column_stack([np.sign(X), np.ones((len(X), len(self.constants)))])
        cols = []
        for g in self.groups:
            g = np.asarray(g, dtype=float)
            sign = np.prod(np.where(g % 2 != 0, signs, 1.0), axis=1)
            cols.append(sign * np.exp(logs @ g))
        pe = np.asarray([float(e) for e in self.prefactor])
        psign = np.prod(np.where(np.abs(pe) % 2 == 1, signs, 1.0), axis=1)
        reduced = y / (psign * np.exp(logs @ pe))
        G = np.column_stack(cols) if cols else np.empty((len(X), 0))
        return G, reduced

    def describe(self, names) -> str:
        syms = [sympy.Symbol(n) for n in names]
        gs = ", ".join(str(g) for g in self.group_exprs(syms)) or "none"
        return f"constants {[c.name for c in self.constants]}, groups [{gs}], prefactor {self.prefactor_expr(syms)}"


def _valid(X: np.ndarray, reduction: Reduction) -> bool:
    """Half-integer powers need positive columns; a column whose values cross zero (a signed
    coordinate) cannot divide: its ratios blow up near zero and hide the law."""
    for j in range(X.shape[1]):
        exps = [g[j] for g in reduction.groups] + [reduction.prefactor[j]]
        if not any(exps):
            continue
        col = X[:, j]
        if np.any(col == 0):
            return False
        if any(getattr(e, "denominator", 1) != 1 for e in exps) and np.any(col < 0):
            return False
        if any(e < 0 for e in exps) and np.any(col < 0) and np.any(col > 0):
            return False
    return True


def _orient_for(X: np.ndarray, groups: list[list[int]]) -> list[list[int]]:
    """Each group turned upside down when that keeps a column crossing zero out of a denominator
    (``theta/sigma``, not ``sigma/theta``, for a signed ``theta``)."""
    signed = [bool(np.any(X[:, j] < 0) and np.any(X[:, j] > 0)) for j in range(X.shape[1])]
    out = []
    for g in groups:
        bad = any(e < 0 for e, s in zip(g, signed) if s)
        flipped_bad = any(e > 0 for e, s in zip(g, signed) if s)
        out.append([-e for e in g] if bad and not flipped_bad else list(g))
    return out


def reductions(setup, X: np.ndarray, *, constants: bool = True) -> list[Reduction]:
    """Every way to reduce the problem: constant sets with their groups and prefactor."""
    dims = [d for d, _ in setup.symbols.values()]
    tdim = setup.target[0]

    pool = [PhysicalConstant(n) for n in COMPLETION] if constants else []
    out = []
    for size in range(0, MAX_COMPLETION + 1 if constants else 1):
        for consts in itertools.combinations(pool, size):
            all_dims = dims + [c.dimension for c in consts]
            groups = pi_groups(all_dims)
            pres = target_prefactor(all_dims, tdim, groups, search=2 if len(groups) <= 3 else 1, alternatives=2)
            if pres is None:
                continue
            pre = pres[0]
            used = [any(g[len(dims) + i] for g in groups) or pre[len(dims) + i] for i in range(size)]
            if not all(used):
                continue  # a constant that appears nowhere: the smaller set covers it
            groups = _orient_for(X, groups)
            r = Reduction(consts, groups, pre, alternatives=tuple(pres[1:]))
            if _valid(X, r):
                out.append(r)
    return out


def _functional_error(G: np.ndarray, t: np.ndarray) -> float:
    """How far the reduced target is from a function of the groups (0: exactly one)."""
    if not np.all(np.isfinite(t)) or not np.all(np.isfinite(G)):
        return np.inf
    if G.shape[1] == 0:
        a = np.abs(t)
        if np.all(a > 0) and (np.all(t > 0) or np.all(t < 0)):
            return float(np.var(np.log(a)))
        return float(np.var(t) / (np.mean(t) ** 2 or 1.0))
    Z = np.column_stack([rankdata(G[:, j]) / len(t) for j in range(G.shape[1])])
    r = rankdata(t) / len(t)
    r = (r - r.mean()) / (r.std() or 1.0)
    if np.ptp(t) <= 1e-12 * np.max(np.abs(t)):
        return 0.0
    return _knn_error(Z, r, list(range(Z.shape[1])), 4)


def _covers(r: Reduction, n_inputs: int) -> bool:
    """Every input enters a group or the prefactor."""
    return all(any(g[j] for g in r.groups) or r.prefactor[j] for j in range(n_inputs))


def rank_reductions(setup, X, y, *, constants: bool = True, max_rows: int = 800) -> list[Reduction]:
    """Reductions scored and sorted, best first.

    Among the reductions whose reduced target is a function of the groups about as nearly as
    the best one's, those in which every input enters a group or the prefactor come first
    (the inputs left after irrelevant columns were dropped all matter), then those with fewer
    groups and fewer constants.
    """
    rows = np.linspace(0, len(y) - 1, min(len(y), max_rows)).round().astype(int)
    found = []
    for r in reductions(setup, X, constants=constants):
        with np.errstate(all="ignore"):
            G, t = r.values(X[rows], y[rows])
        r.score = _functional_error(G, t)
        if np.isfinite(r.score):
            found.append(r)
    if not found:
        return []
    best = min(r.score for r in found)
    good = [r for r in found if r.score <= 1.5 * best + 0.005]
    n = X.shape[1]
    return sorted(good, key=lambda r: (not _covers(r, n), len(r.groups), len(r.constants), r.score))


#: A prefactor variant whose reduced target has a tail (99th percentile of its magnitude over
#: the median) this many times the dimensional prefactor's divides by something that vanishes
#: where the target does not (theta/sigma**2 for a Gaussian in theta - theta1): left out.
POLE_TAIL = 10.0


def _tail(t: np.ndarray) -> float:
    a = np.abs(t)
    return float(np.quantile(a, 0.99) / max(float(np.median(a)), 1e-300))


def _prefactor_variants(r: Reduction, X: np.ndarray, y: np.ndarray, max_rows: int = 600) -> list[Reduction]:
    """The reduction with other prefactors (its alternatives, and times each group to the
    power +-1), ordered by how many groups the reduced target still depends on, then by the
    size of the prefactor's exponents."""
    from ._relevance import irrelevant_columns

    options = [list(r.prefactor), *[list(a) for a in r.alternatives]]
    if len(r.groups) <= 4:
        for g in r.groups:
            for sign in (1, -1):
                options.append([p + sign * e for p, e in zip(r.prefactor, g)])
    rows = np.linspace(0, len(y) - 1, min(len(y), max_rows)).round().astype(int)
    scored, seen = [], set()
    base_tail = None
    for k, pre in enumerate(options):
        key = tuple(pre)
        if key in seen:
            continue
        seen.add(key)
        v = Reduction(r.constants, r.groups, pre, r.score)
        if not _valid(X, v):
            continue
        with np.errstate(all="ignore"):
            G, t = v.values(X[rows], y[rows])
        if not (np.all(np.isfinite(G)) and np.all(np.isfinite(t))):
            continue
        tail = _tail(t)
        if base_tail is None:
            base_tail = tail
        elif tail > POLE_TAIL * max(base_tail, 1.0):
            continue  # dividing by a quantity that crosses zero where the target does not: a pole
        relevant = len(r.groups) - len(irrelevant_columns(G, t, margin=0.5, independence=False))
        scored.append((relevant, sum(abs(e) for e in pre), k, v))
    return [t[-1] for t in sorted(scored, key=lambda t: t[:3])]


def _trivial(r: Reduction) -> bool:
    """No reduction at all: every group a single input to the power +-1, no prefactor."""
    single = all(sum(1 for x in g if x) == 1 and max(abs(x) for x in g) == 1 for g in r.groups)
    return not r.constants and single and not any(r.prefactor)


def _reduced_problem(raw, reduction: Reduction):
    """The reduced problem (groups -> y/P) with the raw problem's split."""
    from ._problem import Problem

    with np.errstate(all="ignore"):
        G, t = reduction.values(raw.X, raw.y)
    names = [f"pi{k + 1}" for k in range(G.shape[1])]
    variables = symbols_for(names, G)
    return Problem(X=G, y=t, columns=names, target=f"{raw.target}_reduced", variables=variables,
                   train=raw.train, val=raw.val)


def _search_reduced(ctx, setup, reduction: Reduction, deadline: float, *, source: str = "units",
                    stages=None) -> int:
    """Run the search on one reduced problem; add its formulas, mapped back, to ``ctx`` (as ``source``)."""
    from ._stages import Context, default_strategies, drop_irrelevant, run_search
    from ._pareto import pareto_front
    from ._scaling import rescale

    raw = ctx.raw
    groups = reduction.group_exprs(raw.symbols)
    prefactor = reduction.prefactor_expr(raw.symbols)
    if not groups:
        _, t = reduction.values(raw.X[raw.train], raw.y[raw.train])
        return len(ctx.add_raw(sympy.Float(float(np.median(t))) * prefactor, source))
    sub_raw = _reduced_problem(raw, reduction)
    if not (np.all(np.isfinite(sub_raw.X)) and np.all(np.isfinite(sub_raw.y))) or np.ptp(sub_raw.y) == 0:
        return 0  # groups beyond floating point range on some rows: not this reduction
    back = dict(zip(sub_raw.symbols, groups))
    # groups the reduced target does not depend on (n_0*x**3 beside g*m*x/(k_B*T) when n_0 is in
    # the prefactor; a group of an irrelevant column the first screen missed); groups share
    # quantities, so they are dependent by construction: the neighbour test alone decides
    sub_raw, _ = drop_irrelevant(sub_raw, margin=0.5, independence=False)
    scaled, smap = rescale(sub_raw)
    sub = Context(problem=scaled, deadline=deadline, seed=ctx.seed, raw=sub_raw, scale=smap)
    sub.hooks.append(snap_rounding)
    if stages is None:
        stages = default_strategies()
    if sub_raw.n_vars == 1:  # one group: snapping a function of one variable is the whole job
        stages = [(name, fn, 0.7 if name == "snap" else share) for name, fn, share in stages]
    run_search(sub, stages)
    if not sub.candidates:
        return 0
    pool = pareto_front(sub.candidates)
    pool += sorted(sub.candidates, key=lambda c: c.rmse)[:3]
    pool += sorted((c for c in sub.candidates if c.exact), key=lambda c: (c.rmse, c.complexity))[:3]
    added, seen = 0, set()
    for c in pool:
        if c.key() in seen or not np.isfinite(c.rmse):
            continue
        seen.add(c.key())
        expr = prefer_h(prefactor * c.expr.xreplace(back))
        added += len(ctx.add_raw(expr, source, reduced_rmse=c.rmse))
        if ctx.remaining() <= 0:
            break
    return added


def dimensional_strategy(ctx, setup, *, max_reductions: int = 2, stages=None) -> None:
    """The discovery stage: search the best reduced problems, map their formulas back.

    ``stages``: a function returning the stage list run on each reduced problem (default:
    :func:`default_strategies`)."""
    raw = ctx.raw
    X, y = raw.subset(raw.train)
    t0 = time.perf_counter()
    ranked = rank_reductions(setup, X, y, constants=setup.constants)
    log.debug("units: %d reductions scored in %.2fs", len(ranked), time.perf_counter() - t0)
    if not ranked:
        return
    ctx.diagnostics["pi_groups"] = ranked[0].describe(raw.columns)
    useful = [r for r in ranked if not _trivial(r)]
    if not useful:
        return
    # the best groups with the prefactors that leave the fewest groups to depend on (which
    # prefactor leaves the simplest function is not known beforehand: n*k_B*T with
    # f = log(V2/V1), not k_B*T with f = n*log(V2/V1)), then the next set of groups
    variants = _prefactor_variants(useful[0], X, y)
    chosen = variants[:2] + useful[1:max_reductions]
    for k, r in enumerate(chosen):
        if ctx.remaining() <= 0 or ctx.solved():
            break
        share = 1.0 / (len(chosen) - k)  # equal shares: a reduction that fits is solved early
        reserve = min(5.0, 0.2 * ctx.remaining())  # to finish the formulas mapped back
        deadline = time.perf_counter() + share * (ctx.remaining() - reserve)
        log.debug("units: searching %s (score %.3g)", r.describe(raw.columns), r.score)
        _search_reduced(ctx, setup, r, deadline, stages=stages() if stages is not None else None)
