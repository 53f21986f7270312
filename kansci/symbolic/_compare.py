"""Which edges did the data change?  A trained KAN's edges against a hypothesis KAN's formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sympy

from ._affine import fit_affine
from ._model import _live, _rows, edge_data, node_names

__all__ = ["compare_edges", "COMPARE_COLUMNS"]

COMPARE_COLUMNS = ["layer", "i", "j", "source", "target", "primitive", "hypothesis", "refit", "r2", "changed"]
"""Columns of the :func:`compare_edges` table."""


def _text(expr, digits: int = 4) -> str:
    floats = expr.atoms(sympy.Float)
    return sympy.sstr(expr.xreplace({f: sympy.Float(f, digits) for f in floats}) if floats else expr)


def compare_edges(model, X, hypothesis, *, threshold: float = 1e-3, max_rows: int | None = 1000) -> pd.DataFrame:
    """How far each edge of a trained ``model`` has moved from the formula ``hypothesis`` gave it.

    For every edge that is symbolic in ``hypothesis`` (a KAN of the same width, typically
    :meth:`kansci.KAN.from_formula` of the hypothesis) and live in ``model``, the edge's function in
    ``model`` now (its spline or symbolic form, on the inputs ``X`` feeds it) is fitted with the
    hypothesised primitive, ``c*f(a*x + b) + d`` with all four constants free.  ``r2`` near 1: the
    data kept the shape and at most moved its constants (``refit``); lower: the data changed the
    shape of this piece (``changed``), which :func:`~kansci.symbolic.suggest_edges` can then name.

    Parameters
    ----------
    model : KAN, trained (e.g. from ``KAN.from_formula(..., symbolic=False)``).
    X : array-like (n, n_inputs), the data.
    hypothesis : KAN with the same width whose edges carry the hypothesis.
    threshold : an edge is ``changed`` when ``1 - r2`` exceeds it.
    max_rows : rows of ``X`` used (evenly strided); ``None``: all.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARE_COLUMNS`, the most changed edges first: the edge, its
        ``primitive``, ``hypothesis`` (the formula with the hypothesis's constants), ``refit``
        (the same primitive with the constants that fit ``model``'s edge best), ``r2``, ``changed``.

    Raises
    ------
    ValueError
        When the two models do not have the same width.
    """
    if list(model.width) != list(hypothesis.width):
        raise ValueError(f"model and hypothesis must have the same width; got {model.width} and {hypothesis.width}")
    X = _rows(X, max_rows)
    names = node_names(model)
    x_sym = sympy.Symbol("x")
    rows = []
    for (li, i, j), prim in sorted(hypothesis.symbolic_edges().items()):
        if not _live(model.layers[li])[i, j]:
            continue
        a, b, c, d = (float(v) for v in hypothesis.layers[li].sym_affine[i, j].detach().cpu())
        x, y = edge_data(model, X, li, i, j)
        fit = fit_affine(x, y, prim, a_range=None, b_range=None)
        r2 = float(fit.r2) if fit.ok and np.isfinite(fit.r2) else float("nan")
        if not np.isfinite(r2) and np.ptp(y) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            r2 = 1.0 if np.ptp(prim.numpy(a * x + b) * c) <= 1e-9 * max(1.0, abs(c)) else 0.0  # both constant
        rows.append((li, i, j, names[li][i], names[li + 1][j], prim.name,
                     _text(prim.formula(a, b, c, d, x_sym)),
                     _text(fit.formula(x_sym)) if fit.ok and fit.function is not None else "",
                     r2, bool(not r2 >= 1.0 - threshold)))
    table = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    return table.sort_values("r2", kind="stable", na_position="first").reset_index(drop=True)
