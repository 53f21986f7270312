"""Model-level snapping: edge data, ranked candidates per edge, fixing, undoing, auto-snapping."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

import kansci
from kansci.symbolic import AffineFit, Library, fit_affine
from kansci.symbolic._model import (
    EDGE_COLUMNS,
    SNAP_COLUMNS,
    auto_symbolic,
    edge_data,
    fix_symbolic,
    suggest_edges,
    unfix_symbolic,
)

F64 = torch.float64
LIB = Library.default()


def _model(width=(2, 3, 1), seed=0) -> kansci.KAN:
    return kansci.KAN(list(width), seed=seed, dtype=F64, base_fun="silu")


def _data(n=400, d=2, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, d))


def test_edge_data_is_the_edge_on_its_layer_inputs() -> None:
    model, X = _model(), _data()
    hidden = model.layer_inputs(X)
    acts = model.edge_activations(X)
    x, y = edge_data(model, X, 1, 2, 0)
    np.testing.assert_allclose(x, hidden[1][:, 2].numpy())
    np.testing.assert_allclose(y, acts[1][:, 2, 0].numpy())
    assert x.dtype == y.dtype == np.float64 and x.shape == (len(X),)
    with pytest.raises(IndexError, match="layer 1"):
        edge_data(model, X, 1, 3, 0)
    with pytest.raises(IndexError, match="layer"):
        edge_data(model, X, 2, 0, 0)


def test_spline_values_survive_fixing_and_unfix_restores_the_model() -> None:
    model, X = _model(), _data()
    before_edge = edge_data(model, X, 0, 1, 2)[1]
    before = model.predict(X).clone()
    fit = fix_symbolic(model, 0, 1, 2, "sin", X)
    assert (0, 1, 2) in model.symbolic_edges()
    x, now = edge_data(model, X, 0, 1, 2)
    np.testing.assert_allclose(now, fit.predict(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(edge_data(model, X, 0, 1, 2, spline=True)[1], before_edge, rtol=1e-12)
    assert not torch.allclose(model.predict(X), before)
    unfix_symbolic(model, 0, 1, 2)
    assert model.symbolic_edges() == {}
    torch.testing.assert_close(model.predict(X), before, rtol=0, atol=0)


def test_fix_symbolic_fits_the_constants_and_accepts_a_fit_or_a_primitive() -> None:
    model, X = _model(), _data()
    x, y = edge_data(model, X, 0, 0, 1)
    fit = fix_symbolic(model, 0, 0, 1, LIB["x^2"], X)
    ref = fit_affine(x, y, "x^2")
    assert fit.primitive == "x^2"
    constants = [fit.a, fit.b, fit.c, fit.d]
    np.testing.assert_allclose(constants, [ref.a, ref.b, ref.c, ref.d], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.layers[0].sym_affine[0, 1].detach().numpy(), constants)
    given = AffineFit("tanh", 2.0, 0.5, -1.5, 0.25, 1.0, 0.0, 3, function=LIB["tanh"])
    assert fix_symbolic(model, 1, 2, 0, given) is given  # no X needed
    xs, ys = edge_data(model, X, 1, 2, 0)
    np.testing.assert_allclose(ys, -1.5 * np.tanh(2.0 * xs + 0.5) + 0.25, rtol=1e-12)
    assert model.symbolic_edges()[(1, 2, 0)].name == "tanh"


def test_fix_symbolic_errors_say_what_is_wrong() -> None:
    model, X = _model(), _data()
    with pytest.raises(ValueError, match="needs X"):
        fix_symbolic(model, 0, 0, 0, "sin")
    with pytest.raises(KeyError, match="sinus"):
        fix_symbolic(model, 0, 0, 0, "sinus", X)
    with pytest.raises(IndexError):
        fix_symbolic(model, 0, 2, 0, "sin", X)
    with torch.no_grad():
        model.layers[0].mask[1, 1] = 0.0
    with pytest.raises(ValueError, match="pruned"):
        fix_symbolic(model, 0, 1, 1, "sin", X)
    with pytest.raises(ValueError, match="carries no Primitive"):
        fix_symbolic(model, 0, 0, 0, AffineFit("sin", 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 3))
    with pytest.raises(TypeError, match="choice"):
        fix_symbolic(model, 0, 0, 0, 3.0, X)
    assert model.symbolic_edges() == {}


def test_suggest_edges_lists_live_spline_edges_with_names() -> None:
    model, X = _model(), _data()
    with torch.no_grad():
        model.layers[0].mask[0, 2] = 0.0
    fix_symbolic(model, 1, 1, 0, "x", X)
    table = suggest_edges(model, X, LIB.subset(["x", "x^2", "sin", "exp", "0"]), top_k=2)
    assert list(table.columns) == EDGE_COLUMNS
    edges = set(zip(table.layer, table.i, table.j))
    expected = {(0, i, j) for i in range(2) for j in range(3)} - {(0, 0, 2)} | {(1, 0, 0), (1, 2, 0)}
    assert edges == expected
    for _, ranks in table.groupby(["layer", "i", "j"])["rank"]:
        assert list(ranks) == [0, 1]
    row = table[(table.layer == 1) & (table.i == 2) & (table["rank"] == 0)].iloc[0]
    assert (row.source, row.target) == ("h1.2", "y")
    assert set(table[table.layer == 0].source) == {"x0", "x1"}
    best = table[table["rank"] == 0]
    assert (best.r2.to_numpy() >= table[table["rank"] == 1].r2.to_numpy() - 1e-3).all()


def test_auto_symbolic_refits_each_layer_on_the_snapped_inputs() -> None:
    model, X = _model(), _data()
    twin = _model()
    lib = LIB.subset(["x", "x^2", "sin", "tanh", "exp"])
    table = auto_symbolic(model, X, lib)
    assert list(table.columns) == SNAP_COLUMNS and table.fixed.all() and len(table) == 9
    assert len(model.symbolic_edges()) == 9
    for r in table[table.layer == 0].itertuples():
        fix_symbolic(twin, 0, r.i, r.j, r.primitive, X)
    for r in table[table.layer == 1].itertuples():
        x, y = edge_data(twin, X, 1, r.i, 0)  # inputs as produced by the snapped layer 0
        ref = fit_affine(x, y, r.primitive)
        np.testing.assert_allclose([r.c, r.d], [ref.c, ref.d], rtol=1e-6, atol=1e-9)
        x_old = edge_data(_model(), X, 1, r.i, 0)[0]
        assert np.max(np.abs(x - x_old)) > 1e-8  # the inputs did change


def test_auto_symbolic_respects_min_r2_and_existing_symbolic_edges() -> None:
    model, X = _model(), _data()
    table = auto_symbolic(model, X, ["x", "sin"], min_r2=1.5)
    assert len(table) == 9 and not table.fixed.any() and model.symbolic_edges() == {}
    given = AffineFit("tanh", 2.0, 0.5, -1.5, 0.25, 1.0, 0.0, 3, function=LIB["tanh"])
    fix_symbolic(model, 0, 0, 0, given)
    table = auto_symbolic(model, X, ["x", "sin"])
    assert (0, 0, 0) not in set(zip(table.layer, table.i, table.j)) and len(table) == 8
    assert model.symbolic_edges()[(0, 0, 0)].name == "tanh"
    table = auto_symbolic(model, X, ["x", "sin"], overwrite=True)
    assert len(table) == 9 and model.symbolic_edges()[(0, 0, 0)].name in ("x", "sin")


def test_snapping_a_2_5_1_network_is_fast() -> None:
    model, X = _model((2, 5, 1)), _data(1000)
    auto_symbolic(_model((2, 1, 1)), X[:50], ["x"])  # warm-up (imports, caches)
    start = time.perf_counter()
    table = auto_symbolic(model, X)
    seconds = time.perf_counter() - start
    assert len(table) == 15 and table.fixed.all()
    assert seconds < 2.0, f"snapping 15 edges took {seconds:.2f}s"


def test_exp_sin_pi_x_plus_y2_snaps_to_sin_x2_exp() -> None:
    """Issue acceptance: the three edges of exp(sin(pi*x) + y^2) on [2,1,1] snap to sin, x^2, exp."""
    X = np.random.default_rng(0).uniform(-1, 1, (1000, 2))
    y = np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2)
    model = kansci.KAN([2, 1, 1], grid=5, seed=0, dtype=F64, input_names=["x", "y"], output_names=["f"])
    model.fit(X, y, steps=20)
    model.extend_grid(10, X)
    model.fit(X, y, steps=20, update_grid=False)
    table = auto_symbolic(model, X)
    chosen = {(r.layer, r.i, r.j): r.primitive for r in table.itertuples()}
    assert chosen == {(0, 0, 0): "sin", (0, 1, 0): "x^2", (1, 0, 0): "exp"}
    assert table.r2.min() > 0.9999
    sin_row = table[table.primitive == "sin"].iloc[0]
    assert abs(sin_row.a - np.pi) < 1e-2
    history = model.fit(X, y, steps=10, update_grid=False)
    assert history.train_loss.min() < 1e-12 * np.var(y)


def test_a_simple_primitive_beats_a_flexible_one_that_fits_the_spline_wiggles() -> None:
    X = np.linspace(-1, 1, 400)[:, None]
    model = kansci.KAN([1, 1], grid=3, seed=0, dtype=F64)
    model.fit(X, np.exp(3 * X[:, 0]), steps=10)
    strict = suggest_edges(model, X, ["exp", "tanh"], rtol=0.1)
    assert strict.primitive[0] == "tanh"  # tanh(u - b) ~ exp tail also fits the spline error
    assert auto_symbolic(model, X, ["exp", "tanh"]).primitive[0] == "exp"
