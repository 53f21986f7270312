"""Export a formula to LaTeX with readable variable names."""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from ._naming import VariableMap

__all__ = ["to_latex"]


def to_latex(
    expr: sympy.Basic, variables: VariableMap | Mapping[sympy.Symbol, str] | None = None
) -> str:
    """LaTeX of ``expr`` (no surrounding ``$``).

    Parameters
    ----------
    expr : sympy.Expr
    variables : VariableMap or mapping Symbol -> LaTeX, optional
        Display names, e.g. ``theta`` -> ``\\theta``; sympy's defaults otherwise.
    """
    if isinstance(variables, VariableMap):
        names = dict(variables.latex_names)
    else:
        names = dict(variables or {})
    return sympy.latex(expr, symbol_names=names, min=-4, max=6)
