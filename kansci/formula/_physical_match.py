"""Recognise fitted constants as products of powers of physical constants.

A fitted constant ``v`` (in SI) is matched against ``(p/q) * pi**m * prod_i c_i**n_i`` over the
independent CODATA constants ``c, hbar, G, k_B, q_e, eps_0, m_e, N_A`` with small integers
``n_i``, ``m`` and a small rational ``p/q``.  In log space this is a lattice search:
``log|v| - sum_i n_i log c_i`` must land within the constant's uncertainty of one of the few
thousand values ``log(p/q) + m log(pi)``, found by a binary search per exponent vector.
When the constant's dimension is known, the exponents must give that dimension: with seven
base dimensions and eight constants only a two-parameter family of exponent vectors is left
(the directions of the dimensionless fine-structure constant and of ``m_e**2 G/(hbar c)``),
which prunes the search from millions of combinations to about a hundred.  A match must be
unlikely by chance (the look-elsewhere effect: the expected number of combinations of no
greater cost inside the interval is small), and among matches the simplest wins; the result
is rewritten with ``h``, ``mu_0`` or ``sigma_SB`` where that reads simpler.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

from ._physical import PhysicalConstant

__all__ = ["ConstantMatch", "match_physical_constant"]

_BASIS = ("c", "hbar", "G", "k_B", "q_e", "eps_0", "m_e", "N_A")
_MAX_EXP = 4  # largest |exponent| of one constant
_MAX_L1 = 7  # largest total |exponent| without a dimension to constrain the search
_MAX_L1_FREE = 5
_MAX_P, _MAX_Q, _MAX_PI = 16, 64, 4
_REL_FLOOR = 1e-9  # rounding of data and of tabulated constants
_CHANCE = 0.01  # a match must have fewer expected chance matches than this


@dataclass(frozen=True)
class ConstantMatch:
    """A fitted constant recognised as a physical combination.

    ``expr`` is the exact sympy expression (``hbar/(4*pi*eps_0)``), ``value`` its SI value,
    ``relative_error`` the distance to the fitted value, ``chance`` the expected number of
    combinations of no greater cost that would land this close by chance.
    """

    expr: sympy.Expr
    value: float
    relative_error: float
    cost: float
    chance: float


def _constants():
    return [PhysicalConstant(n) for n in _BASIS]


@functools.lru_cache(maxsize=1)
def _nice_table():
    """Sorted ``log(p/q * pi**m)`` values with their (p, q, m) and cost."""
    rows = []
    for q in range(1, _MAX_Q + 1):
        for p in range(1, _MAX_P + 1):
            if math.gcd(p, q) != 1:
                continue
            rcost = 0.0 if (p, q) == (1, 1) else 1.0 + 0.5 * math.log10(p * q)
            for m in range(-_MAX_PI, _MAX_PI + 1):
                rows.append((math.log(p / q) + m * math.log(math.pi), p, q, m, rcost + abs(m)))
    rows.sort()
    logs = np.array([r[0] for r in rows])
    meta = np.array([r[1:4] for r in rows], dtype=int)
    costs = np.array([r[4] for r in rows])
    return logs, meta, costs


def _dims_matrix():
    from ..units import BASES

    return [[c.dimension.exponents[b] for c in _constants()] for b in range(len(BASES))]


@functools.lru_cache(maxsize=64)
def _exponents_for(dim_key) -> np.ndarray:
    """Integer exponent vectors over the basis with the given dimension (small entries)."""
    from ..units._linear import solve

    D = _dims_matrix()
    target = list(dim_key)
    free = [_BASIS.index("eps_0"), _BASIS.index("m_e")]
    fixed = [i for i in range(len(_BASIS)) if i not in free]
    out = []
    for a, b in itertools.product(range(-_MAX_EXP, _MAX_EXP + 1), repeat=2):
        rhs = [t - D[k][free[0]] * a - D[k][free[1]] * b for k, t in enumerate(target)]
        sub = [[D[k][j] for j in fixed] for k in range(len(D))]
        x = solve(sub, rhs)
        if x is None or any(v.denominator != 1 or abs(v) > _MAX_EXP for v in x):
            continue
        n = [0] * len(_BASIS)
        n[free[0]], n[free[1]] = a, b
        for j, v in zip(fixed, x):
            n[j] = int(v)
        out.append(n)
    return np.array(out, dtype=int).reshape(-1, len(_BASIS))


@functools.lru_cache(maxsize=1)
def _all_exponents() -> np.ndarray:
    """Every exponent vector with entries in [-3, 3] and total |exponent| <= _MAX_L1_FREE."""
    k = len(_BASIS)
    grid = np.indices((7,) * k, dtype=np.int8).reshape(k, -1).T - 3
    l1 = np.abs(grid).sum(axis=1)
    return grid[(l1 > 0) & (l1 <= _MAX_L1_FREE)].astype(int)


def _logs() -> np.ndarray:
    return np.array([math.log(c.value) for c in _constants()])


def _rel_unc() -> np.ndarray:
    return np.array([c.relative_uncertainty for c in _constants()])


def _display(n, p: int, q: int, m: int) -> sympy.Expr:
    """The simplest way to write the combination (h for 2*pi*hbar, mu_0 for 1/(eps_0 c^2))."""
    names = dict(zip(_BASIS, (int(v) for v in n)))
    options = []
    k = names["hbar"]
    for use_h in (False, True) if k else (False,):
        for j, sb in itertools.product(range(0, max(-names["eps_0"], 0) + 1), (0, 1)):
            ex = dict(names)
            rat, pim = Fraction(p, q), m
            if use_h:  # hbar**k = h**k / (2 pi)**k
                ex["h"], ex["hbar"] = k, 0
                rat, pim = rat / Fraction(2) ** k, pim - k
            if j:  # eps_0**-j c**-2j = mu_0**j
                if ex["c"] > -2 * j and ex["c"] < 0 or ex["c"] >= 0:
                    continue
                ex["eps_0"] += j
                ex["c"] += 2 * j
                ex["mu_0"] = j
            if sb:  # sigma_SB = pi**2 k_B**4 / (60 hbar**3 c**2)
                key = "h" if use_h else "hbar"
                if ex["k_B"] < 4 or ex[key] > -3 or ex["c"] > -2:
                    continue
                ex["k_B"] -= 4
                ex[key] += 3
                ex["c"] += 2
                ex["sigma_SB"] = 1
                rat, pim = rat * (Fraction(15, 2) if use_h else 60), pim - (5 if use_h else 2)
            cost = sum(abs(v) for v in ex.values()) + abs(pim) + (0 if rat == 1 else math.log10(rat.numerator * rat.denominator))
            options.append((cost, ex, rat, pim))
    _, ex, rat, pim = min(options, key=lambda t: t[0])
    expr = sympy.Rational(rat.numerator, rat.denominator) * sympy.pi**pim
    for name, e in ex.items():
        if e:
            expr *= PhysicalConstant(name) ** e
    return expr


def match_physical_constant(value: float, rel_tol: float, dimension=None, *, roots: bool = True) -> ConstantMatch | None:
    """The simplest physical combination within ``rel_tol`` of ``value``, or None.

    Parameters
    ----------
    value : float
        The constant in SI units (its sign is kept).
    rel_tol : float
        Relative half-width of its confidence interval (a floor of 1e-9 and the CODATA
        uncertainty of the combination are added).
    dimension : kansci.units.Dimension, optional
        The constant's dimension; when given, only combinations of that dimension count.

    roots : bool
        Also try square roots (``2*pi/sqrt(G)``): match ``value**2`` when nothing matches.

    Returns
    -------
    ConstantMatch or None (no match, or a match too likely by chance, or a pure number
    that involves no physical constant).
    """
    found = _match(value, rel_tol, dimension)
    if found is None and roots and math.isfinite(value) and value != 0:
        square = _match(value * value, 2 * rel_tol, None if dimension is None else dimension**2)
        if square is not None:
            expr = sympy.sqrt(square.expr) * (1 if value > 0 else -1)
            number = float(expr)
            found = ConstantMatch(expr, number, abs(number - value) / abs(value), square.cost + 1, square.chance)
    return found


def _match(value: float, rel_tol: float, dimension) -> ConstantMatch | None:
    if not math.isfinite(value) or value == 0:
        return None
    if dimension is not None:
        if dimension.exponents[-1] != 0:  # luminosity: no constant here has it
            return None
        N = _exponents_for(tuple(dimension.exponents))
    else:
        N = _all_exponents()
    N = N[np.any(N != 0, axis=1)] if len(N) else N
    if len(N) == 0:
        return None
    logs, meta, costs = _nice_table()
    base = N @ _logs()
    resid = math.log(abs(value)) - base
    tol = np.sqrt(rel_tol**2 + _REL_FLOOR**2 + (np.abs(N) @ _rel_unc()) ** 2)
    lo = np.searchsorted(logs, resid - tol, side="left")
    hi = np.searchsorted(logs, resid + tol, side="right")
    hits = [(i, j) for i in np.flatnonzero(hi > lo) for j in range(lo[i], hi[i])]
    if not hits:
        return None
    ncost = np.abs(N).sum(axis=1)

    def cost(i, j):
        return float(ncost[i] + costs[j])

    i, j = min(hits, key=lambda t: (cost(*t), abs(resid[t[0]] - logs[t[1]])))
    best = cost(i, j)
    # look-elsewhere: how many combinations of no greater cost lie near this value (within a
    # factor e), as a density, times the width of the interval
    chance, window = 0.0, 1.0
    for lv in np.unique(ncost[ncost <= best]):
        sub = logs[costs <= best - lv]  # logs is sorted, so is sub
        r = resid[ncost == lv]
        near = np.searchsorted(sub, r + window, side="right") - np.searchsorted(sub, r - window, side="left")
        chance += float(np.sum(near * 2 * tol[ncost == lv])) / (2 * window)
    if chance > _CHANCE:
        return None
    p, q, m = (int(v) for v in meta[j])
    expr = _display(N[i], p, q, m)
    if value < 0:
        expr = -expr
    number = float(expr)
    return ConstantMatch(expr, number, abs(number - value) / abs(value), best, chance)
