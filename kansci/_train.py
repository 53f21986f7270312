"""Training loop: LBFGS (full batch) or Adam (mini-batches), with the sparsity regulariser.

The best state (by validation objective, else training objective) is kept and restored at
the end, after a divergence (NaN/inf: restore, halve the step, go on) and after Ctrl-C.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import pandas as pd
import torch

from ._arrays import InputError, as_matrix
from ._progress import progress_bar
from ._device import resolve_device
from ._fused import choose_step, compile_or_eager, step_mode
from ._regularizer import edge_magnitudes, sparsity_penalty
from ._threads import threads_for, use_threads

__all__ = ["fit"]

log = logging.getLogger("kansci")

_MAX_DIVERGENCES = 8


def _split(n: int, val_fraction: float, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    n_val = int(round(n * val_fraction)) if n >= 10 else 0
    return perm[n_val:], perm[:n_val]


def _make_optimizer(name: str, params, lr: float):
    if name == "lbfgs":
        return torch.optim.LBFGS(
            params, lr=lr, max_iter=20, history_size=10, line_search_fn="strong_wolfe",
            tolerance_grad=1e-32, tolerance_change=1e-32,
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {name!r}")


def _finite_params(model) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def stop_after_step(callback, step: int, record: dict, start: float, time_limit: float | None) -> str | None:
    """Why a training loop stops after ``step`` (``"callback"``: the callback raised
    StopIteration; ``"time_limit"``: ``time_limit`` seconds have passed since ``start``), or None
    to go on.  Shared by :func:`fit` and :func:`kansci.pde.minimize`."""
    if callback is not None:
        try:
            callback(step, record)
        except StopIteration:
            return "callback"
    if time_limit is not None and time.perf_counter() - start > time_limit:
        return "time_limit"
    return None


def fit(
    model,
    X,
    y,
    *,
    steps: int = 100,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    batch_size: int | None = None,
    lamb: float = 0.0,
    lamb_l1: float = 1.0,
    lamb_entropy: float = 2.0,
    reg_sample: int = 1024,
    val_fraction: float = 0.0,
    X_val=None,
    y_val=None,
    update_grid: bool = True,
    grid_update_every: int = 10,
    stop_grid_update_step: int | None = None,
    seed: int = 0,
    progress: bool = False,
    time_limit: float | None = None,
    callback: Callable[[int, dict], None] | None = None,
    threads: int | str | None = "auto",
    device=None,
    step: str = "auto",
) -> pd.DataFrame:
    """Fit ``model`` to ``(X, y)`` in place and return the history.

    Parameters
    ----------
    model : KAN.
    X, y : (n, n_in) inputs and (n,) or (n, n_out) targets (arrays, DataFrames or tensors).
    steps : optimiser steps (an LBFGS step runs up to 20 inner iterations; an Adam step is one
        mini-batch).
    optimizer : ``"lbfgs"`` (default; full batch) or ``"adam"``.
    lr : step size (default 1.0 for LBFGS, 1e-2 for Adam).
    batch_size : Adam mini-batch size (default: full batch).
    lamb, lamb_l1, lamb_entropy : sparsity regulariser weight and its L1/entropy mix.
    reg_sample : rows used to estimate the edge magnitudes for the regulariser.
    val_fraction : share of rows held out for validation when ``X_val`` is not given.
    update_grid : move the grids to the data range every ``grid_update_every`` steps until
        ``stop_grid_update_step`` (default: half the steps).
    seed : seeds a private generator for the split, mini-batches and regulariser sample.
    progress : show a tqdm progress bar (only when stderr is a terminal).
    time_limit : stop after this many seconds.
    callback : called as ``callback(step, record)`` after each step; may raise
        ``StopIteration`` to end training early.
    threads : torch threads while fitting: ``"auto"`` (one for small problems, see
        ``kansci._threads``), an int, or None for torch's current setting.
    device : where to train: None (the model's device; a new KAN is on the CPU), ``"cpu"``,
        ``"cuda"``, ``"cuda:N"`` or ``"auto"``.  The model is moved there and stays there;
        the data are moved once.  Raises :class:`kansci.InputError` when CUDA is asked for
        and not available.
    step : how each training step computes the layers (same values, different cost):
        ``"eager"`` stores the edge features for backward (the reference); ``"recompute"``
        recomputes them in backward by row blocks (least memory, see ``kansci._fused``);
        ``"compile"`` evaluates them elementwise under ``torch.compile`` (falls back to eager
        with a warning where compiling fails); ``"auto"`` (default) is ``"eager"`` on a CPU
        and ``"recompute"`` on a GPU when the features of a step would pass 1 GB.

    Returns
    -------
    DataFrame with columns step, train_loss, val_loss, reg, lr, seconds (losses are MSE).
    ``history.attrs`` holds ``best_step``, ``interrupted`` and ``stop_reason``.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if device is not None:
        model.to(resolve_device(device))
    rows = len(X) if optimizer != "adam" or not batch_size else min(int(batch_size), len(X))
    mode = choose_step(step, model, rows)
    n_threads = threads_for(len(X), model, threads)
    with use_threads(n_threads), step_mode(model, mode):
        return _fit(model, X, y, steps=steps, optimizer=optimizer, lr=lr, batch_size=batch_size, lamb=lamb,
                    lamb_l1=lamb_l1, lamb_entropy=lamb_entropy, reg_sample=reg_sample, val_fraction=val_fraction,
                    X_val=X_val, y_val=y_val, update_grid=update_grid, grid_update_every=grid_update_every,
                    stop_grid_update_step=stop_grid_update_step, seed=seed, progress=progress,
                    time_limit=time_limit, callback=callback, compiled=step == "compile")


def _fit(model, X, y, *, steps, optimizer, lr, batch_size, lamb, lamb_l1, lamb_entropy, reg_sample, val_fraction,
         X_val, y_val, update_grid, grid_update_every, stop_grid_update_step, seed, progress, time_limit, callback,
         compiled=False):
    dt, dev = model.dtype, model.device
    n_out = model.width[-1]
    X = as_matrix(X, "X", n_cols=model.width[0], dtype=dt, device=dev)
    y = as_matrix(y, "y", n_cols=n_out, dtype=dt, device=dev)
    if X.shape[0] != y.shape[0]:
        raise InputError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match")
    gen = torch.Generator().manual_seed(int(seed))
    if X_val is not None:
        Xv = as_matrix(X_val, "X_val", n_cols=model.width[0], dtype=dt, device=dev)
        yv = as_matrix(y_val, "y_val", n_cols=n_out, dtype=dt, device=dev)
        Xt, yt = X, y
    else:
        tr, va = _split(X.shape[0], val_fraction, gen)
        Xt, yt = X[tr.to(dev)], y[tr.to(dev)]
        Xv, yv = (X[va.to(dev)], y[va.to(dev)]) if len(va) else (None, None)
    n = Xt.shape[0]
    lr = float(lr if lr is not None else (1.0 if optimizer == "lbfgs" else 1e-2))
    batch_size = min(int(batch_size or n), n) if optimizer == "adam" else n
    stop_grid = steps // 2 if stop_grid_update_step is None else stop_grid_update_step
    reg_idx = torch.randperm(n, generator=gen)[: min(reg_sample, n)].to(dev)

    def objective(xb, yb, sub):
        out, hidden = model.forward_with_hidden(xb)
        mse = torch.mean((out - yb) ** 2)
        if lamb > 0:
            # features recomputed on the subsample: slicing the batch's features would make
            # backward allocate and fill a gradient as large as the whole batch's
            mags = [edge_magnitudes(layer, h[sub]) for layer, h in zip(model.layers, hidden)]
            reg = sparsity_penalty(mags, l1=lamb_l1, entropy=lamb_entropy)
        else:
            reg = mse.new_zeros(())
        return mse, reg

    run = compile_or_eager(objective, dynamic=False) if compiled else objective

    def loss_backward(xb, yb, sub, scale):
        mse, reg_ = run(xb, yb, sub)
        loss = (mse + lamb * reg_) * scale
        try:
            loss.backward()
        except Exception as exc:  # the compiled backward failed: once more, eagerly
            if not getattr(run, "active", False):
                raise
            run.fail(exc)
            for p in model.parameters():
                p.grad = None
            mse, reg_ = run(xb, yb, sub)
            loss = (mse + lamb * reg_) * scale
            loss.backward()
        return loss

    @torch.no_grad()
    def evaluate():
        mse_t, reg = run(Xt, yt, reg_idx)
        mse_v = torch.mean((model(Xv) - yv) ** 2) if Xv is not None else mse_t
        return float(mse_t), float(mse_v), float(reg)

    opt = _make_optimizer(optimizer, list(model.parameters()), lr)
    records: list[dict] = []
    start = time.perf_counter()
    mse_t, mse_v, reg = evaluate()
    best = (mse_v + lamb * reg, 0, model.snapshot())
    # LBFGS skips curvature pairs with y.s < 1e-10, which stalls it once the loss is small;
    # scaling the objective to O(1) at the start of the fit keeps it working (the minimiser
    # is unchanged).
    loss_scale = 1.0 / max(mse_t + lamb * reg, 1e-300) if optimizer == "lbfgs" else 1.0
    attrs = {"interrupted": False, "stop_reason": "steps", "divergences": 0}
    bar = progress_bar(range(1, steps + 1), enabled=progress, desc="fit", leave=False)
    try:
        for step in bar:
            if update_grid and step > 1 and step <= stop_grid and (step - 1) % grid_update_every == 0:
                model.update_grid(Xt)
                opt = _make_optimizer(optimizer, list(model.parameters()), lr)
            if optimizer == "lbfgs":
                def closure():
                    opt.zero_grad()
                    loss = loss_backward(Xt, yt, reg_idx, loss_scale)
                    for p in model.parameters():  # LBFGS flattens grads with .view
                        if p.grad is not None and not p.grad.is_contiguous():
                            p.grad = p.grad.contiguous()
                    return loss
                opt.step(closure)
            else:
                idx = torch.randperm(n, generator=gen)[:batch_size].to(dev)
                opt.zero_grad()
                loss_backward(Xt[idx], yt[idx], torch.arange(min(reg_sample, batch_size), device=dev), 1.0)
                opt.step()
            mse_t, mse_v, reg = evaluate()
            objective_value = mse_v + lamb * reg
            if not (math.isfinite(objective_value) and _finite_params(model)):
                attrs["divergences"] += 1
                lr *= 0.5
                model.restore(best[2])
                opt = _make_optimizer(optimizer, list(model.parameters()), lr)
                log.warning("fit diverged at step %d: restored the best state, step size now %.3g", step, lr)
                if attrs["divergences"] >= _MAX_DIVERGENCES:
                    attrs["stop_reason"] = "diverged"
                    break
                continue
            if objective_value < best[0]:
                best = (objective_value, step, model.snapshot())
            rec = dict(step=step, train_loss=mse_t, val_loss=mse_v if Xv is not None else math.nan,
                       reg=reg, lr=lr, seconds=time.perf_counter() - start)
            records.append(rec)
            bar.set_postfix(train=f"{mse_t:.3g}", val=f"{mse_v:.3g}")
            reason = stop_after_step(callback, step, rec, start, time_limit)
            if reason is not None:
                attrs["stop_reason"] = reason
                break
    except KeyboardInterrupt:
        attrs["interrupted"] = True
        attrs["stop_reason"] = "interrupted"
        log.warning("fit interrupted: keeping the best state so far (step %d)", best[1])
    finally:
        bar.close()
        model.restore(best[2])
    history = pd.DataFrame(records, columns=["step", "train_loss", "val_loss", "reg", "lr", "seconds"])
    history.attrs.update(attrs, best_step=best[1])
    return history
