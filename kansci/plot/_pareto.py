"""The Pareto front: held-out error against complexity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import figure_and_axes, short

__all__ = ["plot_pareto"]


def _table(obj: Any) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        table = obj
    elif hasattr(obj, "equations_"):
        table = obj.equations_
    elif hasattr(obj, "pareto"):
        table = obj.pareto
    else:
        if hasattr(obj, "_check_fitted"):
            obj._check_fitted("plot_pareto")
        raise TypeError(f"expected a Discovery, a fitted KANRegressor or a Pareto DataFrame, got "
                        f"{type(obj).__name__}")
    missing = {"complexity", "rmse"} - set(table.columns)
    if missing:
        raise ValueError(f"the Pareto table lacks column(s) {sorted(missing)}; it has {list(table.columns)}")
    return table.sort_values("complexity", kind="stable")


def _label(formula: str, latex: str | None, width: int) -> str:
    """Mathtext of the LaTeX when matplotlib can render it and it is short, else the plain formula."""
    if latex and len(formula) <= width:
        from matplotlib.mathtext import MathTextParser

        try:
            MathTextParser("path").parse(f"${latex}$")
            return f"${latex}$"
        except ValueError:
            pass
    return short(formula, width)


def plot_pareto(
    discovery: Any,
    ax: Axes | None = None,
    *,
    annotate: bool | str = True,
    width: int = 40,
) -> Figure:
    """Plot held-out RMSE against complexity (log error axis), the chosen formula starred.

    Parameters
    ----------
    discovery : Discovery, fitted KANRegressor, or a DataFrame with ``complexity`` and ``rmse``
        (and optionally ``chosen``, ``exact``, ``formula``).
    ax : draw here; by default a new Figure.
    annotate : True labels the chosen formula, ``"all"`` every point, False none.
    width : longest label shown (characters).

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = _table(discovery)
    fig, ax = figure_and_axes(ax, (5.5, 3.6))
    if table.empty:
        ax.text(0.5, 0.5, "empty Pareto front", ha="center", va="center", transform=ax.transAxes)
        return fig
    cx = table["complexity"].to_numpy(float)
    err = table["rmse"].to_numpy(float)
    positive = err[np.isfinite(err) & (err > 0)]
    floor = positive.min() / 10 if positive.size else 1e-16
    shown = np.where(np.isfinite(err) & (err > 0), err, floor)  # exact zeros sit on the floor
    chosen = table["chosen"].to_numpy(bool) if "chosen" in table else np.zeros(len(table), bool)
    exact = table["exact"].to_numpy(bool) if "exact" in table else np.zeros(len(table), bool)
    formulas = table["formula"].astype(str).to_numpy() if "formula" in table else [""] * len(table)
    latex = table["latex"].astype(str).to_numpy() if "latex" in table else [None] * len(table)

    front = np.minimum.accumulate(shown)  # the chosen formula may sit above the front
    ax.step(cx, front, where="post", color="0.6", linewidth=1, zorder=1)
    ax.scatter(cx[exact], shown[exact], color="tab:blue", s=30, zorder=2, label="exact constants")
    ax.scatter(cx[~exact], shown[~exact], facecolors="white", edgecolors="tab:blue", s=30, zorder=2,
               label="fitted constants")
    if chosen.any():
        ax.scatter(cx[chosen], shown[chosen], marker="*", color="tab:red", s=160, zorder=3, label="chosen")
    for k in range(len(table)):
        if annotate == "all" or (annotate and chosen[k]):
            label = _label(formulas[k], latex[k], width) + ("  (RMSE 0)" if shown[k] != err[k] else "")
            ax.annotate(label, (cx[k], shown[k]), xytext=(8, 4), textcoords="offset points", fontsize=9,
                        color="tab:red" if chosen[k] else "0.2")
    ax.set_yscale("log")
    low, high = float(np.min(shown)), float(np.max(shown))
    ax.set_ylim(low / 3, high * (30 if annotate else 3))  # room for the labels above the points
    span = float(cx.max() - cx.min()) or 1.0
    ax.set_xlim(cx.min() - 0.05 * span - 0.5, cx.max() + (0.3 if annotate else 0.05) * span + 0.5)
    ax.set_xlabel("complexity")
    ax.set_ylabel("held-out RMSE")
    ax.set_title("Pareto front", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    return fig
