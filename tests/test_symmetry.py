"""Scale symmetries of pairs of inputs, found on the data without units."""

import numpy as np
import pandas as pd
import sympy

from kansci import discover
from kansci.discovery._symmetry import scale_reductions


def _gaussian(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    sigma = 10 ** rng.uniform(-3, -2, n)  # a width over a decade, an offset of both signs
    theta = rng.uniform(-5e-3, 5e-3, n)
    y = np.exp(-((theta / sigma) ** 2) / 2) / (np.sqrt(2 * np.pi) * sigma)
    return np.column_stack([sigma, theta]), y


def test_a_width_and_an_offset_reduce_to_their_ratio():
    X, y = _gaussian()
    found, base = scale_reductions(X, y)
    assert found, f"no reduction kept (full problem error {base:.3g})"
    best = found[0]
    s, t = sympy.symbols("sigma theta")
    assert best.group_exprs([s, t]) == [t / s]  # the signed offset stays in the numerator
    assert best.prefactor_expr([s, t]) == 1 / s


def test_a_law_without_a_pair_symmetry_is_not_reduced():
    rng = np.random.default_rng(2)
    X = rng.uniform(0.5, 3, size=(1500, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    found, _ = scale_reductions(X, y)
    assert found == []


def test_discover_finds_a_law_of_a_ratio_through_the_symmetry():
    # homogeneous of degree 1 in (a, b): a * f(b/a) with f not a primitive of one input
    rng = np.random.default_rng(3)
    a = 10 ** rng.uniform(0, 2, 1000)
    b = 10 ** rng.uniform(0, 2, 1000)
    df = pd.DataFrame({"a": a, "b": b, "y": a * np.exp(-b / a)})
    d = discover(df, target="y", time_limit=20, seed=0, progress=False)
    expr = d.formula.expr
    s = {v.name: v for v in expr.free_symbols}
    assert set(s) == {"a", "b"}
    assert sympy.simplify(expr - s["a"] * sympy.exp(-s["b"] / s["a"])) == 0


def test_a_product_and_a_translation_are_found():
    from kansci.discovery._symmetry import Translation

    rng = np.random.default_rng(5)
    w, t, c = rng.uniform(0.5, 3, 1500), rng.uniform(0.5, 3, 1500), rng.uniform(1, 2, 1500)
    found, _ = scale_reductions(np.column_stack([w, t, c]), c * np.exp(-w * t))
    W, T, C = sympy.symbols("w t c")
    assert found and W * T in found[0].group_exprs([W, T, C])
    a, b = rng.uniform(-3, 3, 1500), rng.uniform(-3, 3, 1500)
    found, _ = scale_reductions(np.column_stack([a, b, c]), c**2 * np.cos(a - b))
    assert found and isinstance(found[0], Translation)
    A, B = sympy.symbols("a b")
    assert found[0].group_exprs([A, B, C])[0] in (A - B, B - A)
