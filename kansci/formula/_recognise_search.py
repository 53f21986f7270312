"""The greedy search behind :func:`kansci.formula.recognise_constants` (see its module)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats
import sympy

from .._evaluate import numpy_function
from ._candidates import Candidate, expected_chance_matches, nice_candidates
from ._codelength import fisher_diagonal, parameter_codelength, structure_codelength
from ._data import FitData
from ._evidence import analyse
from ._evidence import slots as slots_of
from ._recognise_ties import tie_step
from ._refine import Fit, Model, fit_model
from ._uncertainty import ConstantEstimate

__all__ = ["Search", "State"]

logger = logging.getLogger("kansci")

_IDENTITIES = (sympy.S.Zero, sympy.S.One, sympy.S.NegativeOne)
_TRIES_PER_FLOAT = 3
_LOOKAHEAD = 3
_SNAP_COSTS = (1.5, 0.0)  # joint snapping: integers and pi first, then only 0 and +-1
_SNAP_Z = 4.0
_SIMPLE_COST = (
    4.0  # "simple" constants: 3/2, 2*pi, pi/2, sqrt(2)/2 yes; 17*sqrt(2)/8 no
)
_CHANCE = 0.1  # an elaborate constant needs fewer expected chance matches than this
#: ... and a simple one (2, pi, 1/2) fewer than this within its 95 % interval: where a
#: handful of nice constants fit the interval, naming one of them is not a measurement
_CHANCE_SIMPLE = 0.5
#: ... counting the nice constants up to this much costlier as its rivals (3 for pi)
_RIVAL_COST = 0.25
#: The degenerate step looks ahead to the end only for formulas with at most this many constants.
_LOOKAHEAD_MAX_CONSTANTS = 8


@dataclass(frozen=True)
class State:
    """A fit on the way, with the exact values given to the reference's constants so far."""

    fit: Fit
    assigned: dict  # Dummy -> exact value
    conditional: dict = None  # Dummy -> ConstantEstimate, for constants degenerate in the reference


def _identities_only(state: State) -> bool:
    """Whether only identities (0, +-1: a term or factor the data do not need) are fixed so far:
    the constants left are those of a smaller structure, and their intervals are theirs in it."""
    return bool(state.assigned) and all(v in _IDENTITIES for v in state.assigned.values())


@dataclass(frozen=True)
class _Proposal:
    key: float
    index: int
    candidates: list[Candidate]
    plausible: bool


