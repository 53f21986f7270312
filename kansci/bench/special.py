"""Special functions: accuracy per parameter of KANs against MLPs (the KAN paper's section 3.2).

Run ``kansci bench special`` (``--quick`` for a two-minute version).  For each of the 15
two-variable special functions of the KAN paper's Table 2 (``kansci/datasets/data/
kan_special_functions.csv``; the values come from scipy.special, see
``kansci.bench._special_functions`` for the input ranges), on 1,000 training and 1,000 test
points uniform on [-1, 1]^2, float64:

- KANs of a sweep of shapes are trained coarse to fine, ``--steps`` LBFGS steps per grid
  size of ``--grids`` (grid extension in between); every grid is a point (size, test RMSE);
- MLPs with 1-3 hidden layers of a sweep of widths (SiLU by default) are trained on the same
  rows with LBFGS for as many steps as one KAN run over all its grids.

Every model is trained from ``--seeds`` initialisations (two by default) and the one with the
lowest training error counts.  Per function it reports the Pareto frontier of parameter count against test RMSE, the
smallest KAN and the smallest MLP reaching RMSE < 1e-2 (the paper's criterion), the best of
each, beside the paper's figures; it writes ``special_runs.csv``, ``special_summary.csv``,
``special_pareto.csv``, ``special.json`` and one plot per function into ``--out``.
Parameters are counted as ``kansci.bench._models`` says (trainable parameters used; the
paper's ``G + k`` per edge is in ``params_paper``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ._curves import best_restarts, pareto_front, smallest_reaching
from ._jobs import cpu_seconds, map_jobs
from ._models import shape_label, train_kan_grids, train_mlp
from ._special_functions import special_dataset, special_table

__all__ = ["Config", "RUN_COLUMNS", "SUMMARY_COLUMNS", "run_function", "summarize", "main"]

THRESHOLD = 1e-2
RUN_COLUMNS = ["function", "model", "shape", "grid", "params", "params_paper", "train_rmse", "test_rmse",
               "seconds", "seed"]
SUMMARY_COLUMNS = [
    "function", "name", "y_std",
    "kan_min_shape", "kan_min_grid", "kan_min_params", "kan_min_params_paper", "kan_min_rmse",
    "mlp_min_shape", "mlp_min_params", "mlp_min_rmse", "kan_fewer",
    "kan_best_shape", "kan_best_grid", "kan_best_params", "kan_best_rmse",
    "mlp_best_shape", "mlp_best_params", "mlp_best_rmse",
    "paper_min_kan_shape", "paper_min_kan_rmse", "paper_best_kan_shape", "paper_best_kan_rmse", "paper_mlp_rmse",
]


@dataclass
class Config:
    """What one run sweeps."""

    ids: list[str] | None = None
    kan_shapes: list[list[int]] = field(default_factory=lambda: [
        [2, 1], [2, 1, 1], [2, 2, 1], [2, 3, 1], [2, 4, 1], [2, 2, 1, 1], [2, 2, 2, 1], [2, 3, 2, 1]])
    grids: list[int] = field(default_factory=lambda: [3, 5, 10, 20])
    steps: int = 20
    mlp_hidden_layers: list[int] = field(default_factory=lambda: [1, 2, 3])
    mlp_widths: list[int] = field(default_factory=lambda: [2, 3, 4, 6, 8, 16, 32])
    mlp_activation: str = "silu"
    mlp_optimizer: str = "lbfgs"
    mlp_lr: float | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    n_train: int = 1000
    n_test: int = 1000

    @classmethod
    def quick(cls) -> Config:
        return cls(ids=["ellipkinc", "jv", "sph_harm11"], kan_shapes=[[2, 1], [2, 1, 1], [2, 2, 1]], grids=[3, 5, 10],
                   steps=8, mlp_hidden_layers=[1, 2], mlp_widths=[2, 4, 8, 16], seeds=[0])


def run_function(job: tuple[dict, Config]) -> list[dict]:
    """Every KAN and MLP of the sweep on one function (a table row as a dict); run records."""
    row, cfg = job
    records = []
    X, y = special_dataset(row, cfg.n_train, seed=1000)
    Xt, yt = special_dataset(row, cfg.n_test, seed=2000)
    for seed in cfg.seeds:  # restarts: the same data, another initialisation
        for shape in cfg.kan_shapes:
            for rec in train_kan_grids(shape, X, y, Xt, yt, grids=cfg.grids, steps=cfg.steps, seed=seed):
                records.append({"function": row["id"], "model": "kan", "shape": shape_label(shape), "grid": rec["grid"],
                                "params": rec["params"], "params_paper": rec["params_paper"],
                                "train_rmse": rec["train_rmse"], "test_rmse": rec["test_rmse"],
                                "seconds": rec["seconds"], "seed": seed})
        mlp_steps = cfg.steps * len(cfg.grids)
        for depth in cfg.mlp_hidden_layers:
            for w in cfg.mlp_widths:
                shape = [2] + [w] * depth + [1]
                rec = train_mlp(shape, X, y, Xt, yt, steps=mlp_steps, optimizer=cfg.mlp_optimizer, lr=cfg.mlp_lr,
                                activation=cfg.mlp_activation, seed=seed)
                records.append({"function": row["id"], "model": "mlp", "shape": shape_label(shape), "grid": math.nan,
                                "params": rec["params"], "params_paper": rec["params"],
                                "train_rmse": rec["train_rmse"], "test_rmse": rec["test_rmse"],
                                "seconds": rec["seconds"], "seed": seed})
    return records


def _pick(runs: pd.DataFrame, index) -> dict:
    if index is None:
        return {"shape": "", "grid": math.nan, "params": math.nan, "params_paper": math.nan, "rmse": math.nan}
    r = runs.iloc[index]
    return {"shape": r["shape"], "grid": r["grid"], "params": r["params"], "params_paper": r["params_paper"],
            "rmse": r["test_rmse"]}


RESTART_KEYS = ["function", "model", "shape", "grid"]


def summarize(runs: pd.DataFrame, table: pd.DataFrame, *, threshold: float = THRESHOLD,
              y_std: dict | None = None) -> pd.DataFrame:
    """One row per function: the smallest models reaching ``threshold``, the best ones, the paper's.

    Of the restarts of a model (seeds), the one with the lowest training error counts.
    ``y_std``: the test targets' standard deviation per function id, reported beside the errors.
    """
    y_std = y_std or {}
    rows = []
    runs = best_restarts(runs, RESTART_KEYS)
    for fid, part in runs.groupby("function", sort=False):
        paper = table.set_index("id").loc[fid]
        kan = part[part.model == "kan"].reset_index(drop=True)
        mlp = part[part.model == "mlp"].reset_index(drop=True)
        kmin = _pick(kan, smallest_reaching(kan.params, kan.test_rmse, threshold))
        mmin = _pick(mlp, smallest_reaching(mlp.params, mlp.test_rmse, threshold))
        kbest = _pick(kan, int(kan.test_rmse.idxmin()) if len(kan) else None)
        mbest = _pick(mlp, int(mlp.test_rmse.idxmin()) if len(mlp) else None)
        if math.isnan(kmin["params"]):
            fewer = False
        else:
            fewer = bool(math.isnan(mmin["params"]) or kmin["params"] < mmin["params"])
        rows.append({
            "function": fid, "name": paper["name"], "y_std": float(y_std.get(fid, math.nan)),
            "kan_min_shape": kmin["shape"], "kan_min_grid": kmin["grid"], "kan_min_params": kmin["params"],
            "kan_min_params_paper": kmin["params_paper"], "kan_min_rmse": kmin["rmse"],
            "mlp_min_shape": mmin["shape"], "mlp_min_params": mmin["params"], "mlp_min_rmse": mmin["rmse"],
            "kan_fewer": fewer,
            "kan_best_shape": kbest["shape"], "kan_best_grid": kbest["grid"], "kan_best_params": kbest["params"],
            "kan_best_rmse": kbest["rmse"], "mlp_best_shape": mbest["shape"], "mlp_best_params": mbest["params"],
            "mlp_best_rmse": mbest["rmse"],
            "paper_min_kan_shape": paper["paper_min_kan_shape"].replace(";", ","),
            "paper_min_kan_rmse": float(paper["paper_min_kan_rmse"]),
            "paper_best_kan_shape": paper["paper_best_kan_shape"].replace(";", ","),
            "paper_best_kan_rmse": float(paper["paper_best_kan_rmse"]),
            "paper_mlp_rmse": float(paper["paper_mlp_rmse"]),
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def threshold_table(runs: pd.DataFrame, thresholds=(1e-2, 1e-3, 1e-4)) -> pd.DataFrame:
    """For each RMSE threshold: on how many functions the smallest KAN reaching it is smaller
    than the smallest MLP (or the only one to reach it), by both parameter counts."""
    runs = best_restarts(runs, RESTART_KEYS)
    rows = []
    for thr in thresholds:
        counts = {"threshold": thr, "kan_smaller": 0, "kan_smaller_paper_count": 0, "only_kan": 0,
                  "only_mlp": 0, "neither": 0, "functions": 0}
        for _, part in runs.groupby("function", sort=False):
            kan = part[part.model == "kan"].reset_index(drop=True)
            mlp = part[part.model == "mlp"].reset_index(drop=True)
            k = smallest_reaching(kan.params, kan.test_rmse, thr)
            kp = smallest_reaching(kan.params_paper, kan.test_rmse, thr)
            m = smallest_reaching(mlp.params, mlp.test_rmse, thr)
            counts["functions"] += 1
            if k is None and m is None:
                counts["neither"] += 1
                continue
            counts["only_kan"] += int(m is None)
            counts["only_mlp"] += int(k is None)
            counts["kan_smaller"] += int(k is not None and (m is None or kan.params[k] < mlp.params[m]))
            counts["kan_smaller_paper_count"] += int(
                kp is not None and (m is None or kan.params_paper[kp] < mlp.params[m]))
        rows.append(counts)
    return pd.DataFrame(rows)


def format_thresholds(table: pd.DataFrame) -> str:
    lines = ["| RMSE below | smallest KAN smaller (our count / paper's count) | only the KAN reaches it | "
             "only the MLP | neither |", "|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.threshold:g} | {r.kan_smaller} / {r.kan_smaller_paper_count} of {r.functions} | "
                     f"{r.only_kan} | {r.only_mlp} | {r.neither} |")
    return "\n".join(lines)


def pareto_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The Pareto frontier (parameters against test RMSE) of each model family on each function."""
    runs = best_restarts(runs, RESTART_KEYS)
    parts = []
    for (_, _), part in runs.groupby(["function", "model"], sort=False):
        part = part.reset_index(drop=True)
        parts.append(part.iloc[pareto_front(part.params, part.test_rmse)])
    cols = ["function", "model", "shape", "grid", "params", "params_paper", "test_rmse"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def _fmt(v, spec=".2e") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _model_text(shape, grid, params, rmse) -> str:
    if not shape:
        return "none"
    g = f" G={int(grid)}" if isinstance(grid, (int, float)) and not math.isnan(grid) else ""
    return f"{shape}{g} {int(params)}p {_fmt(rmse)}"


def format_summary(summary: pd.DataFrame) -> str:
    """A markdown table: ours beside the paper's."""
    lines = ["| function | smallest KAN < 1e-2 (ours) | smallest MLP < 1e-2 (ours) | KAN smaller | "
             "paper: smallest KAN | best KAN (ours) | best MLP (ours) | paper: best KAN / MLP |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        lines.append(
            f"| {r['function']} | {_model_text(r.kan_min_shape, r.kan_min_grid, r.kan_min_params, r.kan_min_rmse)} | "
            f"{_model_text(r.mlp_min_shape, math.nan, r.mlp_min_params, r.mlp_min_rmse)} | "
            f"{'yes' if r.kan_fewer else 'no'} | {r.paper_min_kan_shape} {_fmt(r.paper_min_kan_rmse)} | "
            f"{_model_text(r.kan_best_shape, r.kan_best_grid, r.kan_best_params, r.kan_best_rmse)} | "
            f"{_model_text(r.mlp_best_shape, math.nan, r.mlp_best_params, r.mlp_best_rmse)} | "
            f"{_fmt(r.paper_best_kan_rmse)} / {_fmt(r.paper_mlp_rmse)} |")
    n = len(summary)
    wins = int(summary.kan_fewer.sum())
    lines.append("")
    lines.append(f"The smallest KAN reaching RMSE < {THRESHOLD:g} has fewer parameters than the smallest MLP "
                 f"on {wins} of {n} functions.")
    return "\n".join(lines)


def plot_function(runs: pd.DataFrame, fid: str, title: str, ax) -> None:
    """RMSE against parameters for one function: every model, both Pareto frontiers."""
    runs = best_restarts(runs, RESTART_KEYS)
    for model, color in (("kan", "tab:blue"), ("mlp", "tab:orange")):
        part = runs[(runs.function == fid) & (runs.model == model)].reset_index(drop=True)
        if part.empty:
            continue
        ax.scatter(part.params, part.test_rmse, s=10, color=color, alpha=0.35)
        front = part.iloc[pareto_front(part.params, part.test_rmse)]
        ax.step(front.params, front.test_rmse, where="post", color=color, label=f"{model.upper()} frontier")
    ax.axhline(THRESHOLD, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("parameters")
    ax.set_ylabel("test RMSE")


def write_plots(runs: pd.DataFrame, table: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = table.set_index("id")["paper_function"].to_dict()
    ids = list(dict.fromkeys(runs.function))
    paths = []
    for fid in ids:
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
        plot_function(runs, fid, names.get(fid, fid).replace(";", ","), ax)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"special_{fid}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    cols = min(5, len(ids))
    rows = math.ceil(len(ids) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.8 * rows), squeeze=False)
    for ax, fid in zip(axes.flat, ids):
        plot_function(runs, fid, names.get(fid, fid).replace(";", ","), ax)
    for ax in list(axes.flat)[len(ids):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    path = out / "special_all.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return paths + [path]


def run(cfg: Config, *, jobs: int = 1, progress=print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sweep over the configured functions; (runs, summary)."""
    table = special_table()
    ids = cfg.ids or list(table.id)
    unknown = sorted(set(ids) - set(table.id))
    if unknown:
        raise ValueError(f"unknown special function ids {unknown}; known: {list(table.id)}")
    rows = [table.set_index("id").loc[i].to_dict() | {"id": i} for i in ids]
    records = []
    for recs in map_jobs(run_function, [(r, cfg) for r in rows], jobs=jobs):
        records += recs
        if progress and recs:
            part = pd.DataFrame(recs)
            progress(f"  {recs[0]['function']}: best KAN {part[part.model == 'kan'].test_rmse.min():.2e}, "
                     f"best MLP {part[part.model == 'mlp'].test_rmse.min():.2e} "
                     f"({part.seconds.sum():.0f} s of training)")
    runs = pd.DataFrame(records, columns=RUN_COLUMNS)
    runs["function"] = pd.Categorical(runs.function, categories=ids, ordered=True)
    runs = runs.sort_values(["function", "model"], kind="stable").reset_index(drop=True)
    runs["function"] = runs.function.astype(str)
    stds = {r["id"]: float(special_dataset(r, cfg.n_test, seed=2000)[1].std()) for r in rows}
    return runs, summarize(runs, table, y_std=stds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench special", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 functions, small sweeps (about 2 minutes)")
    parser.add_argument("--ids", nargs="+", help="function ids of the table (default: all 15)")
    parser.add_argument("--steps", type=int, help="LBFGS steps per grid size (MLPs: this times the grid count)")
    parser.add_argument("--grids", type=int, nargs="+", help="grid sizes of every KAN run")
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="initialisation seeds: restarts of every model, the lowest training error counts")
    parser.add_argument("--mlp-activation", choices=["silu", "tanh"])
    parser.add_argument("--mlp-optimizer", choices=["lbfgs", "adam"])
    parser.add_argument("--mlp-lr", type=float)
    parser.add_argument("--jobs", type=int, default=1, help="functions run in parallel processes")
    parser.add_argument("--out", default="results/special", help="output folder")
    args = parser.parse_args(argv)
    cfg = Config.quick() if args.quick else Config()
    for name in ("ids", "steps", "grids", "seeds", "mlp_activation", "mlp_optimizer", "mlp_lr"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"special functions: KAN shapes {[shape_label(s) for s in cfg.kan_shapes]}, grids {cfg.grids}, "
          f"{cfg.steps} LBFGS steps per grid; MLPs {cfg.mlp_hidden_layers} hidden layers x widths {cfg.mlp_widths} "
          f"({cfg.mlp_activation}, {cfg.mlp_optimizer}, {cfg.steps * len(cfg.grids)} steps); "
          f"{cfg.n_train} training / {cfg.n_test} test points, float64")
    start, cpu_start = time.perf_counter(), cpu_seconds()
    try:
        runs, summary = run(cfg, jobs=args.jobs)
    except ValueError as exc:
        print(f"kansci bench special: error: {exc}")
        return 2
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    runs.to_csv(out / "special_runs.csv", index=False)
    summary.to_csv(out / "special_summary.csv", index=False)
    pareto_table(runs).to_csv(out / "special_pareto.csv", index=False)
    with open(out / "special.json", "w") as fh:
        json.dump({"config": asdict(cfg), "seconds": seconds, "cpu_seconds": cpu, "threshold": THRESHOLD,
                   "kan_fewer": int(summary.kan_fewer.sum()), "functions": len(summary),
                   "summary": json.loads(summary.to_json(orient="records"))}, fh, indent=2)
    write_plots(runs, special_table(), out)
    print(format_summary(summary))
    print()
    print(format_thresholds(threshold_table(runs)))
    print(f"total {seconds:.0f} s wall, {cpu:.0f} s CPU (all processes; --jobs {args.jobs})")
    print(f"wrote {out}/special_runs.csv, special_summary.csv, special_pareto.csv, "
          f"special.json and plots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
