"""Divide and conquer on a KAN surrogate, in the manner of AI Feynman.

A KAN is fitted to the data; probes on it (see ``_probes``) find additive or multiplicative
separability (of ``f``, or of ``1/f``, ``f**2``, ``sqrt(f)``, ``sin(f)``, ``tan(f)``), scaling
symmetries (homogeneity in a subset of the inputs), translation/product symmetries of pairs and
coefficients that vary with the other inputs (``_varying``: ``a(z) + b(z)*g(x)``).  Each
finding splits the problem into smaller ones, or removes one variable, and the parts are
solved recursively down to one-variable leaves, which the snapping engine, the power-law
fit and the term regression solve.  The surrogate's gradients also name combinations of
inputs that become new variables (``_reductions``: one combination ``w . x`` or
``prod x**w``, an invariant direction), and its curvature the directions of a sum of ridge
functions (``_ridge``); what nothing splits is left to an expression search
(``_exprsearch``).  The parts are put back together into a formula whose constants are
then refined on the real data; the accepted steps are kept for the provenance.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import sympy

from ..symbolic import Library, suggest
from ._leafcheck import rerank_on_data
from ._monomial import monomial_candidates
from ._reductions import try_invariant_directions, try_single_combination
from ._ridge import try_ridge
from ._provenance import record, surrogate_summary
from ._probes import _gradients, groups_from_stats, homogeneous_subsets, interaction_stats, pair_symmetries
from ._surrogate import fit_surrogate
from ._subproblem import Node, Search, _combine, _good, _ranked, _rel_error, _size_bound
from ._terms import term_candidates
from ._varying import try_varying_coefficients

__all__ = ["solve_by_decomposition", "Node", "solve"]

log = logging.getLogger("kansci")

_LIBRARY = Library.default()
#: Composed formulas re-checked on the real rows before six are finished.
RECHECK = 14


# ---------------------------------------------------------------------- leaves
def _snap(x, y, s, top_k: int = 4):
    """``c*f(a*x+b)+d`` candidates over the primitive library, as formulas in ``s``."""
    try:
        table = suggest(x, y, _LIBRARY, top_k=top_k, a_range=None, b_range=None)
    except Exception as exc:  # a degenerate leaf (e.g. constant) must not stop the search
        log.debug("snapping a leaf failed: %s", exc)
        return []
    return [_LIBRARY[r.primitive].formula(r.a, r.b, r.c, r.d, symbol=s) for r in table.itertuples()]


# outer transforms T of a 1-D leaf: snap T(y), then invert (exp(sin x) = exp of a snapped sin)
_OUTER = (
    ("none", lambda y: True, lambda y: y, lambda e, y: e),
    ("log", lambda y: np.all(y > 0) or np.all(y < 0), lambda y: np.log(np.abs(y)),
     lambda e, y: float(np.sign(y[0])) * sympy.exp(e)),
    ("inverse", lambda y: np.all(np.abs(y) > 0), lambda y: 1.0 / y, lambda e, y: 1 / e),
    ("square", lambda y: np.all(y > 0) or np.all(y < 0), lambda y: y**2,
     lambda e, y: float(np.sign(y[0])) * sympy.sqrt(e)),
    ("sqrt", lambda y: np.all(y > 0), lambda y: np.sqrt(y), lambda e, y: e**2),
)
# inner transforms u(x) of a 1-D leaf: snap against u, then substitute (x**2/(x**2-1): 1/(u-1))
_INNER = (
    ("none", lambda x: True, lambda x: x, lambda s: s),
    ("log", lambda x: np.all(x > 0), np.log, sympy.log),
    ("square", lambda x: True, lambda x: x**2, lambda s: s**2),
    ("inverse", lambda x: np.all(x != 0), lambda x: 1.0 / x, lambda s: 1 / s),
)


#: powers p of ``y = x**p * g(x)`` and ``y = x**p / g(x)`` with g a snapped primitive
_POWERS_TIMES = (1, 2, 3, -1, -2)


def _power_times(x: np.ndarray, y: np.ndarray, s) -> list:
    """``x**p * (c*f(a*x+b)+d)`` and ``x**p / (c*f(a*x+b)+d)``: a power times a primitive or
    over one, the shape of spectra and distributions (Planck's ``x**3/(exp(x)-1)``,
    Maxwell-Boltzmann's ``x**2*exp(-x**2)``, ``x*exp(-x)``), which no transform of ``y``
    alone brings to a primitive."""
    if not np.all(x != 0):
        return []
    exprs = []
    for p in _POWERS_TIMES:
        xp = x**p
        exprs += [s**p * e for e in _snap(x, y / xp, s, top_k=2)]
        if np.all(y != 0):
            exprs += [s**p / e for e in _snap(x, xp / y, s, top_k=2)]
    return exprs


def _leaf_1d(node: Node, y: np.ndarray, search: Search, *, terms: bool = True):
    """One input: ``T^-1(c*f(a*u(x)+b)+d)`` over primitives f, outer transforms T, inner u
    (and, with ``terms``, sparse regression over terms, which takes up to a second)."""
    x, s = node.X[:, 0], node.syms[0]
    exprs = []
    for oname, ok, fwd, inv in _OUTER:
        if not ok(y):
            continue
        ty = fwd(y)
        for iname, iok, ifwd, isym in _INNER:
            if not iok(x) or search.out_of_time() and (oname, iname) != ("none", "none"):
                continue
            top = 4 if (oname, iname) == ("none", "none") else 2
            snapped = _snap(ifwd(x), ty, s, top_k=top)
            exprs += [inv(e.xreplace({s: isym(s)}) if iname != "none" else e, y) for e in snapped]
    exprs += monomial_candidates(node.X, y, [s])
    if terms and not search.out_of_time():
        exprs += [e for _, e in term_candidates(node.X, y, [s], time_budget=1.0, max_rows=300, max_terms=3)[:3]]
    found = _ranked(exprs, node, y, search.tol, refine=6)
    if not _good(found, search) and not search.out_of_time():
        found = _ranked([e for _, e in found] + _power_times(x, y, s), node, y, search.tol, refine=4)
    if not _good(found, search) and node.f is not None:  # no primitive fits: search compositions
        found = _ranked([e for _, e in found] + _search_route(node, y, search, cap=2.5), node, y, search.tol)
    return found


def _leaf_multi(node: Node, y: np.ndarray, search: Search, budget: float):
    exprs = list(monomial_candidates(node.X, y, node.syms))
    if budget > 0.2:
        exprs += [e for _, e in term_candidates(node.X, y, node.syms, time_budget=budget, max_rows=400)[:3]]
    return _ranked(exprs, node, y, search.tol)


# ---------------------------------------------------------------------- splits
def _reference(node: Node, y: np.ndarray, positive: bool):
    """A reference point: central, and for products one where |f| is not small."""
    centre = np.median(node.X, axis=0)
    if not positive:
        return centre
    order = np.argsort(-np.abs(y))
    return node.X[order[len(order) // 4]]


def _sub_node(node: Node, cols: list[int], ref: np.ndarray, transform=None) -> Node:
    def f(Z, _cols=cols, _ref=ref, _f=node.f):
        full = np.repeat(_ref[None], len(Z), axis=0)
        full[:, _cols] = Z
        return _f(full)

    return Node(f, [node.syms[c] for c in cols], node.lo[cols], node.hi[cols], node.X[:, cols], node.depth + 1)


def _try_split(node, y, search, stats, op):
    groups = groups_from_stats(stats, threshold=max(5 * search.eps, 1e-3))
    if len(groups) < 2:
        return []
    ref = _reference(node, y, positive=(op == "mul"))
    if op == "mul" and abs(float(node.f(ref[None])[0])) < 1e-9 * (np.abs(y).max() or 1.0):
        return []
    log.debug("depth %d: %s split %s", node.depth, op, [[str(node.syms[c]) for c in g] for g in groups])
    results, kids = [], []
    for g in groups:
        child = _sub_node(node, g, ref)
        kids.append(child)
        results.append(solve(child, search))
        if search.out_of_time():
            break
    if len(results) < len(groups):
        return []
    return _combine(node, y, results, op, search, kids=kids)


_TRANSFORMS = (
    ("inverse", lambda v: 1.0 / v, lambda e: 1 / e, lambda y: np.all(y != 0)),
    ("square", lambda v: v**2, None, lambda y: np.all(y > 0) or np.all(y < 0)),
    ("sqrt", lambda v: np.sqrt(v), lambda e: e**2, lambda y: np.all(y > 0)),
    ("sin", np.sin, sympy.asin, lambda y: np.all(np.abs(y) < np.pi / 2)),  # asin(n*sin(theta))
    # a phase angle: atan(g*w/(w0**2 - w**2)) has a tangent that splits
    ("tan", np.tan, sympy.atan, lambda y: np.all(np.abs(y) < 0.999 * np.pi / 2)),
)


def _try_transforms(node, y, search):
    out = []
    for name, fwd, inv, ok in _TRANSFORMS:
        if search.out_of_time() or not ok(y):
            continue
        if inv is None:  # square: sign of f restored
            sign = 1 if np.all(y > 0) else -1
            inv = lambda e, _s=sign: _s * sympy.sqrt(e)  # noqa: E731
        tnode = Node(lambda Z, _f=node.f, _t=fwd: _t(_f(Z)), node.syms, node.lo, node.hi, node.X, node.depth)
        ty = fwd(y)
        add, mul = interaction_stats(tnode.f, node.lo, node.hi, search.rng, deadline=search.deadline)
        for stats, op in ((add, "add"), (mul, "mul")):
            for e in _try_split(tnode, ty, search, stats, op):
                out.append(inv(e))
                search.trace.transform(node, out[-1], name, tnode, e)
        if out:
            break
    return out


# -------------------------------------------------------------------- symmetries
def _dummy(name: str, lo: float) -> sympy.Dummy:
    return sympy.Dummy(name, positive=True) if lo > 0 else sympy.Dummy(name, real=True)


def _reduce(node: Node, y, search, kind, idx, deg):
    """Replace variables by one combination (ratio, product, difference, sum); solve; put back."""
    k = len(node.syms)
    lo, hi, X = node.lo, node.hi, node.X
    rest = [c for c in range(k) if c not in idx]
    if kind == "ratio":
        r, others = idx[-1], idx[:-1]
        Z = X[:, others] / X[:, [r]]
        names = [f"{node.syms[o]}_per_{node.syms[r]}" for o in others]
        back = {o: node.syms[o] / node.syms[r] for o in others}
        prefactor = node.syms[r] ** sympy.Rational(deg.numerator, deg.denominator)
    else:
        i, j = idx
        Z = {"times": X[:, i] * X[:, j], "minus": X[:, i] - X[:, j], "plus": X[:, i] + X[:, j]}[kind][:, None]
        op = {"times": sympy.Mul, "minus": lambda a, b: a - b, "plus": sympy.Add}[kind]
        names = [f"{node.syms[i]}_{kind}_{node.syms[j]}"]
        back = {i: op(node.syms[i], node.syms[j])}
        prefactor = node.syms[i] ** sympy.Rational(deg.numerator, deg.denominator) if kind == "times" else 1
    zlo, zhi = Z.min(0), Z.max(0)
    new_syms = [_dummy(n, float(a)) for n, a in zip(names, zlo)]

    def f(W, _node=node):
        z, rest_vals = W[:, : len(new_syms)], W[:, len(new_syms):]
        full = np.empty((len(W), k))
        full[:, rest] = rest_vals
        if kind == "ratio":
            a = np.max(np.column_stack([np.full(len(W), lo[r]), *(lo[o] / z[:, n] for n, o in enumerate(others))]), 1)
            b = np.min(np.column_stack([np.full(len(W), hi[r]), *(hi[o] / z[:, n] for n, o in enumerate(others))]), 1)
            xr = np.where(a <= b, (a + b) / 2, np.clip((a + b) / 2, lo[r], hi[r]))
            full[:, r] = xr
            for n, o in enumerate(others):
                full[:, o] = z[:, n] * xr
            scale = xr ** float(deg)
        else:
            zz = z[:, 0]
            if kind == "times":
                a, b = np.maximum(lo[i], zz / hi[j]), np.minimum(hi[i], zz / lo[j])
            elif kind == "minus":
                a, b = np.maximum(lo[i], zz + lo[j]), np.minimum(hi[i], zz + hi[j])
            else:
                a, b = np.maximum(lo[i], zz - hi[j]), np.minimum(hi[i], zz - lo[j])
            xi = np.where(a <= b, (a + b) / 2, np.clip((a + b) / 2, lo[i], hi[i]))
            full[:, i] = xi
            full[:, j] = {"times": zz / xi, "minus": xi - zz, "plus": zz - xi}[kind]
            scale = xi ** float(deg) if kind == "times" else 1.0
        return _node.f(full) / scale

    child = Node(f, new_syms + [node.syms[c] for c in rest], np.concatenate([zlo, lo[rest]]),
                 np.concatenate([zhi, hi[rest]]), np.column_stack([Z, X[:, rest]]), node.depth + 1)
    log.debug("depth %d: %s reduction of %s (degree %s)", node.depth, kind, [str(node.syms[c]) for c in idx], deg)
    subs = {s: back[c] for s, c in zip(new_syms, idx if kind != "ratio" else idx[:-1])}
    found = solve(child, search)
    out = [prefactor * e.xreplace(subs) for _, e in found]
    search.trace.reduced(node, out, [e for _, e in found], child, kind, [node.syms[c] for c in idx], deg, subs)
    return out


def _try_symmetries(node, y, search):
    out = []
    tol = max(3 * search.eps, 8e-3)
    for S, deg in homogeneous_subsets(node.f, node.X[:200], node.lo, node.hi, tol=tol, max_size=min(len(node.syms), 5))[:2]:
        # f = x_r**k g(x_i/x_r): which x_r makes g simple is not known, so try up to three
        for ref in list(S)[::-1][:3]:
            out += _reduce(node, y, search, "ratio", [c for c in S if c != ref] + [ref], deg)
            if _good(_ranked(out, node, y, search.tol), search) or search.out_of_time():
                return out
        if out:
            return out
    for kind, i, j, deg in pair_symmetries(node.f, node.X[:200], node.lo, node.hi, tol=tol)[:2]:
        out += _reduce(node, y, search, kind, [i, j], deg)
        if out or search.out_of_time():
            return out
    return out


# ----------------------------------------------------------------------- search
def _search_route(node: Node, y: np.ndarray, search: Search, max_vars: int = 3, cap: float = 6.0) -> list:
    """What no split or symmetry reduces: an expression search (``_exprsearch``) on the node."""
    from ._exprsearch import expression_search, shortlist

    left = search.deadline - time.perf_counter()
    if len(node.syms) > max_vars or left < 0.5:
        return []
    found = expression_search(node.X, y, node.syms, time_budget=min(0.3 * left, cap), rng=search.rng,
                              tol=search.tol, max_cost=6 if len(node.syms) == 1 else None)
    best = found[:6] + shortlist(found[6:], 0, 0, 2, len(y))  # and the best by information (fewest constants)
    exprs = [e for _, e in best]
    search.trail.mark_searched(exprs)
    return exprs


# ----------------------------------------------------------------------- solve
def _relevant(node: Node, y: np.ndarray, search: Search) -> list[int]:
    """Inputs whose effect across their range is above the surrogate's noise."""
    _, fx, grad = _gradients(node.f, node.X[:100], node.lo, node.hi)
    effect = np.median(np.abs(grad), axis=0) * (node.hi - node.lo)
    scale = float(np.std(y)) or 1.0
    return [i for i in range(len(node.syms)) if effect[i] > max(3 * search.eps, 1e-4) * scale]


def solve(node: Node, search: Search) -> list[tuple[float, sympy.Expr]]:
    """Ranked ``(relative error, formula)`` pairs for ``node.f`` over ``node.syms``."""
    search.solver = solve
    with np.errstate(all="ignore"):
        y = np.asarray(node.f(node.X), float)
    if not np.all(np.isfinite(y)) or np.std(y) == 0 and len(node.syms) > 0 and np.all(y == y[0]):
        return [(0.0, sympy.Float(float(y[0])))] if np.all(np.isfinite(y)) else []
    if len(node.syms) > 1:
        keep = _relevant(node, y, search)
        if keep and len(keep) < len(node.syms):  # irrelevant inputs: fix them, solve the rest
            log.debug("depth %d: dropping %s", node.depth,
                      [str(node.syms[i]) for i in range(len(node.syms)) if i not in keep])
            child = _sub_node(node, keep, np.median(node.X, axis=0))
            child.depth = node.depth
            found = solve(child, search)
            search.trace.fixed(node, child, found)
            return found
    if len(node.syms) == 1:
        found = _leaf_1d(node, y, search)
        search.trail.add(_leaf_record(node, found, search, "snap"))
        return found
    found = _leaf_multi(node, y, search, budget=min(2.0, max(search.deadline - time.perf_counter(), 0) * 0.1))
    rec = _leaf_record(node, found, search, "regression")
    if _good(found, search) or search.out_of_time() or node.depth > 6:
        search.trail.add(rec)
        return found
    add, mul = interaction_stats(node.f, node.lo, node.hi, search.rng, deadline=search.deadline)
    routes = (
        ("additive split", lambda: _try_split(node, y, search, add, "add")),
        ("multiplicative split", lambda: _try_split(node, y, search, mul, "mul")),
        ("split of a transform", lambda: _try_transforms(node, y, search)),
        ("varying coefficients", lambda: try_varying_coefficients(node, y, search)),
        ("one combination of inputs", lambda: try_single_combination(node, y, search)),
        ("ridge functions", lambda: try_ridge(node, y, search)),
        ("symmetry", lambda: _try_symmetries(node, y, search)),
        ("invariant direction", lambda: try_invariant_directions(node, y, search)),
        ("search", lambda: _search_route(node, y, search)),
    )
    for name, route in routes:
        if search.out_of_time():
            break
        search.trail.open()
        new = route()
        kids = search.trail.close()
        found = _ranked([e for _, e in found] + new, node, y, search.tol)
        if found and new and found[0][1] in new:  # this route gave the best formula so far
            rec = record(node.syms, name, found[0][1], kids)
        if _good(found, search, _size_bound(node)) or (
                found and found[0][0] <= search.tol and search.trail.accepted_form(found[0][1])):
            break
    search.trail.add(rec)
    return found


def _leaf_record(node, found, search, method):
    best = found[0][1] if found else None
    if best is not None and search.trail.from_search(best):
        method = "search"
    return record(node.syms, f"leaf: {method}", best)


def solve_by_decomposition(ctx, *, surrogate_share: float = 0.45, max_rows: int = 400) -> None:
    """The discovery stage: fit the surrogate, solve by decomposition, finish the best formulas."""
    p = ctx.problem
    start = time.perf_counter()
    Xt, yt = p.subset(p.train)
    Xv, yv = p.subset(p.val)
    sur = ctx.shared.get("surrogate")
    if sur is None:
        sur = fit_surrogate(Xt, yt, Xv, yv, seed=ctx.seed, time_budget=surrogate_share * ctx.remaining(),
                            device=ctx.shared.get("device"))
        ctx.shared["surrogate"] = sur
        ctx.shared["model"] = sur.model
        ctx.diagnostics["fit_r2"] = 1.0 - sur.rel_error**2
    rng = np.random.default_rng(ctx.seed)
    rows = rng.choice(len(Xt), size=min(max_rows, len(Xt)), replace=False)
    root = Node(sur, p.symbols, np.min(Xt, 0), np.max(Xt, 0), Xt[rows])
    search = Search(deadline=ctx.deadline - 0.15 * max(ctx.remaining(), 0), eps=max(sur.rel_error, 1e-7), rng=rng)
    results = solve(root, search)
    log.debug("decomposition: %d formulas in %.1fs", len(results), time.perf_counter() - start)
    provenance = {"stage": "decompose", "surrogate": surrogate_summary(sur), "tree": search.trail.root}
    first = results[0][1] if results else None
    # the surrogate ranked them; the real rows decide which are finished (see _leafcheck)
    origins: dict = {}
    results = rerank_on_data(results[:RECHECK], p, seed=ctx.seed, origins=origins,
                             deadline=time.perf_counter() + 0.1 * max(ctx.remaining(), 0))
    for i, (err, expr) in enumerate(results[:6]):
        if ctx.remaining() <= 0:
            break
        built = origins.get(expr, expr)  # the formula as the search built it (before the refit)
        ctx.add(expr, "decompose", surrogate_error=err, tree=_tree_of(search, root, built, p),
                provenance=provenance if built == first else {**provenance, "tree": None, "rank": i})


def _tree_of(search: Search, root: Node, expr, problem):
    """How ``expr`` was built (a ``_tree.TreeNode``), or None when the tree cannot be made."""

    def error(e, node):
        with np.errstate(all="ignore"):
            return _rel_error(e, node, np.asarray(node.f(node.X), float))

    try:
        return search.trace.tree(root, expr, error, dict(zip(problem.variables.symbols, problem.variables.columns)))
    except Exception as exc:  # the tree is a view of the search; never lose the formula over it
        log.debug("decomposition tree of %s failed: %s", expr, exc)
        return None
