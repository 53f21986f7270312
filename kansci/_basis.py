"""Closed-form uniform B-spline bases.

On a uniform grid every B-spline of order ``k`` is a shifted, scaled copy of the
cardinal B-spline ``N_k`` supported on ``[0, k+1]``.  ``N_k`` is symmetric about
``(k+1)/2``, so with ``w = (k+1)/2 - |v - (k+1)/2|`` the truncated-power formula

    N_k(v) = 1/k! * sum_{j < (k+1)/2} (-1)^j C(k+1, j) relu(w - j)^k

needs only the few terms left of the centre and is exact to rounding.  No
Cox-de Boor recursion runs in the training step.  The derivative is
``N_k'(v) = N_{k-1}(v) - N_{k-1}(v-1)``, which the custom autograd function uses so
that backward stores only the inputs, not a graph of elementwise intermediates.  The backward
recomputes each point's interval fraction from the saved input with torch ops, so it is itself
differentiable: second derivatives with respect to the inputs (``create_graph=True``, as a
physics-informed loss needs) are exact for every order (cubic splines are C2).

Knot layout for an input with range ``[lo, hi]`` and ``G`` intervals: ``h = (hi-lo)/G``
and knots ``t_j = lo + (j - k) h`` for ``j = 0 .. G + 2k``; basis ``j`` (``0 <= j < G+k``)
is ``N_k((x - t_j) / h)``, non-zero on ``[t_j, t_{j+k+1}]``.  Inside ``[lo, hi]`` the
bases sum to one.
"""

from __future__ import annotations

import math

import torch

__all__ = ["cardinal_bspline", "bspline_basis", "bspline_basis_derivative", "edge_features"]


def _terms(k: int) -> list[tuple[int, float]]:
    half = (k + 1) / 2
    return [
        (j, (-1) ** j * math.comb(k + 1, j) / math.factorial(k))
        for j in range(k + 2)
        if j < half
    ]


def cardinal_bspline(v: torch.Tensor, k: int) -> torch.Tensor:
    """Cardinal B-spline ``N_k(v)`` of order ``k`` (degree k), support ``[0, k+1]``."""
    if k == 0:
        return ((v >= 0) & (v < 1)).to(v.dtype)
    half = (k + 1) / 2
    w = half - (v - half).abs()
    out = None
    for j, coef in _terms(k):
        term = torch.relu(w - j) if j else torch.relu(w)
        term = term.pow(k) * coef
        out = term if out is None else out + term
    return out


def _scaled_offsets(x: torch.Tensor, lo: torch.Tensor, inv_h: torch.Tensor, n_basis: int, k: int):
    # v[..., i, j] = (x_i - t_ij) / h = (x_i - lo_i) / h + k - j
    u = (x - lo) * inv_h + k
    offsets = torch.arange(n_basis, dtype=x.dtype, device=x.device)
    return u.unsqueeze(-1) - offsets


def bspline_basis_derivative(
    x: torch.Tensor, lo: torch.Tensor, inv_h: torch.Tensor, n_basis: int, k: int
) -> torch.Tensor:
    """d basis / dx, shape ``(..., n_in, n_basis)``."""
    if k == 0:
        return torch.zeros(*x.shape, n_basis, dtype=x.dtype, device=x.device)
    v = _scaled_offsets(x, lo, inv_h, n_basis, k)
    d = cardinal_bspline(v, k - 1) - cardinal_bspline(v - 1, k - 1)
    return d * inv_h.unsqueeze(-1)


def _local_weights(f: torch.Tensor, k: int) -> torch.Tensor:
    """The k+1 non-zero bases of a point at fraction ``f`` of its interval: ``(..., k+1)``."""
    if k == 3:
        f2 = f * f
        f3 = f2 * f
        g = 1.0 - f
        return torch.stack(
            [g * g * g / 6.0, 0.5 * f3 - f2 + 2.0 / 3.0, -0.5 * f3 + 0.5 * f2 + 0.5 * f + 1.0 / 6.0, f3 / 6.0], dim=-1
        )
    t = torch.arange(k, -1, -1, dtype=f.dtype, device=f.device)  # v = f + k - t
    return cardinal_bspline(f.unsqueeze(-1) + t, k)


def _local_derivatives(f: torch.Tensor, k: int) -> torch.Tensor:
    """d/df of :func:`_local_weights`."""
    if k == 3:
        f2 = f * f
        g = 1.0 - f
        return torch.stack([-0.5 * g * g, 1.5 * f2 - 2.0 * f, -1.5 * f2 + f + 0.5, 0.5 * f2], dim=-1)
    if k == 0:
        return torch.zeros(*f.shape, 1, dtype=f.dtype, device=f.device)
    v = f.unsqueeze(-1) + torch.arange(k, -1, -1, dtype=f.dtype, device=f.device)
    return cardinal_bspline(v, k - 1) - cardinal_bspline(v - 1, k - 1)


