"""Rewrites towards the form a person would write: factored squares, integer bases, no dust.

Each rewrite here is a function ``expr -> expr``; :func:`kansci.formula.tidy` tries them with
sympy's own rewriters and keeps one only when it makes the formula smaller (node count, then
operation count) and gives the same values on the data, so none of them needs to be right
everywhere, only where the data are:

* ``factor_squares``: polynomial parts factored (``a**2 + 4*a*b + 4*b**2`` is ``(a + 2*b)**2``),
  also under a root and in a quotient; ``complete_squares``: the square inside a longer sum
  (``a**2 + 4*a*b + 4*b**2 + c**2`` is ``(a + 2*b)**2 + c**2``); ``together_by_inputs``: terms
  in the same inputs as one fraction (``147*z/10 - 147/10 + 147/(10*(z + 1))`` is
  ``147*z**2/(10*(z + 1))``);
* ``exp_to_powers``: ``exp(1.0986122886681*b)`` is ``3**b`` when ``e**k`` is an integer or a
  small rational (or the root of one: ``exp(0.34657*n)`` is ``2**(n/2)``);
* ``drop_dust``: floats that are rounding residue (``-4.2e-20``) are removed;
* ``real_roots``: a fractional odd power of an expression that takes negative values is
  written ``sign(u)*Abs(u)**(1/n)``, the real root (sympy's ``u**(1/3)`` is complex there).
"""

from __future__ import annotations

import math

import sympy
from sympy.polys.polyerrors import BasePolynomialError

#: What sympy's rewriters raise on trees they cannot handle; such a rewrite is skipped.
SYMPY_ERRORS = (
    ArithmeticError,
    AttributeError,
    NotImplementedError,
    RecursionError,
    TypeError,
    ValueError,
    BasePolynomialError,
)

__all__ = ["factor_squares", "complete_squares", "together_by_inputs", "exp_to_powers", "drop_dust", "real_roots",
           "READABLE_REWRITES", "SYMPY_ERRORS"]


def factor_squares(expr: sympy.Basic) -> sympy.Basic:
    """Factor the polynomial parts: numerators, denominators and the bases of powers."""
    if expr.has(sympy.Float):
        return expr

    def fac(e):
        try:
            return sympy.factor(e)
        except (sympy.PolynomialError, NotImplementedError, TypeError, ValueError):
            return e

    out = expr.replace(lambda e: e.is_Pow and e.base.is_Add, lambda e: sympy.Pow(fac(e.base), e.exp))
    num, den = sympy.fraction(sympy.together(out))
    return fac(num) / fac(den)


def _square_part(terms, variables):
    """Split ``terms`` into a perfect square over some of ``variables`` and the rest; or None."""
    import itertools

    for size in range(1, len(variables) + 1):
        for group in itertools.combinations(variables, size):
            inside = [t for t in terms if t.free_symbols and t.free_symbols <= set(group)]
            if len(inside) < 2:
                continue
            consts = [t for t in terms if not t.free_symbols]
            for extra in ([], consts) if consts else ([],):
                part = sympy.Add(*inside, *extra)
                try:
                    f = sympy.factor(part)
                except (sympy.PolynomialError, NotImplementedError, TypeError, ValueError):
                    continue
                root = _square_root_of(f)
                if root is not None:
                    coeff, inner = root
                    others = [t for t in terms if t not in inside and t not in extra]
                    return coeff * inner**2, others
    return None


