"""The time limit is a promise: stages that overrun are cut and the result keeps what was found."""

import time

import numpy as np
import pandas as pd
import pytest

import kansci
from kansci.discovery._strategies import baseline_strategy, monomial_strategy


def _table(n=150, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.uniform(1, 2, (n, 2)), columns=["a", "b"])
    # noisy, and fewer rows than the stop at the noise needs (MIN_RATIO_ROWS): never "solved"
    df["y"] = df["a"] ** 2 / df["b"] * (1 + 1e-3 * rng.normal(size=n))
    return df


def _forever(ctx):  # a stage that never looks at the clock
    while True:
        time.sleep(0.01)


def test_a_stage_that_never_returns_is_cut_and_earlier_formulas_kept():
    start = time.perf_counter()
    d = kansci.discover(_table(), "y", time_limit=8, strategies=[
        ("baseline", baseline_strategy, 0.1), ("monomial", monomial_strategy, 0.1),
        ("forever", _forever, 1.0), ("after", _forever, 1.0)])
    took = time.perf_counter() - start
    assert took < 8.0 + 0.5
    assert d.diagnostics["cut"] == ["forever"] and d.diagnostics["skipped"] == ["after"]
    assert str(d.formula.expr) == "a**2/b"  # the monomial stage's exact law survives
    assert list(d.history["stage"]) == ["baseline", "monomial", "forever"]
    assert d.history["note"].iloc[-1] == "cut at the deadline"


def test_with_enough_rows_the_search_stops_at_a_law_that_fits_to_the_noise():
    d = kansci.discover(_table(n=400), "y", time_limit=8, strategies=[
        ("baseline", baseline_strategy, 0.1), ("monomial", monomial_strategy, 0.1), ("forever", _forever, 1.0)])
    assert d.diagnostics["fits_to_noise"] == "a**2/b" and "cut" not in d.diagnostics
    assert list(d.history["stage"]) == ["baseline", "monomial"]


def test_cut_before_any_formula_still_answers_with_the_baseline():
    start = time.perf_counter()
    d = kansci.discover(_table(), "y", time_limit=1, strategies=[("forever", _forever, 1.0)])
    assert time.perf_counter() - start < 1.5
    assert d.source in ("baseline", "linear") and np.isfinite(d.rmse)
    assert d.diagnostics["cut"] == ["forever"]


def test_a_hanging_simplification_is_abandoned(monkeypatch):
    import kansci.discovery._candidates as candidates

    def hang(*args, **kwargs):  # stands for a sympy call that never returns
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(candidates, "recognise_with_record", hang)
    start = time.perf_counter()
    d = kansci.discover(_table(), "y", time_limit=4, strategies=[
        ("baseline", baseline_strategy, 0.5), ("monomial", monomial_strategy, 1.0)])
    assert time.perf_counter() - start < 4.5
    assert d.r2 > 0.9999  # the refined monomial, its recognition abandoned


def test_nine_inputs_within_a_short_limit():
    rng = np.random.default_rng(1)
    names = ["m1", "m2", "G", "x1", "x2", "y1", "y2", "z1", "z2"]
    df = pd.DataFrame(rng.uniform(1, 2, (2000, 9)), columns=names)
    r2 = (df.x2 - df.x1) ** 2 + (df.y2 - df.y1) ** 2 + (df.z2 - df.z1) ** 2
    df["F"] = df.G * df.m1 * df.m2 / r2 * (1 + 0.01 * rng.normal(size=len(df)))
    start = time.perf_counter()
    d = kansci.discover(df, "F", time_limit=5)
    assert time.perf_counter() - start < 7.5
    assert np.isfinite(d.rmse) and d.r2 > -0.01  # at worst the baseline


def test_cli_answers_within_the_limit(tmp_path, capsys):
    from kansci.cli import main

    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    assert main(["discover", str(path), "--target", "y", "--time-limit", "2", "--quiet"]) == 0
    assert "y =" in capsys.readouterr().out
