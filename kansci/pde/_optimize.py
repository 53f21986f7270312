"""A full-batch optimisation loop over any scalar loss: LBFGS or Adam, keeping the best state.

The physics-informed fits and the benchmarks' MLP baselines share it, so a KAN and an MLP
trained on the same loss see the same optimiser, the same step budget and the same care
(loss scaling for LBFGS, restoring the best state, recovering from a divergence).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable

import pandas as pd
import torch

from .._train import stop_after_step

__all__ = ["minimize", "make_optimizer"]

log = logging.getLogger("kansci")

_MAX_DIVERGENCES = 8


def make_optimizer(name: str, params: list[torch.nn.Parameter], lr: float, *,
                   history_size: int = 10) -> torch.optim.Optimizer:
    """``"lbfgs"`` (strong-Wolfe line search, up to 20 inner iterations a step, ``history_size``
    curvature pairs) or ``"adam"``."""
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=history_size, line_search_fn="strong_wolfe",
                                 tolerance_grad=1e-32, tolerance_change=1e-32)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {name!r}")


def _as_parts(value) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    if isinstance(value, tuple):
        loss, parts = value
        return loss, dict(parts)
    return value, {}


def minimize(
    loss_fn: Callable[[], torch.Tensor | tuple[torch.Tensor, dict]],
    parameters: Iterable[torch.nn.Parameter],
    *,
    steps: int = 100,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    history_size: int = 10,
    callback: Callable[[int, dict], None] | None = None,
    time_limit: float | None = None,
) -> pd.DataFrame:
    """Minimise ``loss_fn()`` over ``parameters`` in place; the best state is restored at the end.

    Parameters
    ----------
    loss_fn : returns the scalar loss, or ``(loss, parts)`` with a dict of named scalar
        terms recorded in the history. It must build its graph anew on every call.
    parameters : the tensors to train (``requires_grad``).
    steps : optimiser steps (an LBFGS step runs up to 20 inner iterations).
    optimizer : ``"lbfgs"`` (default, full batch) or ``"adam"``.
    lr : step size (default 1.0 for LBFGS, 1e-3 for Adam).
    history_size : LBFGS memory (curvature pairs kept).
    callback : ``callback(step, record)`` after every step; may raise ``StopIteration``.
    time_limit : stop after this many seconds.

    Returns
    -------
    DataFrame with columns ``step``, ``loss``, ``seconds`` and one per named part; ``attrs``
    holds ``initial_loss``, ``best_step``, ``best_loss`` and ``stop_reason``.  LBFGS minimises the loss divided
    by its starting value (same minimiser; LBFGS skips curvature pairs below 1e-10 and would
    stall on a small loss), the history records the loss itself.
    """
    params = [p for p in parameters if p.requires_grad]
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if not params:
        raise ValueError("minimize needs at least one parameter with requires_grad=True")
    lr = float(lr if lr is not None else (1.0 if optimizer == "lbfgs" else 1e-3))

    def evaluate() -> tuple[float, dict[str, float]]:
        loss, parts = _as_parts(loss_fn())
        return float(loss.detach()), {k: float(v.detach()) for k, v in parts.items()}

    def snapshot():
        return [p.detach().clone() for p in params]

    def restore(state) -> None:
        with torch.no_grad():
            for p, s in zip(params, state):
                p.copy_(s)

    start = time.perf_counter()
    loss0, _ = evaluate()
    scale = 1.0 / max(loss0, 1e-300) if optimizer == "lbfgs" and math.isfinite(loss0) else 1.0
    opt = make_optimizer(optimizer, params, lr, history_size=history_size)
    best = (loss0, 0, snapshot())
    records: list[dict] = []
    attrs = {"stop_reason": "steps", "divergences": 0}

    def closure():
        opt.zero_grad()
        loss, _ = _as_parts(loss_fn())
        (loss * scale).backward()
        for p in params:  # LBFGS flattens the gradients with .view
            if p.grad is not None and not p.grad.is_contiguous():
                p.grad = p.grad.contiguous()
        return loss * scale

    for step in range(1, steps + 1):
        opt.step(closure)
        loss, parts = evaluate()
        if not (math.isfinite(loss) and all(bool(torch.isfinite(p).all()) for p in params)):
            attrs["divergences"] += 1
            lr *= 0.5
            restore(best[2])
            opt = make_optimizer(optimizer, params, lr, history_size=history_size)
            log.warning("minimize diverged at step %d: restored the best state, step size now %.3g", step, lr)
            if attrs["divergences"] >= _MAX_DIVERGENCES:
                attrs["stop_reason"] = "diverged"
                break
            continue
        if loss < best[0]:
            best = (loss, step, snapshot())
        rec = {"step": step, "loss": loss, **parts, "seconds": time.perf_counter() - start}
        records.append(rec)
        reason = stop_after_step(callback, step, rec, start, time_limit)
        if reason is not None:
            attrs["stop_reason"] = reason
            break
    restore(best[2])
    history = pd.DataFrame(records)
    if history.empty:
        history = pd.DataFrame(columns=["step", "loss", "seconds"])
    history.attrs.update(attrs, best_step=best[1], best_loss=best[0], initial_loss=loss0)
    return history
