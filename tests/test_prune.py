"""Pruning: attribution scores, plans, compaction with bias folding, automatic thresholds."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import kansci
from kansci._grid import refit_grid
from kansci.prune import attribution, compact, plan_pruning, prune, prune_auto, train_sparse
from kansci.prune._recipe import rescale_outputs

F64 = torch.float64


class Sine:
    name = "sin"

    @staticmethod
    def torch(u):
        return torch.sin(u)


def _data(n: int, n_in: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.95, 0.95, (n, n_in))


def _model(width, seed=0, **kw):
    return kansci.KAN(width, grid=5, seed=seed, dtype=F64, **kw)


def _columns(model, pruned) -> list[int]:
    return [model.input_names.index(name) for name in pruned.input_names]


def _predict(model, pruned, X) -> np.ndarray:
    return pruned.predict(X[:, _columns(model, pruned)]).numpy()


def _make_constant(layer, i: int, j: int, value: float) -> None:
    """Edge (i, j) outputs exactly ``value`` on the grid range (B-splines sum to one there)."""
    with torch.no_grad():
        layer.scale_base[i, j] = 0.0
        layer.coef[i, :, j] = value / float(layer.scale_sp[i, j])


# ------------------------------------------------------------------ scores
def test_scores_are_labelled_and_follow_the_definition():
    model = _model([3, 2, 1], input_names=["a", "b", "c"], output_names=["f"])
    X = _data(300, 3, 0)
    att = attribution(model, X, sample=None)
    assert list(att.edges.columns) == ["layer", "i", "j", "from", "to", "std", "score"]
    assert set(att.edges["from"]) == {"a", "b", "c", "h1.0", "h1.1"}
    assert list(att.nodes["name"]) == ["a", "b", "c", "h1.0", "h1.1", "f"]
    assert list(att.inputs.columns) == ["name", "score"]
    # last layer: edge score = std(edge) / std(output); a node's score = sum of outgoing scores
    acts = model.edge_activations(X)
    out = model.predict(X)
    expected = acts[1].std(0, correction=0)[:, 0] / out.std(0, correction=0)[0]
    torch.testing.assert_close(att.edge_scores[1][:, 0], expected)
    torch.testing.assert_close(att.node_scores[1], att.edge_scores[1].sum(1))
    torch.testing.assert_close(att.node_scores[0], att.edge_scores[0].sum(1))
    assert float(att.node_scores[-1][0]) == 1.0


def test_irrelevant_input_scores_zero_and_ranks_last():
    model = _model([3, 3, 1], seed=2)
    with torch.no_grad():
        model.layers[0].scale_base[1] = 0.0
        model.layers[0].scale_sp[1] = 0.0
    att = attribution(model, _data(300, 3, 1))
    assert att.inputs["name"].iloc[-1] == "x1"
    assert att.inputs["score"].iloc[-1] == 0.0
    assert (att.inputs["score"].iloc[:2] > 0.05).all()


def test_scores_do_not_depend_on_the_output_units():
    model = _model([2, 3, 1], seed=3)
    X = _data(200, 2, 2)
    before = attribution(model, X)
    rescale_outputs(model, torch.tensor([1e3], dtype=F64), torch.tensor([-7.0], dtype=F64))
    after = attribution(model, X)
    for a, b in zip(before.edge_scores, after.edge_scores):
        torch.testing.assert_close(a, b)


def test_constant_output_gives_finite_scores():
    model = _model([2, 2, 1], seed=4)
    with torch.no_grad():
        model.layers[1].mask.zero_()
    att = attribution(model, _data(100, 2, 3))
    assert all(torch.isfinite(s).all() for s in att.edge_scores + att.node_scores)
    assert float(att.edge_scores[1].abs().sum()) == 0.0
    assert float(att.node_scores[0].abs().sum()) == 0.0


def test_subsample_is_seeded():
    model = _model([2, 2, 1], seed=5)
    X = _data(1000, 2, 4)
    a = attribution(model, X, sample=100, seed=1).edge_scores[0]
    b = attribution(model, X, sample=100, seed=1).edge_scores[0]
    c = attribution(model, X, sample=100, seed=2).edge_scores[0]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


# -------------------------------------------------------- folding, compaction
def test_pruning_nothing_gives_identical_predictions():
    model = _model([3, 4, 2], seed=6, input_names=["p", "q", "r"])
    X = _data(200, 3, 5)
    pruned = prune(model, X, edge_threshold=0.0)
    assert pruned.width == model.width and pruned.input_names == ["p", "q", "r"]
    assert torch.equal(pruned.predict(X), model.predict(X))


def test_pruning_a_constant_edge_changes_nothing():
    model = _model([3, 4, 1], seed=7)
    _make_constant(model.layers[0], 1, 2, 0.37)
    X = _data(300, 3, 6)
    assert float(attribution(model, X).edge_scores[0][1, 2]) < 1e-10
    pruned = prune(model, X, edge_threshold=1e-8, node_threshold=0.0)
    assert pruned.width == [3, 4, 1]
    assert float(pruned.layers[0].mask[1, 2]) == 0.0  # removed: masked, the bias took its mean
    assert int(sum((lay.mask > 0).sum() for lay in pruned.layers)) == 3 * 4 + 4 - 1
    torch.testing.assert_close(pruned.predict(X), model.predict(X), rtol=0, atol=1e-12)


def test_a_node_whose_only_output_is_constant_goes_without_a_trace():
    model = _model([3, 4, 1], seed=7)
    _make_constant(model.layers[1], 3, 0, -1.3)
    X = _data(300, 3, 6)
    pruned = prune(model, X, edge_threshold=1e-8, node_threshold=0.0)
    assert pruned.width == [3, 3, 1]
    torch.testing.assert_close(pruned.predict(X), model.predict(X), rtol=0, atol=1e-12)


def test_removed_edge_mean_goes_to_the_bias():
    model = _model([3, 1], seed=8)
    X = _data(400, 3, 7)
    phi = model.edge_activations(X)[0][:, 2, 0]
    scores = attribution(model, X)
    plan = plan_pruning(model, scores, edge_threshold=0.0)
    plan.edges[0][2, 0] = False
    plan.nodes[0][2] = False
    pruned = compact(model, plan, X)
    assert pruned.width == [2, 1] and pruned.input_names == ["x0", "x1"]
    expected = model.predict(X)[:, 0] - phi + phi.mean()
    torch.testing.assert_close(pruned.predict(X[:, :2])[:, 0], expected)
    unfolded = compact(model, plan, X, fold=False)
    torch.testing.assert_close(unfolded.predict(X[:, :2])[:, 0], model.predict(X)[:, 0] - phi)


def test_removing_a_hidden_node_keeps_the_mean_output():
    model = _model([2, 4, 2], seed=9)
    X = _data(500, 2, 8)
    plan = plan_pruning(model, attribution(model, X), edge_threshold=0.0)
    plan.nodes[1][1] = False
    pruned = compact(model, plan, X)
    assert pruned.width == [2, 3, 2]
    assert pruned.layers[0].coef.shape == (2, 8, 3) and pruned.layers[1].coef.shape == (3, 8, 2)
    torch.testing.assert_close(pruned.predict(X).mean(0), model.predict(X).mean(0), rtol=0, atol=1e-12)
    # the other hidden nodes keep their parameters, hence their values (up to summation order)
    keep = [0, 2, 3]
    torch.testing.assert_close(pruned.layers[0].bias, model.layers[0].bias[keep], rtol=0, atol=0)
    torch.testing.assert_close(pruned.layer_inputs(X)[1], model.layer_inputs(X)[1][:, keep], rtol=0, atol=1e-14)


def test_compaction_keeps_grids_options_names_and_symbolic_slots():
    model = _model([3, 3, 1], seed=10, input_names=["u", "v", "w"], output_names=["F"], base_fun="identity")
    X = torch.as_tensor(_data(300, 3, 9))
    refit_grid(model.layers[1], model.layer_inputs(X)[1], grid=9, from_data=True)
    model.set_symbolic(0, 2, 1, Sine(), affine=(2.0, 0.1, 0.5, -0.2))
    plan = plan_pruning(model, attribution(model, X), edge_threshold=0.0)
    plan.nodes[0][0] = False  # drop input u
    plan.nodes[1][0] = False  # drop hidden node 0
    pruned = compact(model, plan, X)
    assert pruned.width == [2, 2, 1]
    assert pruned.input_names == ["v", "w"] and pruned.output_names == ["F"]
    assert [lay.grid for lay in pruned.layers] == [5, 9]
    assert pruned.k == model.k and pruned.dtype == F64 and pruned.layers[0].base_fun == "identity"
    sym = pruned.symbolic_edges()
    assert list(sym) == [(0, 1, 0)] and sym[(0, 1, 0)].name == "sin"
    torch.testing.assert_close(pruned.layers[0].sym_affine[1, 0], model.layers[0].sym_affine[2, 1])
    torch.testing.assert_close(pruned.layers[1].grid_lo, model.layers[1].grid_lo[1:])
    torch.testing.assert_close(pruned.layers[1].coef, model.layers[1].coef[1:])
    torch.testing.assert_close(pruned.predict(X[:, 1:]).mean(0), model.predict(X).mean(0))


def test_prune_leaves_the_input_model_alone():
    model = _model([3, 3, 1], seed=11)
    X = _data(200, 3, 10)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    prune(model, X, edge_threshold=0.3)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


# ---------------------------------------------------------------- plans
def test_dead_nodes_are_removed_with_their_edges():
    model = _model([2, 3, 1], seed=12)
    X = _data(200, 2, 11)
    plan = plan_pruning(model, attribution(model, X), edge_threshold=0.0)
    # cut every edge into hidden node 2: it becomes a constant and goes, with its outgoing edge
    scores = attribution(model, X)
    scores.edge_scores[0][:, 2] = 0.0
    plan = plan_pruning(model, scores, edge_threshold=1e-9, node_threshold=0.0)
    assert plan.width == [2, 2, 1] and plan.n_edges == 2 * 2 + 2
    pruned = compact(model, plan, X)
    torch.testing.assert_close(pruned.predict(X).mean(), model.predict(X).mean())


def test_never_prunes_to_an_empty_model(caplog):
    model = _model([3, 4, 1], seed=13)
    X = _data(300, 3, 12)
    att = attribution(model, X)
    with caplog.at_level(logging.WARNING, logger="kansci"):
        pruned = prune(model, X, edge_threshold=1e9)
    assert "strongest path" in caplog.text
    assert pruned.width == [1, 1, 1]
    j = int(torch.argmax(att.edge_scores[1][:, 0]))
    i = int(torch.argmax(att.edge_scores[0][:, j]))
    assert pruned.input_names == [f"x{i}"]
    assert torch.isfinite(pruned.predict(X[:, [i]])).all()


def test_bad_thresholds_and_inputs_are_reported():
    model = _model([2, 2, 1])
    X = _data(50, 2, 13)
    with pytest.raises(ValueError, match="edge_threshold"):
        prune(model, X, edge_threshold=-1.0)
    with pytest.raises(kansci.InputError, match="column"):
        prune(model, X[:, :1])
    other = attribution(_model([2, 3, 1]), X)
    with pytest.raises(ValueError, match="compute it for this model"):
        plan_pruning(model, other)
    with pytest.raises(ValueError, match="compute it for this model"):
        compact(model, plan_pruning(_model([2, 3, 1]), other), X)
    with pytest.raises(kansci.InputError, match="X_val and y_val"):
        prune_auto(model, X, X[:, 0], X_val=X)


def test_prune_auto_without_training_takes_the_sparsest_graph_within_the_bound():
    model = _model([3, 3, 1], seed=15)
    X, X_val = _data(300, 3, 15), _data(200, 3, 16)
    y = model.predict(X).numpy()[:, 0] + 0.01 * X[:, 0]
    y_val = model.predict(X_val).numpy()[:, 0] + 0.01 * X_val[:, 0]
    pruned, report = prune_auto(model, X, y, X_val=X_val, y_val=y_val, tolerance=1.5, retrain_steps=0,
                                trial_steps=0)
    assert report.edges_after < report.edges_before
    rmse_val = float(np.sqrt(np.mean((y_val - model.predict(X_val).numpy()[:, 0]) ** 2)))
    assert np.isclose(report.rmse_unpruned, rmse_val)
    assert report.history.empty
    cols = report.input_columns
    rmse_pruned = float(np.sqrt(np.mean((y_val - pruned.predict(X_val[:, cols]).numpy()[:, 0]) ** 2)))
    assert np.isclose(report.rmse_pruned, rmse_pruned) and np.isclose(report.rmse_retrained, rmse_pruned)
    cands = report.candidates
    chosen = cands[cands["chosen"]].iloc[0]
    assert chosen["rmse"] <= report.allowed_rmse
    sparser = cands.loc[cands["edges"] < chosen["edges"], "rmse"]
    assert len(sparser) > 0 and (sparser > report.allowed_rmse).all()
    assert cands["rmse"].is_monotonic_increasing  # the Pareto front, densest first
    again = prune(model, X, edge_threshold=report.threshold, node_threshold=report.node_threshold)
    torch.testing.assert_close(again.predict(X_val[:, cols]), pruned.predict(X_val[:, cols]))


# ------------------------------------------------------------ recipe
def test_rescale_outputs_is_exact():
    model = _model([2, 3, 2], seed=14)
    model.set_symbolic(1, 0, 1, Sine(), affine=(1.0, 0.2, 0.7, 0.1))
    X = _data(100, 2, 14)
    before = model.predict(X)
    s, m = torch.tensor([3.0, -0.5], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64)
    rescale_outputs(model, s, m)
    torch.testing.assert_close(model.predict(X), before * s + m)


# ------------------------------------------------------- acceptance (fast)
def _case_irrelevant(n, seed):
    X = _data(n, 5, seed)
    return X, X[:, 0] * X[:, 1] + np.sin(X[:, 2]), [5, 5, 1]


def _case_exp_sin(n, seed):
    X = _data(n, 2, seed)
    return X, np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2), [2, 5, 1]


@pytest.fixture(scope="module")
def trained():
    out = {}
    for name, case in (("irrelevant", _case_irrelevant), ("exp_sin", _case_exp_sin)):
        X, y, width = case(400, 0)
        model = _model(width, seed=0)
        train_sparse(model, X, y, steps=15, warmup=5, seed=0)
        out[name] = (model, X, y)
    return out


def test_irrelevant_inputs_are_pruned(trained):
    model, X, y = trained["irrelevant"]
    pruned = prune(model, X)
    assert pruned.input_names == ["x0", "x1", "x2"]
    res = y - _predict(model, pruned, X)[:, 0]
    assert abs(res.mean()) < 1e-3 * y.std()


def test_exp_sin_prunes_to_a_single_hidden_node(trained):
    model, X, y = trained["exp_sin"]
    pruned, report = prune_auto(model, X, y, retrain_steps=5, max_trials=1)
    assert pruned.width == [2, 1, 1] and pruned.input_names == ["x0", "x1"]
    assert abs(report.mean_residual_pruned) < 1e-3 * y.std()
    assert report.rmse_retrained < 0.02 * y.std()


def test_prune_auto_report_on_irrelevant_inputs(trained):
    model, X, y = trained["irrelevant"]
    pruned, report = prune_auto(model, X, y, retrain_steps=5, max_trials=1)
    assert report.inputs_after == ["x0", "x1", "x2"] == pruned.input_names
    assert report.input_columns == [0, 1, 2]
    assert report.width_after == pruned.width and report.width_after[0] == 3
    cands = report.candidates
    assert cands["chosen"].sum() == 1 and cands["edges"].is_monotonic_decreasing
    assert report.edges_after < report.edges_before == 30
    # the 6-edge graph that cannot form x0*x1 fails its short retrain and is not taken
    tried = cands[cands["rmse_trial"].notna() & ~cands["chosen"]]
    assert len(tried) >= 1 and (tried["rmse_trial"] > report.trial_bound).all()
    assert report.edges_after == int(cands.loc[cands["chosen"], "edges"].iloc[0]) >= 7
    assert abs(report.mean_residual_pruned) < 1e-3 * y.std()
    assert report.rmse_retrained < report.rmse_pruned
    assert np.isclose(report.rmse_retrained, np.sqrt(np.mean((y - _predict(model, pruned, X)[:, 0]) ** 2)))
    assert "->" in str(report)


def test_prune_with_targets_recentres_a_plainly_fitted_model():
    X, y, width = _case_exp_sin(300, 1)
    model = _model(width, seed=1)
    kansci.fit(model, X, y, steps=5, lamb=1e-2)
    pruned = prune(model, X, y, edge_threshold=0.05)
    res = y - pruned.predict(X).numpy()[:, 0]
    assert abs(res.mean()) < 1e-10 * y.std()


# ------------------------------------------------------- acceptance (full)
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", ["irrelevant", "exp_sin"])
def test_acceptance_full(case, seed):
    X, y, width = (_case_irrelevant if case == "irrelevant" else _case_exp_sin)(1000, seed)
    model = _model(width, seed=seed)
    train_sparse(model, X, y, steps=50, seed=seed)
    pruned, report = prune_auto(model, X, y, seed=seed)
    if case == "irrelevant":
        assert pruned.input_names == ["x0", "x1", "x2"]
    else:
        assert pruned.width == [2, 1, 1]
    assert abs(report.mean_residual_pruned) < 1e-3 * y.std()
    assert report.rmse_retrained < 0.02 * y.std()
