"""One call from a table to a law: run the strategies within a time budget, pick a formula."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._device import resolve_device
from .._progress import progress_bar
from .._threads import use_threads
from .._timeout import CallTimeout, time_limit
from ._candidates import Candidate, fallback_candidates, finish, loo_rmse
from ._criterion import choose_by_codelength
from ._large import REFIT_ROWS, SEARCH_ROWS, rescore_on_all_rows, search_problem
from ._noise import estimate_noise, neighbour_noise
from ._pareto import choose, front_table, pareto_front
from ._problem import Problem, make_problem
from ._multi import Discoveries, discover_many
from ._readable import make_readable
from ._result import Discovery

__all__ = ["discover", "Context", "DiscoveryError", "final_reserve"]

log = logging.getLogger("kansci")


class DiscoveryError(RuntimeError):
    """Discovery could not produce a formula; ``stage`` names where it stopped."""

    def __init__(self, message: str, stage: str | None = None) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass
class Context:
    """What a strategy may use: the problem, the clock, the seed, shared results."""

    problem: Problem
    deadline: float
    seed: int
    candidates: list[Candidate] = field(default_factory=list)
    shared: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def solved(self) -> bool:
        """An exact formula already fits to rounding level: nothing left to find."""
        floor = 1e-9 * self.problem.y_scale
        return any(c.exact and c.rmse <= floor for c in self.candidates)

    def noise_level(self) -> float | None:
        """The noise as far as known now: the best held-out RMSE of a formula or the surrogate."""
        known = [c.rmse for c in self.candidates if np.isfinite(c.rmse)]
        sur = self.shared.get("surrogate")
        if sur is not None and np.isfinite(getattr(sur, "rel_error", np.nan)):
            known.append(float(sur.rel_error) * (float(np.std(self.problem.y[self.problem.val])) or 1.0))
        return min(known) if known else None

    def add(self, expr, source: str, *, recognise: bool = True, always: bool = False,
            **notes) -> list[Candidate]:
        """Finish a raw formula (refine, recognise) and add the results (``always``: even when
        the stage's time is up, for the comparison every answer needs)."""
        if self.remaining() <= 0 and self.candidates and not always:
            return []
        new = finish(expr, self.problem, source, recognise=recognise, noise=self.noise_level(),
                     max_seconds=min(8.0, max(self.remaining(), 1.0)), **notes)
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
        search_strategy,
        terms_strategy,
        univariate_strategy,
    )

    return [
        ("baseline", baseline_strategy, 0.05),
        ("monomial", monomial_strategy, 0.1),
        ("snap", univariate_strategy, 0.2),
        ("terms", terms_strategy, 0.2),
        ("search", search_strategy, 0.3),
        ("decompose", decomposition_strategy, 0.75),
        ("kan", kan_strategy, 1.0),
    ]


def final_reserve(time_limit: float) -> float:
    """Seconds kept back from the budget to choose and assemble the result (4 %, 0.25-2 s)."""
    return float(np.clip(0.04 * float(time_limit), 0.25, 2.0))


