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


def _candidate_matching(cands, truth, X, symbols):
    from kansci._evaluate import numpy_function

    for e in cands:
        if e.atoms(sympy.Float) - {sympy.Float(1.0)} and not all(
            abs(float(f) - round(float(f))) < 0.01 for f in e.atoms(sympy.Float)
        ):
            continue
        values = numpy_function(e, symbols)(*X.T)
        if np.allclose(values, truth, rtol=5e-3):
            return e
    return None


def test_a_power_of_one_minus_a_bounded_input_is_a_monomial_candidate():
    """An orbit's semi-latus rectum ``a*(1 - e**2)`` at 1 % noise: the eccentricity lies in
    (0, 1), so ``1 - e`` and ``1 + e`` join the log-space fit and their exponents round."""
    a, e = sympy.symbols("a e")
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.uniform(1, 10, 1500), rng.uniform(0.05, 0.9, 1500)])
    truth = X[:, 0] * (1 - X[:, 1] ** 2)
    y = truth + 0.01 * np.sqrt(np.mean(truth**2)) * rng.standard_normal(len(truth))
    found = _candidate_matching(monomial_candidates(X, y, [a, e]), truth, X, [a, e])
    assert found is not None and found.has(1 - e**2)


def test_a_ratio_below_one_enters_through_its_complements():
    """A driven response ``A/(1 - (w/w0)**2)`` below resonance (w < w0 on every row), at 1 %
    noise: the ratio ``w/w0`` is a bounded group and the power ``-1`` of ``1 - (w/w0)**2`` is
    found with the plain exponents rounded around it."""
    A, w, w0 = sympy.symbols("A w w0")
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.uniform(1, 3, 2000), rng.uniform(0.5, 2, 2000), rng.uniform(2.5, 5, 2000)])
    truth = X[:, 0] / (1 - (X[:, 1] / X[:, 2]) ** 2)
    y = truth + 0.01 * np.sqrt(np.mean(truth**2)) * rng.standard_normal(len(truth))
    found = _candidate_matching(monomial_candidates(X, y, [A, w, w0]), truth, X, [A, w, w0])
    assert found is not None


def test_no_bounded_group_on_a_plain_power_law():
    """A monomial fits without the complements: no extra candidate."""
    p, q = sympy.symbols("p q")
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.uniform(0.1, 0.9, 500), rng.uniform(1, 4, 500)])
    y = 2 * X[:, 0] ** 2 / X[:, 1]
    assert len(monomial_candidates(X, y, [p, q])) == 2
