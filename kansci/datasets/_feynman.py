"""Tables of laws with their sampling ranges: the Feynman table (100 physical laws) and more.

Bundled tables (``kansci/datasets/data/<name>.csv``): ``feynman`` (the public benchmark),
``beyond`` (textbook laws of kinds the Feynman table does not test, used to measure
generalisation) and ``realistic`` (the Feynman laws in SI units: physical ranges, mostly
log-uniform over two decades, physical constants written as numbers, a unit per variable, and
irrelevant columns added at sampling time).  Every law has a unique id across the tables.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sympy

from .._parse import parse_expression
from ._files import read_bundled_csv

__all__ = [
    "LAW_TABLES",
    "FeynmanLaw",
    "MissingColumnsError",
    "UnknownLawError",
    "evaluate_law",
    "feynman_law",
    "feynman_table",
]


LAW_TABLES = ("feynman", "beyond", "realistic")
"""The bundled law tables, by name."""

SAMPLINGS = ("uniform", "log", "int")
"""How a variable is drawn from its range: uniformly, log-uniformly, or as a uniform integer."""


class UnknownLawError(KeyError):
    """A Feynman law id that is not in the table."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0]) if self.args else ""


class MissingColumnsError(KeyError):
    """A table lacks columns that a law needs."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class FeynmanLaw:
    """One law of the Feynman table.

    Attributes
    ----------
    id : str
        The law's id in the table, e.g. ``"I.6.2a"``.
    output : str
        Name of the quantity the law gives.
    formula : sympy.Expr
        The law over plain Symbols named exactly as the variables (``I``, ``gamma``, ``lambd``
        ... are ordinary Symbols here, never sympy's own objects).
    variables : tuple of (name, low, high)
        Each variable with its uniform sampling range, in the table's order.
    symbols : dict of str to sympy.Symbol
        The Symbol of each variable, by name.
    sampling : tuple of str
        How each variable is drawn (one of :data:`SAMPLINGS`), in the table's order; default
        uniform for all.
    rows : int or None
        Training rows this law is benchmarked with, when the table fixes them (few-row laws).
    table : str
        The table the law comes from.
    units : dict of str to str
        The unit of each variable and of the output (pint syntax, e.g. ``"m/s"``), when the
        table gives them; empty otherwise.
    irrelevant : tuple of (int, int) or None
        When set, sampling adds between ``irrelevant[0]`` and ``irrelevant[1]`` columns the law
        does not use, with random scales and units (see :func:`kansci.datasets.make_dataset`).
    """

    id: str
    output: str
    formula: sympy.Expr
    variables: tuple[tuple[str, float, float], ...]
    symbols: dict[str, sympy.Symbol] = field(default_factory=dict, compare=False, repr=False)
    sampling: tuple[str, ...] = ()
    rows: int | None = None
    table: str = "feynman"
    units: dict[str, str] = field(default_factory=dict, compare=False)
    irrelevant: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        # accept lists; store tuples so that a law is hashable (and cacheable)
        variables = tuple((str(n), float(lo), float(hi)) for n, lo, hi in self.variables)
        object.__setattr__(self, "variables", variables)
        sampling = tuple(self.sampling) or ("uniform",) * len(variables)
        if len(sampling) != len(variables) or any(k not in SAMPLINGS for k in sampling):
            raise ValueError(
                f"law {self.id}: sampling must give one of {SAMPLINGS} per variable, got {sampling}"
            )
        object.__setattr__(self, "sampling", sampling)
        free = {s.name: s for s in self.formula.free_symbols if isinstance(s, sympy.Symbol)}
        symbols = {
            n: self.symbols.get(n) or free.get(n) or sympy.Symbol(n) for n, _, _ in variables
        }
        object.__setattr__(self, "symbols", symbols)
        unknown = sorted(set(free) - set(symbols))
        if unknown:
            raise ValueError(
                f"law {self.id}: the formula uses {', '.join(unknown)}, which are not among its "
                f"variables ({', '.join(symbols) or 'none'}); add them to `variables`"
            )

    @property
    def names(self) -> list[str]:
        """Variable names in the table's order."""
        return [name for name, _, _ in self.variables]

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """Sampling range ``(low, high)`` of each variable, by name."""
        return {name: (low, high) for name, low, high in self.variables}

    @property
    def n_vars(self) -> int:
        """Number of variables."""
        return len(self.variables)


def _parse_variables(
    text: str, law_id: str
) -> tuple[tuple[tuple[str, float, float], ...], tuple[str, ...]]:
    variables, sampling = [], []
    for item in text.split(";"):
        parts = item.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].strip() not in SAMPLINGS):
            raise ValueError(
                f"law {law_id}: variable entry {item!r} is not of the form name:low:high "
                f"or name:low:high:kind with kind one of {', '.join(SAMPLINGS)}"
            )
        name, low, high = parts[0].strip(), float(parts[1]), float(parts[2])
        if not low < high:
            raise ValueError(f"law {law_id}: variable {name} has an empty range [{low}, {high}]")
        kind = parts[3].strip() if len(parts) == 4 else "uniform"
        if kind == "log" and low <= 0:
            raise ValueError(f"law {law_id}: log-uniform variable {name} needs a positive range")
        variables.append((name, low, high))
        sampling.append(kind)
    return tuple(variables), tuple(sampling)


def _parse_units(text: str, law_id: str) -> dict[str, str]:
    units = {}
    for item in filter(None, (t.strip() for t in text.split(";"))):
        name, sep, unit = item.partition("=")
        if not sep:
            raise ValueError(f"law {law_id}: unit entry {item!r} is not of the form name=unit")
        units[name.strip()] = unit.strip()
    return units


