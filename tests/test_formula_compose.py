"""Composing a fully symbolic KAN into one sympy formula, and exporting it exactly."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

import kansci
from kansci._evaluate import numpy_function
from kansci.formula import simplify_formula, symbols_for
from kansci.formula._compose import compose, rational_rewrite
from kansci.symbolic import Library

F64 = torch.float64
LIB = Library.default()
SAFE = ["sin", "x^2", "tanh", "x", "arctan", "gaussian", "cos", "0"]


def _random_symbolic(width, seed=0, prune=()) -> kansci.KAN:
    """A KAN with every live edge set to a random everywhere-defined primitive."""
    rng = np.random.default_rng(seed)
    model = kansci.KAN(width, seed=seed, dtype=F64)
    for li, layer in enumerate(model.layers):
        with torch.no_grad():
            layer.bias.copy_(torch.as_tensor(rng.normal(size=layer.out_dim)))
        for i in range(layer.in_dim):
            for j in range(layer.out_dim):
                if (li, i, j) in prune:
                    with torch.no_grad():
                        layer.mask[i, j] = 0.0
                    continue
                prim = LIB[SAFE[rng.integers(len(SAFE))]]
                model.set_symbolic(li, i, j, prim, tuple(rng.uniform(-1.5, 1.5, 4)))
    return model


def _rel_rmse(a, b) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b**2)))


def test_compose_reproduces_the_model_with_pruned_edges_and_biases() -> None:
    model = _random_symbolic([3, 4, 2, 1], seed=1, prune={(0, 1, 2), (1, 3, 0)})
    X = np.random.default_rng(0).uniform(-2, 2, (300, 3))
    expr = compose(model)
    syms = list(symbols_for(model.input_names).symbols)
    assert isinstance(expr, sympy.Expr) and expr.free_symbols <= set(syms)
    assert expr.has(sympy.Float) and not expr.has(sympy.Rational(1, 3))
    pred = numpy_function(expr, syms)(*X.T)
    assert _rel_rmse(pred, model.predict(X).numpy().ravel()) < 1e-12


def test_pruned_edges_contribute_nothing() -> None:
    model = _random_symbolic([2, 1], seed=3)
    with torch.no_grad():
        model.layers[0].mask[1, 0] = 0.0
    x0, x1 = symbols_for(model.input_names).symbols
    assert x1 not in compose(model).free_symbols and x0 in compose(model).free_symbols


def test_several_outputs_give_a_list_or_the_one_asked_for() -> None:
    model = _random_symbolic([2, 3, 2], seed=2)
    X = np.random.default_rng(1).uniform(-1, 1, (200, 2))
    exprs = compose(model)
    assert isinstance(exprs, list) and len(exprs) == 2
    syms = symbols_for(model.input_names).symbols
    out = model.predict(X).numpy()
    for m, e in enumerate(exprs):
        assert _rel_rmse(numpy_function(e, syms)(*X.T), out[:, m]) < 1e-12
    assert compose(model, output=1) == exprs[1]
    with pytest.raises(IndexError):
        compose(model, output=2)


def test_scaling_maps_are_undone_in_raw_units() -> None:
    model = _random_symbolic([2, 2, 1], seed=4)
    rng = np.random.default_rng(2)
    raw = np.column_stack([rng.uniform(100, 300, 200), rng.uniform(-0.01, 0.01, 200)])
    shift, scale = np.array([200.0, 0.0]), np.array([100.0, 0.01])
    p, q = sympy.symbols("p q", real=True)
    expr = compose(model, [p, q], x_shift=shift, x_scale=scale, y_shift=5.0, y_scale=-3.0)
    expected = 5.0 - 3.0 * model.predict((raw - shift) / scale).numpy().ravel()
    assert _rel_rmse(numpy_function(expr, [p, q])(*raw.T), expected) < 1e-12
    with pytest.raises(ValueError, match="x_scale"):
        compose(model, x_scale=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="nonzero"):
        compose(model, x_scale=0.0)


def test_a_spline_edge_is_an_error_that_names_it() -> None:
    model = _random_symbolic([2, 1, 1], seed=5)
    model.unset_symbolic(0, 1, 0)
    with pytest.raises(ValueError, match=r"layer 0 edge \(1, 0\) x1 -> h1\.0.*Snap them first"):
        compose(model)
    with torch.no_grad():
        model.layers[0].mask[1, 0] = 0.0  # pruned splines are fine
    assert compose(model).free_symbols == set(symbols_for(["x0"]).symbols)


def test_symbols_may_be_a_variable_map_or_a_list_of_the_right_length() -> None:
    model = _random_symbolic([2, 1], seed=6)
    vm = symbols_for(["mass [kg]", "v (m/s)"], np.ones((3, 2)))
    expr = compose(model, vm)
    assert expr.free_symbols <= set(vm.symbols) and all(s.is_positive for s in vm.symbols)
    with pytest.raises(ValueError, match="expected 2 symbols"):
        compose(model, sympy.symbols("a b c"))
    with pytest.raises(TypeError, match="Symbols"):
        compose(model, ["a", "b"])


# --------------------------------------------------------------- exact export (issue acceptance)

x, y, t, u, v, a, b, c = (sympy.Symbol(n, real=True) for n in "x y t u v a b c".split())
PI = np.pi

LAWS = {
    "exp_sin": (
        [2, 1, 1], ["x", "y"], (-1.0, 1.0), sympy.exp(sympy.sin(sympy.pi * x) + y**2),
        {(0, 0, 0): ("sin", (PI, 0, 1, 0)), (0, 1, 0): ("x^2", (1, 0, 1, 0)),
         (1, 0, 0): ("exp", (1, 0, 1, 0))},
    ),
    "monomial": (
        [3, 1, 1], ["a", "b", "c"], (1.0, 5.0), a * b / c**2,
        {(0, 0, 0): ("log", (1, 0, 1, 0)), (0, 1, 0): ("log", (1, 0, 1, 0)),
         (0, 2, 0): ("log", (1, 0, -2, 0)), (1, 0, 0): ("exp", (1, 0, 1, 0))},
    ),
    "gauss": (
        [1, 1], ["t"], (-3.0, 3.0), sympy.exp(-(t**2) / 2) / sympy.sqrt(2 * sympy.pi),
        {(0, 0, 0): ("gaussian", (1 / np.sqrt(2), 0, 1 / np.sqrt(2 * PI), 0))},
    ),
    "gauss_two_layers": (
        [1, 1, 1], ["t"], (-3.0, 3.0), sympy.exp(-(t**2) / 2) / sympy.sqrt(2 * sympy.pi),
        {(0, 0, 0): ("x^2", (1, 0, 1, 0)), (1, 0, 0): ("exp", (-0.5, 0, 1 / np.sqrt(2 * PI), 0))},
    ),
    "relativistic": (
        [2, 1, 1], ["u", "v"], (0.0, 0.9), (u + v) / (1 + u * v),
        {(0, 0, 0): ("arctanh", (1, 0, 1, 0)), (0, 1, 0): ("arctanh", (1, 0, 1, 0)),
         (1, 0, 0): ("tanh", (1, 0, 1, 0))},
    ),
}


@pytest.mark.parametrize("name", list(LAWS))
def test_hand_set_kan_refit_exports_exactly_the_law(name: str) -> None:
    width, cols, (lo, hi), truth, edges = LAWS[name]
    rng = np.random.default_rng(0)
    X = rng.uniform(lo, hi, (1000, len(cols)))
    vm = symbols_for(cols, X)
    syms = list(vm.symbols)
    target = numpy_function(truth.xreplace({sympy.Symbol(n, real=True): s for n, s in zip(cols, syms)}), syms)
    yv = target(*X.T)
    model = kansci.KAN(width, seed=0, dtype=F64, input_names=cols)
    for (li, i, j), (prim, affine) in edges.items():
        noisy = [p * (1 + 1e-2 * rng.standard_normal()) if p else 1e-2 * rng.standard_normal()
                 for p in affine]
        model.set_symbolic(li, i, j, LIB[prim], noisy)
    model.fit(X, yv, steps=10, update_grid=False)
    expr = compose(model, vm)
    assert expr.has(sympy.Float)
    pred, out = numpy_function(expr, syms)(*X.T), model.predict(X).numpy().ravel()
    assert _rel_rmse(pred, out) < 1e-6  # before constant recognition
    law = rational_rewrite(simplify_formula(expr, syms, X, yv), syms, X)
    exact = truth.xreplace({sympy.Symbol(n, real=True): s for n, s in zip(cols, syms)})
    assert sympy.simplify(law - exact) == 0, f"{name}: got {law}"
    assert not law.has(sympy.Float)


# --------------------------------------------------------------------------- rational form


def test_rational_rewrite_unmasks_the_velocity_addition() -> None:
    X = np.random.default_rng(0).uniform(0, 0.9, (100, 2))
    composed = sympy.tanh(sympy.atanh(u) + sympy.atanh(v))
    out = rational_rewrite(composed, [u, v], X)
    assert not out.has(sympy.tanh, sympy.atanh)
    assert sympy.simplify(out - (u + v) / (1 + u * v)) == 0
    doubled = rational_rewrite(2 * sympy.tanh(2 * sympy.atanh(u)) + 1)
    assert sympy.simplify(doubled - (4 * u / (1 + u**2) + 1)) == 0


def test_rational_rewrite_leaves_alone_what_it_cannot_improve() -> None:
    for expr in (sympy.sin(2 * x), sympy.exp(x) + y, x / (1 + y**2), sympy.tanh(x + y)):
        assert rational_rewrite(expr) == expr
