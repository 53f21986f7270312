"""A KAN layer's step without stored edge features: recomputed in backward, row block by row block.

The reference step stores every layer's edge features ``(batch, n_in, 1+n_basis)`` (and their
indices) for the weight gradient, which is most of a training step's memory: 9 GB for
``[8,32,32,1]`` at a million rows in float32.  Here a layer is one autograd function
that keeps only its input ``x`` and the weight matrix; forward and backward build the
features of ``rows`` rows at a time, use them at once (the contraction in forward; the
weight gradient ``F^T g`` and the input gradient through ``g W^T`` in backward) and drop
them.  The cost is one more feature evaluation per layer and step (on a CPU, one thread,
[8,32,32,1] at 10,000 rows: a step about 10-30% slower than the reference); the memory of the
features falls from the whole batch to one block.  This
is activation checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory
cost") applied inside the layer, where the recomputation is cheapest.

Also the step's other fast path: :func:`compile_or_eager` wraps ``torch.compile`` so that a
compiler failure (no C++ compiler, an unsupported Python, a graph the compiler rejects)
falls back to the eager function with one warning instead of failing a fit.
"""

from __future__ import annotations

import contextlib
import logging

import torch

from ._basis import _features, feature_gradient

__all__ = ["recomputed_layer", "block_rows", "compile_or_eager", "choose_step", "step_mode", "STEP_MODES", "FIT_STEPS"]

log = logging.getLogger("kansci")

#: How a layer computes its training step: ``"eager"`` stores the edge features (the
#: reference); ``"recompute"`` recomputes them in backward by row blocks (least memory);
#: ``"dense"`` evaluates them elementwise (:func:`kansci._basis.dense_features`), the form
#: ``torch.compile`` fuses best (``fit(..., step="compile")``).
STEP_MODES = ("eager", "recompute", "dense")

#: What ``fit(..., step=...)`` accepts: a layer mode, ``"compile"`` (dense layers and a
#: compiled objective) or ``"auto"`` (see :func:`choose_step`).
FIT_STEPS = ("auto", "eager", "recompute", "compile")

# "auto" on a GPU: recompute once the stored features of a step would pass this size
AUTO_RECOMPUTE_BYTES = 1 << 30

# bytes of one block of edge features: small enough to stay out of the way, large enough
# that a block is still a big matrix product (GPUs want larger blocks)
BLOCK_BYTES = {"cpu": 64 << 20, "cuda": 512 << 20}


