"""Replace fitted floats by exact constants when the data cannot tell the difference.

A change is accepted only if the refitted RMSE stays below
``max(rmse_ref * (1 + rtol), atol * std(y))``, where ``rmse_ref`` is the error of the refined
input: every change is judged against the best fit of the given structure, never against
the previous step, so small losses cannot accumulate. The search is greedy; each accepted
change refits the remaining floats, and a round tries, in order:

1. *snap*: every float within 4 sigma of a very simple constant (0, +-1, 2, 3, pi, ...) is
   fixed at once (correlated constants drift together within the noise; fixing the simple
   ones jointly keeps one of them from being pinned to a contrived value);
2. *identifiable floats* (pinned down by the data): exact candidates (0, integers, p/q with
   q <= 12, rational multiples of pi, e, sqrt(2), 1/sqrt(2*pi), ...) whose predicted cost,
   from the Jacobian after the other floats re-adjust, fits the budget; cheapest first;
   an elaborate constant (``17*sqrt(2)/8``) only counts when a chance match within the
   noise is unlikely (look-elsewhere); one step of lookahead rejects a choice that pushes
   a correlated float off its own simple value;
3. *degenerate floats* (a direction the data cannot see, e.g. ``c*exp(u + d)`` where only
   ``c*e**d`` matters): each is set to its identity (0 in a sum, +-1 elsewhere) and the
   choice that leaves the others nicest wins (``0.4*exp(-x**2/2 - 0.003)`` becomes
   ``exp(-x**2/2)/sqrt(2*pi)``, not ``exp(-x**2/2 - 0.919)``);
4. float-free terms of sums with negligible contribution are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats
import sympy

from .._evaluate import numpy_function
from ._candidates import Candidate, expected_chance_matches, nice_candidates
from ._data import FitData, prepare
from ._evidence import analyse, auto_rtol
from ._evidence import slots as slots_of
from ._refine import Fit, Model, fit_model

__all__ = ["recognise_constants"]

logger = logging.getLogger("kansci")

#: Recognition is skipped for formulas with more float constants than this.
MAX_CONSTANTS = 30
_TRIES_PER_FLOAT = 3
_LOOKAHEAD = 3
_SNAP_COSTS = (1.5, 0.0)  # joint snapping: integers and pi first, then only 0 and +-1
_SNAP_Z = 4.0
_SIMPLE_COST = (
    4.0  # "simple" constants: 3/2, 2*pi, pi/2, sqrt(2)/2 yes; 17*sqrt(2)/8 no
)
_CHANCE = 0.1  # an elaborate constant needs fewer expected chance matches than this


@dataclass(frozen=True)
class _Proposal:
    key: float
    index: int
    candidates: list[Candidate]
    plausible: bool


class _Search:
    def __init__(
        self,
        symbols: Sequence[sympy.Symbol],
        data: FitData,
        threshold: float,
        ref: Fit,
        max_denominator: int,
    ) -> None:
        self.symbols = tuple(symbols)
        self.data = data
        self.threshold = threshold
        self.max_denominator = max_denominator
        self.weight = float(np.sum(data.w))
        # one noise variance in SSE units: the budget is its chi-square(k) 99.9 % quantile
        quantile = float(scipy.stats.chi2.ppf(0.999, max(ref.model.k, 1)))
        self.unit = max(self.budget(ref), 1e-300) / quantile

    # ---------------------------------------------------------------- helpers
    def fit(self, expr: sympy.Basic) -> Fit | None:
        """Refit after a change; None unless the error stays within the threshold."""
        try:
            model = Model(expr, self.symbols)
            # trial refits start next to the optimum: a short leash is enough
            fit = fit_model(model, self.data, max_nfev=20 + 2 * model.k)
        except ValueError as exc:  # e.g. the substitution produced a complex constant
            logger.debug("recognise: cannot fit %s: %s", expr, exc)
            return None
        return fit if fit.rmse <= self.threshold * (1 + 1e-9) else None

    def budget(self, fit: Fit) -> float:
        return max(self.weight * (self.threshold**2 - fit.rmse**2), 0.0)

    def substitute(self, fit: Fit, i: int, value: sympy.Expr) -> sympy.Basic:
        m = fit.model
        subs = {d: sympy.Float(float(v)) for d, v in zip(m.dummies, fit.params)}
        subs[m.dummies[i]] = value
        return m.template.xreplace(subs)

    def proposals(self, fit: Fit) -> tuple[list[_Proposal], np.ndarray]:
        """What to try for each identifiable float, best first; and the degeneracy flags."""
        var, degenerate = analyse(fit.model.jacobian(self.data, fit.params))
        budget = self.budget(fit)
        slots = slots_of(fit.model.template, fit.model.dummies)
        out = []
        for i, p in enumerate(fit.params):
            if degenerate[i]:
                continue
            spread = np.sqrt(budget * var[i]) / abs(p) if p else 0.0
            cands = nice_candidates(
                p,
                slots[i].role,
                max_denominator=self.max_denominator,
                window=float(np.clip(spread, 0.05, 1.0)),
            )
            pred = [
                (c.number - p) ** 2 / var[i] if var[i] > 0 else np.inf for c in cands
            ]
            # cheapest plausible first; closeness (as a fraction of the budget) breaks ties
            score = [c.cost + pr / max(budget, 1e-300) for c, pr in zip(cands, pred)]
            half_width = float(np.sqrt(budget * var[i]))
            good = sorted(
                (sc, j)
                for j, (sc, pr) in enumerate(zip(score, pred))
                if pr <= budget
                and self._significant(cands[j], p, half_width, slots[i].role)
            )
            if good:
                tries = [cands[j] for _, j in good[:_TRIES_PER_FLOAT]]
                simple = any(cands[j].cost <= _SIMPLE_COST for _, j in good)
                out.append(_Proposal(good[0][0], i, tries, simple))
            else:  # the linear prediction may be pessimistic: try the closest sensible one
                wide = 10 * budget
                ok = [
                    j
                    for j, pr in enumerate(pred)
                    if pr <= wide
                    and self._significant(
                        cands[j], p, float(np.sqrt(wide * var[i])), slots[i].role
                    )
                ]
                if ok:
                    j = min(ok, key=lambda j: pred[j])
                    out.append(_Proposal(cands[j].cost + 1.0, i, [cands[j]], False))
        out.sort(key=lambda t: t.key)
        return out, degenerate

    def _significant(
        self, c: Candidate, value: float, half_width: float, role: str
    ) -> bool:
        """Simple constants always count; an elaborate one only if a chance match is unlikely."""
        if c.cost <= _SIMPLE_COST:
            return True
        chance = expected_chance_matches(
            value, half_width, c.cost, role, max_denominator=self.max_denominator
        )
        return chance <= _CHANCE

    def not_nice(self, fit: Fit) -> int:
        """How many identifiable floats have no plausible exact constant."""
        props, degenerate = self.proposals(fit)
        nice = {t.index for t in props if t.plausible}
        return sum(1 for i in range(fit.model.k) if not degenerate[i] and i not in nice)

    # ---------------------------------------------------------------- steps
    def identifiable_step(
        self, fit: Fit, props: list[_Proposal], degenerate: np.ndarray
    ) -> Fit | None:
        """Accept a substitution, looking one step ahead.

        Options are tried cheapest plausible first. One after which no other float loses
        its simple exact value is taken at once; otherwise up to ``_LOOKAHEAD`` acceptable
        options are compared by the number of floats left without a simple exact value
        (fixing a constant to a wrong nice value pushes a correlated one off its own).
        """
        simple_now = {t.index for t in props if t.plausible}
        n_ident = int(np.sum(~degenerate))
        options = sorted(
            (
                (prop.key + rank * 1e-9, prop.index, c)
                for prop in props
                for rank, c in enumerate(prop.candidates)
            ),
            key=lambda t: t[0],
        )
        accepted: list[tuple[tuple[int, float], Fit, int, Candidate]] = []
        for key, i, c in options:
            new = self.fit(self.substitute(fit, i, c.value))
            if new is None:
                continue
            lost = self.not_nice(new) if new.model.k else 0
            accepted.append(((lost, key), new, i, c))
            before = n_ident - len(simple_now) - (0 if i in simple_now else 1)
            if lost <= before or len(accepted) >= _LOOKAHEAD:
                break
        if not accepted:
            return None
        _, new, i, c = min(accepted, key=lambda t: t[0])
        logger.debug("recognise: %.10g -> %s", fit.params[i], c.value)
        return new

    def degenerate_step(self, fit: Fit, degenerate: np.ndarray) -> Fit | None:
        slots = slots_of(fit.model.template, fit.model.dummies)
        best: tuple[tuple, Fit] | None = None
        order = sorted(np.flatnonzero(degenerate), key=lambda i: -slots[i].depth)
        tried = 0
        for i in order:
            if tried >= 2 * _LOOKAHEAD or (best is not None and best[0][0] == 0):
                break  # deepest first; stop once an option leaves every float nice
            tried += 1
            if slots[i].role == "add":
                identity = sympy.S.Zero
            else:  # keep the sign: 1 or -1 is reachable, the other side of 0 may not be
                identity = sympy.S.NegativeOne if fit.params[i] < 0 else sympy.S.One
            new = self.fit(self.substitute(fit, int(i), identity))
            if new is None:
                continue
            score = (-self.not_nice(new), slots[i].depth, -new.rmse)
            if best is None or score > best[0]:
                best = (score, new)
        if best is None:
            return None
        logger.debug("recognise: degenerate constant fixed -> %s", best[1].expr)
        return best[1]

    def drop_term_step(self, fit: Fit) -> Fit | None:
        expr = fit.expr
        for node in sympy.preorder_traversal(expr):
            if not node.is_Add or not node.free_symbols:
                continue
            total = self._rms(node)
            for term in node.args:
                if term.has(sympy.Float) or not term.free_symbols:
                    continue
                if self._rms(term) > max(3 * self.threshold, 1e-3 * total):
                    continue
                rest = sympy.Add(*[a for a in node.args if a is not term])
                new = self.fit(expr.xreplace({node: rest}))
                if new is not None:
                    logger.debug("recognise: dropped term %s", term)
                    return new
        return None

    def _rms(self, e: sympy.Basic) -> float:
        try:
            v = numpy_function(e, self.symbols)(*self.data.columns)
        except ValueError:
            return np.inf
        v = np.where(np.isfinite(v), v, np.inf)
        return float(np.sqrt(np.average(v**2, weights=self.data.w)))

    def snap_step(self, fit: Fit) -> Fit | None:
        """Fix at once every float within 4 sigma of a very simple constant (0, 1, 2, pi...).

        Correlated constants can each drift within their noise; snapping the simple ones
        jointly first stops a greedy step from pinning one of them to a contrived value.
        """
        var, degenerate = analyse(fit.model.jacobian(self.data, fit.params))
        slots = slots_of(fit.model.template, fit.model.dummies)
        for cap in _SNAP_COSTS:
            subs: dict[int, sympy.Expr] = {}
            for i, p in enumerate(fit.params):
                if degenerate[i] or not var[i] > 0:
                    continue
                spread = _SNAP_Z * np.sqrt(var[i] * self.unit) / abs(p) if p else 0.0
                window = float(np.clip(spread, 0.05, 1.0))
                near = [
                    (c.cost, z2, c.value)
                    for c in nice_candidates(
                        p, slots[i].role, max_denominator=1, window=window
                    )
                    if c.cost <= cap
                    and (z2 := (c.number - p) ** 2 / var[i] / self.unit) <= _SNAP_Z**2
                ]
                if near:
                    subs[i] = min(near, key=lambda t: t[:2])[2]
            if len(subs) < 2:
                continue
            m = fit.model
            values = {d: sympy.Float(float(v)) for d, v in zip(m.dummies, fit.params)}
            values.update({m.dummies[i]: v for i, v in subs.items()})
            new = self.fit(m.template.xreplace(values))
            if new is not None:
                logger.debug(
                    "recognise: snapped %d constants -> %s", len(subs), new.expr
                )
                return new
        return None

    def run(self, fit: Fit) -> Fit:
        snap = True
        while True:
            new = self.snap_step(fit) if snap and fit.model.k > 1 else None
            snap = False
            if new is None and fit.model.k:
                props, degenerate = self.proposals(fit)
                new = self.identifiable_step(fit, props, degenerate)
                if new is None and degenerate.any():
                    new = self.degenerate_step(fit, degenerate)
                    snap = new is not None
            if new is None:
                new = self.drop_term_step(fit)
            if new is None:
                return fit
            fit = new


def recognise_constants(
    expr: sympy.Basic,
    symbols: Sequence[sympy.Symbol],
    X: Any,
    y: Any,
    *,
    tol: float | None = None,
    weights: Any = None,
    atol: float = 1e-6,
    max_denominator: int = 12,
    max_constants: int = MAX_CONSTANTS,
) -> sympy.Basic:
    """Replace float constants by exact ones (0, 1, 3/2, pi/2, sqrt(2), ...) where the data allow.

    Parameters
    ----------
    expr : sympy.Expr
        Formula with float constants (it is refined first; refined input is fine).
    symbols : sequence of sympy.Symbol
        The columns of ``X``, in order.
    X : array-like (n, len(symbols)) or DataFrame
    y : array-like (n,)
    tol : float, optional
        Allowed relative RMSE increase over the refined fit. Default: a chi-square bound for
        fixing all constants under pure noise (about 1 % for 1000 rows and 6 constants).
    weights : array-like (n,), optional
    atol : float
        Floor of the allowed RMSE, relative to ``std(y)``; it decides at zero noise.
    max_denominator : int
        Largest q in rational constants p/q.
    max_constants : int
        With more float constants than this the search (which grows roughly with their
        square) is skipped and the refined expression returned; prune the model first.

    Returns
    -------
    sympy.Expr
        The expression with recognised constants; floats that match nothing stay floats.
    """
    if isinstance(expr, str):
        raise TypeError(
            "expected a sympy expression, got a string; kansci never parses text"
        )
    data = prepare(symbols, X, y, weights)
    ref = fit_model(Model(expr, symbols), data)
    if ref.model.k > max_constants:
        logger.warning(
            "recognise_constants: %d float constants exceed max_constants=%d; returning the "
            "refined formula. Prune the model (fewer edges) to get exact constants.",
            ref.model.k,
            max_constants,
        )
        return ref.expr if ref.info.improved else expr
    rtol = tol if tol is not None else auto_rtol(data.n, ref.model.k)
    threshold = max(ref.rmse * (1.0 + rtol), atol * data.scale)
    logger.debug("recognise: reference rmse %.3g, threshold %.3g", ref.rmse, threshold)
    result = _Search(symbols, data, threshold, ref, max_denominator).run(ref)
    if result is ref and not ref.info.improved:
        return expr
    return result.expr
