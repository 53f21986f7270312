import logging

import numpy as np
import pandas as pd
import sympy
from sympy import exp, log, sin, sqrt

from kansci._evaluate import numpy_function
from kansci.formula import recognise_constants, simplify_formula, tidy

x, y = sympy.symbols("x y", real=True)
a, b = sympy.symbols("a b", positive=True)


def test_tidy_shrinks_only_with_equal_values():
    X = np.linspace(2, 3, 50)[:, None]
    assert tidy((x**2 - 1) / (x - 1), [x], X) == x + 1
    assert tidy(sin(x) ** 2 + sympy.cos(x) ** 2 + x, [x], X) == x + 1
    Xpos = np.linspace(1, 3, 20)
    assert (
        tidy(exp(log(a) + log(b) - 2 * log(b)), [a, b], np.column_stack([Xpos, Xpos]))
        == a / b
    )


def test_tidy_refuses_rewrites_that_break_valid_points():
    X = np.linspace(-2, 2, 41)[:, None]  # x < 0 present: sqrt(x**2) is |x|, not x
    out = tidy(sqrt(x**2), [x], X)
    np.testing.assert_allclose(numpy_function(out, [x])(X[:, 0]), np.abs(X[:, 0]))


def test_data_positivity_is_used_even_for_plain_symbols():
    p, q = sympy.symbols(
        "p q"
    )  # no assumptions: exp(log p + log q) = p*q needs p, q > 0
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 4, size=(200, 2))
    Y = X[:, 0] * X[:, 1]
    raw = 1.0001 * exp(0.9999 * log(p) + 1.0002 * log(q) + 0.0001)
    result = simplify_formula(raw, [p, q], X, Y)
    assert result == p * q
    assert result.free_symbols == {p, q}  # the caller's own symbols come back


def test_simplify_formula_reads_dataframes_by_symbol_name():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": rng.uniform(-1, 1, 150), "x": rng.uniform(-1, 1, 150)})
    target = 2 * df["x"] + df["y"] ** 2
    raw = 2.0003 * x + 0.9998 * y**2 + 0.0001
    assert simplify_formula(raw, [x, y], df, target) == 2 * x + y**2


def test_tol_sets_how_much_error_a_constant_may_cost():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(300, 1))
    Y = 3 * X[:, 0] + 0.01 * rng.standard_normal(300)
    raw = 3.001 * x
    strict = recognise_constants(raw, [x], X, Y, tol=1e-12)
    assert strict.atoms(sympy.Float)  # any change costs more than 1e-12
    assert recognise_constants(raw, [x], X, Y) == 3 * x


def test_too_many_constants_skip_the_search(caplog):
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(100, 1))
    raw = sum(
        sympy.Float(0.5 + 0.1 * k) * sin(sympy.Float(1.0 + 0.2 * k) * x)
        for k in range(4)
    )
    Y = numpy_function(raw, [x])(X[:, 0])
    with caplog.at_level(logging.WARNING, logger="kansci"):
        out = recognise_constants(raw, [x], X, Y, max_constants=3)
    assert "max_constants" in caplog.text
    assert len(out.atoms(sympy.Float)) == 8
