"""Neural scaling laws: test RMSE against parameter count, KANs by grid refinement, MLPs by width.

Run ``kansci bench scaling`` (``--quick`` for a two-minute version).  The KAN paper's toy
functions (Liu et al. 2024, section 3.1 and Fig. 3.1), with the shapes it gives them:

- ``J0(20x)``, KAN [1,1];
- ``exp(sin(pi x) + y^2)``, [2,1,1];
- ``x y``, [2,2,1];
- ``exp(mean_i sin^2(pi x_i / 2))`` over 100 inputs, [100,1,1];
- ``exp((sin(pi(x1^2 + x2^2)) + sin(pi(x3^2 + x4^2))) / 2)``, [4,4,2,1].

Inputs uniform on [-1, 1]^d, float64.  Each KAN is trained coarse to fine over ``--grids``
(3, 5, 10, 20, 50, 100, 200 by default; LBFGS, grid extension in between), each grid one
point; MLPs with 1-3 hidden layers of growing width are trained with LBFGS on the same rows
for as many steps as the KAN run.  Every model is trained from ``--seeds`` initialisations
(two by default) and the one with the lowest training error counts.  The exponent ``alpha`` of ``RMSE ~ N^-alpha`` is fitted
per curve as ``kansci.bench._curves.fit_scaling`` says (points up to the interpolation
threshold N <= training rows, up to the best point, power law with a floor).  The theory of
the paper predicts ``alpha = k + 1 = 4`` for cubic-spline KANs on smooth functions.  The
100-input and 4-input toys get 3,000 training rows so that several grids fit under the
threshold (the 100-input one stops at G = 20: its features take 8 bytes x rows x 100 x (G+4)).
Writes ``scaling_runs.csv``, ``scaling_alpha.csv``, ``scaling.json`` and ``scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.special as sp
import torch

from ._curves import best_restarts, fit_scaling
from ._jobs import cpu_seconds, map_jobs
from ._models import shape_label, train_kan_grids, train_mlp

__all__ = ["TOYS", "Toy", "Config", "RUN_COLUMNS", "ALPHA_COLUMNS", "run_toy", "exponents", "main"]

RUN_COLUMNS = ["toy", "model", "shape", "hidden_layers", "grid", "params", "params_paper", "train_rmse",
               "test_rmse", "seconds", "seed"]
RESTART_KEYS = ["toy", "model", "shape", "grid"]
ALPHA_COLUMNS = ["toy", "curve", "count", "alpha", "n_points", "params_used", "alpha_floor", "floor", "local_slopes"]


@dataclass(frozen=True)
class Toy:
    """A toy function: name, KAN shape, target on (n, d) numpy inputs, rows, largest grid."""

    name: str
    width: tuple[int, ...]
    target: Callable[[np.ndarray], np.ndarray]
    n_train: int = 1000
    max_grid: int = 200
    smooth_2d: bool = False


TOYS = {
    "j0": Toy("J0(20x)", (1, 1), lambda X: sp.j0(20 * X[:, 0])),
    "expsin": Toy("exp(sin(pi x)+y^2)", (2, 1, 1), lambda X: np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2),
                  smooth_2d=True),
    "xy": Toy("x*y", (2, 2, 1), lambda X: X[:, 0] * X[:, 1], smooth_2d=True),
    "mean100": Toy("exp(mean sin^2(pi x_i/2)), 100 inputs", (100, 1, 1),
                   lambda X: np.exp(np.mean(np.sin(np.pi * X / 2) ** 2, axis=1)), n_train=3000, max_grid=20),
    "exp4": Toy("exp((sin(pi(x1^2+x2^2))+sin(pi(x3^2+x4^2)))/2)", (4, 4, 2, 1),
                lambda X: np.exp(0.5 * (np.sin(np.pi * (X[:, 0] ** 2 + X[:, 1] ** 2))
                                        + np.sin(np.pi * (X[:, 2] ** 2 + X[:, 3] ** 2)))), n_train=3000),
}


@dataclass
class Config:
    toys: list[str] = field(default_factory=lambda: list(TOYS))
    grids: list[int] = field(default_factory=lambda: [3, 5, 10, 20, 50, 100, 200])
    steps: int = 30
    mlp_hidden_layers: list[int] = field(default_factory=lambda: [1, 2, 3])
    mlp_widths: list[int] = field(default_factory=lambda: [4, 8, 16, 32, 64])
    n_test: int = 1000
    n_train: int | None = None  # None: each toy's own
    seeds: list[int] = field(default_factory=lambda: [0, 1])

    @classmethod
    def quick(cls) -> Config:
        return cls(toys=["j0", "expsin", "xy"], grids=[3, 5, 10, 20], steps=10, mlp_hidden_layers=[1, 2],
                   mlp_widths=[4, 8, 16, 32], seeds=[0])


def toy_data(toy: Toy, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, toy.width[0]))
    return torch.as_tensor(X), torch.as_tensor(toy.target(X), dtype=torch.float64)


def run_toy(job: tuple[str, Config]) -> list[dict]:
    """The KAN over all grids and the MLP sweep on one toy, from every seed; run records."""
    key, cfg = job
    toy = TOYS[key]
    n_train = cfg.n_train or toy.n_train
    X, y = toy_data(toy, n_train, 1000)
    Xt, yt = toy_data(toy, cfg.n_test, 2000)
    grids = [g for g in cfg.grids if g <= toy.max_grid]
    records = []
    for seed in cfg.seeds:  # restarts: the same data, another initialisation
        for rec in train_kan_grids(list(toy.width), X, y, Xt, yt, grids=grids, steps=cfg.steps, seed=seed):
            records.append({"toy": key, "model": "kan", "shape": shape_label(toy.width),
                            "hidden_layers": len(toy.width) - 2, "grid": rec["grid"], "params": rec["params"],
                            "params_paper": rec["params_paper"], "train_rmse": rec["train_rmse"],
                            "test_rmse": rec["test_rmse"], "seconds": rec["seconds"], "seed": seed})
        for depth in cfg.mlp_hidden_layers:
            for w in cfg.mlp_widths:
                shape = [toy.width[0]] + [w] * depth + [1]
                rec = train_mlp(shape, X, y, Xt, yt, steps=cfg.steps * len(grids), seed=seed)
                records.append({"toy": key, "model": "mlp", "shape": shape_label(shape), "hidden_layers": depth,
                                "grid": math.nan, "params": rec["params"], "params_paper": rec["params"],
                                "train_rmse": rec["train_rmse"], "test_rmse": rec["test_rmse"],
                                "seconds": rec["seconds"], "seed": seed})
    return records


def exponents(runs: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Fitted alpha per curve: the KAN (both parameter counts) and the MLPs of each depth.

    Of the restarts of a model (a KAN at one grid, an MLP of one shape), the one with the
    lowest training error counts.
    """
    runs = best_restarts(runs, RESTART_KEYS)
    rows = []
    for key, part in runs.groupby("toy", sort=False):
        n_train = cfg.n_train or TOYS[key].n_train
        kan = part[part.model == "kan"]
        curves = [("kan", "params", kan.params, kan.test_rmse), ("kan", "params_paper", kan.params_paper, kan.test_rmse)]
        for depth, mlp in part[part.model == "mlp"].groupby("hidden_layers"):
            curves.append((f"mlp{int(depth)}", "params", mlp.params, mlp.test_rmse))
        for curve, count, p, e in curves:
            fit = fit_scaling(p, e, n_train=n_train)
            rows.append({"toy": key, "curve": curve, "count": count, "alpha": fit["alpha"],
                         "n_points": fit["n_points"], "params_used": " ".join(map(str, fit["params_used"])),
                         "alpha_floor": fit["alpha_floor"], "floor": fit["floor"],
                         "local_slopes": " ".join(f"{v:.2f}" for v in fit["local_slopes"])})
    return pd.DataFrame(rows, columns=ALPHA_COLUMNS)


