"""Which edges, nodes and inputs survive: thresholds, dead-node cleanup, a path to every output.

A plan is computed on the original model's indices and applied by :func:`compact`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from ._scores import Attribution

__all__ = ["PrunePlan", "check_shapes", "plan_pruning"]

log = logging.getLogger("kansci")


@dataclass
class PrunePlan:
    """Survivors of a pruning, on the original model's indices.

    Attributes
    ----------
    nodes : per node layer (inputs first, outputs last), a bool tensor ``(width,)``.
    edges : per layer, a bool tensor ``(in, out)``; an edge survives only with both its nodes.
    forced_outputs : outputs that had no surviving path and got their strongest one back.
    """

    nodes: list[torch.Tensor]
    edges: list[torch.Tensor]
    forced_outputs: list[int]

    @property
    def width(self) -> list[int]:
        return [int(n.sum()) for n in self.nodes]

    @property
    def n_edges(self) -> int:
        return int(sum(int(e.sum()) for e in self.edges))

    def kept_indices(self, layer: int) -> list[int]:
        """Original indices of the surviving nodes of node layer ``layer``."""
        return torch.nonzero(self.nodes[layer]).flatten().tolist()


def check_shapes(model, edge_tensors: list[torch.Tensor], what: str) -> None:
    """Raise when per-layer ``(in, out)`` tensors do not match ``model``'s width."""
    shapes = [tuple(t.shape) for t in edge_tensors]
    expected = [(layer.in_dim, layer.out_dim) for layer in model.layers]
    if shapes != expected:
        raise ValueError(
            f"the {what} has layer shapes {shapes} but the model has {expected} (width {model.width}); "
            "compute it for this model (attribution(model, X))"
        )


def _live_edges(model) -> list[torch.Tensor]:
    return [layer.mask.detach().cpu() > 0 for layer in model.layers]


def _cleanup(nodes: list[torch.Tensor], edges: list[torch.Tensor]) -> None:
    """Drop, until nothing changes, hidden nodes without inputs or outputs and inputs without outputs."""
    n_layers = len(edges)
    while True:
        changed = False
        for li in range(n_layers):
            edges[li] &= nodes[li][:, None] & nodes[li + 1][None, :]
        for ln in range(n_layers):  # node layers that have outgoing edges
            has_out = edges[ln].any(1)
            alive = nodes[ln] & has_out
            if ln > 0:
                alive &= edges[ln - 1].any(0)
            if not torch.equal(alive, nodes[ln]):
                nodes[ln] = alive
                changed = True
        if not changed:
            return


def _strongest_path(scores: list[torch.Tensor], output: int) -> list[tuple[int, int, int]]:
    """Edges ``(layer, i, j)`` of the greedy strongest path from an input to ``output``."""
    path, j = [], output
    for li in range(len(scores) - 1, -1, -1):
        i = int(torch.argmax(scores[li][:, j]))
        path.append((li, i, j))
        j = i
    return path


def plan_pruning(
    model,
    scores: Attribution,
    *,
    edge_threshold: float = 1e-2,
    node_threshold: float | None = None,
    input_threshold: float | None = None,
    warn: bool = True,
) -> PrunePlan:
    """Survivors of pruning by attribution scores.

    Hidden nodes scoring below ``node_threshold`` (default ``edge_threshold``), inputs below
    ``input_threshold`` (default ``node_threshold``) and edges below ``edge_threshold`` go;
    then hidden nodes left without incoming or outgoing edges and inputs left without
    outgoing edges go too.  An output left without any path gets its strongest path back
    (logged as a warning unless ``warn`` is False): the result is never an empty model.
    """
    for name, value in (("edge_threshold", edge_threshold), ("node_threshold", node_threshold),
                        ("input_threshold", input_threshold)):
        if value is not None and not value >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    check_shapes(model, scores.edge_scores, "attribution")
    node_threshold = edge_threshold if node_threshold is None else node_threshold
    input_threshold = node_threshold if input_threshold is None else input_threshold
    n_node_layers = len(scores.node_scores)
    nodes = []
    for ln, ns in enumerate(scores.node_scores):
        if ln == n_node_layers - 1:
            nodes.append(torch.ones_like(ns, dtype=torch.bool))
        else:
            nodes.append(ns >= (input_threshold if ln == 0 else node_threshold))
    live = _live_edges(model)
    edges = [(es >= edge_threshold) & lv for es, lv in zip(scores.edge_scores, live)]
    _cleanup(nodes, edges)

    forced = [j for j in range(len(nodes[-1])) if not edges[-1][:, j].any()]
    for j in forced:
        for li, i, jj in _strongest_path(scores.edge_scores, j):
            edges[li][i, jj] = True
            nodes[li][i] = True
            nodes[li + 1][jj] = True
        (log.warning if warn else log.debug)(
            "pruning: output %r had no edge above the thresholds; kept its strongest path",
            scores.names[-1][j],
        )
    return PrunePlan(nodes=nodes, edges=edges, forced_outputs=forced)
