""" "Nice" exact constants near a float: integers, small rationals, multiples of pi, e, sqrt."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy

__all__ = ["Candidate", "expected_chance_matches", "nice_candidates", "unit_table"]

_pi, _e = sympy.pi, sympy.E

#: (exact unit, its cost); a candidate is (p/q) * unit. Cost ~ extra nodes in the formula.
_UNITS: list[tuple[sympy.Expr, float]] = [
    (sympy.S.One, 0.0),
    (_pi, 1.0),
    (_e, 1.5),
    (sympy.sqrt(2), 1.5),
    (sympy.sqrt(3), 1.5),
    (1 / _pi, 1.5),
    (_pi**2, 2.0),
    (1 / _pi**2, 2.5),
    (sympy.sqrt(_pi), 2.0),
    (1 / sympy.sqrt(_pi), 2.5),
    (sympy.sqrt(5), 2.0),
    (sympy.sqrt(2 * _pi), 2.5),
    (1 / sympy.sqrt(2 * _pi), 2.5),
    (1 / _e, 2.0),
    (sympy.log(2), 2.0),
    (_pi**3, 3.0),
    (1 / _pi**3, 3.5),
]
_UNIT_VALUES = [float(u) for u, _ in _UNITS]


def unit_table() -> list[tuple[sympy.Expr, float]]:
    """The exact units a constant may be a rational multiple of, with their prior costs."""
    return list(_UNITS)


def _cost(p: int, q: int, unit_cost: float) -> float:
    cost = unit_cost + _rational_cost(p, q)
    if unit_cost and (abs(p), q) != (1, 1):
        cost += 0.5  # the product node
    return cost


def _pool(
    role: str, max_denominator: int
) -> tuple[list[tuple[sympy.Expr, float]], int]:
    if role == "exponent":
        return _UNITS[:1], min(max_denominator, 6)
    return _UNITS, max_denominator


def expected_chance_matches(
    value: float,
    half_width: float,
    max_cost: float,
    role: str = "other",
    *,
    max_denominator: int = 12,
) -> float:
    """How many candidates costing at most ``max_cost`` land within ``value +- half_width``
    by chance (the look-elsewhere effect): a match is only evidence when this is small."""
    costs, density = _rivals(float(value), role, max_denominator)
    return float(2.0 * half_width * density[costs <= max_cost].sum())


@functools.lru_cache(maxsize=4096)
def _rivals(value: float, role: str, max_denominator: int) -> tuple[np.ndarray, np.ndarray]:
    """The candidate families near ``value``: each one's cost and how many of its members
    fall in a unit interval there (a search asks this of one constant many times)."""
    costs, density = [], []
    units, qmax = _pool(role, max_denominator)
    for (_, unit_cost), unit_value in zip(units, _UNIT_VALUES):
        for q in range(1, qmax + 1):
            p = max(1, round(abs(value) * q / unit_value))
            costs.append(_cost(p, q, unit_cost))
            density.append(q / unit_value)  # p/q * unit are unit/q apart
    if role != "exponent" and value:
        for _, unit_cost, unit_value, p, q in _reciprocals(abs(value), units, qmax):
            costs.append(_cost(q, p, unit_cost))
            density.append(p / (value**2 * unit_value))  # spaced value**2*unit/p apart
        for k, p, q in _rational_powers(abs(value), qmax):
            costs.append(_power_cost(p, q, k))
            density.append(q / (k * abs(value) ** ((k - 1) / k)))  # (p/q)**k are k*value**((k-1)/k)/q apart
    return np.asarray(costs, float), np.asarray(density, float)


#: Integer powers ``(p/q)**k`` (``k`` up to this) of a rational with few digits are proposed as
#: constants: a length scale inside a power law (``(5/(2*r))**9``, Mie and Lennard-Jones
#: potentials) is written out as ``1953125/(512*r**9)``, whose digits no rational search reaches.
MAX_POWER = 12
#: digits of ``p`` and ``q`` together in the base of such a power
POWER_BASE_DIGITS = 3


def _rational_powers(value: float, qmax: int):
    """``(k, p, q)`` with ``(p/q)**k`` the nearest power of exponent ``k`` (2..MAX_POWER) to
    ``value`` for each denominator ``q``, the base in lowest terms, not 1, of at most
    ``POWER_BASE_DIGITS`` digits."""
    if not (math.isfinite(value) and value > 0):
        return
    for k in range(2, MAX_POWER + 1):
        base = value ** (1.0 / k)
        for q in range(1, qmax + 1):
            p = round(base * q)
            if p >= 1 and p != q and math.gcd(p, q) == 1 and _digits(p, q) <= POWER_BASE_DIGITS:
                yield k, p, q


def _power_cost(p: int, q: int, k: int) -> float:
    """The base's cost, the power node and the exponent."""
    return _rational_cost(p, q) + 1.0 + 0.5 * math.log10(k)