def _square_root_of(f):
    """``(c, Q)`` with ``f = c*Q**2`` and Q a sum (``(a - 1)**2*(a + 1)**2`` gives ``a**2 - 1``); or None."""
    coeff, rest = f.as_coeff_Mul()
    factors = sympy.Mul.make_args(rest)
    half = []
    for fac in factors:
        base, exp = fac.as_base_exp()
        if not (exp.is_Integer and exp % 2 == 0):
            return None
        half.append(base ** (exp // 2))
    inner = sympy.expand(sympy.Mul(*half))
    return (coeff, inner) if inner.is_Add else None


def complete_squares(expr: sympy.Basic) -> sympy.Basic:
    """Sums holding a perfect square written with it: ``a**2 + 4*a*b + 4*b**2 + c**2`` is
    ``(a + 2*b)**2 + c**2`` (what a distance under a root looks like)."""
    if expr.has(sympy.Float):
        return expr

    def convert(e):
        terms = list(sympy.Add.make_args(sympy.expand(e)))
        found = _square_part(terms, sorted(e.free_symbols, key=str))
        if found is None:
            return e
        square, rest = found
        return square + sympy.Add(*rest)

    return expr.replace(lambda e: e.is_Add and len(e.args) >= 3 and e.free_symbols, convert)


def together_by_inputs(expr: sympy.Basic) -> sympy.Basic:
    """In a sum, the terms in the same inputs as one fraction: ``14.7*z - 14.7 + 14.7/(z + 1)`` is
    ``14.7*z**2/(z + 1)`` (what a partial-fraction fit leaves), the other terms untouched."""
    from ._complexity import complexity

    def convert(e):
        groups: dict = {}
        for t in e.args:
            groups.setdefault(frozenset(t.free_symbols), []).append(t)
        consts = groups.pop(frozenset(), [])
        size = lambda x: (complexity(x), sympy.count_ops(x))  # noqa: E731
        best, best_size = e, size(e)
        for key, terms in groups.items():
            for extra in ([], consts) if consts else ([],):
                if len(terms) + len(extra) < 2:
                    continue
                try:
                    merged = sympy.factor_terms(sympy.cancel(sympy.together(sympy.Add(*terms, *extra))))
                except (sympy.PolynomialError, NotImplementedError, TypeError, ValueError):
                    continue
                rest = [t for t in e.args if t not in terms and t not in extra]
                new = merged + sympy.Add(*rest)
                if size(new) < best_size:
                    best, best_size = new, size(new)
        return best

    return expr.replace(lambda e: e.is_Add and len(e.args) >= 2 and len(e.free_symbols) >= 1, convert)


def _nice_base(value: float, rtol: float = 1e-9, max_den: int = 12):
    """``(p/q, root)`` with ``value = (p/q)**(1/root)``, small p/q and root in {1, 2, 3}; or None."""
    for root in (1, 2, 3):
        v = value**root
        for q in range(1, max_den + 1):
            p = round(v * q)
            if p > 0 and abs(p / q - v) <= rtol * v and math.gcd(p, q) == 1 and p <= 1000:
                return sympy.Rational(p, q), root
    return None


def exp_to_powers(expr: sympy.Basic) -> sympy.Basic:
    """``exp(k*x + ...)`` as ``B**x * ...`` wherever ``e**k`` is a simple number."""

    def convert(node):
        parts = []
        for term in sympy.Add.make_args(sympy.expand(node.args[0])):
            c, rest = term.as_coeff_Mul()
            nice = _nice_base(math.exp(float(c))) if isinstance(c, sympy.Float) and rest != 1 else None
            if nice is None:
                parts.append(sympy.exp(term))
                continue
            base, root = nice
            if base < 1:
                base, rest = 1 / base, -rest
            parts.append(base ** (rest / root))
        return sympy.Mul(*parts)

    return expr.replace(lambda e: isinstance(e, sympy.exp) and e.args[0].has(sympy.Float), convert)


def drop_dust(expr: sympy.Basic, rel: float = 1e-12) -> sympy.Basic:
    """Floats far below the others in size set to zero (``-4.2e-20 - 64.3/r**6`` loses the first)."""
    floats = [f for f in expr.atoms(sympy.Float) if f != 0]
    if len(floats) < 2:
        return expr
    big = max(abs(float(f)) for f in floats)
    tiny = {f: sympy.S.Zero for f in floats if abs(float(f)) < rel * big}
    return expr.xreplace(tiny) if tiny else expr


def real_roots(expr: sympy.Basic) -> sympy.Basic:
    """``u**(p/q)`` with q odd and u not known to be nonnegative as ``sign(u)**p*Abs(u)**(p/q)``."""

    def odd_root(e):
        return (e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer and e.exp.q % 2 == 1
                and e.base.is_nonnegative is not True)

    def convert(e):
        sign = sympy.sign(e.base) if e.exp.p % 2 else sympy.S.One
        return sign * sympy.Abs(e.base) ** e.exp

    return expr.replace(odd_root, convert)


#: (name, rewrite) pairs tidy tries besides sympy's own
READABLE_REWRITES = (
    ("factor_squares", factor_squares),
    ("complete_squares", complete_squares),
    ("together_by_inputs", together_by_inputs),
    ("exp_to_powers", exp_to_powers),
    ("drop_dust", drop_dust),
)
