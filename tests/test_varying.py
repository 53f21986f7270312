"""Varying coefficients: a law affine in one function of one input, a(z) + b(z)*g(x)."""

import time

import numpy as np
import pytest
import sympy

from kansci.discovery._decompose import solve
from kansci.discovery._subproblem import Node, Search, _rel_error
from kansci.discovery._varying import try_varying_coefficients, varying_inputs


def _node(f, names, lo, hi, n=300, seed=0):
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return Node(f, list(sympy.symbols(names, positive=True)), lo, hi, rng.uniform(lo, hi, size=(n, len(lo))))


def test_the_probe_names_the_inputs_the_law_is_affine_in():
    # p*q + (p + q**2)*exp(-x): affine in exp(-x) and in p (a, b depend on the rest); in q it has
    # q and q**2 (three functions), so q is not such an input
    node = _node(lambda Z: Z[:, 1] * Z[:, 2] + (Z[:, 1] + Z[:, 2] ** 2) * np.exp(-Z[:, 0]), "x p q",
                 [0, 0.5, 0.5], [3, 2, 2])
    found, _ = varying_inputs(node, np.random.default_rng(1), 2e-3)
    assert {j for _, j, _, _ in found} == {0, 1}


@pytest.mark.parametrize("f", [lambda Z: Z[:, 0] * np.sin(Z[:, 1]), lambda Z: Z[:, 0] ** 2 + np.sin(Z[:, 1]),
                               lambda Z: np.exp(Z[:, 0] * Z[:, 1])])
def test_products_sums_and_inseparable_laws_are_left_to_the_other_routes(f):
    node = _node(f, "x y", [0.5, 0.5], [2, 2])
    found, _ = varying_inputs(node, np.random.default_rng(1), 2e-3)
    assert found == []


def test_a_law_with_varying_coefficients_is_put_together_from_its_parts():
    # a(z) = z, b(z) = z**2, g(x) = cos(x): neither sum nor product of one-input functions
    node = _node(lambda Z: Z[:, 1] + Z[:, 1] ** 2 * np.cos(Z[:, 0]), "x z", [0, 0.5], [3, 2])
    search = Search(deadline=time.perf_counter() + 60, eps=1e-7, rng=np.random.default_rng(0))
    search.solver = solve
    y = node.f(node.X)
    out = try_varying_coefficients(node, y, search)
    assert out
    best = min(out, key=lambda e: _rel_error(e, node, y))
    assert _rel_error(best, node, y) < 1e-8
    x, z = node.syms
    assert sympy.simplify(sympy.nsimplify(best, tolerance=1e-8, rational=True) - (z + z**2 * sympy.cos(x))) == 0
    # the law's tree shows the step: a and b of z, g of x
    tree = search.trace.tree(node, best, lambda e, n: _rel_error(e, n, n.f(n.X)), {x: "x", z: "z"})
    assert tree.label == "a + b*g"
    assert [k.inputs for k in tree.children] == [("z",), ("z",), ("x",)]
