"""Grid update (range from data) and grid extension (G -> G'), keeping the learned function.

Both are the same operation: sample each input's current spline on points covering the
new grid, then solve one batched, ridge-stabilised least-squares problem per input for the
coefficients on the new grid.  A uniform refinement (G' a multiple of G) contains the old
spline space, so extension reproduces the old function to rounding.
"""

from __future__ import annotations

import torch

from ._basis import bspline_basis

__all__ = ["refit_grid"]

_MIN_WIDTH = 1e-4


def _sample_points(layer, lo: torch.Tensor, hi: torch.Tensor, x: torch.Tensor | None, n_dense: int, max_data: int):
    t = torch.linspace(0.0, 1.0, n_dense, dtype=lo.dtype, device=lo.device).unsqueeze(1)
    pts = lo + t * (hi - lo)  # (n_dense, in)
    if x is not None:
        if x.shape[0] > max_data:
            idx = torch.linspace(0, x.shape[0] - 1, max_data, device=x.device).long()
            x = torch.sort(x, dim=0).values[idx]
        pts = torch.cat([pts, x.to(lo.dtype).clamp(lo, hi)], dim=0)
    return pts


@torch.no_grad()
def refit_grid(
    layer,
    x: torch.Tensor | None = None,
    *,
    grid: int | None = None,
    grid_range: tuple[torch.Tensor, torch.Tensor] | None = None,
    from_data: bool = False,
    margin: float = 0.0,
    ridge: float = 1e-12,
    max_data: int = 2000,
) -> None:
    """Move a layer to a new grid (size and/or range) and refit its spline coefficients.

    Parameters
    ----------
    layer : KANLayer, changed in place.
    x : (n, in_dim) inputs of this layer; used for the range when ``from_data`` and always
        as extra fitting points.
    grid : new number of intervals (default: unchanged).
    grid_range : explicit new ``(lo, hi)`` tensors of shape (in_dim,).
    from_data : take each input's range from ``x`` (min to max, widened by ``margin`` of the width).
    """
    new_grid = int(grid or layer.grid)
    if grid_range is not None:
        lo, hi = (torch.as_tensor(v, dtype=layer.grid_lo.dtype, device=layer.grid_lo.device).expand(layer.in_dim) for v in grid_range)
    elif from_data:
        if x is None:
            raise ValueError("from_data=True needs the layer inputs x")
        lo, hi = x.min(0).values.to(layer.grid_lo.dtype), x.max(0).values.to(layer.grid_lo.dtype)
        width = hi - lo
        lo, hi = lo - margin * width, hi + margin * width
    else:
        lo, hi = layer.grid_lo.clone(), layer.grid_hi.clone()
    mid, half = (lo + hi) / 2, ((hi - lo) / 2).clamp_min(_MIN_WIDTH / 2)
    lo, hi = mid - half, mid + half

    n_basis = new_grid + layer.k
    pts = _sample_points(layer, lo, hi, x, n_dense=max(8 * n_basis, 64), max_data=max_data)
    target = layer.spline_values(pts).double()  # (n, in, out), old grid
    basis = bspline_basis(pts.double(), lo.double(), (new_grid / (hi - lo)).double(), n_basis, layer.k)
    gram = torch.einsum("nip,niq->ipq", basis, basis)
    scale = gram.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-30)
    gram = gram + ridge * scale[:, None, None] * torch.eye(n_basis, dtype=gram.dtype, device=gram.device)
    rhs = torch.einsum("nip,nio->ipo", basis, target)
    coef = torch.linalg.solve(gram, rhs)  # (in, n_basis, out)

    layer.grid = new_grid
    layer.grid_lo.copy_(lo)
    layer.grid_hi.copy_(hi)
    if coef.shape == layer.coef.shape:  # same Parameter: optimisers and compiled graphs keep it
        layer.coef.copy_(coef)
    else:
        layer.coef = torch.nn.Parameter(coef.to(layer.coef.dtype))
