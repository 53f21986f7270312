"""The Feynman benchmark command: isolation, resumability, summary, plot, Dask."""

from __future__ import annotations

import csv
import multiprocessing

import pandas as pd
import pytest

from kansci.bench import feynman as bench
from kansci.bench._report import (
    failures_by_stage,
    format_summary,
    plot_recovery,
    read_results,
    summarize,
)
from kansci.bench._report import ResultsWriter
from kansci.bench._runner import pending_specs, run_benchmark, run_isolated
from kansci.bench._task import COLUMNS, TaskSpec, failure_stage, run_task
from kansci.datasets import UnknownLawError

SMALL = {"time_limit": 0.5, "n_train": 200, "n_test": 200}


def spec(law_id: str, solver: str, noise: float = 0.0, seed: int = 0) -> TaskSpec:
    return TaskSpec(law_id, noise, seed, solver=f"_fake_solvers:{solver}", **SMALL)


def rows_by_id(path) -> dict[str, dict]:
    return {row["id"]: row for row in read_results(path).to_dict("records")}


# --- one run, every outcome ---------------------------------------------------------------------


def test_every_outcome_is_recorded_and_the_others_go_on(tmp_path):
    out = tmp_path / "results.csv"
    ids = ["I.6.2a", "I.12.1", "I.12.2", "I.12.4", "I.12.5", "I.14.3"]
    # all at once, so that the hang's hard limit is the only wait
    limits = lambda s: 2.0 if s.law_id == "I.12.4" else 60.0  # noqa: E731
    written = run_benchmark([spec(i, "mixed") for i in ids], out, jobs=len(ids), timeout=limits)
    assert sorted(r["id"] for r in written) == sorted(ids)
    rows = rows_by_id(out)
    assert len(rows) == len(ids)

    good = rows["I.6.2a"]  # (a) the true formula
    assert good["status"] == "ok" and good["exact"] and good["symbolic"] and good["accurate"]
    assert good["stage"] == "" and good["r2"] == pytest.approx(1.0) and good["rmse"] < 1e-9
    assert good["pruned_width"] == "[2, 1]" and good["n_vars"] == 1 and good["seconds"] < 5
    wrong = rows["I.12.1"]  # (b) a wrong formula after a poor fit
    assert wrong["status"] == "ok"
    assert not (wrong["exact"] or wrong["symbolic"] or wrong["accurate"])
    assert wrong["stage"] == "fit" and wrong["formula"] == "mu + 1" and wrong["r2"] < 0.5
    assert wrong["fit_r2"] == 0.5 and wrong["rmse"] > 0
    close = rows["I.14.3"]  # 1% off after a perfect fit: snapping is to blame
    assert close["symbolic"] and not close["exact"] and close["stage"] == "snapping"
    crashed = rows["I.12.2"]  # (c) os._exit(1)
    assert crashed["status"] == "crashed" and crashed["stage"] == "crash"
    assert "exited with code 1" in crashed["error"]
    assert crashed["truth"] == "q1*q2/(4*pi*epsilon*r**2)"
    hung = rows["I.12.4"]  # (d) killed at the hard limit
    assert hung["status"] == "timeout" and hung["stage"] == "timeout"
    assert 1.9 < hung["seconds"] < 10
    raised = rows["I.12.5"]  # (e) an exception that names its stage
    assert raised["status"] == "error" and raised["stage"] == "pruning"
    assert raised["error"] == "FakeDiscoveryError: no edge survived pruning"


def test_a_segfault_kills_only_its_law():
    row = run_isolated(spec("I.12.1", "segfault"), timeout=30)
    assert row["status"] == "crashed" and "SIGSEGV" in row["error"]
    assert "\n" not in row["error"]


def test_the_child_solves_with_one_torch_thread():
    row = run_isolated(spec("I.12.1", "threads"), timeout=30)
    assert row["status"] == "ok" and row["exact"]
    assert row["complexity"] == 1


@pytest.mark.parametrize("method", ["forkserver", "spawn", "subprocess"])
def test_the_child_loads_blas_single_threaded(method):
    # OpenBLAS reads its thread count once, when numpy loads: before the task starts (a fork
    # server preloads numpy); two laws at a time on two cores otherwise fight over the cores
    if method not in ("subprocess", *multiprocessing.get_all_start_methods()):
        pytest.skip(f"no {method} start method here")
    row = run_isolated(spec("I.12.1", "blas_threads"), timeout=30, method=method)
    assert row["status"] == "ok"
    if row["complexity"] == -1:
        pytest.skip("numpy's BLAS is not an OpenBLAS that can be asked")
    assert row["complexity"] == 1


# --- stages and judging, in this process -------------------------------------------------------


