"""Training history of a KAN, or the stages of a discovery."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import figure_and_axes

__all__ = ["plot_history"]


def _history(obj: Any) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    if hasattr(obj, "_check_fitted"):
        obj._check_fitted("plot_history")
        obj = obj.discovery_
    table = getattr(obj, "history", None)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a fit history DataFrame, a Discovery or a fitted KANRegressor, got "
                        f"{type(obj).__name__}")
    return table


def _positive(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, float)
    ok = np.isfinite(values) & (values > 0)
    return np.where(ok, values, np.nan)


def _fit_history(table: pd.DataFrame, ax: Axes) -> None:
    step = table["step"].to_numpy(float) if "step" in table else np.arange(len(table), dtype=float)
    for column, style in (("train_loss", "-"), ("val_loss", "-"), ("reg", ":")):
        if column in table and np.isfinite(_positive(table[column])).any():
            ax.plot(step, _positive(table[column]), style, label=column.replace("_", " "))
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("training history", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _stage_history(table: pd.DataFrame, ax: Axes) -> None:
    """A Gantt chart of the stages, each labelled with its formulas and the best error after it."""
    seconds = table["seconds"].to_numpy(float)
    start = np.cumsum(seconds) - seconds
    rows = np.arange(len(table))
    ax.barh(rows, seconds, left=start, height=0.6, color="tab:blue", alpha=0.7)
    total = max(float(start[-1] + seconds[-1]), 1e-3)
    for k in rows:
        parts = []
        if "candidates" in table:
            parts.append(f"{int(table['candidates'].iloc[k])} formulas")
        if "best_rmse" in table and np.isfinite(float(table["best_rmse"].iloc[k])):
            parts.append(f"best RMSE {float(table['best_rmse'].iloc[k]):.3g}")
        ax.text(start[k] + seconds[k] + 0.01 * total, k, ", ".join(parts), va="center", fontsize=7)
    ax.set_yticks(rows, [str(v) for v in table["stage"]])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.45 * total)
    ax.set_xlabel("seconds")
    ax.set_title("discovery stages", fontsize=10)


def plot_history(history: Any, ax: Axes | None = None) -> Figure:
    """Plot a KAN's training losses, or the stages of a discovery with the best error after each.

    Parameters
    ----------
    history : the DataFrame returned by ``KAN.fit`` (step, train_loss, val_loss, reg, ...), a
        Discovery or fitted KANRegressor (their stage history: stage, seconds, best_rmse, ...).
    ax : draw here; by default a new Figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = _history(history)
    fig, ax = figure_and_axes(ax, (5.5, 3.4))
    if table.empty:
        ax.text(0.5, 0.5, "empty history", ha="center", va="center", transform=ax.transAxes)
    elif "train_loss" in table:
        _fit_history(table, ax)
    elif {"stage", "seconds"} <= set(table.columns):
        _stage_history(table, ax)
    else:
        raise ValueError(f"unknown history table with columns {list(table.columns)}; expected train_loss "
                         "(KAN.fit) or stage and seconds (Discovery.history)")
    return fig
