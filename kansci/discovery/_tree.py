"""The structure of a law: how the decomposition built it, as a tree of operations.

:class:`Trace` is carried by the decomposition's search (``_decompose.Search.trace``): each
place where a formula is put together (an additive or multiplicative split, a transform of
the target, a symmetry that merges inputs, an input found to have no effect) notes, for the
sub-problem and the formula it produced, the sub-problems and formulas it was built from.
After the search, :meth:`Trace.tree` follows these notes from the root down to the leaves,
where formulas were fitted directly, and measures every node's formula against the function
that node had to fit.  A leaf whose formula has several inputs is opened up into the parts of
that formula (:func:`formula_parts`), marked as read from the formula, not found by a probe.

:class:`LawTree` is what ``Discovery.tree`` returns: the tree, or a plain statement that no
decomposition happened (the law came from another stage) with the parts of its formula.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

__all__ = ["TreeNode", "Trace", "LawTree", "formula_parts", "law_tree"]

log = logging.getLogger("kansci")

_TRANSFORM_LABELS = {"inverse": "1/f", "square": "f^2", "sqrt": "sqrt(f)", "sin": "sin(f)", "tan": "tan(f)"}
_STAGES = {
    "baseline": "the constant or linear baseline",
    "linear": "the linear least-squares baseline",
    "monomial": "the monomial stage (a power-law fit in log space)",
    "snap": "the snap stage (one input, snapped directly)",
    "terms": "the terms stage (sparse regression over terms)",
    "parts": "the parts stage (a one-input part of a formula re-solved on the rows)",
    "kan": "the kan stage (a KAN trained, pruned and snapped edge by edge)",
}


@dataclass
class TreeNode:
    """One node of a law's tree.

    Attributes
    ----------
    kind : str
        ``"split"`` (additive ``+``, multiplicative ``*`` or varying coefficients
        ``a + b*g``), ``"transform"`` (the split below
        is of ``1/f``, ``f^2``...), ``"symmetry"`` (inputs merged into one combination),
        ``"fixed"`` (inputs without effect, fixed), ``"leaf"`` (a formula fitted directly),
        ``"constant"``, or ``"part"`` (a part of a leaf's formula, read from the formula).
    label : str
        Short operation name: ``"+"``, ``"*"``, ``"1/f"``, ``"log f"``, ``"a/b"``, ``"leaf"``...
    description : str
        One sentence saying what the node is.
    inputs : tuple of str
        The inputs this node depends on (combinations such as ``a/b`` below a symmetry).
    formula : str
        The node's formula in the data's column names, constants at 4 significant digits.
    error : float or None
        Relative RMS error of the formula against the function the node had to fit (on the
        KAN surrogate: RMSE divided by the standard deviation of that function); None for
        parts read from a formula.
    children : list of TreeNode
    """

    kind: str
    label: str
    description: str
    inputs: tuple[str, ...]
    formula: str
    error: float | None = None
    children: list[TreeNode] = field(default_factory=list)

    def walk(self) -> Iterator[TreeNode]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict:
        err = None if self.error is None or not np.isfinite(self.error) else float(self.error)
        return {"kind": self.kind, "label": self.label, "description": self.description,
                "inputs": list(self.inputs), "formula": self.formula, "error": err,
                "children": [c.to_dict() for c in self.children]}


# ------------------------------------------------------------------------------ rendering
class _Printer(StrPrinter):
    def __init__(self, names: Mapping) -> None:
        super().__init__()
        self._names = dict(names)

    def _print_Symbol(self, expr) -> str:
        return self._names.get(expr, expr.name)

    _print_Dummy = _print_Symbol


def _shown(f: sympy.Float, digits: int):
    """``f`` rounded to ``digits`` significant digits (decimal); a whole number as an Integer."""
    short = float(f"{float(f):.{digits}g}")
    if short.is_integer() and abs(short) < 1e6:
        return sympy.Integer(int(short))
    return sympy.Float(repr(short))


class _Render:
    """Formulas and inputs as text in the user's names, merged inputs as their combinations."""

    def __init__(self, names: Mapping, alias: Mapping, digits: int = 4) -> None:
        self.names, self.alias, self.digits = dict(names), dict(alias), digits

    def expand(self, expr):
        for _ in range(20):  # nested symmetries: a combination of combinations
            if not (expr.free_symbols & self.alias.keys()):
                break
            expr = expr.xreplace(self.alias)
        return expr

    def formula(self, expr) -> str:
        expr = self.expand(sympy.sympify(expr))
        floats = expr.atoms(sympy.Float)
        if floats:  # shown at `digits` significant digits; 1.0000002 shown as 1
            expr = expr.xreplace({f: _shown(f, self.digits) for f in floats})
        return _Printer(self.names).doprint(expr)

    def inputs(self, syms) -> tuple[str, ...]:
        return tuple(self.formula(s) for s in syms)


# --------------------------------------------------------------------- formula parts
def _groups(items, key) -> list[list]:
    """Items joined when their variable sets overlap (connected components)."""
    groups: list[tuple[set, list]] = []
    for item in items:
        syms = set(key(item))
        merged = [g for g in groups if g[0] & syms]
        for g in merged:
            groups.remove(g)
            syms |= g[0]
        groups.append((syms, [x for g in merged for x in g[1]] + [item]))
    return [g[1] for g in groups]


def _core(expr):
    """``expr`` without an additive constant and a numeric factor; a number times a sum is
    distributed (``-(x**2 + y**2)/2`` is the sum of ``-x**2/2`` and ``-y**2/2``)."""
    for _ in range(10):
        if isinstance(expr, sympy.Add):
            coeff, rest = expr.as_coeff_Add()
            if coeff == 0 or not rest.free_symbols:
                return expr
            expr = rest
        elif isinstance(expr, sympy.Mul):
            coeff, rest = expr.as_coeff_Mul()
            if coeff == 1:
                return expr
            if isinstance(rest, sympy.Add):
                return sympy.Add(*[coeff * t for t in rest.args])
            expr = rest
        else:
            return expr
    return expr


def _outer(expr) -> tuple[str, sympy.Expr] | None:
    """``(label, u)`` when ``expr`` is one function of an expression ``u`` of several inputs."""
    if isinstance(expr, sympy.Pow) and expr.exp.is_number and len(expr.base.free_symbols) > 1:
        p = expr.exp
        label = {-1: "1/f", 2: "sqrt(f)", sympy.Rational(1, 2): "f^2", -2: "1/sqrt(f)"}.get(p, f"f^({1 / p})")
        return label, expr.base
    if isinstance(expr, sympy.Function) and len(expr.args) == 1 and len(expr.args[0].free_symbols) > 1:
        name = type(expr).__name__
        label = {"exp": "log f", "log": "exp(f)"}.get(name, f"inverse of {name}")
        return label, expr.args[0]
    return None


def formula_parts(expr, render: _Render, *, describe_root: str = "") -> TreeNode:
    """The visible structure of a formula: sums and products of parts in disjoint inputs,
    outer functions of several inputs, down to parts that do not separate.  Nodes are of kind
    ``"part"`` (no fit error: read from the formula, not tested on data)."""
    expr = sympy.sympify(expr)
    inputs = render.inputs(sorted(expr.free_symbols, key=str))
    text = render.formula(expr)
    if len(expr.free_symbols) <= 1:
        return TreeNode("part", "leaf", describe_root or "a function of one input", inputs, text)
    expr = _core(expr)
    for op, cls in (("+", sympy.Add), ("*", sympy.Mul)):
        if isinstance(expr, cls):
            args = [a for a in expr.args if a.free_symbols]
            groups = _groups(args, key=lambda a: a.free_symbols)
            if len(groups) > 1:
                kids = sorted((formula_parts(cls(*g), render) for g in groups), key=lambda k: k.inputs)
                what = "sum" if op == "+" else "product"
                desc = describe_root or f"a {what} of parts in separate inputs"
                return TreeNode("part", op, desc, inputs, text, None, kids)
    outer = _outer(expr)
    if outer is not None:
        label, inner = outer
        desc = describe_root or f"an outer function: {label} is the part below"
        return TreeNode("part", label, desc, inputs, text, None, [formula_parts(inner, render)])
    return TreeNode("part", "leaf", describe_root or "does not separate further", inputs, text)


# ---------------------------------------------------------------------------- the trace
class Trace:
    """How each formula of the decomposition was built, noted where it was built.

    Keys are ``(sub-problem, formula)``; the sub-problems (``_decompose.Node``) are kept alive
    so that their ids stay unique.  A formula with no note was fitted directly (a leaf).
    """

    def __init__(self) -> None:
        self._how: dict[tuple[int, sympy.Expr], tuple] = {}
        self._nodes: dict[int, object] = {}
        self._alias: dict = {}

    def _note(self, node, expr, how: tuple) -> None:
        self._nodes[id(node)] = node
        for part in how[-1]:
            self._nodes[id(part[0])] = part[0]
        self._how.setdefault((id(node), expr), how)

    def split(self, node, expr, op: str, kids, parts) -> None:
        """``expr`` on ``node`` is ``K + sum(parts)`` (op ``"add"``), ``K * prod(parts)`` (``"mul"``)
        or ``a + b*g`` (``"varying"``: parts a, b and g, up to an affine map)."""
        self._note(node, expr, ("split", op, list(zip(kids, parts))))

    def transform(self, node, expr, name: str, tnode, inner) -> None:
        """``expr`` on ``node`` inverts transform ``name`` of ``inner``, a formula on ``tnode``."""
        self._note(node, expr, ("transform", name, [(tnode, inner)]))

    def reduced(self, node, exprs, inner_exprs, child, kind: str, syms, deg, subs) -> None:
        """Symmetry: ``child``'s inputs are combinations ``subs`` of ``syms`` of ``node``."""
        self._alias.update(subs)
        for e, inner in zip(exprs, inner_exprs):
            self._note(node, e, ("symmetry", (kind, tuple(syms), deg), [(child, inner)]))

    def fixed(self, node, child, found) -> None:
        """The inputs of ``node`` missing from ``child`` have no effect; same formulas."""
        for _, e in found:
            self._note(node, e, ("fixed", None, [(child, e)]))

    # ------------------------------------------------------------------ tree
    def tree(self, node, expr, error: Callable, names: Mapping) -> TreeNode:
        """The tree of ``expr`` on ``node``; ``error(expr, node)`` measures a node's formula."""
        render = _Render(names, self._alias)
        return self._build(node, expr, error, render, depth=0)

    def _build(self, node, expr, error, render: _Render, depth: int) -> TreeNode:
        how = self._how.get((id(node), expr)) if depth < 40 else None
        inputs = render.inputs(node.syms)
        text = render.formula(expr)
        err = _safe(error, expr, node)
        if how is None:
            if not expr.free_symbols:
                return TreeNode("constant", "constant", "a constant", inputs, text, err)
            used = [s for s in node.syms if s in expr.free_symbols]
            if len(used) > 1:  # fitted directly with several inputs: show the formula's parts
                parts = formula_parts(expr, render)
                desc = "fitted directly (power law or sparse terms)"
                if parts.children:
                    desc += f"; read from the formula: {parts.description}"
                return TreeNode("leaf", parts.label, desc, inputs, text, err, parts.children)
            return TreeNode("leaf", "leaf", "fitted directly: a snapped function of one input", inputs, text, err)
        kind, detail, parts = how
        kids = [self._build(sub, sub_expr, error, render, depth + 1) for sub, sub_expr in parts]
        if kind == "split" and detail == "varying":
            z, x = ", ".join(kids[0].inputs), ", ".join(kids[2].inputs)
            desc = f"varying coefficients: f = a({z}) + b({z}) * g({x}), g up to an affine map"
            return TreeNode("split", "a + b*g", desc, inputs, text, err, kids)
        if kind == "split":
            kids.sort(key=lambda k: k.inputs)
            names = [", ".join(k.inputs) for k in kids]
            if detail == "add":
                desc = "additive split: f = " + " + ".join(f"g{n + 1}({s})" for n, s in enumerate(names))
                return TreeNode("split", "+", desc, inputs, text, err, kids)
            desc = ("multiplicative split (log|f| is additive): f = "
                    + " * ".join(f"g{n + 1}({s})" for n, s in enumerate(names)))
            return TreeNode("split", "*", desc, inputs, text, err, kids)
        if kind == "transform":
            label = _TRANSFORM_LABELS.get(detail, detail)
            return TreeNode("transform", label, f"transform: the split below is of {label}", inputs, text, err, kids)
        if kind == "symmetry":
            sym_kind, syms, deg = detail
            return TreeNode("symmetry", *_symmetry_text(sym_kind, syms, deg, render), inputs, text, err, kids)
        gone = [s for s in inputs if s not in kids[0].inputs]
        return TreeNode("fixed", "no effect", f"no effect on f, fixed: {', '.join(gone)}", inputs, text, err, kids)


def _symmetry_text(kind: str, syms, deg, render: _Render) -> tuple[str, str]:
    names = [render.formula(s) for s in syms]
    power = "" if deg == 0 else f"{names[-1] if kind == 'ratio' else names[0]}**{deg} * "
    if kind == "ratio":
        combos = [f"{n}/{names[-1]}" for n in names[:-1]]
        label = ", ".join(combos)
        if deg == 0:
            return label, f"symmetry: depends on {label} only (scale invariance in {', '.join(names)})"
        return label, f"symmetry: f = {power}g({label}, ...) (homogeneous of degree {deg} in {', '.join(names)})"
    op = {"times": "*", "minus": "-", "plus": "+"}[kind]
    label = f"{names[0]}{op}{names[1]}"
    return label, f"symmetry: f = {power}g({label}, ...): {names[0]} and {names[1]} enter only as {label}"


def _safe(error, expr, node) -> float | None:
    try:
        value = float(error(expr, node))
    except Exception as exc:  # a node that cannot be evaluated: show the tree without its error
        log.debug("tree: error of %s not measured: %s", expr, exc)
        return None
    return value if np.isfinite(value) else None


# ----------------------------------------------------------------------------- law tree
class LawTree:
    """The structure of a discovered law (``Discovery.tree``).

    Attributes
    ----------
    decomposed : bool
        Whether the law came from the decomposition stage, whose steps ``root`` shows; when
        False, the law came from another stage (``source``) and ``root`` holds the parts of
        its formula, read from the formula.
    root : TreeNode
    source : str
        The stage that found the chosen formula.
    target, formula : str
        The law ``target = formula`` as chosen (constants refined on the data).
    """

    def __init__(self, root: TreeNode, *, decomposed: bool, source: str, target: str, formula: str) -> None:
        self.root, self.decomposed = root, bool(decomposed)
        self.source, self.target, self.formula = source, target, formula

    @property
    def summary(self) -> str:
        """One sentence: where the law came from and what the tree shows."""
        if self.decomposed:
            return ("Found by decomposition on a KAN surrogate of the data; each node shows its formula on "
                    "the surrogate (before the constants were refined on the data) and its relative error.")
        if self.source.startswith("decompose"):  # a formula whose steps were not recorded
            return ("Found by the decomposition stage, which did not record the steps of this formula. "
                    "Below, the parts of its formula (read from the formula, not tested separately).")
        stage = _STAGES.get(self.source.split("+")[0], f"the {self.source} stage")
        return (f"No decomposition: this law was found by {stage}, on the whole table. "
                "Below, the parts of its formula (read from the formula, not tested separately).")

    def nodes(self) -> list[TreeNode]:
        return list(self.root.walk())

    def to_dict(self) -> dict:
        return {"target": self.target, "formula": self.formula, "source": self.source,
                "decomposed": self.decomposed, "summary": self.summary, "root": self.root.to_dict()}

    def text(self) -> str:
        lines = [f"{self.target} = {self.formula}", self.summary]
        _lines(self.root, "", "", lines)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        kinds = [n.kind for n in self.root.walk()]
        return (f"LawTree({self.target} = {self.formula}, decomposed={self.decomposed}, "
                f"nodes={len(kinds)}, splits={kinds.count('split')})")

    def _repr_html_(self) -> str:
        from ._tree_html import tree_html

        return tree_html(self)


def _line(n: TreeNode) -> str:
    err = "" if n.error is None else f"  error {n.error:.2g}"
    return f"[{n.label}] {n.formula}   ({n.description}; inputs {', '.join(n.inputs) or 'none'}{err})"


def _lines(node: TreeNode, first: str, rest: str, out: list[str]) -> None:
    out.append(first + _line(node))
    for k, child in enumerate(node.children):
        last = k == len(node.children) - 1
        _lines(child, rest + ("`-- " if last else "|-- "), rest + ("    " if last else "|   "), out)


def law_tree(chosen, variables, target: str, formula: str) -> LawTree:
    """The :class:`LawTree` of a chosen candidate (its ``tree`` note when decomposition made it)."""
    names = dict(zip(variables.symbols, variables.columns))
    root = chosen.notes.get("tree") if chosen.source.startswith("decompose") else None
    if root is not None:
        return LawTree(root, decomposed=True, source=chosen.source, target=target, formula=formula)
    parts = formula_parts(chosen.expr, _Render(names, {}), describe_root="")
    return LawTree(parts, decomposed=False, source=chosen.source, target=target, formula=formula)
