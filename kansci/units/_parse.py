"""Units from the user (a mapping, ``--units`` text, or ``name [unit]`` headers), read with pint."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._arrays import InputError
from ._dimension import BASES, Dimension

__all__ = ["Unit", "parse_unit", "parse_units", "parse_units_text", "split_header_units", "units_mapping"]

_HEADER = re.compile(r"^\s*(?P<name>.*?\S)\s*\[(?P<unit>[^\[\]]*)\]\s*$")


@dataclass(frozen=True)
class Unit:
    """A unit as the user wrote it, its dimension and its size in SI base units.

    ``factor`` converts a value in this unit to SI: ``value_SI = factor * value``
    (``km``: 1000, ``eV``: 1.602176634e-19).
    """

    text: str
    dimension: Dimension
    factor: float

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=1)
def _registry():
    try:
        import pint
    except ImportError:  # pragma: no cover - pint is a dependency
        raise InputError("units need the pint package: pip install pint") from None
    return pint.UnitRegistry()


@functools.lru_cache(maxsize=512)
def parse_unit(text: str) -> Unit:
    """Read one unit (``"m/s"``, ``"kg*m**2"``, ``"J/T"``, ``"1"`` for dimensionless) with pint.

    Raises
    ------
    kansci.InputError
        A one-line message for a unit pint does not know, an offset unit (``degC``) or a
        dimension outside the seven SI bases.
    """
    import pint

    raw = str(text).strip()
    spec = raw if raw not in ("", "-") else "dimensionless"
    ureg = _registry()
    try:
        one = ureg.Quantity(1.0, spec)
        two = ureg.Quantity(2.0, spec)
        factor = float(one.to_base_units().magnitude)
        offset = abs(float(two.to_base_units().magnitude) - 2 * factor) > 1e-12 * abs(factor)
        dims = dict(one.dimensionality)
    except pint.errors.UndefinedUnitError as exc:
        bad = getattr(exc, "unit_names", None) or exc.args
        name = bad[0] if isinstance(bad, (tuple, list)) and bad else bad
        raise InputError(
            f"unknown unit {raw!r} (pint does not know {str(name)!r}); use SI symbols such as "
            "m, kg, s, A, K, mol, N, J, W, C, V, F, T, Hz, or '1' for dimensionless"
        ) from None
    except Exception as exc:  # pint raises many kinds of error on malformed text
        raise InputError(f"cannot read the unit {raw!r} ({type(exc).__name__}); write it like m/s or kg*m**2") from None
    if offset:
        raise InputError(f"the unit {raw!r} has an offset (like degC); convert the column to an absolute unit such as K")
    extra = [k for k in dims if k.strip("[]") not in BASES]
    if extra:
        raise InputError(f"the unit {raw!r} has the dimension {extra[0]}, which is not an SI base dimension")
    return Unit(raw or "1", Dimension({k.strip("[]"): v for k, v in dims.items()}), factor)


def parse_units_text(text: str) -> dict[str, str]:
    """``"m=kg,v=m/s"`` (the ``--units`` option) as ``{"m": "kg", "v": "m/s"}``.

    Raises
    ------
    kansci.InputError
        An item without ``=`` or a column named twice.
    """
    out: dict[str, str] = {}
    for item in str(text).split(","):
        if not item.strip():
            continue
        name, sep, unit = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--units item {item.strip()!r} is not of the form column=unit (e.g. v=m/s)")
        name = name.strip()
        if name in out:
            raise InputError(f"--units gives the column {name!r} twice")
        out[name] = unit.strip()
    return out


def split_header_units(columns: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Column names with units in brackets (``v [m/s]``): the bare names and their units.

    Columns without brackets keep their names and get no unit.
    """
    names, units = [], {}
    for col in columns:
        m = _HEADER.match(str(col))
        if m:
            names.append(m.group("name"))
            units[m.group("name")] = m.group("unit").strip()
        else:
            names.append(str(col))
    return names, units


def units_mapping(units: Mapping[str, str] | str) -> dict[str, str]:
    """``units`` as a dict column -> unit text: a mapping, or text such as ``"m=kg,v=m/s"``.

    Raises :class:`kansci.InputError` for anything else.
    """
    if isinstance(units, str):
        units = parse_units_text(units)
    if not isinstance(units, Mapping):
        raise InputError(f"units must be a mapping column -> unit, such as {{'v': 'm/s'}}; got {type(units).__name__}")
    return {str(k): v for k, v in units.items()}


def parse_units(units: Mapping[str, str] | str, columns: Sequence[str]) -> dict[str, Unit]:
    """Check and parse the units of a table's columns.

    Parameters
    ----------
    units : mapping column -> unit text, or ``--units`` text (``"m=kg,v=m/s"``)
    columns : the columns that need a unit (the inputs used and the target)

    Returns
    -------
    dict column -> Unit

    Raises
    ------
    kansci.InputError
        One line: a unit for a column the table does not have, a column without a unit,
        a unit pint does not know.
    """
    units = units_mapping(units)
    unknown = [c for c in units if c not in columns]
    if unknown:
        raise InputError(
            f"units are given for column(s) {unknown} that the table does not use; the columns are {list(columns)}"
        )
    missing = [c for c in columns if c not in units]
    if missing:
        raise InputError(
            f"no unit for column(s) {missing}; give every input and the target a unit ('1' for dimensionless)"
        )
    return {c: parse_unit(str(units[c])) for c in columns}
