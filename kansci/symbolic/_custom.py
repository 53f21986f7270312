"""User primitives from text: parsed without eval; domain and symmetries found by sampling."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import sympy
import torch

from .._evaluate import numpy_function, torch_function
from .._parse import FormulaSyntaxError, parse_univariate
from ._defaults import EPS
from ._primitive import X, Primitive

__all__ = ["custom_primitive", "detect_symmetries", "detect_domain"]

logger = logging.getLogger("kansci")

_SAMPLE = np.unique(
    np.concatenate(
        [
            -np.geomspace(1e6, 1e-6, 121),
            [0.0],
            np.geomspace(1e-6, 1e6, 121),
            np.linspace(-10.0, 10.0, 2001),
        ]
    )
)
_OVERFLOW_FROM = 100.0  # |u| beyond which an inf is taken as overflow, not a domain end


def _compile(expr: sympy.Expr) -> tuple[Callable, Callable]:
    """numpy and torch callables of ``expr`` (in X), by ``kansci._evaluate``'s tree walk."""
    try:
        return numpy_function(expr, (X,)), torch_function(expr, (X,))
    except (ValueError, TypeError) as err:
        raise ValueError(f"cannot evaluate {expr}: {err}") from err


def _snap(value: float) -> float:
    nice = round(value, 6)
    return nice if abs(value - nice) <= 1e-9 * (1.0 + abs(value)) else value


def _bisect(f: Callable[[np.ndarray], np.ndarray], bad: float, good: float) -> float:
    for _ in range(80):
        mid = 0.5 * (bad + good)
        if mid in (bad, good):
            break
        with np.errstate(all="ignore"):
            finite = bool(np.isfinite(f(np.array([mid]))[0]))
        if finite:
            good = mid
        else:
            bad = mid
    return _snap(good)


