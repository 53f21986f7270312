"""The power-law fit behind the monomial candidates, on clean and noisy data."""

import numpy as np
import pytest
import sympy

from kansci.discovery._monomial import fit_power_law, monomial_candidates


def _law(n=2000, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 5, size=(n, 3))
    y = -X[:, 0] * X[:, 1] ** 4 / (8 * X[:, 2] ** 2)
    y_noisy = y + noise * np.sqrt(np.mean(y**2)) * rng.standard_normal(n)
    return X, y, y_noisy


def test_clean_power_law_is_exact():
    X, y, _ = _law()
    sign, coef = fit_power_law(X, y)
    assert sign == -1
    np.testing.assert_allclose(coef, [np.log(1 / 8), 1, 4, -2], atol=1e-9)


def test_noise_that_flips_the_sign_of_small_values_keeps_the_exponents():
    # additive noise of 10% of the RMS: most rows are small, so many change sign and an
    # unweighted log fit of |y| is far off; the weighted fit and its polish are not
    X, y, y_noisy = _law(noise=0.1)
    assert 0.05 < np.mean(y_noisy > 0) < 0.5
    a, b, c = sympy.symbols("a b c")
    exprs = monomial_candidates(X, y_noisy, [a, b, c])
    assert exprs, "no power law was fitted"
    assert sympy.simplify(exprs[0] / (a * b**4 / c**2)).is_Float
    assert float(exprs[0] / (a * b**4 / c**2)) == pytest.approx(-1 / 8, rel=0.02)


def test_a_target_of_both_signs_is_no_power_law():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 5, size=(500, 2))
    y = np.sin(3 * X[:, 0]) * X[:, 1]
    assert fit_power_law(X, y) is None
    assert monomial_candidates(X, y, sympy.symbols("a b")) == []
