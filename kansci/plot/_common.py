"""Helpers shared by the plots: a Figure without pyplot, the model behind a result, sample inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["figure_and_axes", "model_of", "sample_inputs", "short"]


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new Figure (not registered with pyplot) with one Axes."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def model_of(obj: Any) -> tuple[Any, list[str] | None, list[str] | None]:
    """The KAN of a KAN, a :class:`~kansci.Discovery` or a fitted estimator, with the names to show.

    Returns ``(model, input_names, output_names)``; names are None when the model's own apply.
    """
    from .._model import KAN

    if isinstance(obj, KAN):
        return obj, None, None
    if hasattr(obj, "_check_fitted"):  # an estimator: raises NotFittedError before fit
        obj._check_fitted("plotting")
    discovery = getattr(obj, "discovery_", obj)
    model = getattr(discovery, "model", None)
    if model is None:
        raise ValueError(
            f"{type(obj).__name__} holds no KAN (discovery solved the problem before training one); "
            "pass a kansci.KAN instead"
        )
    inputs = list(getattr(getattr(discovery, "formula", None), "variables", []) or [])
    target = getattr(discovery, "target", None)
    return (model,
            inputs if len(inputs) == model.width[0] else None,
            [str(target)] if target is not None and model.width[-1] == 1 else None)


def sample_inputs(model, X: Any = None, *, n: int = 400, seed: int = 0) -> np.ndarray:
    """``X`` as a float array, or ``n`` points drawn uniformly from the first layer's grid range.

    The grid range of a trained KAN is the range of the data it saw (after a grid update), so
    the default sample covers the model's working domain. ``seed`` seeds a private generator.
    """
    if X is not None:
        arr = X.to_numpy(dtype=float) if hasattr(X, "to_numpy") else np.asarray(
            X.detach().cpu() if hasattr(X, "detach") else X, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != model.width[0]:
            raise ValueError(f"X must have shape (n, {model.width[0]}) for this model, got {arr.shape}")
        return arr
    layer = model.layers[0]
    lo = layer.grid_lo.detach().cpu().numpy().astype(float)
    hi = layer.grid_hi.detach().cpu().numpy().astype(float)
    rng = np.random.default_rng(seed)
    return lo + (hi - lo) * rng.random((int(n), len(lo)))


def short(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "\u2026"