def test_run_task_in_process_reads_bare_formula_text():
    import _fake_solvers

    row = run_task(spec("I.14.4", "bare_formula"), solver=_fake_solvers.bare_formula)
    assert row["status"] == "ok" and row["exact"] and row["stage"] == ""
    assert set(row) == set(COLUMNS)


def test_an_unparsable_formula_fails_at_export():
    row = run_task(spec("I.12.1", "exact"), solver=lambda df, **kw: {"formula": "mu ** ** 2"})
    assert row["status"] == "error" and row["stage"] == "export" and "\n" not in row["error"]


def test_failure_stage_rules():
    miss = {"exact": False, "accurate": False}
    assert failure_stage({"exact": True, "accurate": True}, {"fit_r2": 0.1}, 1.0, 0.999) == ""
    assert failure_stage(miss, {"stage": "pruning", "fit_r2": 0.1}, None, 0.999) == "pruning"
    assert failure_stage(miss, {"fit_r2": 0.99}, None, 0.999) == "fit"
    # with 10% noise a fit reaching R^2 0.99 is as good as it gets: not the fit's fault
    assert failure_stage(miss, {"fit_r2": 0.99}, None, 0.989) == "snapping"
    assert failure_stage(miss, {"fit_r2": 1.0}, 0.9999, 0.999) == "export"
    assert failure_stage(miss, {}, None, 0.999) == "unknown"
    assert failure_stage({"exact": False, "accurate": True}, {}, None, 0.999) == "snapping"


# --- resumability -------------------------------------------------------------------------------


def test_a_second_run_skips_what_is_done_and_retries_failures_on_request(tmp_path):
    out = tmp_path / "results.csv"
    first = [spec("I.12.1", "exact"), spec("I.14.4", "exact")]
    assert len(run_benchmark(first, out, jobs=2)) == 2
    before = out.read_text()
    # same laws with a crashing solver, plus one new law: only the new one runs
    second = [spec("I.12.1", "crash"), spec("I.14.4", "crash"), spec("I.12.5", "crash")]
    written = run_benchmark(second, out, jobs=2)
    assert [r["id"] for r in written] == ["I.12.5"]
    assert out.read_text().startswith(before)
    assert run_benchmark(second, out, jobs=2) == []
    # another noise level or seed is another run
    others = [spec("I.12.1", "exact", noise=0.01), spec("I.12.1", "exact", seed=1)]
    assert len(pending_specs(others, out)) == 2
    # --retry-failed reruns the crash only; the latest row wins
    third = [spec(i, "exact") for i in ("I.12.1", "I.14.4", "I.12.5")]
    written = run_benchmark(third, out, jobs=2, retry_failed=True)
    assert [r["id"] for r in written] == ["I.12.5"]
    rows = rows_by_id(out)
    assert rows["I.12.5"]["status"] == "ok" and len(read_results(out, latest=False)) == 4


def test_a_line_cut_short_is_skipped_and_appending_goes_on(tmp_path):
    out = tmp_path / "results.csv"
    appender = ResultsWriter(out)
    done = run_task(spec("I.12.1", "exact"), solver=__import__("_fake_solvers").exact)
    appender.append(done)
    appender.close()
    with open(out, "a") as handle:
        handle.write("I.14.4,0.0,0,2,200,0.5,k_spr")  # killed mid-write
    assert list(read_results(out)["id"]) == ["I.12.1"]
    run_benchmark([spec("I.14.4", "exact")], out, jobs=1)
    assert list(read_results(out)["id"]) == ["I.12.1", "I.14.4"]


def test_a_foreign_csv_is_refused(tmp_path):
    out = tmp_path / "other.csv"
    out.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a .*results file"):
        run_benchmark([spec("I.12.1", "exact")], out, jobs=1)
    assert out.read_text() == "a,b\n1,2\n"
    assert bench.main(["--summary-only", "--out", str(out)]) == 2


# --- summary and plot ---------------------------------------------------------------------------


