"""The search's machinery: the context strategies work in, the default stages, and running
them within a time budget under a hard deadline (used by ``discover`` and by the searches it
nests, such as a reduced problem in dimensionless groups)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._progress import progress_bar
from .._timeout import CallTimeout, time_limit
from ._candidates import Candidate, finish
from ._problem import Problem
from ._scaling import ScaleMap

__all__ = ["Context", "DiscoveryError", "Strategy", "default_strategies", "final_reserve", "run_stages",
           "run_search", "drop_irrelevant"]

log = logging.getLogger("kansci")


class DiscoveryError(RuntimeError):
    """Discovery could not produce a formula; ``stage`` names where it stopped."""

    def __init__(self, message: str, stage: str | None = None) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass
class Context:
    """What a strategy may use: the problem, the clock, the seed, shared results.

    ``problem`` is what the search stages see (in rescaled units, see ``_scaling``); ``raw``
    is the problem in the data's units, in which every formula is refined, recognised and
    scored (``scale`` maps formulas from the one to the other).  ``hooks`` are applied to the
    finished candidates of every formula (dimensional checks, physical constants).
    """

    problem: Problem
    deadline: float
    seed: int
    candidates: list[Candidate] = field(default_factory=list)
    shared: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    raw: Problem | None = None
    scale: ScaleMap | None = None
    hooks: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.raw is None:
            self.raw = self.problem

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def solved(self) -> bool:
        """Nothing left to find: an exact formula fits to rounding level or, on noisy data,
        one fits to the noise (:meth:`fit_to_noise`)."""
        floor = 1e-9 * self.raw.y_scale
        if any(c.exact and c.rmse <= floor for c in self.candidates):
            return True
        return self.fit_to_noise() is not None

    def fit_to_noise(self) -> Candidate | None:
        """An exact formula (no fitted constant) that fits the data to their noise, or None.

        All of: no formula found fits the held-out rows better by more than 5 % in RMSE; its
        held-out RMSE is within twice the Gamma-test noise of the target where that estimate
        is not zero (with error bars: its chi-square passes at 99.9 %); and its residuals on every row show no structure in
        the inputs, those left out as irrelevant included (:func:`._noise.looks_like_noise`: a smooth misfit or an offset makes
        neighbouring residuals alike).  A later stage could only add formulas that fit no
        better, so the search stops there.  Needs at least ``MIN_RATIO_ROWS`` rows.
        """
        cached = self.shared.get("fit_to_noise")
        if cached is not None and cached[0] == len(self.candidates):
            return cached[1]
        found = _fit_to_noise(self)
        self.shared["fit_to_noise"] = (len(self.candidates), found)
        return found

    def noise_level(self) -> float | None:
        """The noise as far as known now (data units): the best held-out RMSE of a formula or
        of the surrogate."""
        known = [c.rmse for c in self.candidates if np.isfinite(c.rmse)]
        sur = self.shared.get("surrogate")
        if sur is not None and np.isfinite(getattr(sur, "rel_error", np.nan)):
            known.append(float(sur.rel_error) * (float(np.std(self.raw.y[self.raw.val])) or 1.0))
        return min(known) if known else None

    def neighbour_noise(self) -> float:
        """The Gamma-test noise estimate of the target on the training rows (data units;
        :func:`._noise.neighbour_noise`), computed once and shared by the stages."""
        if "neighbour_noise" not in self.shared:
            from ._noise import neighbour_noise

            X, y = self.raw.subset(self.raw.train)
            self.shared["neighbour_noise"] = neighbour_noise(X, y, rng=np.random.default_rng(self.seed))
        return float(self.shared["neighbour_noise"])

    def sub(self, deadline: float) -> Context:
        """The same search with an earlier deadline (one stage's share of the time)."""
        return Context(self.problem, deadline, self.seed, self.candidates, self.shared, self.diagnostics,
                       raw=self.raw, scale=self.scale, hooks=self.hooks)

    def add(self, expr, source: str, *, recognise: bool = True, always: bool = False,
            **notes) -> list[Candidate]:
        """Finish a formula found in the search's units (refine, recognise) and add the results
        (``always``: even when the stage's time is up, for the comparison every answer needs)."""
        if self.scale is not None:
            expr = self.scale.to_raw(expr)
        return self.add_raw(expr, source, recognise=recognise, always=always, **notes)

    def add_raw(self, expr, source: str, *, recognise: bool = True, always: bool = False,
                **notes) -> list[Candidate]:
        """Finish a formula in the data's units (refine, recognise) and add the results."""
        if self.remaining() <= 0 and self.candidates and not always:
            return []
        new = finish(expr, self.raw, source, recognise=recognise, noise=self.noise_level(),
                     max_seconds=min(8.0, max(self.remaining(), 1.0)), **notes)
        for hook in self.hooks:
            new = hook(self, new)
        self.candidates.extend(new)
        return new


def _fit_to_noise(ctx: Context) -> Candidate | None:
    import scipy.stats

    from ._candidates import evaluate_rows
    from ._noise import MIN_RATIO_ROWS, looks_like_noise

    p = ctx.raw
    rows = np.union1d(p.train, p.val)
    finite = [c for c in ctx.candidates if np.isfinite(c.rmse)]
    if len(rows) < MIN_RATIO_ROWS or not finite:
        return None
    best = min(c.rmse for c in finite)
    exact = sorted((c for c in finite if c.exact and c.rmse <= 1.05 * best), key=lambda c: (c.complexity, c.rmse))
    if not exact:
        return None
    # the Gamma test's noise, when it says anything (a negative intercept, from curvature, says nothing)
    sigma = ctx.neighbour_noise() if p.sigma is None else math.nan
    rng = np.random.default_rng(ctx.seed)
    # the residuals must show no structure in the columns left out as irrelevant either
    X = p.X[rows] if p.left_out is None else np.column_stack([p.X[rows], p.left_out[rows]])
    for c in exact[:3]:
        if sigma > 1e-9 * p.y_scale and c.rmse > 2.0 * sigma:
            continue
        r = evaluate_rows(c.expr, p, rows) - p.y[rows]
        if p.sigma is not None:
            r = r / p.sigma[rows]
            if np.sum(r**2) > scipy.stats.chi2.ppf(0.999, len(r)):
                continue
        if np.all(np.isfinite(r)) and looks_like_noise(X, r, rng=rng):
            log.debug("%s fits to the noise: the search stops", c.expr)
            return c
    return None


Strategy = Callable[[Context], None]


def default_strategies() -> list[tuple[str, Strategy, float]]:
    """(name, strategy, share of the remaining time it may use)."""
    from ._parts import parts_strategy
    from ._strategies import (
        baseline_strategy,
        decomposition_strategy,
        kan_strategy,
        monomial_strategy,
        search_strategy,
        terms_strategy,
        univariate_strategy,
    )

    return [
        ("baseline", baseline_strategy, 0.05),
        ("monomial", monomial_strategy, 0.1),
        ("snap", univariate_strategy, 0.2),
        ("terms", terms_strategy, 0.2),
        ("parts", parts_strategy, 0.25),
        ("search", search_strategy, 0.3),
        ("decompose", decomposition_strategy, 0.75),
        ("kan", kan_strategy, 1.0),
    ]


def final_reserve(time_limit: float) -> float:
    """Seconds kept back from the budget to choose and assemble the result (4 %, 0.25-2 s)."""
    return float(np.clip(0.04 * float(time_limit), 0.25, 2.0))


def run_stages(ctx: Context, stages, history: list[dict], *, hard_deadline: float,
                progress: bool) -> None:
    """Run the stages in order, each within its share of the time, all within a hard deadline.

    Stages plan their work against ``ctx.deadline`` and stop themselves; a stage still
    running at ``hard_deadline`` (a search that does not look at the clock, a sympy call that
    hangs) is interrupted (:func:`kansci._timeout.time_limit`, a real-time alarm) and what the
    earlier stages found is kept.  ``ctx.diagnostics`` records the stages ``cut`` at the
    deadline and those ``skipped`` for lack of time.
    """
    bar = progress_bar(stages, enabled=progress, desc="discover", leave=False)
    current: dict = {}
    cut, skipped = [], []
    try:
        with time_limit(max(hard_deadline - time.perf_counter(), 1e-3)):
            for name, strategy, share in bar:
                if ctx.solved():
                    found = ctx.fit_to_noise()
                    if found is not None:
                        ctx.diagnostics["fits_to_noise"] = str(found.expr)
                    break
                if ctx.remaining() <= 0:
                    skipped.append(name)
                    continue
                bar.set_postfix(stage=name)
                current.update(stage=name, t0=time.perf_counter(), n0=len(ctx.candidates))
                stage_deadline = min(ctx.deadline, current["t0"] + share * ctx.remaining())
                sub = ctx.sub(stage_deadline)
                note = ""
                try:
                    strategy(sub)
                except (KeyboardInterrupt, CallTimeout):
                    raise
                except Exception as exc:  # one failing strategy must not lose the others' results
                    note = f"{type(exc).__name__}: {exc}"
                    log.warning("discovery stage %s failed: %s", name, note)
                row = _stage_row(ctx, current, note)
                current.clear()
                history.append(row)
    except CallTimeout:
        name = current.get("stage")
        if name is not None:
            cut.append(name)
            history.append(_stage_row(ctx, current, "cut at the deadline"))
            log.warning("discovery stage %s was cut at the deadline; keeping what was found", name)
        done = {row["stage"] for row in history}
        skipped += [name for name, _, _ in stages if name not in done and name not in skipped]
    except KeyboardInterrupt:
        log.warning("discovery interrupted: choosing among the %d formulas found so far", len(ctx.candidates))
        ctx.diagnostics["interrupted"] = True
        if current:
            history.append(_stage_row(ctx, current, "interrupted"))
    finally:
        bar.close()
    if cut:
        ctx.diagnostics["cut"] = cut
    if skipped:
        ctx.diagnostics["skipped"] = skipped


def _stage_row(ctx: Context, current: dict, note: str) -> dict:
    best = min((c.rmse for c in ctx.candidates), default=np.nan)
    return dict(stage=current["stage"], seconds=time.perf_counter() - current["t0"],
                candidates=len(ctx.candidates) - current["n0"], best_rmse=best, note=note)


def drop_irrelevant(problem: Problem, **options) -> tuple[Problem, list[str]]:
    """The problem without the input columns the target does not depend on."""
    from dataclasses import replace

    from ..formula import VariableMap
    from ._relevance import irrelevant_columns

    Xt, yt = problem.subset(problem.train)
    drop = irrelevant_columns(Xt, yt, **options)
    if not drop:
        return problem, []
    keep = [j for j in range(problem.n_vars) if j not in drop]
    names = [problem.columns[j] for j in drop]
    vm = problem.variables
    sub = VariableMap([vm.columns[j] for j in keep], [vm.names[j] for j in keep], [vm.symbols[j] for j in keep])
    log.info("leaving out input column(s) %s: the target does not depend on them", names)
    notes = [*problem.notes, f"left out input column(s) {names}: the target does not depend on them"]
    left_out = problem.X[:, drop] if problem.left_out is None else np.column_stack([problem.left_out, problem.X[:, drop]])
    new = replace(problem, X=problem.X[:, keep], columns=[problem.columns[j] for j in keep], variables=sub, notes=notes,
                  left_out=left_out)
    return new, names


def run_search(ctx: Context, stages, *, progress: bool = False) -> list[dict]:
    """Run ``stages`` on ``ctx`` until solved or out of time (a nested search: its hard
    deadline is ``ctx.deadline`` plus half a second); returns the stage history."""
    history: list[dict] = []
    run_stages(ctx, stages, history, hard_deadline=ctx.deadline + 0.5, progress=progress)
    return history
