"""PDE solving: a physics-informed KAN against MLPs on 2-D Poisson (the KAN paper's section 3.4).

Run ``kansci bench poisson`` (``--quick`` for a short version).  The problem:
``u_xx + u_yy = -2 pi^2 sin(pi x) sin(pi y)`` on [-1, 1]^2, ``u = 0`` on the boundary, exact
solution ``sin(pi x) sin(pi y)``.  Loss (``kansci.pde.fit_pinn``): ``0.01 * mean(residual^2)
+ mean(u_boundary^2)`` (the weight of the paper's example) on the 31 x 31 interior nodes of a
uniform mesh and 33 points on each side, LBFGS (history 100), float64, one torch thread.

- KAN [2,10,1]: ``--steps`` LBFGS steps on each grid of ``--grids`` (default 30 at G = 5,
  with grid updates in the first half, then 30 at G = 10 and 30 at G = 20, each after an exact
  grid extension, ``kansci.pde.extend_covering``).  Its edges' residual function is the
  identity (``--kan-base``; the KAN paper's SiLU measured 1.19e-3 against 8.1e-4 after 90
  steps at G = 5, 10 on this problem, a pure spline 2.5e-3);
- MLPs (tanh, the usual PINN activation; two hidden layers) of widths 10 to 100 and the one
  width whose parameter count first reaches 10x the KAN [2,10,1]'s at its last grid, trained
  on the same loss and points with the same optimiser for the same total number of steps;
- error against parameter count: the KAN [2,5,1] and [2,10,1] at the end of each grid, and
  the MLPs.

The relative L2 error ``||u - u*|| / ||u*||`` on a 101 x 101 mesh of [-1, 1]^2 is recorded
after every step with the wall time and the process's CPU time (on a shared machine the CPU
time is the better measure of the work).  "Trained as long" is reported both ways: the error
after the same number of steps, and each model's error at the CPU time the KAN [2,10,1] took
for all its steps (``rel_l2_at_kan_cpu``: the last step finished by then).  Writes
``poisson_history.csv``, ``poisson_summary.csv`` and ``poisson.png``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pandas as pd
import torch

from .._basis import BASE_FUNCTIONS
from .._model import KAN
from .._threads import use_threads
from .. import pde
from ._models import count_kan, count_mlp, make_mlp, shape_label

__all__ = ["Problem", "exact", "source", "train", "run", "main"]

PI = math.pi
PDE_WEIGHT = 0.01
HISTORY = 100


def exact(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def source(x: torch.Tensor) -> torch.Tensor:
    return -2 * PI**2 * exact(x)


class Problem:
    """Collocation and evaluation points of the Poisson problem."""

    def __init__(self, n: int = 31, n_eval: int = 101) -> None:
        box = [(-1.0, 1.0), (-1.0, 1.0)]
        self.interior = pde.box_interior(box, n)
        self.boundary = pde.box_boundary(box, n + 2)
        axis = torch.linspace(-1, 1, n_eval, dtype=torch.float64)
        self.eval_points = torch.cartesian_prod(axis, axis)
        self.residual = pde.poisson_residual(source)


def train(model, problem: Problem, *, steps, grids=None, time_limit: float | None = None) -> pd.DataFrame:
    """Fit ``model`` to the Poisson problem; the history of :func:`kansci.pde.fit_pinn`."""
    return pde.fit_pinn(model, problem.residual, problem.interior, problem.boundary, 0.0, pde_weight=PDE_WEIGHT,
                        steps=steps, grids=grids, history_size=HISTORY, solution=exact,
                        eval_points=problem.eval_points, time_limit=time_limit)


def _kan_run(width, problem, steps, grids, seed, base_fun):
    model = KAN(width, grid=grids[0], seed=seed, dtype=torch.float64, base_fun=base_fun)
    hist = train(model, problem, steps=steps, grids=grids)
    hist["model"], hist["shape"], hist["params"] = "kan", shape_label(width), count_kan(model)
    ends = hist.groupby("grid", sort=False).tail(1)
    points = []
    for _, r in ends.iterrows():
        points.append({"model": "kan", "shape": shape_label(width), "grid": int(r.grid), "rel_l2": r.rel_l2,
                       "seconds": r.seconds, "step": int(r.step)})
    return model, hist, points


def _kan_params_at(width, grid_sizes) -> int:
    probe = KAN(width, grid=3, dtype=torch.float64)
    for layer, g in zip(probe.layers, grid_sizes):
        layer.resize_grid(g)
    return count_kan(probe)


def _mlp_run(hidden, problem, steps, seed, activation):
    width = [2, hidden, hidden, 1]
    model = make_mlp(width, activation=activation, seed=seed)
    hist = train(model, problem, steps=steps)
    hist["model"], hist["shape"], hist["params"] = "mlp", shape_label(width), count_mlp(model)
    return model, hist


def mlp_width_for(params: int) -> int:
    """The smallest width ``w`` whose MLP [2,w,w,1] has at least ``params`` parameters
    (``w**2 + 5*w + 1`` of them)."""
    w = max(1, math.ceil((-5 + math.sqrt(25 + 4 * max(params - 1, 0))) / 2))
    while w * w + 5 * w + 1 < params:
        w += 1
    return w


def run(*, steps=(30, 30, 30), grids=(5, 10, 20), mlp_widths=(10, 20, 40, 70, 100),
        kan_widths=((2, 5, 1), (2, 10, 1)), activation: str = "tanh", kan_base: str = "identity", n: int = 31,
        seed: int = 0, ten_times: bool = True, progress=print):
    """Train every model, one torch thread; (history of all steps, summary per model, error-vs-size points).

    ``ten_times``: also train the MLP of 10x the last KAN's parameters (see :func:`mlp_width_for`)."""
    if len(steps) != len(grids):
        raise ValueError(f"give one step count per grid: {len(steps)} step counts for grids {list(grids)}")
    with use_threads(1):
        return _run(steps, grids, mlp_widths, kan_widths, activation, kan_base, n, seed, ten_times, progress)


