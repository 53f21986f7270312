"""One KAN layer: every edge is ``scale_base*silu(x) + scale_sp*spline(x)``, or a symbolic slot.

All spline edges of the layer are one dense contraction: the bases of all inputs,
``(batch, n_in*n_basis)``, times one weight matrix ``(n_in*n_basis, n_out)`` assembled from
the coefficients, the per-edge scales and masks.  No ``(batch, n_in, n_out)`` tensor is
built in the forward pass.  Symbolic edges ``c*f(a*x+b)+d`` are evaluated grouped by
primitive: one vectorised call per primitive, scattered into the outputs with ``index_add``.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from ._basis import BASE_FUNCTIONS, bspline_basis, dense_features, edge_features
from ._fused import STEP_MODES, block_rows, recomputed_layer

__all__ = ["KANLayer", "SymbolicPrimitive"]


class SymbolicPrimitive(Protocol):
    """What a layer needs of a primitive: a name and a safe, differentiable torch form."""

    name: str

    def torch(self, u: torch.Tensor) -> torch.Tensor: ...


class _SingleOutput(torch.autograd.Function):
    """``A @ w`` for one output node; its backward broadcasts instead of a rank-1 matmul.

    A (batch, features) x (features, 1) product's gradient for A is an outer product, which
    BLAS computes as a matrix product with an inner dimension of one: several times slower
    than the broadcast multiply used here (measured on the last layer of [8,32,32,1]).
    """

    @staticmethod
    def forward(ctx, a, w):  # noqa: D401 - autograd protocol
        ctx.save_for_backward(a, w)
        return (a @ w).unsqueeze(1)

    @staticmethod
    def backward(ctx, grad):
        a, w = ctx.saved_tensors
        g = grad[:, 0]
        grad_a = g.unsqueeze(1) * w if ctx.needs_input_grad[0] else None
        grad_w = a.T @ g if ctx.needs_input_grad[1] else None
        return grad_a, grad_w


class KANLayer(nn.Module):
    """A layer of ``n_in * n_out`` learnable univariate edges summed into ``n_out`` nodes.

    Parameters
    ----------
    in_dim, out_dim : number of input and output nodes.
    grid : number of grid intervals G per input.
    k : spline order (3 = cubic).
    grid_range : initial ``(lo, hi)`` of every input's grid.
    noise_scale : scale of the random initial spline coefficients.
    scale_base_mu, scale_base_sigma : initial residual-branch scale, ``mu/sqrt(in) +
        sigma*U(-1,1)/sqrt(in)``.
    scale_sp : initial spline-branch scale (divided by ``sqrt(in_dim)``).
    base_fun : residual function, ``"silu"`` (default), ``"identity"`` or ``"zero"``.
    generator : torch.Generator used for the initialisation.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        grid: int = 5,
        k: int = 3,
        *,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        noise_scale: float = 0.1,
        scale_base_mu: float = 0.0,
        scale_base_sigma: float = 1.0,
        scale_sp: float = 1.0,
        base_fun: str = "silu",
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if base_fun not in BASE_FUNCTIONS:
            raise ValueError(f"base_fun must be one of {sorted(BASE_FUNCTIONS)}, got {base_fun!r}")
        if grid < 1 or k < 0:
            raise ValueError(f"need grid >= 1 and k >= 0, got grid={grid}, k={k}")
        self.in_dim, self.out_dim, self.grid, self.k = int(in_dim), int(out_dim), int(grid), int(k)
        self.base_fun = base_fun
        self.init_options = dict(
            noise_scale=noise_scale,
            scale_base_mu=scale_base_mu,
            scale_base_sigma=scale_base_sigma,
            scale_sp=scale_sp,
        )
        fk = dict(dtype=dtype or torch.get_default_dtype(), device=device)
        self.coef = nn.Parameter(torch.empty(in_dim, self.n_basis, out_dim, **fk))
        self.scale_base = nn.Parameter(torch.empty(in_dim, out_dim, **fk))
        self.scale_sp = nn.Parameter(torch.empty(in_dim, out_dim, **fk))
        self.bias = nn.Parameter(torch.empty(out_dim, **fk))
        # symbolic slot of every edge: (a, b, c, d) of c*f(a*x+b)+d
        self.sym_affine = nn.Parameter(torch.empty(in_dim, out_dim, 4, **fk))
        self.register_buffer("grid_lo", torch.full((in_dim,), float(grid_range[0]), **fk))
        self.register_buffer("grid_hi", torch.full((in_dim,), float(grid_range[1]), **fk))
        self.register_buffer("mask", torch.ones(in_dim, out_dim, **fk))
        self.register_buffer("sym_mask", torch.zeros(in_dim, out_dim, **fk))
        self._symbolic: dict[tuple[int, int], SymbolicPrimitive] = {}
        self._groups: list[tuple[SymbolicPrimitive, torch.Tensor, torch.Tensor]] = []
        self.step = "eager"  # how forward computes the features, one of STEP_MODES
        self.reset_parameters(generator)

    # ------------------------------------------------------------------ setup
    @property
    def n_basis(self) -> int:
        return self.grid + self.k

    @property
    def inv_h(self) -> torch.Tensor:
        return self.grid / (self.grid_hi - self.grid_lo)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        o = self.init_options
        dev = self.coef.device

        def uniform(*shape):
            return torch.rand(*shape, generator=generator, dtype=self.coef.dtype, device="cpu").to(dev)

        root = self.in_dim**0.5
        with torch.no_grad():
            self.coef.copy_((uniform(*self.coef.shape) - 0.5) * o["noise_scale"] / self.grid)
            self.scale_base.copy_(
                o["scale_base_mu"] / root + o["scale_base_sigma"] * (uniform(*self.scale_base.shape) * 2 - 1) / root
            )
            self.scale_sp.fill_(o["scale_sp"] / root)
            self.bias.zero_()
            self.sym_affine.copy_(torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=self.coef.dtype))

    # ---------------------------------------------------------------- pieces
    def base(self, x: torch.Tensor) -> torch.Tensor:
        return BASE_FUNCTIONS[self.base_fun][0](x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Edge features ``[base(x), B_1(x) .. B_nb(x)]`` of every input: ``(batch, in_dim, 1+n_basis)``."""
        make = dense_features if self.step == "dense" else edge_features
        return make(x, self.grid_lo, self.inv_h, self.n_basis, self.k, self.base_fun)

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """B-spline bases of every input, ``(batch, in_dim, n_basis)``."""
        return bspline_basis(x, self.grid_lo, self.inv_h, self.n_basis, self.k)

    def spline_mask(self) -> torch.Tensor:
        """1 where an edge is live and computed by its spline, 0 when pruned or symbolic."""
        return self.mask * (1 - self.sym_mask)

    def edge_weights(self) -> torch.Tensor:
        """Per-edge weights on the features ``[base(x), B_1(x) .. B_nb(x)]``: ``(in, 1+nb, out)``."""
        m = self.spline_mask()
        wb = (self.scale_base * m).unsqueeze(1)
        wsp = self.coef * (self.scale_sp * m).unsqueeze(1)
        return torch.cat([wb, wsp], dim=1)

    # --------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's output ``(batch, out_dim)``, computed as ``self.step`` says.

        ``"eager"`` (the reference) stores the edge features for backward; ``"recompute"``
        recomputes them in backward by row blocks (:mod:`kansci._fused`); ``"dense"``
        evaluates them elementwise for ``torch.compile``.  All give the same values.  Without
        gradients, a large batch goes by row blocks whatever the mode, so no full feature
        tensor is ever built for prediction.
        """
        n_feat = self.in_dim * (self.n_basis + 1)
        if self.step == "recompute" or (
            self.step == "eager" and not torch.is_grad_enabled() and x.shape[0] > block_rows(x, n_feat)
        ):
            w = self.edge_weights().reshape(n_feat, self.out_dim)
            y = recomputed_layer(x, w, self.bias, self.grid_lo, self.inv_h, self.n_basis, self.k, self.base_fun)
            return self._add_symbolic(x, y) if self._groups else y
        if self.step == "dense":
            return self._contract(x, self.features(x), plain=True)
        return self.forward_features(x)[0]

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's output and the edge features it was computed from (one dense product)."""
        feats = self.features(x)
        return self._contract(x, feats), feats

    def _contract(self, x: torch.Tensor, feats: torch.Tensor, plain: bool = False) -> torch.Tensor:
        w = self.edge_weights().reshape(self.in_dim * (self.n_basis + 1), self.out_dim)
        flat = feats.reshape(x.shape[0], -1)
        if self.out_dim == 1 and torch.is_grad_enabled() and not plain:
            y = _SingleOutput.apply(flat, w[:, 0]) + self.bias
        else:
            y = torch.addmm(self.bias, flat, w)
        if self._groups:
            y = self._add_symbolic(x, y)
        return y

    def _add_symbolic(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        for prim, ii, jj in self._groups:
            aff = self.sym_affine[ii, jj]  # (n_edges, 4)
            u = x[:, ii] * aff[:, 0] + aff[:, 1]
            val = (aff[:, 2] * prim.torch(u) + aff[:, 3]) * self.mask[ii, jj]
            y = y.index_add(1, jj, val)
        return y

    def edge_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Every edge's output on ``x``: ``(batch, in_dim, out_dim)``, computed now, no cache."""
        m = self.spline_mask()
        acts = torch.einsum("bip,ipo->bio", self.basis(x), self.coef) * (self.scale_sp * m)
        acts = acts + self.base(x).unsqueeze(-1) * (self.scale_base * m)
        for prim, ii, jj in self._groups:
            aff = self.sym_affine[ii, jj]
            u = x[:, ii] * aff[:, 0] + aff[:, 1]
            val = (aff[:, 2] * prim.torch(u) + aff[:, 3]) * self.mask[ii, jj]
            acts = acts.index_put((torch.arange(x.shape[0], device=x.device)[:, None], ii, jj), val)
        return acts

    def spline_values(self, x: torch.Tensor) -> torch.Tensor:
        """The unscaled spline part ``coef . B(x)`` of every edge, ``(batch, in, out)``."""
        return torch.einsum("bip,ipo->bio", self.basis(x), self.coef)

    def resize_grid(self, grid: int) -> None:
        """Set G and reallocate the coefficients (values undefined; for loading saved states).

        To change G and keep the function, use grid extension instead.
        """
        if grid != self.grid:
            self.grid = int(grid)
            shape = (self.in_dim, self.n_basis, self.out_dim)
            self.coef = nn.Parameter(self.coef.new_zeros(shape))

    # --------------------------------------------------------------- symbolic
    def set_symbolic(self, i: int, j: int, primitive: SymbolicPrimitive, affine=(1.0, 0.0, 1.0, 0.0)) -> None:
        """Switch edge ``(i, j)`` to ``c*f(a*x+b)+d`` with ``affine = (a, b, c, d)``."""
        self._check_edge(i, j)
        with torch.no_grad():
            self.sym_affine[i, j] = torch.as_tensor(affine, dtype=self.sym_affine.dtype)
            self.sym_mask[i, j] = 1.0
        self._symbolic[(i, j)] = primitive
        self._rebuild_groups()

    def unset_symbolic(self, i: int, j: int) -> None:
        """Switch edge ``(i, j)`` back to its spline (the spline was kept untouched)."""
        self._check_edge(i, j)
        with torch.no_grad():
            self.sym_mask[i, j] = 0.0
        self._symbolic.pop((i, j), None)
        self._rebuild_groups()

    def symbolic_edges(self) -> dict[tuple[int, int], SymbolicPrimitive]:
        return dict(self._symbolic)

    def _check_edge(self, i: int, j: int) -> None:
        if not (0 <= i < self.in_dim and 0 <= j < self.out_dim):
            raise IndexError(f"edge ({i}, {j}) is outside a layer with {self.in_dim} inputs and {self.out_dim} outputs")

    def _rebuild_groups(self) -> None:
        by_name: dict[str, tuple[SymbolicPrimitive, list[int], list[int]]] = {}
        for (i, j), prim in sorted(self._symbolic.items()):
            entry = by_name.setdefault(prim.name, (prim, [], []))
            entry[1].append(i)
            entry[2].append(j)
        dev = self.coef.device
        self._groups = [
            (prim, torch.tensor(ii, dtype=torch.long, device=dev), torch.tensor(jj, dtype=torch.long, device=dev))
            for prim, ii, jj in by_name.values()
        ]

    def set_step(self, mode: str) -> None:
        """Choose how :meth:`forward` computes the features: one of ``STEP_MODES``."""
        if mode not in STEP_MODES:
            raise ValueError(f"step must be one of {STEP_MODES}, got {mode!r}")
        self.step = mode

    def _apply(self, fn, recurse=True):  # keep the group index tensors on the layer's device
        out = super()._apply(fn, recurse)
        self._rebuild_groups()
        return out

    def extra_repr(self) -> str:
        n_sym = len(self._symbolic)
        return (
            f"in_dim={self.in_dim}, out_dim={self.out_dim}, grid={self.grid}, k={self.k}, "
            f"live_edges={int(self.mask.sum().item())}, symbolic_edges={n_sym}"
        )
