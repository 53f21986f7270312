"""Affine fitting ``c*f(a*x + b) + d``: recovery, canonical forms, robustness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kansci.symbolic import AffineFit, Library, X, fit_affine
from kansci.symbolic._affine import canonical_inner

LIB = Library.default()


def _data(name: str, a: float, b: float, c: float, d: float, n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    return x, c * LIB[name].numpy(a * x + b) + d


# (primitive, a, b, c, d, canonical (a, b, c, d))
CASES = [
    ("x^2", 2.0, 1.0, 0.5, -1.0, (1.0, 0.5, 2.0, -1.0)),  # 0.5*(2x+1)^2 = 2*(x+0.5)^2
    ("x^2", -2.0, 1.0, 0.5, 0.0, (1.0, -0.5, 2.0, 0.0)),  # even: a > 0
    ("x^3", -1.5, 0.3, 1.0, 2.0, (1.0, -0.2, -3.375, 2.0)),  # odd: a > 0, sign into c
    ("1/x", 2.0, 3.0, 1.0, 0.0, (1.0, 1.5, 0.5, 0.0)),
    ("1/x", -1.0, -2.5, 2.0, 1.0, (1.0, 2.5, -2.0, 1.0)),
    ("sqrt", 1.0, 1.0, 2.0, 0.5, (1.0, 1.0, 2.0, 0.5)),  # u reaches 0 at x = -1
    ("sqrt", -4.0, 5.0, 1.0, 0.0, (-1.0, 1.25, 2.0, 0.0)),  # sqrt(5 - 4x) = 2*sqrt(1.25 - x)
    ("x^1.5", 1.5, 2.0, -1.0, 0.0, (1.0, 4 / 3, -(1.5**1.5), 0.0)),
    ("exp", 1.5, 0.7, 2.0, -1.0, (1.5, 0.0, 2.0 * math.exp(0.7), -1.0)),
    ("log", 3.0, 4.0, 2.0, 1.0, (1.0, 4 / 3, 2.0, 1.0 + 2.0 * math.log(3.0))),
    ("sin", -2.0, 0.3, 1.5, 0.2, (2.0, -0.3, -1.5, 0.2)),  # odd: a > 0
    ("sin", 2.0, 2.0, 1.0, 0.0, (2.0, 2.0 - math.pi, -1.0, 0.0)),  # b wrapped by pi
    ("cos", 3.0, -0.5, 2.0, 1.0, (3.0, -0.5, 2.0, 1.0)),
    ("tan", 0.6, 0.2, 1.0, 0.0, (0.6, 0.2, 1.0, 0.0)),
    ("tanh", 2.5, -0.5, 1.0, 1.0, (2.5, -0.5, 1.0, 1.0)),
    ("arcsin", -0.7, 0.1, 1.0, 0.0, (0.7, -0.1, -1.0, 0.0)),
    ("arccos", 0.9, 0.05, 1.0, 0.0, (0.9, 0.05, 1.0, 0.0)),
    ("arctan", 3.0, 1.0, -2.0, 0.5, (3.0, 1.0, -2.0, 0.5)),
    ("arctanh", 0.8, -0.1, 1.0, 0.0, (0.8, -0.1, 1.0, 0.0)),
    ("gaussian", 1.2, -0.4, 2.0, 0.1, (1.2, -0.4, 2.0, 0.1)),
    ("abs", 2.0, 0.5, 1.0, 0.0, (1.0, 0.25, 2.0, 0.0)),
    ("1/sqrt", 1.0, 1.5, 1.0, 0.0, (1.0, 1.5, 1.0, 0.0)),
    ("1/x^2", 1.0, 2.0, 1.0, 0.0, (1.0, 2.0, 1.0, 0.0)),
    ("x^4", 1.0, 0.5, 1.0, 0.0, (1.0, 0.5, 1.0, 0.0)),
]


@pytest.mark.parametrize(("name", "a", "b", "c", "d", "canonical"), CASES)
def test_recovers_exact_canonical_constants(name, a, b, c, d, canonical) -> None:
    x, y = _data(name, a, b, c, d)
    fit = fit_affine(x, y, LIB[name])
    assert fit.ok and fit.primitive == name
    assert fit.r2 > 1 - 1e-12
    np.testing.assert_allclose((fit.a, fit.b, fit.c, fit.d), canonical, rtol=1e-6, atol=1e-7)


def test_linear_and_zero_have_fixed_inner_constants() -> None:
    x = np.linspace(-2, 3, 50)
    fit = fit_affine(x, 4 * x - 1, "x")
    assert (fit.a, fit.b) == (1.0, 0.0) and fit.c == pytest.approx(4) and fit.d == pytest.approx(-1)
    zero = fit_affine(x, 4 * x - 1, "0")
    assert (zero.a, zero.b, zero.c) == (1.0, 0.0, 0.0)
    assert zero.d == pytest.approx(np.mean(4 * x - 1)) and zero.r2 == pytest.approx(0.0)


@pytest.mark.parametrize("name", [n for n in LIB if n not in ("x", "0")])
def test_canonical_inner_is_idempotent_and_keeps_the_function_family(name: str) -> None:
    prim = LIB[name]
    rng = np.random.default_rng(1)
    for _ in range(5):
        a, b = rng.uniform(0.3, 2) * rng.choice([-1, 1]), rng.uniform(-0.5, 0.5)
        a2, b2 = canonical_inner(prim, a, b)
        assert canonical_inner(prim, a2, b2) == pytest.approx((a2, b2))
        x = np.linspace(-0.3, 0.3, 40)
        f1, f2 = prim.numpy(a * x + b), prim.numpy(a2 * x + b2)
        if not (np.isfinite(f1).all() and np.isfinite(f2).all()):
            continue
        design = np.column_stack([f2, np.ones_like(f2)])
        coef, *_ = np.linalg.lstsq(design, f1, rcond=None)
        np.testing.assert_allclose(design @ coef, f1, atol=1e-9 * (1 + np.abs(f1).max()))


def test_data_far_from_the_origin_and_in_large_units() -> None:
    x = np.linspace(100.0, 200.0, 200)
    fit = fit_affine(x, 3 * np.log(x) + 1, "log")
    assert fit.r2 > 1 - 1e-12 and fit.a == 1.0 and fit.b == pytest.approx(0.0, abs=1e-9)
    assert fit.c == pytest.approx(3) and fit.d == pytest.approx(1)
    fit = fit_affine(x, 2 * np.exp(0.02 * x), "exp")
    assert fit.r2 > 1 - 1e-12 and fit.a == pytest.approx(0.02) and fit.c == pytest.approx(2)


def test_constant_y_gives_r2_one_and_zero_slope() -> None:
    x = np.linspace(0, 1, 30)
    for name in ("0", "sin", "log", "x"):
        fit = fit_affine(x, np.full_like(x, 2.5), name)
        assert fit.ok and fit.r2 == 1.0 and fit.c == 0.0 and fit.d == 2.5


def test_noisy_fit_is_close_and_r2_below_one() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 500)
    y = 2 * np.sin(1.3 * x + 0.4) + 0.02 * rng.standard_normal(500)
    fit = fit_affine(x, y, "sin")
    assert 0.999 < fit.r2 < 1.0
    assert fit.a == pytest.approx(1.3, rel=0.02) and fit.c == pytest.approx(2, rel=0.02)


def test_undefined_primitive_never_gives_nan() -> None:
    # the data cannot be described by arcsin restricted to a tiny inner argument
    x = np.linspace(-1, 1, 100)
    fit = fit_affine(x, x**2, "arcsin", a_range=(-1e-3, 1e-3), b_range=(5.0, 6.0))
    assert not fit.ok and fit.r2 == -math.inf and fit.rmse == math.inf
    assert "a_range" in fit.notes[-1]
    # a domain that excludes part of the data's natural argument still fits without NaN
    for name in LIB:
        fit = fit_affine(x, np.abs(x) + 0.1 * x, name)
        assert not math.isnan(fit.r2) and not math.isnan(fit.rmse)


def test_predict_and_formula_reproduce_the_fit() -> None:
    x, y = _data("tanh", 1.7, 0.2, -0.8, 0.3)
    fit = fit_affine(x, y, "tanh")
    np.testing.assert_allclose(fit.predict(x), y, atol=1e-10)
    expr = fit.formula()
    assert float(expr.subs(X, 0.25)) == pytest.approx(-0.8 * math.tanh(1.7 * 0.25 + 0.2) + 0.3)
    assert isinstance(fit, AffineFit) and fit.loss == pytest.approx(1 - fit.r2)


def test_weights_ignore_outliers_and_nan_rows_are_dropped() -> None:
    x, y = _data("exp", 1.0, 0.0, 1.0, 0.0, n=100)
    w = np.ones_like(x)
    y_bad = y.copy()
    y_bad[:5] += 50.0
    w[:5] = 0.0
    y_bad[10] = np.nan
    fit = fit_affine(x, y_bad, "exp", weights=w)
    assert fit.r2 > 1 - 1e-12 and fit.a == pytest.approx(1.0) and fit.c == pytest.approx(1.0)
    assert fit.n_valid == 94 and "dropped 6 rows" in fit.notes[0]


def test_weighted_r2_uses_the_weights() -> None:
    x = np.linspace(-1, 1, 101)
    y = x + np.where(x > 0.5, 0.3, 0.0)
    w = np.where(x > 0.5, 0.0, 1.0) + 1e-300
    assert fit_affine(x, y, "x", weights=w).r2 > 1 - 1e-12
    assert fit_affine(x, y, "x").r2 < 0.99


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [1, 2, 3], "y": [1, 2]}, "same length"),
        ({"x": [1, 2, 3], "y": [1, 2, 3], "weights": [1, -1, 1]}, ">= 0"),
        ({"x": [1, 2, 3], "y": [1, 2, 3], "weights": [1, 1]}, "length of x"),
        ({"x": [1, 2], "y": [1, 2]}, "at least 3"),
        ({"x": [1, 2, 3], "y": [1, 2, 3], "primitive": "nope"}, "name of a default"),
    ],
)
def test_invalid_input_raises_clear_errors(kwargs: dict, message: str) -> None:
    kwargs.setdefault("primitive", "sin")
    with pytest.raises(ValueError, match=message):
        fit_affine(**kwargs)


def test_x_without_spread_is_not_ok() -> None:
    fit = fit_affine(np.ones(10), np.arange(10.0), "sin")
    assert not fit.ok and "no spread" in fit.notes[-1]


def test_custom_primitive_is_fitted() -> None:
    lib = Library.default()
    prim = lib.add("sinh", "sinh(x)")
    x = np.linspace(-1, 1, 200)
    fit = fit_affine(x, 0.5 * np.sinh(1.4 * x - 0.3) + 2, prim)
    assert fit.r2 > 1 - 1e-12
    np.testing.assert_allclose((fit.a, fit.b, fit.c, fit.d), (1.4, -0.3, 0.5, 2.0), rtol=1e-7)


@pytest.mark.parametrize("prim", ["sin", "cos"])
def test_many_periods_over_the_data_are_found_by_the_periodogram(prim):
    # sin(2*pi*u)**2 over u = a*b/c in [1/4, 9]: about 35 radians of cos(4*pi*u) a unit of the
    # x span, beyond the coarse grid's steps (R^2 0.001 without the periodogram start)
    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(1, 3, 1600), rng.uniform(1, 3, 1600), rng.uniform(1, 4, 1600)
    u = a * b / c
    fit = fit_affine(u, np.sin(2 * np.pi * u) ** 2, prim, a_range=None, b_range=None)
    assert fit.r2 > 1 - 1e-12
    assert abs(abs(fit.a) - 4 * np.pi) < 1e-9
