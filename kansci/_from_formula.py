"""A KAN built from a formula: start from a hypothesis, fit it, see which parts the data change.

The formula (text, read by :func:`kansci.parse_expression`, never ``eval``) is compiled into
KAN nodes, each a bias plus a sum of univariate edges ``c*f(a*u + b) + d`` of nodes one layer
down, every edge a fixed symbolic primitive (:func:`kansci.symbolic.fix_symbolic`'s slot):

- a sum is one node; numbers go to its bias;
- ``g(a*u + b)`` for a primitive ``g`` (``sin``, ``exp``, ``x^2``, ``1/x``, ... or, for
  functions outside the library, a custom primitive) is one edge from the node of ``u``;
- a product ``k*u*v`` uses the quarter-square identity ``u*v = ((u+v)^2 - (u-v)^2)/4``: two
  nodes ``u+v`` and ``u-v`` and two ``x^2`` edges with ``c = k/4`` and ``-k/4``, exact for
  every sign (``products="square"``, the default); or, with ``products="log"``, for positive
  factors, ``k*exp(sum p_i*log(u_i))`` (monomials become sums of logarithms);
- ``base**u`` with a number base is ``exp(log(base)*u)``;
- a node that receives two edges from one source (``sin(x) + x**2``) gets one of them through
  an intermediate node, as a KAN edge holds one function; nodes deeper than needed are fed
  through identity edges.

Composing the model back (:func:`kansci.formula.compose`) gives the formula again, with its
constants as floats.  Given data ``X``, every edge's spline is also fitted to its symbolic
function on the range the data give it, so an edge returned to its spline
(:func:`kansci.symbolic.unfix_symbolic`, or ``symbolic=False``) starts at the hypothesis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy
import torch

__all__ = ["build_from_formula", "FormulaStructureError"]


class FormulaStructureError(ValueError):
    """A part of the formula has no KAN form; the message names the part."""


@dataclass(eq=False)
class _Node:
    """A KAN node: ``bias + sum of edges``; ``level`` 0 are the inputs."""

    edges: list = field(default_factory=list)  # (primitive, a, b, c, d, source: int | _Node)
    bias: float = 0.0
    level: int = -1


def _number(value, part) -> float:
    v = complex(sympy.N(value, 17))
    if v.imag != 0 or not math.isfinite(v.real):
        raise FormulaStructureError(f"the constant {part} is not a finite real number")
    return float(v.real)


class _Compiler:
    def __init__(self, symbols: list[sympy.Symbol], library, products: str) -> None:
        from .symbolic import Library, X

        self.index = {s: k for k, s in enumerate(symbols)}
        self.library = library if library is not None else Library.default()
        self.products = products
        self.X = X
        self.nodes: dict = {}
        self.custom: dict = {}
        self.identity = self.primitive(X, "identity")

    # ------------------------------------------------------------------ primitives
    def primitive(self, template: sympy.Expr, part):
        """The library entry whose expression is ``template`` (in X), or a new custom one."""
        for prim in self.library.values():
            if prim.expr == template:
                return prim
        if template in self.custom:
            return self.custom[template]
        from .symbolic._custom import custom_primitive

        name = sympy.sstr(template).replace("**", "^")
        try:
            prim = custom_primitive(name, sympy.sstr(template))
        except ValueError as exc:
            raise FormulaStructureError(f"{part}: no KAN edge for {template} ({exc})") from None
        self.custom[template] = prim
        return prim

    # ------------------------------------------------------------------ structure
    def node(self, edges, bias: float) -> _Node:
        """A node; of several edges from one source, all but the first go through a node of their
        own (a KAN edge ``i -> j`` holds one function)."""
        seen, out = set(), []
        for edge in edges:
            key = ("input", edge[5]) if isinstance(edge[5], int) else id(edge[5])
            if key in seen:
                edge = (self.identity, 1.0, 0.0, 1.0, 0.0, _Node([edge], 0.0))
                key = id(edge[5])
            seen.add(key)
            out.append(edge)
        return _Node(out, bias)

    def source(self, expr):
        """The input index of a symbol, else the (shared) node computing ``expr``."""
        if expr in self.index:
            return self.index[expr]
        if expr not in self.nodes:
            edges, const = self.terms(expr)
            self.nodes[expr] = self.node(edges, const)
        return self.nodes[expr]

    def unary(self, prim, arg, part) -> tuple[list, float]:
        """``prim(arg)`` as one edge ``f(a*u + b)`` from the node of ``u``."""
        free = tuple(arg.free_symbols)
        if not free:
            raise FormulaStructureError(f"{part} is constant; write it as a number")
        b, rest = arg.as_independent(*free, as_Add=True)
        a, core = rest.as_independent(*free, as_Add=False)
        return [(prim, _number(a, part), _number(b, part), 1.0, 0.0, self.source(core))], 0.0

    def terms(self, expr) -> tuple[list, float]:
        """``expr`` as edges into one node plus a constant."""
        if expr.is_number:
            return [], _number(expr, expr)
        if expr in self.index:
            return [(self.primitive(self.X, expr), 1.0, 0.0, 1.0, 0.0, self.index[expr])], 0.0
        if isinstance(expr, sympy.Add):
            edges, const = [], 0.0
            for arg in expr.args:
                e, c = self.terms(arg)
                edges += e
                const += c
            return edges, const
        if isinstance(expr, sympy.Mul):
            coeff, factors = expr.as_independent(*expr.free_symbols, as_Add=False)
            k = _number(coeff, expr)
            factors = sympy.Mul.make_args(factors)
            if len(factors) == 1:
                return _scaled(self.terms(factors[0]), k)
            return self.product(list(factors), k, expr)
        if isinstance(expr, sympy.Pow):
            base, p = expr.args
            if p.is_number:
                return self.unary(self.primitive(self.X ** p, expr), base, expr)
            if base.is_number:
                if _number(base, expr) <= 0:
                    raise FormulaStructureError(f"{expr}: a power of a non-positive number has no real edge")
                return self.unary(self.primitive(sympy.exp(self.X), expr), sympy.log(base) * p, expr)
            raise FormulaStructureError(
                f"{expr}: a power with a variable exponent has no KAN edge; write it as exp({p}*log({base})) "
                "when the base is positive")
        if isinstance(expr, sympy.Function) and len(expr.args) == 1:
            return self.unary(self.primitive(expr.func(self.X), expr), expr.args[0], expr)
        raise FormulaStructureError(
            f"{expr}: {type(expr).__name__} of {len(expr.args)} arguments has no KAN form "
            "(edges are functions of one input; sums and products combine them)")

    def product(self, factors: list, k: float, part) -> tuple[list, float]:
        if self.products == "log":
            logs = []
            for f in factors:
                base, p = f.as_base_exp() if isinstance(f, sympy.Pow) and f.exp.is_number else (f, sympy.Integer(1))
                edge = self.unary(self.primitive(sympy.log(self.X), part), base, part)[0][0]
                logs.append((*edge[:3], _number(p, part), 0.0, edge[5]))
            return [(self.primitive(sympy.exp(self.X), part), 1.0, 0.0, k, 0.0, self.node(logs, 0.0))], 0.0
        u, rest = factors[0], factors[1:]
        tu = self.terms(u)
        tv = self.terms(rest[0]) if len(rest) == 1 else self.product(rest, 1.0, part)
        square = self.primitive(self.X**2, part)
        plus = self.node(tu[0] + tv[0], tu[1] + tv[1])
        minus = self.node(tu[0] + _scaled(tv, -1.0)[0], tu[1] - tv[1])
        return [(square, 1.0, 0.0, k / 4, 0.0, plus), (square, 1.0, 0.0, -k / 4, 0.0, minus)], 0.0


def _scaled(terms, k: float):
    edges, const = terms
    return [(p, a, b, c * k, d * k, s) for p, a, b, c, d, s in edges], const * k


# ---------------------------------------------------------------------------- layers
def _levels(root: _Node) -> int:
    def level(src) -> int:
        if isinstance(src, int):
            return 0
        if src.level < 0:
            src.level = 1 + max((level(e[5]) for e in src.edges), default=0)
        return src.level

    return level(root)


def _layers(root: _Node, identity) -> list[list[_Node]]:
    """Nodes per level (1 .. depth), every edge from the level just below (identity lifts)."""
    depth = _levels(root)
    lifted: dict = {}

    def lift(src, level: int):
        have = 0 if isinstance(src, int) else src.level
        if have == level:
            return src
        key = (src if isinstance(src, int) else id(src), level)
        if key not in lifted:
            lifted[key] = _Node([(identity, 1.0, 0.0, 1.0, 0.0, lift(src, level - 1))], 0.0, level)
        return lifted[key]

    layers: list[list[_Node]] = [[] for _ in range(depth + 1)]
    placed: set = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in placed:
            continue
        placed.add(id(node))
        layers[node.level].append(node)
        node.edges = [(*e[:5], lift(e[5], node.level - 1)) for e in node.edges]
        stack.extend(e[5] for e in reversed(node.edges) if isinstance(e[5], _Node))
    return layers[1:]


# ---------------------------------------------------------------------------- public
def build_from_formula(cls, formula, inputs=None, *, output: str = "y", products: str = "square", X=None,
                       symbolic: bool = True, grid: int = 10, k: int = 3, seed: int = 0,
                       dtype: torch.dtype = torch.float64, library=None, **layer_options):
    """Build the KAN of ``formula`` (see the module docstring and :meth:`kansci.KAN.from_formula`)."""
    from ._parse import parse_expression

    if products not in ("square", "log"):
        raise ValueError(f"products must be 'square' (quarter squares, any sign) or 'log' (positive factors), "
                         f"got {products!r}")
    if isinstance(formula, str):
        expr = parse_expression(formula, inputs, allow_unknown=inputs is None)
    elif isinstance(formula, sympy.Expr):
        expr = formula
    else:
        raise TypeError(f"formula must be a str such as 'exp(sin(pi*x) + y**2)', got {type(formula).__name__}")
    by_name = {s.name: s for s in expr.free_symbols}
    names = [str(n) for n in inputs] if inputs is not None else sorted(by_name)
    if not names:
        raise FormulaStructureError(f"{formula!r} has no inputs; name them in the formula or in inputs=")
    extra = sorted(set(by_name) - set(names))
    if extra:
        raise FormulaStructureError(f"the formula uses {extra}, which are not among the inputs {names}")
    symbols = [by_name.get(n, sympy.Symbol(n)) for n in names]
    compiler = _Compiler(symbols, library, products)
    root = compiler.node(*compiler.terms(expr))
    if not root.edges:  # a constant: one layer, every edge pruned, the bias the constant
        root.level = 1
        layers = [[root]]
    else:
        layers = _layers(root, compiler.identity)
    width = [len(names)] + [len(nodes) for nodes in layers]
    model = cls(width, grid=grid, k=k, seed=seed, input_names=names, output_names=[output], dtype=dtype,
                **layer_options)
    position = [{id(n): j for j, n in enumerate(nodes)} for nodes in layers]
    with torch.no_grad():
        for li, (module, nodes) in enumerate(zip(model.layers, layers)):
            module.mask.zero_()
            for j, node in enumerate(nodes):
                module.bias[j] = node.bias
                for prim, a, b, c, d, src in node.edges:
                    i = src if li == 0 else position[li - 1][id(src)]
                    module.mask[i, j] = 1.0
                    model.set_symbolic(li, i, j, prim, (a, b, c, d))
    if X is not None:
        _fit_splines(model, X)
    elif not symbolic:
        raise ValueError("symbolic=False needs X: the data place every edge's grid and its spline is fitted "
                         "to the formula's piece there")
    if not symbolic:
        for li, i, j in list(model.symbolic_edges()):
            model.unset_symbolic(li, i, j)
    return model


@torch.no_grad()
def _fit_splines(model, X, margin: float = 0.05, ridge: float = 1e-10) -> None:
    """Grids on the range the data give each edge; each spline fitted to its symbolic edge."""
    from ._arrays import as_matrix
    from ._basis import bspline_basis

    h = as_matrix(X, "X", n_cols=model.width[0], dtype=model.dtype, device=model.device)
    for module in model.layers:
        lo, hi = h.min(0).values, h.max(0).values
        pad = (hi - lo).clamp_min(1e-3) * margin
        module.grid_lo.copy_(lo - pad)
        module.grid_hi.copy_(hi + pad)
        t = torch.linspace(0, 1, 8 * module.n_basis + 1, dtype=model.dtype, device=model.device)[:, None]
        dense = module.grid_lo + t * (module.grid_hi - module.grid_lo)  # (n, in)
        basis = bspline_basis(dense, module.grid_lo, module.inv_h, module.n_basis, module.k)
        values = module.edge_activations(dense)  # the symbolic edges on the dense points
        for (i, j), prim in module.symbolic_edges().items():
            a, b = (float(v) for v in module.sym_affine[i, j, :2])
            u = a * h[:, i].detach().cpu().numpy().astype(float) + b
            if not np.all(prim.in_domain(u)):
                raise FormulaStructureError(
                    f"the piece {prim.name} of the formula is not finite on the data X: its argument "
                    f"{a:.4g}*u + {b:.4g} leaves its domain {prim.domain} (u from {float(h[:, i].min()):.4g} to "
                    f"{float(h[:, i].max()):.4g}); check X")
        for (i, j) in module.symbolic_edges():
            B = basis[:, i, :]
            gram = B.T @ B
            gram = gram + ridge * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype, device=gram.device)
            module.coef[i, :, j] = torch.linalg.solve(gram, B.T @ values[:, i, j])
            module.scale_sp[i, j] = 1.0
            module.scale_base[i, j] = 0.0
        h = module(h)
    if not all(np.isfinite(p.detach().cpu().numpy()).all() for p in model.parameters()):
        raise FormulaStructureError("the formula is not finite on the data X (overflow); check X")
