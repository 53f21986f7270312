"""Evaluate sympy expressions on numpy arrays and torch tensors by walking the tree.

Nothing here uses ``eval``/``exec`` or parses text: a sympy tree is compiled once into
nested closures (constant subtrees are folded to floats), and the closures call numpy or
torch operations. Torch evaluation is differentiable and follows the inputs' dtype and
device.
"""

from __future__ import annotations

import copy
import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.special
import sympy
import torch

__all__ = ["TorchExpression", "numpy_function", "torch_function"]

_Node = Callable[[Sequence[Any]], Any]


# --------------------------------------------------------------------------- backends


def _np_heaviside(a: Any) -> Any:
    return np.heaviside(a, 0.5)


def _torch_heaviside(a: torch.Tensor) -> torch.Tensor:
    return torch.heaviside(a, torch.full_like(a, 0.5))


def _recip(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda a: 1.0 / f(a)


# sympy function -> (numpy implementation, torch implementation)
_FUNCTIONS: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {
    sympy.exp: (np.exp, torch.exp),
    sympy.log: (np.log, torch.log),
    sympy.sin: (np.sin, torch.sin),
    sympy.cos: (np.cos, torch.cos),
    sympy.tan: (np.tan, torch.tan),
    sympy.cot: (_recip(np.tan), _recip(torch.tan)),
    sympy.sec: (_recip(np.cos), _recip(torch.cos)),
    sympy.csc: (_recip(np.sin), _recip(torch.sin)),
    sympy.asin: (np.arcsin, torch.asin),
    sympy.acos: (np.arccos, torch.acos),
    sympy.atan: (np.arctan, torch.atan),
    sympy.acot: (lambda a: np.arctan(1.0 / a), lambda a: torch.atan(1.0 / a)),
    sympy.sinh: (np.sinh, torch.sinh),
    sympy.cosh: (np.cosh, torch.cosh),
    sympy.tanh: (np.tanh, torch.tanh),
    sympy.coth: (_recip(np.tanh), _recip(torch.tanh)),
    sympy.sech: (_recip(np.cosh), _recip(torch.cosh)),
    sympy.csch: (_recip(np.sinh), _recip(torch.sinh)),
    sympy.asinh: (np.arcsinh, torch.asinh),
    sympy.acosh: (np.arccosh, torch.acosh),
    sympy.atanh: (np.arctanh, torch.atanh),
    sympy.Abs: (np.abs, torch.abs),
    sympy.sign: (np.sign, torch.sign),
    sympy.erf: (scipy.special.erf, torch.special.erf),
    sympy.erfc: (scipy.special.erfc, torch.special.erfc),
    sympy.floor: (np.floor, torch.floor),
    sympy.ceiling: (np.ceil, torch.ceil),
    sympy.Heaviside: (_np_heaviside, _torch_heaviside),
    sympy.atan2: (np.arctan2, torch.atan2),
    sympy.Min: (
        lambda *a: functools.reduce(np.minimum, a),
        lambda *a: functools.reduce(torch.minimum, a),
    ),
    sympy.Max: (
        lambda *a: functools.reduce(np.maximum, a),
        lambda *a: functools.reduce(torch.maximum, a),
    ),
}


class _Backend:
    """The few operations the compiler needs from an array library."""

    def __init__(self, name: str, functions: dict[type, Callable[..., Any]]) -> None:
        self.name = name
        self.functions = functions

    def sqrt(self, a: Any) -> Any:
        return np.sqrt(a) if self.name == "numpy" else torch.sqrt(a)

    def as_array(self, value: Any, like: Sequence[Any]) -> Any:
        """Turn a folded float into an array/tensor when an op needs one."""
        if self.name == "numpy" or torch.is_tensor(value):
            return value
        ref = next((v for v in like if torch.is_tensor(v)), None)
        if ref is None:
            return torch.as_tensor(value, dtype=torch.get_default_dtype())
        return torch.as_tensor(value, dtype=ref.dtype, device=ref.device)


_NUMPY = _Backend("numpy", {k: v[0] for k, v in _FUNCTIONS.items()})
_TORCH = _Backend("torch", {k: v[1] for k, v in _FUNCTIONS.items()})


def supported_functions() -> list[str]:
    """Names of the sympy functions both backends evaluate."""
    return sorted(f.__name__ for f in _FUNCTIONS)


# --------------------------------------------------------------------------- compiler


def _constant(expr: sympy.Expr) -> float:
    if expr is sympy.zoo or expr is sympy.nan:
        return float("nan")
    try:
        return float(expr)
    except TypeError:
        value = complex(sympy.N(expr))
        if abs(value.imag) <= 1e-14 * max(1.0, abs(value.real)):
            return value.real
        raise ValueError(
            f"constant {sympy.sstr(expr)} is not real ({value}); kansci evaluates real "
            "expressions only — rewrite it without complex values"
        ) from None


def _compile(expr: sympy.Basic, index: dict[sympy.Symbol, int], be: _Backend) -> _Node:
    if not expr.free_symbols:
        value = _constant(expr)
        return lambda args: value
    if isinstance(expr, sympy.Symbol):
        i = index[expr]
        return lambda args: args[i]
    if expr.is_Add or expr.is_Mul:
        parts = [_compile(a, index, be) for a in expr.args]
        op = operator.add if expr.is_Add else operator.mul
        return lambda args: functools.reduce(op, [p(args) for p in parts])
    if expr.is_Pow:
        return _compile_pow(expr, index, be)
    if type(expr) in be.functions:
        fn = be.functions[type(expr)]
        parts = [_compile(a, index, be) for a in expr.args]
        if len(parts) == 1:
            only = parts[0]
            return lambda args: fn(only(args))

        def call(args: Sequence[Any]) -> Any:
            values = [p(args) for p in parts]
            return fn(*[be.as_array(v, values) for v in values])

        return call
    raise ValueError(
        f"cannot evaluate {type(expr).__name__} node {sympy.sstr(expr)!r}; supported are "
        f"+, *, ** and the functions {', '.join(supported_functions())} — rewrite the "
        "expression with these"
    )


def _compile_pow(
    expr: sympy.Pow, index: dict[sympy.Symbol, int], be: _Backend
) -> _Node:
    base, exponent = expr.args
    b = _compile(base, index, be)
    if exponent.free_symbols:
        e = _compile(exponent, index, be)
        if be.name == "numpy":
            return lambda args: np.power(b(args), e(args))
        return lambda args: torch.pow(b(args), e(args))
    if exponent == sympy.S.Half:
        return lambda args: be.sqrt(b(args))
    if exponent == -sympy.S.Half:
        return lambda args: 1.0 / be.sqrt(b(args))
    if exponent.is_Integer:
        n = int(exponent)
        if n == -1:
            return lambda args: 1.0 / b(args)
        if n < 0:
            return lambda args: 1.0 / (b(args) ** -n)
        return lambda args: b(args) ** n
    value = _constant(exponent)
    return lambda args: b(args) ** value


def _check_symbols(expr: sympy.Basic, symbols: Sequence[sympy.Symbol]) -> tuple:
    if isinstance(expr, str):
        raise TypeError(
            "expected a sympy expression, got a string; build expressions with sympy "
            "objects (kansci never parses text)"
        )
    if not isinstance(expr, sympy.Basic):
        if isinstance(expr, (int, float, np.integer, np.floating)):
            expr = sympy.Float(float(expr))
        else:
            raise TypeError(f"expected a sympy expression, got {type(expr).__name__}")
    symbols = tuple(symbols)
    for s in symbols:
        if not isinstance(s, sympy.Symbol):
            raise TypeError(
                f"symbols must be sympy Symbols, got {s!r} ({type(s).__name__})"
            )
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"symbols must be distinct, got {symbols}")
    missing = expr.free_symbols - set(symbols)
    if missing:
        names = ", ".join(sorted(str(m) for m in missing))
        raise ValueError(
            f"the expression uses {names}, which are not among the given symbols "
            f"{[str(s) for s in symbols]}; pass every variable the expression uses"
        )
    return expr, symbols


