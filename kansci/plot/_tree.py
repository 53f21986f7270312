"""The structure of a law drawn as a tree: one box per operation, leaves at the bottom."""

from __future__ import annotations

import textwrap
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import figure_and_axes, short

__all__ = ["plot_tree"]

_COLOURS = {"split": "tab:blue", "transform": "tab:purple", "symmetry": "tab:green", "fixed": "0.45",
            "leaf": "tab:red", "constant": "0.45", "part": "tab:brown"}


def _tree_of(obj: Any):
    tree = getattr(obj, "tree", obj)
    if tree is None or not hasattr(tree, "root"):
        raise ValueError(f"{type(obj).__name__} has no law tree; pass a kansci.Discovery or its .tree")
    return tree


def _layout(node, depth: int, next_x: list[float], out: list) -> float:
    """Leaves get x = 0, 1, 2... in order; a parent sits above the middle of its children."""
    if not node.children:
        x = next_x[0]
        next_x[0] += 1.0
    else:
        xs = [_layout(c, depth + 1, next_x, out) for c in node.children]
        x = (xs[0] + xs[-1]) / 2
    out.append((node, x, depth))
    return x


def plot_tree(obj: Any, *, ax: Axes | None = None, width: int = 30, title: str | None = None) -> Figure:
    """Draw the structure of a discovered law (``Discovery.tree``) as a tree of boxes.

    Each box shows the operation (``+``/``*`` split, transform such as ``1/f``, symmetry such
    as ``a/b``, leaf), the node's formula, its inputs and its relative fit error on the KAN
    surrogate; colours tell the kinds apart.  When the law did not come from the decomposition,
    the title says so and the boxes are the parts of its formula.

    Parameters
    ----------
    obj : Discovery or LawTree.
    ax : draw here; by default a new Figure sized to the tree.
    width : formulas longer than this many characters are shortened.
    title : the axes title (default: the law and where it came from).

    Returns
    -------
    matplotlib.figure.Figure
    """
    tree = _tree_of(obj)
    placed: list = []
    n_leaves = [0.0]
    _layout(tree.root, 0, n_leaves, placed)
    depth = max(d for _, _, d in placed)
    fig, ax = figure_and_axes(ax, (max(4.5, 2.4 * n_leaves[0] + 0.6), 1.35 * (depth + 1) + 1.0))
    where = {id(n): (x, -d) for n, x, d in placed}
    for node, x, d in placed:
        for child in node.children:
            cx, cy = where[id(child)]
            ax.plot([x, cx], [-d - 0.28, cy + 0.28], color="0.6", linewidth=1.0, zorder=1)
    for node, x, d in placed:
        colour = _COLOURS.get(node.kind, "black")
        err = "" if node.error is None else f"  err {node.error:.1e}"
        ax.text(x, -d + 0.12, node.label, ha="center", va="bottom", fontsize=10, fontweight="bold",
                color=colour, zorder=3)
        ax.text(x, -d - 0.02, short(node.formula, width), ha="center", va="center", fontsize=8,
                family="monospace", zorder=3,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": colour})
        ax.text(x, -d - 0.17, short(", ".join(node.inputs), width) + err, ha="center", va="top",
                fontsize=7, color="0.35", zorder=3)
    ax.set_xlim(-0.7, n_leaves[0] - 0.3)
    ax.set_ylim(-depth - 0.55, 0.55)
    ax.set_axis_off()
    if title is None:
        chars = max(40, int(fig.get_figwidth() * 11))
        title = f"{tree.target} = {short(tree.formula, chars)}\n" + "\n".join(textwrap.wrap(tree.summary, chars))
    ax.set_title(title, fontsize=9)
    return fig
