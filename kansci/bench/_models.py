"""The models the KAN-claims benchmarks compare, trained alike, and how their size is counted.

- KANs are trained coarse to fine (the KAN paper's recipe, Liu et al. 2024, section 2.5): one
  :func:`kansci.fit` (LBFGS, float64) per grid size, grid extension in between; every grid
  gives a point of the error-against-size curve.
- MLPs (SiLU or tanh, plain ``torch.nn.Linear`` layers, float64) are trained on the same rows,
  with the same optimiser loop (:func:`kansci.pde.minimize`: LBFGS with strong Wolfe line
  search, or Adam), for the same number of optimiser steps as one KAN run over all its grids.

Parameter counts: ``count_kan`` counts what is trained and used: per live spline edge its
``G + k`` B-spline coefficients, its base weight and its spline scale (``G + k + 2``), four
affine constants per symbolic edge, and one bias per node of every layer after the inputs.
``count_kan_paper`` is the KAN paper's convention, ``G + k`` per edge (it neglects the two
scales and the biases); ``count_mlp`` counts weights and biases.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from .._model import KAN
from ..pde import minimize

__all__ = ["count_kan", "count_kan_paper", "count_mlp", "make_mlp", "train_mlp", "train_kan_grids", "rmse", "shape_label"]

ACTIVATIONS = {"silu": nn.SiLU, "tanh": nn.Tanh}


def count_kan(model: KAN) -> int:
    """Trainable parameters a KAN uses (see the module notes)."""
    total = 0
    for layer in model.layers:
        live = layer.mask.bool()
        sym = layer.sym_mask.bool() & live
        total += int((live & ~sym).sum()) * (layer.n_basis + 2) + int(sym.sum()) * 4 + layer.out_dim
    return total


def count_kan_paper(model: KAN) -> int:
    """The KAN paper's count: ``G + k`` per live edge."""
    return sum(int(layer.mask.sum()) * layer.n_basis for layer in model.layers)


def count_mlp(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def make_mlp(width, *, activation: str = "silu", seed: int = 0, dtype=torch.float64) -> nn.Sequential:
    """``Linear -> act -> ... -> Linear`` with layer sizes ``width``, PyTorch's default init
    drawn from a private generator seeded with ``seed``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    width = [int(w) for w in width]
    if len(width) < 2 or min(width) < 1:
        raise ValueError(f"width must list at least two positive layer sizes, got {width}")
    gen = torch.Generator().manual_seed(int(seed))
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(width[:-1], width[1:])):
        lin = nn.Linear(a, b, dtype=dtype)
        bound = 1.0 / math.sqrt(a)  # torch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        with torch.no_grad():
            lin.weight.copy_((torch.rand(b, a, generator=gen, dtype=dtype) * 2 - 1) * bound)
            lin.bias.copy_((torch.rand(b, generator=gen, dtype=dtype) * 2 - 1) * bound)
        layers.append(lin)
        if i < len(width) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


@torch.no_grad()
def rmse(model, X: torch.Tensor, y: torch.Tensor) -> float:
    return float(torch.sqrt(torch.mean((model(X).reshape(-1) - y.reshape(-1)) ** 2)))


def train_mlp(width, X, y, X_test, y_test, *, steps: int, optimizer: str = "lbfgs", lr: float | None = None,
              activation: str = "silu", seed: int = 0) -> dict:
    """Train one MLP on ``(X, y)`` full batch; its size and errors as a dict.

    Returns ``{"model", "width", "params", "train_rmse", "test_rmse", "seconds"}``.
    """
    if int(width[0]) != X.shape[1]:
        raise ValueError(f"the MLP {list(width)} takes {width[0]} inputs but X has {X.shape[1]} columns")
    model = make_mlp(width, activation=activation, seed=seed, dtype=X.dtype)
    target = y.reshape(-1, 1)

    def loss():
        return torch.mean((model(X) - target) ** 2)

    start = time.perf_counter()
    minimize(loss, model.parameters(), steps=steps, optimizer=optimizer, lr=lr)
    return {"model": model, "width": list(width), "params": count_mlp(model), "train_rmse": rmse(model, X, y),
            "test_rmse": rmse(model, X_test, y_test), "seconds": time.perf_counter() - start}


def train_kan_grids(width, X, y, X_test, y_test, *, grids, steps: int, seed: int = 0, lamb: float = 0.0,
                    time_limit: float | None = None) -> list[dict]:
    """Train one KAN coarse to fine; one record per grid size reached.

    The first grid is trained with grid updates (ranges from the data), then every later one
    after ``update_grid`` and ``extend_grid`` (the KAN paper's grid extension), ``steps``
    LBFGS steps each.  Records: ``width``, ``grid``, ``params``, ``params_paper``,
    ``train_rmse``, ``test_rmse``, ``seconds`` (cumulative).  ``time_limit`` stops before a
    new grid once the run has taken that long.
    """
    model = KAN(list(width), grid=int(grids[0]), seed=seed, dtype=X.dtype)
    rows = []
    start = time.perf_counter()
    for i, g in enumerate(grids):
        if i:
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
            model.update_grid(X)
            model.extend_grid(int(g), X)
        model.fit(X, y, steps=steps, update_grid=(i == 0), lamb=lamb, seed=seed)
        rows.append({"width": list(width), "grid": int(g), "params": count_kan(model),
                     "params_paper": count_kan_paper(model), "train_rmse": rmse(model, X, y),
                     "test_rmse": rmse(model, X_test, y_test), "seconds": time.perf_counter() - start})
    return rows


def shape_label(width) -> str:
    """``[2,3,1]``: how the paper writes a shape."""
    return "[" + ",".join(str(int(w)) for w in width) + "]"
