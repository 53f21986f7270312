"""Reductions by learned combinations of inputs: the KAN finds the argument.

A function of a combination (``sin(a - b)``, ``exp(-(x - m)**2)``, ``cos(2*x + z)``,
``1/(exp(h*w/(k*T)) - 1)``) is what a KAN's first layer represents directly: its gradient
keeps one direction.  The probes (``single_combinations``, ``invariant_directions`` in
``_probes``) read that from the surrogate's gradients; here the combination becomes a new
variable and the smaller problem is solved recursively:

* one combination ``u = w . x_S`` (linear) or ``u = prod x_i**w_i`` (log space) replaces the
  inputs of S; the surrogate is evaluated on the level set ``{x_S : w . x_S = u}`` at the
  point nearest the centre of the box (Dykstra's alternating projections), so it is never
  asked to extrapolate where the data allow otherwise;
* an invariant direction d (``f(x * s**d) = s**k f(x)``, or ``f(x + t*d) = f(x)``) removes
  one input ``x_r``: ``z_i = x_i * x_r**(-d_i/d_r)`` (or ``x_i - (d_i/d_r)*x_r``) replace
  the others of d's support, and ``f = x_r**(k/d_r) g(z, ...)``.

Weights snapped to small integer ratios give exact combinations; otherwise they stay
floats and are refitted with the rest of the formula.
"""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np
import sympy

from ._probes import invariant_directions, single_combinations
from ._subproblem import Node, _good, _ranked, _size_bound

__all__ = ["try_combinations", "try_single_combination", "try_invariant_directions"]

log = logging.getLogger("kansci")


def _const(v) -> sympy.Expr:
    if isinstance(v, Fraction):
        return sympy.Rational(v.numerator, v.denominator)
    if float(v).is_integer():
        return sympy.Integer(int(v))
    return sympy.Float(float(v))


def _combination(syms, w, space):
    if space == "linear":
        return sympy.Add(*[_const(wi) * s for wi, s in zip(w, syms)])
    return sympy.Mul(*[s ** _const(wi) for wi, s in zip(w, syms)])


def _level_point(u, w, lo, hi, iters: int = 40):
    """Per row, the point of ``{x : w . x = u}`` in the box ``[lo, hi]`` nearest its centre (Dykstra)."""
    c = (lo + hi) / 2
    x = np.repeat(c[None], len(u), axis=0)
    ww = float(w @ w)
    p = np.zeros_like(x)
    q = np.zeros_like(x)
    for _ in range(iters):
        y = x + p
        y = y + ((u - y @ w) / ww)[:, None] * w[None]  # onto the hyperplane
        p = x + p - y
        x = np.clip(y + q, lo, hi)
        q = y + q - x
    return x  # in the box; on the plane wherever the plane meets the box


def _dummy(name: str, values: np.ndarray) -> sympy.Dummy:
    return sympy.Dummy(name, positive=True) if np.all(values > 0) else sympy.Dummy(name, real=True)


def _child(node, f, syms, Z, depth):

    return Node(f, syms, Z.min(0), Z.max(0), Z, depth)


def _oriented(w):
    """Mostly positive weights: ``m*B/(k*T)`` rather than ``k*T/(m*B)``."""
    signs = np.sign([float(v) for v in w])
    if (signs > 0).sum() < (signs < 0).sum() or (signs > 0).sum() == (signs < 0).sum() and signs[0] < 0:
        return [-v for v in w]
    return list(w)


def _reduce_single(node, search, S, w, space):
    """Replace the inputs S by ``u = w . x_S`` (or ``prod x**w``); solve; substitute back."""
    k = len(node.syms)
    rest = [c for c in range(k) if c not in S]
    wf = np.array([float(v) for v in w])
    to = (lambda v: v) if space == "linear" else np.log
    lo, hi = to(node.lo[S]), to(node.hi[S])
    with np.errstate(all="ignore"):
        u = to(node.X[:, S]) @ wf
    col = u if space == "linear" else np.exp(u)
    names = "_".join(str(node.syms[c]) for c in S)
    new = _dummy(f"comb_{names}", col)

    def f(W, _node=node):
        uu = W[:, 0] if space == "linear" else np.log(W[:, 0])
        xs = _level_point(uu, wf, lo, hi)
        full = np.empty((len(W), k))
        full[:, S] = xs if space == "linear" else np.exp(xs)
        full[:, rest] = W[:, 1:]
        return _node.f(full)

    child = _child(node, f, [new] + [node.syms[c] for c in rest], np.column_stack([col, node.X[:, rest]]),
                   node.depth + 1)
    back = {new: _combination([node.syms[c] for c in S], w, space)}
    log.debug("depth %d: one combination %s", node.depth, back[new])
    search.trail.note(f"combination {back[new]}")
    return _solved(child, search, lambda e: e.xreplace(back))


