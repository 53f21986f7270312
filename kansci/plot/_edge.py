"""One edge of a KAN: its learned spline with the symbolic formula and the data overlaid."""

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


def _dense_spline(model, layer: int, i: int, j: int, xs: np.ndarray) -> np.ndarray:
    """The spline branch of edge ``i -> j`` evaluated at inputs ``xs`` of that layer."""
    import torch

    from ..symbolic._model import _spline_values

    module = model.layers[layer]
    h = torch.zeros(len(xs), module.in_dim, dtype=model.dtype, device=model.device)
    h[:, i] = torch.as_tensor(xs, dtype=model.dtype, device=model.device)
    with torch.no_grad():
        return _spline_values(module, h, i, j).detach().to("cpu", torch.float64).numpy()


def _partial_residuals(model, data: np.ndarray, y: Any, layer: int, i: int, j: int) -> np.ndarray | None:
    """``y - (model(x) - edge(x))`` for an edge into an output node: the data as this edge sees
    them (a partial-residual plot, as for additive models); None for edges deeper inside."""
    import torch

    from ..symbolic import edge_data

    if layer != len(model.layers) - 1 or y is None:
        return None
    target = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y, dtype=float).reshape(len(data), -1)
    with torch.no_grad():
        out = model(torch.as_tensor(data, dtype=model.dtype, device=model.device)).to("cpu", torch.float64).numpy()
    _, edge = edge_data(model, data, layer, i, j)
    return target[:, j] - (out[:, j] - edge)


def plot_edge(
    model: Any,
    layer: int,
    i: int,
    j: int,
    X: Any = None,
    y: Any = None,
    *,
    ax: Axes | None = None,
    fit: Any = None,
    library: Any = None,
    suggest: bool = True,
    n_points: int = 400,
    seed: int = 0,
) -> Figure:
    """Plot edge ``i -> j`` of ``layer``: its spline, its symbolic formula and the data.

    The spline is drawn as a curve over the edge's input range; a snapped edge shows its
    primitive ``c*f(a*x+b)+d`` (red), otherwise the best candidate of ``library``
    (:func:`kansci.symbolic.best_fit`) is overlaid dashed, unless ``suggest=False``.  The data
    are dots: with the targets ``y`` and an edge into an output node, the partial residuals
    ``y - (model(x) - edge(x))`` (what the data ask of this edge, the rest of the network
    held fixed); otherwise the edge's spline at the rows of ``X`` (where the data put its input).

    Parameters
    ----------
    model : KAN, Discovery or fitted KANRegressor.
    layer, i, j : the edge.
    X : model inputs (n, n_in); default: ``n_points`` uniform points in the grid range (``seed``).
    y : targets (n,) or (n, n_out) of the rows of ``X``, optional (for the partial residuals).
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
    module = model.layers[layer]
    lo = min(float(module.grid_lo[i]), float(x.min()))
    hi = max(float(module.grid_hi[i]), float(x.max()))
    xs = np.linspace(lo, hi, 400)
    dense = _dense_spline(model, layer, i, j, xs)
    names = node_names(model)
    if default_in:
        names[0] = default_in
    if default_out:
        names[-1] = default_out
    src, dst = names[layer][i], names[layer + 1][j]

    fig, ax = figure_and_axes(ax, (5.0, 3.4))
    ax.plot(xs, dense, color="0.15", linewidth=2.2, label="spline")
    residuals = _partial_residuals(model, data, y, layer, i, j)
    if residuals is not None:
        ax.scatter(x, residuals[order], s=6, color="tab:blue", alpha=0.35, linewidths=0, zorder=1,
                   label=f"data: partial residuals ({len(x)} rows)")
    elif X is not None:
        ax.scatter(x, spline, s=6, color="tab:blue", alpha=0.5, linewidths=0, zorder=3,
                   label=f"data: {len(x)} rows")
    prim = module.symbolic_edges().get((i, j))
    if fit is None and prim is not None:
        a, b, c, d = (float(v) for v in module.sym_affine[i, j].detach().cpu())
        with np.errstate(all="ignore"):
            sym = c * prim.numpy(a * xs + b) + d
            at_data = c * prim.numpy(a * x + b) + d
        text = _rounded(prim.formula(a, b, c, d, sympy.Symbol("x")))
        ax.plot(xs, sym, color="tab:red", linewidth=1.4, label=f"snapped: {short(text, 48)}")
        ax.set_title(f"{prim.name} (R\u00b2 vs spline {_r2(spline, at_data):.6f})", fontsize=10)
    elif fit is not None or suggest:
        chosen = fit if fit is not None else best_fit(x, spline, library)
        if chosen.ok and chosen.function is not None:
            with np.errstate(all="ignore"):
                values = chosen.predict(xs)
                at_data = chosen.predict(x)
            text = _rounded(chosen.formula(sympy.Symbol("x")))
            ax.plot(xs, values, color="tab:blue", linewidth=1.4, linestyle="--",
                    label=f"{'fit' if fit is not None else 'best fit'}: {short(text, 48)}")
            ax.set_title(f"{chosen.primitive} (R\u00b2 {_r2(spline, at_data):.6f}), not snapped", fontsize=10)
    ax.set_xlabel(f"{src} (input of layer {layer})")
    ax.set_ylabel(f"edge {src} \u2192 {dst}")
    ax.legend(fontsize=8, loc="best")
    return fig
