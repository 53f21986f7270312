"""Pruning benchmark: ``python -m kansci.bench.pruning``.

For each case a KAN is trained with :func:`kansci.prune.train_sparse` (float64, 1000 rows
uniform on [-1, 1]) and pruned with :func:`kansci.prune.prune_auto`; the script prints the
graph before and after, the surviving inputs, the edges kept, and the errors relative to
``std(y)``: before pruning, right after pruning (RMSE and mean residual, with the removed
means folded into the biases, and for comparison without folding, as pykan 0.2.8 prunes),
after retraining, and on 1000 held-out rows.

Cases (the first two are the acceptance cases of the pruning stage):

- ``irrelevant``: ``x0*x1 + sin(x2)`` with two irrelevant columns x3, x4, as ``[5, 5, 1]``;
  expected inputs x0, x1, x2.
- ``exp_sin``: ``exp(sin(pi*x0) + x1**2)`` as ``[2, 5, 1]``; expected ``[2, 1, 1]``.
- ``product``: ``x0*x1`` as ``[2, 5, 1]`` (pykan leaves a constant offset here: mean residual
  0.340 against RMSE 0.340).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .._model import KAN
from ..prune import prune, prune_auto, train_sparse

__all__ = ["CASES", "Case", "run_case", "run", "main"]


@dataclass(frozen=True)
class Case:
    """A benchmark law: name, input count, width to train, target function, expectation."""

    name: str
    n_in: int
    width: list[int]
    target: Callable[[np.ndarray], np.ndarray]
    expect: str


CASES = (
    Case("irrelevant", 5, [5, 5, 1], lambda X: X[:, 0] * X[:, 1] + np.sin(X[:, 2]), "inputs x0, x1, x2"),
    Case("exp_sin", 2, [2, 5, 1], lambda X: np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2), "width [2, 1, 1]"),
    Case("product", 2, [2, 5, 1], lambda X: X[:, 0] * X[:, 1], "no constant offset"),
)


def _errors(model, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    r = y - model.predict(X).numpy()[:, 0]
    return float(np.sqrt(np.mean(r**2)) / y.std()), float(r.mean() / y.std())


def run_case(case: Case, *, rows: int = 1000, steps: int = 50, warmup: int = 10, seed: int = 0) -> dict:
    """Train, prune and retrain one case; a dict of the figures (errors relative to std(y))."""
    rng = np.random.default_rng(seed)
    X, X_test = rng.uniform(-1, 1, (rows, case.n_in)), rng.uniform(-1, 1, (rows, case.n_in))
    y, y_test = case.target(X), case.target(X_test)
    model = KAN(case.width, grid=5, k=3, seed=seed, dtype=torch.float64)
    start = time.perf_counter()
    train_sparse(model, X, y, steps=steps, warmup=warmup, seed=seed)
    t_train = time.perf_counter() - start
    rmse_before, _ = _errors(model, X, y)
    start = time.perf_counter()
    pruned, report = prune_auto(model, X, y, seed=seed)
    t_prune = time.perf_counter() - start
    cols = report.input_columns
    unfolded = prune(model, X, edge_threshold=report.threshold, node_threshold=report.node_threshold, seed=seed,
                     fold=False)
    rmse_unfolded, mean_unfolded = _errors(unfolded, X[:, cols], y)
    rmse_test, _ = _errors(pruned, X_test[:, cols], y_test)
    sd = float(y.std())
    return {
        "case": case.name,
        "expect": case.expect,
        "width": f"{report.width_before} -> {report.width_after}",
        "inputs": ",".join(report.inputs_after),
        "edges": f"{report.edges_before} -> {report.edges_after}",
        "rmse_before": rmse_before,
        "rmse_pruned": report.rmse_pruned / sd,
        "mean_pruned": report.mean_residual_pruned / sd,
        "rmse_unfolded": rmse_unfolded,
        "mean_unfolded": mean_unfolded,
        "rmse_retrained": report.rmse_retrained / sd,
        "rmse_test": rmse_test,
        "train_s": t_train,
        "prune_s": t_prune,
    }


def run(cases=CASES, **options) -> pd.DataFrame:
    """Figures of every case, one row each."""
    return pd.DataFrame([run_case(c, **options) for c in cases])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench pruning", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=50, help="regularised training steps")
    parser.add_argument("--warmup", type=int, default=10, help="training steps without the regulariser first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", nargs="*", choices=[c.name for c in CASES], help="default: all")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.cases or c.name in args.cases]
    table = run(cases, rows=args.rows, steps=args.steps, warmup=args.warmup, seed=args.seed)
    print(f"pruning benchmark: {args.rows} rows, train_sparse {args.warmup}+{args.steps} steps, prune_auto, "
          f"seed {args.seed}; errors relative to std(y); 'unfolded' = same graph without bias folding (pykan)")
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3g}".format):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
