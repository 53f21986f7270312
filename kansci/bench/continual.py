"""Continual learning: spline locality keeps what a KAN learned earlier (the KAN paper's Fig. 3.4).

Run ``kansci bench continual``.  A 1-D target of five Gaussian peaks on [-1, 1], centres
-0.8, -0.4, 0, 0.4, 0.8, width 0.05 (Liu et al. 2024, section 3.3).  Training runs in five
phases; phase ``p`` sees only points of the ``p``-th fifth of [-1, 1], around peak ``p``.  A
KAN [1,1] on a fixed grid (G = 200 over [-1, 1], no grid update: the grid must not follow the
phase's data) and an MLP (SiLU, two hidden layers of 64) are trained on each phase in turn
with the same LBFGS loop and step budget, and after every phase the RMSE on each fifth is
measured on a dense grid of clean points.  A B-spline coefficient moves only when data lie
under its basis function, so the KAN's earlier peaks can change only through the edge's few
shared scalars (base weight, spline scale, bias); an MLP's weights are all shared.  Two KANs
show the difference: ``kan`` trains all its parameters, ``kan_local`` only the B-spline
coefficients (the shared scalars stay at their initial values).  Prints the errors on the
earlier peaks after the last phase and writes ``continual.png`` and ``continual.csv``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._model import KAN
from .._threads import use_threads
from ..pde import minimize
from ._models import count_kan, count_mlp, make_mlp

__all__ = ["CENTRES", "target", "run", "main"]

CENTRES = (-0.8, -0.4, 0.0, 0.4, 0.8)
WIDTH = 0.05


def target(x: np.ndarray) -> np.ndarray:
    return sum(np.exp(-((x - c) ** 2) / (2 * WIDTH**2)) for c in CENTRES)


def _phase_rows(p: int, n: int, rng: np.random.Generator) -> np.ndarray:
    lo = -1.0 + 0.4 * p
    return np.sort(rng.uniform(lo, lo + 0.4, size=n))


def _region_rmse(model, x_eval: np.ndarray) -> list[float]:
    with torch.no_grad():
        pred = model(torch.as_tensor(x_eval[:, None])).reshape(-1).numpy()
    err = pred - target(x_eval)
    region = np.minimum(((x_eval + 1.0) / 0.4).astype(int), 4)
    return [float(np.sqrt(np.mean(err[region == p] ** 2))) for p in range(5)]


def run(*, steps: int = 50, n_per_phase: int = 200, grid: int = 200, mlp_width: int = 64, seed: int = 0):
    """Train the models phase by phase, one torch thread; (errors DataFrame, predictions after each phase).

    errors: columns ``model``, ``phase`` (0-4, after training on it), ``region`` (0-4), ``rmse``.
    predictions: ``{model: [(x_phase, y_phase, x_eval, prediction)] * 5}``.
    """
    with use_threads(1):
        return _run(steps, n_per_phase, grid, mlp_width, seed)


def _run(steps, n_per_phase, grid, mlp_width, seed):
    rng = np.random.default_rng(seed)
    phases = [_phase_rows(p, n_per_phase, rng) for p in range(5)]
    x_eval = np.linspace(-1, 1, 2001)
    kan = KAN([1, 1], grid=grid, seed=seed, dtype=torch.float64)
    local = KAN([1, 1], grid=grid, seed=seed, dtype=torch.float64)
    mlp = make_mlp([1, mlp_width, mlp_width, 1], seed=seed)
    models = {"kan": (kan, lambda: list(kan.parameters())),
              "kan_local": (local, lambda: [layer.coef for layer in local.layers]),
              "mlp": (mlp, lambda: list(mlp.parameters()))}
    rows, preds = [], {name: [] for name in models}
    for name, (model, trained) in models.items():
        for p, xp in enumerate(phases):
            X = torch.as_tensor(xp[:, None])
            y = torch.as_tensor(target(xp)[:, None])

            def loss(model=model, X=X, y=y):
                return torch.mean((model(X) - y) ** 2)

            minimize(loss, trained(), steps=steps)
            for region, e in enumerate(_region_rmse(model, x_eval)):
                rows.append({"model": name, "phase": p, "region": region, "rmse": e})
            with torch.no_grad():
                pred = model(torch.as_tensor(x_eval[:, None])).reshape(-1).numpy()
            preds[name].append((xp, target(xp), x_eval, pred))
    errors = pd.DataFrame(rows, columns=["model", "phase", "region", "rmse"])
    errors.attrs["params"] = {"kan": count_kan(kan), "kan_local": sum(layer.coef.numel() for layer in local.layers),
                              "mlp": count_mlp(mlp)}
    return errors, preds


def write_plot(preds: dict, params: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"kan": "KAN [1,1], G=200", "kan_local": "KAN, coefficients\nonly trained",
              "mlp": "MLP [1,64,64,1]"}
    colors = {"kan": "tab:blue", "kan_local": "tab:green", "mlp": "tab:orange"}
    fig, axes = plt.subplots(len(preds), 5, figsize=(14, 2.1 * len(preds)), sharex=True, sharey=True)
    for row, name in enumerate(preds):
        for p, (xp, yp, xe, pred) in enumerate(preds[name]):
            ax = axes[row, p]
            ax.plot(xe, target(xe), color="lightgrey", linewidth=1)
            ax.plot(xp, yp, ".", color="black", markersize=2)
            ax.plot(xe, pred, color=colors[name], linewidth=1)
            ax.set_ylim(-0.4, 1.4)
            if row == 0:
                ax.set_title(f"after phase {p + 1}", fontsize=9)
            if p == 0:
                ax.set_ylabel(f"{labels[name]}\n{params[name]} trained", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench continual", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="LBFGS steps per phase")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/continual")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    start = time.perf_counter()
    errors, preds = run(steps=args.steps, seed=args.seed)
    seconds = time.perf_counter() - start
    errors.to_csv(out / "continual.csv", index=False)
    write_plot(preds, errors.attrs["params"], out / "continual.png")
    print("five Gaussian peaks learned one after another; RMSE on each fifth of [-1,1] after the last phase")
    print("(peak amplitude 1; regions 1-4 are the earlier peaks, region 5 the one just trained)")
    last = errors[errors.phase == 4]
    for name in ("kan", "kan_local", "mlp"):
        part = last[last.model == name].sort_values("region")
        earlier = part[part.region < 4].rmse
        print(f"  {name:<9} ({errors.attrs['params'][name]:>4} trained parameters): "
              + "  ".join(f"peak {int(r.region) + 1}: {r.rmse:.2e}" for r in part.itertuples())
              + f"   mean over earlier peaks {earlier.mean():.2e}")
    print(f"total {seconds:.0f} s; wrote {out}/continual.csv and continual.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
