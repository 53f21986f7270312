"""Discovery: one call and one command from a table to the law."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sympy

import kansci
from kansci.bench.judge import is_exact
from kansci.cli import main as cli_main


def _table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    q, r, eps = rng.uniform(1, 5, (3, n))
    return pd.DataFrame({"q": q, "r": r, "epsilon": eps, "F": q / (4 * np.pi * eps * r**2)})


def test_power_law_is_recovered_exactly():
    df = _table()
    d = kansci.discover(df, "F", time_limit=20)
    q, r, eps = sympy.symbols("q r epsilon", positive=True)
    assert is_exact(d.to_json()["formula"], q / (4 * sympy.pi * eps * r**2))
    assert d.r2 > 0.999999 and d.formula.complexity <= 12
    assert list(d.pareto.columns[:3]) == ["complexity", "rmse", "r2"]
    assert d.pareto["chosen"].sum() == 1


def test_sum_with_a_trigonometric_term():
    rng = np.random.default_rng(1)
    b, a, t = rng.uniform(1, 5, (3, 400))
    df = pd.DataFrame({"beta": b, "alpha": a, "theta": t, "y": b * (1 + a * np.cos(t))})
    d = kansci.discover(df, "y", time_limit=30)
    beta, alpha, theta = sympy.symbols("beta alpha theta", positive=True)
    assert is_exact(d.to_json()["formula"], beta * (1 + alpha * sympy.cos(theta)))


def test_result_object_json_predict_and_display():
    df = _table()
    d = kansci.discover(df, "F", time_limit=20)
    out = d.to_json()
    for key in ("formula", "latex", "r2", "rmse", "complexity", "seconds", "pareto"):
        assert key in out
    assert {"formula", "latex", "complexity", "rmse", "r2"} <= set(out["pareto"][0])
    json.dumps(out)  # plain JSON
    np.testing.assert_allclose(d.predict(df), df["F"], rtol=1e-9)
    assert d.latex().startswith("F =")
    assert "<table" in d._repr_html_()


def test_nan_rows_are_dropped_with_a_warning():
    df = _table()
    df.loc[3, "q"] = np.nan
    df.loc[7, "F"] = np.inf
    with pytest.warns(UserWarning, match="dropped 2 of 300 rows"):
        d = kansci.discover(df, "F", time_limit=10)
    assert d.r2 > 0.999


def test_noise_data_still_gets_an_answer():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(size=100)})
    d = kansci.discover(df, "y", time_limit=5)
    assert np.isfinite(d.rmse)


@pytest.mark.parametrize(
    "frame, target, match",
    [
        (pd.DataFrame({"x": [1.0] * 20, "y": np.arange(20.0)}), "y", "constant"),
        (pd.DataFrame({"x": np.arange(20.0), "y": [2.0] * 20}), "y", "constant"),
        (pd.DataFrame({"x": np.arange(5.0), "y": np.arange(5.0)}), "y", "at least 10"),
        (pd.DataFrame({"x": np.arange(20.0), "y": [np.nan] * 20}), "y", "no finite"),
        (pd.DataFrame({"x": ["a"] * 20, "y": np.arange(20.0)}), "y", "non-numeric"),
        (pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0)}), "z", "not found"),
    ],
)
def test_bad_tables_get_clear_errors(frame, target, match):
    with pytest.raises(kansci.InputError, match=match):
        kansci.discover(frame, target, time_limit=5)


def test_duplicate_columns_get_a_clear_error():
    df = pd.DataFrame(np.ones((20, 3)), columns=["a", "a", "y"])
    with pytest.raises(kansci.InputError, match="duplicate"):
        kansci.discover(df, "y", time_limit=5)


def _cli(args, capsys):
    code = cli_main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_discover_writes_json(tmp_path, capsys):
    path = tmp_path / "coulomb.csv"
    _table().to_csv(path, index=False)
    out_json = tmp_path / "out.json"
    code, out, err = _cli(["discover", str(path), "--target", "F", "--time-limit", "20", "--json",
                           str(out_json), "--quiet"], capsys)
    assert code == 0
    assert out.startswith("F = ") and "LaTeX:" in out
    data = json.loads(out_json.read_text())
    assert data["r2"] > 0.999 and data["pareto"]


@pytest.mark.parametrize(
    "content, target, fragment",
    [
        (None, "y", "no such file"),
        ("", "y", "empty"),
        ("x,y\n", "y", "rows"),
        ("x,y\n1,2\n2,3\n", "z", "not in"),
        ("x,y\n" + "".join(f"{i},a\n" for i in range(20)), "y", "non-numeric"),
        ("x,y\n" + "".join(f"{i},5\n" for i in range(20)), "y", "constant"),
        ("x,y\n" + "".join(f"{i},{i}\n" for i in range(5)), "y", "at least 10"),
        ("x,x,y\n" + "".join(f"{i},{i},{i}\n" for i in range(20)), "y", "duplicate"),
        ("x,y\n" + "".join(f"{i},nan\n" for i in range(20)), "y", "no finite"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, content, target, fragment):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = _cli(["discover", str(path), "--target", target, "--quiet"], capsys)
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in err


def test_cli_binary_file_is_rejected(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(256)) * 8)
    code, out, err = _cli(["discover", str(path), "--target", "y", "--quiet"], capsys)
    assert code == 2 and "Traceback" not in err


def test_demo_rediscovers_keplers_third_law():
    run = subprocess.run([sys.executable, "-m", "kansci.cli", "demo", "--quiet"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "P = a**(3/2)" in run.stdout
    assert "a^{\\frac{3}{2}}" in run.stdout


@pytest.mark.parametrize("names", [["lambda", "I", "y"], ["E", "pi", "y"], ["gamma", "beta", "y"], ["S", "N", "y"],
                                   ["m [kg]", "v (m/s)", "y"], ["θ", "Δt", "y"]])
def test_awkward_column_names_work(names):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 3, (2, 200))
    df = pd.DataFrame({names[0]: a, names[1]: b, names[2]: a * b**2})
    d = kansci.discover(df, names[2], time_limit=10)
    assert d.r2 > 0.999999
    assert d.to_json()["formula"]
    np.testing.assert_allclose(d.predict(df), df[names[2]], rtol=1e-6)


@pytest.mark.parametrize("scale", [1e12, 1e-12])
def test_very_large_and_very_small_values(scale):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 3, (2, 200)) * scale
    df = pd.DataFrame({"a": a, "b": b, "y": a / b})
    d = kansci.discover(df, "y", time_limit=10)
    assert d.r2 > 0.999999


def test_two_hundred_columns_finish_within_the_time_limit():
    import time

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (300, 200))
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(200)])
    df["y"] = X[:, 3] * X[:, 7]
    start = time.perf_counter()
    d = kansci.discover(df, "y", time_limit=20)
    assert time.perf_counter() - start < 20 * 1.5 + 5
    assert np.isfinite(d.rmse)


def test_interrupt_keeps_the_formulas_found_so_far():
    from kansci.discovery._strategies import baseline_strategy

    def interrupted(ctx):
        raise KeyboardInterrupt

    def never(ctx):  # must not run after the interrupt
        raise AssertionError("a stage ran after the interrupt")

    rng = np.random.default_rng(2)
    df = pd.DataFrame(rng.uniform(1, 2, (200, 2)), columns=["a", "b"])
    df["y"] = 3 * df["a"] + np.sin(5 * df["b"])
    d = kansci.discover(df, "y", time_limit=20, strategies=[
        ("baseline", baseline_strategy, 0.1), ("interrupted", interrupted, 0.5), ("never", never, 0.5)])
    assert d.diagnostics["interrupted"] is True
    assert list(d.history["stage"]) == ["baseline", "interrupted"]
    assert d.history["note"].iloc[-1] == "interrupted"
    assert 0.5 < d.r2 < 1 and d.formula.expr.free_symbols  # the baseline's linear fit survives


def test_same_seed_same_formula_and_pareto():
    rng = np.random.default_rng(5)
    X = rng.uniform(1, 3, (400, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["y"] = np.sin(df["a"]) * df["b"] + df["c"] ** 2
    first = kansci.discover(df, "y", time_limit=30, seed=3)
    second = kansci.discover(df, "y", time_limit=30, seed=3)
    assert first.seconds < 30 and second.seconds < 30  # no stage cut short by the clock
    assert str(first.formula) == str(second.formula)
    pd.testing.assert_frame_equal(first.pareto.drop(columns=["latex"], errors="ignore"),
                                  second.pareto.drop(columns=["latex"], errors="ignore"))


def test_tiny_target_values_are_not_mistaken_for_a_constant():
    rng = np.random.default_rng(6)
    X = rng.uniform(1, 2, (200, 2))
    df = pd.DataFrame(X, columns=["a", "b"])
    df["y"] = 1e-24 * df["a"] * df["b"]
    d = kansci.discover(df, "y", time_limit=10)
    assert d.r2 > 0.999999
