"""A feature space of small expression trees, enumerated bottom-up and deduplicated by value.

Features are built from the inputs by unary operators (powers, roots, exp, log, sin, cos,
tanh, shifts ``u +- 1``, the real cube root, ...) and the binary operators ``+ - * /``,
cheapest first, in the manner of SISSO's feature construction (Ouyang et al., Phys. Rev.
Materials 2, 083802, 2018) and of the brute-force stage of AI Feynman.  Every feature is
evaluated on the probe rows as it is created (numpy, vectorised by operator); a feature
whose values equal an earlier one's (to 1e-9, relative) is the same function on these rows
and is dropped, so ``exp(log(x))``, ``x*y`` and ``y*x`` cost one slot.  A feature is a
tuple tree (``("x", j)``, ``("u", op, child)``, ``("b", op, left, right)``) made into sympy
only when it is chosen.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

__all__ = ["FeatureSpace", "UNARY", "BINARY", "enumerate_features", "real_root"]


def real_root(u, n: int = 3):
    """The real n-th root (n odd) as a formula: ``sign(u)*Abs(u)**(1/n)``, real for u < 0.

    sympy's ``u**(1/3)`` is the principal, complex root for negative ``u``; this form is
    what the numpy, torch and LaTeX exporters evaluate as the real function.
    """
    return sympy.sign(u) * sympy.Abs(u) ** sympy.Rational(1, n)


def _np_cbrt(v):
    return np.cbrt(v)


def _ok_positive(v):
    return np.all(v > 0)


def _ok_nonzero(v):
    return np.all(np.abs(v) > 1e-12 * (np.abs(v).max() or 1.0))


def _ok_exp(v):
    return np.all(v < 60) and np.all(v > -60)


def _ok_trig(v):
    return np.ptp(v) < 200.0  # beyond ~30 periods a sine of it is noise to a regression


def _always(v):
    return True


# name: (cost added, sympy builder, numpy function, applicability on the child's values)
UNARY: dict[str, tuple] = {
    "sq": (2, lambda u: u**2, lambda v: v * v, _always),
    "cube": (2, lambda u: u**3, lambda v: v * v * v, _always),
    "inv": (2, lambda u: 1 / u, lambda v: 1.0 / v, _ok_nonzero),
    "inv2": (4, lambda u: u**-2, lambda v: 1.0 / (v * v), _ok_nonzero),
    "sqrt": (1, sympy.sqrt, np.sqrt, _ok_positive),
    "cbrt": (2, real_root, _np_cbrt, _always),
    "exp": (1, sympy.exp, np.exp, _ok_exp),
    "expneg": (2, lambda u: sympy.exp(-u), lambda v: np.exp(-v), _ok_exp),
    "gauss": (4, lambda u: sympy.exp(-(u**2)), lambda v: np.exp(-v * v), _always),
    "log": (1, sympy.log, np.log, _ok_positive),
    "abs": (1, sympy.Abs, np.abs, lambda v: np.any(v < 0) and np.any(v > 0)),
    "sin": (1, sympy.sin, np.sin, _ok_trig),
    "cos": (1, sympy.cos, np.cos, _ok_trig),
    "sin2x": (3, lambda u: sympy.sin(2 * u), lambda v: np.sin(2 * v), _ok_trig),
    "cos2x": (3, lambda u: sympy.cos(2 * u), lambda v: np.cos(2 * v), _ok_trig),
    "sinhalf": (3, lambda u: sympy.sin(u / 2), lambda v: np.sin(v / 2), _ok_trig),
    "coshalf": (3, lambda u: sympy.cos(u / 2), lambda v: np.cos(v / 2), _ok_trig),
    "tanh": (1, sympy.tanh, np.tanh, _always),
    "atan": (1, sympy.atan, np.arctan, _always),
    "asin": (1, sympy.asin, np.arcsin, lambda v: np.all(np.abs(v) <= 1)),
    "acos": (1, sympy.acos, np.arccos, lambda v: np.all(np.abs(v) <= 1)),
    "plus1": (2, lambda u: u + 1, lambda v: v + 1.0, _always),
    "minus1": (2, lambda u: u - 1, lambda v: v - 1.0, _always),
    "oneminus": (2, lambda u: 1 - u, lambda v: 1.0 - v, _always),
}
# unary operators that undo or merely rescale another: never stacked on it
_REDUNDANT = {
    "sq": {"sqrt", "inv", "inv2", "abs"}, "sqrt": {"sq", "inv", "inv2"}, "inv": {"inv", "inv2", "sq", "sqrt"},
    "inv2": {"inv", "inv2", "sq", "sqrt"}, "exp": {"log", "expneg", "exp"}, "expneg": {"log", "exp", "expneg"},
    "log": {"exp", "expneg", "sq", "inv", "inv2", "sqrt", "cube"}, "cube": {"cbrt", "inv", "inv2"},
    "cbrt": {"cube", "inv", "cbrt"}, "abs": {"abs", "sq", "exp", "sqrt", "gauss"},
    "asin": {"sin", "cos"}, "acos": {"sin", "cos"},
    "plus1": {"plus1", "minus1", "oneminus"}, "minus1": {"plus1", "minus1", "oneminus"},
    "oneminus": {"plus1", "minus1", "oneminus"},
}

#: transcendental operators: at most one on any path from the root to a leaf (``sin(exp(x))``
#: and ``log(cos(x))`` are rare in laws and would crowd out the rest); an inverse sine or
#: cosine may take a transcendental argument
TRANSCENDENTAL = frozenset({"exp", "expneg", "gauss", "log", "sin", "cos", "sin2x", "cos2x", "sinhalf",
                            "coshalf", "tanh", "atan", "asin", "acos"})

#: powers of the inputs beyond what the unary operators give at low cost (Lennard-Jones' r**-12)
POWERS = tuple(sympy.Rational(p) for p in (4, 5, 6, 8, 9, 10, 12, -3, -4, -5, -6, -8, -9, -10, -12)) + (
    sympy.Rational(3, 2), sympy.Rational(-3, 2), sympy.Rational(1, 3), sympy.Rational(2, 3), sympy.Rational(-1, 3),
    sympy.Rational(5, 2), sympy.Rational(-5, 2))

#: integer weights of the two-input combinations (1, +-1 come from + and -)
_WEIGHTS = ((1, 2), (1, -2), (2, 1), (2, -1), (1, 3), (1, -3), (3, 1), (3, -1))

_INVERSE_TRIG = frozenset({"asin", "acos"})

BINARY = {
    "add": (lambda a, b: a + b, np.add, True),
    "sub": (lambda a, b: a - b, np.subtract, False),
    "mul": (lambda a, b: a * b, np.multiply, True),
    "div": (lambda a, b: a / b, np.divide, False),
}


@dataclass
class FeatureSpace:
    """Enumerated features: trees, costs (node counts, about sympy's) and values (F, n)."""

    symbols: list
    trees: list = field(default_factory=list)
    costs: list = field(default_factory=list)
    trans: list = field(default_factory=list)  # whether a transcendental operator is inside
    masks: list = field(default_factory=list)  # which inputs a feature uses (bit j: input j)
    blocks: list = field(default_factory=list)  # value blocks, stacked on demand
    _values: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.trees)

    @property
    def values(self) -> np.ndarray:
        if self._values is None or len(self._values) != len(self.trees):
            self._values = np.concatenate(self.blocks) if self.blocks else np.empty((0, 0))
            self.blocks = [self._values]
        return self._values

    def expr(self, i: int) -> sympy.Expr:
        """The sympy expression of feature ``i``."""
        return self._build(self.trees[i])

    def _build(self, tree) -> sympy.Expr:
        kind = tree[0]
        if kind == "x":
            return self.symbols[tree[1]]
        if kind == "u":
            return UNARY[tree[1]][1](self._build(self.trees[tree[2]]))
        if kind == "p":
            return self._build(self.trees[tree[2]]) ** tree[1]
        if kind == "c":  # w_i*x_i + w_j*x_j
            (wi, wj), i, j = tree[1], tree[2], tree[3]
            return wi * self.symbols[i] + wj * self.symbols[j]
        return BINARY[tree[1]][0](self._build(self.trees[tree[2]]), self._build(self.trees[tree[3]]))

    def top_op(self, i: int) -> str:
        t = self.trees[i]
        return t[1] if t[0] != "x" else "x"


