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


def _occupation(n=2000, seed=6):
    # a Fermi-Dirac occupation 1/(exp(E/(k*T)) + 1) with E = p*q: four inputs, one group
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 4, size=(n, 4))
    p, q, k, T = X.T
    return X, 1 / (np.exp(p * q / (k * T)) + 1)


def test_reductions_chain_down_to_one_group():
    from kansci.discovery._symmetry import chained_reduction

    X, y = _occupation()
    found, _ = scale_reductions(X, y)
    assert found and len(found[0].groups) == 3  # one step removes one input
    deepest = chained_reduction(X, y, found[0])
    P, Q, K, T = sympy.symbols("p q k T")
    (group,) = deepest.group_exprs([P, Q, K, T])
    assert group in (P * Q / (K * T), K * T / (P * Q))
    assert deepest.prefactor_expr([P, Q, K, T]) == 1
    # a law with no further symmetry stays where it is
    rng = np.random.default_rng(7)
    a, b, c = rng.uniform(0.5, 3, (3, 1500))
    found, _ = scale_reductions(np.column_stack([a, b, c]), c * np.exp(-a / b) + np.sin(c))
    if found:
        assert len(chained_reduction(np.column_stack([a, b, c]), c * np.exp(-a / b) + np.sin(c), found[0]).groups) >= 2


def _relativistic_energy(noise, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    m, v, c = rng.uniform(1, 5, n), rng.uniform(1, 2, n), rng.uniform(3, 10, n)
    y = m * c**2 / np.sqrt(1 - (v / c) ** 2)
    return np.column_stack([m, v, c]), y + noise * np.sqrt(np.mean(y**2)) * rng.standard_normal(n)


def test_a_power_factor_of_one_group_is_found_on_exact_data_only():
    from kansci.discovery._dimensional import Reduction
    from kansci.discovery._symmetry import power_factors

    X, y = _relativistic_energy(0.0)
    # the reduced problem (c/v, m) of m*c**2*g(v/c), prefactor v**2: m is a factor of degree 1
    G, t = Reduction((), [[0, -1, 1], [1, 0, 0]], [0, 2, 0]).values(X, y)
    found = power_factors(G, t)
    assert found and found[0].prefactor == [0, 1] and found[0].groups == [[1, 0]]
    # nothing else passes: every other input and power leaves a dependence on it
    assert all(r.prefactor == [0, 1] for r in found)
    # under noise no factor is taken: one within the noise would pass the same tests
    X, y = _relativistic_energy(0.01)
    G, t = Reduction((), [[0, -1, 1], [1, 0, 0]], [0, 2, 0]).values(X, y)
    assert power_factors(G, t) == []
    assert power_factors(G, t, max_error=0.01)[0].prefactor == [0, 1]  # with a looser bound
    # a target that is no product of a power and the rest has no factor
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0.5, 3, (2, 1500))
    assert power_factors(np.column_stack([a, b]), np.sin(a * b) + a) == []


def test_the_chain_ends_at_the_ratio_below_one():
    from kansci.discovery._symmetry import chained_reduction

    X, y = _relativistic_energy(0.0)
    found, _ = scale_reductions(X, y)
    deepest = chained_reduction(X, y, found[0])
    m, v, c = sympy.symbols("m v c")
    assert deepest.group_exprs([m, v, c]) == [v / c]  # bounded: the Lorentz factor's own variable
    assert sympy.simplify(deepest.prefactor_expr([m, v, c]) / m).free_symbols <= {v, c}  # m once


def test_discover_finds_an_occupation_law_of_one_group_of_four_inputs():
    X, y = _occupation()
    df = pd.DataFrame(X, columns=["p", "q", "k", "T"]).assign(n=y)
    d = discover(df, target="n", time_limit=45, seed=0, progress=False)  # returns once exact (9-14 s alone)
    expr = d.formula.expr
    s = {v.name: v for v in expr.free_symbols}
    assert sympy.simplify(expr - 1 / (sympy.exp(s["p"] * s["q"] / (s["k"] * s["T"])) + 1)) == 0


def test_one_group_is_found_where_the_neighbours_do_not_resolve_the_full_problem():
    # cos(2*pi*a*b**2/c) (in no table): about eight periods over the data, so that the full
    # problem and every pair reduction look like noise to the neighbours; the one group does not
    rng = np.random.default_rng(1)
    X = rng.uniform([1, 1, 1], [2, 2, 3], (1600, 3))
    a, b, c = X.T
    for y in (np.cos(2 * np.pi * a * b**2 / c), np.cos(2 * np.pi * a * b**2 / c) + 0.01 * rng.standard_normal(1600)):
        found, _ = scale_reductions(X, y, time_budget=3)
        assert found and found[0].groups == [[1, 2, -1]]


def test_no_group_is_claimed_for_noise_or_for_two_groups():
    rng = np.random.default_rng(1)
    X = rng.uniform([1, 1, 1], [2, 2, 3], (1600, 3))
    a, b, c = X.T
    for y in (rng.standard_normal(1600), np.sin(9 * a * b) + np.sin(11 * b / c)):
        found, _ = scale_reductions(X, y, time_budget=3)
        assert not any(len(getattr(r, "groups", [])) == 1 for r in found)
