"""Noise-aware choice: the noise estimate, the description length and the chooser."""

import math

import numpy as np
import pandas as pd
import pytest
import sympy

from kansci.discovery._candidates import finish, score
from kansci.discovery._criterion import choose_by_codelength, codelength, fits_the_noise
from kansci.discovery._noise import estimate_noise, neighbour_noise
from kansci.discovery._problem import make_problem
from kansci.formula._codelength import exact_constant_codelength, parameter_codelength, structure_codelength

x, y = sympy.symbols("x y")


def _xy(p):
    return p.symbols


def _problem(f, noise, n=1000, seed=0, box=(0.5, 3.0)):
    rng = np.random.default_rng(seed)
    X = rng.uniform(*box, size=(n, 2))
    clean = f(X[:, 0], X[:, 1])
    target = clean + noise * np.sqrt(np.mean(clean**2)) * rng.standard_normal(n)
    return make_problem(pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "t": target}), "t", seed=seed)


@pytest.mark.parametrize("noise", [0.01, 0.1])
def test_neighbour_noise_estimates_low_dimensional_noise(noise):
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, size=(2000, 2))
    clean = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    sigma = noise * np.sqrt(np.mean(clean**2))
    est = neighbour_noise(X, clean + sigma * rng.standard_normal(2000))
    assert est == pytest.approx(sigma, rel=0.25)
    assert neighbour_noise(X, clean) < 0.005 * np.sqrt(np.mean(clean**2))  # no noise: a smooth remainder


def test_exact_constants_cost_their_digits_and_units():
    assert exact_constant_codelength(sympy.Integer(1)) == 0
    assert exact_constant_codelength(sympy.Rational(3, 2)) == pytest.approx(math.log(6))
    assert exact_constant_codelength(1 / (4 * sympy.pi)) < exact_constant_codelength(sympy.Rational(13, 11))
    assert exact_constant_codelength(sympy.Integer(63)) > exact_constant_codelength(sympy.Integer(2))
    law = structure_codelength(x - x * y / (1 + x**2))
    junk = structure_codelength(-y / sympy.pi + sympy.Rational(13, 11) * sympy.Abs(x - 1 / sympy.sqrt(sympy.pi)) + sympy.Rational(1, 9))
    assert sum(law) < sum(junk)


def test_parameter_cost_follows_precision():
    # ESR: log|theta| + log(I)/2 - log(3)/2; a precisely known constant costs more to state
    assert parameter_codelength([2.0], [1e6]) == pytest.approx(math.log(2.0) + 0.5 * math.log(1e6) - 0.5 * math.log(3))
    assert parameter_codelength([2.0], [1e8]) > parameter_codelength([2.0], [1e4])
    assert parameter_codelength([1e-3], [1.0]) == 0  # indistinguishable from zero: free


def test_simple_law_within_the_noise_beats_a_closer_mimic():
    """At 5% noise a mimic with more constants fits the sample a little better; the law wins."""
    p = _problem(lambda a, b: a * b, 0.05)
    x, y = _xy(p)
    law = score(x * y, p, "law")
    mimic = finish(sympy.Float(1.0) * x * y + sympy.Float(0.01) * x**3 * sympy.sin(y) + sympy.Float(0.01) * y**2
                   + sympy.Float(0.01), p, "mimic", recognise=False)[0]
    assert mimic.train_rmse <= law.train_rmse  # it does fit the sample more closely
    noise = estimate_noise(p, [law, mimic])
    chosen, _ = choose_by_codelength([mimic, law], p, noise)
    assert chosen is law
    assert codelength(law, p, noise).total < codelength(mimic, p, noise).total


def test_at_zero_noise_the_exact_law_beats_its_fitted_twin_and_a_near_miss():
    p = _problem(lambda a, b: a * b / (1 + a), 0.0)
    x, y = _xy(p)
    law = score(x * y / (1 + x), p, "law")
    fitted = finish(sympy.Float(1.0001) * x * y / (sympy.Float(0.999) + x), p, "fitted", recognise=False)[0]
    near = score(x * y / (1 + x) + sympy.Rational(1, 10**7) * x, p, "near")  # off by 1e-7
    noise = estimate_noise(p, [law, fitted, near])
    assert noise.sigma == pytest.approx(1e-9 * p.y_scale)  # floored at rounding level
    chosen, _ = choose_by_codelength([near, fitted, law], p, noise)
    assert chosen is law


def test_recognised_constants_must_fit_the_noise():
    p = _problem(lambda a, b: a * b, 0.01)
    x, y = _xy(p)
    law = finish(sympy.Float(1.0) * x * y, p, "law", recognise=False)[0]
    junk = score(sympy.Rational(7, 5) * x + y, p, "junk")
    junk.recognised = {0: sympy.Rational(7, 5)}  # as if recognised from a fitted 1.41*x + y
    noise = estimate_noise(p, [law, junk])
    assert fits_the_noise(law, p, noise) and not fits_the_noise(junk, p, noise)
    assert codelength(junk, p, noise).fit > codelength(law, p, noise).fit


def test_finish_records_what_was_recognised_with_its_interval():
    p = _problem(lambda a, b: np.pi * a + b, 0.001)
    x, y = _xy(p)
    out = finish(sympy.Float(3.14) * x + sympy.Float(1.001) * y, p, "test", noise=None)
    exact = [c for c in out if c.exact and c.named_constants]
    assert exact and exact[0].expr == sympy.pi * x + y
    ((i, value),) = exact[0].named_constants.items()
    assert value == sympy.pi and exact[0].intervals[i].contains(math.pi)
    assert exact[0].parent.atoms(sympy.Float)


