"""The result of :func:`kansci.discover`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..formula import Formula
from ._candidates import Candidate

__all__ = ["Discovery"]


class Discovery:
    """What discovery found: the chosen formula, the Pareto front and how it got there.

    Attributes
    ----------
    formula : Formula
        The chosen law over the data's columns.
    pareto : DataFrame
        complexity, rmse, r2, score (PySR's), exact, source, chosen, formula, latex.
    model : KAN or None
        The KAN surrogate fitted to the data, when one was trained.
    history : DataFrame
        The stages run: stage, seconds, candidates, best_rmse, note.
    r2, rmse : float
        Of the chosen formula on the held-out rows.
    seconds : float
    target : str
    diagnostics : dict
    dropped_columns : list of str
        Input columns left out because the target does not depend on them.
    units : dict
        The unit of each column, when units were given (else empty).
    constant_units : list of dict
        With units: each fitted constant of the formula (in the order of
        :func:`kansci.formula.constant_errors`) with ``value``, ``unit`` (SI base units, None
        when the formula leaves it free) and ``si_value``.
    physical_constants : dict
        Named physical constants the formula uses, ``{name: SI value}`` (``hbar``, ``eps_0``...).
    """

    def __init__(self, chosen: Candidate, front: list[dict], problem, *, model=None, history=None,
                 seconds: float = math.nan, diagnostics: dict | None = None) -> None:
        self.formula = Formula(chosen.expr, problem.variables)
        self.r2 = float(chosen.r2)
        self.rmse = float(chosen.rmse)
        self.source = chosen.source
        self.target = problem.target
        self.model = model
        self.seconds = float(seconds)
        self.history = history if history is not None else pd.DataFrame()
        self.diagnostics = dict(diagnostics or {})
        self.notes = list(problem.notes)
        self.dropped_columns: list[str] = []
        self.units: dict[str, str] = {}
        self.constant_units: list[dict] = []
        rows = []
        for row in front:
            f = Formula(row.pop("expr"), problem.variables)
            rows.append({**row, "formula": f.to_dict()["formula"], "latex": f.latex()})
        self.pareto = pd.DataFrame(
            rows, columns=["complexity", "rmse", "r2", "score", "exact", "source", "chosen", "formula", "latex"]
        )

    # ------------------------------------------------------------------ use
    @property
    def complexity(self) -> int:
        return self.formula.complexity

    def latex(self) -> str:
        """The law as LaTeX, ``target = formula``."""
        from ..formula import latex_name, sanitize_name

        return f"{latex_name(sanitize_name(self.target))} = {self.formula.latex()}"

    @property
    def physical_constants(self) -> dict[str, float]:
        from ..formula import physical_constants_in

        return physical_constants_in(self.formula.expr)

    def predict(self, data: Any) -> np.ndarray:
        """Evaluate the chosen formula on a DataFrame (by column name) or a 2-D array.

        Column names with their unit in brackets (``v [m/s]``) are read as their bare names.
        """
        if isinstance(data, pd.DataFrame):
            from ..units import split_header_units

            missing = [c for c in self.formula.variables if c not in data.columns]
            if missing:
                names, found = split_header_units([str(c) for c in data.columns])
                if found and len(set(names)) == len(names):
                    data = data.set_axis(names, axis=1)
        return self.formula.predict(data)

    def to_json(self) -> dict:
        """A JSON-ready dict (the public contract of ``kansci discover --json``)."""
        d = self.formula.to_dict()
        return {
            "target": self.target,
            "formula": d["formula"],
            "latex": d["latex"],
            "variables": d["variables"],
            "r2": _num(self.r2),
            "rmse": _num(self.rmse),
            "complexity": int(d["complexity"]),
            "seconds": _num(self.seconds),
            "source": self.source,
            "pareto": [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.pareto.to_dict(orient="records")
            ],
            "diagnostics": {k: (_num(v) if isinstance(v, float) else v) for k, v in self.diagnostics.items()},
            "notes": self.notes,
            "dropped_columns": list(self.dropped_columns),
            "physical_constants": d.get("constants", {}),
            "units": dict(self.units),
            "constant_units": [{k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                               for row in self.constant_units],
        }

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return f"Discovery({self.target} = {self.formula}, r2={self.r2:.6g}, complexity={self.complexity})"

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def _repr_html_(self) -> str:
        from .._display import summary_html

        return summary_html(self.latex(), r2=self.r2, rmse=self.rmse, complexity=self.complexity,
                            seconds=self.seconds, pareto=self.pareto)


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None
