"""Exact linear algebra over the rationals for small dimension matrices."""

from __future__ import annotations

from fractions import Fraction

__all__ = ["rref", "solve", "nullspace"]


def rref(rows: list[list], n_cols: int) -> tuple[list[list], list[int]]:
    """Reduced row echelon form of the first ``n_cols`` columns; extra columns ride along.

    Entries of the first ``n_cols`` columns must be Fractions (or ints); the extra columns may
    hold floats. Returns the reduced rows and the pivot columns.
    """
    a = [list(r) for r in rows]
    pivots: list[int] = []
    r = 0
    for c in range(n_cols):
        p = next((i for i in range(r, len(a)) if a[i][c] != 0), None)
        if p is None:
            continue
        a[r], a[p] = a[p], a[r]
        lead = a[r][c]
        a[r] = [v / lead for v in a[r]]
        for i in range(len(a)):
            if i != r and a[i][c] != 0:
                f = a[i][c]
                a[i] = [vi - f * vr for vi, vr in zip(a[i], a[r])]
        pivots.append(c)
        r += 1
        if r == len(a):
            break
    return a, pivots


def solve(A: list[list[Fraction]], b: list) -> list | None:
    """One solution of ``A x = b`` (free variables 0), or None when there is none."""
    n = len(A[0]) if A else 0
    rows, pivots = rref([list(map(Fraction, row)) + [v] for row, v in zip(A, b)], n)
    for row in rows[len(pivots):]:
        if row[n] != 0:
            return None
    x = [Fraction(0)] * n
    for i, c in enumerate(pivots):
        x[c] = rows[i][n]
    return x


def nullspace(A: list[list[Fraction]], n: int) -> list[list[Fraction]]:
    """A basis of ``{x : A x = 0}`` (rational vectors of length ``n``)."""
    rows, pivots = rref([list(map(Fraction, row)) for row in A], n) if A else ([], [])
    free = [c for c in range(n) if c not in pivots]
    basis = []
    for f in free:
        v = [Fraction(0)] * n
        v[f] = Fraction(1)
        for i, c in enumerate(pivots):
            v[c] = -rows[i][f]
        basis.append(v)
    return basis
