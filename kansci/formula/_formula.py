"""Formula: a sympy expression with its data columns, printable, evaluable and exportable."""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sympy
from sympy.printing.str import StrPrinter

from .._evaluate import TorchExpression
from ._complexity import complexity
from ._export_latex import to_latex
from ._export_numpy import to_numpy
from ._export_torch import to_torch
from ._naming import VariableMap, symbols_for, variables_from_symbols

__all__ = ["Formula"]


#: Floats outside 1e-4 .. 1e6 in magnitude print in scientific notation (6.62607015e-34, not
#: 0.000000000000000000000000000000000662607015; 1.1294e+11, not 112940000000.0).
FLOAT_SETTINGS = {"min": -4, "max": 6}


def _text(expr: sympy.Basic) -> str:
    return sympy.sstr(expr, **FLOAT_SETTINGS)


class _RenamingPrinter(StrPrinter):
    """sympy's str printer with symbols (and named constants) shown under other names."""

    def __init__(self, names: Mapping[sympy.Symbol, str], constants: Mapping[str, str] | None = None) -> None:
        super().__init__(dict(FLOAT_SETTINGS))
        self._names = dict(names)
        self._kansci_constant_names = dict(constants or {})

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return self._names.get(expr, expr.name)


def _round_floats(expr: sympy.Basic) -> sympy.Basic:
    """Floats at the precision their printed form has, so ``str`` parses back identically."""
    floats = expr.atoms(sympy.Float)
    return (
        expr.xreplace({f: sympy.Float(sympy.sstr(f)) for f in floats})
        if floats
        else expr
    )


def _as_variable_map(variables: Any) -> VariableMap:
    if isinstance(variables, VariableMap):
        return variables
    if isinstance(variables, pd.DataFrame):
        return symbols_for(variables)
    if isinstance(variables, (str, sympy.Symbol)):
        variables = [variables]
    items = list(variables)
    if items and all(isinstance(v, sympy.Symbol) for v in items):
        return variables_from_symbols(items)
    if all(isinstance(v, str) for v in items):
        return symbols_for(items)
    raise TypeError(
        "variables must be a VariableMap, a list of column names or a list of sympy Symbols; "
        f"got {variables!r}"
    )


def _rebind(expr: sympy.Basic, vm: VariableMap, given: Sequence[Any]) -> sympy.Basic:
    """Make the expression use the map's symbols (matched by identity, name or column)."""
    subs = {}
    originals = [g for g in given if isinstance(g, sympy.Symbol)]
    for old, new in zip(originals, vm.symbols):
        if old != new:
            subs[old] = new
    by_name = vm.by_name
    by_column = dict(zip(vm.columns, vm.symbols))
    for s in expr.free_symbols - set(vm.symbols) - set(subs):
        match = by_name.get(s.name) or by_column.get(s.name)
        if match is None:
            raise ValueError(
                f"the expression uses {s.name!r}, which is not one of the variables "
                f"{list(vm.columns)}; pass every variable the formula uses"
            )
        subs[s] = match
    return expr.xreplace(subs) if subs else expr


