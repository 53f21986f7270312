"""The result of :func:`kansci.discover`."""

from __future__ import annotations

import logging
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
        The stages run: stage, seconds, candidates, best_rmse, note, chosen (the stage that
        produced the chosen formula).
    provenance : dict
        How the chosen formula was found: ``stage``, and for the KAN stages what the KAN
        contributed (the surrogate's shape and error, the tree of splits, reductions and
        leaves of the decomposition; the pruned network and its snapped edges).
    r2, rmse : float
        Of the chosen formula on the held-out rows.
    constants : DataFrame
        Each constant of the formula: name (c0, c1, ...), value, std_error, lower and upper
        (95 % interval), recognised (the closed form that replaced a fitted value, or None),
        fitted (the value it replaced) and in_interval (whether the closed form lies in the
        fitted value's interval).
    noise : float
        The estimated noise standard deviation of the target (its units); ``noise_estimate``
        says how it was estimated.
    chi2_dof : float
        Chi-square per degree of freedom of the formula with error bars (``sigma=``), else NaN.
    seconds : float
    target : str
    diagnostics : dict
    tree : LawTree
        The structure of the law: the decomposition's tree of operations (splits, transforms,
        symmetries, leaves, each with its inputs and fit error), or, when another stage found
        the law, a plain statement saying so with the parts of its formula.
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
                 seconds: float = math.nan, diagnostics: dict | None = None, noise=None,
                 until: float | None = None) -> None:
        from ._constants import chi2_per_dof, constants_table

        self.formula = Formula(chosen.expr, problem.variables)
        self.r2 = float(chosen.r2)
        self.rmse = float(chosen.rmse)
        self.source = chosen.source
        self.provenance = dict(chosen.notes.get("provenance") or {"stage": chosen.source.split("+")[0]})
        self.provenance.setdefault("source", chosen.source)
        self.target = problem.target
        self.model = model
        self.seconds = float(seconds)
        self.history = history if history is not None else pd.DataFrame()
        self.diagnostics = dict(diagnostics or {})
        self.notes = list(problem.notes)
        self.tree = _tree(chosen, problem, str(self.formula))
        self.noise_estimate = noise
        self.noise = float(noise.sigma) if noise is not None else math.nan
        self.chi2_dof = chi2_per_dof(chosen, problem)
        self.constants = constants_table(chosen, problem, until=until)
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
            "provenance": _jsonable(self.provenance),
            "pareto": [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.pareto.to_dict(orient="records")
            ],
            "diagnostics": {k: (_num(v) if isinstance(v, float) else v) for k, v in self.diagnostics.items()},
            "notes": self.notes,
            "constants": [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.constants.to_dict(orient="records")
            ],
            "noise": self.noise_estimate.to_dict() if self.noise_estimate is not None else None,
            "chi2_dof": _num(self.chi2_dof),
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

        body = summary_html(self.latex(), r2=self.r2, rmse=self.rmse, complexity=self.complexity,
                            seconds=self.seconds, pareto=self.pareto, constants=self.constants,
                            noise=self.noise, chi2_dof=self.chi2_dof)
        if self.tree is None:
            return body
        return body + f"<details open><summary>structure of the law</summary>{self.tree._repr_html_()}</details>"

    def uncertainty_lines(self) -> list[str]:
        """The noise level, chi2/dof and ``c0 = value ± std error`` lines, for printing."""
        from ._constants import format_constant

        lines = []
        if self.noise_estimate is not None:
            how = {"best_formula": "the best formula's held-out error",
                   "surrogate": "the KAN surrogate's held-out error",
                   "neighbours": "nearest neighbours"}.get(self.noise_estimate.method)
            lines.append(f"noise: {self.noise:.3g} (estimated from {how})" if how
                         else f"noise: error bars (RMS {self.noise:.3g})")
        if math.isfinite(self.chi2_dof):
            lines.append(f"chi2/dof = {self.chi2_dof:.3g}")
        lines += [format_constant(row) for row in self.constants.to_dict(orient="records")]
        return lines


def _tree(chosen, problem, formula: str):
    from ._tree import law_tree

    try:
        return law_tree(chosen, problem.variables, problem.target, formula)
    except Exception as exc:  # the tree is a view; a law without one is still a law
        logging.getLogger("kansci").debug("no tree for %s: %s", formula, exc)
        return None


def _jsonable(v):
    """Dicts, lists, strings and finite numbers only (what ``json.dump`` writes)."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _num(v)
    return str(v)


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None
