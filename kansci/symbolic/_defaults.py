"""The default primitives, with hand-written numpy, derivative and safe torch forms.

Complexities (lower is simpler; they only break ties between fits that are equally good):

====  ==========================================================================================
 0    ``0`` (the edge is a constant ``d``)
 1    ``x``
 2    ``x^2``, ``1/x``, ``sqrt``, ``exp``, ``log``: the staples of physical laws
 3    ``x^3``, ``1/x^2``, ``1/sqrt``, ``x^1.5``, ``sin``, ``cos``, ``tanh``, ``abs``
 4    ``x^4``, ``tan``, ``arcsin``, ``arccos``, ``arctan``, ``arctanh``, ``gaussian``
====  ==========================================================================================

Powers cost their degree (``x^n``: n) or one more than their reciprocal root; transcendental
functions cost 2 (exp, log) to 4 (inverse trigonometric, gaussian ``exp(-x^2)``), reflecting how
often they appear in physics and how many operations they spell out.

Safe torch forms clamp ``u`` into the domain with the margin :data:`EPS` (``tan`` and the
inverse trigonometric functions by ``EPS``, relative, from their branch ends, more in bfloat16;
``exp`` to ``u <= 50``), so that values and gradients stay finite everywhere.
"""

from __future__ import annotations

import math

import numpy as np
import sympy
import torch

from ._primitive import X, Primitive

__all__ = ["DEFAULT_PRIMITIVES", "EPS", "EXP_MAX"]

EPS = 1e-4
"""Margin by which the torch forms keep ``u`` away from a domain boundary or pole."""

EXP_MAX = 50.0
"""Largest argument the torch form of ``exp`` passes on (``exp(50)`` ~ 5e21)."""

_INF = math.inf
_HALF_PI = math.pi / 2


def _away_from_zero(u: torch.Tensor) -> torch.Tensor:
    # sign-preserving clamp |u| >= EPS (u = 0 goes to +EPS); gradient 0 inside the gap
    return torch.where(u >= 0, u.clamp(min=EPS), u.clamp(max=-EPS))


def _positive(u: torch.Tensor) -> torch.Tensor:
    return u.clamp(min=EPS)


def _margin(u: torch.Tensor) -> float:
    # EPS, or more where the dtype cannot resolve 1 - EPS (bfloat16)
    return max(EPS, 4.0 * torch.finfo(u.dtype).eps)


def _unit(u: torch.Tensor) -> torch.Tensor:
    m = _margin(u)
    return u.clamp(-1.0 + m, 1.0 - m)


def _branch(u: torch.Tensor) -> torch.Tensor:
    m = _margin(u) * _HALF_PI
    return u.clamp(-_HALF_PI + m, _HALF_PI - m)


