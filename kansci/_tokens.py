"""Tokens of the restricted formula grammar, and the error every formula problem raises."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["FormulaSyntaxError", "tokens", "Token"]


class FormulaSyntaxError(ValueError):
    """A formula text that cannot be read.

    Attributes
    ----------
    text : str
        The formula as given.
    position : int or None
        0-based offset of the problem in ``text`` (``None`` when it concerns the whole text).
    reason : str
        What was wrong and what was expected, without the quoted text.
    """

    def __init__(self, text: str, position: int | None, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        super().__init__(_format_error(text, position, reason))

    @property
    def column(self) -> int | None:
        """1-based column of the problem, or ``None``."""
        return None if self.position is None else self.position + 1


def _format_error(text: str, position: int | None, reason: str) -> str:
    if position is None:
        return f"cannot parse formula {_shorten(text)!r}: {reason}"
    # Show a window of at most ~70 characters around the problem, with a caret under it.
    start = max(0, position - 35)
    end = min(len(text), position + 35)
    window = text[start:end].replace("\n", " ").replace("\t", " ")
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(text) else ""
    caret = " " * (len(prefix) + position - start) + "^"
    return (
        f"cannot parse formula {_shorten(text)!r} at column {position + 1}: {reason}\n"
        f"    {prefix}{window}{suffix}\n    {caret}"
    )


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- tokens -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[^\W\d]\w*")
_SPACE = re.compile(r"\s+")
_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", ",")

_CHARACTER_HINTS = {
    ".": "attribute access is not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "[": "indexing and lists are not allowed",
    "]": "indexing and lists are not allowed",
    "{": "braces are not allowed",
    "}": "braces are not allowed",
    "=": "assignments and comparisons are not allowed; give only the right-hand side",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    ":": "lambda, slices and annotations are not allowed",
    ";": "only one expression is allowed",
    "@": "matrix products and decorators are not allowed",
    "!": "factorials are not supported",
    "%": "the modulo operator is not supported",
    "&": "logical operators are not supported",
    "|": "logical operators are not supported; use abs(x) for an absolute value",
    "~": "logical operators are not supported",
}


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op" or "end"
    value: str
    position: int


def tokens(text: str) -> Iterator[Token]:
    pos = 0
    n = len(text)
    while pos < n:
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
            continue
        number = _NUMBER.match(text, pos)
        if number:
            end = number.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                raise FormulaSyntaxError(
                    text,
                    end,
                    f"a number is directly followed by {text[end]!r}; implicit multiplication "
                    f"is not supported, write an explicit '*' (for example 2*x)",
                )
            yield Token("number", number.group(), pos)
            pos = end
            continue
        name = _NAME.match(text, pos)
        if name:
            yield Token("name", name.group(), pos)
            pos = name.end()
            continue
        for op in _OPERATORS:
            if text.startswith(op, pos):
                yield Token("op", op, pos)
                pos += len(op)
                break
        else:
            char = text[pos]
            hint = _CHARACTER_HINTS.get(char, "expected a number, a name, an operator or a bracket")
            raise FormulaSyntaxError(text, pos, f"unexpected character {char!r}; {hint}")
    yield Token("end", "", n)
