"""Plots: each returns a Figure, draws on a given ax, writes no file, and shows what it should."""

from __future__ import annotations

import io
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import kansci
from kansci._estimator import KANRegressor, NotFittedError
from kansci.plot import plot_edge, plot_history, plot_network, plot_pareto
from kansci.symbolic import fix_symbolic


def _render(fig: Figure) -> None:
    fig.savefig(io.BytesIO(), format="png")  # draws everything: fails on bad artists or mathtext


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 2))
    y = np.sin(np.pi * X[:, :1]) + X[:, 1:] ** 2
    model = kansci.KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64, input_names=["alpha", "beta"],
                       output_names=["energy"])
    history = model.fit(X, y, steps=15)
    return model, X, history


@pytest.fixture(autouse=True)
def no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield
    assert list(tmp_path.iterdir()) == [], "a plot wrote a file nobody asked for"


def _lines(ax) -> LineCollection:
    (coll,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    return coll


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


# ----------------------------------------------------------------------- network
def test_network_returns_figure_with_names_and_boxes(trained):
    model, X, _ = trained
    fig = plot_network(model, X)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert {"alpha", "beta", "energy"} <= set(_texts(ax))
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 2 * 3 + 3  # one sparkline per edge
    assert len(_lines(ax).get_segments()) == 2 * 9  # source->box and box->target per edge
    _render(fig)


def test_network_draws_on_given_ax_and_weights_by_importance():
    model = kansci.KAN([2, 1], grid=3, seed=0, dtype=torch.float64)
    with torch.no_grad():  # edge 1 -> 0 outputs nothing: attribution score 0
        model.layers[0].coef[1].zero_()
        model.layers[0].scale_base[1].zero_()
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert plot_network(model, ax=ax) is fig
    widths = _lines(ax).get_linewidths()
    assert widths[0] == pytest.approx(3.0) and widths[2] == pytest.approx(0.4)
    alphas = _lines(ax).get_colors()[:, 3]
    assert alphas[0] > 0.99 and alphas[2] < 0.2


def test_network_skips_pruned_and_labels_symbolic(trained):
    model, X, _ = trained
    fix_symbolic(model, 0, 0, 1, "sin", X)
    model.layers[0].mask[1, 2] = 0.0
    try:
        ax = plot_network(model, X).axes[0]
        assert "sin" in _texts(ax)
        assert len(_lines(ax).get_segments()) == 2 * 8
    finally:
        model.unset_symbolic(0, 0, 1)
        model.layers[0].mask[1, 2] = 1.0


def test_network_caps_sparklines_per_layer(trained):
    model, X, _ = trained
    ax = plot_network(model, X, max_sparklines=2).axes[0]
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 4
    assert len(_lines(ax).get_segments()) == 2 * 9  # every live edge is still drawn


def test_network_of_a_result_uses_its_column_names(trained):
    model, _, _ = trained
    result = SimpleNamespace(model=model, formula=SimpleNamespace(variables=["a", "P"]), target="T")
    assert {"a", "P", "T"} <= set(_texts(plot_network(result).axes[0]))
    with pytest.raises(ValueError, match="holds no KAN"):
        plot_network(SimpleNamespace(model=None))
    with pytest.raises(NotFittedError):
        plot_network(KANRegressor())


def test_network_rejects_wrong_input_width(trained):
    model, _, _ = trained
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_network(model, np.zeros((5, 3)))


# ----------------------------------------------------------------------- edge
def test_edge_overlays_snapped_primitive(trained):
    model, X, _ = trained
    fix_symbolic(model, 0, 0, 1, "sin", X)
    try:
        fig = plot_edge(model, 0, 0, 1, X)
    finally:
        model.unset_symbolic(0, 0, 1)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0] == "spline" and labels[1].startswith("snapped: ") and "sin" in labels[1]
    assert "alpha" in ax.get_xlabel()
    _render(fig)


def test_edge_suggests_a_fit_for_a_spline_edge(trained):
    model, X, _ = trained
    ax = plot_edge(model, 0, 1, 0, X).axes[0]
    lines = ax.get_lines()
    assert len(lines) == 2 and lines[1].get_label().startswith("best fit: ")
    assert lines[1].get_linestyle() == "--"
    assert "not snapped" in ax.get_title()
    assert len(plot_edge(model, 0, 1, 0, X, suggest=False).axes[0].get_lines()) == 1
    with pytest.raises(IndexError):
        plot_edge(model, 0, 5, 0, X)


# ----------------------------------------------------------------------- pareto
@pytest.fixture()
def front():
    return pd.DataFrame({
        "complexity": [1, 3, 5, 9], "rmse": [1.0, 0.1, 0.0, 0.05], "r2": [0.1, 0.9, 1.0, 0.99],
        "exact": [True, False, True, False], "chosen": [False, False, True, False],
        "formula": ["x", "2.1*x**2", "x**2 + 1", "long"], "latex": ["x", "2.1 x^{2}", "x^{2} + 1", "long"],
    })


def test_pareto_log_axis_and_chosen_star(front):
    fig = plot_pareto(front)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "complexity"
    star = next(c for c in ax.collections if c.get_label() == "chosen")
    x, y = star.get_offsets()[0]
    assert x == 5 and 0 < y < 0.05  # an exact zero is drawn below the smallest positive error
    assert any("RMSE 0" in t.get_text() and "x^{2} + 1" in t.get_text() for t in ax.texts)
    _render(fig)


def test_pareto_accepts_results_and_ax(front):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_pareto(SimpleNamespace(pareto=front), ax=ax) is fig
    assert len(plot_pareto(SimpleNamespace(equations_=front), annotate="all").axes[0].texts) == 4
    with pytest.raises(ValueError, match="lacks column"):
        plot_pareto(front.drop(columns="rmse"))
    with pytest.raises(NotFittedError):
        plot_pareto(KANRegressor())


# ----------------------------------------------------------------------- history
def test_history_of_training(trained):
    _, _, history = trained
    ax = plot_history(history).axes[0]
    assert ax.get_yscale() == "log"
    assert "train loss" in [line.get_label() for line in ax.get_lines()]


def test_history_of_discovery_stages():
    stages = pd.DataFrame({"stage": ["monomial", "terms", "kan"], "seconds": [0.1, 2.0, 5.0],
                           "candidates": [2, 5, 1], "best_rmse": [0.5, 0.01, 0.0], "note": ["", "", ""]})
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_history(SimpleNamespace(history=stages), ax=ax) is fig
    assert [t.get_text() for t in ax.get_yticklabels()] == ["monomial", "terms", "kan"]
    bars = ax.patches
    assert [b.get_x() for b in bars] == pytest.approx([0.0, 0.1, 2.1])
    assert any("best RMSE 0.01" in t for t in _texts(ax))
    _render(fig)
    with pytest.raises(ValueError, match="unknown history table"):
        plot_history(pd.DataFrame({"a": [1]}))