class _Compiled:
    """A compiled expression; call it with one array/tensor per symbol."""

    def __init__(
        self, expr: sympy.Basic, symbols: Sequence[sympy.Symbol], be: _Backend
    ):
        self.expr, self.symbols = _check_symbols(expr, symbols)
        self._backend = be
        self._node = _compile(self.expr, {s: i for i, s in enumerate(self.symbols)}, be)

    def _check_arity(self, args: tuple) -> None:
        if len(args) != len(self.symbols):
            raise TypeError(
                f"expected {len(self.symbols)} inputs (one per symbol "
                f"{[str(s) for s in self.symbols]}), got {len(args)}"
            )

    def __repr__(self) -> str:
        names = ", ".join(str(s) for s in self.symbols)
        return f"<{self._backend.name} function ({names}) -> {sympy.sstr(self.expr)}>"


class _NumpyCompiled(_Compiled):
    def __call__(self, *arrays: Any) -> np.ndarray:
        self._check_arity(arrays)
        values = [np.asarray(a, dtype=float) for a in arrays]
        with np.errstate(all="ignore"):
            out = np.asarray(self._node(values), dtype=float)
        shape = np.broadcast_shapes(*(v.shape for v in values)) if values else ()
        if out.shape != shape:
            out = np.array(np.broadcast_to(out, shape))
        return out


