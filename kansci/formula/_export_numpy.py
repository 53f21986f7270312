"""Export a formula to a vectorised numpy function."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy

from .._evaluate import numpy_function

__all__ = ["to_numpy"]


def to_numpy(
    expr: sympy.Basic, symbols: Sequence[sympy.Symbol]
) -> Callable[..., np.ndarray]:
    """``f(*arrays) -> ndarray`` evaluating ``expr``, one array per symbol, in order."""
    return numpy_function(expr, symbols)
