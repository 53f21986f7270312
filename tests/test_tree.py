"""The structure of a law: the decomposition's tree of operations, its display, plot and CLI."""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import sympy

import kansci
from kansci.cli import main
from kansci.discovery._decompose import Node, Search, _rel_error, solve
from kansci.discovery._strategies import decomposition_strategy, monomial_strategy
from kansci.discovery._tree import LawTree, _Render, formula_parts
from kansci.plot import plot_tree


def _solve_tree(f, names: str, lo: float, hi: float, *, seed: int = 0):
    """Decompose an exact function (no surrogate) and return the tree of the best formula."""
    syms = list(sympy.symbols(names, real=True))
    rng = np.random.default_rng(seed)
    X = rng.uniform(lo, hi, (400, len(syms)))
    node = Node(f, syms, np.full(len(syms), lo), np.full(len(syms), hi), X)
    search = Search(deadline=time.perf_counter() + 20, eps=1e-9, rng=np.random.default_rng(seed))
    found = solve(node, search)
    assert found and found[0][0] < 1e-8, found[:2]
    return search.trace.tree(node, found[0][1], lambda e, n: _rel_error(e, n, n.f(n.X)), {})


def _by_inputs(node) -> dict:
    return {child.inputs: child for child in node.children}


def test_tree_records_a_transform_above_an_additive_split():
    root = _solve_tree(lambda Z: 1.0 / (np.sin(Z[:, 0]) + np.exp(Z[:, 1])), "a b", 0.5, 2.5)
    # the decomposition's transform, or (when the expression search at the root fits the law
    # directly) the same structure read from the fitted formula
    assert root.label == "1/f" and root.kind in ("transform", "leaf")
    direct = root.kind == "leaf"
    (split,) = root.children
    assert (split.kind, split.label) == ("part" if direct else "split", "+")
    kids = _by_inputs(split)
    assert "sin(a)" in kids[("a",)].formula and "exp(b)" in kids[("b",)].formula
    assert {k.kind for k in kids.values()} == {"part" if direct else "leaf"}


def test_tree_records_an_input_without_effect():
    root = _solve_tree(lambda Z: np.sin(Z[:, 0]) * np.exp(Z[:, 1]) + 0 * Z[:, 2], "a b c", 0.5, 2.5)
    assert root.kind == "fixed" and "c" in root.description
    (below,) = root.children
    assert below.inputs == ("a", "b") and below.label == "*"


def test_directly_fitted_formula_is_opened_into_its_parts_and_says_so():
    root = _solve_tree(lambda Z: Z[:, 0] * Z[:, 1] + np.sin(Z[:, 2]), "a b c", 1.0, 3.0)
    assert root.label == "+"
    if root.kind == "leaf":  # solved at the root by the term regression: parts read from the formula
        assert "fitted directly" in root.description
        assert all(n.kind == "part" and n.error is None for n in root.children)
    kids = _by_inputs(root)
    assert kids[("a", "b")].label == "*" and {k.inputs for k in kids[("a", "b")].children} == {("a",), ("b",)}
    assert "sin(c)" in kids[("c",)].formula


def test_formula_parts_of_a_gaussian_show_the_log_and_the_sum():
    x, y = sympy.symbols("x y", real=True)
    root = formula_parts(sympy.exp(-(x**2 + y**2) / 2), _Render({}, {}))
    assert root.label == "log f"
    (inner,) = root.children
    assert inner.label == "+" and [k.inputs for k in inner.children] == [("x",), ("y",)]
    assert formula_parts(sympy.sin(x) * y + 3, _Render({}, {})).label == "*"  # the offset is not a part
    assert formula_parts(x * y + sympy.exp(x), _Render({}, {})).label == "leaf"  # x in both terms


class _Exact:
    """A perfect 'surrogate': the true function, so the decomposition is fast and deterministic."""

    rel_error, model = 1e-12, None

    def __init__(self, f):
        self.f = f

    def __call__(self, X):
        return self.f(np.asarray(X, float))


def _table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(1.0, 3.0, (3, n))
    return pd.DataFrame({"a": a, "b b": b, "c": c, "f": a * np.sin(b / c)})


def test_discovery_tree_from_the_decomposition_stage():
    df = _table()
    exact = _Exact(lambda Z: Z[:, 0] * np.sin(Z[:, 1] / Z[:, 2]))
    stages = [("surrogate", lambda ctx: ctx.shared.update(surrogate=exact), 0.01),
              ("decompose", decomposition_strategy, 1.0)]
    d = kansci.discover(df, "f", time_limit=30, strategies=stages)
    assert d.source.startswith("decompose")
    tree = d.tree
    assert isinstance(tree, LawTree) and tree.decomposed
    root = tree.root
    assert (root.kind, root.label, root.inputs) == ("split", "*", ("a", "b b", "c"))
    kids = _by_inputs(root)
    assert set(kids) == {("a",), ("b b", "c")}
    sym = kids[("b b", "c")]
    # either the decomposition's symmetry node (b and c enter as b/c) with a one-input leaf, or
    # the expression search solves the two-input part directly and its structure is read from it
    if sym.kind == "symmetry":
        assert sym.label == "b b/c" and "depends on b b/c only" in sym.description
        (leaf,) = sym.children
        assert leaf.kind == "leaf" and leaf.inputs == ("b b/c",) and "sin(b b/c)" in leaf.formula
    else:
        assert "sin(b b/c)" in sym.formula and "fitted directly" in sym.description
        assert all(k.kind == "part" for k in sym.walk() if k is not sym)
    assert all(n.error is not None and n.error < 1e-6 for n in root.walk() if n.kind != "part")
    text = str(tree)
    assert "multiplicative split" in text and "b b/c" in text
    html = d._repr_html_()
    assert "structure of the law" in html and "multiplicative split" in html
    assert tree.to_dict()["root"]["label"] == "*"
    fig = plot_tree(d)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"*", "leaf"} <= texts and any("b b" in t for t in texts)
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_discovery_tree_says_plainly_when_no_decomposition_happened():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(1.0, 3.0, (2, 80))
    df = pd.DataFrame({"a": a, "b": b, "P": a**1.5 * b})
    d = kansci.discover(df, "P", time_limit=10, strategies=[("monomial", monomial_strategy, 1.0)])
    assert not d.tree.decomposed and d.tree.source == "monomial"
    assert str(d.tree).splitlines()[1].startswith("No decomposition: this law was found by the monomial stage")
    assert d.tree.root.label == "*" and all(n.error is None for n in d.tree.nodes())
    fig = plot_tree(d.tree)
    assert "No decomposition" in fig.axes[0].get_title()


def test_cli_prints_the_tree(tmp_path, capsys):
    rng = np.random.default_rng(2)
    a, b = rng.uniform(1.0, 3.0, (2, 60))
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": a, "b": b, "y": a**2 * b}).to_csv(path, index=False)
    assert main(["discover", str(path), "--target", "y", "--time-limit", "10", "--quiet", "--tree"]) == 0
    out = capsys.readouterr().out
    assert "No decomposition" in out and "[*]" in out and "[leaf]" in out


def test_plot_tree_rejects_objects_without_a_tree():
    with pytest.raises(ValueError, match="no law tree"):
        plot_tree(object())
