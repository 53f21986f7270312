"""Ties in constant recognition: two constants the data cannot tell apart become one.

``-a - b/(u - 1)`` with ``b`` equal to ``a`` within its error is ``-a*u/(u - 1)``, and
``c*(a + a/(u - 1))**2`` is one constant times ``u**2/(u - 1)**2``: a constant that only the
merged form shows (``4*pi/3`` where each of the two was ``sqrt(4*pi/3)``) can then be
recognised.  A step of :class:`kansci.formula._recognise_search.Search`.
"""

from __future__ import annotations

import logging

import numpy as np
import sympy

from .._evaluate import parameterise
from ._complexity import complexity
from ._evidence import covariance
from ._readable import SYMPY_ERRORS
from ._refine import normalise

__all__ = ["tie_step"]

logger = logging.getLogger("kansci")

#: Ties are tried in formulas with at most this many constants, the closest pairs first ...
MAX_CONSTANTS = 8
TRIES = 3
#: ... for pairs whose difference (or sum) is within this many standard errors (the joint
#: snapping's window, ``_recognise_search._SNAP_Z``).
Z = 4.0


def tie_step(search, state):
    """Tie two constants ``a`` and ``+-b`` of ``state``'s fit whose difference is within
    :data:`Z` standard errors (from the full covariance), merge the products of constants that
    result (sympy's ``together``, ``cancel``, ``factor_terms``) and refit.  As with an exact
    value, the tie is kept only while the error stays within the search's threshold; the
    description length (one parameter fewer) decides whether the search ends there.
    ``search`` is the :class:`~kansci.formula._recognise_search.Search` and ``state`` its
    ``State`` (not imported here: that module imports this one).  Returns the new state, or
    None when no tie holds."""
    fit = state.fit
    m = fit.model
    if not 2 <= m.k <= MAX_CONSTANTS:
        return None
    cov, degenerate = covariance(m.jacobian(search.data, fit.params))
    p = fit.params
    pairs = []
    for i in range(m.k):
        for j in range(i + 1, m.k):
            if degenerate[i] or degenerate[j]:
                continue
            for sign in (1.0, -1.0):
                spread = (cov[i, i] + cov[j, j] - 2 * sign * cov[i, j]) * search.unit
                z2 = (p[i] - sign * p[j]) ** 2 / spread if spread > 0 else np.inf
                if z2 <= Z**2:
                    pairs.append((z2, i, j, sign))
    for _, i, j, sign in sorted(pairs)[:TRIES]:
        new = _tied(search, state, i, j, sign)
        if new is not None:
            logger.debug("recognise: tied %.10g and %.10g -> %s", p[i], p[j], new.fit.expr)
            return new
    return None


def _floats(e: sympy.Basic) -> int:
    """Float occurrences (a tied constant counts once for each place it stands)."""
    return sum(1 for a in sympy.preorder_traversal(e) if isinstance(a, sympy.Float))


def _tied(search, state, i: int, j: int, sign: float):
    m, p = state.fit.model, state.fit.params
    value = 0.5 * (p[i] + sign * p[j])
    tied = m.template.xreplace({m.dummies[j]: sign * m.dummies[i]})
    keep = [k for k in range(m.k) if k != j]
    dummies = [m.dummies[k] for k in keep]
    values = [value if k == i else float(p[k]) for k in keep]
    expr = tied.xreplace({d: sympy.Float(v) for d, v in zip(dummies, values)})
    best, size = None, (_floats(expr), complexity(expr))
    for rewrite in (sympy.together, sympy.cancel, sympy.factor_terms):
        try:
            cand = normalise(rewrite(expr))
        except SYMPY_ERRORS:
            continue
        if cand.has(sympy.zoo, sympy.nan, sympy.I) or cand.atoms(sympy.Dummy) - set(search.symbols):
            continue
        if (_floats(cand), complexity(cand)) < size and _floats(cand) < _floats(expr):
            best, size = cand, (_floats(cand), complexity(cand))
    if best is not None:  # constants merged: each float left is a parameter of its own
        tied, dummies, values, _ = parameterise(best)
    return search.refit(state, tied, dummies, values, {})