def _reciprocals(value: float, units, qmax: int):
    """``(unit, unit cost, unit value, p, q)`` of the reciprocals ``p / (q * unit)`` nearest
    ``value``: irrational units, ``p <= RECIPROCAL_NUMERATOR``, ``qmax < |q| <= 2*qmax``
    (smaller ``q`` are rational multiples of a unit, proposed as such)."""
    for (unit, unit_cost), unit_value in zip(units, _UNIT_VALUES):
        if not unit_cost:  # 1/79 is no nicer than 79/1000
            continue
        for p in range(1, RECIPROCAL_NUMERATOR + 1):
            q = round(p / (value * unit_value))
            if qmax < abs(q) <= 2 * qmax and math.gcd(p, q) == 1:
                yield unit, unit_cost, unit_value, p, q


#: Reciprocals ``p / (q * unit)`` of an irrational unit with ``q`` beyond the largest denominator
#: (up to twice it) are proposed for ``p`` up to this (``3/(20*pi)``, ``1/(15*pi)``): constants
#: that divide, of which a rational multiple with a small denominator does not exist.
RECIPROCAL_NUMERATOR = 3

#: A rational with more significant digits than this (trailing zeros aside) is no simpler than
#: the float it would replace: ``8987551786`` is a fitted ``1/(4*pi*eps_0)``, not an integer.
MAX_DIGITS = 6


def _digits(p: int, q: int) -> int:
    return len(str(abs(p)).rstrip("0") or "0") + (len(str(q).rstrip("0") or "0") if q != 1 else 0)


@dataclass(frozen=True)
class Candidate:
    """An exact constant proposed for a float, and what it costs in formula size."""

    value: sympy.Expr
    number: float
    cost: float


def _rational_cost(p: int, q: int) -> float:
    """About the description length of p/q: 2 is cheap, 22/7 is not."""
    if q == 1:
        return 0.0 if abs(p) == 1 else 1.0 + 0.5 * math.log10(abs(p))
    return 1.5 + 0.5 * math.log10(abs(p) * q)


def nice_candidates(
    value: float,
    role: str = "other",
    *,
    max_denominator: int = 12,
    window: float = 0.05,
) -> list[Candidate]:
    """Exact constants within a relative ``window`` of ``value``, cheapest first.

    Parameters
    ----------
    value : float
        The fitted constant.
    role : {"add", "mul", "exponent", "other"}
        Where the constant sits. ``"exponent"`` proposes only rationals (denominator <= 6);
        every role also proposes 0 (which removes a term or factor when the fit allows).
    max_denominator : int
        Largest denominator q of the rational multiplier p/q.
    window : float
        Relative distance beyond which a constant is not proposed.

    Returns
    -------
    list of Candidate
    """
    found: dict[sympy.Expr, Candidate] = {
        sympy.S.Zero: Candidate(sympy.S.Zero, 0.0, 0.0)
    }
    if not math.isfinite(value) or value == 0.0:
        return list(found.values())
    units, qmax = _pool(role, max_denominator)
    for (unit, unit_cost), unit_value in zip(units, _UNIT_VALUES):
        ratio = value / unit_value
        for q in range(1, qmax + 1):
            p = round(ratio * q)
            if p == 0 or math.gcd(p, q) != 1 or _digits(p, q) > MAX_DIGITS:
                continue
            number = p / q * unit_value
            if abs(number - value) > window * abs(value):
                continue
            _keep(found, Candidate(sympy.Rational(p, q) * unit, number, _cost(p, q, unit_cost)))
    if role != "exponent":  # a divisor: 3/(20*pi) is the reciprocal of (20/3)*pi
        for unit, unit_cost, unit_value, p, q in _reciprocals(value, units, qmax):
            number = p / (q * unit_value)
            if abs(number - value) <= window * abs(value):
                _keep(found, Candidate(sympy.Rational(p, q) / unit, number, _cost(abs(q), p, unit_cost)))
        sign = 1 if value > 0 else -1
        for k, p, q in _rational_powers(abs(value), qmax):
            number = sign * (p / q) ** k
            if abs(number - value) <= window * abs(value):
                _keep(found, Candidate(sign * sympy.Rational(p, q) ** k, number, _power_cost(p, q, k)))
    return sorted(found.values(), key=lambda c: (c.cost, abs(c.number - value)))


def _keep(found: dict, cand: Candidate) -> None:
    """Record ``cand`` unless the same exact value is already there at no higher cost."""
    if cand.value not in found or found[cand.value].cost > cand.cost:
        found[cand.value] = cand