class _TorchCompiled(_Compiled):
    def __call__(self, *tensors: Any) -> torch.Tensor:
        self._check_arity(tensors)
        values = [_as_float_tensor(t) for t in tensors]
        out = self._node(values)
        if not values:
            return torch.as_tensor(out, dtype=torch.get_default_dtype())
        shape = torch.broadcast_shapes(*(v.shape for v in values))
        dtype = functools.reduce(torch.promote_types, [v.dtype for v in values])
        if not torch.is_tensor(out):
            return torch.full(shape, out, dtype=dtype, device=values[0].device)
        if out.shape != shape:
            out = out.expand(shape)
        return out


def _as_float_tensor(t: Any) -> torch.Tensor:
    if not torch.is_tensor(t):
        t = torch.as_tensor(t)
    if not (t.is_floating_point() or t.is_complex()):
        t = t.to(torch.get_default_dtype())
    return t


def numpy_function(
    expr: sympy.Basic, symbols: Sequence[sympy.Symbol]
) -> Callable[..., np.ndarray]:
    """Compile ``expr`` into a vectorised numpy function.

    Parameters
    ----------
    expr : sympy.Expr
        The expression; every free symbol must be in ``symbols``.
    symbols : sequence of sympy.Symbol
        Argument order of the returned function.

    Returns
    -------
    callable
        ``f(*arrays) -> ndarray`` (float64, broadcast shape of the inputs). Invalid points
        (log of a negative, 0/0, ...) give nan/inf without warnings.
    """
    return _NumpyCompiled(expr, symbols, _NUMPY)


def torch_function(
    expr: sympy.Basic, symbols: Sequence[sympy.Symbol]
) -> Callable[..., torch.Tensor]:
    """Compile ``expr`` into a differentiable torch function.

    Parameters
    ----------
    expr : sympy.Expr
        The expression; every free symbol must be in ``symbols``.
    symbols : sequence of sympy.Symbol
        Argument order of the returned function.

    Returns
    -------
    callable
        ``f(*tensors) -> Tensor`` in the inputs' (promoted) dtype, on their device.
    """
    return _TorchCompiled(expr, symbols, _TORCH)


# --------------------------------------------------------------------------- parameters


