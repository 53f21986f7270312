"""One-input parts of a formula re-solved on the real rows.

A formula found by sparse regression or by decomposition is often right in its structure and
wrong in one part: ``A(u) * B(v)`` with ``B`` exact and ``A`` a rational mimic of a function
no term library holds (``u/(exp(u/(2*pi)) - 1)``), or with ``A`` snapped against a surrogate
whose error near an edge chose a mimic.  When the other parts are right, the real rows give
``A`` itself: ``y / B(v)`` (``y - B(v)`` for a sum) is a function of ``u`` alone, a
one-input problem that the leaf solver (primitives ``c*f(a*x+b)+d`` under outer and inner
transforms, a power times a primitive) solves on data without a surrogate in between.  Each
new leaf is composed with the rest and finished (all constants refitted jointly) like any
other formula; the data decide between it and the original.

The variable of a part may also be a combination of inputs that one factor or term depends
on alone, read from the formula (``cos(v/c)**-1.03``, a mimic of the Lorentz factor, is a
function of ``v/c``): the part is then solved as a function of that monomial.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import sympy

from .._evaluate import numpy_function
from ..formula import complexity

__all__ = ["formula_parts", "parts_strategy"]

log = logging.getLogger("kansci")

#: candidates whose parts are re-solved, and leaves kept per part
MAX_FORMULAS = 1
MAX_LEAVES = 3
#: rows the one-input problems are solved on
ROWS = 1000
#: only formulas that already explain 99 % of the variance (RMSE below this times std(y)) are
#: taken apart: a formula right but for one part is accurate, one far off is wrong elsewhere too
ACCURATE = 0.1
#: parts of at most this many nodes (a power of the input) are taken as right
SIMPLE = 4


def _groups(args, symbols) -> list[tuple[frozenset, list]]:
    """``args`` (factors or terms) gathered into groups of disjoint inputs: ``[(inputs, args)]``
    (arguments without inputs are left out: they stay with the rest)."""
    groups: list[tuple[set, list]] = []
    for a in args:
        used = a.free_symbols & symbols
        if not used:
            continue
        joined = [g for g in groups if g[0] & used]
        inputs, members = set(used), [a]
        for g in joined:
            inputs |= g[0]
            members += g[1]
            groups.remove(g)
        groups.append((inputs, members))
    return [(frozenset(i), m) for i, m in groups]


def _combination(factor: sympy.Expr, symbols: list, X: np.ndarray, rows: int = 40) -> sympy.Expr | None:
    """The monomial ``w = prod x_i**p_i`` of which ``factor`` (of two to five inputs) is a
    function, or None.  For ``F = g(w)``, ``x_i * dF/dx_i = g'(w) * w * p_i``: the scaled
    gradients at every row are parallel to ``p``.  ``p`` is read from them, scaled to a
    smallest entry of 1 and snapped to halves (``v/c``, ``B*mom/(T*kb)``, ``u**2/c**2``)."""
    syms = [s for s in symbols if s in factor.free_symbols]
    if not 2 <= len(syms) <= 5:
        return None
    cols = [symbols.index(s) for s in syms]
    pick = X[np.linspace(0, len(X) - 1, min(rows, len(X))).round().astype(int)][:, cols]
    try:
        grads = [numpy_function(sympy.diff(factor, s) * s, syms) for s in syms]
        with np.errstate(all="ignore"):
            G = np.column_stack([np.broadcast_to(np.asarray(g(*pick.T), float), (len(pick),)) for g in grads])
    except Exception:  # a factor numpy cannot differentiate or evaluate
        return None
    norms = np.linalg.norm(G, axis=1)
    ok = np.all(np.isfinite(G), axis=1) & (norms > 0)
    if ok.sum() < 5:
        return None
    U = G[ok] / norms[ok, None]
    U *= np.sign(U[:, [int(np.argmax(np.abs(U[0])))]])  # one orientation
    direction = U.mean(axis=0)
    if np.max(np.abs(U - direction)) > 1e-6 or np.min(np.abs(direction)) < 1e-3:
        return None
    p = direction / np.min(np.abs(direction))
    snapped = np.round(2 * p) / 2
    if np.max(np.abs(p - snapped)) > 1e-4 * np.max(np.abs(p)) or np.max(np.abs(snapped)) > 6:
        return None
    return sympy.Mul(*[s ** sympy.Rational(int(round(2 * e)), 2) for s, e in zip(syms, snapped)])


def formula_parts(expr: sympy.Expr, symbols, X: np.ndarray | None = None) -> list[tuple[str, sympy.Expr, sympy.Expr]]:
    """The splits of ``expr`` into a part that is a function of one variable and the rest:
    ``[(op, variable, rest)]`` with ``op`` ``"mul"`` (``expr = part * rest``) or ``"add"``
    (``expr = part + rest``), most complex part first.

    The variable is an input (the factors or terms in it alone, when the others are in other
    inputs) or, given the rows ``X`` (n, len(symbols)), a monomial combination of inputs that
    one factor or term depends on alone (``cos(v/c)**-1.03``: ``v/c``; see
    :func:`_combination`).  Parts of :data:`SIMPLE` nodes or fewer (``1/v**2``) are not
    offered.  Empty when ``expr`` is neither a product nor a sum."""
    symbols = list(symbols)
    if isinstance(expr, sympy.Mul):
        op, args, unit, combine = "mul", sympy.Mul.make_args(expr), sympy.S.One, sympy.Mul
    elif isinstance(expr, sympy.Add):
        op, args, unit, combine = "add", sympy.Add.make_args(expr), sympy.S.Zero, sympy.Add
    else:
        return []
    out = []
    groups = _groups(args, set(symbols))
    for inputs, members in groups if len(groups) > 1 else []:
        part = combine(*members)
        if len(inputs) != 1 or complexity(part) <= SIMPLE:
            continue
        rest = [a for a in args if a not in members]
        out.append((complexity(part), op, next(iter(inputs)), combine(*rest) if rest else unit))
    if X is not None:
        for k, a in enumerate(args):
            if complexity(a) <= SIMPLE or len(a.free_symbols & set(symbols)) < 2:
                continue
            w = _combination(a, symbols, X)
            if w is not None:
                rest = [b for i, b in enumerate(args) if i != k]
                out.append((complexity(a), op, w, combine(*rest) if rest else unit))
    return [t[1:] for t in sorted(out, key=lambda t: -t[0])]


def _values(expr, symbols, X) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            v = np.broadcast_to(np.asarray(numpy_function(expr, symbols)(*X.T), float), (len(X),))
    except Exception:  # an expression numpy cannot evaluate
        return None
    return v if np.all(np.isfinite(v)) else None


def _part_error(expr, rest, op, symbols, X, y, t) -> float:
    """The error of the formula's own part on ``t`` (``y / rest`` or ``y - rest``), relative
    to ``std(t)``, floored at 1e-9 (rounding)."""
    pred = _values(expr, symbols, X)
    if pred is None:
        return math.inf
    r = y - pred
    if op == "mul":
        r = r / _values(rest, symbols, X)
    return max(float(np.sqrt(np.mean(r**2)) / (np.std(t) or 1.0)), 1e-9)


def _chosen(found, current: float) -> list:
    """The leaves to compose: the most accurate, then the simplest of those that fit ``t`` no
    worse than half as well again as the formula's own part (with noise a flexible leaf fits
    it a little better than the law; the description length of the composed formulas decides)."""
    if not found:
        return []
    out = [found[0][1]]
    near = sorted((f for e, f in found[1:] if e <= 1.5 * current), key=complexity)
    return out + near[:MAX_LEAVES - 1]


def parts_strategy(ctx, *, max_formulas: int = MAX_FORMULAS) -> None:
    """The discovery stage: re-solve the one-input parts of the best formulas on real rows.

    Nothing is done when the best formula fits to rounding level, or explains less than 99 %
    of the variance (see :data:`ACCURATE`).  Otherwise the most complex one-input factor (or
    term) of the best formula with one is solved again on ``y / rest`` (``y - rest``) with the
    leaf solver of decomposition, and each new leaf, composed with the rest, is added as
    ``parts``.
    """
    from ._decompose import _leaf_1d, _power_times, _snap
    from ._subproblem import Node, Search, _good, _ranked

    p = ctx.raw
    floor = 1e-9 * p.y_scale
    ranked = sorted((c for c in ctx.candidates if np.isfinite(c.rmse)), key=lambda c: c.rmse)
    if not ranked or ranked[0].rmse <= floor or ranked[0].rmse > ACCURATE * p.y_scale:
        return
    symbols = p.symbols
    rng = np.random.default_rng(ctx.seed)
    rows = p.train if len(p.train) <= ROWS else np.sort(rng.choice(p.train, size=ROWS, replace=False))
    X, y = p.X[rows], p.y[rows]
    seen = ctx.shared.setdefault("parts_seen", {})  # formula -> whether it had parts (earlier runs too)
    done = 0
    for c in ranked:
        if done >= max_formulas or ctx.remaining() <= 0:
            break
        key = str(c.expr)
        if key in seen:
            done += seen[key]  # taken apart already: nothing new to try there
            continue
        splits = formula_parts(c.expr, symbols, X)
        seen[key] = bool(splits)
        if not splits:
            continue
        done += 1
        for op, s, rest in splits[:1]:  # the most complex part: where a mimic hides
            if ctx.remaining() <= 0:
                return
            r = _values(rest, symbols, X)
            if r is None or (op == "mul" and not np.all(np.abs(r) > 1e-300)):
                continue
            t = y / r if op == "mul" else y - r
            if not np.all(np.isfinite(t)) or np.ptp(t) == 0:
                continue
            if s in symbols:
                x, w = X[:, [symbols.index(s)]], s
            else:  # a combination of inputs: solved in a new variable, substituted back
                x = _values(s, symbols, X)
                if x is None:
                    continue
                x = x[:, None]
                w, s = s, sympy.Dummy("w", positive=bool(np.all(x > 0)))
            node = Node(None, [s], x.min(0), x.max(0), x)
            log.debug("parts: re-solving the part in %s (%.1fs left)", s, ctx.remaining())
            # how well the formula's own part fits t (noise included): a leaf is asked to do as well
            current = _part_error(c.expr, rest, op, symbols, X, y, t)
            search = Search(deadline=time.perf_counter() + min(2.0, ctx.remaining()), eps=current / 3, rng=rng)
            # a primitive, or a power times one, first (cheap); then every transform
            found = _ranked(_snap(x[:, 0], t, s) + _power_times(x[:, 0], t, s), node, t, search.tol, refine=4)
            if not _good(found, search):
                found = _ranked([e for _, e in found] + [e for _, e in _leaf_1d(node, t, search, terms=False)],
                                node, t, search.tol)
            for k, leaf in enumerate(_chosen(found, current)):
                leaf = leaf.xreplace({s: w})
                expr = leaf * rest if op == "mul" else leaf + rest
                log.debug("parts: %s re-solved on real rows: %s", w, leaf)
                ctx.add_raw(expr, "parts", always=k == 0)  # the best leaf even when the stage's time is up
