"""Attribution scores of edges, nodes and inputs, computed from activations on data.

The scores follow KAN 2.0's attribution.  Every output node has importance 1.  Going back
from the outputs, edge ``i -> j`` of layer ``l`` gets

    edge_score[l][i, j] = std(phi_ij) / std(node j) * node_score[l+1][j]

(the edge's share of the spread of the node it feeds, times that node's importance) and a
node's importance is the sum of its outgoing edge scores.  The input scores are the
importances of the input nodes.  The spread is the standard deviation of the edge output
over the data, not its mean absolute value: a constant edge scores 0, which is what pruning
wants, because a removed edge's mean is folded into the bias of the node it fed.

A node whose spread is zero (a constant output, say) uses ``1e-3`` times the sum of its
incoming edge spreads as denominator, so that cancelling edges get large but finite scores;
when every incoming edge is constant too, they all score 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from .._arrays import as_matrix

__all__ = ["Attribution", "attribution", "edge_spreads", "node_names", "subsample"]

_REL_FLOOR = 1e-3


def node_names(model) -> list[list[str]]:
    """Labels of every node layer: input names, ``h{l}.{i}`` for hidden nodes, output names."""
    names = [list(model.input_names)]
    for l_node in range(1, len(model.width) - 1):
        names.append([f"h{l_node}.{i}" for i in range(model.width[l_node])])
    names.append(list(model.output_names))
    return names


def subsample(x: torch.Tensor, n: int | None, seed: int) -> torch.Tensor:
    """At most ``n`` rows of ``x``, drawn without replacement by a private generator."""
    if n is None or x.shape[0] <= n:
        return x
    gen = torch.Generator().manual_seed(int(seed))
    idx = torch.randperm(x.shape[0], generator=gen)[: int(n)]
    return x[idx.to(x.device)]


@dataclass
class Attribution:
    """Attribution scores of a KAN on some data.

    Attributes
    ----------
    edge_scores : per layer, an ``(in, out)`` tensor of edge scores.
    node_scores : per node layer (inputs first, outputs last), a ``(width,)`` tensor.
    edge_std : per layer, the ``(in, out)`` standard deviation of every edge's output.
    names : per node layer, the node labels (see :func:`node_names`).
    """

    edge_scores: list[torch.Tensor]
    node_scores: list[torch.Tensor]
    edge_std: list[torch.Tensor]
    names: list[list[str]]

    @property
    def edges(self) -> pd.DataFrame:
        """One row per edge: layer, i, j, from, to, std, score."""
        rows = []
        for li, (sc, sd) in enumerate(zip(self.edge_scores, self.edge_std)):
            for i in range(sc.shape[0]):
                for j in range(sc.shape[1]):
                    rows.append((li, i, j, self.names[li][i], self.names[li + 1][j], float(sd[i, j]), float(sc[i, j])))
        return pd.DataFrame(rows, columns=["layer", "i", "j", "from", "to", "std", "score"])

    @property
    def nodes(self) -> pd.DataFrame:
        """One row per node: layer (0 = inputs), node, name, score."""
        rows = [
            (li, i, self.names[li][i], float(s))
            for li, sc in enumerate(self.node_scores)
            for i, s in enumerate(sc)
        ]
        return pd.DataFrame(rows, columns=["layer", "node", "name", "score"])

    @property
    def inputs(self) -> pd.DataFrame:
        """One row per input column: name, score, sorted by decreasing score."""
        df = pd.DataFrame({"name": self.names[0], "score": [float(s) for s in self.node_scores[0]]})
        return df.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


@torch.no_grad()
def edge_spreads(model, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer: the std of every edge output ``(in, out)`` and of every node it feeds ``(out,)``."""
    acts = model.edge_activations(x)
    hidden = model.layer_inputs(x)
    edge_std = [a.std(0, correction=0) for a in acts]
    node_std = [h.std(0, correction=0) for h in hidden[1:]]
    return edge_std, node_std


@torch.no_grad()
def attribution(model, X, *, sample: int | None = 4096, seed: int = 0) -> Attribution:
    """Attribution scores of every edge, node and input of ``model`` on ``X``.

    Parameters
    ----------
    model : KAN.
    X : (n, n_in) inputs (array, DataFrame or tensor).
    sample : score on at most this many rows (drawn with ``seed``); None for all rows.
    seed : seed of the row subsample.

    Returns
    -------
    Attribution, with ``.edges``, ``.nodes`` and ``.inputs`` DataFrames.
    """
    x = as_matrix(X, "X", n_cols=model.width[0], dtype=model.dtype, device=model.device)
    x = subsample(x, sample, seed)
    edge_std, node_std = edge_spreads(model, x)
    node_scores: list[torch.Tensor] = [torch.ones(model.width[-1], dtype=model.dtype, device=model.device)]
    edge_scores: list[torch.Tensor] = []
    for li in range(len(model.layers) - 1, -1, -1):
        es, ns = edge_std[li], node_std[li]
        denom = torch.maximum(ns, _REL_FLOOR * es.sum(0))
        share = torch.where(denom > 0, es / denom.clamp_min(torch.finfo(es.dtype).tiny), torch.zeros_like(es))
        score = share * node_scores[0]
        edge_scores.insert(0, score)
        node_scores.insert(0, score.sum(1))
    return Attribution(
        edge_scores=[s.cpu() for s in edge_scores],
        node_scores=[s.cpu() for s in node_scores],
        edge_std=[s.cpu() for s in edge_std],
        names=node_names(model),
    )
