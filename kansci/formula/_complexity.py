"""Complexity of a formula: the node count of the tree a person would write down."""

from __future__ import annotations

import sympy

__all__ = ["complexity"]


def complexity(expr: sympy.Basic) -> int:
    """Number of nodes of ``expr`` written as a binary expression tree.

    Counting rules (they follow how the formula is read, not sympy's internal tree):

    - a symbol or a number counts 1: ``x``, ``3``, ``-2``, ``0.5``, ``3/2`` (a rational
      coefficient), ``pi`` and ``E`` are one node each;
    - ``+``, ``-``, ``*`` and ``/`` are binary: a sum or product of n operands adds n - 1
      operator nodes (``x + y + z`` is 5);
    - subtraction is free of extra nodes: ``x - y`` is 3, the same as ``x + y`` (sympy's
      hidden factor -1 is not counted); a lone negation ``-x`` is 2 (unary minus);
    - division counts as one node: ``x/y`` is 3, ``1/x`` is 3 (``1``, ``/``, ``x``), the
      denominator is counted with positive exponents (``x/y**2`` is 5);
    - a power is its operator plus base plus exponent: ``x**2`` is 3, ``x**(1/3)`` is 3;
      ``sqrt(x)`` is a function, 2; ``1/sqrt(x)`` is 4;
    - a function application is 1 plus its arguments: ``exp(x)`` is 2, ``atan2(y, x)`` is 3.

    Parameters
    ----------
    expr : sympy.Expr

    Returns
    -------
    int
    """
    if isinstance(expr, int):
        expr = sympy.Integer(expr)
    elif isinstance(expr, float):
        expr = sympy.Float(expr)
    return _count(expr)


def _count(e: sympy.Basic) -> int:
    if e.is_Atom:
        return 1
    if e.is_Add:
        return _count_add(e)
    if e.is_Mul:
        return _count_mul(e)
    if e.is_Pow:
        return _count_pow(e)
    return 1 + sum(_count(a) for a in e.args)


def _count_add(e: sympy.Add) -> int:
    terms = e.args
    negative = [t.could_extract_minus_sign() for t in terms]
    total = len(terms) - 1
    total += sum(_count(-t) if neg else _count(t) for t, neg in zip(terms, negative))
    return total + (1 if all(negative) else 0)


def _count_mul(e: sympy.Mul) -> int:
    coeff, factors = e.as_coeff_mul()
    total = 0
    if coeff == -1:
        total += 1  # unary minus
        coeff = sympy.S.One
    numer: list[sympy.Basic] = [] if coeff == 1 else [coeff]
    denom: list[sympy.Basic] = []
    for f in factors:
        if f.is_Pow and f.exp.is_number and f.exp.could_extract_minus_sign():
            denom.append(sympy.Pow(f.base, -f.exp))
        else:
            numer.append(f)
    total += sum(_count(f) for f in numer) + max(len(numer) - 1, 0)
    if denom:
        total += sum(_count(f) for f in denom) + len(denom) - 1
        total += 1 + (0 if numer else 1)  # the "/" and, for 1/x, the "1"
    return total


def _count_pow(e: sympy.Pow) -> int:
    base, exp = e.args
    if exp.is_number and exp.could_extract_minus_sign():
        return 2 + _count(sympy.Pow(base, -exp))
    if exp == sympy.S.Half:
        return 1 + _count(base)
    return 1 + _count(base) + _count(exp)
