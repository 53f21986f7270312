"""``train_sparse``: the sparsity-regularised fit that prepares a KAN for pruning.

The regulariser adds ``lamb * (l1 * sum|phi| + entropy * H)`` to the MSE, so a given ``lamb``
means different things for targets of different scales.  This recipe fits the model to the
standardised target, then rescales the last layer back to the target's units (exact: every
edge output and bias of the last layer is multiplied by ``std(y)``, ``mean(y)`` is added to
the biases), so one ``lamb`` works whatever the units of ``y``.  The first ``warmup`` steps run
without the regulariser, so that weak but real terms such as a product are fitted before the
regulariser can starve them (measured: without warm-up, 1 of 6 seeds of ``x0*x1 + sin(x2)``
on 400 rows lost the product).  Finally the output biases are
set to the least-squares offset, so that the mean residual on the training data is zero (the
regularised optimum is not exactly centred, and pruning keeps the model's mean).
"""

from __future__ import annotations

import pandas as pd
import torch

from .._arrays import InputError, as_matrix
from .._device import resolve_device
from .._train import fit

__all__ = ["train_sparse", "rescale_outputs", "centre_outputs"]


@torch.no_grad()
def rescale_outputs(model, scale: torch.Tensor, shift: torch.Tensor) -> None:
    """Make every output ``scale * output + shift`` in place (``(n_out,)`` tensors), exactly."""
    last = model.layers[-1]
    s = scale.to(last.bias)
    last.scale_base.mul_(s)
    last.scale_sp.mul_(s)
    last.sym_affine[..., 2].mul_(s)
    last.sym_affine[..., 3].mul_(s)
    last.bias.mul_(s).add_(shift.to(last.bias))


@torch.no_grad()
def centre_outputs(model, X, y) -> torch.Tensor:
    """Shift the output biases so the mean residual on ``(X, y)`` is zero; returns the shift."""
    x = as_matrix(X, "X", n_cols=model.width[0], dtype=model.dtype, device=model.device)
    t = as_matrix(y, "y", n_cols=model.width[-1], dtype=model.dtype, device=model.device)
    shift = (t - model(x)).mean(0)
    model.layers[-1].bias.add_(shift)
    return shift


def train_sparse(
    model,
    X,
    y,
    *,
    steps: int = 50,
    warmup: int = 10,
    lamb: float = 1e-2,
    lamb_l1: float = 1.0,
    lamb_entropy: float = 2.0,
    seed: int = 0,
    device=None,
    **fit_options,
) -> pd.DataFrame:
    """Fit ``model`` in place with the sparsity regulariser, on the standardised target.

    Parameters
    ----------
    model : KAN.
    X, y : training inputs and targets.
    steps : optimiser steps with the regulariser.
    warmup : optimiser steps without it, first.
    lamb : regulariser weight relative to a unit-variance target (1e-2 prunes the acceptance
        cases of ``kansci.bench.pruning`` reliably; raise it for sparser graphs).
    lamb_l1, lamb_entropy : the regulariser's L1/entropy mix.
    seed : seed of the fit's private generator.
    device : where to train (None: the model's device; ``"cuda"``, ``"cpu"``, ...); the model
        is moved there and stays there, the data are moved once.
    **fit_options : passed on to :func:`kansci.fit` (``X_val``/``y_val`` are standardised too).

    Returns
    -------
    The histories of both phases, one after the other, with a column ``phase`` (``"warmup"``
    or ``"sparse"``); losses are in standardised units.
    """
    if device is not None:
        model.to(resolve_device(device))
    x = as_matrix(X, "X", n_cols=model.width[0], dtype=model.dtype, device=model.device)
    t = as_matrix(y, "y", n_cols=model.width[-1], dtype=model.dtype, device=model.device)
    if steps < 0 or warmup < 0:
        raise ValueError(f"steps and warmup must be >= 0, got steps={steps}, warmup={warmup}")
    if x.shape[0] != t.shape[0]:
        raise InputError(f"X has {x.shape[0]} rows but y has {t.shape[0]}; they must match")
    mean, std = t.mean(0), t.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    if fit_options.get("y_val") is not None:
        yv = as_matrix(fit_options["y_val"], "y_val", n_cols=model.width[-1], dtype=model.dtype, device=model.device)
        fit_options["y_val"] = (yv - mean) / std
    ts = (t - mean) / std
    parts = []
    if warmup > 0:
        parts.append(fit(model, x, ts, steps=warmup, seed=seed, **fit_options).assign(phase="warmup"))
    sparse = fit(model, x, ts, steps=steps, lamb=lamb, lamb_l1=lamb_l1, lamb_entropy=lamb_entropy, seed=seed,
                 **fit_options).assign(phase="sparse")
    if parts:
        sparse["step"] += warmup
    parts.append(sparse)
    rescale_outputs(model, std, mean)
    centre_outputs(model, x, t)
    return pd.concat(parts, ignore_index=True)
