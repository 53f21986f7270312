"""Kinds of law the expression search must reach: terms that nearly cancel, with a length
scale inside a power law (a Mie-type potential ``k*((7/(2*x))**8 - (7/(2*x))**4)``), and
squared half-angle sines of a product phase; none is in the benchmark tables."""

import numpy as np
import pytest
import sympy

from kansci.discovery._exprsearch import expression_search
from kansci.formula import recognise_with_record
from kansci.formula._candidates import expected_chance_matches, nice_candidates
from kansci.formula._codelength import exact_constant_codelength


def _mie(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    k, x = rng.uniform(0.5, 2.0, n), rng.uniform(3.0, 10.0, n)
    y = k * ((3.5 / x) ** 8 - (3.5 / x) ** 4)
    return np.column_stack([k, x]), y


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_search_finds_two_terms_that_each_correlate_poorly(seed):
    # k/x**4 alone ranks hundreds of places down the screening; it is the exact partner of
    # k/x**8, which leads
    X, y = _mie()
    k, x = sympy.symbols("k x")
    found = expression_search(X, y, [k, x], time_budget=12, max_cost=6, max_features=30000, max_terms=4,
                              rng=np.random.default_rng(seed))
    err, expr = found[0]
    assert err < 1e-10, expr
    powers = {p for p in sympy.expand(expr).atoms(sympy.Pow) if p.base == x}
    assert powers <= {x**-8, x**-4} and not expr.atoms(sympy.Function), expr


def test_a_power_of_a_simple_rational_is_recognised():
    X, y = _mie(seed=4)
    k, x = sympy.symbols("k x", positive=True)
    fitted = sympy.Float(22518.7539063) * k / x**8 - sympy.Float(150.062499) * k / x**4
    rec = recognise_with_record(fitted, [k, x], X, y)
    assert not rec.expr.atoms(sympy.Float), rec.expr
    assert sympy.simplify(rec.expr - k * ((sympy.Rational(7, 2) / x) ** 8 - (sympy.Rational(7, 2) / x) ** 4)) == 0


def test_powers_are_proposed_only_as_what_they_are_and_counted_as_rivals():
    values = {str(c.value) for c in nice_candidates(22518.75390625, "mul", window=1e-6)}
    assert "5764801/256" in values  # (7/2)**8
    assert not any("5764801" in v for v in (str(c.value) for c in nice_candidates(22530.0, "mul", window=1e-6)))
    assert not [c for c in nice_candidates(2.5, "exponent", window=0.5) if c.value == sympy.Rational(25, 4)]
    # a power costs its base, not its written-out digits; and the powers are rivals by chance
    assert exact_constant_codelength(sympy.Rational(5764801, 256)) < 0.5 * (np.log(5764801) + np.log(256))
    wide = expected_chance_matches(22518.75, 50.0, 4.0, "mul")
    assert wide > 0.1  # within +-50 a power of some simple rational is no evidence


def test_a_squared_half_angle_of_a_product_phase_is_within_a_three_input_search():
    # a*(1 - cos(k*x))/x**2 = 2*a*sin(k*x/2)**2/x**2 (single-slit-like; in no table): three
    # inputs are searched to cost 5, and sin(k*x/2) costs 6 by node count
    rng = np.random.default_rng(5)
    X = rng.uniform([0.5, 0.5, 0.5], [2.0, 3.0, 4.0], (1500, 3))
    y = X[:, 0] * (1 - np.cos(X[:, 1] * X[:, 2])) / X[:, 2] ** 2
    a, k, x = sympy.symbols("a k x")
    found = expression_search(X, y, [a, k, x], time_budget=12, max_cost=5, max_features=30000, max_terms=4)
    err, expr = found[0]
    assert err < 1e-10, expr
    assert sympy.simplify(expr - a * (1 - sympy.cos(k * x)) / x**2) == 0
