"""Physical dimensions as vectors of rational exponents over the seven SI base dimensions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

__all__ = ["BASES", "SI_SYMBOLS", "Dimension", "DIMENSIONLESS"]

BASES = ("length", "mass", "time", "current", "temperature", "substance", "luminosity")
"""The SI base dimensions, in the order of a :class:`Dimension`'s exponents."""

SI_SYMBOLS = ("m", "kg", "s", "A", "K", "mol", "cd")
"""The SI base unit of each base dimension (same order as :data:`BASES`)."""


def _fraction(value) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    f = Fraction(float(value)).limit_denominator(12)
    if abs(float(f) - float(value)) > 1e-9:
        raise ValueError(f"dimension exponent {value!r} is not a simple fraction")
    return f


class Dimension:
    """A physical dimension: ``L^a M^b T^c I^d Theta^e N^f J^g`` with rational exponents.

    Dimensions multiply (``*``, exponents add), divide and take rational powers; a
    dimensionless quantity has all exponents 0.

    Examples
    --------
    >>> v = Dimension(length=1, time=-1)
    >>> str(v * v), str(v**-1), (v / v).dimensionless
    ('m**2/s**2', 's/m', True)
    """

    __slots__ = ("_exps",)

    def __init__(self, exponents: Iterable | Mapping | None = None, **named) -> None:
        exps = [Fraction(0)] * len(BASES)
        if isinstance(exponents, Mapping):
            named = {**dict(exponents), **named}
        elif exponents is not None:
            values = list(exponents)
            if len(values) != len(BASES):
                raise ValueError(f"a Dimension has {len(BASES)} exponents, got {len(values)}")
            exps = [_fraction(v) for v in values]
        for key, value in named.items():
            name = str(key).strip("[]")
            if name not in BASES:
                raise ValueError(f"unknown base dimension {key!r}; the bases are {', '.join(BASES)}")
            exps[BASES.index(name)] = _fraction(value)
        self._exps = tuple(exps)

    # ------------------------------------------------------------------ views
    @property
    def exponents(self) -> tuple[Fraction, ...]:
        """The exponent of each base dimension, in the order of :data:`BASES`."""
        return self._exps

    @property
    def dimensionless(self) -> bool:
        return not any(self._exps)

    def as_dict(self) -> dict[str, Fraction]:
        """Nonzero exponents by base dimension name."""
        return {b: e for b, e in zip(BASES, self._exps) if e}

    # ------------------------------------------------------------------ algebra
    def __mul__(self, other: Dimension) -> Dimension:
        return Dimension([a + b for a, b in zip(self._exps, other._exps)])

    def __truediv__(self, other: Dimension) -> Dimension:
        return Dimension([a - b for a, b in zip(self._exps, other._exps)])

    def __pow__(self, power) -> Dimension:
        p = _fraction(power)
        return Dimension([a * p for a in self._exps])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dimension) and self._exps == other._exps

    def __hash__(self) -> int:
        return hash(self._exps)

    # ------------------------------------------------------------------ display
    def __str__(self) -> str:
        """The dimension in SI base units, e.g. ``kg*m/s**2`` (``1`` when dimensionless)."""
        def part(sym: str, e: Fraction) -> str:
            e = abs(e)
            if e == 1:
                return sym
            return f"{sym}**{e}" if e.denominator == 1 else f"{sym}**({e})"

        num = [part(s, e) for s, e in zip(SI_SYMBOLS, self._exps) if e > 0]
        den = [part(s, e) for s, e in zip(SI_SYMBOLS, self._exps) if e < 0]
        # mass first reads better (kg*m/s**2)
        order = {"kg": 0, "m": 1, "s": 2, "A": 3, "K": 4, "mol": 5, "cd": 6}
        num.sort(key=lambda t: order[t.split("*")[0]])
        den.sort(key=lambda t: order[t.split("*")[0]])
        top = "*".join(num) or "1"
        if not den:
            return top
        bottom = den[0] if len(den) == 1 else "(" + "*".join(den) + ")"
        return f"{top}/{bottom}"

    def __repr__(self) -> str:
        return f"Dimension({str(self)!r})"


DIMENSIONLESS = Dimension()