def _run(steps, grids, mlp_widths, kan_widths, activation, kan_base, n, seed, ten_times, progress):
    problem = Problem(n)
    total = int(sum(steps))
    histories, summary, sizes = [], [], []
    kan_cpu = None
    for width in kan_widths:
        model, hist, points = _kan_run(list(width), problem, list(steps), list(grids), seed, kan_base)
        kan_cpu = float(hist.cpu_seconds.iloc[-1])
        histories.append(hist)
        # the parameter count at the end of each grid stage
        grid_sizes_final = [layer.grid for layer in model.layers]
        for p in points:
            p["params"] = count_kan(model) if p["grid"] == grids[-1] else _kan_params_at(
                list(width), [p["grid"]] * len(model.layers))
            sizes.append(p)
        summary.append(_summary_row(hist, "kan", shape_label(width), count_kan(model), grid_sizes_final))
        if progress:
            progress(f"  KAN {shape_label(width)} ({count_kan(model)} params, grids {grid_sizes_final}): "
                     f"rel L2 {hist.rel_l2.iloc[-1]:.2e} after {total} steps, {hist.seconds.iloc[-1]:.0f} s")
    mlp_widths = list(mlp_widths)
    if ten_times and kan_widths:
        wide = mlp_width_for(10 * int(summary[-1]["params"]))
        mlp_widths = sorted(set(mlp_widths) | {wide})
    for hidden in mlp_widths:
        model, hist = _mlp_run(hidden, problem, total, seed, activation)
        histories.append(hist)
        shape = shape_label([2, hidden, hidden, 1])
        summary.append(_summary_row(hist, "mlp", shape, count_mlp(model), None))
        sizes.append({"model": "mlp", "shape": shape, "grid": math.nan, "rel_l2": hist.rel_l2.iloc[-1],
                      "seconds": hist.seconds.iloc[-1], "step": int(hist.step.iloc[-1]), "params": count_mlp(model)})
        if progress:
            progress(f"  MLP {shape} ({count_mlp(model)} params, {activation}): rel L2 {hist.rel_l2.iloc[-1]:.2e} "
                     f"after {total} steps, {hist.seconds.iloc[-1]:.0f} s")
    summary = pd.DataFrame(summary)
    history = pd.concat(histories, ignore_index=True)
    summary["rel_l2_at_kan_cpu"] = [_error_at(history[history["shape"] == shape], kan_cpu)
                                    for shape in summary["shape"]]
    return history, summary, pd.DataFrame(sizes)


def _error_at(hist: pd.DataFrame, cpu_seconds: float | None) -> float:
    """The relative L2 error after the last step finished within ``cpu_seconds`` of CPU time."""
    if cpu_seconds is None or hist.empty:
        return math.nan
    done = hist[hist.cpu_seconds <= cpu_seconds]
    return float(done.rel_l2.iloc[-1]) if len(done) else math.nan


def _summary_row(hist, model, shape, params, grids) -> dict:
    below = hist[hist.rel_l2 < 1e-3]
    return {"model": model, "shape": shape, "params": params, "grids": "" if grids is None else str(grids),
            "steps": int(hist.step.iloc[-1]), "seconds": float(hist.seconds.iloc[-1]),
            "rel_l2": float(hist.rel_l2.iloc[-1]), "best_rel_l2": float(hist.rel_l2.min()),
            "cpu_seconds": float(hist.cpu_seconds.iloc[-1]),
            "step_to_1e3": int(below.step.iloc[0]) if len(below) else math.nan,
            "seconds_to_1e3": float(below.seconds.iloc[0]) if len(below) else math.nan,
            "cpu_seconds_to_1e3": float(below.cpu_seconds.iloc[0]) if len(below) else math.nan}