def known_table(path) -> pd.DataFrame:
    def row(law, noise, exact, symbolic, accurate, seconds, status="ok", stage=""):
        base = dict.fromkeys(COLUMNS, "")
        base.update(id=law, noise=noise, seed=0, n_vars=2, n_train=200, time_limit=1.0,
                    exact=exact, symbolic=symbolic, accurate=accurate, seconds=seconds,
                    status=status, stage=stage, r2=1.0 if accurate else 0.5)  # fmt: skip
        return base

    rows = [
        row("A", 0.0, True, True, True, 10.0),
        row("B", 0.0, False, True, True, 20.0, stage="snapping"),
        row("C", 0.0, False, False, False, 30.0, stage="fit"),
        row("D", 0.0, False, False, False, 90.0, status="timeout", stage="timeout"),
        row("A", 0.1, False, True, True, 12.0, stage="snapping"),
        row("B", 0.1, False, False, False, 5.0, status="crashed", stage="crash"),
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return read_results(path)


def test_summary_numbers_on_a_known_table(tmp_path):
    table = known_table(tmp_path / "known.csv")
    summary = summarize(table).set_index("noise")
    assert list(summary.index) == [0.0, 0.1]
    assert summary.loc[0.0, "runs"] == 4 and summary.loc[0.1, "runs"] == 2
    assert summary.loc[0.0, "exact"] == 0.25 and summary.loc[0.0, "symbolic"] == 0.5
    assert summary.loc[0.0, "accurate"] == 0.5 and summary.loc[0.1, "symbolic"] == 0.5
    assert summary.loc[0.0, "median_seconds"] == 25.0 and summary.loc[0.1, "median_seconds"] == 8.5
    assert summary.loc[0.0, "failed"] == 1 and summary.loc[0.1, "failed"] == 1
    stages = failures_by_stage(table)
    assert list(stages.index) == ["fit", "snapping", "timeout", "crash"]  # pipeline order
    assert stages.loc["snapping"].tolist() == [1, 1] and stages.loc["fit"].tolist() == [1, 0]
    text = format_summary(table, per_law=True)
    assert "25.0%" in text and "50.0%" in text and "timeout" in text
    assert sum(line.startswith(("A ", "B ", "C ", "D ")) for line in text.splitlines()) == 6


def test_time_overruns_are_reported(tmp_path):
    from kansci.bench._report import overruns

    table = known_table(tmp_path / "known.csv")
    o = overruns(table)
    assert o["worst"] == 29.0 and o["worst_id"] == "C" and o["worst_ratio"] == 30.0
    assert o["killed"] == 1 and o["late"] == 6  # five slower than 1.1 x 1 s + 2 s, one killed
    assert "C at noise 0" in format_summary(table) and "1 killed" in format_summary(table)


def test_the_plot_shows_three_rates_against_noise(tmp_path):
    table = known_table(tmp_path / "known.csv")
    figure = plot_recovery(table, tmp_path / "known.png")
    assert (tmp_path / "known.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = figure.axes[0].get_lines()
    heights = [line.get_ydata().tolist() for line in lines]
    assert heights == [[25.0, 0.0], [50.0, 50.0], [50.0, 50.0]]


# --- the command --------------------------------------------------------------------------------


def test_resolve_ids_reads_ranges_patterns_and_lists():
    assert bench.resolve_ids(["I.12.1..I.12.4"]) == ["I.12.1", "I.12.2", "I.12.4"]
    assert bench.resolve_ids(["I.12.2,feynman_I_6_2a", "I.12.2"]) == ["I.12.2", "I.6.2a"]
    assert len(bench.resolve_ids(["III.*"])) == sum(i.startswith("III.") for i in bench._all_ids())
    with pytest.raises(UnknownLawError, match="is empty"):
        bench.resolve_ids(["I.12.4..I.12.1"])
    with pytest.raises(UnknownLawError, match="matches"):
        bench.resolve_ids(["IV.*"])


def test_command_runs_resumes_and_summarises(tmp_path, capsys):
    out = tmp_path / "results.csv"
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# one law\nI.14.4  # and a comment\n")
    argv = ["--ids-file", str(ids_file), "--noise", "0", "0.01", "--time-limit", "0.5",
            "--n-train", "200", "--n-test", "200", "--jobs", "2",
            "--solver", "_fake_solvers:exact", "--out", str(out)]  # fmt: skip
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    assert "2 runs, 0 already" in printed and "[2/2]" in printed
    assert "100.0%" in printed and "Every run recovered its law exactly" in printed
    assert (tmp_path / "results.png").exists()
    assert len(read_results(out)) == 2

    assert bench.main([*argv, "--ids", "I.12.1", "--quiet", "--no-plot"]) == 0
    printed = capsys.readouterr().out
    assert "[1/" not in printed and len(read_results(out, latest=False)) == 4
    assert "2 laws, 1 seed, 2 noise levels" in printed

    assert bench.main(["--summary-only", "--per-law", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 laws, 1 seed, 2 noise levels" in printed and "I.14.4" in printed
    assert sum(line.startswith("I.12.1 ") for line in printed.splitlines()) == 2  # one per noise level


def test_run_feynman_takes_a_function_and_returns_the_requested_rows(tmp_path):
    import _fake_solvers

    out = tmp_path / "results.csv"
    table = bench.run_feynman(["I.14.4"], out=out, solver=_fake_solvers.exact, jobs=1, **SMALL)
    assert list(table["id"]) == ["I.14.4"] and table["exact"].all()
    table = bench.run_feynman(["I.12.1"], out=out, solver=_fake_solvers.exact, jobs=1, **SMALL)
    assert list(table["id"]) == ["I.12.1"] and len(read_results(out)) == 2
    with pytest.raises(ValueError, match="top level"):
        bench.run_feynman(["I.12.1"], out=out, solver=lambda df, **kw: "x")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--ids", "I.6.2x"], "close ids: I.6.2"),
        (["--ids", "I.12.1", "--solver", "_fake_solvers:nothing"], "cannot use the solver"),
        (["--summary-only"], "no such results file"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, argv, message):
    out = tmp_path / "results.csv"
    assert bench.main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


# --- Dask ---------------------------------------------------------------------------------------


def _dask_run(tmp_path, processes: bool):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "results.csv"
    specs = [spec("I.6.2a", "mixed"), spec("I.12.2", "mixed"), spec("I.12.5", "mixed")]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None
    ) as cluster:
        written = run_benchmark(specs, out, scheduler=cluster.scheduler_address, timeout=60)
    assert len(written) == 3
    rows = rows_by_id(out)
    assert rows["I.6.2a"]["status"] == "ok" and rows["I.6.2a"]["exact"]
    assert rows["I.12.2"]["status"] == "crashed" and "exited with code 1" in rows["I.12.2"]["error"]
    assert rows["I.12.5"]["status"] == "error" and rows["I.12.5"]["stage"] == "pruning"


def test_dask_path_with_threaded_local_cluster(tmp_path):
    _dask_run(tmp_path, processes=False)


@pytest.mark.slow
def test_dask_path_with_worker_processes(tmp_path):
    # workers are daemon processes: each law runs in a `python -m kansci.bench._task` subprocess
    _dask_run(tmp_path, processes=True)


def test_dask_missing_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"kansci\[dask\]"):
        run_benchmark([spec("I.12.1", "exact")], tmp_path / "r.csv", scheduler="tcp://nowhere:1")


# --- false exactness ----------------------------------------------------------------------------


def test_constant_counts_read_the_results_constants():
    from kansci.bench._task import constant_counts

    result = {"noise": {"sigma": 0.02}, "constants": [
        {"name": "c0", "value": 1.5, "recognised": None},
        {"name": "c1", "value": 3.14159, "recognised": "pi", "in_interval": True},
        {"name": "c2", "value": 0.5, "recognised": "1/2", "in_interval": False},
    ]}
    assert constant_counts(result) == {"noise_est": 0.02, "n_constants": 3, "n_recognised": 2,
                                       "recognised_outside": 1}
    assert constant_counts({"formula": "x"})["n_recognised"] is None  # a solver without constants


def test_summary_counts_false_exactness_at_every_noise_level(tmp_path):
    def row(law, noise, exact, recognised, outside):
        base = dict.fromkeys(COLUMNS, "")
        base.update(id=law, noise=noise, seed=0, n_vars=2, n_train=200, time_limit=1.0, exact=exact,
                    symbolic=exact, accurate=True, seconds=1.0, status="ok", r2=1.0,
                    n_recognised=recognised, recognised_outside=outside)  # fmt: skip
        return base

    rows = [row("A", 0.0, True, 6, 0),  # the true law may carry many constants
            row("B", 0.0, False, 5, 0),  # a mimic with five recognised constants
            row("A", 0.01, False, 1, 1),  # a constant outside its interval
            row("B", 0.01, True, 2, 0),
            row("A", 0.1, False, 0, 0), row("A", 0.001, False, 3, 0)]
    path = tmp_path / "r.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    summary = summarize(read_results(path)).set_index("noise")
    assert list(summary.index) == [0.0, 0.001, 0.01, 0.1]  # all four levels
    assert summary["outside_interval"].tolist() == [0, 0, 1, 0]
    assert summary["many_recognised"].tolist() == [1, 0, 0, 0]
    assert "false exact" in format_summary(read_results(path))
    assert len(plot_recovery(read_results(path)).axes[0].get_xticks()) == 4


def test_results_written_before_the_constant_columns_still_read_and_append(tmp_path):
    old = [c for c in COLUMNS if c not in ("noise_est", "n_constants", "n_recognised", "recognised_outside")]
    path = tmp_path / "old.csv"
    base = dict.fromkeys(old, "")
    base.update(id="I.12.1", noise=0.0, seed=0, exact=True, symbolic=True, accurate=True, status="ok")
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=old)
        writer.writeheader()
        writer.writerow(base)
    table = read_results(path)
    assert len(table) == 1 and table["n_recognised"].isna().all()
    writer = ResultsWriter(path)
    writer.append({**base, "id": "I.12.4", "n_recognised": 1})
    writer.close()
    assert list(read_results(path)["id"]) == ["I.12.1", "I.12.4"]
