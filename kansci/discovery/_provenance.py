"""Which stage found a formula, and what the KAN contributed: a small record per result.

The decomposition keeps a :class:`Trail` while it solves: every sub-problem adds one record
(its inputs, the route that gave its best formula, that formula, and the records of the
sub-problems that route solved), so the tree of accepted splits, reductions and leaves ends
up in the provenance of the formulas the stage returns.  Records are plain dicts of strings
and lists (JSON-ready).
"""

from __future__ import annotations

from typing import Any

import sympy

__all__ = ["Trail", "surrogate_summary", "shape"]


def shape(expr: sympy.Basic) -> sympy.Basic:
    """The expression with every float replaced by one placeholder: refits keep its shape."""
    floats = expr.atoms(sympy.Float)
    return expr.xreplace({f: _C for f in floats}) if floats else expr


_C = sympy.Symbol("_c")


class Trail:
    """A stack of record lists: a route opens a frame, the sub-problems it solves add to it."""

    def __init__(self) -> None:
        self.stack: list[list[dict]] = [[]]
        self.searched: set = set()  # shapes of formulas the expression search produced
        self.accepted: set = set()  # shapes of formulas a reduced sub-problem solved well

    def open(self) -> None:
        self.stack.append([])

    def close(self) -> list[dict]:
        return self.stack.pop() if len(self.stack) > 1 else []

    def add(self, record: dict) -> None:
        self.stack[-1].append(record)

    def note(self, text: str) -> None:
        """A remark of the running route (the combination it introduced, ...)."""
        self.stack[-1].append({"note": text})

    def accept(self, expr) -> None:
        self.accepted.add(shape(expr))

    def accepted_form(self, expr) -> bool:
        return shape(expr) in self.accepted

    def mark_searched(self, exprs) -> None:
        self.searched.update(shape(e) for e in exprs)

    def from_search(self, expr) -> bool:
        return shape(expr) in self.searched

    @property
    def root(self) -> dict | None:
        """The last record at the top level (the root problem's)."""
        return self.stack[0][-1] if self.stack[0] else None


def record(syms, step: str, formula=None, children=None) -> dict[str, Any]:
    return {"inputs": [str(s) for s in syms], "step": step,
            "formula": None if formula is None else sympy.sstr(formula), "children": list(children or [])}


def surrogate_summary(sur) -> dict[str, Any]:
    """What the KAN surrogate was: its shape, the view it learned, its validation error."""
    model = getattr(sur, "model", None)
    width = getattr(model, "width", None)
    return {"kan_width": None if width is None else [int(w) for w in width],
            "view": getattr(sur, "view", None), "relative_error": float(getattr(sur, "rel_error", float("nan")))}
