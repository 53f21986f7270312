"""The symbolic step for a trained PDE solution: from ``u(x)`` to a closed-form formula.

A KAN's own edges give a formula directly (:func:`kansci.auto_symbolic` then
``kansci.formula`` composition), but a physics-informed solution is rarely sparse: an
unregularised [2,10,1] spreads ``u`` over ten hidden nodes, and snapping its thirty edges
composes a long sum, not the law.  Products such as ``sin(pi x) sin(pi y)`` are the typical
case (a product needs two hidden nodes, ``((a+b)^2 - (a-b)^2)/4``, which training seldom
finds).  :func:`snap_solution` therefore first tests the trained network for separability,
as AI Feynman does with its neural surrogate (Udrescu & Tegmark 2020): a function of ``d``
inputs is

- multiplicatively separable when ``u(x) u(x0)^(d-1) = prod_i u(x0 with x_i)``,
- additively separable when ``u(x) + (d-1) u(x0) = sum_i u(x0 with x_i)``,

checked on a mesh with the anchor ``x0`` where ``|u|`` is largest.  Each 1-D factor (the
slice of ``u`` through ``x0`` along one axis) is snapped like an edge, ``c*f(a*t+b)+d`` over
the primitive library (:func:`kansci.symbolic.best_fit`), the factors are composed and the
constants refined jointly against the network's values.  Given the PDE (``residual`` and
collocation points), the formula's constants are then trained on the physics-informed loss
itself (the formula as a torch module, :func:`kansci.formula.to_torch`): the network is only
an approximation of the solution, the PDE is exact, so this pulls the constants to the
values of the true solution where the formula can represent it.  Finally the constants are
recognised (pi, small rationals; :func:`kansci.formula.recognise_constants`).  When ``u`` is
not separable, the network's own edges are snapped and composed instead (``kind="edges"``).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sympy
import torch

from ..formula import recognise_constants, refine_constants, to_numpy, to_torch
from ..formula._compose import compose
from ..symbolic import auto_symbolic, best_fit
from ._pinn import fit_pinn

__all__ = ["SolutionFormula", "separability", "snap_solution"]


@dataclass
class SolutionFormula:
    """What :func:`snap_solution` found.

    Attributes
    ----------
    expr : sympy expression in ``symbols``.
    symbols : the input symbols.
    kind : ``"multiplicative"``, ``"additive"`` or ``"edges"``.
    separability : relative RMS violation of each separability identity on the mesh.
    factors : one row per 1-D factor: axis, primitive, r2, a, b, c, d (empty for ``"edges"``).
    rmse : RMSE of ``expr`` against the network on the mesh; ``rel_rmse`` relative to RMS(u).
    pde_loss : the physics-informed loss of the formula before and after training its
        constants on it (NaN without ``residual``).
    """

    expr: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    kind: str
    separability: dict[str, float]
    factors: pd.DataFrame = field(default_factory=pd.DataFrame)
    rmse: float = float("nan")
    rel_rmse: float = float("nan")
    pde_loss: tuple[float, float] = (float("nan"), float("nan"))


def _mesh(bounds, n: int) -> np.ndarray:
    axes = [np.linspace(lo, hi, n) for lo, hi in bounds]
    return np.array(list(itertools.product(*axes)))


def _values(model, X: np.ndarray) -> np.ndarray:
    dt = next(model.parameters()).dtype
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=dt)).reshape(-1).double().numpy()


def _slices(model, x0: np.ndarray, bounds, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i, (lo, hi) in enumerate(bounds):
        t = np.linspace(lo, hi, n)
        pts = np.repeat(x0[None, :], n, axis=0)
        pts[:, i] = t
        out.append((t, _values(model, pts)))
    return out


def separability(model, bounds, *, n: int = 31) -> tuple[dict[str, float], np.ndarray]:
    """Relative RMS violation of the multiplicative and additive identities, and the anchor ``x0``."""
    X = _mesh(bounds, n)
    u = _values(model, X)
    x0 = X[int(np.argmax(np.abs(u)))]
    u0 = float(_values(model, x0[None, :])[0])
    d = X.shape[1]
    parts = []
    for i in range(d):
        pts = np.repeat(x0[None, :], len(X), axis=0)
        pts[:, i] = X[:, i]
        parts.append(_values(model, pts))
    parts = np.array(parts)
    scale = float(np.sqrt(np.mean(u**2))) or 1.0
    mult = np.prod(parts, axis=0) / u0 ** (d - 1) - u
    add = np.sum(parts, axis=0) - (d - 1) * u0 - u
    return ({"multiplicative": float(np.sqrt(np.mean(mult**2)) / scale),
             "additive": float(np.sqrt(np.mean(add**2)) / scale)}, x0)


def snap_solution(model, bounds, *, symbols=None, library=None, n: int = 41, tol: float = 1e-2,
                  residual=None, interior=None, boundary=None, boundary_values=None, pde_weight: float = 1.0,
                  steps: int = 20, recognise: bool = True) -> SolutionFormula:
    """A closed-form formula for a trained solution ``u(x)`` on the box ``bounds``.

    Parameters
    ----------
    model : trained network mapping (n, d) points to (n, 1) values (a KAN for the edge route).
    bounds : ``[(lo, hi), ...]``, one pair per input.
    symbols : sympy symbols of the inputs (default ``x0, x1, ...``, or ``x, y`` in 2-D).
    library : primitives for snapping (default: the default library).
    n : mesh nodes per axis (separability test, slices, refinement).
    tol : largest relative separability violation accepted.
    residual, interior, boundary, boundary_values, pde_weight : the PDE, as for
        :func:`kansci.pde.fit_pinn`; given them, the formula's constants are trained on the
        physics-informed loss for ``steps`` LBFGS steps before they are recognised.
    recognise : replace refined constants by exact ones where the values allow.

    Returns
    -------
    SolutionFormula
    """
    bounds = [(float(lo), float(hi)) for lo, hi in bounds]
    d = len(bounds)
    if symbols is None:
        symbols = sympy.symbols("x y", real=True) if d == 2 else sympy.symbols(f"x0:{d}", real=True)
    symbols = tuple(symbols)
    if len(symbols) != d:
        raise ValueError(f"{len(symbols)} symbols for {d} inputs")
    scores, x0 = separability(model, bounds, n=min(n, 31) if d <= 2 else 7)
    X = _mesh(bounds, n if d <= 2 else 7)
    u = _values(model, X)
    kind = min(scores, key=scores.get)
    if scores[kind] <= tol:
        u0 = float(_values(model, x0[None, :])[0])
        rows, terms = [], []
        for i, (t, s) in enumerate(_slices(model, x0, bounds, n)):
            fit = best_fit(t, s, library)
            rows.append({"axis": str(symbols[i]), "primitive": fit.primitive, "r2": fit.r2,
                         "a": fit.a, "b": fit.b, "c": fit.c, "d": fit.d})
            terms.append(fit.formula(symbols[i]))
        if kind == "multiplicative":
            expr = sympy.Mul(*terms) / sympy.Float(u0) ** (d - 1)
        else:
            expr = sympy.Add(*terms) - (d - 1) * sympy.Float(u0)
        factors = pd.DataFrame(rows)
    else:
        kind, factors = "edges", pd.DataFrame()
        snapped = copy.deepcopy(model)
        auto_symbolic(snapped, torch.as_tensor(X, dtype=next(model.parameters()).dtype), library)
        expr = compose(snapped, list(symbols))
    expr, _ = refine_constants(expr, list(symbols), X, u)
    target, pde_loss = u, (float("nan"), float("nan"))
    if residual is not None:
        if interior is None:
            raise ValueError("training the formula on the PDE needs the interior collocation points")
        module = to_torch(expr, list(symbols))
        hist = fit_pinn(module, residual, interior, boundary, boundary_values, pde_weight=pde_weight, steps=steps)
        expr = module.to_sympy()
        pde_loss = (float(hist.attrs.get("initial_loss", float("nan"))), float(hist.loss.min()))
        target = to_numpy(expr, list(symbols))(*X.T)  # the physics-trained formula is the reference now
    if recognise:
        expr = recognise_constants(expr, list(symbols), X, np.broadcast_to(np.asarray(target, dtype=float), u.shape))
    if kind != "edges":  # a composed network is long; sympy's simplify would take minutes
        expr = sympy.simplify(expr)
    pred = to_numpy(expr, list(symbols))(*X.T)
    pred = np.broadcast_to(np.asarray(pred, dtype=float), u.shape)
    rmse = float(np.sqrt(np.mean((pred - u) ** 2)))
    return SolutionFormula(expr, symbols, kind, scores, factors, rmse, rmse / float(np.sqrt(np.mean(u**2))), pde_loss)
