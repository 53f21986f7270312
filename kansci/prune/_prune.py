"""``prune``: attribution scores -> plan -> a smaller KAN with the removed means folded in."""

from __future__ import annotations

import logging

import torch

from .._arrays import as_matrix
from .._threads import threads_for, use_threads
from ._compact import compact
from ._plan import plan_pruning
from ._recipe import centre_outputs
from ._scores import attribution

__all__ = ["prune"]

log = logging.getLogger("kansci")


def prune(
    model,
    X,
    y=None,
    *,
    edge_threshold: float = 1e-2,
    node_threshold: float | None = None,
    input_threshold: float | None = None,
    sample: int | None = 4096,
    seed: int = 0,
    fold: bool = True,
    threads: int | str | None = "auto",
):
    """A new, compacted KAN without the edges, nodes and inputs scoring below the thresholds.

    Parameters
    ----------
    model : trained KAN (left unchanged).
    X : (n, n_in) inputs: the data the model was fitted on (array, DataFrame or tensor).
    y : optional targets; when given, the output biases are then shifted to the least-squares
        offset on ``X`` (zero mean residual) instead of keeping ``model``'s mean output.
    edge_threshold : edges with an attribution score below this go (scores are shares of the
        output spread, see :func:`attribution`).
    node_threshold : hidden nodes below this go (default ``edge_threshold``).
    input_threshold : input columns below this go (default ``node_threshold``).
    sample : rows used for the scores (all rows are used for the bias folding).
    seed : seed of the row subsample.
    fold : fold the removed parts' means into the biases (default); False only for comparisons.
    threads : torch threads, as in :func:`kansci.fit` (``"auto"``: one for small problems).

    Returns
    -------
    KAN with only the surviving nodes; ``input_names`` lists the surviving inputs. Each
    removed part's mean over ``X`` is folded into the bias of the node it fed, so the pruned
    model has the same mean output as ``model`` on ``X``.  The pruned model takes only the
    surviving columns, by name: ``df[pruned.input_names]``.
    """
    x = as_matrix(X, "X", n_cols=model.width[0], dtype=model.dtype, device=model.device)
    with use_threads(threads_for(x.shape[0], model, threads)):
        return _prune(model, x, y, edge_threshold=edge_threshold, node_threshold=node_threshold,
                      input_threshold=input_threshold, sample=sample, seed=seed, fold=fold)


def _prune(model, x, y, *, edge_threshold, node_threshold, input_threshold, sample, seed, fold):
    scores = attribution(model, x, sample=sample, seed=seed)
    plan = plan_pruning(model, scores, edge_threshold=edge_threshold, node_threshold=node_threshold,
                        input_threshold=input_threshold)
    log.info("pruning: width %s -> %s, %d edges kept, inputs %s", model.width, plan.width, plan.n_edges,
             [model.input_names[i] for i in plan.kept_indices(0)])
    pruned = compact(model, plan, x, fold=fold)
    if y is not None:
        cols = torch.as_tensor(plan.kept_indices(0), dtype=torch.long, device=x.device)
        centre_outputs(pruned, x[:, cols], y)
    return pruned
