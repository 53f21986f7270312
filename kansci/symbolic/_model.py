"""Snap the edges of a KAN to primitives: per-edge data, ranked candidates, fixing, undoing.

Every function reads the edges from a forward pass on the data it is given, never from a
cache. An edge ``i -> j`` of layer ``l`` is *live* when ``model.layers[l].mask[i, j] == 1``;
pruned edges are skipped. Fixing an edge stores ``c*f(a*x + b) + d`` in the layer's symbolic
slot and keeps its spline, so :func:`unfix_symbolic` restores it exactly. After snapping,
``model.fit(X, y, update_grid=False)`` refines the affine constants together with the rest.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._arrays import as_matrix
from .._progress import progress_bar
from .._device import resolve_device
from ._affine import AffineFit, fit_affine
from ._library import Library
from ._primitive import Primitive
from ._rank import _library, ranked_fits

__all__ = [
    "EDGE_COLUMNS",
    "SNAP_COLUMNS",
    "auto_symbolic",
    "edge_data",
    "fix_symbolic",
    "node_names",
    "suggest_edges",
    "unfix_symbolic",
]

log = logging.getLogger("kansci")

EDGE_COLUMNS = [
    "layer", "i", "j", "source", "target", "rank", "primitive", "r2", "rmse", "complexity",
    "a", "b", "c", "d",
]
"""Columns of the :func:`suggest_edges` table."""

SNAP_COLUMNS = [
    "layer", "i", "j", "source", "target", "primitive", "r2", "rmse", "complexity",
    "a", "b", "c", "d", "fixed",
]
"""Columns of the :func:`auto_symbolic` table."""

LibraryLike = Library | Mapping[str, Primitive] | Iterable[str] | None


# ------------------------------------------------------------------------------ helpers


def node_names(model) -> list[list[str]]:
    """Labels of every node layer: input names, ``h{l}.{j}`` for hidden nodes, output names."""
    names = [list(model.input_names)]
    names += [[f"h{l}.{j}" for j in range(w)] for l, w in enumerate(model.width[1:-1], start=1)]
    return names + [list(model.output_names)]


def _check_edge(model, layer: int, i: int, j: int) -> None:
    n_layers = len(model.layers)
    if not 0 <= layer < n_layers:
        raise IndexError(f"layer must be in [0, {n_layers}) for width {model.width}, got {layer}")
    n_in, n_out = model.width[layer], model.width[layer + 1]
    if not (0 <= i < n_in and 0 <= j < n_out):
        raise IndexError(
            f"edge ({i}, {j}) is outside layer {layer}, which has {n_in} inputs and {n_out} outputs"
        )


def _rows(X: Any, max_rows: int | None) -> Any:
    """At most ``max_rows`` rows of ``X``, evenly strided (deterministic, no RNG)."""
    if hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=float)
    elif not isinstance(X, torch.Tensor):
        X = np.asarray(X, dtype=float)
    n = len(X)
    if max_rows is None or n <= max_rows:
        return X
    idx = np.linspace(0, n - 1, max_rows).round().astype(np.int64)
    return X[torch.from_numpy(idx)] if isinstance(X, torch.Tensor) else X[idx]


def _as_input(model, X: Any) -> torch.Tensor:
    return as_matrix(X, "X", n_cols=model.width[0], dtype=model.dtype, device=model.device)


def _input_of(model, X: Any, layer: int) -> torch.Tensor:
    """The input of ``layer`` on ``X`` (a forward pass through the layers before it)."""
    with torch.no_grad():
        h = _as_input(model, X)
        for module in model.layers[:layer]:
            h = module(h)
    return h


def _spline_values(module, h: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """Edge ``i -> j`` as computed by its spline branch, even when the edge is symbolic."""
    x = h[:, i : i + 1]
    basis = module.basis(h)[:, i, :]
    spline = (basis @ module.coef[i, :, j]) * module.scale_sp[i, j]
    return spline + module.base(x)[:, 0] * module.scale_base[i, j]


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _live(module) -> np.ndarray:
    return _numpy(module.mask) != 0


def _is_symbolic(module, i: int, j: int) -> bool:
    return (i, j) in module.symbolic_edges()


# ------------------------------------------------------------------------------ public


def edge_data(model, X: Any, layer: int, i: int, j: int, *, spline: bool = False):
    """Input and output values of edge ``i -> j`` of ``layer`` on the rows of ``X``.

    Parameters
    ----------
    model : KAN
    X : array-like (n, n_inputs)
    layer, i, j : the edge.
    spline : bool
        Return what the edge's spline computes even when the edge is symbolic (default:
        what the edge computes now; a pruned edge gives zeros).

    Returns
    -------
    x, y : numpy arrays (n,), float64.
    """
    _check_edge(model, layer, i, j)
    module = model.layers[layer]
    h = _input_of(model, X, layer)
    with torch.no_grad():
        y = _spline_values(module, h, i, j) if spline else module.edge_activations(h)[:, i, j]
    return _numpy(h[:, i]), _numpy(y)


def suggest_edges(
    model,
    X: Any,
    library: LibraryLike = None,
    *,
    top_k: int = 3,
    rtol: float = 1.0,
    max_rows: int | None = 1000,
    progress: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Ranked primitive candidates for every live edge that is not symbolic yet.

    Parameters
    ----------
    model : KAN
    X : array-like (n, n_inputs)
    library : Library, mapping, list of names or None (default library).
    top_k : candidates per edge (``None`` or <= 0: all).
    rtol : a simpler primitive wins when its ``1 - R^2`` is within ``(1 + rtol)`` times the
        best (see :func:`~kansci.symbolic.suggest`). The default 1.0 (a factor 2, looser
        than ``suggest``'s) reflects that a spline only approximates the true edge: a
        flexible primitive that also fits its wiggles must not beat the simple one.
    max_rows : rows of ``X`` used (evenly strided); ``None``: all.
    progress : show a progress bar over the edges.
    **options : passed to :func:`~kansci.symbolic.suggest` (``atol``, ``a_range``...).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EDGE_COLUMNS`; ``rank`` 0 is the best candidate of an edge.
    """
    lib = _library(library)
    X = _rows(X, max_rows)
    names = node_names(model)
    hidden = model.layer_inputs(X)
    jobs = []
    for li, module in enumerate(model.layers):
        live = _live(module)
        jobs += [(li, i, j) for i, j in zip(*np.nonzero(live)) if not _is_symbolic(module, i, j)]
    acts = model.edge_activations(X)
    rows = []
    for li, i, j in progress_bar(jobs, enabled=progress, desc="suggest", leave=False):
        x, y = _numpy(hidden[li][:, i]), _numpy(acts[li][:, i, j])
        scale = float(np.max(np.abs(_numpy(hidden[li + 1][:, j]))))
        ranked = ranked_fits(x, y, lib, scale=scale, rtol=rtol, **options)
        if top_k is not None and top_k > 0:
            ranked = ranked[:top_k]
        for rank, (fit, comp, _) in enumerate(ranked):
            rows.append((li, int(i), int(j), names[li][i], names[li + 1][j], rank, fit.primitive,
                         fit.r2, fit.rmse, comp, fit.a, fit.b, fit.c, fit.d))
    return pd.DataFrame(rows, columns=EDGE_COLUMNS)


