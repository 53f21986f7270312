"""Build the smaller KAN of a pruning plan, folding what was removed into the node biases.

The new model has only the surviving nodes (smaller tensors); surviving parameters, grids,
masks and symbolic slots are copied, removed edges between surviving nodes are masked.

Bias folding is done by mean matching, layer by layer from the inputs: every node whose
value changed (it lost an incoming edge, or one of its surviving inputs changed) gets its
bias shifted so that its mean over the data equals the original node's mean.  When the
node's surviving inputs are unchanged this adds exactly the removed edges' means to its
bias, as folding each removed edge does; when earlier layers were pruned too it also absorbs
the shift of the surviving edges' means.  Nodes that nothing touched keep their parameters
exactly.
"""

from __future__ import annotations

import torch

from .._arrays import as_matrix
from ._plan import PrunePlan, check_shapes

__all__ = ["compact", "compact_on", "empty_like"]


def empty_like(model, width: list[int], input_names: list[str]):
    """A KAN of ``width`` with ``model``'s spline order, options, dtype and device."""
    cls = type(model)
    return cls(
        width, grid=model.layers[0].grid, k=model.k, seed=model.seed, grid_range=model.grid_range,
        input_names=input_names, output_names=model.output_names, dtype=model.dtype, device=model.device,
        **model.layer_options,
    )


@torch.no_grad()
def _copy_layer(src, dst, rows: torch.Tensor, cols: torch.Tensor, keep: torch.Tensor) -> None:
    """Copy the ``rows x cols`` block of layer ``src`` into ``dst``; ``keep`` masks its edges."""
    dst.resize_grid(src.grid)
    r, c = rows.to(src.coef.device), cols.to(src.coef.device)
    dst.coef.copy_(src.coef[r][:, :, c])
    dst.scale_base.copy_(src.scale_base[r][:, c])
    dst.scale_sp.copy_(src.scale_sp[r][:, c])
    dst.bias.copy_(src.bias[c])
    dst.sym_affine.copy_(src.sym_affine[r][:, c])
    dst.grid_lo.copy_(src.grid_lo[r])
    dst.grid_hi.copy_(src.grid_hi[r])
    dst.mask.copy_(src.mask[r][:, c] * keep.to(dst.mask))
    row_of = {int(i): a for a, i in enumerate(rows)}
    col_of = {int(j): b for b, j in enumerate(cols)}
    for (i, j), prim in src.symbolic_edges().items():
        if i in row_of and j in col_of and bool(keep[row_of[i], col_of[j]]):
            dst.set_symbolic(row_of[i], col_of[j], prim, affine=src.sym_affine[i, j].tolist())


@torch.no_grad()
def compact(model, plan: PrunePlan, X, *, fold: bool = True):
    """A new, smaller KAN with the survivors of ``plan``; removed parts folded into biases.

    Parameters
    ----------
    model : the KAN the plan was made for (left unchanged).
    plan : survivors, see :func:`plan_pruning`.
    X : (n, n_in) inputs over which the means are matched (all rows are used).
    fold : match the means (default).  ``fold=False`` only drops the removed parts, leaving
        the constant offset that pykan's pruning leaves; it is there for comparisons.
    """
    x = as_matrix(X, "X", n_cols=model.width[0], dtype=model.dtype, device=model.device)
    return compact_on(model, plan, x, model.layer_inputs(x), fold=fold)


@torch.no_grad()
def compact_on(model, plan: PrunePlan, x: torch.Tensor, original: list[torch.Tensor], *, fold: bool = True):
    """:func:`compact` with the inputs as a tensor and ``model.layer_inputs(x)`` already computed."""
    check_shapes(model, plan.edges, "pruning plan")
    kept = [torch.nonzero(n).flatten() for n in plan.nodes]
    names = [model.input_names[int(i)] for i in kept[0]]
    new = empty_like(model, [len(k) for k in kept], names)
    h = x[:, kept[0].to(x.device)]
    changed = torch.zeros(len(kept[0]), dtype=torch.bool)  # dropping a column changes no other
    for li, (src, dst) in enumerate(zip(model.layers, new.layers)):
        rows, cols = kept[li], kept[li + 1]
        survives = plan.edges[li] & plan.nodes[li][:, None] & plan.nodes[li + 1][None, :]
        keep = survives[rows][:, cols]
        _copy_layer(src, dst, rows, cols, keep)
        live = src.mask.detach().cpu() > 0
        lost = (live & ~survives)[:, cols].any(0)  # a live incoming edge went away
        fed_by_changed = (keep & live[rows][:, cols] & changed[:, None]).any(0)
        changed = lost | fed_by_changed
        out = dst(h)
        if fold and changed.any():
            target = original[li + 1][:, cols.to(x.device)].mean(0)
            shift = torch.where(changed.to(x.device), target - out.mean(0), torch.zeros_like(target))
            dst.bias.add_(shift)
            out = out + shift
        h = out
    return new