def verdict(alphas: pd.DataFrame) -> pd.DataFrame:
    """Per toy: the KAN's alpha (actual count), the best MLP alpha, and whether the KAN's is larger."""
    rows = []
    for key, part in alphas.groupby("toy", sort=False):
        kan = part[(part.curve == "kan") & (part["count"] == "params")].alpha.iloc[0]
        mlp = part[part.curve.str.startswith("mlp")].alpha
        best = float(mlp.max()) if mlp.notna().any() else math.nan
        rows.append({"toy": key, "kan_alpha": kan, "mlp_alpha_best": best,
                     "kan_larger": bool(np.isfinite(kan) and (not np.isfinite(best) or kan > best)),
                     "smooth_2d": TOYS[key].smooth_2d})
    return pd.DataFrame(rows)


def write_plot(runs: pd.DataFrame, alphas: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = best_restarts(runs, RESTART_KEYS)
    keys = list(dict.fromkeys(runs.toy))
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        part = runs[runs.toy == key]
        kan = part[part.model == "kan"]
        a = alphas[(alphas.toy == key) & (alphas.curve == "kan") & (alphas["count"] == "params")].alpha.iloc[0]
        ax.plot(kan.params, kan.test_rmse, "o-", color="tab:blue", label=f"KAN {kan['shape'].iloc[0]} (alpha {a:.2f})")
        for depth, mlp in part[part.model == "mlp"].groupby("hidden_layers"):
            am = alphas[(alphas.toy == key) & (alphas.curve == f"mlp{int(depth)}")].alpha.iloc[0]
            ax.plot(mlp.params, mlp.test_rmse, "s--", markersize=3, alpha=0.8,
                    label=f"MLP {int(depth)} hidden (alpha {am:.2f})")
        p0, e0 = float(kan.params.iloc[0]), float(kan.test_rmse.iloc[0])
        ref = np.array([p0, float(part.params.max())])
        ax.plot(ref, e0 * (ref / p0) ** -4.0, ":", color="grey", label="N^-4")
        ax.axvline(TOYS[key].n_train, color="lightgrey", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(max(float(part.test_rmse.min()) / 10, 1e-12), float(part.test_rmse.max()) * 3)
        ax.set_title(TOYS[key].name, fontsize=8)
        ax.set_xlabel("parameters")
        ax.set_ylabel("test RMSE")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(cfg: Config, *, jobs: int = 1, progress=print) -> tuple[pd.DataFrame, pd.DataFrame]:
    unknown = sorted(set(cfg.toys) - set(TOYS))
    if unknown:
        raise ValueError(f"unknown toys {unknown}; known: {list(TOYS)}")
    records = []
    for recs in map_jobs(run_toy, [(k, cfg) for k in cfg.toys], jobs=jobs):
        records += recs
        if progress and recs:
            progress(f"  {recs[0]['toy']}: {sum(r['seconds'] for r in recs):.0f} s of training")
    runs = pd.DataFrame(records, columns=RUN_COLUMNS)
    order = {k: i for i, k in enumerate(cfg.toys)}
    runs = runs.sort_values("toy", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return runs, exponents(runs, cfg)


def format_report(runs: pd.DataFrame, alphas: pd.DataFrame) -> str:
    runs = best_restarts(runs, RESTART_KEYS)
    lines = []
    for key, part in runs.groupby("toy", sort=False):
        kan = part[part.model == "kan"]
        lines.append(f"{TOYS[key].name}: KAN {kan['shape'].iloc[0]}")
        lines.append("  " + "  ".join(f"G={int(r.grid)}: {int(r.params)}p {r.test_rmse:.2e}" for r in kan.itertuples()))
        for depth, mlp in part[part.model == "mlp"].groupby("hidden_layers"):
            lines.append(f"  MLP {int(depth)} hidden: " + "  ".join(
                f"{int(r.params)}p {r.test_rmse:.2e}" for r in mlp.itertuples()))
        for r in alphas[alphas.toy == key].itertuples():
            lines.append(f"  alpha {r.curve:<5} ({r.count:<12}) = {r.alpha:5.2f} on {r.n_points} points "
                         f"(N = {r.params_used}); with a floor model {r.alpha_floor:5.2f} (floor {r.floor:.1e}); "
                         f"local slopes {r.local_slopes}")
    v = verdict(alphas)
    lines.append("")
    lines.append("| toy | KAN alpha | best MLP alpha | KAN larger |")
    lines.append("|---|---|---|---|")
    for r in v.itertuples():
        lines.append(f"| {TOYS[r.toy].name} | {r.kan_alpha:.2f} | {r.mlp_alpha_best:.2f} | {'yes' if r.kan_larger else 'no'} |")
    smooth = v[v.smooth_2d]
    lines.append(f"KAN alpha >= 3 on the smooth 2-input toys: {bool((smooth.kan_alpha >= 3).all())}; "
                 f"KAN alpha larger than the best MLP's on {int(v.kan_larger.sum())} of {len(v)} toys")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 toys, grids up to 20, small MLPs (about 2 minutes)")
    parser.add_argument("--toys", nargs="+", choices=list(TOYS))
    parser.add_argument("--grids", type=int, nargs="+")
    parser.add_argument("--steps", type=int, help="LBFGS steps per grid (MLPs: this times the grid count)")
    parser.add_argument("--mlp-widths", type=int, nargs="+")
    parser.add_argument("--mlp-hidden-layers", type=int, nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="initialisation seeds: restarts of every model, the lowest training error counts")
    parser.add_argument("--jobs", type=int, default=1, help="toys run in parallel processes")
    parser.add_argument("--out", default="results/scaling")
    args = parser.parse_args(argv)
    cfg = Config.quick() if args.quick else Config()
    for name in ("toys", "grids", "steps", "mlp_widths", "mlp_hidden_layers", "seeds"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"scaling: grids {cfg.grids}, {cfg.steps} LBFGS steps per grid; MLPs {cfg.mlp_hidden_layers} hidden "
          f"layers x widths {cfg.mlp_widths}; seeds {cfg.seeds} (the lowest training error counts); float64")
    start, cpu_start = time.perf_counter(), cpu_seconds()
    runs, alphas = run(cfg, jobs=args.jobs)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    runs.to_csv(out / "scaling_runs.csv", index=False)
    alphas.to_csv(out / "scaling_alpha.csv", index=False)
    with open(out / "scaling.json", "w") as fh:
        json.dump({"config": asdict(cfg), "seconds": seconds, "cpu_seconds": cpu,
                   "alpha": json.loads(alphas.to_json(orient="records")),
                   "verdict": json.loads(verdict(alphas).to_json(orient="records"))}, fh, indent=2)
    write_plot(runs, alphas, out / "scaling.png")
    print(format_report(runs, alphas))
    print(f"total {seconds:.0f} s wall, {cpu:.0f} s CPU (all processes; --jobs {args.jobs})")
    print(f"wrote {out}/scaling_runs.csv, scaling_alpha.csv, scaling.json, scaling.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
