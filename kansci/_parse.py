"""A restricted formula parser that builds sympy objects without ``eval``.

``sympy.sympify`` and ``parse_expr`` evaluate Python code, so text from a CSV header, a JSON
file or a user must never reach them. This module reads the small grammar that physical laws
need (numbers, names, ``+ - * / ** ^``, parentheses and a whitelist of functions) with a
hand-written tokenizer and a precedence-climbing parser, and builds the sympy tree directly.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Iterable, Mapping

import sympy

from ._tokens import FormulaSyntaxError, Token, tokens

__all__ = ["FormulaSyntaxError", "parse_expression", "parse_univariate"]

MAX_LENGTH = 10_000
"""Longest formula text accepted, in characters."""

MAX_DEPTH = 100
"""Deepest nesting of parentheses, calls and exponents accepted."""

_MAX_POWER_DIGITS = 1_000
"""Largest exact number an integer power may produce, in decimal digits."""

_MAX_ROOT_DIGITS = 100
"""Largest exact number whose root (sqrt, cbrt, fractional power) is taken, in digits."""


# --- the vocabulary -----------------------------------------------------------------------------


_FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], tuple[int, ...]]] = {
    "exp": (sympy.exp, (1,)),
    "log": (sympy.log, (1, 2)),
    "ln": (sympy.log, (1,)),
    "sqrt": (sympy.sqrt, (1,)),
    "cbrt": (sympy.cbrt, (1,)),
    "sin": (sympy.sin, (1,)),
    "cos": (sympy.cos, (1,)),
    "tan": (sympy.tan, (1,)),
    "asin": (sympy.asin, (1,)),
    "arcsin": (sympy.asin, (1,)),
    "acos": (sympy.acos, (1,)),
    "arccos": (sympy.acos, (1,)),
    "atan": (sympy.atan, (1,)),
    "arctan": (sympy.atan, (1,)),
    "atan2": (sympy.atan2, (2,)),
    "arctan2": (sympy.atan2, (2,)),
    "sinh": (sympy.sinh, (1,)),
    "cosh": (sympy.cosh, (1,)),
    "tanh": (sympy.tanh, (1,)),
    "asinh": (sympy.asinh, (1,)),
    "arcsinh": (sympy.asinh, (1,)),
    "acosh": (sympy.acosh, (1,)),
    "arccosh": (sympy.acosh, (1,)),
    "atanh": (sympy.atanh, (1,)),
    "arctanh": (sympy.atanh, (1,)),
    "abs": (sympy.Abs, (1,)),
    "Abs": (sympy.Abs, (1,)),
    "sign": (sympy.sign, (1,)),
    "erf": (sympy.erf, (1,)),
    "gamma": (sympy.gamma, (1,)),
}

_ROOTS = {"sqrt": sympy.Rational(1, 2), "cbrt": sympy.Rational(1, 3)}

_CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E}


# --- the parser -----------------------------------------------------------------------------------


class _Parser:
    """Precedence climbing over a one-token lookahead stream.

    Grammar (loosest first)::

        expression := term (("+" | "-") term)*
        term       := unary (("*" | "/") unary)*
        unary      := ("+" | "-")* power
        power      := atom (("**" | "^") unary)?        # right-associative
        atom       := NUMBER | NAME | NAME "(" arguments ")" | "(" expression ")"
    """

    def __init__(
        self, text: str, variables: Mapping[str, sympy.Expr], allow_unknown: bool
    ) -> None:
        self.text = text
        self.variables = variables
        self.allow_unknown = allow_unknown
        self.unknown: dict[str, sympy.Symbol] = {}
        self._stream = tokens(text)
        self.token = next(self._stream)
        self.depth = 0

    # helpers
    def error(self, position: int | None, reason: str) -> FormulaSyntaxError:
        return FormulaSyntaxError(self.text, position, reason)

    def advance(self) -> Token:
        current = self.token
        self.token = next(self._stream)
        return current

    def at(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.value in ops

    def describe(self, token: Token) -> str:
        return "the end of the formula" if token.kind == "end" else repr(token.value)

    def enter(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                position, f"nesting is deeper than {MAX_DEPTH} levels; simplify the formula"
            )

    # grammar
    def parse(self) -> sympy.Expr:
        if self.token.kind == "end":
            raise self.error(None, "the formula is empty; give an expression such as 2*x + 1")
        result = self.expression()
        if self.token.kind != "end":
            hint = ""
            if self.token.kind in ("name", "number") or self.at("("):
                hint = "; implicit multiplication is not supported, write an explicit '*'"
            elif self.at(")"):
                hint = "; this ')' has no matching '('"
            raise self.error(
                self.token.position,
                f"unexpected {self.describe(self.token)}; expected an operator "
                f"(+ - * / ** ^) or the end of the formula{hint}",
            )
        return result

    def expression(self) -> sympy.Expr:
        terms = [self.term()]
        while self.at("+", "-"):
            op = self.advance().value
            right = self.term()
            terms.append(right if op == "+" else -right)
        return terms[0] if len(terms) == 1 else sympy.Add(*terms)

    def term(self) -> sympy.Expr:
        factors = [self.unary()]
        while self.at("*", "/"):
            op = self.advance().value
            right = self.unary()
            factors.append(right if op == "*" else sympy.Pow(right, -1))
        return factors[0] if len(factors) == 1 else sympy.Mul(*factors)

    def unary(self) -> sympy.Expr:
        negative = False
        while self.at("+", "-"):
            negative ^= self.advance().value == "-"
        value = self.power()
        return -value if negative else value

    def power(self) -> sympy.Expr:
        base = self.atom()
        if not self.at("**", "^"):
            return base
        op = self.advance()
        self.enter(op.position)
        exponent = self.unary()
        self.depth -= 1
        self.check_power(base, exponent, op.position)
        return sympy.Pow(base, exponent)

    def check_power(self, base: sympy.Expr, exponent: sympy.Expr, position: int) -> None:
        # Exact powers and roots of big numbers would keep sympy busy for ages
        # (9**9**9 has 370 million digits; an exact root of a big integer needs factoring).
        if not (isinstance(base, sympy.Rational) and isinstance(exponent, sympy.Rational)):
            return
        size = max(abs(base.p), abs(base.q))
        if size <= 1 or exponent.p == 0:
            return
        if exponent.q != 1 and size >= 10**_MAX_ROOT_DIGITS:
            raise self.error(
                position,
                f"an exact root of a number with more than {_MAX_ROOT_DIGITS} digits is too "
                f"costly; write the number as a decimal (e.g. 2.0e150) to get a float",
            )
        # log10 of the number of digits, computed in log space so that it cannot overflow
        log_digits = (
            math.log10(abs(exponent.p)) - math.log10(exponent.q) + math.log10(math.log10(size))
        )
        if log_digits > math.log10(_MAX_POWER_DIGITS):
            raise self.error(
                position,
                f"the exact power would have more than {_MAX_POWER_DIGITS} digits; "
                f"use a decimal base such as 9.0 to get a float",
            )

    def atom(self) -> sympy.Expr:
        token = self.token
        if token.kind == "number":
            self.advance()
            return self.number(token)
        if token.kind == "name":
            self.advance()
            if self.at("("):
                return self.call(token)
            return self.name(token)
        if self.at("("):
            self.advance()
            self.enter(token.position)
            inner = self.expression()
            self.depth -= 1
            if not self.at(")"):
                raise self.error(
                    self.token.position,
                    f"expected ')' to close the '(' at column {token.position + 1}, "
                    f"found {self.describe(self.token)}",
                )
            self.advance()
            return inner
        if self.at(")"):
            raise self.error(token.position, "unexpected ')' without a matching '('")
        raise self.error(
            token.position,
            f"expected a number, a name or '(' but found {self.describe(token)}",
        )

    def number(self, token: Token) -> sympy.Expr:
        text = token.value
        if any(c in text for c in ".eE"):
            return sympy.Float(text)
        try:
            return sympy.Integer(int(text))
        except ValueError:  # Python limits int() on very long digit strings
            raise self.error(
                token.position, f"the integer literal has {len(text)} digits, which is too many"
            ) from None

    def name(self, token: Token) -> sympy.Expr:
        name = token.value
        if name in self.variables:
            return self.variables[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in _FUNCTIONS:
            raise self.error(
                token.position, f"{name!r} is a function; call it with parentheses: {name}(x)"
            )
        if self.allow_unknown:
            if name not in self.unknown:
                self.unknown[name] = sympy.Symbol(name, real=True)
            return self.unknown[name]
        what = "the Python keyword" if keyword.iskeyword(name) else "unknown name"
        raise self.error(token.position, f"{what} {name!r} is not allowed here; {self.allowed()}")

    def call(self, token: Token) -> sympy.Expr:
        name = token.value
        if name in self.variables or name in _CONSTANTS:
            kind = "a variable" if name in self.variables else "a constant"
            raise self.error(
                self.token.position,
                f"{name!r} is {kind}, not a function; implicit multiplication is not "
                f"supported, write {name}*(...)",
            )
        if name not in _FUNCTIONS:
            raise self.error(
                token.position,
                f"unknown function {name!r}; allowed functions: {', '.join(sorted(_FUNCTIONS))}",
            )
        function, arities = _FUNCTIONS[name]
        open_paren = self.advance()
        self.enter(open_paren.position)
        arguments: list[sympy.Expr] = []
        if not self.at(")"):
            arguments.append(self.expression())
            while self.at(","):
                self.advance()
                arguments.append(self.expression())
        self.depth -= 1
        if not self.at(")"):
            raise self.error(
                self.token.position,
                f"expected ',' or ')' in the call to {name}() opened at column "
                f"{open_paren.position + 1}, found {self.describe(self.token)}",
            )
        self.advance()
        if name == "gamma" and any(
            isinstance(a, sympy.Number) and abs(a) > _MAX_POWER_DIGITS for a in arguments
        ):
            raise self.error(
                token.position,
                f"gamma() of an exact number above {_MAX_POWER_DIGITS} is too large to "
                f"compute; use a decimal argument",
            )
        if name in _ROOTS and len(arguments) == 1:
            self.check_power(arguments[0], _ROOTS[name], token.position)
        if len(arguments) not in arities:
            wanted = " or ".join(str(a) for a in arities)
            raise self.error(
                token.position,
                f"{name}() takes {wanted} argument{'s' if arities != (1,) else ''}, "
                f"got {len(arguments)}",
            )
        return function(*arguments)

    def allowed(self) -> str:
        names = sorted(self.variables)
        variables = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        constants = ", ".join(c for c in _CONSTANTS if c not in self.variables)
        return (
            f"allowed variables: {variables or '(none declared)'}; constants: {constants}; "
            f"pass the name in `variables` (or allow_unknown=True) to use it as a symbol"
        )


def _variable_map(
    variables: Mapping[str, sympy.Symbol] | Iterable[str] | str | None,
) -> dict[str, sympy.Expr]:
    if variables is None:
        return {}
    if isinstance(variables, str):
        variables = [v for v in re.split(r"[,\s]+", variables) if v]
    if isinstance(variables, Mapping):
        result = {}
        for name, symbol in variables.items():
            if not isinstance(name, str):
                raise TypeError(f"variable names must be str, got {type(name).__name__}")
            if not isinstance(symbol, sympy.Expr):
                raise TypeError(
                    f"variables[{name!r}] must be a sympy Symbol, got {type(symbol).__name__}"
                )
            result[name] = symbol
        return result
    result = {}
    for name in variables:
        if isinstance(name, sympy.Symbol):
            result[name.name] = name
        elif isinstance(name, str):
            result[name] = sympy.Symbol(name)
        else:
            raise TypeError(
                f"variables must be names (str) or sympy Symbols, got {type(name).__name__}"
            )
    return result


def parse_expression(
    text: str,
    variables: Mapping[str, sympy.Symbol] | Iterable[str] | None = None,
    *,
    allow_unknown: bool = False,
) -> sympy.Expr:
    """Parse a formula into a sympy expression without evaluating any code.

    Parameters
    ----------
    text : str
        The formula, e.g. ``"G*m1*m2/r**2"``. ``^`` means power; ``**`` binds tighter than
        unary minus and is right-associative, as in Python.
    variables : mapping of name to Symbol, or iterable of names, optional
        The names allowed as variables. Plain names become ``sympy.Symbol(name)``. A variable
        shadows a constant or function of the same name (``E``, ``pi``, ``gamma``...).
    allow_unknown : bool
        Turn undeclared names into new real Symbols instead of raising.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    FormulaSyntaxError
        When the text is not a formula of this grammar; the message points at the column.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaSyntaxError(
            text, None, f"the text has {len(text)} characters, more than {MAX_LENGTH}"
        )
    return _Parser(text, _variable_map(variables), allow_unknown).parse()


def parse_univariate(text: str, variable: str | None = None) -> tuple[sympy.Expr, sympy.Symbol]:
    """Parse a formula in exactly one variable.

    Parameters
    ----------
    text : str
        The formula, e.g. ``"sin(x)**2"``.
    variable : str, optional
        The name of the variable. By default any single name is accepted (as a real Symbol).

    Returns
    -------
    (sympy.Expr, sympy.Symbol)
        The expression and its variable.

    Raises
    ------
    FormulaSyntaxError
        When the text cannot be read, or it does not have exactly one variable.
    """
    if variable is None:
        expr = parse_expression(text, allow_unknown=True)
    else:
        expr = parse_expression(text, {variable: sympy.Symbol(variable, real=True)})
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if len(symbols) != 1:
        found = ", ".join(s.name for s in symbols) or "none"
        raise FormulaSyntaxError(
            text, None, f"expected exactly one variable, found {len(symbols)} ({found})"
        )
    return expr, symbols[0]
