"""Buckingham pi: dimensionless groups of a set of quantities, and a prefactor for the target.

With ``n`` quantities whose dimension matrix ``D`` (base dimensions x quantities) has rank
``r``, every dimensionally consistent law ``y = F(x_1..x_n)`` can be written
``y = P(x) * f(pi_1, ..., pi_{n-r})`` (E. Buckingham, Phys. Rev. 4, 345 (1914)): the groups
``pi_k = prod_i x_i**N_ki`` span the nullspace of ``D``, and ``P`` is any product of the
quantities with the target's dimension.  The nullspace basis is made integral and then
short (small integer exponents, few quantities per group) by LLL lattice reduction
(Lenstra, Lenstra & Lovasz, Math. Ann. 261, 515 (1982)) followed by greedy pairwise
reduction in the L1 norm.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from collections.abc import Sequence
from fractions import Fraction

from ._dimension import BASES, Dimension
from ._linear import nullspace, solve

__all__ = ["dimension_matrix", "pi_groups", "target_prefactor"]


def dimension_matrix(dimensions: Sequence[Dimension]) -> list[list[Fraction]]:
    """The matrix ``D[base][quantity]`` of exponents (rows: :data:`BASES`)."""
    return [[d.exponents[b] for d in dimensions] for b in range(len(BASES))]


def _primitive(v: Sequence[Fraction]) -> list[int]:
    den = math.lcm(*[f.denominator for f in v]) if v else 1
    ints = [int(f * den) for f in v]
    g = math.gcd(*ints) or 1
    return [i // g for i in ints]


def _dot(a, b) -> Fraction:
    return sum((Fraction(x) * y for x, y in zip(a, b)), Fraction(0))


def _lll(basis: list[list[int]], delta: Fraction = Fraction(3, 4)) -> list[list[int]]:
    """LLL-reduce an integer basis (exact arithmetic; the bases here are tiny)."""
    b = [list(v) for v in basis]
    n = len(b)
    if n <= 1:
        return b

    def gram_schmidt():
        star, mu = [], [[Fraction(0)] * n for _ in range(n)]
        for i in range(n):
            v = [Fraction(x) for x in b[i]]
            for j in range(i):
                mu[i][j] = _dot(b[i], star[j]) / _dot(star[j], star[j])
                v = [vi - mu[i][j] * sj for vi, sj in zip(v, star[j])]
            star.append(v)
        return star, mu

    star, mu = gram_schmidt()
    k = 1
    while k < n:
        for j in range(k - 1, -1, -1):
            q = round(mu[k][j])
            if q:
                b[k] = [x - q * y for x, y in zip(b[k], b[j])]
                star, mu = gram_schmidt()
        if _dot(star[k], star[k]) >= (delta - mu[k][k - 1] ** 2) * _dot(star[k - 1], star[k - 1]):
            k += 1
        else:
            b[k], b[k - 1] = b[k - 1], b[k]
            star, mu = gram_schmidt()
            k = max(k - 1, 1)
    return b


def _l1(v) -> int:
    return sum(abs(x) for x in v)


def _shorten(basis: list[list[int]]) -> list[list[int]]:
    """Greedy pairwise reduction: replace b_i by b_i +- b_j while that lowers its L1 norm."""
    b = [list(v) for v in basis]
    changed = True
    while changed:
        changed = False
        for i, j in itertools.permutations(range(len(b)), 2):
            for s in (1, -1):
                cand = [x + s * y for x, y in zip(b[i], b[j])]
                if _l1(cand) < _l1(b[i]) or (_l1(cand) == _l1(b[i]) and _nnz(cand) < _nnz(b[i])):
                    b[i], changed = cand, True
    return b


def _nnz(v) -> int:
    return sum(1 for x in v if x)


def _orient(v: list[int]) -> list[int]:
    """Sign so that most exponents are positive (ties: the first nonzero one)."""
    s = sum(v)
    first = next((x for x in v if x), 1)
    return v if (s > 0 or (s == 0 and first > 0)) else [-x for x in v]


def _kernel_basis(dimensions: Sequence[Dimension]) -> list[list[int]]:
    """A reduced basis of the integer kernel lattice ``{e in Z^n : D e = 0}``.

    LLL on the rows ``[e_i | W * D[:, i]]`` (the identity beside the weighted dimension
    columns, W large): the reduced vectors with a zero tail span every integer solution, not
    just a sublattice (``k_B T/(m g x)`` is in it even when ``(k_B T)**3/(m g x)**3`` is what a
    rational nullspace basis gives).
    """
    from sympy import ZZ
    from sympy.polys.matrices import DomainMatrix

    n = len(dimensions)
    D = dimension_matrix(dimensions)
    den = math.lcm(*[f.denominator for row in D for f in row]) if D else 1
    ints = [[int(f * den) for f in row] for row in D]
    rank = len(nullspace(D, n))  # n - rank(D) kernel vectors
    weight = 10**6
    rows = [[ZZ(int(i == j)) for j in range(n)] + [ZZ(weight * ints[b][i]) for b in range(len(ints))] for i in range(n)]
    reduced = DomainMatrix(rows, (n, n + len(ints)), ZZ).lll().to_Matrix().tolist()
    kernel = [[int(x) for x in r[:n]] for r in reduced if all(x == 0 for x in r[n:])]
    if len(kernel) != rank:  # not separated (cannot happen with this weight); fall back
        kernel = _lll([_primitive(v) for v in nullspace(D, n)])
    return kernel


def pi_groups(dimensions: Sequence[Dimension]) -> list[list[int]]:
    """Dimensionless groups of quantities with the given dimensions (Buckingham pi).

    Parameters
    ----------
    dimensions : sequence of Dimension, one per quantity

    Returns
    -------
    list of integer exponent vectors (one per group, each of length ``len(dimensions)``):
    group ``k`` is ``prod_i x_i**groups[k][i]``.  There are ``n - rank(D)`` of them, a basis
    of every integer combination without dimension, with small integer exponents; a
    dimensionless quantity is a group of its own.
    """
    n = len(dimensions)
    if n == 0:
        return []
    reduced = _shorten(_kernel_basis(dimensions))
    groups = [_orient(v) for v in reduced if any(v)]
    return sorted(groups, key=lambda v: (_nnz(v), _l1(v), [-abs(x) for x in v]))


def target_prefactor(
    dimensions: Sequence[Dimension], target: Dimension, groups: Sequence[Sequence[int]] | None = None,
    *, search: int = 2, alternatives: int = 0,
) -> list[Fraction] | list[list[Fraction]] | None:
    """Exponents ``e`` with ``prod_i x_i**e_i`` of the target's dimension, or None if none exist.

    Among the solutions (any one times products of the groups), prefers small denominators
    (integers, then halves), quantities that are not also inside a group (so the rest of the
    law is a function of the groups alone), then the smallest exponents.  With
    ``alternatives`` = k > 0, returns the best k + 1 solutions, best first.
    """
    n = len(dimensions)
    e0 = solve(dimension_matrix(dimensions), list(target.exponents)) if n else None
    if e0 is None:
        return None
    if groups is None:
        groups = pi_groups(dimensions)
    if not groups:
        return [list(e0)] if alternatives else list(e0)
    in_group = np.array([any(g[i] for g in groups) for i in range(n)])
    den = math.lcm(*[f.denominator for f in e0])
    base = np.array([int(f * den) for f in e0], dtype=np.int64)
    G = np.array(groups, dtype=np.int64) * den
    m = len(groups)
    steps = np.arange(-search, search + 1)
    if m <= 5:
        combos = np.array(np.meshgrid(*[steps] * m, indexing="ij")).reshape(m, -1).T
    else:  # too many combinations: one group at a time
        combos = np.vstack([np.zeros((1, m), dtype=np.int64)] +
                           [np.outer(steps, np.eye(m, dtype=np.int64)[k]) for k in range(m)])
    E = base[None, :] + combos @ G  # exponents times den
    denominators = (den // np.gcd(E, den)).max(axis=1)
    overlap = ((E != 0) & in_group[None, :]).sum(axis=1)
    order = np.lexsort((np.abs(E).sum(axis=1), (E**2).sum(axis=1), overlap, denominators))
    ranked = [[Fraction(int(v), den) for v in E[i]] for i in order[: alternatives + 1]]
    return ranked if alternatives else ranked[0]
