"""Derivatives of a network's output with respect to its inputs, by torch autograd.

A physics-informed loss needs ``u``, its gradient and second derivatives at collocation
points, as differentiable functions of the network's parameters: every derivative here is
taken with ``create_graph=True``.  kansci's B-spline layers are twice differentiable this
way (cubic splines are C2; see ``kansci._basis``), and so is any torch MLP with smooth
activations.  The network must act row by row (no batch coupling): the derivatives of
``u.sum()`` are then the per-row derivatives.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["gradient", "laplacian", "poisson_residual"]


def _output(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    u = fn(x)
    if u.ndim == 2 and u.shape[1] == 1:
        u = u[:, 0]
    if u.shape != x.shape[:1]:
        raise ValueError(f"the network must return one value per row, shape ({x.shape[0]},) or "
                         f"({x.shape[0]}, 1); got {tuple(u.shape)}")
    return u


def _input(x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"x must be a (n, d) tensor of points, got {type(x).__name__} "
                         f"of shape {tuple(getattr(x, 'shape', ()))}")
    return x.detach().requires_grad_(True)


def gradient(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``u = fn(x)`` and its gradient ``du/dx``.

    Parameters
    ----------
    fn : a network or function mapping ``(n, d)`` points to ``(n,)`` or ``(n, 1)`` values.
    x : (n, d) points.

    Returns
    -------
    u : (n,), grad : (n, d); both differentiable with respect to ``fn``'s parameters.
    """
    x = _input(x)
    u = _output(fn, x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return u, g


def laplacian(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``u = fn(x)`` and its Laplacian ``sum_i d2u/dx_i^2``, both ``(n,)``.

    One backward pass per input dimension on top of the gradient, all with
    ``create_graph=True``: the result keeps its graph, so a loss built from it can be
    minimised over ``fn``'s parameters.
    """
    x = _input(x)
    u = _output(fn, x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    lap = torch.zeros_like(u)
    for i in range(x.shape[1]):
        (gi,) = torch.autograd.grad(g[:, i].sum(), x, create_graph=True)
        lap = lap + gi[:, i]
    return u, lap


def poisson_residual(source: Callable[[torch.Tensor], torch.Tensor]):
    """The residual ``laplacian(u) - source(x)`` of Poisson's equation ``laplacian(u) = source``.

    Parameters
    ----------
    source : maps (n, d) points to (n,) values of the right-hand side.

    Returns
    -------
    ``residual(fn, x) -> (n,)``, the form :func:`kansci.pde.fit_pinn` takes.
    """

    def residual(fn, x: torch.Tensor) -> torch.Tensor:
        _, lap = laplacian(fn, x)
        return lap - source(x.detach()).reshape(-1)

    return residual