def block_rows(x: torch.Tensor, n_features: int) -> int:
    """Rows per block whose features ``(rows, n_features)`` fit in :data:`BLOCK_BYTES`."""
    budget = BLOCK_BYTES.get(x.device.type, BLOCK_BYTES["cpu"])
    return max(256, budget // max(n_features * x.element_size(), 1))


class _RecomputedLayer(torch.autograd.Function):
    """``y = features(x).flatten(1) @ w + bias`` storing only ``x`` and ``w``."""

    @staticmethod
    def forward(ctx, x, w, bias, lo, inv_h, n_basis, k, base_fun, rows):  # noqa: D401 - autograd protocol
        n, n_in = x.shape
        y = x.new_empty(n, w.shape[1])
        for s in range(0, n, rows):
            feats = _features(x[s : s + rows], lo, inv_h, n_basis, k, base_fun)[0]
            torch.addmm(bias, feats.reshape(-1, n_in * (n_basis + 1)), w, out=y[s : s + rows])
        ctx.save_for_backward(x, w, lo, inv_h)
        ctx.n_basis, ctx.k, ctx.base_fun, ctx.rows = n_basis, k, base_fun, rows
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x, w, lo, inv_h = ctx.saved_tensors
        nb, k, base_fun, rows = ctx.n_basis, ctx.k, ctx.base_fun, ctx.rows
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        n, n_in = x.shape
        grad_y = grad_y.contiguous()
        grad_x = torch.empty_like(x) if need_x else None
        grad_w = torch.zeros_like(w) if need_w else None
        single = w.shape[1] == 1
        for s in range(0, n, rows):
            xb, gb = x[s : s + rows], grad_y[s : s + rows]
            feats, idx, f, slot = _features(xb, lo, inv_h, nb, k, base_fun)
            if need_w:
                flat = feats.reshape(-1, n_in * (nb + 1))
                grad_w.addmm_(flat.T, gb)
            if need_x:
                # one output: a broadcast product, not a rank-1 matrix product (see _SingleOutput)
                gf = gb * w[:, 0] if single else gb @ w.T
                del feats
                grad_x[s : s + rows] = feature_gradient(gf.view(-1, n_in, nb + 1), xb, idx, f, slot, inv_h, nb, k,
                                                        base_fun)
        grad_b = grad_y.sum(0) if need_b else None
        return grad_x, grad_w, grad_b, None, None, None, None, None, None


def recomputed_layer(x, w, bias, lo, inv_h, n_basis: int, k: int, base_fun: str, rows: int | None = None):
    """A layer's spline-and-base output ``(batch, n_out)`` computed block by block.

    Parameters
    ----------
    x : (batch, n_in) layer input.
    w : (n_in * (1 + n_basis), n_out) weights on the flattened edge features.
    bias : (n_out,).
    lo, inv_h : (n_in,) grid start and inverse spacing.
    rows : rows per block (default :func:`block_rows`).
    """
    rows = int(rows or block_rows(x, w.shape[0]))
    return _RecomputedLayer.apply(x, w, bias, lo, inv_h, n_basis, k, base_fun, rows)


class _Compiled:
    """A ``torch.compile``d function that turns back into the eager one if compiling fails."""

    def __init__(self, fn, **options) -> None:
        self.eager = fn
        self.compiled = None
        self.failed: str | None = None
        try:
            self.compiled = torch.compile(fn, **options)
        except Exception as exc:  # torch without a compiler for this platform
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        self.failed = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        self.compiled = None
        log.warning("torch.compile is not usable here (%s); running eagerly", self.failed)

    @property
    def active(self) -> bool:
        return self.compiled is not None

    def __call__(self, *args, **kwargs):
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as exc:  # the compiler failed on this graph: keep going eagerly
                self.fail(exc)
        return self.eager(*args, **kwargs)


def compile_or_eager(fn, **options):
    """``torch.compile(fn, **options)`` with a safe fallback: on any compiler error, ``fn`` itself.

    The returned callable has ``.active`` (compiled code is in use) and ``.failed`` (why not).
    """
    return _Compiled(fn, **options)


def feature_bytes(model, n_rows: int) -> int:
    """Bytes of the edge features the reference step stores for ``n_rows`` rows."""
    per_row = sum(layer.in_dim * (layer.n_basis + 1) for layer in model.layers)
    return n_rows * per_row * model.layers[0].coef.element_size()


def choose_step(step: str, model, n_rows: int) -> str:
    """The layer mode (one of :data:`STEP_MODES`) for ``fit(..., step=step)``.

    ``"auto"``: on a CPU the reference ``"eager"`` step (the fastest there); on a GPU
    ``"recompute"`` once the stored features would pass :data:`AUTO_RECOMPUTE_BYTES`, which
    bounds the memory of large batches, else ``"eager"``.  ``"compile"`` gives ``"dense"``.
    """
    if step not in FIT_STEPS:
        raise ValueError(f"step must be one of {FIT_STEPS}, got {step!r}")
    if step == "compile":
        return "dense"
    if step == "auto":
        if model.device.type == "cpu":
            return "eager"
        return "recompute" if feature_bytes(model, n_rows) > AUTO_RECOMPUTE_BYTES else "eager"
    return step


@contextlib.contextmanager
def step_mode(model, mode: str):
    """Run every layer of ``model`` in ``mode`` for the duration, then restore their modes."""
    before = [layer.step for layer in model.layers]
    for layer in model.layers:
        layer.set_step(mode)
    try:
        yield
    finally:
        for layer, m in zip(model.layers, before):
            layer.step = m
