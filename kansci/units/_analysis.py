"""Dimensional analysis of a formula: is it consistent, and what units do its constants carry?

Every sub-expression's dimension is an affine form ``c + sum_j a_j u_j`` in the unknown
dimensions ``u_j`` of the formula's fitted constants (floats).  Sums require equal terms,
functions (``exp``, ``sin``, ``log``...) and non-rational exponents require dimensionless
arguments, and the whole formula must carry the target's dimension.  These are linear
equations in the ``u_j``: the formula is consistent when they have a solution, and a
constant's dimension is known when the solution fixes it.  Alongside the seven base
dimensions the form carries the logarithm of the unit's size in SI (``km`` is ``ln 1000``), so
a constant's value converts to SI too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import sympy

from ._dimension import BASES, Dimension
from ._linear import rref

__all__ = ["DimensionalCheck", "check_dimensions"]

log = logging.getLogger("kansci")

_K = len(BASES)  # the base dimensions; one more slot holds ln(SI factor)


class _Unanalysable(Exception):
    """A node whose dimensional behaviour is not modelled (Piecewise, unknown functions)."""


@dataclass(frozen=True)
class DimensionalCheck:
    """The result of :func:`check_dimensions`.

    ``consistent`` is False when no choice of the constants' units makes the formula
    dimensionally sound.  ``constants`` lists, per fitted constant (in the order of
    :func:`kansci.formula.constant_errors`), its dimension and the factor converting its value
    to SI (``None`` when the formula leaves it free).  ``analysed`` is False when the formula
    has nodes the analysis does not model (then ``consistent`` is True by default).
    """

    consistent: bool
    constants: tuple[tuple[Dimension, float] | None, ...] = ()
    analysed: bool = True
    reason: str = ""


class _Form:
    """``c + sum_j a_j u_j``: c is a vector (rational dims + float ln factor), a_j scalars."""

    __slots__ = ("c", "a")

    def __init__(self, c, a=None):
        self.c = list(c)
        self.a = dict(a or {})

    @classmethod
    def const(cls, dim: Dimension, ln_factor: float = 0.0) -> _Form:
        return cls([*dim.exponents, float(ln_factor)])

    def __add__(self, other: _Form) -> _Form:
        a = dict(self.a)
        for j, v in other.a.items():
            a[j] = a.get(j, 0) + v
        return _Form([x + y for x, y in zip(self.c, other.c)], {j: v for j, v in a.items() if v})

    def scale(self, p: Fraction) -> _Form:
        return _Form([x * p if i < _K else x * float(p) for i, x in enumerate(self.c)],
                     {j: v * p for j, v in self.a.items() if v * p})

    def minus(self, other: _Form) -> _Form:
        return self + other.scale(Fraction(-1))

    @property
    def known_zero(self) -> bool:
        return not self.a and not any(self.c[:_K])


_ZERO = _Form([Fraction(0)] * _K + [0.0])

# functions whose value has the dimension of their (single) argument
_SAME = (sympy.Abs, sympy.re, sympy.im, sympy.floor, sympy.ceiling)
# functions whose arguments must share one dimension, and whose value has it
_EQUAL_ARGS = (sympy.Min, sympy.Max)


class _Walker:
    def __init__(self, dims, dummies):
        self.dims = dims
        self.index = {d: j for j, d in enumerate(dummies)}
        self.constraints: list[_Form] = []  # each must vanish

    def require_zero(self, form: _Form) -> None:
        if form.known_zero:
            return
        self.constraints.append(form)

    def visit(self, e) -> _Form:
        from ..formula._physical import PhysicalConstant

        if e in self.index:
            return _Form([Fraction(0)] * _K + [0.0], {self.index[e]: Fraction(1)})
        if isinstance(e, PhysicalConstant):
            return _Form.const(e.dimension)
        if isinstance(e, sympy.Symbol):
            if e not in self.dims:
                raise _Unanalysable(f"no unit for {e}")
            dim, factor = self.dims[e]
            return _Form.const(dim, math.log(factor))
        if e.is_number and not e.free_symbols and not e.atoms(PhysicalConstant):
            return _ZERO
        if e.is_Add:
            forms = [self.visit(a) for a in e.args]
            for f in forms[1:]:
                self.require_zero(f.minus(forms[0]))
            return forms[0]
        if e.is_Mul:
            out = _ZERO
            for a in e.args:
                out = out + self.visit(a)
            return out
        if e.is_Pow:
            base, exp = e.args
            if exp.is_Rational:
                return self.visit(base).scale(Fraction(int(exp.p), int(exp.q)))
            self.require_zero(self.visit(base))
            self.require_zero(self.visit(exp))
            return _ZERO
        if isinstance(e, _SAME) and len(e.args) == 1:
            return self.visit(e.args[0])
        if isinstance(e, _EQUAL_ARGS):
            forms = [self.visit(a) for a in e.args]
            for f in forms[1:]:
                self.require_zero(f.minus(forms[0]))
            return forms[0]
        if isinstance(e, sympy.sign):
            self.visit(e.args[0])
            return _ZERO
        if isinstance(e, sympy.atan2):
            a, b = (self.visit(x) for x in e.args)
            self.require_zero(a.minus(b))
            return _ZERO
        if isinstance(e, sympy.Function) and e.args:
            for a in e.args:  # transcendental functions take and give pure numbers
                self.require_zero(self.visit(a))
            return _ZERO
        raise _Unanalysable(f"{type(e).__name__} is not analysed")


def _solve(constraints: list[_Form], n: int):
    """Solve ``sum_j a_j u_j = -c`` for every constraint; None when inconsistent."""
    if not constraints:
        return [None] * n, True
    rows = [[f.a.get(j, Fraction(0)) for j in range(n)] + [-x for x in f.c] for f in constraints]
    red, pivots = rref(rows, n)
    for row in red[len(pivots):]:  # rows with no unknown left: the constants must vanish
        if any(row[n + k] != 0 for k in range(_K)):
            return None, False
        if abs(row[n + _K]) > 1e-9:  # only unit sizes disagree (km + m): a scale constant is missing
            return None, False
    values: list = [None] * n
    for i, c in enumerate(pivots):
        if all(red[i][j] == 0 for j in range(n) if j != c):  # determined uniquely
            values[c] = (Dimension(red[i][n:n + _K]), math.exp(float(red[i][n + _K])))
    return values, True


def check_dimensions(
    expr: sympy.Basic,
    units: Mapping[sympy.Symbol, tuple[Dimension, float]] | Mapping[sympy.Symbol, Dimension],
    target: tuple[Dimension, float] | Dimension | None = None,
) -> DimensionalCheck:
    """Whether ``expr`` can be dimensionally consistent, and the units of its constants.

    Parameters
    ----------
    expr : sympy.Expr
        A formula over the symbols of ``units``; its floats are fitted constants whose units
        are unknown; named physical constants (:class:`kansci.formula.PhysicalConstant`)
        carry their own.
    units : mapping Symbol -> Dimension or (Dimension, SI factor)
    target : the target's dimension (or (Dimension, SI factor)); None: not checked.

    Returns
    -------
    DimensionalCheck
    """
    from ..formula._refine import Model

    def pair(v):
        return v if isinstance(v, tuple) else (v, 1.0)

    dims = {s: pair(v) for s, v in units.items()}
    symbols = list(dims)
    try:
        model = Model(expr, symbols)
    except ValueError as exc:
        return DimensionalCheck(True, (), analysed=False, reason=str(exc))
    walker = _Walker(dims, model.dummies)
    try:
        form = walker.visit(model.template)
        if target is not None:
            tdim, tfactor = pair(target)
            walker.require_zero(form.minus(_Form.const(tdim, math.log(tfactor))))
    except _Unanalysable as exc:
        return DimensionalCheck(True, (None,) * model.k, analysed=False, reason=str(exc))
    values, ok = _solve(walker.constraints, model.k)
    if not ok:
        if expr.has(sympy.log):  # log(a) - log(b) is sound as log(a/b)
            combined = sympy.logcombine(expr, force=True)
            if combined != expr:
                again = check_dimensions(combined, units, target)
                if again.consistent:
                    return DimensionalCheck(True, (None,) * model.k, analysed=again.analysed)
        return DimensionalCheck(False, (None,) * model.k, reason="no units of the constants make it consistent")
    return DimensionalCheck(True, tuple(values))
