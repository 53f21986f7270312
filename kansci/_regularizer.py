"""The KAN paper's sparsity regulariser, without per-edge activations of the batch.

An edge's output is linear in the features ``f_i(x) = [base(x_i), B_1(x_i) .. B_nb(x_i)]``
of its input: ``phi_ij = w_ij . f_i``.  Its spread over a sample is therefore
``sqrt(w_ij^T C_i w_ij)`` with ``C_i`` the covariance of ``f_i`` (a ``(1+nb) x (1+nb)``
Gram matrix per input), so the magnitudes of all ``in*out`` edges cost one
``(n, in, 1+nb)`` feature tensor and a few small contractions, never an
``(n, in, out)`` tensor.  The magnitude used is the standard deviation of the edge's
output (the KAN paper uses its mean absolute value); a constant edge has magnitude 0,
which is what pruning wants since its mean is folded into the node bias.

Regulariser per layer: ``l1 * sum_ij |phi_ij| + entropy * H(|phi| / sum |phi|)``.
"""

from __future__ import annotations

import torch

__all__ = ["edge_magnitudes", "magnitudes_from_features", "sparsity_penalty"]

_EPS = 1e-12


def edge_magnitudes(layer, x: torch.Tensor) -> torch.Tensor:
    """Standard deviation of every spline edge's output over the rows of ``x``: ``(in, out)``.

    Symbolic and pruned edges get 0.
    """
    return magnitudes_from_features(layer, layer.features(x))


def magnitudes_from_features(layer, feats: torch.Tensor) -> torch.Tensor:
    """:func:`edge_magnitudes` from edge features already computed, ``(n, in, 1+nb)``."""
    feats = feats - feats.mean(0, keepdim=True)
    x_rows = feats.shape[0]
    cov = torch.einsum("nip,niq->ipq", feats, feats) / max(x_rows - 1, 1)
    w = layer.edge_weights()  # (in, p, out), masked
    var = torch.einsum("ipq,ipo,iqo->io", cov, w, w)
    return torch.sqrt(var.clamp_min(0) + _EPS) * layer.spline_mask()


def sparsity_penalty(magnitudes: list[torch.Tensor], *, l1: float = 1.0, entropy: float = 2.0) -> torch.Tensor:
    """Sum over layers of ``l1 * |phi|_1 + entropy * H(phi)``."""
    total = magnitudes[0].new_zeros(())
    for mag in magnitudes:
        s = mag.sum()
        total = total + l1 * s
        if entropy:
            p = mag / (s + _EPS)
            total = total - entropy * (p * torch.log(p + _EPS)).sum()
    return total
