import numpy as np
import pytest
import sympy

from kansci._evaluate import numpy_function
from kansci.formula import RefineInfo, refine_constants

x, y = sympy.symbols("x y", real=True)
a, b, c = sympy.symbols("a b c", positive=True)


def _rel_rmse(expr, symbols, X, Y):
    pred = numpy_function(expr, symbols)(*X.T)
    return np.sqrt(np.mean((pred - Y) ** 2)) / np.sqrt(np.mean(Y**2))


def _perturb(expr, rng, rel=1e-3):
    floats = sorted(expr.atoms(sympy.Float), key=float)
    return expr.xreplace(
        {f: sympy.Float(float(f) * (1 + rel * rng.standard_normal())) for f in floats}
    )


CASES = [
    (
        "exp_sin",
        1.02 * sympy.exp(0.97 * y**2 + 1.1 * sympy.sin(3.0 * x) + 0.1) - 0.2,
        [x, y],
        (-1, 1),
    ),
    (
        "monomial",
        0.8 * sympy.exp(1.1 * sympy.log(a) + 0.9 * sympy.log(b) - 2.05 * sympy.log(c)),
        [a, b, c],
        (1, 5),
    ),
    ("rational", (0.9 * x + 1.2 * y + 0.1) / (1.3 * x * y + 0.95), [x, y], (0, 0.9)),
    ("power", 2.5 * a**1.3 + 0.7 * sympy.sqrt(b), [a, b], (1, 5)),
]


@pytest.mark.parametrize("name, truth, symbols, box", CASES, ids=[c[0] for c in CASES])
def test_refine_recovers_data_generating_constants(name, truth, symbols, box):
    rng = np.random.default_rng(1)
    X = rng.uniform(*box, size=(400, len(symbols)))
    Y = numpy_function(truth, symbols)(*X.T)
    start = _perturb(truth, rng)
    assert _rel_rmse(start, symbols, X, Y) > 1e-5
    refined, info = refine_constants(start, symbols, X, Y)
    assert isinstance(info, RefineInfo) and info.improved
    assert _rel_rmse(refined, symbols, X, Y) < 1e-6
    assert info.rmse_after < info.rmse_before
    assert info.n_constants == len(start.atoms(sympy.Float))


def test_refine_survives_invalid_regions():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 2, size=(300, 1))
    Y = np.log(X[:, 0] + 1.5)
    start = sympy.log(x + 1.3) * 1.05  # log of a negative for x < -1.3: nan there
    refined, info = refine_constants(start, [x], X, Y)
    assert info.improved
    assert _rel_rmse(refined, [x], X, Y) < 1e-6


def test_refine_keeps_original_when_nothing_improves():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(200, 1))
    Y = 2.0 * X[:, 0]
    expr = 2.0 * x
    refined, info = refine_constants(expr, [x], X, Y)
    assert refined == expr and not info.improved
    exact = sympy.sin(x)
    refined, info = refine_constants(exact, [x], X, np.sin(X[:, 0]))
    assert refined == exact and info.n_constants == 0


def test_refine_respects_weights():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    Y = np.array([0.0, 1.0, 2.0, 10.0])
    w = np.array([1.0, 1.0, 1.0, 0.0])  # the outlier has no weight
    refined, _ = refine_constants(1.5 * x, [x], X, Y, weights=w)
    assert float(refined.coeff(x)) == pytest.approx(1.0, abs=1e-9)


def test_refine_input_errors():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"shape \(n_rows, 1\)"):
        refine_constants(1.0 * x, [x], X, np.zeros(5))
    with pytest.raises(ValueError, match="must match"):
        refine_constants(1.0 * x, [x], np.zeros((5, 1)), np.zeros(4))
    with pytest.raises(TypeError, match="string"):
        refine_constants("2*x", [x], np.zeros((5, 1)), np.zeros(5))


def test_refine_drops_rows_with_missing_values():
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, size=(100, 1))
    Y = 3.0 * X[:, 0] + 1.0
    Y[::10] = np.nan
    X[5, 0] = np.inf
    refined, info = refine_constants(2.9 * x + 1.1, [x], X, Y)
    assert info.improved
    a_, b_ = float(refined.coeff(x)), float(refined.subs(x, 0))
    assert a_ == pytest.approx(3.0, abs=1e-9) and b_ == pytest.approx(1.0, abs=1e-9)


def test_refine_pins_a_multiplicative_law_over_many_decades():
    # a growth law over 20 decades: on y only the largest rows count, and from a start 1 %
    # off the fit used to stall there; the fit on log|y| first pins every exponent
    rng = np.random.default_rng(0)
    X = rng.integers(0, 11, size=(800, 3)).astype(float)
    Y = 1.5 * np.exp(1.3 * X[:, 0] + 2.1 * X[:, 1] + 0.9 * X[:, 2])
    p, q, r = sympy.symbols("p q r", real=True)
    start = 1.515 * sympy.exp(1.287 * p + 2.121 * q + 0.891 * r)
    out, info = refine_constants(start, [p, q, r], X, Y)
    assert info.improved
    exponents = sorted(float(f) for f in out.atoms(sympy.Float))
    assert np.allclose(exponents, [0.9, 1.3, 1.5, 2.1], rtol=1e-9), out
