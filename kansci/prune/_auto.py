"""``prune_auto``: choose the thresholds by the trade-off between fit and edge count, then retrain.

Candidates come from every pair of an edge threshold (0 and each distinct edge score) and a
node threshold (0 and each distinct node score, applied to hidden nodes and inputs): one
global edge threshold alone cannot drop a weak hidden node while keeping a weaker edge into
a strong one, which is what ``exp(sin(pi*x) + y^2)`` needs to reach ``[2, 1, 1]``.  Every
distinct candidate graph is compacted with its means folded into the biases and evaluated
on the validation data, without training (large models: at most 96 edge and 24 node
thresholds, evenly spaced by rank); only the Pareto front of edge count against error
is kept.  The sparsest candidate whose error stays within ``tolerance`` times the unpruned
error plus ``atol * std(y)`` is taken.

Then, because a weak edge often carries a real share of the signal that the remaining ones
can take over, sparser candidates of the front get a short retrain (at most ``max_trials``,
densest first, stopping after two failures in a row), and are taken when their error stays
within ``tolerance`` times the error of the first choice after the same short retrain (plus
the same floor).  Comparing retrained with retrained keeps the test strict: the unpruned,
regularised model fits loosely, and a bound relative to it would accept graphs that cannot
represent the law exactly.  The chosen graph is finally retrained with :func:`kansci.fit`.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field

import pandas as pd
import torch

from .._arrays import InputError, as_matrix
from .._device import resolve_device
from .._threads import threads_for, use_threads
from .._train import fit
from ._compact import compact_on
from ._plan import PrunePlan, plan_pruning
from ._recipe import centre_outputs
from ._scores import Attribution, attribution

__all__ = ["PruneReport", "prune_auto"]

log = logging.getLogger("kansci")

_MAX_FAILURES_IN_A_ROW = 2
# large models: thresholds sampled by rank, so that at most 96 x 24 plans are built
_MAX_EDGE_THRESHOLDS = 96
_MAX_NODE_THRESHOLDS = 24


@dataclass
class PruneReport:
    """What :func:`prune_auto` tried and chose.

    Attributes
    ----------
    candidates : one row per candidate graph on the Pareto front, densest first:
        edge_threshold, node_threshold, width, edges, inputs, rmse and mean_residual (folded,
        before retraining), rmse_trial (after the short retrain, when tried), passed, chosen.
    threshold, node_threshold : the chosen thresholds (``prune(model, X, edge_threshold=...,
        node_threshold=...)`` rebuilds the chosen graph before retraining).
    allowed_rmse : the first bound, ``tolerance * rmse_unpruned + atol * std(y)``.
    trial_bound : the bound of the short-retrain trials, ``tolerance * rmse_trial`` of the first
        choice ``+ atol * std(y)`` (NaN when nothing was tried).
    rmse_unpruned, rmse_pruned, rmse_retrained : validation RMSE of the input model, of the
        chosen graph right after pruning, and after the final retrain.
    mean_residual_pruned : mean validation residual right after pruning.
    width_before, width_after, inputs_before, inputs_after, edges_before, edges_after : graphs.
    input_columns : positions of the surviving inputs among the original columns (the
        pruned model takes ``X[:, input_columns]``, or ``df[model.input_names]``).
    history : the final retrain's history.
    seconds : wall time.
    """

    candidates: pd.DataFrame
    threshold: float
    node_threshold: float
    allowed_rmse: float
    trial_bound: float
    rmse_unpruned: float
    rmse_pruned: float
    mean_residual_pruned: float
    rmse_retrained: float
    width_before: list[int]
    width_after: list[int]
    inputs_before: list[str]
    inputs_after: list[str]
    input_columns: list[int]
    edges_before: int
    edges_after: int
    history: pd.DataFrame = field(repr=False)
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"pruned {self.width_before} ({self.edges_before} edges) -> {self.width_after} "
            f"({self.edges_after} edges), inputs {self.inputs_after}; "
            f"RMSE unpruned {self.rmse_unpruned:.3g}, pruned {self.rmse_pruned:.3g} "
            f"(mean residual {self.mean_residual_pruned:.2g}), retrained {self.rmse_retrained:.3g}"
        )


@dataclass(eq=False)
class _Candidate:
    edge_threshold: float
    node_threshold: float
    plan: PrunePlan
    model: object
    columns: torch.Tensor
    rmse: float
    mean_residual: float
    rmse_trial: float = math.nan
    passed: bool = False


def _rmse(model, x, y) -> tuple[float, float]:
    with torch.no_grad():
        r = y - model(x)
    return float(torch.sqrt(torch.mean(r**2))), float(r.mean())


def _thresholds(values: list[torch.Tensor], limit: int) -> list[float]:
    """0 and the distinct positive values; at most ``limit`` of them, evenly spaced by rank."""
    flat = torch.cat([v.flatten() for v in values])
    ts = [0.0] + sorted({float(v) for v in flat if v > 0})
    if len(ts) > limit:
        ts = [ts[round(r)] for r in torch.linspace(0, len(ts) - 1, limit).tolist()]
    return ts


def _plans(model, scores: Attribution) -> list[tuple[float, float, PrunePlan]]:
    """Distinct plans over all (edge threshold, node threshold) pairs."""
    live = [s[layer.mask.detach().cpu() > 0] for s, layer in zip(scores.edge_scores, model.layers)]
    edge_ts = _thresholds(live, _MAX_EDGE_THRESHOLDS)
    node_ts = _thresholds(scores.node_scores[:-1], _MAX_NODE_THRESHOLDS)
    out, seen = [], set()
    for tn in node_ts:
        for te in edge_ts:
            plan = plan_pruning(model, scores, edge_threshold=te, node_threshold=tn, warn=False)
            key = tuple(tuple(e.flatten().tolist()) for e in plan.edges) + tuple(tuple(n.tolist()) for n in plan.nodes)
            if key not in seen:
                seen.add(key)
                out.append((te, tn, plan))
    return out


def _pareto(cands: list[_Candidate]) -> list[_Candidate]:
    """The candidates no other beats on both edge count and error, densest first."""
    front: list[_Candidate] = []
    for c in sorted(cands, key=lambda c: (c.plan.n_edges, c.rmse)):
        if not front or c.rmse < front[-1].rmse:
            front.append(c)
    return front[::-1]


def _short_retrain(model, x, t, cols, steps, seed, fit_options):
    trial = copy.deepcopy(model)
    fit(trial, x[:, cols], t, steps=steps, seed=seed, **fit_options)
    centre_outputs(trial, x[:, cols], t)
    return trial


def prune_auto(
    model,
    X,
    y,
    *,
    X_val=None,
    y_val=None,
    tolerance: float = 2.0,
    atol: float = 1e-3,
    retrain_steps: int = 50,
    trial_steps: int = 10,
    max_trials: int = 4,
    sample: int | None = 4096,
    seed: int = 0,
    threads: int | str | None = "auto",
    device=None,
    **fit_options,
):
    """Prune ``model`` to the sparsest graph that still fits, then retrain it.

    Parameters
    ----------
    model : trained (preferably sparsity-regularised, see :func:`train_sparse`) KAN; unchanged.
    X, y : training data (scores, bias folding, retraining).
    X_val, y_val : validation data for the choice (default: the training data).
    tolerance : a candidate passes when its RMSE is at most ``tolerance`` times the reference
        RMSE plus ``atol * std(y)`` (see the module notes).
    atol : absolute floor of the bound, relative to the standard deviation of ``y``.
    retrain_steps : steps of the final retrain (0: none).
    trial_steps : steps of the short retrain given to sparser candidates (0: no trials).
    max_trials : how many sparser candidates may get a short retrain.
    sample : rows used for the attribution scores.
    seed : seed of the subsample and of the retrains.
    threads : torch threads, as in :func:`kansci.fit` (``"auto"``: one for small problems).
    device : where to work (None: the model's device); the input model is left where it is
        (a copy is moved), the pruned model is returned on ``device``.
    **fit_options : passed on to :func:`kansci.fit` for the retrains.

    Returns
    -------
    (pruned KAN, PruneReport).  The pruned KAN takes the surviving columns only
    (``report.input_columns``).
    """
    if not tolerance >= 1 or not atol >= 0:
        raise ValueError(f"need tolerance >= 1 and atol >= 0, got tolerance={tolerance}, atol={atol}")
    if device is not None and resolve_device(device) != model.device:
        model = copy.deepcopy(model).to(resolve_device(device))  # the caller's model stays unchanged
    with use_threads(threads_for(len(X), model, threads)):
        return _prune_auto(model, X, y, X_val=X_val, y_val=y_val, tolerance=tolerance, atol=atol,
                           retrain_steps=retrain_steps, trial_steps=trial_steps, max_trials=max_trials,
                           sample=sample, seed=seed, threads=threads, fit_options=fit_options)


def _prune_auto(model, X, y, *, X_val, y_val, tolerance, atol, retrain_steps, trial_steps, max_trials, sample, seed,
                threads, fit_options):
    fit_options = dict(fit_options, threads=threads)
    start = time.perf_counter()
    opts = dict(dtype=model.dtype, device=model.device)
    x = as_matrix(X, "X", n_cols=model.width[0], **opts)
    t = as_matrix(y, "y", n_cols=model.width[-1], **opts)
    if x.shape[0] != t.shape[0]:
        raise InputError(f"X has {x.shape[0]} rows but y has {t.shape[0]}; they must match")
    if (X_val is None) != (y_val is None):
        raise InputError("give both X_val and y_val, or neither")
    xv = x if X_val is None else as_matrix(X_val, "X_val", n_cols=model.width[0], **opts)
    tv = t if y_val is None else as_matrix(y_val, "y_val", n_cols=model.width[-1], **opts)

    rmse0, _ = _rmse(model, xv, tv)
    floor = atol * float(torch.sqrt(torch.mean(t.var(0, correction=0))))
    allowed = tolerance * rmse0 + floor
    scores = attribution(model, x, sample=sample, seed=seed)
    original = model.layer_inputs(x)
    cands = []
    for te, tn, plan in _plans(model, scores):
        pm = compact_on(model, plan, x, original)
        cols = torch.as_tensor(plan.kept_indices(0), dtype=torch.long, device=x.device)
        err, mres = _rmse(pm, xv[:, cols], tv)
        cands.append(_Candidate(te, tn, plan, pm, cols, err, mres, passed=err <= allowed))
    front = _pareto(cands)
    passing = [c for c in front if c.passed]
    chosen = passing[-1] if passing else front[0]
    chosen_model = chosen.model
    bound, failures, trials = None, 0, 0
    for cand in front[front.index(chosen) + 1:]:
        if trials >= max_trials or trial_steps <= 0 or failures >= _MAX_FAILURES_IN_A_ROW:
            break
        if bound is None:  # the reference: the first choice after the same short retrain
            chosen_model = _short_retrain(chosen.model, x, t, chosen.columns, trial_steps, seed, fit_options)
            chosen.rmse_trial = _rmse(chosen_model, xv[:, chosen.columns], tv)[0]
            bound = tolerance * chosen.rmse_trial + floor
        trials += 1
        trial = _short_retrain(cand.model, x, t, cand.columns, trial_steps, seed, fit_options)
        cand.rmse_trial = _rmse(trial, xv[:, cand.columns], tv)[0]
        if cand.rmse_trial <= bound:
            cand.passed, failures = True, 0
            chosen, chosen_model = cand, trial
        else:
            failures += 1

    final = copy.deepcopy(chosen_model)
    history = pd.DataFrame()
    if retrain_steps > 0:
        history = fit(final, x[:, chosen.columns], t, steps=retrain_steps, seed=seed, **fit_options)
    rmse_final, _ = _rmse(final, xv[:, chosen.columns], tv)
    table = pd.DataFrame([
        dict(edge_threshold=c.edge_threshold, node_threshold=c.node_threshold, width=c.plan.width,
             edges=c.plan.n_edges, inputs=[model.input_names[i] for i in c.plan.kept_indices(0)],
             rmse=c.rmse, mean_residual=c.mean_residual, rmse_trial=c.rmse_trial, passed=c.passed,
             chosen=c is chosen)
        for c in front
    ])
    report = PruneReport(
        candidates=table, threshold=chosen.edge_threshold, node_threshold=chosen.node_threshold,
        allowed_rmse=allowed, trial_bound=math.nan if bound is None else bound, rmse_unpruned=rmse0, rmse_pruned=chosen.rmse,
        mean_residual_pruned=chosen.mean_residual, rmse_retrained=rmse_final,
        width_before=list(model.width), width_after=list(final.width),
        inputs_before=list(model.input_names), inputs_after=list(final.input_names),
        input_columns=chosen.plan.kept_indices(0),
        edges_before=int(sum(int((layer.mask > 0).sum()) for layer in model.layers)),
        edges_after=chosen.plan.n_edges, history=history, seconds=time.perf_counter() - start,
    )
    log.info("prune_auto: %s", report)
    return final, report
