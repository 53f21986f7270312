import keyword

import numpy as np
import pandas as pd
import pytest
import sympy

from kansci.formula import latex_name, sanitize_name, symbols_for

AWKWARD = [
    "m [kg]",
    "1st",
    "lambda",
    "I",
    "E",
    "gamma",
    "x y",
    "x",
    "x_1",
    "x_y",
    "θ",
    "Δt",
    "x-y",
]


def test_awkward_columns_get_valid_distinct_parse_safe_names():
    vm = symbols_for(AWKWARD)
    names = list(vm.names)
    assert len(set(names)) == len(names)
    for n in names:
        assert n.isidentifier() and not keyword.iskeyword(n)
        assert not hasattr(sympy, n), n  # would mean something else to sympify
    # a plain sympify reads every name as a Symbol (no locals needed)
    for n in names:
        assert sympy.sympify(n) == sympy.Symbol(n)
    assert dict(zip(AWKWARD, names)) == {
        "m [kg]": "m",
        "1st": "x_1st",
        "lambda": "lambda_",
        "I": "I_",
        "E": "E_",
        "gamma": "gamma_",
        "x y": "x_y_2",  # "x_y" is a clean name of its own and keeps it
        "x": "x",
        "x_1": "x_1",
        "x_y": "x_y",
        "θ": "theta",
        "Δt": "Delta_t",
        "x-y": "x_y_3",
    }


def test_mapping_goes_both_ways():
    vm = symbols_for(AWKWARD)
    for column, symbol in zip(vm.columns, vm.symbols):
        assert vm.symbol(column) is symbol
        assert vm.column(symbol) == column
        assert vm.column(symbol.name) == column
    assert vm.by_name["lambda_"] is vm.symbol("lambda")
    with pytest.raises(KeyError, match="no column"):
        vm.symbol("nope")


def test_latex_names_look_like_physics():
    vm = symbols_for(AWKWARD)
    latex = {c: vm.latex_names[vm.symbol(c)] for c in vm.columns}
    assert latex["x_1"] == "x_{1}"
    assert latex["θ"] == r"\theta"
    assert latex["m [kg]"] == "m"
    assert latex["lambda"] == r"\lambda"
    assert latex["gamma"] == r"\gamma"
    assert latex["Δt"] == r"\Delta_{t}"
    assert latex["E"] == "E"
    assert latex["1st"] == r"\mathrm{1st}"
    assert latex_name("velocity") == r"\mathrm{velocity}"


def test_unicode_and_units():
    assert sanitize_name("v (m/s)") == "v"
    assert sanitize_name("é") == "e"
    assert sanitize_name("µ") == "mu"
    assert sanitize_name("dθ") == "d_theta"
    assert sanitize_name("[]") == "x"


def test_assumptions_follow_the_data():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [-1.0, 2.0], "c": [0.0, 1.0]})
    vm = symbols_for(df)
    a, b, c = vm.symbols
    assert a.is_positive and b.is_real and not b.is_positive and not c.is_positive
    assert sympy.sqrt(a**2) == a  # the point of positivity
    vm2 = symbols_for(["a", "b"], data=np.array([[1.0, -1.0], [2.0, 3.0]]))
    assert vm2.symbols[0].is_positive and vm2.symbols[1].is_positive is None
    assert all(s.is_real for s in symbols_for(["p", "q"]).symbols)


def test_duplicate_columns_are_rejected():
    with pytest.raises(ValueError, match="repeated"):
        symbols_for(["a", "a"])
