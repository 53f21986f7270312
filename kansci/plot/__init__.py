"""Plots with matplotlib's object API: each returns a Figure, accepts ``ax`` and writes no file.

- :func:`plot_network`: the KAN, each edge drawn with its learned shape, weighted by importance;
- :func:`plot_edge`: one edge's spline with its symbolic fit overlaid;
- :func:`plot_pareto`: held-out error against complexity of a discovery's formulas;
- :func:`plot_history`: a KAN's training losses, or the stages of a discovery;
- :func:`plot_tree`: the structure of a discovered law (``Discovery.tree``).
"""

from ._edge import plot_edge as plot_edge
from ._history import plot_history as plot_history
from ._network import plot_network as plot_network
from ._pareto import plot_pareto as plot_pareto
from ._tree import plot_tree as plot_tree

__all__ = ["plot_edge", "plot_history", "plot_network", "plot_pareto", "plot_tree"]
