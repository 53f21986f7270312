"""Irrelevant input columns: inputs the target does not depend on, found before the search.

The test is model-free: the target is predicted at every row from its nearest neighbours
(leave-one-out k-nearest-neighbour regression) in the space of the inputs, each input mapped
to its ranks (so scales, units and log-uniform sampling do not matter).  Removing an input the
target does not depend on brings the neighbours closer in the inputs that matter, so the
error drops; removing one it depends on adds the target's variation along it to the error.
Inputs are removed one at a time (backward elimination, the one whose removal lowers the
error most first) while a removal lowers the error by a clear margin, and only when the input
does not help a local fit in the others' neighbourhoods either (a weak effect, such as a
small correction term, is drowned by the denser neighbourhoods of one input fewer, but a
local regression on the input still follows it).  This is the
nearest-neighbour variant of wrapper feature selection (Kohavi & John, Artif. Intell. 97,
273 (1997)); the neighbour error at zero noise is the interpolation error, so the test is
sharp exactly where exact recovery is at stake.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import chi2_contingency, rankdata, spearmanr

__all__ = ["irrelevant_columns"]

log = logging.getLogger("kansci")

MIN_ROWS = 80
"""Below this many rows nothing is dropped (the neighbour errors are too noisy)."""

MARGIN = 0.85
"""A removal must bring the neighbour error below this fraction of what it was (0.5 with
fewer than ``SMALL`` rows, where the neighbour errors are noisier)."""

SMALL = 500

MAX_COLUMNS = 12
"""Wider tables are not screened (each elimination step costs a neighbour search per column)."""

FLOOR = 1e-6
"""A neighbour error below this (relative to the target's variance) counts as exact: removing
a column that keeps it exact is a gain."""

CONDITIONAL = 0.9
"""A dropped input must not help as a regressor: with the neighbourhoods chosen without it,
a local fit that also regresses on it must not bring the error below this fraction of the
error without it (an input the target does not depend on only adds variance to the fit)."""

ALPHA = 0.01
"""A dropped input must also look independent of the target on its own: a chi-square test of
independence on quantile bins must not reject at this level."""


def _independent(x: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> bool:
    """No test finds x and y dependent: rank correlation of x with y and with |y - median|
    (monotone effects on the level and on the spread), and a chi-square test on a table of
    their quantile bins (any other)."""
    n = len(x)
    spread = np.abs(y - np.median(y))
    for target in (y, spread):
        with np.errstate(all="ignore"):
            p = spearmanr(x, target).pvalue
        if np.isfinite(p) and p <= alpha:
            return False
    bins = int(np.clip(np.sqrt(n / 25.0), 3, 6))
    bx = np.minimum((rankdata(x, method="ordinal") - 1) * bins // n, bins - 1)
    by = np.minimum((rankdata(y, method="ordinal") - 1) * bins // n, bins - 1)
    table = np.zeros((bins, bins))
    np.add.at(table, (bx, by), 1)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return True
    return bool(chi2_contingency(table)[1] > alpha)


def _target(y: np.ndarray) -> np.ndarray:
    t = rankdata(y) / len(y)  # ranks: heavy tails and poles do not swamp the error
    s = float(np.std(t))
    return (t - float(np.mean(t))) / (s if s > 0 else 1.0)


def _knn_error(Z: np.ndarray, t: np.ndarray, cols: list[int], k: int,
               regress: list[int] | None = None) -> float:
    """Leave-one-out error of local linear regression on the ``k`` nearest neighbours in
    ``cols`` (regressing on the inputs ``regress``, default ``cols``)."""
    regress = cols if regress is None else regress
    if not regress:
        return float(np.mean((t - t.mean()) ** 2))
    pts = Z[:, cols]
    n = len(t)
    d = len(regress)
    kk = min(k + 2 * d, n - 1)
    _, idx = cKDTree(pts).query(pts, k=kk + 1)
    # leave-one-out: drop each row's own index (the first neighbour, or wherever it lands on ties)
    own = idx == np.arange(n)[:, None]
    own[:, -1] |= ~own.any(axis=1)
    keep = ~own
    nb = idx[keep].reshape(n, kk)
    P = Z[:, regress]
    return float(np.mean((t - _local_linear(P, P, nb, t)) ** 2))


def _helps_locally(Z: np.ndarray, t: np.ndarray, kept: list[int], j: int, k: int, without: float) -> bool:
    """Whether input ``j`` still explains part of the target in the neighbourhoods of the
    other kept inputs (error ``without`` there): see :data:`CONDITIONAL`."""
    others = [c for c in kept if c != j]
    if not others or without <= FLOOR:
        return False
    return _knn_error(Z, t, others, k, regress=kept) < CONDITIONAL * without


def _local_linear(pts: np.ndarray, centres: np.ndarray, nb: np.ndarray, t: np.ndarray) -> np.ndarray:
    """At each centre, the value of the least-squares plane through ``t`` at its neighbours
    ``pts[nb]`` (``nb``: (m, k) row indices; a small ridge keeps flat neighbourhoods solvable)."""
    m, k = nb.shape
    d = pts.shape[1]
    A = np.concatenate([np.ones((m, k, 1)), pts[nb] - centres[:, None, :]], axis=2)  # centred
    AtA = np.einsum("nki,nkj->nij", A, A)
    ridge = 1e-6 * np.trace(AtA, axis1=1, axis2=2)[:, None, None] / (d + 1)
    rhs = np.einsum("nki,nk->ni", A, t[nb])[..., None]
    return np.linalg.solve(AtA + ridge * np.eye(d + 1), rhs)[:, 0, 0]


def knn_smooth(X: np.ndarray, y: np.ndarray, rows: np.ndarray, *, k: int = 24) -> np.ndarray:
    """``y`` at ``rows`` predicted by local linear regression on its ``k`` nearest neighbours
    among all rows (inputs mapped to their ranks; the row itself included): a denoised target
    for the neighbour tests.  Noise of variance ``s2`` leaves about ``s2 * (d + 1) / k`` of it;
    a smooth law is changed by the local fit's curvature error, which is small where the rows
    are dense.

    Parameters
    ----------
    X : (n, d) inputs; y : (n,) target; rows : indices of the rows wanted.

    Returns
    -------
    ndarray, shape (len(rows),), in the target's units.
    """
    n, d = X.shape
    Z = np.column_stack([rankdata(X[:, j]) / n for j in range(d)])
    _, idx = cKDTree(Z).query(Z[rows], k=min(k, n))
    return _local_linear(Z, Z[rows], idx.reshape(len(rows), -1), y)


def irrelevant_columns(X: np.ndarray, y: np.ndarray, *, max_rows: int = 1500, k: int = 4,
                       margin: float | None = None, independence: bool = True) -> list[int]:
    """Indices of input columns the target does not depend on.

    A column is dropped when removing it lowers the neighbour error by the margin and it
    shows no dependence on the target by itself (a chi-square test on quantile bins), so an
    input whose effect is masked by a rough dependence on the others is kept.

    Parameters
    ----------
    X : (n, d) inputs; y : (n,) target.
    max_rows : rows used (evenly spaced, no randomness).
    k : neighbours per prediction.
    margin : a column is dropped only when removing it lowers the neighbour error below
        ``margin`` times the error with it (default :data:`MARGIN`, 0.5 for small tables).
    independence : also require the independence tests (off for inputs that are functions of
        shared quantities, such as dimensionless groups, which are dependent by construction).

    Returns
    -------
    list of int, sorted; never every column.  Empty for tables with fewer than
    :data:`MIN_ROWS` rows or more than :data:`MAX_COLUMNS` inputs (not screened).
    """
    n, d = X.shape
    if n < MIN_ROWS or d < 2 or d > MAX_COLUMNS:
        return []
    if margin is None:
        margin = MARGIN if n >= SMALL else 0.5
    rows = np.linspace(0, n - 1, min(n, max_rows)).round().astype(int)
    Z = np.column_stack([rankdata(X[rows, j]) / len(rows) for j in range(d)])
    t = _target(y[rows])
    kept = list(range(d))
    err = _knn_error(Z, t, kept, k)
    dropped = []
    while len(kept) > 1:
        trials = sorted((_knn_error(Z, t, [c for c in kept if c != j], k), j) for j in kept)
        trials = [(e, j) for e, j in trials
                  if (e < margin * err or e <= FLOOR) and (not independence or _independent(X[rows, j], y[rows]))
                  and not _helps_locally(Z, t, kept, j, k, e)]
        if not trials:
            break
        best, j = trials[0]
        log.debug("relevance: dropping input %d (neighbour error %.3g -> %.3g)", j, err, best)
        kept.remove(j)
        dropped.append(j)
        err = best
    return sorted(dropped)
