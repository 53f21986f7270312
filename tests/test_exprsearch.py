"""Expression search: the feature space, sparse selection, and one law of each kind it solves.

Each law here stands for a kind of the issue on laws beyond the Feynman table and is not one
of its examples (nor of the 'beyond' table): the search must find it from its values alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from kansci.bench.judge import is_exact
from kansci.discovery._exprsearch import expression_search, rank_by_simplicity, sparse_subsets
from kansci.discovery._features import enumerate_features
from kansci.formula import complexity


def _data(ranges, f, n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(lo, hi, n) for lo, hi in ranges])
    return X, f(*X.T)


def _best(X, y, names, **kw):
    syms = sympy.symbols(names)
    syms = list(syms) if isinstance(syms, tuple) else [syms]
    found = expression_search(X, y, syms, rng=np.random.default_rng(0), **kw)
    assert found, "the search returned nothing"
    return found, syms


def _exact_among(found, truth, ranges, k=3):
    return any(is_exact(sympy.nsimplify(e, rational=True, tolerance=1e-7), truth, ranges) for _, e in found[:k])


def test_features_are_distinct_and_within_their_cost():
    X, _ = _data([(0.5, 2), (0.5, 2)], lambda a, b: a)
    space = enumerate_features(X, sympy.symbols("a b", positive=True), max_cost=4, max_features=5000)
    V = space.values
    assert len(space) == V.shape[0] > 50
    assert max(space.costs) <= 4
    keys = {tuple(np.round(v / np.abs(v).max(), 9)) for v in V}
    assert len(keys) == len(space)  # deduplicated by value
    i = next(j for j in range(len(space)) if space.trees[j][0] == "b")
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(V[i], sympy.lambdify(space.symbols, space.expr(i))(*X.T))


def test_sparse_subsets_finds_planted_columns_that_cancel():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(200, 300))
    A[:, 7] = A[:, 5] + 0.05 * rng.normal(size=200)  # two correlated columns whose difference matters
    t = 4 * A[:, 5] - 4 * A[:, 7] + A[:, 42]
    found = sparse_subsets(A, t, max_terms=3)
    assert any(set(s) == {5, 7, 42} and e < 1e-5 for e, s in found)  # from the Gram matrix: ~sqrt(eps)


def test_planted_three_input_formula_within_the_complexity_bound():
    ranges = [(0.5, 2), (0.5, 2), (0.5, 2)]
    X, y = _data(ranges, lambda a, b, c: np.exp(-a * b) / (1 + c**2))
    found, (a, b, c) = _best(X, y, "a b c", max_complexity=14, time_budget=8)
    assert all(complexity(e) <= 14 for _, e in found)
    assert found[0][0] < 1e-9
    assert _exact_among(found, sympy.exp(-a * b) / (1 + c**2), {"a": (0.5, 2), "b": (0.5, 2), "c": (0.5, 2)})


def test_rank_by_simplicity_prefers_the_simpler_of_equal_fits():
    x = sympy.Symbol("x")
    ranked = rank_by_simplicity([(1e-16, sympy.sin(x) + 1e-17 * sympy.exp(x)), (2e-16, sympy.sin(x)), (0.3, x)])
    assert ranked[0][1] == sympy.sin(x)


# ---------------------------------------------------------------- one law of each kind
def test_kind_sum_with_a_term_of_a_combination():
    ranges = [(-2, 2), (-2, 2)]
    X, y = _data(ranges, lambda p, q: np.sin(p + 3 * q) + p**2 / 2)
    found, (p, q) = _best(X, y, "p q", time_budget=6)
    assert _exact_among(found, sympy.sin(p + 3 * q) + p**2 / 2, {"p": (-2, 2), "q": (-2, 2)})


def test_kind_damped_oscillation():
    ranges = [(0.1, 1), (0, 4), (1, 3)]
    X, y = _data(ranges, lambda g, t, w: np.exp(-g * t) * np.sin(w * t) ** 2)
    found, (g, t, w) = _best(X, y, "g t w", time_budget=8)
    truth = sympy.exp(-g * t) * sympy.sin(w * t) ** 2
    assert _exact_among(found, truth, {"g": (0.1, 1), "t": (0, 4), "w": (1, 3)})


def test_kind_opposite_sign_powers():
    X, y = _data([(1, 4)], lambda r: 3 / r**8 - 1 / r**4)
    found, (r,) = _best(X, y, "r", time_budget=6)
    assert _exact_among(found, 3 / r**8 - 1 / r**4, {"r": (1, 4)})


def test_kind_angular_distribution_with_energy_dependent_coefficients():
    ranges = [(1, 5), (0, np.pi)]
    X, y = _data(ranges, lambda E, th: 1 / E**2 + (1 - 1 / E**2) * np.sin(th) ** 2)
    found, (E, th) = _best(X, y, "E th", time_budget=6)
    truth = 1 / E**2 + (1 - 1 / E**2) * sympy.sin(th) ** 2
    assert _exact_among(found, truth, {"E": (1, 5), "th": (0, np.pi)})


def test_kind_odd_root_on_inputs_of_both_signs_is_real():
    ranges = [(-4, 4), (0, 2)]
    X, y = _data(ranges, lambda x, z: np.cbrt(x) + z)
    found, (x, z) = _best(X, y, "x z", time_budget=6)
    truth = sympy.sign(x) * sympy.Abs(x) ** sympy.Rational(1, 3) + z
    assert _exact_among(found, truth, {"x": (-4, 4), "z": (0, 2)})
    f = sympy.lambdify([x, z], found[0][1], "numpy")
    assert np.all(np.isfinite(f(X[:, 0], X[:, 1])))  # real for x < 0 too


def test_kind_pole_inside_the_range_with_few_rows():
    X, y = _data([(-5, 5), (-5, 5)], lambda x, v: x**2 / (x - 1) + 2 * v, n=40, seed=2)
    found, (x, v) = _best(X, y, "x v", time_budget=6)
    assert _exact_among(found, x**2 / (x - 1) + 2 * v, {"x": (-5, 5), "v": (-5, 5)})


@pytest.mark.parametrize("power", [1, -1])
def test_kind_an_input_times_a_sum(power):
    # y = A**power * (1 - cos(k*x)): a sum only once the input's power is divided out; its
    # terms times A are beyond the feature bound the search uses for three inputs
    ranges = [(1, 4), (1, 4), (1, 4)]
    X, y = _data(ranges, lambda A, k, x: A**power * (1 - np.cos(k * x)))
    found, (A, k, x) = _best(X, y, "A k x", time_budget=6, max_cost=5)
    truth = A**power * (1 - sympy.cos(k * x))
    assert _exact_among(found, truth, {"A": (1, 4), "k": (1, 4), "x": (1, 4)})


@pytest.mark.parametrize("law, truth, ranges", [
    # a dipole-like angular factor over a power of a shifted product (1 + b*cos(theta))
    (lambda b, th: np.sin(th) ** 2 / (1 + b * np.cos(th)) ** 3, lambda b, th: sympy.sin(th) ** 2 / (1 + b * sympy.cos(th)) ** 3,
     [(0, 0.8), (0, np.pi)]),
])
def test_the_whole_table_search_keeps_two_input_features_of_cost_six(law, truth, ranges):
    from kansci.discovery._strategies import SEARCH_MAX_COST, SEARCH_MAX_FEATURES

    names = "b th"
    X, y = _data(ranges, law, n=1000)
    found, syms = _best(X, y, names, time_budget=12, max_cost=SEARCH_MAX_COST[len(ranges)],
                        max_features=SEARCH_MAX_FEATURES)
    assert _exact_among(found, truth(*syms), {str(s): r for s, r in zip(syms, ranges)})


@pytest.mark.parametrize("time_budget", [0.3])
def test_search_respects_a_small_time_budget(time_budget):
    import time

    X, y = _data([(0.5, 2)] * 3, lambda a, b, c: a * b + np.sin(c))
    start = time.perf_counter()
    expression_search(X, y, sympy.symbols("a b c"), time_budget=time_budget, rng=np.random.default_rng(0))
    assert time.perf_counter() - start < 20 * time_budget + 3  # generous: machines are noisy


# ---------------------------------------------------------------- end to end (slow)
@pytest.mark.slow
@pytest.mark.parametrize("law, ranges, n", [
    ("exp(-g*t)*sin(w*t)**2", {"g": (0.1, 1), "t": (0, 4), "w": (1, 3)}, 1000),
    ("x**2/(x - 1) + 2*v", {"x": (-5, 5), "v": (-5, 5)}, 50),
    ("3**a*7**b", {"a": (0, 8), "b": (0, 6)}, 300),
])
def test_discover_finds_laws_of_these_kinds_end_to_end(law, ranges, n):
    import pandas as pd

    import kansci
    from kansci import parse_expression

    rng = np.random.default_rng(5)
    names = list(ranges)
    cols = {k: (rng.integers(lo, hi + 1, n).astype(float) if law.startswith("3**") else rng.uniform(lo, hi, n))
            for k, (lo, hi) in ranges.items()}
    truth = parse_expression(law, names)
    syms = sorted(truth.free_symbols, key=lambda s: names.index(s.name))
    y = sympy.lambdify(syms, truth, "numpy")(*[cols[s.name] for s in syms])
    d = kansci.discover(pd.DataFrame({**cols, "y": y}), "y", time_limit=40)
    assert is_exact(d.to_json()["formula"], truth, ranges)
    assert not d.formula.expr.has(sympy.Float)  # shown in its exact, readable form