def test_goodness_of_fit_allows_for_a_noise_estimate_made_on_fewer_rows():
    from kansci.discovery._noise import NoiseEstimate

    rng = np.random.default_rng(0)
    x = rng.uniform(1, 3, 20000)
    df = pd.DataFrame({"x": x, "y": 2 * x + 0.1 * rng.standard_normal(len(x))})
    p = make_problem(df, "y", seed=0)
    c = score(2 * p.symbols[0], p, "test")
    # a noise level 4 % below the true one, as an estimate from ~1,000 rows may well be
    low = NoiseEstimate(0.096, "surrogate", {}, rows=None)
    assert not fits_the_noise(c, p, low)  # taken as exact, 4000 held-out rows reject it
    assert fits_the_noise(c, p, NoiseEstimate(0.096, "surrogate", {}, rows=1000))  # the F test allows it
    assert not fits_the_noise(c, p, NoiseEstimate(0.08, "surrogate", {}, rows=1000))  # 20 % is too far


def _lorentz_table(eps: float, n: int = 1500):
    """rho/sqrt(1 - v**2/c**2) with noise ``eps*RMS``: a law of the ratio v/c."""
    rng = np.random.default_rng(1)
    rho, v, c = rng.uniform(1, 5, n), rng.uniform(1, 2, n), rng.uniform(3, 10, n)
    y = rho / np.sqrt(1 - v**2 / c**2)
    return np.column_stack([rho, v, c]), y + eps * np.sqrt(np.mean(y**2)) * rng.normal(size=n)


def test_neighbour_smoothing_removes_most_of_the_noise():
    from kansci.discovery._relevance import knn_smooth

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (2000, 2))
    truth = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    y = truth + 0.05 * rng.normal(size=2000)
    rows = np.arange(0, 2000, 5)
    err = np.sqrt(np.mean((knn_smooth(X, y, rows) - truth[rows]) ** 2))
    assert err < 0.5 * 0.05


def test_a_ratio_symmetry_hidden_by_noise_is_found_on_the_smoothed_target(monkeypatch):
    from kansci.discovery import _symmetry
    from kansci.discovery._symmetry import scale_reductions

    X, y = _lorentz_table(0.02)
    found, _ = scale_reductions(X, y)
    assert found and found[0].describe(["rho", "v", "c"]) == "constants [], groups [c/v, rho], prefactor 1"
    monkeypatch.setattr(_symmetry, "NOISY", 0.0)  # the raw target alone: the noise hides it
    assert scale_reductions(X, y)[0] == []


def test_term_regression_ranks_by_bic_on_the_target_under_noise():
    from kansci.discovery._terms import term_candidates

    X, y = _lorentz_table(0.01)
    rho, v, c = sympy.symbols("rho v c", positive=True)
    found = term_candidates(X, y, [rho, v, c], time_budget=5, max_terms=6)
    best = found[0][1]
    # the y**2 form with two coefficients, not the closest fit of the most terms
    assert any(abs(p.exp) == sympy.Rational(1, 2) for p in best.atoms(sympy.Pow))
    assert len(best.atoms(sympy.Float)) <= 3
    assert abs(float(best.subs({rho: 2, v: 1.5, c: 4})) - 2 / np.sqrt(1 - 1.5**2 / 16)) < 0.02


def test_neighbour_ratio_tells_noise_from_a_smooth_misfit():
    from kansci.discovery._noise import looks_like_noise, neighbour_ratio

    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, size=(2000, 3))
    noise = rng.standard_normal(2000)
    assert neighbour_ratio(X, noise) == pytest.approx(1.0, abs=0.1)
    assert looks_like_noise(X, noise)
    misfit = noise + 0.6 * np.sin(4 * X[:, 0])  # a smooth remainder of about a fifth of the noise variance
    assert neighbour_ratio(X, misfit) < 0.9
    assert not looks_like_noise(X, misfit)
    assert not looks_like_noise(X, noise + 0.5)  # an offset
    assert not looks_like_noise(X[:100], noise[:100])  # too few rows to tell
    # a misfit of a few large residuals in a corner and small smooth ones elsewhere: the
    # squared differences are ruled by the few, the signs and the cubic surface see the rest
    spike = 1e-3 * np.sin(3 * X[:, 0]) + np.where(X[:, 1] > 0.97, 5 * np.exp(20 * (X[:, 1] - 1)), 0)
    assert not looks_like_noise(X, spike)
    assert not looks_like_noise(X, noise + 0.3 * (X[:, 0] - 0.5) * (X[:, 2] - 0.5) * 12)  # a product term


def _context(problem, exprs):
    from kansci.discovery._stages import Context

    ctx = Context(problem, deadline=math.inf, seed=0)
    for e in exprs:
        ctx.candidates.append(score(e, problem, "test"))
    return ctx


def test_the_search_stops_at_an_exact_law_that_fits_to_the_noise():
    p = _problem(lambda a, b: a * b**2, 0.01, n=2000)
    x_, y_ = p.symbols
    assert _context(p, [x_ * y_**2]).solved()
    assert _context(p, [x_ * y_**2 + sympy.Float(0.001) * x_]).fit_to_noise() is None  # not exact
    # an exact near miss (about the noise level in RMSE, smooth in the inputs) does not stop it
    near = x_ * y_**2 * (1 + sympy.Rational(1, 60) * sympy.sin(2 * x_))
    assert not _context(p, [near]).solved()
    # nor does an exact law when a fitted formula fits clearly better
    assert not _context(p, [near, x_ * y_**2 * sympy.Float(1.0000001)]).solved()
    clean = _problem(lambda a, b: a * b**2, 0.0, n=2000)
    assert not _context(clean, [near]).solved()  # no noise: only a fit to rounding level stops it