def _make() -> tuple[Primitive, ...]:
    sq = np.sqrt
    items = [
        Primitive(
            "x", X, 1, reflect=-1, scale_free=True, shift_free=True,
            numpy_fn=lambda u: u,
            derivative_fn=np.ones_like,
            torch_fn=lambda u: u,
        ),
        Primitive(
            "x^2", X**2, 2, reflect=1, scale_free=True,
            numpy_fn=lambda u: u * u,
            derivative_fn=lambda u: 2.0 * u,
            torch_fn=lambda u: u * u,
        ),
        Primitive(
            "x^3", X**3, 3, reflect=-1, scale_free=True,
            numpy_fn=lambda u: u * u * u,
            derivative_fn=lambda u: 3.0 * u * u,
            torch_fn=lambda u: u**3,
        ),
        Primitive(
            "x^4", X**4, 4, reflect=1, scale_free=True,
            numpy_fn=lambda u: (u * u) * (u * u),
            derivative_fn=lambda u: 4.0 * u * u * u,
            torch_fn=lambda u: u**4,
        ),
        Primitive(
            "1/x", 1 / X, 2, poles=(0.0,), reflect=-1, scale_free=True,
            numpy_fn=lambda u: 1.0 / u,
            derivative_fn=lambda u: -1.0 / (u * u),
            torch_fn=lambda u: 1.0 / _away_from_zero(u),
        ),
        Primitive(
            "1/x^2", X**-2, 3, poles=(0.0,), reflect=1, scale_free=True,
            numpy_fn=lambda u: 1.0 / (u * u),
            derivative_fn=lambda u: -2.0 / (u * u * u),
            torch_fn=lambda u: _away_from_zero(u) ** -2,
        ),
        Primitive(
            "sqrt", sympy.sqrt(X), 2, domain=(0.0, _INF), closed=(True, False), scale_free=True,
            numpy_fn=sq,
            derivative_fn=lambda u: 0.5 / sq(u),
            torch_fn=lambda u: torch.sqrt(_positive(u)),
        ),
        Primitive(
            "1/sqrt", 1 / sympy.sqrt(X), 3, domain=(0.0, _INF), scale_free=True,
            numpy_fn=lambda u: 1.0 / sq(u),
            derivative_fn=lambda u: -0.5 / (u * sq(u)),
            torch_fn=lambda u: torch.rsqrt(_positive(u)),
        ),
        Primitive(
            "x^1.5", X ** sympy.Rational(3, 2), 3, domain=(0.0, _INF), closed=(True, False),
            scale_free=True,
            numpy_fn=lambda u: u * sq(u),
            derivative_fn=lambda u: 1.5 * sq(u),
            torch_fn=lambda u: u.clamp(min=0.0) ** 1.5,
        ),
        Primitive(
            "exp", sympy.exp(X), 2, shift_free=True,
            numpy_fn=np.exp,
            derivative_fn=np.exp,
            torch_fn=lambda u: torch.exp(u.clamp(max=EXP_MAX)),
        ),
        Primitive(
            "log", sympy.log(X), 2, domain=(0.0, _INF), scale_free=True,
            numpy_fn=np.log,
            derivative_fn=lambda u: 1.0 / u,
            torch_fn=lambda u: torch.log(_positive(u)),
        ),
        Primitive(
            "sin", sympy.sin(X), 3, reflect=-1, period=math.pi,
            numpy_fn=np.sin,
            derivative_fn=np.cos,
            torch_fn=torch.sin,
        ),
        Primitive(
            "cos", sympy.cos(X), 3, reflect=1, period=math.pi,
            numpy_fn=np.cos,
            derivative_fn=lambda u: -np.sin(u),
            torch_fn=torch.cos,
        ),
        # tan is restricted to its principal branch: a continuous edge lives on one branch,
        # and any branch is the principal one with b shifted by a multiple of pi.
        Primitive(
            "tan", sympy.tan(X), 4, domain=(-_HALF_PI, _HALF_PI), reflect=-1,
            numpy_fn=np.tan,
            derivative_fn=lambda u: 1.0 / np.cos(u) ** 2,
            torch_fn=lambda u: torch.tan(_branch(u)),
        ),
        Primitive(
            "tanh", sympy.tanh(X), 3, reflect=-1,
            numpy_fn=np.tanh,
            derivative_fn=lambda u: 1.0 / np.cosh(u) ** 2,
            torch_fn=torch.tanh,
        ),
        Primitive(
            "arcsin", sympy.asin(X), 4, domain=(-1.0, 1.0), closed=(True, True), reflect=-1,
            numpy_fn=np.arcsin,
            derivative_fn=lambda u: 1.0 / sq(1.0 - u * u),
            torch_fn=lambda u: torch.asin(_unit(u)),
        ),
        Primitive(
            "arccos", sympy.acos(X), 4, domain=(-1.0, 1.0), closed=(True, True), reflect=-1,
            numpy_fn=np.arccos,
            derivative_fn=lambda u: -1.0 / sq(1.0 - u * u),
            torch_fn=lambda u: torch.acos(_unit(u)),
        ),
        Primitive(
            "arctan", sympy.atan(X), 4, reflect=-1,
            numpy_fn=np.arctan,
            derivative_fn=lambda u: 1.0 / (1.0 + u * u),
            torch_fn=torch.atan,
        ),
        Primitive(
            "arctanh", sympy.atanh(X), 4, domain=(-1.0, 1.0), reflect=-1,
            numpy_fn=np.arctanh,
            derivative_fn=lambda u: 1.0 / (1.0 - u * u),
            torch_fn=lambda u: torch.atanh(_unit(u)),
        ),
        Primitive(
            "gaussian", sympy.exp(-(X**2)), 4, reflect=1,
            numpy_fn=lambda u: np.exp(-u * u),
            derivative_fn=lambda u: -2.0 * u * np.exp(-u * u),
            torch_fn=lambda u: torch.exp(-u * u),
        ),
        Primitive(
            "abs", sympy.Abs(X), 3, reflect=1, scale_free=True,
            numpy_fn=np.abs,
            derivative_fn=np.sign,
            torch_fn=torch.abs,
        ),
        Primitive(
            "0", sympy.Integer(0), 0, reflect=1, scale_free=True, shift_free=True,
            numpy_fn=np.zeros_like,
            derivative_fn=np.zeros_like,
            torch_fn=torch.zeros_like,
        ),
    ]
    return tuple(items)


DEFAULT_PRIMITIVES: tuple[Primitive, ...] = _make()
"""The default library's entries, in order (immutable; `Library.default()` copies them)."""
