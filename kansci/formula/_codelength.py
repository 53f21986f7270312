"""Description length of a formula: the minimum-description-length code of ESR.

Bartlett, Desmond & Ferreira, "Exhaustive Symbolic Regression", IEEE Trans. Evol. Comput.
(2023), eq. 7: the codelength (in nats) of data D under a function H with p fitted parameters is

    L(D) = -log L(theta_hat) + k log n + sum_j log|c_j|
           + sum_i [ log|theta_i| + 1/2 log I_ii - 1/2 log 3 ]

with k the nodes of the expression tree, n the distinct symbols (operators, variables,
constant kinds) it uses, c_j its exact natural-number constants and I_ii the diagonal of the
Fisher information of parameter i (precision ``Delta_i = sqrt(12 / I_ii)``).  A parameter the
data cannot tell from zero (``|theta_i| < Delta_i``) costs nothing here (ESR sets it to zero).

Two choices are ours, both documented where they are made:

* every maximal numeric sub-expression is one leaf (``q/(4*pi*r**2)`` has one constant
  ``1/(4*pi)``, not the nodes 4, pi and a product), and an exact constant ``(p/q)*u`` costs
  ``log|p| + log q`` plus the prior cost of its unit ``u`` (1, pi, e, sqrt(2), ...; the same
  table the recogniser proposes from), the ESR term for integers extended to rationals and to
  the handful of transcendental units physics uses;
* the Gaussian likelihood is written up to a constant shared by all formulas on the same data:
  ``-log L = chi2 / 2`` with ``chi2 = sum w_i r_i**2 / sigma**2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from ._candidates import MAX_POWER, unit_table
from ._complexity import complexity

__all__ = [
    "CodeLength",
    "exact_constant_codelength",
    "parameter_codelength",
    "structure_codelength",
]

_LOG3 = math.log(3.0)
_PARAM = sympy.Dummy("theta")
_CONST = sympy.Dummy("kappa")


@dataclass(frozen=True)
class CodeLength:
    """A formula's description length in nats, by part (``total`` is their sum)."""

    fit: float  # -log L(theta_hat), up to a constant shared by all formulas on the same data
    structure: float  # k log n
    constants: float  # exact constants
    parameters: float  # fitted parameters at their precision

    @property
    def total(self) -> float:
        return self.fit + self.structure + self.constants + self.parameters


def _rational_nats(r: sympy.Rational) -> float:
    p, q = abs(int(r.p)), int(r.q)
    return (math.log(p) if p > 1 else 0.0) + (math.log(q) if q > 1 else 0.0)


def _power_nats(r: sympy.Rational) -> float:
    """Nats to write ``r`` as ``(p/q)**k`` (k from 2 to ``MAX_POWER``), plus one for the power,
    or inf: ``1953125/512`` is ``(5/2)**9``, a length scale inside a power law written out."""
    p, q = abs(int(r.p)), int(r.q)
    best = math.inf
    for k in range(2, MAX_POWER + 1):
        bp, ep = sympy.integer_nthroot(p, k)
        bq, eq = sympy.integer_nthroot(q, k)
        if ep and eq and (bp, bq) != (1, 1):
            best = min(best, _rational_nats(sympy.Rational(bp, bq)) + 1.0 + math.log(k))
    return best


def exact_constant_codelength(value: sympy.Expr) -> float:
    """Nats to write the exact number ``value``: ``log|p| + log q`` for ``(p/q)*unit``, plus the
    unit's prior cost (0 for 1, 1 for pi, 1.5 for e or sqrt(2), ...), or for a rational that
    is an integer power of a simpler one its base's, the power's and one.  Anything else costs
    the sum over its rational atoms plus one nat per other atom or operation."""
    value = sympy.sympify(value)
    if value.is_Rational:
        return min(_rational_nats(value), _power_nats(value))
    for unit, cost in unit_table():
        ratio = value / unit
        if ratio.is_Rational and ratio != 0:
            return _rational_nats(ratio) + cost
    total = 0.0
    for node in sympy.preorder_traversal(value):
        if node.is_Rational:
            total += _rational_nats(node)
        else:
            total += 1.0
    return total


def _is_structural_exponent(e: sympy.Basic) -> bool:
    return e in (sympy.S.NegativeOne, sympy.S.Half, -sympy.S.Half)


def _split(expr: sympy.Basic, floats: list, exacts: list) -> sympy.Basic:
    """Replace each maximal numeric sub-expression by a placeholder leaf, collecting them."""
    if expr.is_number:
        if expr.has(sympy.Float):
            floats.append(expr)
            return _PARAM
        exacts.append(expr)
        return _CONST
    if not expr.args or isinstance(expr, sympy.Symbol):
        return expr
    if expr.is_Pow:
        base, exp = expr.args
        new_exp = exp if (exp.is_number and _is_structural_exponent(exp)) else _split(exp, floats, exacts)
        return sympy.Pow(_split(base, floats, exacts), new_exp, evaluate=False)
    if expr.is_Mul or expr.is_Add:
        numbers = [a for a in expr.args if a.is_number]
        rest = [a for a in expr.args if not a.is_number]
        parts = [_split(a, floats, exacts) for a in rest]
        if numbers:
            number = expr.func(*numbers)
            if expr.is_Mul and number == -1:  # a sign, not a constant
                parts.append(sympy.S.NegativeOne)
            else:
                parts.append(_split(number, floats, exacts))
        return expr.func(*parts, evaluate=False)
    return expr.func(*(_split(a, floats, exacts) for a in expr.args))


def _symbols_used(template: sympy.Basic) -> int:
    kinds = set()
    for node in sympy.preorder_traversal(template):
        if node.is_Atom:
            if node in (sympy.S.NegativeOne, sympy.S.One):
                continue
            kinds.add(node)
        else:
            kinds.add(type(node).__name__)
    return max(len(kinds), 1)


def structure_codelength(expr: sympy.Basic) -> tuple[float, float]:
    """``(k log n, exact constants)`` in nats for ``expr`` (fitted Floats are leaves here;
    their cost depends on the data, see :func:`parameter_codelength`)."""
    floats: list = []
    exacts: list = []
    template = _split(sympy.sympify(expr), floats, exacts)
    k = complexity(template)
    n = _symbols_used(template)
    return k * math.log(n), float(sum(exact_constant_codelength(c) for c in exacts))


def parameter_codelength(values: Sequence[float], fisher_diagonal: Sequence[float]) -> float:
    """ESR's cost of fitted parameters: ``sum max(log|theta| + log(I_ii)/2 - log(3)/2, 0)``.

    ``fisher_diagonal`` is ``I_ii = sum_rows w (d f / d theta_i)**2 / sigma**2``; a parameter
    with zero information or value costs nothing (the data cannot see it).
    """
    total = 0.0
    for v, info in zip(values, fisher_diagonal):
        v, info = abs(float(v)), float(info)
        if not (v > 0 and info > 0 and math.isfinite(v) and math.isfinite(info)):
            continue
        total += max(math.log(v) + 0.5 * math.log(info) - 0.5 * _LOG3, 0.0)
    return total


def fisher_diagonal(J: np.ndarray, sigma: float, scale: float = 1.0) -> np.ndarray:
    """``I_ii`` from the (weighted) residual Jacobian ``J`` (n, k) at noise ``sigma``;
    ``scale`` multiplies it when ``J`` covers a sample of the rows the likelihood uses."""
    return scale * np.sum(np.asarray(J, float) ** 2, axis=0) / max(float(sigma), 1e-300) ** 2
