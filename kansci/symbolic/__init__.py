"""Symbolic snapping: fit a KAN edge with ``c*f(a*x + b) + d`` over a library of primitives.

- :class:`Primitive`, :class:`Library`: the functions ``f`` (``Library.default()`` for the
  built-in 22; ``lib.add(name, "sinh(x)")`` for more, parsed without ``eval``);
- :func:`fit_affine`: the best ``(a, b, c, d)`` for one primitive, as an :class:`AffineFit`;
- :func:`suggest` / :func:`best_fit`: all primitives ranked, fit quality first, simplicity second;
- :func:`suggest_edges`, :func:`fix_symbolic`, :func:`unfix_symbolic`, :func:`auto_symbolic`: the same
  on the edges of a KAN, switching edges to their symbolic form (undoably);
- :func:`compare_edges`: which edges of a trained KAN the data moved away from a hypothesis.
"""

from ._affine import AffineFit as AffineFit
from ._affine import fit_affine as fit_affine
from ._compare import compare_edges as compare_edges
from ._library import Library as Library
from ._model import auto_symbolic as auto_symbolic
from ._model import edge_data as edge_data
from ._model import fix_symbolic as fix_symbolic
from ._model import suggest_edges as suggest_edges
from ._model import unfix_symbolic as unfix_symbolic
from ._primitive import X as X
from ._primitive import Primitive as Primitive
from ._rank import best_fit as best_fit
from ._rank import ranked_fits as ranked_fits
from ._rank import suggest as suggest

__all__ = [
    "AffineFit",
    "Library",
    "Primitive",
    "X",
    "auto_symbolic",
    "best_fit",
    "compare_edges",
    "edge_data",
    "fit_affine",
    "fix_symbolic",
    "ranked_fits",
    "suggest",
    "suggest_edges",
    "unfix_symbolic",
]
