"""Varying coefficients: a law affine in one function of one input.

``f(x_j, z) = a(z) + b(z) * g(x_j)``, where ``z`` are the other inputs, is the structure of an
angular distribution whose coefficients depend on the energy (``1 + q(E, m) * cos(theta)**2``),
of a response linear in one input (``x1*cos(w*t) + alpha*x1*cos(w*t)**2``), of a mean and an
amplitude that both depend on the conditions.  Neither the additive nor the multiplicative
split sees it (both are the special cases of ``b`` constant and of ``a`` proportional to ``b``),
but the surrogate shows it: on a grid of ``R`` points ``z_r`` and ``K`` values ``x_k`` the matrix
``F[r, k] = f(x_k, z_r)`` has rank two, and with each row's mean taken out it has rank one,
``b(z_r) * (g(x_k) - mean g)``.  Its leading singular vectors give ``g`` up to an affine map
(a one-input problem, snapped), and then ``a`` and ``b`` at any ``z`` by least squares over the
``K`` values (two smaller problems, solved recursively).  This is the varying-coefficient model
of Hastie & Tibshirani, J. R. Statist. Soc. B 55 (1993) 757, with ``g`` learnt rather than given;
the rank test on a function matrix is AI Feynman's separability test taken one rank further.
"""

from __future__ import annotations

import logging

import numpy as np
import sympy

from .._evaluate import numpy_function
from ._subproblem import ALTERNATIVES, Node

__all__ = ["try_varying_coefficients", "varying_inputs"]

log = logging.getLogger("kansci")

#: Points of the other inputs (rows) and values of the input (columns) of the probe matrix.
ROWS, COLUMNS = 24, 16


def _grid(node: Node, j: int) -> np.ndarray:
    return np.linspace(node.lo[j], node.hi[j], COLUMNS)


def _matrix(f, Z: np.ndarray, j: int, xs: np.ndarray) -> np.ndarray:
    """``F[r, k] = f`` at the other inputs ``Z[r]`` (all columns, column j ignored) with ``x_j = xs[k]``."""
    full = np.repeat(Z, len(xs), axis=0)
    full[:, j] = np.tile(xs, len(Z))
    with np.errstate(all="ignore"):
        return np.asarray(f(full), float).reshape(len(Z), len(xs))


def varying_inputs(node: Node, rng: np.random.Generator, tol: float) -> tuple[list, np.ndarray]:
    """Inputs j in which ``node.f`` is affine in one function of x_j (best first).

    Returns a list of ``(misfit, j, u, means)`` and the probe rows (points of ``node.X``):
    the rank-one misfit of the row-centred matrix relative to the spread of f, the left
    singular vector ``u`` (the coefficient b at the probe rows, up to scale) and the row
    means.  Only structures that are neither additive (b constant) nor
    multiplicative (the matrix itself of rank one) are kept: the splits find those.
    """
    k = len(node.syms)
    rows = node.X[rng.choice(len(node.X), size=min(ROWS, len(node.X)), replace=False)]
    with np.errstate(all="ignore"):
        spread = float(np.std(np.asarray(node.f(node.X), float)))
    if k < 2 or not spread > 0:
        return [], rows
    found = []
    for j in range(k):
        F = _matrix(node.f, rows.copy(), j, _grid(node, j))
        if not np.all(np.isfinite(F)):
            continue
        means = F.mean(axis=1, keepdims=True)
        U, s, _ = np.linalg.svd(F - means, full_matrices=False)
        cells = np.sqrt(F.size)
        misfit = float(np.sqrt(np.sum(s[1:] ** 2)) / cells / spread)
        if s[0] / cells < 20 * tol * spread or misfit > tol:
            continue  # x_j hardly matters, or f is not affine in a function of it
        u = U[:, 0]
        if np.std(u) < 0.1 * np.sqrt(np.mean(u**2)):
            continue  # b (nearly) constant: additive
        s_plain = np.linalg.svd(F, compute_uv=False)
        if np.sqrt(np.sum(s_plain[1:] ** 2)) / cells / spread <= max(3 * misfit, tol):
            continue  # a (nearly) proportional to b: multiplicative
        found.append((misfit, j, u, means[:, 0]))
    found.sort(key=lambda t: t[0])
    return found, rows


