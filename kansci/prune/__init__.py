"""Pruning: from a trained, regularised KAN to the smallest network that still fits.

- :func:`attribution`: edge, node and input scores (KAN 2.0's attribution, from the spread of
  every edge's output on data) as labelled DataFrames;
- :func:`prune`: a new, smaller KAN without what scores below the thresholds; each removed
  part's mean is folded into the bias of the node it fed, so no constant offset is left;
- :func:`prune_auto`: thresholds chosen by the trade-off between fit and edge count, then a
  retrain; returns the model and a :class:`PruneReport`;
- :func:`train_sparse`: the regularised fit on the standardised target that prepares a KAN for
  pruning; :func:`centre_outputs` sets the output biases to the least-squares offset;
- :func:`plan_pruning` / :func:`compact`: the two halves of :func:`prune`, to hand-edit a plan.
"""

from ._auto import PruneReport as PruneReport
from ._auto import prune_auto as prune_auto
from ._compact import compact as compact
from ._plan import PrunePlan as PrunePlan
from ._plan import plan_pruning as plan_pruning
from ._prune import prune as prune
from ._recipe import centre_outputs as centre_outputs
from ._recipe import train_sparse as train_sparse
from ._scores import Attribution as Attribution
from ._scores import attribution as attribution

__all__ = [
    "Attribution",
    "PrunePlan",
    "PruneReport",
    "attribution",
    "centre_outputs",
    "compact",
    "plan_pruning",
    "prune",
    "prune_auto",
    "train_sparse",
]