def _primitive_of(choice: str | Primitive, library: LibraryLike) -> Primitive:
    if isinstance(choice, Primitive):
        return choice
    if isinstance(choice, str):
        return _library(library)[choice]
    raise TypeError(
        f"choice must be a primitive name, a Primitive or an AffineFit, got {type(choice).__name__}"
    )


def fix_symbolic(
    model,
    layer: int,
    i: int,
    j: int,
    choice: str | Primitive | AffineFit,
    X: Any = None,
    library: LibraryLike = None,
    *,
    max_rows: int | None = 1000,
    **fit_options: Any,
) -> AffineFit:
    """Switch edge ``i -> j`` of ``layer`` to ``c*f(a*x + b) + d``.

    Parameters
    ----------
    model : KAN
    layer, i, j : the edge; it must be live (not pruned).
    choice : str, Primitive or AffineFit
        A name (looked up in ``library``) or a Primitive: its constants are fitted to the
        edge's spline on ``X``. An AffineFit (from :func:`~kansci.symbolic.fit_affine` or
        :func:`~kansci.symbolic.best_fit`) is used as it is.
    X : array-like (n, n_inputs), needed unless ``choice`` is an AffineFit.
    library : where names are looked up (default library).
    max_rows : rows of ``X`` used for the fit (evenly strided); ``None``: all.
    **fit_options : passed to :func:`~kansci.symbolic.fit_affine`.

    Returns
    -------
    AffineFit
        The primitive and constants now in the edge.
    """
    _check_edge(model, layer, i, j)
    if not _live(model.layers[layer])[i, j]:
        raise ValueError(f"edge ({i}, {j}) of layer {layer} is pruned (mask 0); it cannot be snapped")
    if isinstance(choice, AffineFit):
        fit = choice
        if fit.function is None:
            raise ValueError(f"the AffineFit of {fit.primitive!r} carries no Primitive (function=None)")
    else:
        prim = _primitive_of(choice, library)
        if X is None:
            raise ValueError(
                f"fix_symbolic needs X to fit the constants of {prim.name!r} to the edge; "
                "pass X, or an AffineFit with the constants"
            )
        x, y = edge_data(model, _rows(X, max_rows), layer, i, j, spline=True)
        fit = fit_affine(x, y, prim, **fit_options)
    constants = (fit.a, fit.b, fit.c, fit.d)
    if not fit.ok or not all(math.isfinite(v) for v in constants):
        why = "; ".join(fit.notes) or "no finite constants"
        raise ValueError(f"cannot snap edge ({i}, {j}) of layer {layer} to {fit.primitive!r}: {why}")
    model.set_symbolic(layer, i, j, fit.function, constants)
    log.debug("layer %d edge (%d, %d) -> %s (r2 %.6g)", layer, i, j, fit.primitive, fit.r2)
    return fit