def _core(expr: sympy.Expr, s) -> sympy.Expr | None:
    """``expr`` without an additive constant and a constant factor (g up to an affine map)."""
    _, dep = expr.as_independent(s, as_Add=True)
    _, dep = dep.as_independent(s, as_Add=False)
    return dep if dep.free_symbols else None


def _coefficients(node: Node, j: int, xs: np.ndarray, G: np.ndarray):
    """The functions ``z -> (a(z), b(z))`` by least squares of f over ``x_j = xs`` on ``[1, G]``."""
    pinv = np.linalg.pinv(np.column_stack([np.ones_like(G), G]))
    k = len(node.syms)
    rest = [c for c in range(k) if c != j]

    def coef(W, which, _f=node.f):
        Z = np.empty((len(W), k))
        Z[:, rest] = W
        return _matrix(_f, Z, j, xs) @ pinv[which]

    return (lambda W: coef(W, 0)), (lambda W: coef(W, 1)), rest


def _g_node(node: Node, j: int, u: np.ndarray, means: np.ndarray, rows: np.ndarray) -> Node:
    """g up to an affine map, at any x_j: ``sum_r u_r (f(x_j, z_r) - mean_r)``."""

    def g(W, _f=node.f):
        return (_matrix(_f, rows.copy(), j, W[:, 0]) - means[:, None]).T @ u

    return Node(g, [node.syms[j]], node.lo[[j]], node.hi[[j]], node.X[:, [j]], node.depth + 1)


def try_varying_coefficients(node: Node, y: np.ndarray, search, *, max_inputs: int = 1, max_g: int = 2,
                             max_vars: int = 4) -> list:
    """Formulas ``a(z) + b(z)*g(x_j)`` for the input j the probe finds best (see the module).

    Nodes of more than ``max_vars`` inputs are left to the other routes: a and b are then
    problems of several inputs each, costly to solve through the probe matrix."""
    if not 2 <= len(node.syms) <= max_vars:
        return []
    tol = max(search.tol, 2e-3)
    # a generator of its own: the probe leaves the random choices of the other routes as they were
    found, probe_rows = varying_inputs(node, np.random.default_rng(len(node.X) + 7919 * node.depth), tol)
    out: list = []
    for _, j, u, means in found[:max_inputs]:
        s = node.syms[j]
        xs = _grid(node, j)
        gnode = _g_node(node, j, u, means, probe_rows)
        log.debug("depth %d: varying coefficients in %s", node.depth, s)
        for _, g_expr in search.solve(gnode)[:max_g]:
            if search.out_of_time():
                return out
            core = _core(g_expr, s)
            if core is None:
                continue
            with np.errstate(all="ignore"):
                G = np.broadcast_to(np.asarray(numpy_function(core, [s])(xs), float), xs.shape)
            if not np.all(np.isfinite(G)) or np.ptp(G) <= 0:
                continue
            fa, fb, rest = _coefficients(node, j, xs, G)
            X = node.X[:, rest]
            kids = [Node(fn, [node.syms[c] for c in rest], node.lo[rest], node.hi[rest], X, node.depth + 1)
                    for fn in (fa, fb)]
            solved = []
            for kid in kids:
                solved.append(search.solve(kid))
                if not solved[-1] or search.out_of_time():
                    break
            if len(solved) < 2 or not solved[1]:
                continue
            search.trail.note(f"varying coefficients: f = a + b*{core}")
            out += _compose(node, search, kids, (gnode, g_expr), solved, core)
    return out


def _compose(node, search, kids, g, solved, core) -> list:
    """``a + b*core`` for every child's first choice and up to ALTERNATIVES others, one at a time."""
    picks = [(0, 0)] + [(i, 0) for i in range(1, min(len(solved[0]), ALTERNATIVES + 1))] \
        + [(0, i) for i in range(1, min(len(solved[1]), ALTERNATIVES + 1))]
    out = []
    for ia, ib in picks:
        a, b = solved[0][ia][1], solved[1][ib][1]
        expr = a + b * core
        out.append(expr)
        search.trace.split(node, expr, "varying", [kids[0], kids[1], g[0]], [a, b, g[1]])
    return out
