"""Large tables: the search runs on a subsample, formulas are refitted and scored on all rows."""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd
import pytest
import sympy

import kansci
from kansci.bench.judge import is_exact
from kansci.discovery._candidates import score
from kansci.discovery._large import rescore_on_all_rows, search_problem
from kansci.discovery._problem import make_problem
from kansci.formula import refine_constants


def _table(n, d, law, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.uniform(1, 3, (n, d)), columns=[f"x{i}" for i in range(d)])
    y = law(df)
    df["y"] = y + noise * np.std(y) * rng.standard_normal(n)
    return df


def test_search_subsample_is_uniform_fixed_by_the_seed_and_shares_the_data():
    p = make_problem(_table(5000, 3, lambda t: t.x0 * t.x1), "y", seed=0)
    a, b, c = search_problem(p, 500, 0), search_problem(p, 500, 0), search_problem(p, 500, 1)
    assert len(a.train) == 500 and len(a.val) == 125
    np.testing.assert_array_equal(a.train, b.train)
    assert not np.array_equal(a.train, c.train)
    assert set(a.train) <= set(p.train) and set(a.val) <= set(p.val)
    assert a.X is p.X and a.y is p.y  # no copy of the table
    assert search_problem(p, 10_000, 0) is p  # small tables: the problem itself


def test_discover_searches_a_subsample_and_scores_on_every_held_out_row():
    df = _table(6000, 4, lambda t: 1.5 * t.x0 * t.x1**2)  # x2, x3 irrelevant
    d = kansci.discover(df, "y", time_limit=30, search_rows=400)
    x0, x1 = sympy.symbols("x0 x1", positive=True)
    assert is_exact(d.to_json()["formula"], sympy.Rational(3, 2) * x0 * x1**2)
    assert d.diagnostics["search_rows"] == 400
    assert "all rows" in list(d.history.stage)
    p = make_problem(df, "y", seed=0)  # the same split discover made
    full = float(np.sqrt(np.mean((d.predict(df)[p.val] - p.y[p.val]) ** 2)))
    assert d.rmse == pytest.approx(full, rel=1e-9, abs=1e-12)
    assert any("search on 400 of 4800 training rows" in n for n in d.notes)


def test_final_refit_uses_all_rows_for_the_constants():
    # a constant the data pin down only with many rows: 2% noise on the target
    df = _table(40_000, 2, lambda t: 2.3456 * t.x0 * t.x1, seed=3, noise=0.02)
    p = make_problem(df, "y", seed=0)
    x0, x1 = p.symbols
    small = search_problem(p, 300, 0)
    cand = score(sympy.Float(2.2) * x0 * x1, small, "test")
    (out,) = rescore_on_all_rows([cand], p)
    (c,) = out.expr.atoms(sympy.Float)
    (on_all,) = refine_constants(cand.expr, p.symbols, p.X[p.train], p.y[p.train],
                                 max_rows=len(p.train))[0].atoms(sympy.Float)
    (on_sample,) = refine_constants(cand.expr, p.symbols, p.X[small.train], p.y[small.train])[0].atoms(sympy.Float)
    assert float(c) == pytest.approx(float(on_all), rel=1e-9)
    assert abs(float(on_sample) - float(on_all)) > 1e-4  # the rows make a difference here
    assert abs(float(on_all) - 2.3456) < abs(float(on_sample) - 2.3456)
    assert len(out.residuals) == len(p.val)  # scored on every held-out row


def test_search_rows_must_leave_a_usable_sample():
    with pytest.raises(ValueError, match="search_rows"):
        kansci.discover(_table(100, 2, lambda t: t.x0 * t.x1), "y", search_rows=5)


@pytest.mark.slow
def test_a_million_rows_ten_columns_exact_within_the_time_limit():
    df = _table(1_000_000, 10, lambda t: t.x0 * np.sin(t.x1))
    start = time.perf_counter()
    d = kansci.discover(df, "y", time_limit=120)
    seconds = time.perf_counter() - start
    x0, x1 = sympy.symbols("x0 x1", positive=True)
    assert is_exact(d.to_json()["formula"], x0 * sympy.sin(x1))
    assert seconds < 135  # the time limit, plus reading the table once
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux
    assert peak_gb < 8


def test_rescoring_scores_exact_formulas_first_and_keeps_what_recognition_made_of_them():
    df = _table(3000, 2, lambda X: 0.5 * X.x0 * X.x1**2, noise=0.01)
    p = make_problem(df, "y", seed=0)
    x0, x1 = p.symbols
    fitted = score(sympy.Float(0.5002) * x0 * x1**2 + sympy.Float(0.001) * sympy.cos(x0), p, "search")
    simple = score(sympy.Float(0.5001) * x0 * x1**2, p, "monomial")
    exact = score(x0 * x1**2 / 2, p, "monomial")
    exact.recognised = {0: sympy.Rational(1, 2)}
    # a deadline already past: only the first formula is scored, and it must be the exact one
    out = rescore_on_all_rows([fitted, simple, exact], p, deadline=time.perf_counter() - 1.0)
    assert len(out) == 1 and out[0].expr == exact.expr and out[0].recognised == {0: sympy.Rational(1, 2)}
    out = rescore_on_all_rows([fitted, simple, exact], p)
    assert {str(c.expr) for c in out} >= {str(exact.expr)} and len(out) == 3