class Search:
    def __init__(
        self,
        symbols: Sequence[sympy.Symbol],
        data: FitData,
        threshold: float,
        ref: Fit,
        max_denominator: int,
        s2: float,
        bounds: dict,
    ) -> None:
        self.symbols = tuple(symbols)
        self.data = data
        self.threshold = threshold
        self.max_denominator = max_denominator
        self.weight = float(np.sum(data.w))
        self.s2 = max(float(s2), 1e-300)  # residual variance per row, weighted units
        self.bounds = bounds  # reference Dummy -> (lower, upper) of its 95 % interval
        self.exploring = False  # inside a look-ahead run of degenerate_step
        self.max_recognised: int | None = None
        self.t = float(scipy.stats.t.ppf(0.975, max(data.n - ref.model.k, 1)))
        # one noise variance in SSE units: the budget is its chi-square(k) 99.9 % quantile
        quantile = float(scipy.stats.chi2.ppf(0.999, max(ref.model.k, 1)))
        self.unit = max(self.budget(ref), 1e-300) / quantile

    # ---------------------------------------------------------------- helpers
    def edit(self, state: State, subs: dict[int, sympy.Expr]) -> State | None:
        """Give constants exact values and refit the rest; None unless the error stays
        within the threshold and every value lies in its constant's interval."""
        m, fit = state.fit.model, state.fit
        conditional = {}
        var = degenerate = None
        # once only identities are fixed (a factor or term the data do not need: a smaller
        # structure), a constant's interval is its interval in that structure
        identities_only = _identities_only(state)
        for i, value in subs.items():
            lo, hi = self.bounds.get(m.dummies[i], (-np.inf, np.inf))
            finite = np.isfinite(lo) and np.isfinite(hi)
            if not finite or (identities_only and value not in _IDENTITIES):
                # its interval with the others as they are now: for a constant degenerate in
                # the reference, or in the structure left once identities are fixed
                if var is None:
                    var, degenerate = analyse(m.jacobian(self.data, fit.params))
                if degenerate[i]:  # still a direction the data cannot see: any value will do
                    if not finite:
                        continue
                else:
                    se = float(np.sqrt(max(var[i], 0.0) * self.s2))
                    now = ConstantEstimate(-1, float(fit.params[i]), se, fit.params[i] - self.t * se,
                                           fit.params[i] + self.t * se)
                    lo, hi = now.lower, now.upper  # the interval in the structure it ends in
                    conditional[m.dummies[i]] = now
            if not lo <= float(value) <= hi:
                return None
        template = m.template.xreplace({m.dummies[i]: v for i, v in subs.items()})
        keep = [j for j in range(m.k) if j not in subs]
        return self.refit(state, template, [m.dummies[j] for j in keep], [fit.params[j] for j in keep],
                          {m.dummies[i]: v for i, v in subs.items()}, conditional)

    def current_half_width(self, fit: Fit, i: int, var: np.ndarray) -> float:
        """Half-width of the 95 % interval of constant i with the others refitted now."""
        return self.t * float(np.sqrt(max(var[i], 0.0) * self.s2))

    def refit(self, state: State, template, dummies, values, assigned, conditional=None) -> State | None:
        try:
            model = Model.from_template(template, dummies, values, self.symbols)
            # trial refits start next to the optimum: a short leash is enough
            fit = fit_model(model, self.data, max_nfev=20 + 2 * model.k)
        except ValueError as exc:  # e.g. the substitution produced a complex constant
            logger.debug("recognise: cannot fit %s: %s", template, exc)
            return None
        if not fit.rmse <= self.threshold * (1 + 1e-9):
            return None
        return State(fit, {**state.assigned, **assigned}, {**(state.conditional or {}), **(conditional or {})})

    def codelength(self, fit: Fit) -> float:
        """Description length in nats at the search's noise level (see ``_codelength``)."""
        sse = fit.rmse**2 * self.weight
        structure, constants = structure_codelength(fit.model.template)
        params = 0.0
        if fit.model.k:
            J = fit.model.jacobian(self.data, fit.params)
            params = parameter_codelength(fit.params, fisher_diagonal(J, np.sqrt(self.s2)))
        return sse / (2 * self.s2) + structure + constants + params

    def budget(self, fit: Fit) -> float:
        return max(self.weight * (self.threshold**2 - fit.rmse**2), 0.0)

    def proposals(self, fit: Fit, identities_only: bool = False) -> tuple[list[_Proposal], np.ndarray]:
        """What to try for each identifiable float, best first; and the degeneracy flags
        (``identities_only``: only identities are fixed, see :func:`_identities_only`)."""
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
                and self._significant(cands[j], p, half_width, slots[i].role, fit.model.dummies[i],
                                      self.current_half_width(fit, i, var), identities_only)
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
                        cands[j], p, float(np.sqrt(wide * var[i])), slots[i].role,
                        fit.model.dummies[i], self.current_half_width(fit, i, var), identities_only,
                    )
                ]
                if ok:
                    j = min(ok, key=lambda j: pred[j])
                    out.append(_Proposal(cands[j].cost + 1.0, i, [cands[j]], False))
        out.sort(key=lambda t: t.key)
        return out, degenerate

    def _significant(
        self, c: Candidate, value: float, half_width: float, role: str, dummy=None,
        current: float = np.inf, identities_only: bool = False,
    ) -> bool:
        """A match counts only if a chance match is unlikely (the look-elsewhere effect).

        Identities (0, +-1) always count (they remove a term or a factor; the interval and
        the description length decide); a simple constant needs fewer than ``_CHANCE_SIMPLE``
        expected chance matches of constants at most ``_RIVAL_COST`` costlier within its 95 %
        interval, an elaborate one fewer than ``_CHANCE`` of its own cost within the wider of
        that interval and ``half_width``.
        """
        if c.cost <= 0:
            return True
        lo, hi = self.bounds.get(dummy, (-np.inf, np.inf))
        own = 0.5 * (hi - lo) if np.isfinite(hi - lo) else current  # degenerate in the reference
        if identities_only:  # its interval in the structure with the identities fixed
            own = min(own, current)
        if c.cost <= _SIMPLE_COST:  # competitors: constants up to one unit costlier
            width, bound, cost = own, _CHANCE_SIMPLE, c.cost + _RIVAL_COST
        else:
            width, bound, cost = max(half_width, own), _CHANCE, c.cost
        if not np.isfinite(width):
            return False
        chance = expected_chance_matches(
            value, width, cost, role, max_denominator=self.max_denominator
        )
        return chance <= bound

    def not_nice(self, fit: Fit) -> int:
        """How many identifiable floats have no plausible exact constant."""
        props, degenerate = self.proposals(fit)
        nice = {t.index for t in props if t.plausible}
        return sum(1 for i in range(fit.model.k) if not degenerate[i] and i not in nice)

    # ---------------------------------------------------------------- steps
    def identifiable_step(
        self, state: State, props: list[_Proposal], degenerate: np.ndarray
    ) -> State | None:
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
        fit = state.fit
        accepted: list[tuple[tuple[int, float], State, int, Candidate]] = []
        for key, i, c in options:
            new = self.edit(state, {i: c.value})
            if new is None:
                continue
            lost = self.not_nice(new.fit) if new.fit.model.k else 0
            accepted.append(((lost, key), new, i, c))
            before = n_ident - len(simple_now) - (0 if i in simple_now else 1)
            if lost <= before or len(accepted) >= _LOOKAHEAD:
                break
        if not accepted:
            return None
        _, new, i, c = min(accepted, key=lambda t: t[0])
        logger.debug("recognise: %.10g -> %s", fit.params[i], c.value)
        return new

    def degenerate_step(self, state: State, degenerate: np.ndarray) -> State | None:
        """Set one constant of a direction the data cannot see to its identity.

        Deepest first, the option that leaves the other floats nicest wins; when several
        leave them all nice, the greedy search is carried to its end from each (at the top
        level only) and the one of least description length wins: which of ``a/(b*x + c)``'s
        three constants becomes 1 decides whether the rest reads ``20*pi/3`` or ``3/(20*pi)``.
        """
        fit = state.fit
        slots = slots_of(fit.model.template, fit.model.dummies)
        scored: list[tuple[tuple, State]] = []
        order = sorted(np.flatnonzero(degenerate), key=lambda i: -slots[i].depth)
        tried = 0
        for i in order:
            nice_found = sum(1 for sc, _ in scored if sc[0] == 0)
            if tried >= 2 * _LOOKAHEAD or nice_found >= (_LOOKAHEAD if not self.exploring else 1):
                break  # deepest first; stop once enough options leave every float nice
            tried += 1
            if slots[i].role == "add":
                identity = sympy.S.Zero
            else:  # keep the sign: 1 or -1 is reachable, the other side of 0 may not be
                identity = sympy.S.NegativeOne if fit.params[i] < 0 else sympy.S.One
            new = self.edit(state, {int(i): identity})
            if new is None:
                continue
            scored.append(((-self.not_nice(new.fit), slots[i].depth, -new.fit.rmse), new))
        if not scored:
            return None
        top = max(sc[0] for sc, _ in scored)
        ties = [st for sc, st in scored if sc[0] == top]
        best = (None, max(scored, key=lambda t: t[0])[1])
        if len(ties) > 1 and not self.exploring and fit.model.k <= _LOOKAHEAD_MAX_CONSTANTS:
            self.exploring = True
            try:
                ends = [(self.codelength(self.run(st, self.max_recognised).fit), k) for k, st in enumerate(ties)]
            finally:
                self.exploring = False
            best = (None, ties[min(ends)[1]])
        logger.debug("recognise: degenerate constant fixed -> %s", best[1].fit.expr)
        return best[1]

    def drop_term_step(self, state: State) -> State | None:
        fit = state.fit
        m = fit.model
        params = set(m.dummies)
        values = {d: sympy.Float(float(v)) for d, v in zip(m.dummies, fit.params)}
        for node in sympy.preorder_traversal(m.template):
            if not node.is_Add or not (node.free_symbols - params):
                continue
            total = self._rms(node.xreplace(values))
            for term in node.args:
                if term.has(*params) or term.has(sympy.Float) or not term.free_symbols:
                    continue
                if self._rms(term) > max(3 * self.threshold, 1e-3 * total):
                    continue
                rest = sympy.Add(*[a for a in node.args if a is not term])
                template = m.template.xreplace({node: rest})
                new = self.refit(state, template, m.dummies, fit.params, {})
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

    def snap_step(self, state: State, costs: Sequence[float] = _SNAP_COSTS) -> State | None:
        """Fix at once every float within 4 sigma of a very simple constant (0, 1, 2, pi...).

        Correlated constants can each drift within their noise; snapping the simple ones
        jointly first stops a greedy step from pinning one of them to a contrived value.
        """
        fit = state.fit
        var, degenerate = analyse(fit.model.jacobian(self.data, fit.params))
        slots = slots_of(fit.model.template, fit.model.dummies)
        for cap in costs:
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
                    and self._significant(c, p, 0.0, slots[i].role, fit.model.dummies[i],
                                          self.current_half_width(fit, i, var))
                ]
                if near:
                    subs[i] = min(near, key=lambda t: t[:2])[2]
            new = None
            while len(subs) >= 2 and new is None:
                worst, held = self._conditional_misfit(state, subs)
                if worst is not None:  # outside its interval once the others hold their values
                    del subs[worst]
                    continue
                new = self.edit(state, subs)
                if new is not None:
                    new = State(new.fit, new.assigned, {**(new.conditional or {}), **held})
                    logger.debug("recognise: snapped %d constants -> %s", len(subs), new.fit.expr)
                    return new
                break
        return None

    def _conditional_misfit(self, state: State, subs: dict[int, sympy.Expr]) -> tuple[int | None, dict]:
        """Check a joint snap constant by constant: each value must lie inside the 95 %
        interval of its constant refitted with the other constants held at their snapped values
        (the interval a reader of the final formula would compute).  Correlated constants each
        pass their marginal intervals while the pair does not: ``a*u + b*v`` with ``a -> 1``
        leaves ``b`` an interval half as wide, which may exclude the value ``b`` was snapped to.

        Returns the index of the value furthest outside (None when all lie inside) and, for
        each, its conditional estimate (Dummy -> ConstantEstimate) to report.
        """
        m = state.fit.model
        worst, worst_z, held = None, 1.0, {}
        for i, value in subs.items():
            rest = {j: v for j, v in subs.items() if j != i}
            template = m.template.xreplace({m.dummies[j]: v for j, v in rest.items()})
            keep = [j for j in range(m.k) if j not in rest]
            trial = self.refit(state, template, [m.dummies[j] for j in keep],
                               [state.fit.params[j] for j in keep], {})
            if trial is None or m.dummies[i] not in trial.fit.model.dummies:
                continue  # the others alone leave the threshold (edit() decides), or remove it
            at = trial.fit.model.dummies.index(m.dummies[i])
            var, degenerate = analyse(trial.fit.model.jacobian(self.data, trial.fit.params))
            if degenerate[at] or not var[at] > 0:
                continue
            p = float(trial.fit.params[at])
            se = float(np.sqrt(var[at] * self.s2))
            held[m.dummies[i]] = ConstantEstimate(-1, p, se, p - self.t * se, p + self.t * se)
            z = abs(float(value) - p) / (self.t * se)
            if z > worst_z:
                worst, worst_z = i, z
        return worst, held

    def meaningful(self, fit: Fit) -> int:
        """Constants left that the data pin down (degenerate directions excluded)."""
        if not fit.model.k:
            return 0
        _, degenerate = analyse(fit.model.jacobian(self.data, fit.params))
        return int(np.sum(~degenerate))

    def run(self, state: State, max_recognised: int | None) -> State:
        """Greedy steps; returns the state of least description length on the way."""
        self.max_recognised = max_recognised
        best, best_len = state, self.codelength(state.fit)
        # identities first: a term or factor the data do not need
        new = self.snap_step(state, costs=(0.0,)) if state.fit.model.k > 1 else None
        if new is not None:
            state = new
            length = self.codelength(state.fit)
            if length < best_len:
                best, best_len = state, length
        snap = True
        while True:
            if max_recognised is not None and self.meaningful(state.fit) > max_recognised:
                new = self.structural_step(state)
            else:
                new = self.snap_step(state) if snap and state.fit.model.k > 1 else None
                snap = False
                if new is None and state.fit.model.k:
                    props, degenerate = self.proposals(state.fit, _identities_only(state))
                    new = self.identifiable_step(state, props, degenerate)
                    if new is None and degenerate.any():
                        new = self.degenerate_step(state, degenerate)
                        snap = new is not None
                if new is None and not self.exploring and max_recognised != 0:
                    new = tie_step(self, state)  # an equality is a claim, as an exact value is
                    snap = new is not None
            if new is None:
                new = self.drop_term_step(state)
            if new is None:
                return best
            state = new
            length = self.codelength(state.fit)
            if length < best_len:
                best, best_len = state, length

    def structural_step(self, state: State) -> State | None:
        """For a mimic: only identities (0, +-1) and degenerate directions, never a value."""
        fit = state.fit
        if not fit.model.k:
            return None
        _, degenerate = analyse(fit.model.jacobian(self.data, fit.params))
        if degenerate.any():
            new = self.degenerate_step(state, degenerate)
            if new is not None:
                return new
        var, _ = analyse(fit.model.jacobian(self.data, fit.params))
        order = sorted(range(fit.model.k), key=lambda i: -abs(fit.params[i]) / np.sqrt(max(var[i], 1e-300)))
        for i in order[::-1]:  # the least determined first
            p = fit.params[i]
            target = min(_IDENTITIES, key=lambda c: abs(float(c) - p))
            if abs(float(target) - p) ** 2 > _SNAP_Z**2 * var[i] * self.unit:
                continue
            new = self.edit(state, {i: target})
            if new is not None:
                return new
        return None


