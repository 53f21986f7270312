"""The network diagram: nodes in columns, every live edge with a sparkline of its learned shape.

Symbolic edges are red and labelled with their primitive (``sin``, ``x^2``) beside their box;
the legend on the right gives each one's formula with its affine constants, and tells the
colours of symbolic and spline edges apart.  The figure grows with the widest layer and the
number of boxes, so that names and labels do not overlap (checked for 10 inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ._common import figure_and_axes, model_of, sample_inputs, short

__all__ = ["plot_network"]

_SPLINE, _SYMBOLIC = "0.15", "tab:red"


@dataclass
class _Edge:
    layer: int
    i: int
    j: int
    score: float  # normalised to the largest score of its layer
    x: np.ndarray  # sorted inputs of the edge
    y: np.ndarray  # its outputs
    primitive: str | None
    formula: str | None = None  # c*f(a*x+b)+d with its constants, in the source node's name


def _edges(model, X: np.ndarray, names: list[list[str]]) -> list[_Edge]:
    from ..prune import attribution

    tensor = torch.as_tensor(X, dtype=model.dtype, device=model.device)
    scores = attribution(model, tensor, sample=None).edge_scores
    with torch.no_grad():
        hidden = model.layer_inputs(tensor)
        acts = model.edge_activations(tensor)
    out = []
    for li, layer in enumerate(model.layers):
        live = (layer.mask != 0).cpu().numpy()
        sc = scores[li].double().cpu().numpy()
        top = float(sc[live].max()) if live.any() else 0.0
        symbolic = layer.symbolic_edges()
        affine = layer.sym_affine.detach().double().cpu().numpy()
        h = hidden[li].double().cpu().numpy()
        a = acts[li].double().cpu().numpy()
        for i, j in zip(*np.nonzero(live)):
            order = np.argsort(h[:, i], kind="stable")
            prim = symbolic.get((int(i), int(j)))
            s = float(sc[i, j]) / top if top > 0 and math.isfinite(sc[i, j]) else 0.0
            out.append(_Edge(li, int(i), int(j), s, h[order, i], a[order, i, j],
                             None if prim is None else str(prim.name),
                             None if prim is None else _formula(prim, affine[i, j], names[li][i])))
    return out


def _formula(prim, affine, source: str) -> str:
    """``c*f(a*x+b)+d`` in the source node's name, constants at 4 significant digits."""
    import sympy

    from ._edge import _rounded

    try:
        return _rounded(prim.formula(*(float(v) for v in affine), symbol=sympy.Symbol(source)))
    except Exception:  # a primitive without a sympy form: its name and constants
        a, b, c, d = (float(v) for v in affine)
        return f"{c:.4g}*{prim.name}({a:.4g}*{source} + {b:.4g}) + {d:.4g}"


def _boxed(edges: list[_Edge], limit: int) -> list[_Edge]:
    """The edges that get a sparkline: symbolic ones first, then the best scored, in (i, j) order."""
    if len(edges) <= limit:
        return list(edges)
    best = sorted(range(len(edges)), key=lambda k: (edges[k].primitive is None, -edges[k].score))[: max(limit, 0)]
    return [edges[k] for k in sorted(best)]


def _node_y(width: int) -> np.ndarray:
    return 1.0 - (np.arange(width) + 0.5) / width


def _sparkline(ax: Axes, e: _Edge, cx: float, cy: float, w: float, h: float, alpha: float) -> None:
    """The edge's function drawn inside a ``w`` x ``h`` box centred at ``(cx, cy)``."""
    ax.add_patch(Rectangle((cx - w / 2, cy - h / 2), w, h, facecolor="white", edgecolor="0.6",
                           linewidth=0.5, zorder=3))
    x, y = e.x, e.y
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return
    x, y = x[ok], y[ok]
    xs = (x - x.min()) / (np.ptp(x) or 1.0) - 0.5
    span = np.ptp(y)
    ys = (y - y.min()) / span - 0.5 if span > 1e-12 * max(1.0, float(np.abs(y).max())) else np.zeros_like(y)
    color = _SYMBOLIC if e.primitive else _SPLINE
    ax.plot(cx + 0.85 * w * xs, cy + 0.8 * h * ys, color=color, linewidth=0.9, alpha=alpha, zorder=4)


