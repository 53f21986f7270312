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


def _local_pieces(f: torch.Tensor, k: int) -> torch.Tensor:
    """:func:`_local_weights` as the polynomial pieces themselves, without ``relu`` or ``abs``.

    Weight ``j`` is the piece of ``N_k`` on ``[k-j, k-j+1]``: the truncated-power sum over
    the terms active there.  Autograd differentiates it exactly at the knots too (``f = 0``),
    where ``relu`` and ``abs`` would give zero slopes; so its gradient matches
    :func:`_local_derivatives`.
    """
    if k == 3:
        return _local_weights(f, k)
    pieces = []
    for j in range(k + 1):
        v = f + (k - j)
        terms = [(-1) ** i * math.comb(k + 1, i) * (v - i) ** k for i in range(k - j + 1)]
        pieces.append(sum(terms[1:], terms[0]) / math.factorial(k))
    return torch.stack(pieces, dim=-1)


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


_TABLES: dict = {}


def _slot_tables(n_basis: int, k: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Per clamped interval ``m`` (row ``m + k + 1``): the feature columns of its k+1 bases, and 1/0 validity.

    A basis that does not exist (the point is outside its grid) gets column 0 and validity 0.
    A look-up in this small table replaces int64 arithmetic on every (row, input, basis),
    which is several times slower on a CPU than the float work around it.
    """
    key = (n_basis, k, str(device), dtype)
    if key not in _TABLES:
        # built on the device itself: no copy from the host, which would synchronise a GPU
        r = torch.arange(-k - 1, n_basis + 1, device=device).unsqueeze(1) + torch.arange(k + 1, device=device)
        ok = (r >= 0) & (r < n_basis)  # bases m .. m+k that exist
        _TABLES[key] = (torch.where(ok, r + 1, torch.zeros_like(r)), ok.to(dtype))
    return _TABLES[key]


def _locate(x, lo, inv_h, n_basis: int, k: int):
    """Where the k+1 non-zero bases of each point go in a features row, and the fraction ``f``.

    A features row is ``[column 0, B_0 .. B_{nb-1}]`` (basis ``j`` in column ``j+1``).  A
    point in interval ``m`` of its grid has non-zero bases ``m .. m+k``; a basis that does not
    exist (the point lies outside its grid range) gets index 0, so its weight lands in
    column 0, which the caller overwrites or drops.  Returns ``(idx, f, slot)``: ``idx`` of
    shape ``(..., n_in, k+1)``, ``f`` and ``slot`` (the row of :func:`_slot_tables`) of shape
    ``(..., n_in)``; ``slot`` is None when every point is inside its grid (no mask needed).

    On a GPU (and under ``torch.compile``) there is no data-dependent branch and no read-back
    to the host: the same kernels run whether or not the points are inside, so the stream
    never stalls here and the compiler sees one graph.  On a CPU a read-back costs nothing,
    and when every point is inside the indices are the plain ``m+1 .. m+k+1`` (cheaper than
    the table look-up and the mask in backward).
    """
    u = (x - lo) * inv_h
    m = torch.floor(u)
    f = u - m
    if _inside_on_cpu(m, n_basis, k):  # every basis exists: no table, no mask
        return m.long().unsqueeze(-1) + torch.arange(1, k + 2), f, None
    # far outside (or NaN): every index invalid; clamped before the cast, which cannot overflow
    slot = (m.clamp(-k - 1, n_basis).nan_to_num_(nan=-k - 1) + (k + 1)).long()
    columns, _ = _slot_tables(n_basis, k, x.device, x.dtype)
    idx = columns.index_select(0, slot.reshape(-1)).view(*slot.shape, k + 1)
    return idx, f, slot


def _inside_on_cpu(m: torch.Tensor, n_basis: int, k: int) -> bool:
    """On a CPU only: whether every interval index ``m`` is one with all k+1 bases inside."""
    if m.device.type != "cpu" or m.numel() == 0 or _compiling():
        return False
    lo, hi = torch.aminmax(m)
    return bool(lo >= 0) and bool(hi <= n_basis - k - 1)


def _fraction(x, lo, inv_h):
    """The fraction of its grid interval at which each point lies, differentiable in ``x``."""
    u = (x - lo) * inv_h
    return u - torch.floor(u).detach()


def _features(x, lo, inv_h, n_basis, k, base_fun):
    """Edge features ``(..., n_in, 1 + n_basis)``, column 0 holding ``base(x)``; with idx, f, slot."""
    idx, f, slot = _locate(x, lo, inv_h, n_basis, k)
    # scatter_ (not add): indices are distinct within a row except the dropped ones in column 0
    dense = x.new_zeros(*x.shape, n_basis + 1).scatter_(-1, idx, _local_weights(f, k))
    dense[..., 0] = BASE_FUNCTIONS[base_fun][0](x)
    return dense, idx, f, slot


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    if compiler is not None and hasattr(compiler, "is_compiling"):
        return bool(compiler.is_compiling())
    return False


def feature_gradient(grad_out, x, idx, f, slot, inv_h, n_basis: int, k: int, base_fun: str) -> torch.Tensor:
    """d loss / d x from d loss / d features ``grad_out`` (``(..., n_in, 1 + n_basis)``).

    ``slot`` as returned by :func:`_locate`, or None when every point is inside its grid.
    """
    slope = _local_derivatives(f, k)
    if slot is not None:  # dropped bases (in column 0) get no gradient
        _, valid = _slot_tables(n_basis, k, x.device, f.dtype)
        slope = slope * valid.index_select(0, slot.reshape(-1)).view(*slot.shape, -1)
    grad_x = (grad_out.gather(-1, idx) * slope).sum(-1) * inv_h
    return grad_x + grad_out[..., 0] * BASE_FUNCTIONS[base_fun][1](x)


class _FeatureFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, inv_h, n_basis, k, base_fun):  # noqa: D401 - autograd protocol
        dense, idx, _, slot = _features(x, lo, inv_h, n_basis, k, base_fun)
        ctx.save_for_backward(x, idx, lo, inv_h, *([] if slot is None else [slot]))
        ctx.n_basis, ctx.k, ctx.base_fun = n_basis, k, base_fun
        return dense

    @staticmethod
    def backward(ctx, grad_out):
        x, idx, lo, inv_h, *rest = ctx.saved_tensors
        slot = rest[0] if rest else None
        f = _fraction(x, lo, inv_h)  # recomputed with torch ops: the backward is differentiable
        grad_x = feature_gradient(grad_out, x, idx, f, slot, inv_h, ctx.n_basis, ctx.k, ctx.base_fun)
        return grad_x, None, None, None, None, None


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
    (batch, n_in, n_basis) tensor (a view into the edge features, differentiable in ``x``).
    """
    return edge_features(x, lo, inv_h, n_basis, k, "zero")[..., 1:]


def dense_features(x: torch.Tensor, lo: torch.Tensor, inv_h: torch.Tensor, n_basis: int, k: int,
                   base_fun: str = "silu") -> torch.Tensor:
    """:func:`edge_features` by elementwise operations only, for ``torch.compile``.

    Each of the ``n_basis`` columns selects its local weight: basis ``p`` of a point in
    interval ``m`` is weight ``p - m`` of :func:`_local_weights` when ``0 <= p - m <= k``,
    else 0.  No index tensors and no scatter, so autograd derives the backward and the
    compiler fuses the whole block into a few kernels (and may recompute it in backward
    rather than store it).  The same polynomial pieces as :func:`edge_features`, so equal to
    it to rounding everywhere, knots and points outside the grid included.
    """
    u = (x - lo) * inv_h
    m = torch.floor(u)
    f = u - m
    local = _local_pieces(f, k)  # (..., n_in, k+1)
    pos = torch.arange(n_basis, dtype=x.dtype, device=x.device) - m.clamp(-k - 1, n_basis).unsqueeze(-1)
    basis = torch.zeros_like(pos)
    for j in range(k + 1):
        basis = torch.where(pos == j, local[..., j : j + 1], basis)
    base = BASE_FUNCTIONS[base_fun][0](x).unsqueeze(-1)
    return torch.cat([base, basis], dim=-1)


# ------------------------------------------------------------------ features of a KAN layer
def _silu_derivative(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


BASE_FUNCTIONS = {
    "silu": (torch.nn.functional.silu, _silu_derivative),
    "identity": (lambda x: x, torch.ones_like),
    "zero": (torch.zeros_like, torch.zeros_like),
}


def edge_features(x: torch.Tensor, lo: torch.Tensor, inv_h: torch.Tensor, n_basis: int, k: int,
                  base_fun: str = "silu") -> torch.Tensor:
    """Every input's edge features ``[base(x), B_1(x) .. B_nb(x)]``: ``(batch, n_in, 1 + n_basis)``.

    Every edge of a KAN layer is a linear function of its input's features, so a whole layer
    is one matrix product of these (flattened) with the edge weights.
    """
    if x.requires_grad and torch.is_grad_enabled():
        return _FeatureFunction.apply(x, lo, inv_h, n_basis, k, base_fun)
    return _features(x, lo, inv_h, n_basis, k, base_fun)[0]
