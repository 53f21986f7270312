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
"""

from __future__ import annotations

import logging
import time

import numpy as np
import sympy

from .._evaluate import numpy_function
from ..formula import complexity

__all__ = ["one_input_parts", "parts_strategy"]

log = logging.getLogger("kansci")

#: candidates whose parts are re-solved, and leaves kept per part
MAX_FORMULAS = 1
MAX_LEAVES = 2
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


def one_input_parts(expr: sympy.Expr, symbols) -> list[tuple[str, sympy.Symbol, sympy.Expr]]:
    """The splits of ``expr`` into a part in one input and the rest in the others:
    ``[(op, input, rest)]`` with ``op`` ``"mul"`` (``expr = part * rest``) or ``"add"``
    (``expr = part + rest``).  Empty when ``expr`` is neither a product nor a sum of parts in
    separate inputs.  Parts of :data:`SIMPLE` nodes or fewer (``1/v**2``) are not offered,
    the most complex part comes first."""
    symbols = set(symbols)
    if isinstance(expr, sympy.Mul):
        op, args, unit = "mul", sympy.Mul.make_args(expr), sympy.S.One
    elif isinstance(expr, sympy.Add):
        op, args, unit = "add", sympy.Add.make_args(expr), sympy.S.Zero
    else:
        return []
    groups = _groups(args, symbols)
    if len(groups) < 2:
        return []
    out = []
    combine = sympy.Mul if op == "mul" else sympy.Add
    for inputs, members in groups:
        if len(inputs) != 1:
            continue
        part = combine(*members)
        if complexity(part) <= SIMPLE:
            continue
        rest = [a for a in args if a not in members]
        out.append((complexity(part), op, next(iter(inputs)), combine(*rest) if rest else unit))
    return [t[1:] for t in sorted(out, key=lambda t: -t[0])]


def _values(expr, symbols, X) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            v = np.broadcast_to(np.asarray(numpy_function(expr, symbols)(*X.T), float), (len(X),))
    except Exception:  # an expression numpy cannot evaluate
        return None
    return v if np.all(np.isfinite(v)) else None


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
    seen, done = set(), 0
    for c in ranked:
        if done >= max_formulas or ctx.remaining() <= 0:
            break
        key = str(c.expr)
        if key in seen:
            continue
        seen.add(key)
        splits = one_input_parts(c.expr, symbols)
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
            j = symbols.index(s)
            x = X[:, [j]]
            node = Node(None, [s], x.min(0), x.max(0), x)
            log.debug("parts: re-solving %s (%.1fs left)", s, ctx.remaining())
            search = Search(deadline=time.perf_counter() + min(2.0, ctx.remaining()), eps=1e-9, rng=rng)
            # a primitive, or a power times one, first (cheap); then every transform
            found = _ranked(_snap(x[:, 0], t, s) + _power_times(x[:, 0], t, s), node, t, search.tol, refine=4)
            if not _good(found, search):
                found = _ranked([e for _, e in found] + [e for _, e in _leaf_1d(node, t, search, terms=False)],
                                node, t, search.tol)
            for k, (_, leaf) in enumerate(found[:MAX_LEAVES]):
                expr = leaf * rest if op == "mul" else leaf + rest
                log.debug("parts: %s re-solved on real rows: %s", s, leaf)
                ctx.add_raw(expr, "parts", always=k == 0)  # the best leaf even when the stage's time is up
