"""One call from a table to a law: run the strategies within a time budget, pick a formula."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm import tqdm

from .._threads import use_threads
from ._candidates import Candidate, finish, loo_rmse
from ._pareto import choose, front_table, pareto_front
from ._problem import Problem, make_problem
from ._result import Discovery
from ._scaling import ScaleMap, rescale

__all__ = ["discover", "Context", "DiscoveryError"]

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
        """An exact formula already fits to rounding level: nothing left to find."""
        floor = 1e-9 * self.raw.y_scale
        return any(c.exact and c.rmse <= floor for c in self.candidates)

    def sub(self, deadline: float) -> Context:
        """The same search with an earlier deadline (one stage's share of the time)."""
        return Context(self.problem, deadline, self.seed, self.candidates, self.shared, self.diagnostics,
                       raw=self.raw, scale=self.scale, hooks=self.hooks)

    def add(self, expr, source: str, *, recognise: bool = True, **notes) -> list[Candidate]:
        """Finish a formula found in the search's units (refine, recognise) and add the results."""
        if self.scale is not None:
            expr = self.scale.to_raw(expr)
        return self.add_raw(expr, source, recognise=recognise, **notes)

    def add_raw(self, expr, source: str, *, recognise: bool = True, **notes) -> list[Candidate]:
        """Finish a formula in the data's units (refine, recognise) and add the results."""
        if self.remaining() <= 0 and self.candidates:
            return []
        new = finish(expr, self.raw, source, recognise=recognise,
                     max_seconds=min(8.0, max(self.remaining(), 1.0)), **notes)
        for hook in self.hooks:
            new = hook(self, new)
        self.candidates.extend(new)
        return new


Strategy = Callable[[Context], None]


def _default_strategies() -> list[tuple[str, Strategy, float]]:
    """(name, strategy, share of the remaining time it may use)."""
    from ._strategies import (
        baseline_strategy,
        decomposition_strategy,
        kan_strategy,
        monomial_strategy,
        terms_strategy,
        univariate_strategy,
    )

    return [
        ("baseline", baseline_strategy, 0.05),
        ("monomial", monomial_strategy, 0.1),
        ("snap", univariate_strategy, 0.2),
        ("terms", terms_strategy, 0.2),
        ("decompose", decomposition_strategy, 0.75),
        ("kan", kan_strategy, 1.0),
    ]


def run_search(ctx: Context, stages, *, progress: bool = False) -> list[dict]:
    """Run the stages on a context until solved or out of time; returns the stage history."""
    history = []
    bar = tqdm(stages, disable=not progress, desc="discover", leave=False)
    try:
        for name, strategy, share in bar:
            if ctx.solved() or ctx.remaining() <= 0:
                break
            bar.set_postfix(stage=name)
            t0 = time.perf_counter()
            n0 = len(ctx.candidates)
            sub = ctx.sub(min(ctx.deadline, t0 + share * ctx.remaining()))
            note = ""
            try:
                strategy(sub)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # one failing strategy must not lose the others' results
                note = f"{type(exc).__name__}: {exc}"
                log.warning("discovery stage %s failed: %s", name, note)
            best = min((c.rmse for c in ctx.candidates), default=np.nan)
            history.append(dict(stage=name, seconds=time.perf_counter() - t0,
                                candidates=len(ctx.candidates) - n0, best_rmse=best, note=note))
    except KeyboardInterrupt:
        log.warning("discovery interrupted: choosing among the %d formulas found so far", len(ctx.candidates))
        ctx.diagnostics["interrupted"] = True
    finally:
        bar.close()
    return history


def discover(
    df: pd.DataFrame,
    target: str,
    *,
    features=None,
    time_limit: float = 60.0,
    seed: int = 0,
    val_fraction: float = 0.2,
    progress: bool = False,
    strategies: list[tuple[str, Strategy, float]] | None = None,
    threads: int | None = 1,
    min_rows: int = 10,
    units=None,
    physical_constants: bool | None = None,
    drop_irrelevant: bool = True,
) -> Discovery:
    """Find a closed-form law ``target = f(other columns)`` in a table.

    Parameters
    ----------
    df : DataFrame of measurements, one row per observation.  Column names may carry their
        unit in brackets (``"v [m/s]"``): the unit is read and the name is ``v``.
    target : the column to explain.
    features : the input columns (default: every other column).
    time_limit : seconds to spend (the search stops its next stage when time is up).
    seed : seeds the split, the KAN initialisations and every random choice.
    val_fraction : share of rows held out to score and choose formulas.
    progress : show a progress bar.
    strategies : override the search stages (advanced).
    threads : torch threads (default 1, the fastest for tables of this size).
    min_rows : fewest usable rows accepted (default 10).
    units : mapping column -> unit (``{"m": "kg", "v": "m/s"}``, read by pint) for every
        input and the target, or the same as text (``"m=kg,v=m/s"``).  With units, kansci
        searches among the dimensionless groups (Buckingham pi) first, rejects dimensionally
        inconsistent formulas and reports the unit of every fitted constant.
    physical_constants : name fitted constants that match products of CODATA constants
        (``hbar/(4*pi*eps_0)``) within their uncertainty; default: on when units are given.
    drop_irrelevant : leave out input columns the target does not depend on (reported in
        ``Discovery.dropped_columns``).

    Returns
    -------
    Discovery

    Raises
    ------
    kansci.InputError
        Bad data or bad units (one line saying what to do).
    """
    from ._units import UnitsSetup, setup_units, snap_rounding

    start = time.perf_counter()
    df, units = UnitsSetup.read_header(df, units)
    renamed = df.attrs.get("kansci_header_units", {}) if isinstance(df, pd.DataFrame) else {}
    if renamed:  # the target and features may be named with or without their units
        target = renamed.get(str(target), target)
        if features is not None:
            features = [renamed.get(str(f), f) for f in features]
    problem = make_problem(df, target, features=features, val_fraction=val_fraction, seed=seed,
                           min_rows=min_rows)
    setup = setup_units(units, problem, list(df.columns)) if units is not None else None
    dropped: list[str] = []
    if drop_irrelevant:
        problem, dropped = _drop_irrelevant(problem)
        if setup is not None and dropped:
            setup = setup.restrict(problem)
    scaled, smap = rescale(problem)
    ctx = Context(problem=scaled, deadline=start + float(time_limit), seed=int(seed), raw=problem, scale=smap)
    ctx.hooks.append(snap_rounding)
    stages = strategies if strategies is not None else _default_strategies()
    if physical_constants is None:
        physical_constants = setup is not None
    if setup is not None:
        setup.install(ctx, physical_constants=physical_constants)
        if strategies is None:
            stages = setup.stages() + stages
    elif physical_constants:
        from ._units import install_physical_constants

        install_physical_constants(ctx, None)
    with use_threads(threads):
        history = run_search(ctx, stages, progress=progress)
    if not ctx.candidates:
        raise DiscoveryError("no candidate formula was found in the time available; allow more time",
                             stage=ctx.diagnostics.get("stage", "fit"))
    error, slack = None, 1.0
    if len(problem.val) == len(problem.train) and np.array_equal(problem.val, problem.train):
        yt = problem.y[problem.train]
        relative = bool((np.all(yt > 0) or np.all(yt < 0)) and np.abs(yt).max() > 10 * np.abs(yt).min())
        loo = {id(c): loo_rmse(c, problem, relative=relative) for c in ctx.candidates}  # too few rows to hold out
        error, slack = (lambda c: loo[id(c)]), 3.0
    chosen = choose(ctx.candidates, len(problem.val), problem.y_scale, error=error, exact_slack=slack)
    front = pareto_front(ctx.candidates)
    if chosen not in front:
        front = sorted([*front, chosen], key=lambda c: c.complexity)
    rows = front_table(front, chosen, problem.y_scale)
    result = Discovery(chosen, rows, problem, model=ctx.shared.get("model"),
                       history=pd.DataFrame(history, columns=["stage", "seconds", "candidates", "best_rmse", "note"]),
                       seconds=time.perf_counter() - start, diagnostics=ctx.diagnostics)
    result.dropped_columns = list(dropped)
    if setup is not None:
        setup.annotate(result, chosen)
    return result


def _drop_irrelevant(problem: Problem, **options) -> tuple[Problem, list[str]]:
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
    new = replace(problem, X=problem.X[:, keep], columns=[problem.columns[j] for j in keep], variables=sub, notes=notes)
    return new, names
