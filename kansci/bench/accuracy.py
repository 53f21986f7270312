"""Fitting accuracy of the training core: exp(sin(pi*x) + y**2) with grid extension.

Run ``python -m kansci.bench.accuracy`` (or ``kansci bench accuracy``).  A [2,5,1] KAN is
trained on 1,000 points of [-1,1]^2 in float64 with LBFGS, coarse to fine (G = 3, 6, 12, 24),
and the held-out RMSE on 10,000 fresh points is printed after each grid, with the time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from .._model import KAN

GRIDS = (3, 6, 12, 24)
STEPS = (30, 30, 30, 40)


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(np.pi * x[:, :1]) + x[:, 1:] ** 2)


def run(seed: int = 0, n_train: int = 1000, n_test: int = 10_000, grids=GRIDS, steps=STEPS, width=(2, 5, 1)):
    """Train with the recipe; returns [(grid, test_rmse, train_rmse, seconds)]."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n_train, 2, generator=gen, dtype=torch.float64) * 2 - 1
    xt = torch.rand(n_test, 2, generator=gen, dtype=torch.float64) * 2 - 1
    y, yt = target(x), target(xt)
    model = KAN(list(width), grid=grids[0], seed=seed, dtype=torch.float64)
    rows = []
    start = time.perf_counter()
    for i, g in enumerate(grids):
        if i:
            model.update_grid(x)
            model.extend_grid(g, x)
        hist = model.fit(x, y, steps=steps[i], update_grid=(i == 0))
        test = float(torch.sqrt(torch.mean((model.predict(xt) - yt) ** 2)))
        rows.append((g, test, float(np.sqrt(hist.train_loss.iloc[-1])), time.perf_counter() - start))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    print("exp(sin(pi*x) + y^2) on [-1,1]^2, 1000 training points, KAN [2,5,1], float64, LBFGS")
    for seed in args.seeds:
        rows = run(seed=seed)
        steps = "  ".join(f"G={g}: {test:.2e} ({secs:.1f} s)" for g, test, _, secs in rows)
        print(f"seed {seed}: held-out RMSE after each grid  {steps}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
