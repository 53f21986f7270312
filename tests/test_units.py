"""Units: parsing with pint, Buckingham pi groups, dimensional consistency of formulas."""

from __future__ import annotations

import pickle
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import sympy

import kansci
from kansci import InputError
from kansci.formula import CONSTANTS, Formula, PhysicalConstant
from kansci.units import (
    Dimension,
    check_dimensions,
    parse_unit,
    parse_units_text,
    pi_groups,
    split_header_units,
    target_prefactor,
)
from kansci.units._linear import rref


def dims(*units):
    return [parse_unit(u).dimension for u in units]


def same_span(groups, known):
    """Two sets of exponent vectors span the same rational space (groups up to equivalence)."""
    a = [list(map(Fraction, g)) for g in groups]
    b = [list(map(Fraction, g)) for g in known]
    n = len(groups[0]) if groups else len(known[0])
    rank = lambda rows: len(rref(rows, n)[1]) if rows else 0  # noqa: E731
    return len(a) == len(b) and rank(a) == rank(b) == rank(a + b)


# ---------------------------------------------------------------- parsing
def test_units_parse_to_dimensions_and_si_factors():
    assert parse_unit("N").dimension == Dimension(mass=1, length=1, time=-2)
    assert parse_unit("F/m").dimension == Dimension(current=2, time=4, mass=-1, length=-3)
    assert parse_unit("km").factor == pytest.approx(1000.0)
    assert parse_unit("eV").factor == pytest.approx(1.602176634e-19)
    assert parse_unit("1").dimension.dimensionless and parse_unit("rad").dimension.dimensionless
    assert str(parse_unit("J").dimension) == "kg*m**2/s**2"


@pytest.mark.parametrize("text", ["furlongz", "m/", "degC"])
def test_a_bad_unit_is_a_one_line_error(text):
    with pytest.raises(InputError) as err:
        parse_unit(text)
    assert "\n" not in str(err.value) and repr(text) in str(err.value)


def test_units_text_and_header_units():
    assert parse_units_text("m=kg, v=m/s") == {"m": "kg", "v": "m/s"}
    with pytest.raises(InputError, match="column=unit"):
        parse_units_text("m:kg")
    assert split_header_units(["v [m/s]", "m[kg]", "t"]) == (["v", "m", "t"], {"v": "m/s", "m": "kg"})


# ---------------------------------------------------------------- Buckingham pi
def test_pendulum_period_groups():
    # T, L, g, m: one group T**2*g/L; the mass cannot enter any group
    groups = pi_groups(dims("s", "m", "m/s**2", "kg"))
    assert same_span(groups, [[2, -1, 1, 0]])
    pre = target_prefactor(dims("m", "m/s**2", "kg"), parse_unit("s").dimension)
    assert pre == [Fraction(1, 2), Fraction(-1, 2), 0]


def test_drag_force_groups():
    # F, rho, v, L, mu: drag coefficient F/(rho v^2 L^2) and the Reynolds number rho v L / mu
    groups = pi_groups(dims("N", "kg/m**3", "m/s", "m", "Pa*s"))
    assert same_span(groups, [[1, -1, -2, -2, 0], [0, 1, 1, 1, -1]])
    assert all(all(abs(x) <= 2 for x in g) for g in groups)  # small integers


def test_planck_law_groups():
    # B (spectral radiance), nu, T, h, c, k_B: h nu/(k_B T) and B c^2/(h nu^3)
    groups = pi_groups(dims("W/(m**2*sr*Hz)", "Hz", "K", "J*s", "m/s", "J/K"))
    assert same_span(groups, [[0, 1, -1, 1, 0, -1], [1, -3, 0, -1, 2, 0]])


def test_target_unit_that_no_product_gives():
    assert target_prefactor(dims("m", "s"), parse_unit("kg").dimension) is None


# ---------------------------------------------------------------- consistency
def test_dimensionally_inconsistent_candidates_are_rejected():
    r, q = sympy.symbols("r q", positive=True)
    units = {r: parse_unit("m").dimension, q: parse_unit("C").dimension}
    force = parse_unit("N").dimension
    assert not check_dimensions(sympy.exp(r) * sympy.Float(2.0), units, force).consistent  # exp of a length
    assert not check_dimensions(r + q, units, parse_unit("m").dimension).consistent  # a length plus a charge
    assert not check_dimensions(q**2 / (4 * sympy.pi * CONSTANTS.eps_0 * r**3), units, force).consistent
    ok = check_dimensions(q**2 / (4 * sympy.pi * CONSTANTS.eps_0 * r**2), units, force)
    assert ok.consistent
    # a fitted constant absorbs units, and the analysis says which
    fitted = check_dimensions(sympy.Float(8.98e9) * q**2 / r**2 * sympy.exp(sympy.Float(-3.0) * r), units, force)
    assert fitted.consistent
    assert {str(d) for d, _ in fitted.constants} == {"kg*m**3/(s**4*A**2)", "1/m"}