def _reduce_direction(node, search, d, deg, r, space):
    """Remove ``x_r`` along the invariant direction d; ``f = x_r**(k/d_r) g(z)``."""
    k = len(node.syms)
    supp = [i for i in np.flatnonzero(d) if i != r]
    rest = [c for c in range(k) if c != r and c not in supp]
    e = {i: Fraction(int(d[i]), int(d[r])) for i in supp}  # x_i = z_i * x_r**e_i (or z_i + e_i*x_r)
    p = Fraction(deg) / int(d[r])
    X = node.X
    if space == "log":
        Z = np.column_stack([X[:, i] * X[:, r] ** -float(e[i]) for i in supp])
    else:
        Z = np.column_stack([X[:, i] - float(e[i]) * X[:, r] for i in supp])
    lo, hi = node.lo, node.hi

    def f(W, _node=node):
        z, others = W[:, : len(supp)], W[:, len(supp):]
        if space == "log":
            with np.errstate(all="ignore"):
                bounds = [((np.log(lo[i]) - np.log(z[:, n])) / float(e[i]),
                           (np.log(hi[i]) - np.log(z[:, n])) / float(e[i])) for n, i in enumerate(supp)]
            a0, b0 = np.log(lo[r]), np.log(hi[r])
        else:
            bounds = [((lo[i] - z[:, n]) / float(e[i]), (hi[i] - z[:, n]) / float(e[i])) for n, i in enumerate(supp)]
            a0, b0 = lo[r], hi[r]
        a = np.max(np.column_stack([np.full(len(W), a0)] + [np.minimum(s, t) for s, t in bounds]), axis=1)
        b = np.min(np.column_stack([np.full(len(W), b0)] + [np.maximum(s, t) for s, t in bounds]), axis=1)
        xr = np.where(a <= b, (a + b) / 2, np.clip((a + b) / 2, a0, b0))
        full = np.empty((len(W), k))
        full[:, rest] = others
        if space == "log":
            xr = np.exp(xr)
            for n, i in enumerate(supp):
                full[:, i] = z[:, n] * xr ** float(e[i])
        else:
            for n, i in enumerate(supp):
                full[:, i] = z[:, n] + float(e[i]) * xr
        full[:, r] = xr
        return _node.f(full) / (xr ** float(p) if space == "log" else 1.0)

    xs = node.syms
    names = [_dummy(f"{xs[i]}_{xs[r]}", Z[:, n]) for n, i in enumerate(supp)]
    child = _child(node, f, names + [xs[c] for c in rest], np.column_stack([Z, X[:, rest]]), node.depth + 1)
    if space == "log":
        back = {z: xs[i] * xs[r] ** -_const(e[i]) for z, i in zip(names, supp)}
        pre = xs[r] ** _const(p)
    else:
        back = {z: xs[i] - _const(e[i]) * xs[r] for z, i in zip(names, supp)}
        pre = sympy.S.One
    log.debug("depth %d: invariant direction %s (%s, degree %s), removing %s", node.depth, list(d), space, deg, xs[r])
    search.trail.note(f"invariant {space} direction {list(map(int, d))} removes {xs[r]}")
    return _solved(child, search, lambda ex: pre * ex.xreplace(back))


def _solved(child, search, put_back) -> list:
    """The child's formulas in the parent's inputs; when the child's best is a good (simple,
    fitting) formula in its own inputs, the parent may stop there even though substituting
    the combination back made it longer."""

    found = search.solve(child)
    out = [put_back(e) for _, e in found]
    if out and _good(found, search, _size_bound(child) + 6):
        search.trail.accept(out[0])
    return out


def _done(out, node, y, search) -> bool:

    ranked = _ranked(out, node, y, search.tol)
    return _good(ranked, search, _size_bound(node)) or bool(
        ranked and ranked[0][0] <= search.tol and search.trail.accepted_form(ranked[0][1]))


def try_single_combination(node, y, search) -> list:
    """Formulas after replacing a group of inputs by the one combination the gradients follow."""
    out: list = []
    tol = max(3 * search.eps, 8e-3)
    for space in ["linear"] + (["log"] if np.all(node.lo > 0) else []):
        for S, w in single_combinations(node.f, node.X[:200], node.lo, node.hi, tol=tol, space=space)[:2]:
            if search.out_of_time():
                return out
            # the law may read more simply in u or in 1/u (exp(u) + exp(-u) against 1/u)
            for ws in ([_oriented(w)] if space == "linear" else [_oriented(w), [-v for v in _oriented(w)]]):
                if search.out_of_time():
                    return out
                out += _reduce_single(node, search, S, ws, space)
                if _done(out, node, y, search):
                    return out
    return out


def try_invariant_directions(node, y, search, *, max_directions: int = 3) -> list:
    """Formulas after removing an input along a direction in which f is invariant (or scales)."""
    out: list = []
    tol = max(3 * search.eps, 8e-3)
    for space in (["log"] if np.all(node.lo > 0) else []) + ["linear"]:
        found = invariant_directions(node.f, node.X[:200], node.lo, node.hi, tol=tol, space=space)
        for d, deg in found[:max_directions]:
            for r in list(np.flatnonzero(d))[::-1][:2]:
                if search.out_of_time():
                    return out
                out += _reduce_direction(node, search, d, deg, int(r), space)
                if _done(out, node, y, search):
                    return out
    return out


def try_combinations(node, y, search) -> list:
    """Both reductions: one combination of a group of inputs, else an invariant direction."""
    out = try_single_combination(node, y, search)
    return out if out else try_invariant_directions(node, y, search)
