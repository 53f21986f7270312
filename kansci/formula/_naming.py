"""Map data column names to distinct, parse-safe sympy Symbols and back.

Rules for a column name (applied in order):

1. unit annotations in brackets are dropped: ``"m [kg]"`` -> ``m``, ``"v (m/s)"`` -> ``v``;
2. Greek letters become their names (``"θ"`` -> ``theta``, ``"Δt"`` -> ``Delta_t``), other
   accented letters lose their accents, anything else that is not a letter, digit or ``_``
   becomes ``_`` (``"x y"`` -> ``x_y``);
3. a leading digit gets the prefix ``x_`` (``"1st"`` -> ``x_1st``);
4. Python keywords, builtins and names that mean something to sympy's parser get a
   trailing ``_`` (``lambda`` -> ``lambda_``, ``E`` -> ``E_``, ``I`` -> ``I_``,
   ``gamma`` -> ``gamma_``), so ``sympy.sympify(text, locals=...)`` and even a plain
   ``sympify`` read them as symbols;
5. names that collide after sanitising get ``_2``, ``_3``, ... ; a column whose name is
   already a clean identifier keeps it.

Assumptions: every symbol is ``real=True``; when data are given and every finite value of a
column is > 0, its symbol is ``positive=True`` as well. Positivity lets sympy simplify
``sqrt(x**2)`` to ``x`` and combine logarithms, which is only valid on the data's domain.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sympy
from sympy.printing.latex import translate

__all__ = [
    "VariableMap",
    "latex_name",
    "sanitize_name",
    "symbols_for",
    "variables_from_symbols",
]

_UNIT = re.compile(r"\s*[\[\(\{][^\[\]\(\)\{\}]*[\]\)\}]")
_SPECIAL_GREEK = {
    "MICRO SIGN": "mu",
    "GREEK PHI SYMBOL": "phi",
    "GREEK THETA SYMBOL": "theta",
}


def _greek_name(ch: str) -> str | None:
    name = unicodedata.name(ch, "")
    if name in _SPECIAL_GREEK:
        return _SPECIAL_GREEK[name]
    for prefix, upper in (
        ("GREEK SMALL LETTER ", False),
        ("GREEK CAPITAL LETTER ", True),
    ):
        if name.startswith(prefix):
            word = name[len(prefix) :].split(" ")[0].lower()
            word = {"lamda": "lambda", "final": "sigma"}.get(word, word)
            return word.capitalize() if upper else word
    return None


def _transliterate(text: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        greek = _greek_name(ch)
        if greek is None:
            decomposed = unicodedata.normalize("NFKD", ch)
            ascii_part = "".join(c for c in decomposed if c.isascii())
            out.append(ascii_part if ascii_part else "_")
            continue
        if out and out[-1][-1:].isalnum():
            out.append("_")
        out.append(greek)
        if i + 1 < len(text) and text[i + 1].isalnum():
            out.append("_")
    return "".join(out)


def _is_reserved(name: str) -> bool:
    return (
        keyword.iskeyword(name)
        or hasattr(sympy, name)
        or hasattr(builtins, name)
        or name in {"lambda", "lamda"}
    )


def _digit_first(column: str) -> bool:
    text = _UNIT.sub("", column).strip() or column.strip()
    return text[:1].isdigit()


def sanitize_name(column: Any) -> str:
    """A readable, parse-safe identifier for one column name (before de-duplication)."""
    text = str(column).strip()
    stripped = _UNIT.sub("", text).strip()
    if stripped:
        text = stripped
    name = _transliterate(text)
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    name = re.sub(r"_+", "_", name).strip("_")
    if not name:
        name = "x"
    if name[0].isdigit():
        name = "x_" + name
    if _is_reserved(name):
        name += "_"
    return name


def _latex_part(part: str) -> str:
    translated = translate(part)
    if translated != part or len(part) <= 1 or part.isdigit():
        return translated
    return r"\mathrm{" + part + "}"


def latex_name(name: str, *, digit_prefixed: bool = False) -> str:
    """LaTeX for a sanitised name: ``x_1`` -> ``x_{1}``, ``theta`` -> ``\\theta``.

    ``digit_prefixed`` says the ``x_`` prefix was added by rule 3; it is then not shown.
    """
    core = name.rstrip("_") or name
    if digit_prefixed and core.startswith("x_"):
        core = core[2:]
    base, *subs = core.split("_")
    text = _latex_part(base)
    if subs:
        text += "_{" + ",".join(_latex_part(s) for s in subs if s) + "}"
    return text


class VariableMap:
    """Columns and their symbols, in order, with lookups both ways.

    Attributes
    ----------
    columns : tuple of str
        Original column names.
    names : tuple of str
        Sanitised symbol names (valid identifiers, parse-safe).
    symbols : tuple of sympy.Symbol
    latex_names : dict
        Symbol -> LaTeX string.
    """

    def __init__(
        self,
        columns: Sequence[str],
        names: Sequence[str],
        symbols: Sequence[sympy.Symbol],
    ):
        self.columns = tuple(str(c) for c in columns)
        self.names = tuple(names)
        self.symbols = tuple(symbols)
        self.latex_names = {
            s: latex_name(n, digit_prefixed=_digit_first(c))
            for s, n, c in zip(self.symbols, self.names, self.columns)
        }
        self._by_column = dict(zip(self.columns, self.symbols))
        self._by_symbol = dict(zip(self.symbols, self.columns))

    @property
    def by_name(self) -> dict[str, sympy.Symbol]:
        """Sanitised name -> Symbol; pass as ``locals`` to ``sympy.sympify``."""
        return dict(zip(self.names, self.symbols))

    def symbol(self, column: str) -> sympy.Symbol:
        """The symbol of a column."""
        try:
            return self._by_column[str(column)]
        except KeyError:
            raise KeyError(
                f"no column {column!r}; columns are {list(self.columns)}"
            ) from None

    def column(self, symbol: sympy.Symbol | str) -> str:
        """The column of a symbol (or of a sanitised name)."""
        if isinstance(symbol, str):
            symbol = self.by_name.get(symbol, sympy.Symbol(symbol))
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise KeyError(
                f"no variable {symbol!r}; symbols are {list(self.names)}"
            ) from None

    def __len__(self) -> int:
        return len(self.symbols)

    def __iter__(self) -> Iterator[sympy.Symbol]:
        return iter(self.symbols)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{c!r}: {n}" for c, n in zip(self.columns, self.names))
        return f"VariableMap({{{pairs}}})"


def _is_positive(values: Any) -> bool:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return False
    arr = arr[np.isfinite(arr)]
    return arr.size > 0 and bool(np.all(arr > 0))


def _column_values(data: Any, i: int, column: str) -> Any:
    if isinstance(data, pd.DataFrame):
        return data[column] if column in data.columns else data.iloc[:, i]
    if isinstance(data, Mapping):
        return data[column]
    arr = np.asarray(data)
    if arr.ndim == 1:
        return arr
    return arr[:, i]


def _unique_names(columns: Sequence[str]) -> list[str]:
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if list(columns).count(c) > 1})
        raise ValueError(f"column names must be unique; repeated: {dup}")
    wanted = [sanitize_name(c) for c in columns]
    names: list[str | None] = [None] * len(columns)
    used: set[str] = set()
    for i, (c, w) in enumerate(
        zip(columns, wanted)
    ):  # clean names keep themselves first
        if c == w:
            names[i] = w
            used.add(w)
    for i, w in enumerate(wanted):
        if names[i] is not None:
            continue
        name, k = w, 2
        while name in used:
            name = f"{w.rstrip('_')}_{k}"
            k += 1
        names[i] = name
        used.add(name)
    return names  # type: ignore[return-value]


def variables_from_symbols(symbols: Sequence[sympy.Symbol]) -> VariableMap:
    """A VariableMap whose columns are the symbols' names.

    A symbol whose name is not parse-safe (``lambda``, ``E``, ...) is replaced by one with
    the sanitised name and the same assumptions.
    """
    symbols = list(symbols)
    columns = [s.name for s in symbols]
    names = _unique_names(columns)
    new = [
        s if n == s.name else sympy.Symbol(n, **s.assumptions0)
        for s, n in zip(symbols, names)
    ]
    return VariableMap(columns, names, new)


def symbols_for(columns: Sequence[Any] | pd.DataFrame, data: Any = None) -> VariableMap:
    """Distinct sympy Symbols for data columns.

    Parameters
    ----------
    columns : sequence of str or DataFrame
        Column names, in order (a DataFrame supplies both names and data).
    data : DataFrame, mapping or 2-D array, optional
        Values used to decide assumptions: ``positive=True`` for a column whose finite
        values are all > 0, otherwise ``real=True``.

    Returns
    -------
    VariableMap
    """
    if isinstance(columns, pd.DataFrame):
        data = columns if data is None else data
        columns = list(columns.columns)
    columns = [str(c) for c in columns]
    names = _unique_names(columns)
    symbols = []
    for i, (c, n) in enumerate(zip(columns, names)):
        positive = data is not None and _is_positive(_column_values(data, i, c))
        symbols.append(
            sympy.Symbol(n, positive=True) if positive else sympy.Symbol(n, real=True)
        )
    return VariableMap(columns, names, symbols)  # type: ignore[arg-type]