def parameterise(
    expr: sympy.Basic, *, rationals: bool = False
) -> tuple[sympy.Basic, tuple[sympy.Dummy, ...], list[float], list[sympy.Expr]]:
    """Replace each numeric constant occurrence by its own real Dummy.

    Parameters
    ----------
    expr : sympy.Expr
        Expression whose constants become parameters.
    rationals : bool
        Also parameterise rationals/integers other than 0, 1, -1 and exponents of powers.
        Floats (exponents included) are always parameterised.

    Returns
    -------
    template, dummies, values, originals
        ``template.xreplace(dict(zip(dummies, originals)))`` rebuilds ``expr``.
    """
    dummies: list[sympy.Dummy] = []
    values: list[float] = []
    originals: list[sympy.Expr] = []

    def visit(e: sympy.Basic, in_exponent: bool) -> sympy.Basic:
        is_param = isinstance(e, sympy.Float) or (
            rationals
            and isinstance(e, sympy.Rational)
            and not in_exponent
            and e not in (sympy.S.Zero, sympy.S.One, sympy.S.NegativeOne)
        )
        if is_param:
            d = sympy.Dummy(f"c{len(dummies)}", real=True)
            dummies.append(d)
            values.append(float(e))
            originals.append(e)
            return d
        if not e.args or isinstance(e, sympy.Symbol):
            return e
        if e.is_Pow:
            return sympy.Pow(visit(e.args[0], False), visit(e.args[1], True))
        return e.func(*(visit(a, False) for a in e.args))

    template = visit(expr, False)
    return template, tuple(dummies), values, originals


class TorchExpression(torch.nn.Module):
    """A sympy expression as a torch module whose numeric constants are parameters.

    Parameters
    ----------
    expr : sympy.Expr
        The expression.
    symbols : sequence of sympy.Symbol
        Column order of the input matrix.
    rationals : bool
        Also turn rationals other than 0, +-1 and exponents into parameters (floats always
        are).
    dtype : torch.dtype
        Storage dtype of the parameters (float64 keeps fitted constants exact enough to
        print); ``forward`` casts them to the input dtype.
    """

    def __init__(
        self,
        expr: sympy.Basic,
        symbols: Sequence[sympy.Symbol],
        *,
        rationals: bool = False,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        expr, symbols = _check_symbols(expr, symbols)
        template, dummies, values, originals = parameterise(expr, rationals=rationals)
        self.symbols = symbols
        self._template = template
        self._dummies = dummies
        self._originals = originals
        self._fn = torch_function(template, symbols + dummies)
        self.constants = torch.nn.Parameter(torch.tensor(values, dtype=dtype))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Evaluate on ``X`` of shape (batch, n_symbols); returns shape (batch,)."""
        if X.ndim != 2 or X.shape[1] != len(self.symbols):
            raise ValueError(
                f"expected X of shape (batch, {len(self.symbols)}) with columns "
                f"{[str(s) for s in self.symbols]}, got shape {tuple(X.shape)}"
            )
        if not X.is_floating_point():
            X = X.to(self.constants.dtype)
        consts = self.constants.to(dtype=X.dtype, device=X.device)
        out = self._fn(*X.unbind(dim=1), *consts.unbind(0))
        if out.ndim == 0:
            out = out.expand(X.shape[0])
        return out

    def to_sympy(self) -> sympy.Basic:
        """The expression with the current parameter values (unchanged ones stay exact)."""
        current = self.constants.detach().cpu().double().tolist()
        subs = {}
        for d, value, original in zip(self._dummies, current, self._originals):
            subs[d] = original if value == float(original) else sympy.Float(value)
        return self._template.xreplace(subs)

    def extra_repr(self) -> str:
        names = ", ".join(str(s) for s in self.symbols)
        return f"({names}) -> {sympy.sstr(self.to_sympy())}"

    def __getstate__(self) -> dict:
        state = copy.copy(self.__dict__)
        state.pop("_fn", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._fn = torch_function(self._template, self.symbols + self._dummies)
