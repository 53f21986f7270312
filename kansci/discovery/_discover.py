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
from ._criterion import choose_by_codelength
from ._noise import estimate_noise, neighbour_noise
from ._pareto import choose, front_table, pareto_front
from ._problem import Problem, make_problem
from ._result import Discovery

__all__ = ["discover", "Context", "DiscoveryError"]

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
    sigma: str | None = None,
) -> Discovery:
    """Find a closed-form law ``target = f(other columns)`` in a table.

    Parameters
    ----------
    df : DataFrame of measurements, one row per observation.
    target : the column to explain.
    features : the input columns (default: every other column).
    time_limit : seconds to spend (the search stops its next stage when time is up).
    seed : seeds the split, the KAN initialisations and every random choice.
    val_fraction : share of rows held out to score and choose formulas.
    progress : show a progress bar.
    strategies : override the search stages (advanced).
    threads : torch threads (default 1, the fastest for tables of this size).
    min_rows : fewest usable rows accepted (default 10).
    sigma : a column of per-row standard uncertainties of the target (error bars); it is not a
        feature.  Fits become weighted least squares (weights ``1/sigma**2``), formulas are
        chosen by chi-square, and the result reports chi-square per degree of freedom.
        Every value must be a finite number > 0 (else :class:`kansci.InputError`).

    Returns
    -------
    Discovery
        Its ``constants`` table gives each constant of the formula with its standard error
        and 95 % interval; ``noise`` the estimated noise level of the target.

    The formula is chosen by minimum description length at the estimated noise level (see
    ``kansci.discovery._criterion``); tables of fewer than 20 rows without error bars, which
    cannot hold rows out, are judged by leave-one-out error instead.
    """
    start = time.perf_counter()
    problem = make_problem(df, target, features=features, val_fraction=val_fraction, seed=seed,
                           min_rows=min_rows, sigma=sigma)
    ctx = Context(problem=problem, deadline=start + float(time_limit), seed=int(seed))
    stages = strategies if strategies is not None else _default_strategies()
    history = []
    bar = tqdm(stages, disable=not progress, desc="discover", leave=False)
    with use_threads(threads):
        try:
            for name, strategy, share in bar:
                if ctx.solved() or ctx.remaining() <= 0:
                    break
                bar.set_postfix(stage=name)
                t0 = time.perf_counter()
                n0 = len(ctx.candidates)
                stage_deadline = min(ctx.deadline, t0 + share * ctx.remaining())
                sub = Context(problem, stage_deadline, ctx.seed, ctx.candidates, ctx.shared, ctx.diagnostics)
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
    if not ctx.candidates:
        raise DiscoveryError("no candidate formula was found in the time available; allow more time",
                             stage=ctx.diagnostics.get("stage", "fit"))
    train = problem.train
    noise = estimate_noise(problem, ctx.candidates, ctx.shared.get("surrogate"),
                           neighbours=neighbour_noise(problem.X[train], problem.y[train],
                                                      rng=np.random.default_rng(seed)))
    small = len(problem.val) == len(problem.train) and np.array_equal(problem.val, problem.train)
    if small and problem.sigma is None:  # too few rows to hold out, no error bars: leave one out
        yt = problem.y[problem.train]
        relative = bool((np.all(yt > 0) or np.all(yt < 0)) and np.abs(yt).max() > 10 * np.abs(yt).min())
        loo = {id(c): loo_rmse(c, problem, relative=relative) for c in ctx.candidates}
        chosen = choose(ctx.candidates, len(problem.val), problem.y_scale, error=lambda c: loo[id(c)],
                        exact_slack=3.0)
    else:
        chosen, _ = choose_by_codelength(ctx.candidates, problem, noise)
    front = pareto_front(ctx.candidates)
    if chosen not in front:
        front = sorted([*front, chosen], key=lambda c: c.complexity)
    rows = front_table(front, chosen, problem.y_scale)
    return Discovery(chosen, rows, problem, model=ctx.shared.get("model"),
                     history=pd.DataFrame(history, columns=["stage", "seconds", "candidates", "best_rmse", "note"]),
                     seconds=time.perf_counter() - start, diagnostics=ctx.diagnostics, noise=noise)