def _locate(x, lo, inv_h, n_basis: int, k: int, offset: int = 0):
    """Indices of the k+1 non-zero bases of each point, a validity mask, and the fraction ``f``.

    A point in interval ``m`` of its grid has non-zero bases ``m .. m+k``.  When every point
    lies inside its grid range (the usual case after a grid update) all indices are valid and
    the mask is ``None``.
    """
    u = (x - lo) * inv_h
    m = torch.floor(u)
    f = u - m
    m = m.long()
    steps = torch.arange(offset, offset + k + 1, device=x.device)
    if x.numel() and int(m.min()) >= 0 and int(m.max()) <= n_basis - k - 1:
        return m.unsqueeze(-1) + steps, None, f
    m.clamp_(-k - 1, n_basis)  # far outside: every index invalid, weights dropped
    idx = m.unsqueeze(-1) + steps
    valid = (idx >= offset) & (idx < n_basis + offset)
    return idx.clamp_(offset, n_basis - 1 + offset), valid, f


def _fraction(x, lo, inv_h):
    """The fraction of its grid interval at which each point lies, differentiable in ``x``."""
    u = (x - lo) * inv_h
    return u - torch.floor(u).detach()


def _scatter(idx, valid, local, shape):
    dense = local.new_zeros(shape)
    if valid is None:  # indices distinct within a row: a plain scatter
        return dense.scatter_(-1, idx, local)
    return dense.scatter_add_(-1, idx, local.masked_fill(~valid, 0.0))


class _BasisFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, inv_h, n_basis, k):  # noqa: D401 - autograd protocol
        idx, valid, f = _locate(x, lo, inv_h, n_basis, k)
        ctx.has_mask = valid is not None
        ctx.save_for_backward(x, idx, lo, inv_h, *([valid] if ctx.has_mask else []))
        ctx.k = k
        return _scatter(idx, valid, _local_weights(f, k), (*x.shape, n_basis))

    @staticmethod
    def backward(ctx, grad_out):
        x, idx, lo, inv_h, *valid = ctx.saved_tensors
        f = _fraction(x, lo, inv_h)
        local_grad = grad_out.gather(-1, idx)
        if valid:
            local_grad = local_grad.masked_fill(~valid[0], 0.0)
        grad_x = (local_grad * _local_derivatives(f, ctx.k)).sum(-1) * inv_h
        return grad_x, None, None, None, None


def bspline_basis(
    x: torch.Tensor, lo: torch.Tensor, inv_h: torch.Tensor, n_basis: int, k: int
) -> torch.Tensor:
    """All B-spline bases of every input at once.

    Parameters
    ----------
    x : (batch, n_in) tensor.
    lo, inv_h : (n_in,) grid start and inverse spacing per input.
    n_basis : ``G + k``.
    k : spline order.

    Returns
    -------
    (batch, n_in, n_basis) tensor.
    """
    if x.requires_grad and torch.is_grad_enabled():
        return _BasisFunction.apply(x, lo, inv_h, n_basis, k)
    idx, valid, f = _locate(x, lo, inv_h, n_basis, k)
    return _scatter(idx, valid, _local_weights(f, k), (*x.shape, n_basis))


# ------------------------------------------------------------------ features of a KAN layer
def _silu_derivative(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


BASE_FUNCTIONS = {
    "silu": (torch.nn.functional.silu, _silu_derivative),
    "identity": (lambda x: x, torch.ones_like),
    "zero": (torch.zeros_like, torch.zeros_like),
}


def _features(x, lo, inv_h, n_basis, k, base_fun):
    idx, valid, f = _locate(x, lo, inv_h, n_basis, k, offset=1)  # column 0 holds base(x)
    dense = _scatter(idx, valid, _local_weights(f, k), (*x.shape, n_basis + 1))
    dense[..., 0] = BASE_FUNCTIONS[base_fun][0](x)
    return dense, idx, valid, f


class _FeatureFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, inv_h, n_basis, k, base_fun):  # noqa: D401 - autograd protocol
        dense, idx, valid, _ = _features(x, lo, inv_h, n_basis, k, base_fun)
        ctx.has_mask = valid is not None
        ctx.save_for_backward(x, idx, lo, inv_h, *([valid] if ctx.has_mask else []))
        ctx.k, ctx.base_fun = k, base_fun
        return dense

    @staticmethod
    def backward(ctx, grad_out):
        x, idx, lo, inv_h, *valid = ctx.saved_tensors
        f = _fraction(x, lo, inv_h)
        local_grad = grad_out.gather(-1, idx)
        if valid:
            local_grad = local_grad.masked_fill(~valid[0], 0.0)
        grad_x = (local_grad * _local_derivatives(f, ctx.k)).sum(-1) * inv_h
        grad_x = grad_x + grad_out[..., 0] * BASE_FUNCTIONS[ctx.base_fun][1](x)
        return grad_x, None, None, None, None, None


def edge_features(x: torch.Tensor, lo: torch.Tensor, inv_h: torch.Tensor, n_basis: int, k: int,
                  base_fun: str = "silu") -> torch.Tensor:
    """Every input's edge features ``[base(x), B_1(x) .. B_nb(x)]``: ``(batch, n_in, 1 + n_basis)``.

    Every edge of a KAN layer is a linear function of its input's features, so a whole layer
    is one matrix product of these (flattened) with the edge weights.
    """
    if x.requires_grad and torch.is_grad_enabled():
        return _FeatureFunction.apply(x, lo, inv_h, n_basis, k, base_fun)
    return _features(x, lo, inv_h, n_basis, k, base_fun)[0]
