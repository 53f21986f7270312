"""The KAN-claims benchmarks: special functions, scaling laws, continual learning, and their helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

import kansci
from kansci.bench import continual, scaling, special
from kansci.bench._curves import fit_scaling, pareto_front, smallest_reaching
from kansci.bench._models import count_kan, count_kan_paper, count_mlp, make_mlp
from kansci.bench._special_functions import evaluate_special, special_dataset, special_table
from kansci.cli import main as cli_main


# ---------------------------------------------------------------- helpers
def test_pareto_front_and_smallest_reaching():
    params = [10, 20, 20, 40, 80]
    errors = [1e-1, 5e-2, 2e-2, 3e-2, 1e-3]
    assert list(pareto_front(params, errors)) == [0, 2, 4]
    assert smallest_reaching(params, errors, 3e-2) == 2
    assert smallest_reaching(params, errors, 1e-4) is None


def test_fit_scaling_recovers_an_exponent_before_the_floor():
    n = np.array([20, 40, 80, 160, 320, 640, 1280, 2560])
    rmse = np.sqrt((3.0 * n**-4.0) ** 2 + 1e-9**2)
    fit = fit_scaling(n, rmse, n_train=1000)
    # N <= 1000 (the interpolation threshold); the floor (1e-9) starts at the first point
    # within 3x of the best (N = 320, 1.04e-9)
    assert fit["params_used"] == [20, 40, 80, 160, 320]
    assert 3.4 < fit["alpha"] < 4.0  # that last point is at the floor already: a conservative slope
    assert fit["alpha_floor"] == pytest.approx(4.0, abs=0.05)
    assert fit["floor"] == pytest.approx(1e-9, rel=0.3)
    assert fit["local_slopes"][0] == pytest.approx(4.0, abs=0.01)
    noisy = np.array([1e-2, 3e-3, 8e-4, 2e-4, 5e-4])  # a bump after the best point is cut
    assert fit_scaling([10, 20, 40, 80, 160], noisy)["params_used"] == [10, 20, 40, 80]
    assert fit_scaling([10, 20], [1e-2, 1e-3])["alpha"] == pytest.approx(np.log(10) / np.log(2))
    assert math.isnan(fit_scaling([10], [1e-2])["alpha"])


def test_parameter_counts():
    model = kansci.KAN([2, 3, 1], grid=5, dtype=torch.float64)
    assert count_kan(model) == 9 * (8 + 2) + 3 + 1
    assert count_kan_paper(model) == 9 * 8
    with torch.no_grad():
        model.layers[0].mask[0, 1] = 0.0
    model.set_symbolic(1, 0, 0, kansci.Library.default()["sin"])
    assert count_kan(model) == (5 * 10 + 3) + (2 * 10 + 4 + 1)
    assert count_mlp(make_mlp([2, 5, 1])) == 2 * 5 + 5 + 5 + 1
    a, b = make_mlp([2, 4, 1], seed=3), make_mlp([2, 4, 1], seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# ---------------------------------------------------------------- special functions
def test_special_table_is_bundled_and_finite():
    table = special_table()
    assert len(table) == 15 and table.id.is_unique
    for _, row in table.iterrows():
        X, y = special_dataset(row, 200, seed=0)
        assert X.shape == (200, 2) and bool(torch.isfinite(y).all())
        assert float(X.abs().max()) <= 1.0
        assert float(y.std()) > 1e-3


def test_special_functions_have_their_known_values():
    rows = special_table().set_index("id")
    polar = np.array([0.3, 1.0])
    # Y_1^0 = sqrt(3/(4 pi)) cos(polar), whatever the azimuth
    y10 = evaluate_special(rows.loc["sph_harm01"], np.array([0.5, -0.2]), polar)
    np.testing.assert_allclose(y10, np.sqrt(3 / (4 * np.pi)) * np.cos(polar), rtol=1e-12)
    # Re Y_2^2 = sqrt(15/(32 pi)) sin^2(polar) cos(2 azimuth)
    az = np.array([0.5, -0.2])
    y22 = evaluate_special(rows.loc["sph_harm22"], az, polar)
    np.testing.assert_allclose(y22, np.sqrt(15 / (32 * np.pi)) * np.sin(polar) ** 2 * np.cos(2 * az), rtol=1e-12)
    # P_1^0(z) = z, and sn(u|0) = sin(u)
    np.testing.assert_allclose(evaluate_special(rows.loc["lpmv0"], np.array([1.0]), np.array([0.4])), [0.4])
    np.testing.assert_allclose(evaluate_special(rows.loc["ellipj"], np.array([0.7]), np.array([0.0])), [np.sin(0.7)])


def _tiny_special():
    return special.Config(ids=["sph_harm01"], kan_shapes=[[2, 1, 1]], grids=[3, 5], steps=3,
                          mlp_hidden_layers=[1], mlp_widths=[2, 4], n_train=200, n_test=200)


def test_special_small_run_has_its_columns():
    runs, summary = special.run(_tiny_special(), progress=None)
    assert list(runs.columns) == special.RUN_COLUMNS
    assert set(runs.model) == {"kan", "mlp"}
    assert len(runs) == 2 * (2 + 2)  # two seeds of two KAN grids and two MLPs
    assert list(summary.columns) == special.SUMMARY_COLUMNS
    assert summary.function.tolist() == ["sph_harm01"]
    assert summary.paper_min_kan_shape.iloc[0] == "[2,1,1]"
    row = summary.iloc[0]
    # of the two seeds of a model, the one with the lower training error counts
    kan = runs[runs.model == "kan"].sort_values("train_rmse").drop_duplicates("grid")
    assert row.kan_best_rmse == pytest.approx(kan.test_rmse.min())
    assert "KAN smaller" in special.format_summary(summary)
    front = special.pareto_table(runs)
    assert set(front.columns) >= {"function", "model", "params", "test_rmse"}
    counts = special.threshold_table(runs, thresholds=(1.0, 1e-30))
    assert counts.functions.tolist() == [1, 1]
    assert counts.neither.tolist() == [0, 1]  # everything is below 1; nothing below 1e-30
    same = special.threshold_table(runs, thresholds=(special.THRESHOLD,))
    assert same.kan_smaller.iloc[0] == int(bool(row.kan_fewer))  # agrees with the summary
    assert "only the KAN reaches it" in special.format_thresholds(counts)


def test_special_rejects_an_unknown_id():
    with pytest.raises(ValueError, match="unknown special function"):
        special.run(special.Config(ids=["gamma"]), progress=None)


@pytest.mark.slow
def test_special_quick_mode(tmp_path, capsys):
    assert cli_main(["bench", "special", "--quick", "--out", str(tmp_path)]) == 0
    summary = pd.read_csv(tmp_path / "special_summary.csv")
    assert list(summary.columns) == special.SUMMARY_COLUMNS and len(summary) == 3
    runs = pd.read_csv(tmp_path / "special_runs.csv")
    assert list(runs.columns) == special.RUN_COLUMNS
    assert json.loads((tmp_path / "special.json").read_text())["functions"] == 3
    assert (tmp_path / "special_jv.png").exists() and (tmp_path / "special_all.png").exists()
    assert "fewer parameters than the smallest MLP" in capsys.readouterr().out


# ---------------------------------------------------------------- scaling laws
def test_scaling_toys_match_their_formulas():
    X = np.random.default_rng(0).uniform(-1, 1, size=(5, 100))
    toys = scaling.TOYS
    np.testing.assert_allclose(toys["xy"].target(X[:, :2]), X[:, 0] * X[:, 1])
    np.testing.assert_allclose(toys["mean100"].target(X), np.exp(np.mean(np.sin(np.pi * X / 2) ** 2, axis=1)))
    assert toys["mean100"].width == (100, 1, 1) and toys["exp4"].width == (4, 4, 2, 1)


def test_scaling_small_run_has_its_columns():
    cfg = scaling.Config(toys=["xy"], grids=[3, 5, 10], steps=3, mlp_hidden_layers=[1], mlp_widths=[2, 4, 8],
                         n_test=200, n_train=300, seeds=[0, 1])
    runs, alphas = scaling.run(cfg, progress=None)
    assert list(runs.columns) == scaling.RUN_COLUMNS
    assert runs[runs.model == "kan"].grid.tolist() == [3, 5, 10, 3, 5, 10]
    assert set(runs.seed) == {0, 1}
    assert list(alphas.columns) == scaling.ALPHA_COLUMNS
    assert set(alphas.curve) == {"kan", "mlp1"}
    verdict = scaling.verdict(alphas)
    assert list(verdict.columns) == ["toy", "kan_alpha", "mlp_alpha_best", "kan_larger", "smooth_2d"]
    assert "KAN alpha" in scaling.format_report(runs, alphas)


@pytest.mark.slow
def test_scaling_quick_mode(tmp_path, capsys):
    assert cli_main(["bench", "scaling", "--quick", "--out", str(tmp_path)]) == 0
    alphas = pd.read_csv(tmp_path / "scaling_alpha.csv")
    assert list(alphas.columns) == scaling.ALPHA_COLUMNS
    assert set(alphas.toy) == {"j0", "expsin", "xy"}
    assert (tmp_path / "scaling.png").exists()
    assert "KAN alpha larger than the best MLP's" in capsys.readouterr().out


# ---------------------------------------------------------------- continual learning
def test_continual_small_run():
    errors, preds = continual.run(steps=2, n_per_phase=40, grid=50, mlp_width=8)
    assert list(errors.columns) == ["model", "phase", "region", "rmse"]
    assert len(errors) == 3 * 5 * 5
    assert set(preds) == {"kan", "kan_local", "mlp"} and all(len(v) == 5 for v in preds.values())
    # coefficients-only training cannot touch a region it has no data under: after phase 1,
    # the untrained far regions of the local KAN are exactly as initialised
    local = errors[(errors.model == "kan_local")]
    after1, after2 = local[local.phase == 0].set_index("region").rmse, local[local.phase == 1].set_index("region").rmse
    assert after1.loc[4] == pytest.approx(after2.loc[4], rel=1e-12)


# ---------------------------------------------------------------- PDE solving
def test_poisson_mlp_width_reaches_the_parameter_count():
    from kansci.bench.poisson import mlp_width_for

    for target in (9, 500, 5210, 8810):
        w = mlp_width_for(target)
        assert count_mlp(make_mlp([2, w, w, 1])) >= target > count_mlp(make_mlp([2, w - 1, w - 1, 1]))


def test_poisson_small_run_compares_at_equal_steps_and_equal_time():
    from kansci.bench import poisson

    history, summary, sizes = poisson.run(steps=(2, 2), grids=(3, 6), mlp_widths=(4,), kan_widths=((2, 3, 1),),
                                          n=7, progress=None)
    assert list(summary.model) == ["kan", "mlp", "mlp"]
    kan_params = int(summary.params.iloc[0])
    wide = summary.iloc[-1]
    assert wide.params >= 10 * kan_params  # the MLP of ten times the KAN's parameters is always there
    assert set(history.groupby("shape").step.max()) == {4}  # trained as many steps
    assert summary.rel_l2_at_kan_cpu.notna().iloc[0] and summary.rel_l2_at_kan_cpu.iloc[0] == summary.rel_l2.iloc[0]
    assert sorted(sizes[sizes.model == "kan"].grid) == [3, 6]
    kan_cpu = summary.cpu_seconds.iloc[0]
    for shape, r in zip(summary["shape"], summary.itertuples()):
        done = history[(history["shape"] == shape) & (history.cpu_seconds <= kan_cpu)]
        assert (math.isnan(r.rel_l2_at_kan_cpu) and done.empty) or r.rel_l2_at_kan_cpu == done.rel_l2.iloc[-1]
