"""Several targets: one law each, the other targets never inputs, combined display and JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sympy

import kansci
from kansci.cli import main


@pytest.fixture(scope="module")
def forces():
    rng = np.random.default_rng(0)
    q, E, v, B = rng.uniform(1.0, 3.0, (4, 200))
    return pd.DataFrame({"q": q, "E": E, "v": v, "B": B, "Fx": q * E, "Fy": q * v * B})


def _exact(d, truth: str) -> bool:
    """The law's formula minus ``truth`` (text over the column names) simplifies to 0."""
    vm = d.formula.variable_map
    expected = kansci.parse_expression(truth, {n: vm.symbol(n) for n in d.formula.variables})
    return sympy.simplify(d.formula.expr - expected) == 0


def test_two_targets_give_both_laws_exactly(forces):
    d = kansci.discover(forces, target=["Fx", "Fy"], time_limit=30)
    assert isinstance(d, kansci.Discoveries)
    assert d.targets == ["Fx", "Fy"] and set(d) == {"Fx", "Fy"} and len(d) == 2
    assert d["Fx"].target == "Fx" and d.laws["Fy"].target == "Fy"
    assert _exact(d["Fx"], "q*E") and _exact(d["Fy"], "q*v*B")
    for law in d.values():  # the other target is never an input
        assert set(law.formula.variables) <= {"q", "E", "v", "B"}
    pred = d.predict(forces)
    assert list(pred.columns) == ["Fx", "Fy"]
    np.testing.assert_allclose(pred.to_numpy(), forces[["Fx", "Fy"]].to_numpy(), rtol=1e-9)
    js = d.to_json()
    assert set(js) == {"targets", "seconds"} and list(js["targets"]) == ["Fx", "Fy"]
    assert js["targets"]["Fy"] == d["Fy"].to_json()  # each law's JSON is the single-target JSON
    json.dumps(js)
    html = d._repr_html_()
    assert "<h4>Fx</h4>" in html and "<h4>Fy</h4>" in html
    assert "Fx = " in str(d) and d._repr_latex_().count("&=") == 2


def test_single_target_json_is_unchanged(forces):
    d = kansci.discover(forces[["q", "E", "Fx"]], "Fx", time_limit=10)
    assert isinstance(d, kansci.Discovery)
    assert set(d.to_json()) == {"target", "formula", "latex", "variables", "r2", "rmse", "complexity", "seconds",
                                "source", "pareto", "diagnostics", "notes", "provenance", "constants", "noise",
                                "chi2_dof", "dropped_columns", "physical_constants", "units", "constant_units"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(target=["Fx", "Fx"]), "more than once"),
    (dict(target=["Fx", "Fz"]), "'Fz'"),
    (dict(target=[]), "at least one target"),
    (dict(target=["Fx", "Fy"], features=["q", "Fy"]), "both as targets and as features"),
    (dict(target=["Fx", "Fy"], features=["q", "nope"]), "nope"),
])
def test_bad_target_lists_get_one_line_errors(forces, kwargs, message):
    with pytest.raises(kansci.InputError, match=message):
        kansci.discover(forces, time_limit=5, **kwargs)


def test_cli_target_list(forces, tmp_path, capsys):
    path = tmp_path / "forces.csv"
    forces.to_csv(path, index=False)
    out_json = tmp_path / "laws.json"
    code = main(["discover", str(path), "--target", "Fx,Fy", "--time-limit", "30", "--quiet", "--json",
                 str(out_json), "--plot", str(tmp_path / "p.png")])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("Fx = ") for line in lines) and any(line.startswith("Fy = ") for line in lines)
    data = json.loads(out_json.read_text())
    assert list(data["targets"]) == ["Fx", "Fy"] and data["targets"]["Fx"]["formula"] == "E*q"
    assert (tmp_path / "p.png").stat().st_size > 0
    assert main(["discover", str(path), "--target", "Fx,Fz"]) == 2
    assert "'Fz' not in" in capsys.readouterr().err
