"""Readable plots: labelled symbolic edges with their constants, names without overlap, the
edge plot with spline, formula and data."""

from __future__ import annotations

import copy
import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection

import kansci
from kansci.plot import plot_edge, plot_network
from kansci.symbolic import fix_symbolic


@pytest.fixture(scope="module")
def wide():
    """A [10, 3, 1] KAN with three symbolic edges: sin, x^2 and x."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 10))
    y = np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2 + 0.1 * X[:, 2:].sum(1)
    names = [f"input_{k}" for k in range(10)]
    model = kansci.KAN([10, 3, 1], grid=5, seed=0, dtype=torch.float64, input_names=names,
                       output_names=["energy"])
    model.fit(X, y, steps=5)
    fix_symbolic(model, 0, 0, 0, "sin", X)
    fix_symbolic(model, 0, 1, 1, "x^2", X)
    fix_symbolic(model, 1, 0, 0, "x", X)
    return model, X, y


def _extents(fig, texts):
    renderer = FigureCanvasAgg(fig).get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_text().strip()]


def test_symbolic_edges_are_labelled_and_their_constants_listed(wide):
    model, X, _ = wide
    fig = plot_network(model, X)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("sin") == 1 and texts.count("x^2") == 1 and texts.count("x") == 1
    assert {f"input_{k}" for k in range(10)} | {"energy"} <= set(texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["symbolic edge", "spline edge"]
    a, b, c, d = (float(v) for v in model.layers[0].sym_affine[0, 0].detach())
    sin_row = next(t for t in legend if t.startswith("input_0 \u2192 h1.0: "))
    assert "sin(" in sin_row and f"{a:.4g}" in sin_row  # the fitted constants, 4 digits
    assert any(t.startswith("input_1 \u2192 h1.1: ") and "**2" in t for t in legend)
    colours = {tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
               for line in ax.get_legend().get_lines()[:2]}
    assert len(colours) == 2  # symbolic and spline edges in different colours


def test_ten_inputs_without_overlapping_labels(wide):
    model, X, _ = wide
    model = copy.deepcopy(model)
    for i in range(10):  # every first-layer edge symbolic: 30 labels in one column
        for j in range(3):
            if (i, j) not in model.layers[0].symbolic_edges():
                fix_symbolic(model, 0, i, j, "x", X)
    fig = plot_network(model, X)
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    boxes = _extents(fig, ax.texts)
    assert len(boxes) >= 10 + 1 + 31
    for p, q in itertools.combinations(boxes, 2):
        assert not p.overlaps(q), "two labels of the network plot overlap"
    legend = _extents(fig, ax.get_legend().get_texts())
    for p, q in itertools.combinations(legend, 2):
        assert not p.overlaps(q)


def test_edge_plot_shows_spline_formula_and_data(wide):
    model, X, y = wide
    ax = plot_edge(model, 1, 0, 0, X, y).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0] == "spline" and labels[1].startswith("snapped: ")
    (dots,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert dots.get_label().startswith("data: partial residuals") and len(dots.get_offsets()) == len(X)
    # partial residuals: y minus the rest of the network, so they sum back to y with it
    out = model.predict(X).numpy().ravel()
    edge = kansci.symbolic.edge_data(model, X, 1, 0, 0)[1]
    order = np.argsort(kansci.symbolic.edge_data(model, X, 1, 0, 0)[0], kind="stable")
    np.testing.assert_allclose(dots.get_offsets()[:, 1], (y - (out - edge))[order], rtol=1e-9, atol=1e-12)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("snapped: ") and "x" in t for t in texts)
    inner = plot_edge(model, 0, 0, 0, X).axes[0]  # not into an output node: the data rows
    (dots,) = [c for c in inner.collections if isinstance(c, PathCollection)]
    assert dots.get_label() == f"data: {len(X)} rows"
    assert "sin" in inner.get_lines()[1].get_label()
