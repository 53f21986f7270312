"""Sub-problems of the decomposition and the helpers every route shares.

A :class:`Node` is a black-box function on a box; a :class:`Search` carries the deadline,
the surrogate's accuracy and the records (trace, trail) of one decomposition.  Routes that
make sub-problems (``_reductions``, ``_ridge``) solve them with ``search.solve(node)``, the
recursive solver of ``_decompose`` injected into the search, so that no route imports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy

from .._timeout import CallTimeout, time_limit
from ..formula import complexity, refine_constants
from ._provenance import Trail
from ._tree import Trace

__all__ = ["Node", "Search", "ALTERNATIVES"]

#: Alternatives per child composed besides every child's first choice (one child at a time).
ALTERNATIVES = 3


@dataclass
class Node:
    """A sub-problem: a black-box ``f`` of ``syms`` on the box ``[lo, hi]``, probed at ``X``."""

    f: object
    syms: list
    lo: np.ndarray
    hi: np.ndarray
    X: np.ndarray
    depth: int = 0


@dataclass
class Search:
    deadline: float
    eps: float  # relative error of the surrogate
    rng: np.random.Generator
    trace: Trace = field(default_factory=Trace)  # how each formula was built, for Discovery.tree
    trail: Trail = field(default_factory=Trail)  # the accepted steps, for the provenance
    solver: Callable | None = None  # the recursive solver (``_decompose.solve``), set by it

    def solve(self, node: "Node") -> list:
        """Ranked ``(relative error, formula)`` pairs for a sub-problem, by the recursive solver
        (injected, so the routes that make sub-problems need not import the solver)."""
        if self.solver is None:
            raise RuntimeError("Search.solver is not set: call _decompose.solve first")
        return self.solver(node, self)

    @property
    def tol(self) -> float:
        return max(3 * self.eps, 1e-6)

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline


def _rel_error(expr, node: Node, y: np.ndarray) -> float:
    from .._evaluate import numpy_function

    try:
        with np.errstate(all="ignore"):
            pred = np.asarray(numpy_function(expr, node.syms)(*node.X.T), float)
    except Exception:  # an expression numpy cannot evaluate
        return np.inf
    pred = np.broadcast_to(pred, y.shape)
    if not np.all(np.isfinite(pred)):
        return np.inf
    return float(np.sqrt(np.mean((pred - y) ** 2)) / (np.std(y) or np.sqrt(np.mean(y**2)) or 1.0))


def _ranked(exprs, node: Node, y: np.ndarray, tol: float, keep: int = 5, refine: int = 0, extra: int = 2):
    """Best first: among formulas close to the best error, the simplest.

    Leaf data come from the surrogate, whose smooth errors a flexible formula can fit; the
    true, simple formula is often a few times worse there, so simplicity gets a margin of
    up to 10x the best error, but no more than ``5*tol`` above it (a real misfit is not
    noise).  ``refine`` > 0 refits the constants of that many of the best formulas first.
    The ``extra`` lowest-error formulas are appended when not among the first ``keep``.
    """
    seen, scored = set(), []
    for e in exprs:
        if e is None or e in seen:
            continue
        seen.add(e)
        err = _rel_error(e, node, y)
        if np.isfinite(err):
            scored.append((err, e))
    if not scored:
        return []
    if refine:
        scored.sort(key=lambda t: t[0])
        scored = [_refit(e, node, y) if i < refine else (err, e) for i, (err, e) in enumerate(scored)]
    best = min(err for err, _ in scored)
    cut = max(min(10 * best, best + 5 * tol), tol)
    scored.sort(key=lambda t: (t[0] > cut, complexity(t[1]) if t[0] <= cut else 0, t[0]))
    top = scored[:keep]
    # with noisy data many formulas pass the cut and the simplest are kept; the closest fits
    # ride along, so the right but slightly more complex form (exp(-x**2) against tanh) is not
    # lost before the formulas meet the real data
    top += [t for t in sorted(scored, key=lambda t: t[0])[:extra] if t not in top]
    return top


def _refit(expr, node: Node, y: np.ndarray):
    """(error, expr) after a joint least-squares refit of the formula's constants on the leaf."""
    try:
        with time_limit(1.0):
            new, _ = refine_constants(expr, node.syms, node.X, y)
    except (Exception, CallTimeout):  # keep the snapped constants
        new = expr
    return _rel_error(new, node, y), new


def _combine(node, y, children_results, op, search, kids=None):
    """Formulas for ``f = K + sum g_c`` (op 'add') or ``f = K * prod g_c`` (op 'mul')."""
    if any(not r for r in children_results):
        return []
    choices = [tuple(0 for _ in children_results)]
    for alt in range(1, ALTERNATIVES + 1):
        for c, r in enumerate(children_results):
            if len(r) > alt:
                choices.append(tuple(alt if i == c else 0 for i in range(len(children_results))))
    out = []
    from .._evaluate import numpy_function

    for pick in choices:
        parts = [children_results[c][i][1] for c, i in enumerate(pick)]
        body = sympy.Add(*parts) if op == "add" else sympy.Mul(*parts)
        try:
            with np.errstate(all="ignore"):
                v = np.broadcast_to(np.asarray(numpy_function(body, node.syms)(*node.X.T), float), y.shape)
        except Exception:
            continue
        if not np.all(np.isfinite(v)):
            continue
        if op == "add":
            out.append(body + sympy.Float(float(np.mean(y - v))))
        else:
            k = float(np.dot(v, y) / (np.dot(v, v) or 1.0))
            out.append(sympy.Float(k) * body)
        if kids is not None:
            search.trace.split(node, out[-1], op, kids, parts)
    return out


def _good(found, search, max_complexity: int = 14) -> bool:
    """A formula that fits to the surrogate's accuracy and is simple: stop searching this node."""
    return bool(found) and found[0][0] <= search.tol and complexity(found[0][1]) <= max_complexity


def _size_bound(node: Node) -> int:
    """Complexity a fitting formula may have and still end the search of a node (more inputs, more)."""
    return 14 + 5 * max(len(node.syms) - 2, 0)
