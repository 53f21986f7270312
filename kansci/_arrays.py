"""Turning user arrays (numpy, pandas, torch, lists) into checked tensors."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["as_matrix", "InputError"]


class InputError(ValueError):
    """Bad user input: the message says what was wrong and what to do."""


def as_matrix(values, name: str, *, n_cols: int | None = None, dtype=torch.float32, device=None) -> torch.Tensor:
    """A 2-D finite float tensor from an array-like; 1-D input becomes one column."""
    if isinstance(values, torch.Tensor):
        arr = values.detach()
    else:
        if hasattr(values, "to_numpy"):
            values = values.to_numpy()
        try:
            arr = np.array(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be numeric; could not convert it to numbers ({exc})") from None
        arr = torch.from_numpy(arr)
    if arr.ndim == 1:
        arr = arr.unsqueeze(1)
    if arr.ndim != 2:
        raise InputError(f"{name} must be 1-D or 2-D, got shape {tuple(arr.shape)}")
    if arr.shape[0] == 0:
        raise InputError(f"{name} has no rows")
    if n_cols is not None and arr.shape[1] != n_cols:
        raise InputError(f"{name} must have {n_cols} column(s), got {arr.shape[1]}")
    bad = ~torch.isfinite(arr)
    if bad.any():
        rows = int(bad.any(1).sum())
        raise InputError(f"{name} has NaN or inf in {rows} row(s); drop or impute those rows first")
    return arr.to(dtype=dtype, device=device)
