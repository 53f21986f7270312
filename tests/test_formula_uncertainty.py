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
