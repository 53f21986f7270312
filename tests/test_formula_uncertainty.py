"""Standard errors of fitted constants: textbook linear regression and curve_fit's covariance."""

import numpy as np
import pytest
import scipy.optimize
import sympy

from kansci.formula import constant_errors, refine_constants

x = sympy.Symbol("x")


def test_linear_regression_matches_closed_form():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, 200)
    y = 1.5 + 0.7 * X + rng.normal(0, 0.3, 200)
    expr, _ = refine_constants(sympy.Float(1.0) + sympy.Float(1.0) * x, [x], X, y)
    est = {round(e.value, 6): e for e in constant_errors(expr, [x], X, y)}
    A = np.column_stack([np.ones_like(X), X])
    beta, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    s2 = float(res[0]) / (len(y) - 2)
    se = np.sqrt(np.diag(s2 * np.linalg.inv(A.T @ A)))
    for b, s in zip(beta, se):
        e = est[round(b, 6)]
        assert e.std_error == pytest.approx(s, rel=1e-6)
        assert e.contains(b) and not e.contains(b + 3 * s)


def test_exponential_decay_matches_curve_fit():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 5, 80)
    y = 3.0 * np.exp(-0.8 * t) + rng.normal(0, 0.05, t.size)
    popt, pcov = scipy.optimize.curve_fit(lambda t, a, k: a * np.exp(-k * t), t, y, p0=(1, 1))
    expr = sympy.Float(popt[0]) * sympy.exp(-sympy.Float(popt[1]) * x)
    est = constant_errors(expr, [x], t, y)
    got = sorted((e.value, e.std_error) for e in est)
    want = sorted((abs(v) if i == 1 else v, s) for i, (v, s) in enumerate(zip(popt, np.sqrt(np.diag(pcov)))))
    for (gv, gs), (wv, ws) in zip(got, want):
        assert abs(gv) == pytest.approx(abs(wv), rel=1e-9)
        assert gs == pytest.approx(ws, rel=1e-3)


def test_known_error_bars_are_not_rescaled():
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, 100)
    sigma = np.full(100, 0.1)
    y = 2 * X + rng.normal(0, 0.1, 100)
    expr, _ = refine_constants(sympy.Float(1.0) * x, [x], X, y)
    (e,) = constant_errors(expr, [x], X, y, weights=1 / sigma**2, absolute_sigma=True)
    assert e.std_error == pytest.approx(0.1 / np.sqrt(np.sum(X**2)), rel=1e-6)


def test_degenerate_constant_has_infinite_error():
    X = np.linspace(0, 1, 50)
    y = (2 * X + 1) / (X + 3)
    # (a*x + b)/(c*x + d): scaling all four leaves the formula unchanged
    F = sympy.Float
    expr = (F(2.0) * x + F(1.0)) / (F(1.0) * x + F(3.0))
    est = constant_errors(expr, [x], X, y)
    assert len(est) == 4 and all(np.isinf(e.std_error) for e in est)


def test_formula_without_constants_has_none():
    assert constant_errors(x**2, [x], np.arange(5.0), np.arange(5.0) ** 2) == []


def test_profile_interval_agrees_with_wald_for_a_linear_model_and_is_asymmetric_for_a_rate():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 10, 200)
    y = 1.5 + 0.7 * X + rng.normal(0, 0.3, 200)
    expr, _ = refine_constants(sympy.Float(1.0) + sympy.Float(1.0) * x, [x], X, y)
    wald = constant_errors(expr, [x], X, y)
    prof = constant_errors(expr, [x], X, y, method="profile")
    for w, p in zip(wald, prof):  # linear least squares: the profile is exactly quadratic
        assert p.lower == pytest.approx(w.lower, rel=1e-3, abs=1e-6)
        assert p.upper == pytest.approx(w.upper, rel=1e-3, abs=1e-6)
    # a decay rate from few noisy rows: the sum of squares is far from quadratic in it
    t = np.linspace(0, 1, 12)
    yd = 2.0 * np.exp(-3.0 * t) + np.random.default_rng(4).normal(0, 0.15, t.size)
    rate, _ = refine_constants(sympy.Float(2.0) * sympy.exp(sympy.Float(-3.0) * x), [x], t, yd)
    w = constant_errors(rate, [x], t, yd)
    p = constant_errors(rate, [x], t, yd, method="profile")
    auto = constant_errors(rate, [x], t, yd, method="auto")
    k = max(range(len(w)), key=lambda i: abs(w[i].upper - w[i].lower) / abs(w[i].value))
    assert abs((p[k].upper - p[k].value) - (p[k].value - p[k].lower)) > 0.05 * (p[k].upper - p[k].lower)
    assert (auto[k].lower, auto[k].upper) == pytest.approx((p[k].lower, p[k].upper), rel=1e-6)


def test_jackknife_widens_intervals_where_rows_pull_the_constants():
    from kansci.datasets import kepler

    df = kepler()
    expr, _ = refine_constants(sympy.Float(1.0) * x ** sympy.Float(1.5), [x], df["a"], df["P"])
    wald = {round(e.value, 3): e for e in constant_errors(expr, [x], df["a"], df["P"])}
    jack = {round(e.value, 3): e for e in constant_errors(expr, [x], df["a"], df["P"], method="jackknife")}
    exponent_w, exponent_j = wald[1.5], jack[1.5]
    assert not exponent_w.contains(1.5)  # the planets' masses pull the exponent off 3/2 ...
    assert exponent_j.contains(1.5)  # ... by less than the rows' own scatter shows
    assert exponent_j.std_error > 2 * exponent_w.std_error


def test_floor_and_birge_ratio():
    X = np.linspace(0, 1, 50)
    exact, _ = refine_constants(sympy.Float(1.9) * x, [x], X, 2 * X)
    (e,) = constant_errors(exact, [x], X, 2 * X)
    assert e.std_error < 1e-12  # zero noise: rounding error only
    (f,) = constant_errors(exact, [x], X, 2 * X, min_sigma=1e-6)
    assert f.std_error == pytest.approx(1e-6 / np.sqrt(np.sum(X**2)), rel=1e-6)
    rng = np.random.default_rng(5)
    y = 2 * X + rng.normal(0, 0.3, X.size)  # scatter 3x the stated error bars
    fit, _ = refine_constants(sympy.Float(1.9) * x, [x], X, y)
    w = np.full(X.size, 1 / 0.1**2)
    (plain,) = constant_errors(fit, [x], X, y, weights=w, absolute_sigma=True)
    (inflated,) = constant_errors(fit, [x], X, y, weights=w, absolute_sigma=True, inflate=True)
    chi2 = np.sum(w * (y - float(fit.coeff(x)) * X) ** 2) / (X.size - 1)
    assert inflated.std_error == pytest.approx(plain.std_error * np.sqrt(chi2), rel=1e-6)


def test_bad_method_is_rejected():
    with pytest.raises(ValueError, match="method"):
        constant_errors(sympy.Float(1.0) * x, [x], np.arange(5.0), np.arange(5.0), method="bootstrap")