def unfix_symbolic(model, layer: int, i: int, j: int) -> None:
    """Return edge ``i -> j`` of ``layer`` to its spline (kept untouched while symbolic)."""
    _check_edge(model, layer, i, j)
    model.unset_symbolic(layer, i, j)


def auto_symbolic(
    model,
    X: Any,
    library: LibraryLike = None,
    *,
    min_r2: float = 0.0,
    overwrite: bool = False,
    rtol: float = 1.0,
    max_rows: int | None = 1000,
    progress: bool = False,
    device=None,
    **options: Any,
) -> pd.DataFrame:
    """Snap every live edge to its best candidate, layer by layer.

    Edge data of a layer are computed after the layers before it were snapped, so each edge
    is fitted on the inputs the snapped network will feed it.

    Parameters
    ----------
    model : KAN
    X : array-like (n, n_inputs)
    library : Library, mapping, list of names or None (default library).
    min_r2 : an edge whose best fit has a lower R^2 keeps its spline (``fixed`` False).
    overwrite : also re-snap edges that are symbolic already (fitted to their splines);
        by default they are left as they are and not listed.
    rtol : tolerance band of the ranking, as in :func:`suggest_edges`.
    max_rows : rows of ``X`` used (evenly strided); ``None``: all.
    progress : show a progress bar over the edges.
    device : where the network's edge data are computed (None: the model's device); the
        model is moved there (it is changed in place anyway); the fits run on the CPU.
    **options : passed to :func:`~kansci.symbolic.suggest` (``atol``, ``a_range``...).

    Returns
    -------
    pandas.DataFrame
        One row per edge considered, columns :data:`SNAP_COLUMNS`.
    """
    if device is not None:
        model.to(resolve_device(device))
    lib = _library(library)
    X = _rows(X, max_rows)
    names = node_names(model)
    h = _as_input(model, X)
    rows = []
    bar = progress_bar(total=sum(int(_live(m).sum()) for m in model.layers), enabled=progress,
               desc="snap", leave=False)
    try:
        for li, module in enumerate(model.layers):
            with torch.no_grad():
                acts = module.edge_activations(h)
                scales = np.abs(_numpy(module(h))).max(axis=0)
            x_all = _numpy(h)
            for i, j in zip(*np.nonzero(_live(module))):
                i, j = int(i), int(j)
                bar.update()
                symbolic = _is_symbolic(module, i, j)
                if symbolic and not overwrite:
                    continue
                with torch.no_grad():
                    y = _spline_values(module, h, i, j) if symbolic else acts[:, i, j]
                fit, comp, _ = ranked_fits(x_all[:, i], _numpy(y), lib, scale=float(scales[j]),
                                           rtol=rtol, **options)[0]
                fixed = bool(fit.ok and fit.r2 >= min_r2)
                if fixed:
                    fix_symbolic(model, li, i, j, fit)
                rows.append((li, i, j, names[li][i], names[li + 1][j], fit.primitive, fit.r2,
                             fit.rmse, comp, fit.a, fit.b, fit.c, fit.d, fixed))
            with torch.no_grad():
                h = module(h)
    finally:
        bar.close()
    return pd.DataFrame(rows, columns=SNAP_COLUMNS)
