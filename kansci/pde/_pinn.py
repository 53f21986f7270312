"""Physics-informed training: a network ``u(x)`` fitted to a PDE's residual and boundary data.

The loss (Raissi, Perdikaris & Karniadakis 2019, "Physics-informed neural networks")

    L = pde_weight * mean(residual(u, x_i)^2)  +  mean((u(x_b) - g(x_b))^2)  [+ lamb * sparsity]

over collocation points ``x_i`` inside the domain and ``x_b`` on its boundary, minimised by
LBFGS (or Adam) over the network's parameters.  For a KAN the fit can run coarse to fine, as
the KAN paper's PDE example does (Liu et al. 2024, section 3.4): one stage per grid size; the
grids follow the range of what every layer sees during the first half of the first stage,
and between stages they are extended so that the learned functions are kept exactly
(:func:`kansci.pde.extend_covering`: the range widened by whole old intervals to cover the
points, then refined).  The optional sparsity regulariser is the KAN paper's (on the
interior points), so a solution can be pruned and snapped to a formula afterwards.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from .._regularizer import edge_magnitudes, sparsity_penalty
from .._threads import threads_for, use_threads
from ._extend import extend_covering
from ._optimize import minimize

__all__ = ["box_interior", "box_boundary", "fit_pinn", "relative_l2"]


def _bounds(bounds) -> np.ndarray:
    b = np.asarray(bounds, dtype=float)
    if b.ndim != 2 or b.shape[1] != 2 or not np.all(b[:, 1] > b[:, 0]):
        raise ValueError(f"bounds must be a list of (low, high) pairs with high > low, one per dimension; got {bounds!r}")
    return b


def box_interior(bounds, n: int, *, kind: str = "grid", seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """Collocation points strictly inside the box ``bounds = [(lo, hi), ...]``.

    ``kind="grid"``: the ``n**d`` interior nodes of a uniform mesh with ``n + 2`` nodes a side
    (the boundary nodes left out); ``kind="random"``: ``n`` uniform points from a seeded
    generator.  Returns ``(N, d)``.
    """
    b = _bounds(bounds)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if kind == "grid":
        axes = [np.linspace(lo, hi, n + 2)[1:-1] for lo, hi in b]
        pts = np.array(list(itertools.product(*axes)))
    elif kind == "random":
        rng = np.random.default_rng(seed)
        pts = b[:, 0] + rng.random((n, len(b))) * (b[:, 1] - b[:, 0])
    else:
        raise ValueError(f"kind must be 'grid' or 'random', got {kind!r}")
    return torch.as_tensor(pts, dtype=dtype)


def box_boundary(bounds, n: int, *, dtype=torch.float64) -> torch.Tensor:
    """Points on the faces of the box: on each of its ``2d`` faces a uniform mesh of ``n`` nodes
    a side over the other coordinates (corners included; points shared by faces repeated).
    Returns ``(2d * n**(d-1), d)``."""
    b = _bounds(bounds)
    if n < 2:
        raise ValueError(f"n must be >= 2 (the corners at least), got {n}")
    d = len(b)
    axes = [np.linspace(lo, hi, n) for lo, hi in b]
    faces = []
    for k in range(d):
        rest = [axes[i] for i in range(d) if i != k]
        face = np.array(list(itertools.product(*rest))) if rest else np.zeros((1, 0))
        for value in b[k]:
            faces.append(np.insert(face, k, value, axis=1))
    return torch.as_tensor(np.concatenate(faces), dtype=dtype)


@torch.no_grad()
def relative_l2(fn, solution: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor) -> float:
    """``||u - u*|| / ||u*||`` over ``points`` (a discrete relative L2 error)."""
    u = fn(points).reshape(-1)
    ref = solution(points).reshape(-1).to(u)
    return float(torch.linalg.vector_norm(u - ref) / torch.linalg.vector_norm(ref))


def _is_kan(model) -> bool:
    return hasattr(model, "extend_grid") and hasattr(model, "layers")


def _stage_plan(model, grids, steps) -> list[tuple[int | None, int]]:
    if grids is None:
        if isinstance(steps, Sequence):
            raise ValueError("steps is a list (one entry per grid) but no grids were given")
        return [(None, int(steps))]
    if not _is_kan(model):
        raise ValueError("grids (grid extension) needs a KAN; pass grids=None for other networks")
    grids = [int(g) for g in grids]
    steps = list(steps) if isinstance(steps, Sequence) else [int(steps)] * len(grids)
    if len(steps) != len(grids):
        raise ValueError(f"steps has {len(steps)} entries but grids has {len(grids)}; give one per grid")
    return list(zip(grids, steps))


def _chunks(steps: int, every: int | None) -> list[int]:
    """Split a stage into runs of ``every`` steps over its first half, then the rest."""
    if not every or steps <= every:
        return [steps]
    chunks = [every] * ((steps // 2) // every)
    return chunks + [steps - sum(chunks)]


def fit_pinn(
    model,
    residual: Callable[[Callable, torch.Tensor], torch.Tensor],
    interior: torch.Tensor,
    boundary: torch.Tensor | None = None,
    boundary_values: torch.Tensor | Callable[[torch.Tensor], torch.Tensor] | None = None,
    *,
    pde_weight: float = 1.0,
    steps: int | Sequence[int] = 50,
    grids: Sequence[int] | None = None,
    update_grid: bool = True,
    grid_update_every: int = 10,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    history_size: int = 10,
    lamb: float = 0.0,
    solution: Callable[[torch.Tensor], torch.Tensor] | None = None,
    eval_points: torch.Tensor | None = None,
    time_limit: float | None = None,
    callback: Callable[[int, dict], None] | None = None,
    threads: int | str | None = "auto",
) -> pd.DataFrame:
    """Train ``model`` in place on a PDE's residual at ``interior`` and its boundary condition.

    Parameters
    ----------
    model : a KAN or any torch module mapping (n, d) points to (n, 1) values.
    residual : ``residual(model, x) -> (n,)`` (e.g. :func:`kansci.pde.poisson_residual`);
        zero where the PDE holds.
    interior : (n, d) collocation points inside the domain.
    boundary, boundary_values : (m, d) points on the boundary and the values of ``u`` there
        ((m,) tensor, a scalar, or a function of the points); omitted: no boundary term.
    pde_weight : weight of the residual term against the boundary term (the KAN paper's PDE
        example uses 0.01, which balances a residual of size ~source against boundary data).
    steps : optimiser steps, per stage (an int, or one per grid).
    grids : KANs only: grid sizes of successive stages (grid extension between them, see
        :func:`extend_covering`: a hidden layer whose range had to widen gets a few more
        intervals), e.g. ``(5, 10)``; None: one stage on the current grid.
    update_grid, grid_update_every : KANs: move every layer's grid to the range of the values
        it sees every ``grid_update_every`` steps over the first half of the first stage (as
        :func:`kansci.fit` does); later stages only extend the grid, which keeps the function.
    optimizer, lr : ``"lbfgs"`` (default) or ``"adam"``, and its step size.
    history_size : LBFGS memory.
    lamb : weight of the KAN sparsity regulariser (0: none).
    solution, eval_points : an exact solution and points where the relative L2 error is
        recorded after every step (column ``rel_l2``); default points: ``interior``.
    time_limit : seconds for the whole fit (all stages).
    callback : ``callback(step, record)`` after every step; may raise ``StopIteration``.
    threads : torch threads while fitting: ``"auto"`` (one for small problems, as
        :func:`kansci.fit` decides for a KAN; one for other networks below 4,096 points), an
        int, or None for torch's current setting.

    Returns
    -------
    DataFrame: ``step`` (counted over all stages), ``grid``, ``loss``, ``pde``, ``bc``,
    ``reg``, ``rel_l2`` (NaN without ``solution``), ``seconds`` (wall time since the start),
    ``cpu_seconds`` (this process's CPU time since the start: on a busy machine, the better
    measure of the work);
    ``attrs["initial_loss"]``: the loss before training.
    """
    n_points = len(interior) + (0 if boundary is None else len(boundary))
    if threads == "auto" and not _is_kan(model):
        threads = 1 if n_points <= 4096 else None
    with use_threads(threads_for(n_points, model, threads) if threads is not None else None):
        return _fit_pinn(model, residual, interior, boundary, boundary_values, pde_weight=pde_weight, steps=steps,
                         grids=grids, update_grid=update_grid, grid_update_every=grid_update_every,
                         optimizer=optimizer, lr=lr, history_size=history_size, lamb=lamb, solution=solution,
                         eval_points=eval_points, time_limit=time_limit, callback=callback)


def _fit_pinn(model, residual, interior, boundary, boundary_values, *, pde_weight, steps, grids, update_grid,
              grid_update_every, optimizer, lr, history_size, lamb, solution, eval_points, time_limit, callback):
    dt = next(model.parameters()).dtype
    interior = torch.as_tensor(interior, dtype=dt)
    if interior.ndim != 2:
        raise ValueError(f"interior must be (n, d) points, got shape {tuple(interior.shape)}")
    g = None
    if boundary is not None:
        boundary = torch.as_tensor(boundary, dtype=dt)
        if boundary_values is None:
            raise ValueError("boundary points were given without boundary_values; pass the values of u there")
        g = boundary_values(boundary) if callable(boundary_values) else torch.as_tensor(boundary_values, dtype=dt)
        g = g.reshape(-1).to(dt)
        if g.numel() == 1:
            g = g.expand(boundary.shape[0])
        if g.shape[0] != boundary.shape[0]:
            raise ValueError(f"{boundary.shape[0]} boundary points but {g.shape[0]} boundary values")
    if lamb > 0 and not _is_kan(model):
        raise ValueError("lamb (the sparsity regulariser) needs a KAN")
    plan = _stage_plan(model, grids, steps)
    evals = interior if eval_points is None else torch.as_tensor(eval_points, dtype=dt)
    all_points = interior if boundary is None else torch.cat([interior, boundary])

    def loss_fn():
        pde = torch.mean(residual(model, interior) ** 2)
        loss = pde_weight * pde
        parts = {"pde": pde}
        if boundary is not None:
            bc = torch.mean((model(boundary).reshape(-1) - g) ** 2)
            loss = loss + bc
            parts["bc"] = bc
        if lamb > 0:
            _, hidden = model.forward_with_hidden(interior)
            reg = sparsity_penalty([edge_magnitudes(layer, h) for layer, h in zip(model.layers, hidden)])
            loss = loss + lamb * reg
            parts["reg"] = reg
        return loss, parts

    start, cpu_start = time.perf_counter(), time.process_time()
    frames = []
    done = 0
    for stage, (grid, n_steps) in enumerate(plan):
        if grid is not None and grid != model.grid:
            extend_covering(model, all_points, grid)
        # grid updates (ranges from the points) in the first half of the first stage only:
        # extension keeps the function exactly, a range update does not
        updates = _is_kan(model) and update_grid and stage == 0
        chunks = _chunks(n_steps, grid_update_every if updates else None)
        stopped = False
        for c, chunk in enumerate(chunks):
            if updates and (c < len(chunks) - 1 or len(chunks) == 1):
                model.update_grid(all_points)

            def record(step, rec, _grid=grid, _done=done):
                rec["step"] = _done + step
                rec["grid"] = _grid if _grid is not None else getattr(model, "grid", np.nan)
                rec["seconds"] = time.perf_counter() - start
                rec["cpu_seconds"] = time.process_time() - cpu_start
                rec["rel_l2"] = relative_l2(model, solution, evals) if solution is not None else np.nan
                if callback is not None:
                    callback(rec["step"], rec)

            left = None if time_limit is None else time_limit - (time.perf_counter() - start)
            if left is not None and left <= 0:
                stopped = True
                break
            hist = minimize(loss_fn, model.parameters(), steps=chunk, optimizer=optimizer, lr=lr,
                            history_size=history_size, callback=record, time_limit=left)
            frames.append(hist)
            done += chunk
            stopped = hist.attrs.get("stop_reason") in ("callback", "time_limit")
            if stopped:
                break
        if stopped:
            break
    columns = ["step", "grid", "loss", "pde", "bc", "reg", "rel_l2", "seconds", "cpu_seconds"]
    history = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else pd.DataFrame(columns=columns)
    for c in columns:
        if c not in history:
            history[c] = np.nan
    history = history[columns]
    if frames:
        history.attrs["initial_loss"] = frames[0].attrs.get("initial_loss", np.nan)
    return history
