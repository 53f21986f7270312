"""Error bars in the data (``sigma=``) and the constants of a discovered law with their intervals."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.optimize

import kansci
from kansci.cli import main as cli_main
from kansci.datasets import loglog_errorbars


def _weighted_linear(seed=0, n=40):  # < 50 rows with error bars: every row is fitted
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    s = rng.uniform(0.05, 1.5, n)  # heteroscedastic error bars
    y = 1.2345 + 0.6789 * x + s * rng.standard_normal(n)
    return pd.DataFrame({"x": x, "y": y, "s": s})


def test_weighted_fit_equals_closed_form_weighted_least_squares():
    df = _weighted_linear()
    d = kansci.discover(df, target="y", sigma="s", time_limit=10, seed=0)
    assert "s" not in str(d.formula.expr.free_symbols)  # the error bars are not a feature
    A = np.column_stack([np.ones(len(df)), df["x"]])
    W = np.diag(1 / df["s"] ** 2)
    cov = np.linalg.inv(A.T @ W @ A)
    beta = cov @ A.T @ W @ df["y"]
    table = d.constants.set_index("value")
    assert len(d.constants) == 2 and d.constants["recognised"].isna().all()
    got = sorted(d.constants["value"])
    assert got == pytest.approx(sorted(beta), rel=1e-6)
    chi2 = float(np.sum((df["y"] - A @ beta) ** 2 / df["s"] ** 2)) / (len(df) - 2)
    assert d.chi2_dof == pytest.approx(chi2, rel=1e-6)
    se = np.sqrt(np.diag(cov)) * np.sqrt(max(chi2, 1.0))  # known error bars (Birge ratio if > 1)
    for b, e in zip(beta, se):
        row = table.loc[min(table.index, key=lambda v: abs(v - b))]
        assert row["std_error"] == pytest.approx(e, rel=1e-4)


def test_error_bar_table_gives_a_free_power_law_with_honest_intervals():
    df = loglog_errorbars()
    d = kansci.discover(df, target="y", sigma="yerr", time_limit=20, seed=0)
    c = d.constants
    assert len(c) == 3 and c["recognised"].isna().all()  # no pi, no 1/3: three fitted constants
    assert d.formula.expr.atoms(__import__("sympy").Float)
    f = lambda X, a, b, k: a * X[0] ** b * X[1] ** k  # noqa: E731
    popt, pcov = scipy.optimize.curve_fit(f, (df["d"], df["N"]), df["y"], p0=(2.7, 0.28, -0.6),
                                          sigma=df["yerr"], absolute_sigma=True)
    assert sorted(c["value"]) == pytest.approx(sorted(popt), rel=1e-5)
    assert sorted(c["std_error"]) == pytest.approx(sorted(np.sqrt(np.diag(pcov))), rel=0.02)
    assert 0.5 < d.chi2_dof < 0.9
    for row in c.itertuples():  # every interval holds its value and is wider than a rounding
        assert row.lower < row.value < row.upper and row.upper - row.lower > 0.05 * abs(row.value)
    data = d.to_json()
    assert data["chi2_dof"] == pytest.approx(d.chi2_dof)
    assert data["noise"]["method"] == "error bars" and len(data["constants"]) == 3
    assert "c0 = " in "\n".join(d.uncertainty_lines()) and "\u00b1" in "\n".join(d.uncertainty_lines())
    assert "95% interval" in d._repr_html_()


@pytest.mark.parametrize(
    "values, fragment",
    [
        ([0.1] * 29 + [0.0], "<= 0"),
        ([0.1] * 29 + [-0.2], "<= 0"),
        ([0.1] * 29 + [np.nan], "missing"),
        ([0.1] * 29 + ["big"], "numeric"),
    ],
)
def test_bad_sigma_values_get_a_one_line_error(values, fragment):
    x = np.linspace(1, 3, 30)
    df = pd.DataFrame({"x": x, "y": 2 * x, "s": pd.Series(values, dtype=object)})
    with pytest.raises(kansci.InputError, match=fragment) as info:
        kansci.discover(df, target="y", sigma="s", time_limit=5)
    assert "\n" not in str(info.value)


def test_missing_sigma_column_and_cli_exit_code(tmp_path, capsys):
    x = np.linspace(1, 3, 30)
    df = pd.DataFrame({"x": x, "y": 2 * x, "s": 0.1})
    with pytest.raises(kansci.InputError, match="not found"):
        kansci.discover(df, target="y", sigma="err", time_limit=5)
    with pytest.raises(kansci.InputError, match="is the target"):
        kansci.discover(df, target="y", sigma="y", time_limit=5)
    path = tmp_path / "t.csv"
    df.assign(s=[0.1] * 29 + [-1]).to_csv(path, index=False)
    code = cli_main(["discover", str(path), "--target", "y", "--sigma", "s", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "sigma" in err
    code = cli_main(["discover", str(path), "--target", "y", "--sigma", "nope", "--quiet"])
    assert code == 2 and "sigma column" in capsys.readouterr().err


def test_cli_prints_constants_and_writes_them_to_json(tmp_path, capsys):
    path, out = tmp_path / "loglog.csv", tmp_path / "out.json"
    loglog_errorbars().to_csv(path, index=False)
    code = cli_main(["discover", str(path), "--target", "y", "--sigma", "yerr", "--time-limit", "10",
                     "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "chi2/dof = " in text and "c2 = " in text and "\u00b1" in text
    data = json.loads(out.read_text())
    assert {"name", "value", "std_error", "lower", "upper", "recognised"} <= set(data["constants"][0])


def test_a_recognised_constant_is_shown_with_the_value_it_replaced():
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 3, 400)
    df = pd.DataFrame({"x": x, "y": np.pi * x**2 * (1 + 0.001 * rng.standard_normal(400))})
    d = kansci.discover(df, target="y", time_limit=15, seed=0)
    assert str(d.formula.expr) == "pi*x**2"
    (row,) = d.constants.to_dict(orient="records")
    assert row["recognised"] == "pi" and row["in_interval"] is True
    assert row["lower"] <= row["fitted"] <= row["upper"] and row["fitted"] != row["value"]
    assert np.isfinite(d.noise) and d.noise < 0.01 * np.std(df["y"])


@pytest.mark.parametrize("law", ["rational", pytest.param("parabola", marks=pytest.mark.slow)])
def test_noisy_laws_do_not_come_back_dressed_as_exact(law):
    """At 1% noise: whatever is chosen, a formula without fitted floats must fit to the noise,
    every recognised constant must lie in its own interval, and there are at most four."""
    rng = np.random.default_rng(7)
    u, v = rng.uniform(0, 5, 1500), rng.uniform(0, 5, 1500)
    clean = u * v / (1 + u**2) if law == "rational" else 0.35 * u**2 + np.sin(v)
    y = clean + 0.01 * np.sqrt(np.mean(clean**2)) * rng.standard_normal(1500)
    d = kansci.discover(pd.DataFrame({"u": u, "v": v, "y": y}), target="y", time_limit=20, seed=0)
    recognised = d.constants[d.constants["recognised"].notna()]
    assert recognised["in_interval"].all() and len(recognised) <= 4
    if not d.formula.expr.atoms(__import__("sympy").Float):
        assert d.rmse <= 1.5 * d.noise