class Formula:
    """A closed-form law over named data columns.

    Parameters
    ----------
    expr : sympy.Expr
        The expression.
    variables : VariableMap, list of column names, list of Symbols or DataFrame
        The variables, in order. Symbols in ``expr`` are matched by identity, then by
        (sanitised) name or column name.

    Notes
    -----
    Floats are stored at 15 significant digits (what ``str`` prints), so that
    ``sympy.sympify(str(f), locals=f.variable_map.by_name) == f.expr`` holds exactly.

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> f = Formula(sympy.sin(x) + 1, ["x"])
    >>> str(f), f.complexity
    ('sin(x) + 1', 4)
    """

    def __init__(self, expr: sympy.Basic, variables: Any) -> None:
        if isinstance(expr, str):
            raise TypeError(
                "expected a sympy expression, got a string; kansci never parses text"
            )
        if isinstance(expr, int):
            expr = sympy.Integer(expr)
        elif isinstance(expr, float):
            expr = sympy.Float(expr)
        given = list(variables) if isinstance(variables, (list, tuple)) else []
        self._vars = _as_variable_map(variables)
        self._expr = _round_floats(_rebind(expr, self._vars, given))
        self._numpy: Callable[..., np.ndarray] | None = None

    # ------------------------------------------------------------------ views
    @property
    def expr(self) -> sympy.Basic:
        """The sympy expression (over :attr:`symbols`)."""
        return self._expr

    @property
    def variables(self) -> list[str]:
        """Column names, in the order :meth:`predict` and :meth:`to_numpy` expect."""
        return list(self._vars.columns)

    @property
    def symbols(self) -> list[sympy.Symbol]:
        """The symbols of :attr:`variables`, in order."""
        return list(self._vars.symbols)

    @property
    def variable_map(self) -> VariableMap:
        """Columns <-> symbols, with LaTeX names."""
        return self._vars

    @property
    def complexity(self) -> int:
        """Node count (see :func:`kansci.formula.complexity`)."""
        return complexity(self._expr)

    def latex(self) -> str:
        """LaTeX with readable variable names (no ``$``)."""
        return to_latex(self._expr, self._vars)

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_numpy"] = None  # a compiled function does not pickle; rebuilt on demand
        return state

    def __str__(self) -> str:
        return _text(self._expr)

    def __repr__(self) -> str:
        return f"Formula({str(self)!r}, variables={self.variables!r})"

    @property
    def constants(self) -> dict[str, float]:
        """Named physical constants in the formula, ``{name: SI value}`` (``hbar``, ``eps_0``)."""
        from ._physical import physical_constants_in

        return physical_constants_in(self._expr)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``formula``, ``latex``, ``complexity``, ``variables``, ``constants``.

        ``formula`` uses the original column names when every one is a valid Python
        identifier (and not a keyword); otherwise the sanitised names. ``variables`` maps
        each name used in ``formula`` to its column; ``constants`` maps each named physical
        constant in ``formula`` to its SI value (a constant whose name is also a column's is
        written ``<name>_const``).
        """
        columns = self._vars.columns
        if all(c.isidentifier() and not keyword.iskeyword(c) for c in columns):
            names = dict(zip(self._vars.symbols, columns))
        else:
            names = dict(zip(self._vars.symbols, self._vars.names))
        taken = set(names.values())
        renamed = {n: (f"{n}_const" if n in taken else n) for n in self.constants}
        text = _RenamingPrinter(names, renamed).doprint(self._expr)
        return {
            "formula": text,
            "latex": self.latex(),
            "complexity": self.complexity,
            "variables": {names[s]: c for s, c in zip(self._vars.symbols, columns)},
            "constants": {renamed[n]: v for n, v in self.constants.items()},
        }

    # ------------------------------------------------------------------ evaluation
    def to_numpy(self) -> Callable[..., np.ndarray]:
        """``f(*arrays) -> ndarray``, one array per variable in :attr:`variables` order."""
        if self._numpy is None:
            self._numpy = to_numpy(self._expr, self._vars.symbols)
        return self._numpy

    def to_torch(self, *, rationals: bool = False) -> TorchExpression:
        """A torch module ``(batch, n_variables) -> (batch,)`` with constants as parameters."""
        return to_torch(self._expr, self._vars.symbols, rationals=rationals)

    def predict(self, data: Any) -> np.ndarray:
        """Evaluate on a DataFrame/mapping (by column name) or a 2-D array (columns in order).

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        columns = self._columns_of(data)
        n = _n_rows(data, columns)
        out = self.to_numpy()(*columns)
        return np.broadcast_to(out, (n,)).copy() if out.shape != (n,) else out

    def _columns_of(self, data: Any) -> list[np.ndarray]:
        wanted = self.variables
        if isinstance(data, (pd.DataFrame, Mapping)):
            keys = data.columns if isinstance(data, pd.DataFrame) else data.keys()
            missing = [c for c in wanted if c not in keys]
            if missing:
                raise ValueError(
                    f"the data lack column(s) {missing}; the formula needs {wanted}, "
                    f"the data have {list(keys)}"
                )
            return [np.asarray(data[c], dtype=float).ravel() for c in wanted]
        arr = np.asarray(data, dtype=float)
        if arr.ndim == 1 and len(wanted) == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != len(wanted):
            raise ValueError(
                f"expected an array of shape (n_rows, {len(wanted)}) with columns {wanted} "
                f"in this order, got shape {arr.shape}; or pass a DataFrame with these columns"
            )
        return [arr[:, j] for j in range(arr.shape[1])]


def _n_rows(data: Any, columns: list[np.ndarray]) -> int:
    if columns:
        return int(columns[0].shape[0])
    if isinstance(data, pd.DataFrame):
        return len(data)
    arr = np.asarray(data)
    return int(arr.shape[0]) if arr.ndim >= 1 else 1