def _key(v: np.ndarray) -> bytes:
    scale = float(np.max(np.abs(v))) or 1.0
    return np.round(v / scale, 9).tobytes()


class _Builder:
    def __init__(self, X: np.ndarray, symbols, max_features: int, deadline: float, unary, max_cost: int) -> None:
        self.space = FeatureSpace(list(symbols))
        self.seen: set[bytes] = set()
        self.by_cost: dict[int, list[int]] = {}
        self.max_features = max_features
        self.deadline = deadline
        self.unary = unary
        self.n = len(X)
        inputs = {}
        for j in range(X.shape[1]):
            n0 = len(self.space)
            self._add(("x", j), 1, X[:, j][None])
            if len(self.space) > n0:
                inputs[j] = n0
        for j in range(X.shape[1]):  # higher and fractional powers of the inputs
            x = X[:, j]
            for p in POWERS:
                if p.q > 1 and not np.all(x > 0) or p < 0 and not np.all(x != 0):
                    continue
                cost = 3 if p > 0 or p == -1 else 5
                if cost > max_cost:
                    continue
                with np.errstate(all="ignore"):
                    v = x ** float(p)
                self._add(("p", p, j), cost, v[None])
        if max_cost >= 5:  # combinations with small integer weights: sin(p + 3*q), (a + 2*b)**2
            for i in range(X.shape[1]):
                for j in range(i + 1, X.shape[1]):
                    for wi, wj in _WEIGHTS:
                        self._add(("c", (wi, wj), i, j), 5, (wi * X[:, i] + wj * X[:, j])[None])
        if max_cost >= 5:
            self._half_angles_of_products(X, inputs)

    def _half_angles_of_products(self, X: np.ndarray, inputs: dict) -> None:
        """``sin(x_i*x_j/2)`` and ``cos(x_i*x_j/2)`` at cost 5 (6 by node count).

        A squared sine of half a product phase is how ``1 - cos(w*t)`` and interference
        patterns (``sin(n*theta/2)**2``) are written; searches of three inputs stop at cost 5,
        where the half angle of a product (a factor in log space) is otherwise out of reach."""
        for i, j in itertools.combinations(sorted(inputs), 2):
            v = X[:, i] * X[:, j]
            n0 = len(self.space)
            self._add(("b", "mul", inputs[i], inputs[j]), 3, v[None])
            if len(self.space) == n0:
                continue
            for name in ("sinhalf", "coshalf"):
                fn, ok = UNARY[name][2], UNARY[name][3]
                if ok(v):
                    with np.errstate(all="ignore"):
                        self._add(("u", name, n0), 5, fn(v)[None], True)

    def _mask(self, tree) -> int:
        if tree[0] == "x":
            return 1 << tree[1]
        if tree[0] == "c":
            return (1 << tree[2]) | (1 << tree[3])
        if tree[0] in ("u", "p"):
            return self.space.masks[tree[2]]
        return self.space.masks[tree[2]] | self.space.masks[tree[3]]

    def full(self) -> bool:
        return len(self.space) >= self.max_features or time.perf_counter() > self.deadline

    def _add(self, tree_or_trees, cost: int, V: np.ndarray, trans=False) -> None:
        """Add the rows of ``V`` (m, n) that are finite, not constant and new."""
        trees = tree_or_trees if isinstance(tree_or_trees, list) else [tree_or_trees]
        trans = np.broadcast_to(np.asarray(trans, bool), (len(trees),))
        with np.errstate(all="ignore"):
            finite = np.all(np.isfinite(V), axis=1)
            spread = np.ptp(np.where(np.isfinite(V), V, 0.0), axis=1)
            size = np.max(np.abs(np.where(np.isfinite(V), V, 0.0)), axis=1)
        good = finite & (spread > 1e-9 * np.maximum(size, 1e-300)) & (size < 1e150)
        keep = []
        for r in np.flatnonzero(good):
            k = _key(V[r])
            if k in self.seen:
                continue
            self.seen.add(k)
            keep.append(r)
            if len(self.space) + len(keep) >= self.max_features:
                break
        if not keep:
            return
        start = len(self.space)
        self.space.trees.extend(trees[r] for r in keep)
        self.space.costs.extend([cost] * len(keep))
        self.space.trans.extend(bool(trans[r]) for r in keep)
        self.space.masks.extend(self._mask(trees[r]) for r in keep)
        self.space.blocks.append(V[keep])
        self.by_cost.setdefault(cost, []).extend(range(start, start + len(keep)))

    def unary_level(self, cost: int) -> None:
        vals, sp = self.space.values, self.space
        for name in self.unary:
            add_cost, _, fn, ok = UNARY[name]
            tr = name in TRANSCENDENTAL
            nest = name in _INVERSE_TRIG  # asin(n*sin(theta)): Snell's law inverts a sine
            src = [i for i in self.by_cost.get(cost - add_cost, [])
                   if sp.top_op(i) not in _REDUNDANT.get(name, ()) and not (tr and sp.trans[i] and not nest)
                   and ok(vals[i])]
            if not src or self.full():
                continue
            with np.errstate(all="ignore"):
                V = fn(vals[src])
            self._add([("u", name, i) for i in src], cost, V, [tr or sp.trans[i] for i in src])

    def binary_level(self, cost: int, rng: np.random.Generator, max_pairs: int) -> None:
        for ca in range(1, cost - 1):
            cb = cost - 1 - ca
            A, B = self.by_cost.get(ca, []), self.by_cost.get(cb, [])
            if not A or not B:
                continue
            for name, (_, fn, commutative) in BINARY.items():
                if commutative and ca > cb:
                    continue
                if self.full():
                    return
                ia, ib = np.meshgrid(np.asarray(A), np.asarray(B), indexing="ij")
                ia, ib = ia.ravel(), ib.ravel()
                if commutative and ca == cb:
                    m = ia < ib
                    ia, ib = ia[m], ib[m]
                elif ca == cb:
                    m = ia != ib
                    ia, ib = ia[m], ib[m]
                if len(ia) > max_pairs:
                    pick = np.sort(rng.choice(len(ia), size=max_pairs, replace=False))
                    ia, ib = ia[pick], ib[pick]
                vals, trans = self.space.values, np.asarray(self.space.trans)
                for s in range(0, len(ia), 4096):
                    if self.full():
                        return
                    a, b = ia[s : s + 4096], ib[s : s + 4096]
                    with np.errstate(all="ignore"):
                        V = fn(vals[a], vals[b])
                    self._add([("b", name, int(p), int(q)) for p, q in zip(a, b)], cost, V, trans[a] | trans[b])


def enumerate_features(X: np.ndarray, symbols, *, max_cost: int = 7, max_features: int = 20000,
                       deadline: float | None = None, rng: np.random.Generator | None = None,
                       unary=None, max_pairs: int = 20000) -> FeatureSpace:
    """All distinct features of cost (about sympy's node count) up to ``max_cost``.

    Parameters
    ----------
    X : (n, k) probe rows; symbols : the k input symbols.
    max_cost : node bound of a feature.
    max_features : stop adding features beyond this many (cheapest are built first).
    deadline : ``time.perf_counter()`` value after which no more features are built.
    rng : draws the pairs of a binary level when there are more than ``max_pairs``.
    unary : names of the unary operators to use (default: all of :data:`UNARY`).
    """
    deadline = deadline if deadline is not None else time.perf_counter() + 10.0
    rng = rng if rng is not None else np.random.default_rng(0)
    b = _Builder(np.asarray(X, float), symbols, max_features, deadline, list(unary or UNARY), max_cost)
    for cost in range(2, max_cost + 1):
        if b.full():
            break
        b.unary_level(cost)
        b.binary_level(cost, rng, max_pairs)
    return b.space
