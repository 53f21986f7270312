"""The KAN paper's 15 two-variable special functions (Liu et al. 2024, Table 2), from scipy.special.

The table ships as ``kansci/datasets/data/kan_special_functions.csv``: per function the
scipy name, fixed leading arguments (orders), the ranges of the two free arguments, and the
paper's figures (smallest KAN shape reaching test RMSE < 1e-2 and its RMSE, the best KAN
shape and RMSE, the best MLP's RMSE).

Inputs: a network sees ``(s, t)`` uniform on ``[-1, 1]^2``, mapped affinely to the free
arguments ``x = x_low + (s+1)/2 (x_high - x_low)`` (and ``y`` alike).  The paper's inputs are
``[-1, 1]^2``; where a function is not real and finite there, the range is mapped:

- ``ellipj(u, m)`` needs ``0 <= m <= 1``: m in [0, 1]; the value is the first of scipy's four
  outputs, ``sn(u|m)``;
- Bessel functions ``jv, yv, kv, iv(nu, z)``: order nu in [-1, 1], argument z in [1, 3]
  (real for z > 0 with non-integer order, away from the singularity of Y and K at 0);
- ``lpmv(m, nu, z)``: degree nu in [-1, 1], argument z in [-0.9, 0.9] (for a non-integer
  degree P diverges at z = -1, and odd orders have a square-root branch point at z = +-1);
- ``sph_harm(m, n, theta, phi)`` (theta azimuthal, phi polar, scipy < 1.15 order) is complex:
  its real part is used; newer scipy has ``sph_harm_y(n, m, polar, azimuthal)`` instead,
  used with the arguments swapped (the two agree where both exist);
- ``ellipkinc`` and ``ellipeinc`` are real on all of [-1, 1]^2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.special as sp
import torch

from ..datasets._files import read_bundled_csv

__all__ = ["special_table", "evaluate_special", "special_dataset"]

TABLE = "kan_special_functions.csv"


def special_table() -> pd.DataFrame:
    """The bundled table, one row per function (a fresh copy)."""
    return read_bundled_csv(TABLE, keep_default_na=False)


def _sph_harm(m: int, n: int, azimuth: np.ndarray, polar: np.ndarray) -> np.ndarray:
    if hasattr(sp, "sph_harm_y"):
        return sp.sph_harm_y(n, m, polar, azimuth)
    return sp.sph_harm(m, n, azimuth, polar)  # scipy < 1.15


def _fixed(row) -> list[int]:
    text = str(row["fixed_args"]).strip()
    return [int(v) for v in text.split(";")] if text else []


def evaluate_special(row, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The function of a table row at its free arguments ``(x, y)`` (not the mapped inputs)."""
    name = row["scipy_name"]
    fixed = _fixed(row)
    if name == "ellipj":
        return sp.ellipj(x, y)[0]
    if name == "sph_harm":
        return np.real(_sph_harm(fixed[0], fixed[1], x, y))
    if name in ("ellipkinc", "ellipeinc", "jv", "yv", "kv", "iv", "lpmv"):
        return getattr(sp, name)(*fixed, x, y)
    raise ValueError(f"unknown special function {name!r} in {TABLE}")


def special_dataset(row, n: int, seed: int, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` inputs uniform on [-1, 1]^2 (seeded) and the function's values there."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(-1.0, 1.0, size=(n, 2))
    x = row["x_low"] + (s[:, 0] + 1) / 2 * (row["x_high"] - row["x_low"])
    y = row["y_low"] + (s[:, 1] + 1) / 2 * (row["y_high"] - row["y_low"])
    values = np.asarray(evaluate_special(row, x, y), dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{row['id']}: non-finite values on its ranges; check {TABLE}")
    return torch.as_tensor(s, dtype=dtype), torch.as_tensor(values, dtype=dtype)
