import json

import numpy as np
import pandas as pd
import pytest
import sympy
import torch

from kansci.formula import Formula, symbols_for, to_latex, to_numpy, to_torch

COLUMNS = ["m [kg]", "lambda", "E", "θ"]


@pytest.fixture
def formula():
    vm = symbols_for(COLUMNS)
    m, lam, E, theta = vm.symbols
    expr = (
        0.39894228040143265 * m * sympy.exp(-lam) + E * sympy.sin(sympy.pi * theta) / 2
    )
    return Formula(expr, vm)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.uniform(0.5, 2.0, size=(20, 4)), columns=COLUMNS)


def _truth(df):
    m, lam, E, th = (df[c].to_numpy() for c in COLUMNS)
    return 0.39894228040143265 * m * np.exp(-lam) + E * np.sin(np.pi * th) / 2


def test_str_round_trips_through_sympify(formula):
    text = str(formula)
    assert "lambda_" in text and "E_" in text
    parsed = sympy.sympify(text, locals=formula.variable_map.by_name)
    assert parsed == formula.expr
    assert _plain_sympify_sees_only_symbols(text)


def _plain_sympify_sees_only_symbols(text):
    """The printed names are plain symbols even without locals (no I, E, lambda clash)."""
    parsed = sympy.sympify(text)
    return not parsed.has(sympy.E) and not parsed.has(sympy.I)


def test_predict_from_dataframe_and_array(formula, frame):
    expected = _truth(frame)
    np.testing.assert_allclose(formula.predict(frame), expected, rtol=1e-12)
    np.testing.assert_allclose(formula.predict(frame.to_numpy()), expected, rtol=1e-12)
    np.testing.assert_allclose(
        formula.to_numpy()(*frame.to_numpy().T), expected, rtol=1e-12
    )
    shuffled = frame[list(reversed(COLUMNS))].assign(
        extra=1.0
    )  # order and extras don't matter
    np.testing.assert_allclose(formula.predict(shuffled), expected, rtol=1e-12)


def test_predict_errors_are_clear(formula, frame):
    with pytest.raises(ValueError, match=r"lack column\(s\) \['lambda'\]"):
        formula.predict(frame.drop(columns=["lambda"]))
    with pytest.raises(ValueError, match=r"shape \(n_rows, 4\)"):
        formula.predict(np.zeros((3, 2)))


def test_to_torch_matches_numpy_and_has_parameters(formula, frame):
    module = formula.to_torch()
    params = list(module.parameters())
    assert params and sum(p.numel() for p in params) == 1  # the one float
    X = torch.tensor(frame.to_numpy())
    np.testing.assert_allclose(
        module(X).detach().numpy(), formula.predict(frame), rtol=1e-12
    )
    assert module.to_sympy() == formula.expr


def test_latex_uses_readable_names(formula):
    latex = formula.latex()
    assert r"\lambda" in latex and r"\theta" in latex and "m" in latex
    assert "lambda_" not in latex and "E_" not in latex
    assert formula._repr_latex_() == f"${latex}$"


def test_to_dict_is_json_ready(formula):
    d = formula.to_dict()
    json.dumps(d)
    assert d["complexity"] == formula.complexity > 0
    assert d["latex"] == formula.latex()
    # "m [kg]" is not an identifier, so the formula uses sanitised names plus the mapping
    assert d["variables"] == {
        "m": "m [kg]",
        "lambda_": "lambda",
        "E_": "E",
        "theta": "θ",
    }
    names = {n: sympy.Symbol(n) for n in d["variables"]}
    assert sympy.sympify(d["formula"], locals=names).free_symbols == set(names.values())


def test_to_dict_uses_original_names_when_they_are_identifiers():
    x, v = sympy.symbols("x v_0")
    f = Formula(3 * x + v, ["x", "v_0"])
    d = f.to_dict()
    assert d["formula"] == "v_0 + 3*x" and d["variables"] == {"x": "x", "v_0": "v_0"}
    d2 = Formula(sympy.Symbol("E_") * 2, ["E"]).to_dict()
    assert d2["formula"] == "2*E" and d2["variables"] == {"E": "E"}


def test_formula_accepts_symbols_and_names_and_rebinds():
    lam = sympy.Symbol("lambda", positive=True)
    f = Formula(lam**2 + 1, [lam])  # unsafe name: replaced, same assumptions
    assert f.variables == ["lambda"] and f.symbols[0].name == "lambda_"
    assert f.symbols[0].is_positive
    np.testing.assert_allclose(f.predict(np.array([2.0, 3.0])), [5.0, 10.0])
    g = Formula(
        sympy.Symbol("x") * 2, ["x"]
    )  # plain Symbol matched to the real one by name
    assert g.expr.free_symbols == {g.symbols[0]}
    with pytest.raises(ValueError, match="not one of the variables"):
        Formula(sympy.Symbol("q"), ["x"])
    with pytest.raises(TypeError, match="string"):
        Formula("x + 1", ["x"])


def test_repr_and_complexity():
    x = sympy.Symbol("x")
    f = Formula(x**2, ["x"])
    assert repr(f) == "Formula('x**2', variables=['x'])"
    assert f.complexity == 3


def test_float_formulas_round_trip_exactly():
    x = sympy.Symbol("x")
    f = Formula(0.1 * x + 1 / 3.0, ["x"])
    assert sympy.sympify(str(f), locals=f.variable_map.by_name) == f.expr


def test_exporters_are_thin_wrappers():
    x, y = sympy.symbols("x y")
    expr = 2.5 * x + y**2
    np.testing.assert_allclose(
        to_numpy(expr, [x, y])(np.array([1.0]), np.array([2.0])), [6.5]
    )
    module = to_torch(expr, [x, y])
    assert module(
        torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    ).item() == pytest.approx(6.5)
    assert to_latex(sympy.Symbol("theta") + 1) == r"\theta + 1"
    vm = symbols_for(["Δt"])
    assert to_latex(vm.symbols[0] ** 2, vm) == r"\Delta_{t}^{2}"
