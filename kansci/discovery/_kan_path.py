"""The KAN pipeline as a discovery stage: sparse fit, prune, snap every edge, refit, compose.

Inputs are mapped to [-1, 1] and the target standardised before training; the composed
formula undoes both maps, so it is in the data's raw units.  With positive inputs and a
target of one sign, a second view learns ``log|y|`` (products become sums), and its formula
is exponentiated.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import sympy
import torch

from .._model import KAN
from .._timeout import CallTimeout, time_limit
from ..formula._compose import compose, rational_rewrite
from ..prune import prune_auto, train_sparse
from ..symbolic import auto_symbolic
from ._surrogate import wide_columns

__all__ = ["kan_formulas", "kan_candidates"]

log = logging.getLogger("kansci")


def _one_view(X, y, syms, *, seed, deadline, hidden, device=None):
    d = X.shape[1]
    lo, hi = X.min(0), X.max(0)
    mid, half = (hi + lo) / 2, np.where(hi > lo, (hi - lo) / 2, 1.0)
    Z = (X - mid) / half
    y_mean, y_std = float(np.mean(y)), float(np.std(y)) or 1.0
    t = (y - y_mean) / y_std
    n_val = max(len(y) // 5, 1)
    Zt, tt, Zv, tv = Z[n_val:], t[n_val:], Z[:n_val], t[:n_val]
    model = KAN([d, hidden, 1], grid=5, seed=seed, dtype=torch.float64, input_names=[str(s) for s in syms],
                device=device)
    Zt, tt, Zv, tv = (torch.as_tensor(a, device=device) for a in (Zt, tt, Zv, tv))  # moved once
    left = lambda: max(deadline - time.perf_counter(), 0.1)  # noqa: E731
    train_sparse(model, Zt, tt, steps=40, warmup=15, lamb=1e-2, seed=seed, time_limit=left() * 0.4)
    pruned, _ = prune_auto(model, Zt, tt, X_val=Zv, y_val=tv, retrain_steps=30, seed=seed, time_limit=left() * 0.3)
    keep = [list(model.input_names).index(n) for n in pruned.input_names]
    Zk, Zvk = Zt[:, keep], Zv[:, keep]
    if pruned.grid < 10:
        pruned.extend_grid(10, Zk)
        pruned.fit(Zk, tt, steps=20, update_grid=False, time_limit=left() * 0.3)
    auto_symbolic(pruned, Zk)
    pruned.fit(Zk, tt, steps=30, update_grid=False, time_limit=left() * 0.5)
    expr = compose(pruned, [syms[k] for k in keep], x_shift=mid[keep], x_scale=half[keep],
                   y_shift=y_mean, y_scale=y_std)
    with torch.no_grad():
        err = float(torch.sqrt(torch.mean((pruned(Zvk)[:, 0] - tv) ** 2)))
    log.debug("kan path: %s -> %s, validation error %.2e (standardised)", model.width, pruned.width, err)
    return expr, err, pruned


def kan_formulas(X, y, syms, *, seed: int = 0, time_budget: float = 15.0, views=("raw", "log"), device=None,
                 details=None):
    """Formulas from the KAN pipeline on ``(X, y)``: ``[(standardised error, expr)]``; KANs train on ``device``.

    ``details``, a list, receives one dict per formula: the view, the pruned network's
    width and its snapped edges (what the KAN contributed, for the provenance).
    """
    deadline = time.perf_counter() + time_budget
    out = []
    log_ok = bool(np.all(X > 0) and (np.all(y > 0) or np.all(y < 0)))
    todo = [v for v in views if v == "raw" or (v == "log" and log_ok)]
    hidden = int(min(max(X.shape[1], 2), 5))
    for i, view in enumerate(todo):
        share = (deadline - time.perf_counter()) / (len(todo) - i)
        if share < 1.0:
            break
        Xv, yv = (np.log(X), np.log(np.abs(y))) if view == "log" else (X, y)
        vsyms = syms
        wide = wide_columns(X) if view == "raw" else np.zeros(X.shape[1], bool)
        if wide.any():  # inputs spanning decades are fitted in log space
            Xv = X.copy()
            Xv[:, wide] = np.log(X[:, wide])
        try:
            with time_limit(share * 1.5):
                expr, err, model = _one_view(Xv, yv, vsyms, seed=seed, deadline=time.perf_counter() + share,
                                             hidden=hidden, device=device)
        except (CallTimeout, ValueError, RuntimeError) as exc:
            log.debug("kan path (%s view) gave up: %s", view, exc)
            continue
        if view == "log":
            expr = float(np.sign(y[0])) * sympy.exp(expr.xreplace({s: sympy.log(s) for s in syms}))
        elif wide.any():
            expr = expr.xreplace({s: sympy.log(s) for s, w in zip(syms, wide) if w})
        try:
            expr = rational_rewrite(expr, list(syms), X[:200])
        except Exception as exc:  # a rewrite is an improvement, never a requirement
            log.debug("rational rewrite failed: %s", exc)
        out.append((err, expr))
        if details is not None:
            details.append(_kan_summary(model, view))
    return out


def _kan_summary(model, view: str) -> dict:
    """The pruned KAN's width and snapped edges, ``"x -> h0: sin"``."""
    from ..symbolic._model import node_names

    names = node_names(model)
    edges = [f"{names[li][i]} -> {names[li + 1][j]}: {prim.name}"
             for li, layer in enumerate(model.layers) for (i, j), prim in sorted(layer.symbolic_edges().items())]
    return {"view": view, "kan_width": [int(w) for w in model.width], "snapped_edges": edges}


def kan_candidates(ctx) -> None:
    """Discovery stage: the KAN pipeline on the whole problem."""
    p = ctx.problem
    X, y = p.subset(p.train)
    details: list = []
    found = kan_formulas(X, y, p.symbols, seed=ctx.seed, time_budget=max(ctx.remaining() * 0.8, 1.0),
                         device=ctx.shared.get("device"), details=details)
    for (err, expr), kan in zip(found, details):
        ctx.add(expr, "kan", kan_error=err, provenance={"stage": "kan", "kan": kan})