def plot_network(
    model: Any,
    X: Any = None,
    *,
    ax: Axes | None = None,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    sparklines: bool = True,
    max_sparklines: int = 30,
    n_points: int = 400,
    seed: int = 0,
    title: str | None = None,
    legend: bool = True,
) -> Figure:
    """Draw a KAN: nodes per layer in columns, each live edge with a sparkline of its function.

    Line width and opacity follow the edge's attribution score (:func:`kansci.prune.attribution`,
    normalised per layer); snapped edges are red and labelled with their primitive (``sin``,
    ``x^2``) beside their box, with their formula and constants ``c*f(a*x+b)+d`` in the legend;
    spline edges are dark grey; pruned edges are not drawn. Inputs are named on the left,
    outputs on the right. The figure's height grows with the widest layer and the number of
    boxes, so that the labels do not overlap.

    Parameters
    ----------
    model : KAN, Discovery or fitted KANRegressor (their KAN surrogate is drawn).
    X : inputs in the model's coordinates (n, n_in), for the scores and sparklines; by default
        ``n_points`` points drawn uniformly (with ``seed``) from the first layer's grid range.
    ax : draw here; by default a new Figure.
    input_names, output_names : labels to show instead of the model's.
    sparklines : draw each edge's shape in a small box, stacked between the layers (grouped by
        source node).
    max_sparklines : at most this many boxes per layer, for the symbolic and then the
        highest-scoring edges; the other live edges are drawn as plain lines (keeps wide layers
        such as [6, 10, 1] readable). Only edges with a box are labelled on the plot.
    legend : list the symbolic edges' formulas and the colour key to the right of the diagram.
    title : the axes title (default: the width).

    Returns
    -------
    matplotlib.figure.Figure
    """
    model, default_in, default_out = model_of(model)
    names_in = list(input_names or default_in or model.input_names)
    names_out = list(output_names or default_out or model.output_names)
    if len(names_in) != model.width[0] or len(names_out) != model.width[-1]:
        raise ValueError(f"expected {model.width[0]} input and {model.width[-1]} output names, got "
                         f"{len(names_in)} and {len(names_out)}")
    data = sample_inputs(model, X, n=n_points, seed=seed)
    from ..symbolic._model import node_names

    names = node_names(model)
    names[0], names[-1] = names_in, names_out
    edges = _edges(model, data, names)
    n_layers = len(model.layers)
    per_layer = [[e for e in edges if e.layer == li] for li in range(n_layers)]
    most = max((min(len(p), max_sparklines) for p in per_layer), default=1) if sparklines else 4
    longest = max(len(n) for n in names_in + names_out)
    pad = 0.15 + 0.045 * min(longest, 24)
    rows = max(most, max(model.width))  # boxes or nodes stacked in one column
    fig, ax = figure_and_axes(ax, (2.4 * n_layers + 2.0 * pad + 1.0, max(2.6, 0.3 * rows + 1.0)))

    node_y = [_node_y(w) for w in model.width]
    segments, widths, colors = [], [], []
    for li, layer_edges in enumerate(per_layer):
        boxed = _boxed(layer_edges, max_sparklines if sparklines else 0)
        m = len(boxed)
        bw, bh = 0.3, min(0.8 / max(m, 1), 0.22, 0.45 / fig.get_figheight())  # at most ~0.45 inch tall
        slot = {id(e): b for b, e in enumerate(boxed)}
        for e in layer_edges:
            alpha = 0.15 + 0.85 * e.score
            rgba = _rgba(_SYMBOLIC if e.primitive else _SPLINE, alpha)
            src, dst = (li, node_y[li][e.i]), (li + 1, node_y[li + 1][e.j])
            widths += [0.4 + 2.6 * e.score] * 2
            colors += [rgba, rgba]
            b = slot.get(id(e))
            if b is None:  # no box: a straight line, the label at its middle
                cx, cy, top = li + 0.5, (src[1] + dst[1]) / 2, 0.0
                segments += [[src, (cx, cy)], [(cx, cy), dst]]
            else:
                cx, cy, top = li + 0.5, 1.0 - (b + 0.5) / m, bh / 2
                segments += [[src, (cx - bw / 2, cy)], [(cx + bw / 2, cy), dst]]
                _sparkline(ax, e, cx, cy, bw, bh, max(alpha, 0.35))
            if e.primitive and b is not None:  # beside its box: one label per row, no overlap
                ax.text(cx + bw / 2 + 0.02, cy, short(e.primitive, 10), fontsize=6.5, color=_SYMBOLIC,
                        ha="left", va="center", zorder=5,
                        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none",
                              "alpha": 0.8})
            elif e.primitive and not sparklines:
                ax.text(cx, cy, short(e.primitive, 10), fontsize=6.5, color=_SYMBOLIC, ha="center",
                        va="center", zorder=5,
                        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none",
                              "alpha": 0.8})
    ax.add_collection(LineCollection(segments, linewidths=widths, colors=colors, zorder=1, capstyle="round"))

    for col, (ys, w) in enumerate(zip(node_y, model.width)):
        edge = col in (0, n_layers)
        ax.scatter(np.full(w, col), ys, s=45 if edge else 30, zorder=6, edgecolors="black", linewidths=0.8,
                   facecolors="0.25" if edge else "white")
    for name, y in zip(names_in, node_y[0]):
        ax.text(-0.08, y, short(name, 24), ha="right", va="center", fontsize=9)
    for name, y in zip(names_out, node_y[-1]):
        ax.text(n_layers + 0.08, y, short(name, 24), ha="left", va="center", fontsize=9)
    ax.set_xlim(-pad, n_layers + pad)
    ax.set_ylim(-0.03, 1.03)
    ax.set_axis_off()
    ax.set_title(title if title is not None else f"KAN {list(model.width)}", fontsize=10)
    if legend:
        _legend(ax, edges, names)
    return fig


def _legend(ax: Axes, edges: list[_Edge], names: list[list[str]], max_rows: int = 24) -> None:
    """Colour key and, per symbolic edge, ``source -> target: formula`` with its constants."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=_SYMBOLIC, linewidth=2), Line2D([], [], color=_SPLINE, linewidth=2)]
    labels = ["symbolic edge", "spline edge"]
    symbolic = [e for e in edges if e.primitive]
    for e in symbolic[:max_rows]:
        handles.append(Line2D([], [], color="none"))
        labels.append(f"{short(names[e.layer][e.i], 12)} \u2192 {short(names[e.layer + 1][e.j], 12)}: "
                      f"{short(e.formula or e.primitive, 48)}")
    if len(symbolic) > max_rows:
        handles.append(Line2D([], [], color="none"))
        labels.append(f"... and {len(symbolic) - max_rows} more symbolic edges")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
              handlelength=1.2, borderaxespad=0.2)


def _rgba(color: str, alpha: float) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(color, alpha)