def _run_stages(ctx: Context, stages, history: list[dict], *, hard_deadline: float,
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
                    break
                if ctx.remaining() <= 0:
                    skipped.append(name)
                    continue
                bar.set_postfix(stage=name)
                current.update(stage=name, t0=time.perf_counter(), n0=len(ctx.candidates))
                stage_deadline = min(ctx.deadline, current["t0"] + share * ctx.remaining())
                sub = Context(ctx.problem, stage_deadline, ctx.seed, ctx.candidates, ctx.shared, ctx.diagnostics)
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


def _loo_errors(candidates: list[Candidate], problem: Problem, *, until: float) -> dict:
    """Leave-one-out errors of the candidates, best-fitting first, as far as time allows."""
    yt = problem.y[problem.train]
    relative = bool((np.all(yt > 0) or np.all(yt < 0)) and np.abs(yt).max() > 10 * np.abs(yt).min())
    out = {id(c): float("inf") for c in candidates}
    for c in sorted(candidates, key=lambda c: c.rmse):
        left = until - time.perf_counter()
        if left <= 0:
            break
        out[id(c)] = loo_rmse(c, problem, max_seconds=min(2.0, left), relative=relative)
    return out


def discover(
    df: pd.DataFrame,
    target: str | list[str],
    *,
    features=None,
    time_limit: float = 60.0,
    seed: int = 0,
    val_fraction: float = 0.2,
    progress: bool = False,
    strategies: list[tuple[str, Strategy, float]] | None = None,
    threads: int | None = 1,
    min_rows: int = 10,
    device=None,
    search_rows: int | None = SEARCH_ROWS,
    refit_rows: int = REFIT_ROWS,
    sigma: str | None = None,
) -> Discovery | Discoveries:
    """Find a closed-form law ``target = f(other columns)`` in a table.

    Parameters
    ----------
    df : DataFrame of measurements, one row per observation.
    target : the column to explain, or a list of columns: one law each (a :class:`Discoveries`),
        the other targets never used as inputs, the time limit shared between them.
    features : the input columns (default: every other column).
    time_limit : seconds to spend, a promise: stages plan their work within it, and one still
        running near the end is interrupted; the best formula found so far is returned (at
        worst the constant or linear baseline), with ``diagnostics["cut"]`` and
        ``["skipped"]`` naming the stages that ran out of time.
    seed : seeds the split, the KAN initialisations and every random choice.
    val_fraction : share of rows held out to score and choose formulas.
    progress : show a progress bar (only when stderr is a terminal).
    strategies : override the search stages (advanced).
    threads : torch threads (default 1, the fastest for tables of this size).
    min_rows : fewest usable rows accepted (default 10).
    device : where the KANs (surrogate, KAN pipeline) train: None or ``"cpu"`` (default),
        ``"cuda"``, ``"cuda:N"``, ``"auto"``.  Raises :class:`kansci.InputError` at once when
        CUDA is asked for and not available.
    search_rows : the search stages see at most this many training rows (a uniform random
        subsample fixed by ``seed``; None: all).  On larger tables every formula found is then
        scored on all held-out rows, the constants of the best refitted on up to
        ``refit_rows`` training rows first (see ``kansci.discovery._large``).
    refit_rows : training rows used by that final refit of constants.
    sigma : a column of per-row standard uncertainties of the target (error bars); it is not a
        feature.  Fits become weighted least squares (weights ``1/sigma**2``), formulas are
        chosen by chi-square, and the result reports chi-square per degree of freedom.
        Every value must be a finite number > 0 (else :class:`kansci.InputError`).

    Returns
    -------
    Discovery, or Discoveries for a list of targets
        Its ``constants`` table gives each constant of the formula with its standard error
        and 95 % interval; ``noise`` the estimated noise level of the target.

    The formula is chosen by minimum description length at the estimated noise level (see
    ``kansci.discovery._criterion``); tables of fewer than 20 rows without error bars, which
    cannot hold rows out, are judged by leave-one-out error instead.
    """
    if not isinstance(target, str):  # several targets: one discovery each (see _multi)
        if sigma is not None:
            raise ValueError("sigma gives the error bars of one target; discover each target on its own "
                             "with its own sigma column")
        return discover_many(df, target, discover, features=features, time_limit=time_limit, seed=seed,
                             val_fraction=val_fraction, progress=progress, strategies=strategies,
                             threads=threads, min_rows=min_rows, device=device, search_rows=search_rows,
                             refit_rows=refit_rows)
    start = time.perf_counter()
    dev = resolve_device(device)
    if search_rows is not None and int(search_rows) < 2 * min_rows:
        raise ValueError(f"search_rows must be None or at least {2 * min_rows}, got {search_rows}")
    problem = make_problem(df, target, features=features, val_fraction=val_fraction, seed=seed,
                           min_rows=min_rows, sigma=sigma)
    searched = search_problem(problem, search_rows, seed)
    reserve = final_reserve(time_limit)
    if searched is not problem:  # a subsampled search leaves time to score (and refit) on every row
        reserve = max(reserve, 0.1 * float(time_limit))
    ctx = Context(problem=searched, deadline=start + float(time_limit) - reserve, seed=int(seed))
    ctx.shared["device"] = dev
    stages = strategies if strategies is not None else _default_strategies()
    history: list[dict] = []
    with use_threads(threads):
        _run_stages(ctx, stages, history, hard_deadline=ctx.deadline + min(reserve / 2, 1.0),
                    progress=progress)
    if not ctx.candidates:  # cut before any stage finished a formula: the baseline, unrefined
        ctx.candidates.extend(fallback_candidates(searched))
    if searched is not problem and ctx.candidates:
        t0 = time.perf_counter()
        ctx.candidates[:] = rescore_on_all_rows(ctx.candidates, problem, refit_rows=refit_rows, seed=seed,
                                                deadline=start + float(time_limit) - final_reserve(time_limit) / 2)
        ctx.diagnostics["search_rows"] = len(searched.train)
        history.append(dict(stage="all rows", seconds=time.perf_counter() - t0, candidates=len(ctx.candidates),
                            best_rmse=min((c.rmse for c in ctx.candidates), default=np.nan), note=""))
        problem.notes.append(f"search on {len(searched.train)} of {len(problem.train)} training rows; formulas "
                             f"scored on all {len(problem.val)} held-out rows")
    if not ctx.candidates:
        raise DiscoveryError("no candidate formula could be evaluated on this table",
                             stage=ctx.diagnostics.get("stage", "fit"))
    train = problem.train
    noise = estimate_noise(problem, ctx.candidates, ctx.shared.get("surrogate"),
                           neighbours=neighbour_noise(problem.X[train], problem.y[train],
                                                      rng=np.random.default_rng(seed)))
    make_readable(ctx.candidates, problem)  # the forms shown and compared: simplest equivalent ones
    small = len(problem.val) == len(problem.train) and np.array_equal(problem.val, problem.train)
    if small and problem.sigma is None:  # too few rows to hold out, no error bars: leave one out
        loo = _loo_errors(ctx.candidates, problem, until=start + float(time_limit) - reserve / 4)
        chosen = choose(ctx.candidates, len(problem.val), problem.y_scale, error=lambda c: loo[id(c)],
                        exact_slack=3.0)
    else:
        chosen, _ = choose_by_codelength(ctx.candidates, problem, noise)
    front = pareto_front(ctx.candidates)
    if chosen not in front:
        front = sorted([*front, chosen], key=lambda c: c.complexity)
    rows = front_table(front, chosen, problem.y_scale)
    for h in history:  # the stage whose formula was chosen
        h["chosen"] = h["stage"] == chosen.source.split("+")[0]
    return Discovery(chosen, rows, problem, model=ctx.shared.get("model"),
                     history=pd.DataFrame(history, columns=["stage", "seconds", "candidates", "best_rmse", "note",
                                                            "chosen"]),
                     seconds=time.perf_counter() - start, diagnostics=ctx.diagnostics, noise=noise,
                     until=start + float(time_limit))