def write_plot(history: pd.DataFrame, sizes: pd.DataFrame, path: Path, shown: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for shape in shown:
        part = history[history["shape"] == shape]
        label = f"{part.model.iloc[0].upper()} {shape} ({int(part.params.iloc[0])} params)"
        a.plot(part.step, part.rel_l2, label=label)
    a.set_yscale("log")
    a.set_xlabel("LBFGS step")
    a.set_ylabel("relative L2 error")
    a.axhline(1e-3, color="grey", linestyle=":", linewidth=1)
    a.legend(fontsize=7)
    kan_colors = iter(["tab:blue", "tab:green", "tab:purple"])
    for shape, grp in sizes[sizes.model == "kan"].groupby("shape", sort=False):
        grids = ", ".join(str(int(g)) for g in grp.grid)
        b.plot(grp.params, grp.rel_l2, "o-", color=next(kan_colors), label=f"KAN {shape} (G = {grids})")
    mlp = sizes[sizes.model == "mlp"]
    if len(mlp):
        b.plot(mlp.params, mlp.rel_l2, "s--", color="tab:orange", label="MLP [2,w,w,1]")
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("parameters")
    b.set_ylabel("relative L2 error (end of training)")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench poisson", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and models")
    parser.add_argument("--grids", type=int, nargs="+", metavar="G", help="the KAN's grid sizes, coarse to fine "
                        "(default 5 10 20)")
    parser.add_argument("--steps", type=int, nargs="+", metavar="N", help="LBFGS steps on each grid (default 30 "
                        "each; 8 each with --quick)")
    parser.add_argument("--kan-base", choices=sorted(BASE_FUNCTIONS), default="identity",
                        help="the KAN edges' residual function (default identity)")
    parser.add_argument("--mlp-activation", choices=["tanh", "silu"], default="tanh")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/poisson")
    args = parser.parse_args(argv)
    grids = args.grids or [5, 10, 20]
    steps = args.steps or [8 if args.quick else 30] * len(grids)
    if len(steps) != len(grids):
        parser.error(f"--steps needs one count per grid: {len(steps)} counts for the grids {grids}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    mlp_widths = (20,) if args.quick else (10, 20, 40, 70, 100)
    kan_widths = ((2, 10, 1),) if args.quick else ((2, 5, 1), (2, 10, 1))
    print(f"Poisson on [-1,1]^2, exact sin(pi x) sin(pi y); 31x31 interior + 132 boundary points; LBFGS; "
          f"KAN ({args.kan_base} residual) steps {' + '.join(f'{n} at G={g}' for n, g in zip(steps, grids))}; "
          f"MLPs ({args.mlp_activation}) {sum(steps)} steps")
    start = time.perf_counter()
    history, summary, sizes = run(steps=steps, grids=grids, mlp_widths=mlp_widths, kan_widths=kan_widths,
                                  activation=args.mlp_activation, kan_base=args.kan_base, seed=args.seed)
    history.to_csv(out / "poisson_history.csv", index=False)
    summary.to_csv(out / "poisson_summary.csv", index=False)
    wide = summary[summary.model == "mlp"].sort_values("params")["shape"].tolist()[-1:]
    shown = ["[2,10,1]"] + [s for s in ["[2,20,20,1]", *wide] if s in set(history["shape"])]
    write_plot(history, sizes, out / "poisson.png", shown)
    print()
    kan_cpu = float(summary[summary["shape"] == "[2,10,1]"].cpu_seconds.iloc[0])
    print(f"| model | params | rel L2 (end) | best | at the KAN [2,10,1]'s {kan_cpu:.0f} CPU s "
          f"| reaches < 1e-3: step, wall s, CPU s | wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in summary.itertuples():
        reach = "-" if math.isnan(r.step_to_1e3) else (
            f"{int(r.step_to_1e3)}, {r.seconds_to_1e3:.0f}, {r.cpu_seconds_to_1e3:.0f}")
        print(f"| {r.model.upper()} {r.shape} | {r.params} | {r.rel_l2:.2e} | {r.best_rel_l2:.2e} | "
              f"{r.rel_l2_at_kan_cpu:.2e} | {reach} | "
              f"{r.seconds:.0f} | {r.cpu_seconds:.0f} |")
    kan = history[history["shape"] == "[2,10,1]"]
    marks = [s for s in (10, 20, 30, 45, 60, 90, 120) if s <= kan.step.max()]
    print("KAN [2,10,1] rel L2 by step (wall / CPU seconds): " + "  ".join(
        f"{s}: {kan[kan.step == s].rel_l2.iloc[0]:.2e} ({kan[kan.step == s].seconds.iloc[0]:.0f} / "
        f"{kan[kan.step == s].cpu_seconds.iloc[0]:.0f} s)" for s in marks))
    print(f"total {time.perf_counter() - start:.0f} s; wrote {out}/poisson_history.csv, poisson_summary.csv, poisson.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
