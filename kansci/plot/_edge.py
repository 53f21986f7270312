"""One edge of a KAN: its learned spline with the symbolic fit overlaid."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import figure_and_axes, model_of, sample_inputs, short

__all__ = ["plot_edge"]


def _rounded(expr: sympy.Basic, digits: int = 4) -> str:
    floats = expr.atoms(sympy.Float)
    return sympy.sstr(expr.xreplace({f: sympy.Float(f, digits) for f in floats}) if floats else expr)


def _r2(y: np.ndarray, f: np.ndarray) -> float:
    ok = np.isfinite(y) & np.isfinite(f)
    if ok.sum() < 2:
        return float("nan")
    ss_tot = float(np.sum((y[ok] - y[ok].mean()) ** 2))
    ss_res = float(np.sum((y[ok] - f[ok]) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)


def plot_edge(
    model: Any,
    layer: int,
    i: int,
    j: int,
    X: Any = None,
    *,
    ax: Axes | None = None,
    fit: Any = None,
    library: Any = None,
    suggest: bool = True,
    n_points: int = 400,
    seed: int = 0,
) -> Figure:
    """Plot edge ``i -> j`` of ``layer``: the learned spline and a symbolic fit over it.

    A snapped edge shows its primitive ``c*f(a*x+b)+d``; otherwise the best candidate of
    ``library`` (:func:`kansci.symbolic.best_fit`) is overlaid dashed, unless ``suggest=False``.

    Parameters
    ----------
    model : KAN, Discovery or fitted KANRegressor.
    layer, i, j : the edge.
    X : model inputs (n, n_in); default: ``n_points`` uniform points in the grid range (``seed``).
    ax : draw here; by default a new Figure.
    fit : an :class:`~kansci.symbolic.AffineFit` to overlay instead of the edge's own.
    library : primitives for the suggestion (default library).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..symbolic import best_fit, edge_data
    from ..symbolic._model import node_names

    model, default_in, default_out = model_of(model)
    data = sample_inputs(model, X, n=n_points, seed=seed)
    x, spline = edge_data(model, data, layer, i, j, spline=True)
    order = np.argsort(x, kind="stable")
    x, spline = x[order], spline[order]
    names = node_names(model)
    if default_in:
        names[0] = default_in
    if default_out:
        names[-1] = default_out
    src, dst = names[layer][i], names[layer + 1][j]

    fig, ax = figure_and_axes(ax, (5.0, 3.4))
    ax.plot(x, spline, color="0.15", linewidth=2.2, label="spline")
    prim = model.layers[layer].symbolic_edges().get((i, j))
    if fit is None and prim is not None:
        a, b, c, d = (float(v) for v in model.layers[layer].sym_affine[i, j].detach().cpu())
        _, sym = edge_data(model, data, layer, i, j)
        sym = sym[order]
        text = _rounded(prim.formula(a, b, c, d, sympy.Symbol("x")))
        ax.plot(x, sym, color="tab:red", linewidth=1.4, label=f"snapped: {short(text, 48)}")
        ax.set_title(f"{prim.name} (R\u00b2 vs spline {_r2(spline, sym):.6f})", fontsize=10)
    elif fit is not None or suggest:
        chosen = fit if fit is not None else best_fit(x, spline, library)
        if chosen.ok and chosen.function is not None:
            with np.errstate(all="ignore"):
                values = chosen.predict(x)
            text = _rounded(chosen.formula(sympy.Symbol("x")))
            ax.plot(x, values, color="tab:blue", linewidth=1.4, linestyle="--",
                    label=f"{'fit' if fit is not None else 'best fit'}: {short(text, 48)}")
            ax.set_title(f"{chosen.primitive} (R\u00b2 {_r2(spline, values):.6f}), not snapped", fontsize=10)
    ax.set_xlabel(f"{src} (input of layer {layer})")
    ax.set_ylabel(f"edge {src} \u2192 {dst}")
    ax.legend(fontsize=8, loc="best")
    return fig