def detect_domain(
    f: Callable[[np.ndarray], np.ndarray],
) -> tuple[tuple[float, float], tuple[bool, bool], tuple[float, ...]]:
    """Find where ``f`` is real and finite by sampling ``[-1e6, 1e6]``.

    Returns
    -------
    domain, closed, poles
        As in :class:`Primitive`. Isolated non-finite samples become poles; overflow at
        ``|u| > 100`` does not end the domain; of several separated pieces the widest is kept.
    """
    with np.errstate(all="ignore"):
        values = np.asarray(f(_SAMPLE), dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError(
            "the expression is not real and finite anywhere in [-1e6, 1e6]; check it or pass "
            "domain=(lo, hi)"
        )
    # overflow (inf, not nan) far out does not bound the domain
    overflow = np.isinf(values) & (np.abs(_SAMPLE) >= _OVERFLOW_FROM)
    ok = finite | overflow
    # runs of ok samples; a single bad sample between two runs is a pole
    bad = np.flatnonzero(~ok)
    poles: list[float] = []
    isolated = [i for i in bad if 0 < i < len(ok) - 1 and ok[i - 1] and ok[i + 1]]
    for i in isolated:
        poles.append(_snap(float(_SAMPLE[i])))
        ok[i] = True
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
    runs = list(zip(edges[::2], edges[1::2] - 1))
    if len(runs) > 1:
        logger.info("primitive domain has %d separate pieces; keeping the widest", len(runs))
    first, last = max(runs, key=lambda r: _SAMPLE[r[1]] - _SAMPLE[r[0]])
    poles = [p for p in poles if _SAMPLE[first] < p < _SAMPLE[last]]

    def end(index: int, outward: int) -> tuple[float, bool]:
        beyond = index + outward
        if beyond < 0 or beyond >= len(_SAMPLE):
            return (-math.inf if outward < 0 else math.inf), False
        value = _bisect(f, float(_SAMPLE[beyond]), float(_SAMPLE[index]))
        with np.errstate(all="ignore"):
            is_closed = bool(np.isfinite(f(np.array([value]))[0]))
        return value, is_closed

    lo, lo_closed = end(first, -1)
    hi, hi_closed = end(last, +1)
    return (lo, hi), (lo_closed, hi_closed), tuple(poles)


def _affine_residual(target: np.ndarray, basis: np.ndarray) -> tuple[float, float]:
    """Relative residual of ``target ~ alpha*basis + beta`` and the fitted alpha."""
    design = np.column_stack([basis, np.ones_like(basis)])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    scale = np.linalg.norm(target - target.mean()) + 1e-300
    return float(np.linalg.norm(resid) / scale), float(coef[0])


def detect_symmetries(primitive: Primitive, tol: float = 1e-9) -> dict[str, object]:
    """Test numerically which of ``reflect``, ``scale_free``, ``shift_free`` hold for ``f``.

    Returns
    -------
    dict
        ``{"reflect": -1|0|1, "scale_free": bool, "shift_free": bool}``.
    """
    grid = np.concatenate([np.linspace(-4.0, 4.0, 81), np.geomspace(0.05, 4.0, 20)])
    grid = np.concatenate([grid, -grid[81:]])
    inside = primitive.in_domain(grid)
    for pole in primitive.poles:
        inside &= np.abs(grid - pole) > 0.05
    u = grid[inside & np.isfinite(primitive.numpy(grid))]
    f = primitive.numpy

    def holds(mapped: np.ndarray, sign: int | None = None) -> bool:
        keep = primitive.in_domain(mapped) & np.isfinite(f(mapped))
        if keep.sum() < 8:
            return False
        resid, alpha = _affine_residual(f(mapped[keep]), f(u[keep]))
        return resid < tol and (sign is None or abs(alpha - sign) < 1e-6)

    reflect = next((s for s in (-1, 1) if holds(-u, s)), 0)
    lo, hi = primitive.domain
    cone = lo in (0.0, -math.inf) and hi in (0.0, math.inf) and set(primitive.poles) <= {0.0}
    scale_free = cone and all(holds(t * u) for t in (0.5, 2.0, 3.7))
    line = primitive.domain == (-math.inf, math.inf) and not primitive.poles
    shift_free = line and all(holds(u + t) for t in (0.3, -1.1, 2.5))
    return {"reflect": reflect, "scale_free": scale_free, "shift_free": shift_free}


def _safe_torch(
    raw: Callable[[torch.Tensor], torch.Tensor], domain: tuple[float, float]
) -> Callable[[torch.Tensor], torch.Tensor]:
    lo, hi = domain
    lo_m = lo + EPS * max(1.0, abs(lo)) if math.isfinite(lo) else None
    hi_m = hi - EPS * max(1.0, abs(hi)) if math.isfinite(hi) else None

    def evaluate(u: torch.Tensor) -> torch.Tensor:
        if lo_m is not None or hi_m is not None:
            u = u.clamp(min=lo_m, max=hi_m)
        return raw(u)

    return evaluate


def custom_primitive(
    name: str,
    text: str,
    complexity: int | None = None,
    domain: tuple[float, float] | None = None,
) -> Primitive:
    """Parse ``text`` (one variable, no ``eval``) and build a :class:`Primitive` from it.

    Parameters
    ----------
    name : str
        Name of the new primitive.
    text : str
        A formula in one variable, e.g. ``"sinh(x)"`` or ``"t*exp(-t)"``.
    complexity : int, optional
        Default ``1 + sympy.count_ops(expr)``.
    domain : (float, float), optional
        Where ``f`` is real and finite; found numerically when omitted. The ends count as
        closed when ``f`` is finite there.

    Raises
    ------
    kansci._parse.FormulaSyntaxError
        (a ValueError) When the text does not parse or has not exactly one variable.
    ValueError
        When the expression is constant, cannot be evaluated, or its domain cannot be found.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a formula given as str, got {type(text).__name__}")
    try:
        expr, symbol = parse_univariate(text)
    except FormulaSyntaxError as err:
        raise FormulaSyntaxError(
            err.text,
            err.position,
            f"{err.reason} (adding primitive {name!r}: give a formula in one variable such as "
            f"'sinh(x)')",
        ) from None
    expr = expr.xreplace({symbol: X})
    if expr.free_symbols != {X}:
        raise ValueError(
            f"primitive {name!r}: {text!r} simplifies to a constant; a primitive must depend "
            f"on its variable (the constant edge is the built-in '0')"
        )
    raw_np, raw_torch = _compile(expr)

    def np_fn(u: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(raw_np(u), dtype=float), np.shape(u))

    raw_derivative: Callable[[np.ndarray], np.ndarray] | None
    try:
        compiled, _ = _compile(sympy.diff(expr, X))
    except ValueError:
        raw_derivative = None  # Primitive.derivative falls back to central differences
    else:

        def raw_derivative(u: np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.asarray(compiled(u), dtype=float), np.shape(u))

    if domain is None:
        dom, closed, poles = detect_domain(np_fn)
    else:
        lo, hi = (float(v) for v in domain)
        if not lo < hi:
            raise ValueError(f"primitive {name!r}: domain={domain} must satisfy lo < hi")
        ends = np_fn(np.array([lo if math.isfinite(lo) else 0.0, hi if math.isfinite(hi) else 0.0]))
        closed = (
            math.isfinite(lo) and bool(np.isfinite(ends[0])),
            math.isfinite(hi) and bool(np.isfinite(ends[1])),
        )
        dom, poles = (lo, hi), ()
    draft = Primitive(
        name,
        expr,
        complexity if complexity is not None else 1 + int(sympy.count_ops(expr)),
        domain=dom,
        closed=closed,
        poles=poles,
        numpy_fn=np_fn,
        derivative_fn=raw_derivative,
        torch_fn=_safe_torch(raw_torch, dom),
    )
    probe = draft.numpy(np.linspace(max(dom[0], -5.0), min(dom[1], 5.0), 101))
    probe = probe[np.isfinite(probe)]
    if probe.size < 2 or np.ptp(probe) <= 1e-12 * (1.0 + np.abs(probe).max()):
        raise ValueError(
            f"primitive {name!r}: {text!r} is constant on its domain; a primitive must vary "
            f"(the constant edge is the built-in '0')"
        )
    flags = detect_symmetries(draft)
    return Primitive(
        name,
        expr,
        draft.complexity,
        domain=dom,
        closed=closed,
        poles=poles,
        reflect=int(flags["reflect"]),  # type: ignore[arg-type]
        scale_free=bool(flags["scale_free"]),
        shift_free=bool(flags["shift_free"]),
        numpy_fn=np_fn,
        derivative_fn=raw_derivative,
        torch_fn=draft.torch_fn,
    )
