"""Compose a fully symbolic KAN into one sympy formula in the user's raw variables.

Every live edge ``i -> j`` of a layer contributes ``c*f(a*h_i + b) + d``; a node is the sum
of its live edges plus the layer bias; pruned edges (mask 0) contribute nothing. Constants
enter as sympy Floats, ready for :func:`~kansci.formula.simplify_formula`. Optional affine
maps undo the data scaling: the model sees ``z = (x - x_shift)/x_scale`` and the result is
``y = y_shift + y_scale*out``.

:func:`rational_rewrite` turns compositions that are rational functions in disguise, such as
``tanh(atanh(u) + atanh(v))``, into their rational form ``(u + v)/(u*v + 1)``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from .._evaluate import numpy_function
from ..symbolic import X as _X
from ..symbolic._model import node_names
from ._complexity import complexity
from ._data import as_matrix
from ._naming import VariableMap, symbols_for

__all__ = ["compose", "rational_rewrite"]

logger = logging.getLogger("kansci")


def _per_item(value: Any, n: int, name: str, default: float) -> list[float]:
    """A scalar or a length-``n`` sequence (array, tensor) as ``n`` floats."""
    if value is None:
        return [default] * n
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=float).ravel()
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite scalar or have {n} entries, got {value!r}")
    return [float(v) for v in arr]


def _input_symbols(model, symbols: Any) -> list[sympy.Symbol]:
    if symbols is None:
        return list(symbols_for(model.input_names).symbols)
    if isinstance(symbols, VariableMap):
        symbols = symbols.symbols
    symbols = list(symbols)
    if len(symbols) != model.width[0]:
        raise ValueError(f"expected {model.width[0]} symbols (one per model input), got {len(symbols)}")
    bad = [s for s in symbols if not isinstance(s, sympy.Symbol)]
    if bad:
        raise TypeError(f"symbols must be sympy Symbols (or a VariableMap), got {bad[0]!r}")
    return symbols


def _float(v: float) -> sympy.Float:
    return sympy.Float(float(v))


def _edge(primitive: Any, affine: np.ndarray, node: sympy.Expr) -> sympy.Expr:
    """``c*f(a*node + b) + d``; exact 1 and 0 (canonical constants) are left out."""
    expr = getattr(primitive, "expr", None)
    if not isinstance(expr, sympy.Basic):
        raise TypeError(
            f"symbolic edge primitive {getattr(primitive, 'name', primitive)!r} has no sympy "
            "expr; use a kansci.symbolic.Primitive"
        )
    a, b, c, d = (float(v) for v in affine)
    if c == 0.0:
        return _float(d)
    inner = node if a == 1.0 else _float(a) * node
    if b != 0.0:
        inner = inner + _float(b)
    outer = expr.xreplace({_X: inner})
    if c != 1.0:
        outer = _float(c) * outer
    return outer + _float(d) if d != 0.0 else outer


def _input_node(symbol: sympy.Symbol, shift: float, scale: float) -> sympy.Expr:
    """``(symbol - shift)/scale``, leaving out a zero shift and a unit scale."""
    node = symbol - _float(shift) if shift != 0.0 else symbol
    return node / _float(scale) if scale != 1.0 else node


def _spline_edges(model) -> list[str]:
    """Labels of the live edges that are still splines."""
    names, found = node_names(model), []
    for li, module in enumerate(model.layers):
        live = module.mask.detach().cpu().numpy() != 0
        symbolic = module.symbolic_edges()
        for i, j in zip(*np.nonzero(live)):
            if (int(i), int(j)) not in symbolic:
                src, tgt = names[li][int(i)], names[li + 1][int(j)]
                found.append(f"layer {li} edge ({i}, {j}) {src} -> {tgt}")
    return found


def compose(
    model,
    symbols: Sequence[sympy.Symbol] | VariableMap | None = None,
    *,
    x_shift: Any = None,
    x_scale: Any = None,
    y_shift: Any = None,
    y_scale: Any = None,
    output: int | None = None,
) -> sympy.Expr | list[sympy.Expr]:
    """The formula computed by a KAN whose live edges are all symbolic.

    Parameters
    ----------
    model : KAN
        Every live edge must be symbolic (see :func:`kansci.symbolic.auto_symbolic`).
    symbols : sequence of sympy.Symbol or VariableMap, optional
        One per model input (default: ``symbols_for(model.input_names)``).
    x_shift, x_scale : float or sequence, optional
        The model's input ``k`` is ``(x_k - x_shift[k]) / x_scale[k]``.
    y_shift, y_scale : float or sequence, optional
        Output ``m`` is ``y_shift[m] + y_scale[m]*out_m``.
    output : int, optional
        Return only this output; by default a single expression for a one-output model and
        a list for several outputs.

    Returns
    -------
    sympy.Expr or list of sympy.Expr
        Constants are sympy Floats.

    Raises
    ------
    ValueError
        A live edge is still a spline (the message lists them), or bad shifts/scales.
    """
    n_in, n_out = model.width[0], model.width[-1]
    if output is not None and not 0 <= output < n_out:
        raise IndexError(f"output must be in [0, {n_out}), got {output}")
    splines = _spline_edges(model)
    if splines:
        raise ValueError(
            f"{len(splines)} live edge(s) are still splines: {'; '.join(splines)}. Snap them "
            "first with kansci.symbolic.fix_symbolic or auto_symbolic (or prune them)"
        )
    syms = _input_symbols(model, symbols)
    shift = _per_item(x_shift, n_in, "x_shift", 0.0)
    scale = _per_item(x_scale, n_in, "x_scale", 1.0)
    if any(s == 0.0 for s in scale):
        raise ValueError(f"x_scale must be nonzero, got {x_scale!r}")
    nodes = [_input_node(s, sh, sc) for s, sh, sc in zip(syms, shift, scale)]
    for module in model.layers:
        live = module.mask.detach().cpu().numpy() != 0
        affine = module.sym_affine.detach().cpu().numpy().astype(float)
        bias = module.bias.detach().cpu().numpy().astype(float)
        edges = module.symbolic_edges()
        new = []
        for j in range(module.out_dim):
            terms = [
                _edge(edges[(i, j)], affine[i, j], nodes[i]) for i in range(module.in_dim) if live[i, j]
            ]
            if bias[j] != 0.0:
                terms.append(_float(bias[j]))
            new.append(sympy.Add(*terms))
        nodes = new
    y_sh = _per_item(y_shift, n_out, "y_shift", 0.0)
    y_sc = _per_item(y_scale, n_out, "y_scale", 1.0)
    outs = [
        (_float(sc) * e if sc != 1.0 else e) + (_float(sh) if sh != 0.0 else 0)
        for e, sh, sc in zip(nodes, y_sh, y_sc)
    ]
    if output is not None:
        return outs[output]
    return outs[0] if n_out == 1 else outs


# --------------------------------------------------------------------------- rational form


def _n_functions(expr: sympy.Basic) -> int:
    """Applied functions (exp, tanh, atanh, ...) in ``expr``; powers do not count."""
    return sum(1 for node in sympy.preorder_traversal(expr) if isinstance(node, sympy.Function))


def _agrees(reference: np.ndarray, values: np.ndarray) -> bool:
    ok_ref, ok_new = np.isfinite(reference), np.isfinite(values)
    if np.any(ok_ref & ~ok_new):
        return False
    both = ok_ref & ok_new
    if not both.any():
        return False
    scale = float(np.max(np.abs(reference[both]))) or 1.0
    return bool(np.allclose(reference[both], values[both], rtol=1e-9, atol=1e-12 * scale))


def rational_rewrite(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol] | None = None,
    X: Any = None,
    *,
    max_growth: float = 2.0,
) -> sympy.Basic:
    """Write ``tanh(atanh(u) + atanh(v))`` and its kin as the rational function they are.

    Tries ``expand_trig`` (followed by ``cancel``) and keeps the result when it has fewer
    applied functions than ``expr``, is at most ``max_growth`` times as complex, and, when
    ``symbols`` and ``X`` are given, gives the same values on the rows of ``X``.

    Parameters
    ----------
    expr : sympy.Expr
    symbols : sequence of sympy.Symbol, optional
        The columns of ``X``.
    X : array-like (n, len(symbols)), optional
        Rows on which the rewrite is checked numerically.
    max_growth : float
        Largest allowed ratio of :func:`complexity` after / before.

    Returns
    -------
    sympy.Expr
        The rewritten expression, or ``expr`` unchanged.
    """
    n_before, size_before = _n_functions(expr), complexity(expr)
    if n_before == 0:
        return expr
    reference = columns = None
    if symbols is not None and X is not None:
        symbols = tuple(symbols)
        columns = list(as_matrix(X, symbols).T)
        reference = numpy_function(expr, symbols)(*columns)
    best, best_key = expr, (n_before, size_before)
    try:
        expanded = sympy.expand_trig(expr)
        candidates = [expanded, sympy.cancel(expanded)]
    except Exception as exc:  # sympy raises many types on exotic trees
        logger.debug("rational_rewrite: expand_trig failed: %s", exc)
        return expr
    for cand in candidates:
        if cand == expr or cand.has(sympy.zoo, sympy.nan, sympy.I):
            continue
        key = (_n_functions(cand), complexity(cand))
        if key >= best_key or key[1] > max_growth * size_before:
            continue
        if reference is not None:
            try:
                values = numpy_function(cand, symbols)(*columns)
            except ValueError:
                continue
            if not _agrees(reference, values):
                continue
        best, best_key = cand, key
    if best is not expr:
        logger.debug("rational_rewrite: %s -> %s", expr, best)
    return best