def _parse_range(text: str, law_id: str) -> tuple[int, int] | None:
    text = text.strip()
    if not text:
        return None
    low, _, high = text.partition("-")
    try:
        lo, hi = int(low), int(high or low)
    except ValueError:
        raise ValueError(f"law {law_id}: irrelevant must be a count or a range like 1-3, got {text!r}") from None
    if not 0 <= lo <= hi:
        raise ValueError(f"law {law_id}: irrelevant range {text!r} is empty")
    return (lo, hi)


def _check_table_name(table: str) -> str:
    if table not in LAW_TABLES:
        raise ValueError(f"unknown law table {table!r}; the tables are {', '.join(LAW_TABLES)}")
    return table


@functools.lru_cache(maxsize=len(LAW_TABLES))
def _table(table: str = "feynman") -> pd.DataFrame:
    frame = read_bundled_csv(
        f"{_check_table_name(table)}.csv",
        dtype={"id": str, "output": str, "formula": str, "n_vars": int, "variables": str,
               "units": str, "irrelevant": str},
        keep_default_na=False,
    )
    return frame


def feynman_table(table: str = "feynman") -> pd.DataFrame:
    """A table of laws, one row per law (by default the Feynman table).

    Parameters
    ----------
    table : str
        One of :data:`LAW_TABLES`: ``"feynman"`` (the public benchmark) or ``"beyond"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``output``, ``formula`` (text in the syntax of
        :func:`kansci.parse_expression`), ``n_vars`` and ``variables`` (``;``-separated
        ``name:low:high`` entries, the sampling range of each variable, optionally followed
        by ``:log`` or ``:int`` for log-uniform or integer sampling); tables other than the
        Feynman one may have a ``rows`` column (training rows, when the law fixes them).

    Raises
    ------
    ValueError
        For an unknown table name.
    """
    return _table(table).copy()


@functools.lru_cache(maxsize=1)
def _laws() -> dict[str, FeynmanLaw]:
    laws: dict[str, FeynmanLaw] = {}
    for table in LAW_TABLES:
        for row in _table(table).to_dict(orient="records"):
            variables, sampling = _parse_variables(row["variables"], row["id"])
            symbols = {name: sympy.Symbol(name) for name, _, _ in variables}
            formula = parse_expression(row["formula"], symbols)
            rows = str(row.get("rows", "") or "").strip()
            if row["id"] in laws:
                raise ValueError(f"law id {row['id']!r} appears in more than one table")
            laws[row["id"]] = FeynmanLaw(
                row["id"], row["output"], formula, variables, symbols, sampling=sampling,
                rows=int(float(rows)) if rows else None, table=table,
                units=_parse_units(str(row.get("units", "") or ""), row["id"]),
                irrelevant=_parse_range(str(row.get("irrelevant", "") or ""), row["id"]),
            )  # fmt: skip
    return laws


def _canonical(law_id: str) -> str:
    key = re.sub(r"^feynman[ _.-]*", "", law_id.strip(), flags=re.IGNORECASE)
    return key.replace("_", ".").casefold()


def feynman_law(law_id: str | FeynmanLaw) -> FeynmanLaw:
    """Look up one law of the Feynman table.

    Parameters
    ----------
    law_id : str or FeynmanLaw
        The id, e.g. ``"I.6.2a"``; PMLB-style names such as ``"feynman_I_6_2a"`` are accepted.
        A FeynmanLaw is returned as it is.

    Raises
    ------
    UnknownLawError
        A KeyError naming the closest ids, when no law has this id.
    """
    if isinstance(law_id, FeynmanLaw):
        return law_id
    if not isinstance(law_id, str):
        raise TypeError(f"law_id must be a str such as 'I.6.2a', got {type(law_id).__name__}")
    laws = _laws()
    if law_id in laws:
        return laws[law_id]
    by_key = {_canonical(k): k for k in laws}
    key = _canonical(law_id)
    if key in by_key:
        return laws[by_key[key]]
    close = [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=5, cutoff=0.6)]
    hint = f"close ids: {', '.join(close)}" if close else "see feynman_table() for all ids"
    raise UnknownLawError(f"no Feynman law has the id {law_id!r}; {hint}")


@functools.lru_cache(maxsize=256)
def _compiled(law: FeynmanLaw) -> Callable[..., Any]:
    args = [law.symbols[name] for name in law.names]
    # dummify: names such as `lambda` or `I` must not reach the generated code as identifiers
    return sympy.lambdify(args, law.formula, modules=["numpy", "scipy"], dummify=True)


def evaluate_law(
    law: FeynmanLaw | str, data: pd.DataFrame | Mapping[str, Any]
) -> np.ndarray:
    """Evaluate a law on a table of its variables.

    Parameters
    ----------
    law : FeynmanLaw or str
        The law or its id.
    data : DataFrame or mapping of name to array
        Must hold a column for each of the law's variables; other columns are ignored.

    Returns
    -------
    numpy.ndarray
        The law's output, float64, one value per row.

    Raises
    ------
    MissingColumnsError
        A KeyError naming the missing columns.
    """
    law = feynman_law(law)
    missing = [name for name in law.names if name not in data]
    if missing:
        have = ", ".join(map(str, list(data.keys())[:20]))
        raise MissingColumnsError(
            f"law {law.id} needs columns {', '.join(missing)}, which the data lacks "
            f"(it has: {have or 'no columns'})"
        )
    columns = [np.asarray(data[name], dtype=float) for name in law.names]
    n_rows = len(columns[0]) if columns else 0
    values = np.asarray(_compiled(law)(*columns), dtype=float)
    return np.array(np.broadcast_to(values, (n_rows,)), dtype=float)
