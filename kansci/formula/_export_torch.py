"""Export a formula to a torch module whose constants are trainable parameters."""

from __future__ import annotations

from collections.abc import Sequence

import sympy
import torch

from .._evaluate import TorchExpression

__all__ = ["to_torch"]


def to_torch(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    *,
    rationals: bool = False,
    dtype: torch.dtype = torch.float64,
) -> TorchExpression:
    """A :class:`~kansci._evaluate.TorchExpression`: ``module(X[batch, n_symbols]) -> (batch,)``.

    Float constants become parameters; with ``rationals=True`` so do rationals other than
    0, +-1 and exponents. ``module.to_sympy()`` returns the expression with current values.
    """
    return TorchExpression(expr, symbols, rationals=rationals, dtype=dtype)