def test_log_of_a_ratio_is_consistent_in_either_form():
    a, b = sympy.symbols("a b", positive=True)
    units = {a: parse_unit("m").dimension, b: parse_unit("m").dimension}
    assert check_dimensions(sympy.log(a) - sympy.log(b), units, parse_unit("1").dimension).consistent


# ---------------------------------------------------------------- named constants
def test_physical_constants_print_evaluate_and_pickle():
    x = sympy.Symbol("x", positive=True)
    expr = PhysicalConstant("hbar") / (4 * sympy.pi * PhysicalConstant("eps_0")) * x
    assert str(expr) == "hbar*x/(4*pi*eps_0)"
    assert r"\hbar" in sympy.latex(expr) and r"\varepsilon_{0}" in sympy.latex(expr)
    assert pickle.loads(pickle.dumps(expr)) == expr
    assert not expr.atoms(sympy.Float)  # named constants are not refitted floats
    f = Formula(expr, ["x"])
    np.testing.assert_allclose(f.predict(np.array([[2.0]])), [2 * 1.0545718176461565e-34 / (4 * np.pi * 8.8541878188e-12)])
    assert f.to_dict()["constants"] == {"eps_0": 8.8541878188e-12, "hbar": 1.0545718176461565e-34}


def test_large_and_small_floats_print_in_scientific_notation():
    x = sympy.Symbol("x")
    text = str(Formula(sympy.Float(112943302462.0) * x + sympy.Float(6.62607015e-34), ["x"]))
    assert "1.12943302462e+11*x" in text and "6.62607015e-34" in text


# ---------------------------------------------------------------- discover errors
def _table():
    rng = np.random.default_rng(0)
    m, v = rng.uniform(1, 2, (2, 50))
    return pd.DataFrame({"m": m, "v": v, "E": m * v**2 / 2})


@pytest.mark.parametrize(
    "units, message",
    [
        ({"m": "kg", "v": "m/s", "E": "joulez"}, "unknown unit"),
        ({"m": "kg", "v": "m/s", "E": "J", "w": "m"}, "does not have"),
        ({"m": "kg", "E": "J"}, "no unit for column"),
        ({"m": "kg", "v": "m/s", "E": "cd"}, "cannot be formed"),
    ],
)
def test_bad_units_are_one_line_errors(units, message):
    with pytest.raises(InputError, match=message) as err:
        kansci.discover(_table(), "E", units=units, time_limit=2)
    assert "\n" not in str(err.value)


def test_unformable_target_without_physical_constants():
    with pytest.raises(InputError, match="cannot be formed"):
        kansci.discover(_table(), "E", units={"m": "kg", "v": "m/s", "E": "K"}, physical_constants=False,
                        time_limit=2)


def test_cli_units_option_and_its_errors(tmp_path, capsys):
    from kansci.cli import main

    path = tmp_path / "data.csv"
    _table().to_csv(path, index=False)
    assert main(["discover", str(path), "--target", "E", "--units", "m=kg,v=m/s,E=furlongz", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown unit" in err and err.count("\n") == 1 and "Traceback" not in err
    assert main(["discover", str(path), "--target", "E", "--units", "m=kg,v=m/s,E=J", "--time-limit", "5",
                 "--quiet"]) == 0
    assert "E = m*v**2/2" in capsys.readouterr().out


def test_units_in_the_header_are_read():
    df = _table().rename(columns={"m": "m [kg]", "v": "v [m/s]", "E": "E [J]"})
    d = kansci.discover(df, "E", time_limit=5)
    assert d.units == {"m": "kg", "v": "m/s", "E": "J"}
    assert str(d.formula) == "m*v**2/2"
    np.testing.assert_allclose(d.predict(df), df["E [J]"], rtol=1e-12)


def test_header_units_with_several_targets_and_with_units_given_too():
    df = _table().rename(columns={"m": "m [kg]", "v": "v [m/s]", "E": "E [J]"})
    df["p [kg*m/s]"] = df["m [kg]"] * df["v [m/s]"]
    laws = kansci.discover(df, ["E", "p [kg*m/s]"], time_limit=10)
    assert str(laws["E"].formula) == "m*v**2/2" and str(laws["p"].formula) == "m*v"
    assert laws["E"].units == {"m": "kg", "v": "m/s", "E": "J"}  # the other target's unit is not its
    # units given as well as in the header: the given ones win, the names lose their brackets
    d = kansci.discover(df.drop(columns="p [kg*m/s]"), "E", units={"m": "kg", "v": "m/s", "E": "kg*m**2/s**2"},
                        time_limit=5)
    assert d.units["E"] == "kg*m**2/s**2" and str(d.formula) == "m*v**2/2"


def test_error_bars_with_several_targets_are_a_one_line_error():
    df = _table()
    df["err"] = 0.01
    with pytest.raises(kansci.InputError, match="one target"):
        kansci.discover(df, ["E", "v"], sigma="err", time_limit=5)
