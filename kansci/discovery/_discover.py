"""One call from a table to a law: run the strategies within a time budget, pick a formula."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from .._arrays import InputError
from .._device import resolve_device
from .._threads import use_threads
from ._candidates import Candidate, fallback_candidates, loo_rmse
from ._criterion import choose_by_codelength
from ._large import REFIT_ROWS, SEARCH_ROWS, rescore_on_all_rows, search_problem
from ._noise import estimate_noise, neighbour_noise
from ._pareto import choose, front_table, pareto_front
from ._problem import Problem, make_problem
from ._multi import Discoveries, discover_many
from ._readable import make_readable
from ._result import Discovery
from ._scaling import rescale
from ._stages import Context, DiscoveryError, Strategy, default_strategies, final_reserve, run_stages
from ._stages import drop_irrelevant as _drop_columns
from ._symmetry import with_symmetry

__all__ = ["discover", "Context", "DiscoveryError", "final_reserve"]

log = logging.getLogger("kansci")


def _discover_targets(df, targets, *, features, time_limit, sigma, units, **options) -> Discoveries:
    """``discover`` for a list of targets: header units read once, each law given the units of
    its own columns (the other targets are not among them)."""
    from ..units._parse import units_mapping
    from ._units import UnitsSetup

    if sigma is not None:
        raise InputError("sigma gives the error bars of one target; discover each target on its own "
                         "with its own sigma column")
    df, units = UnitsSetup.read_header(df, units)
    renamed = df.attrs.get("kansci_header_units", {}) if isinstance(df, pd.DataFrame) else {}
    targets = [renamed.get(str(t), t) for t in targets]
    if features is not None:
        features = [renamed.get(str(f), f) for f in features]
    units = None if units is None else units_mapping(units)

    def one(frame, target, **kw):
        mine = None if units is None else {c: u for c, u in units.items() if c in frame.columns}
        return discover(frame, target, units=mine, **kw)

    return discover_many(df, targets, one, features=features, time_limit=time_limit, **options)


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
    units=None,
    physical_constants: bool | None = None,
    drop_irrelevant: bool = True,
) -> Discovery | Discoveries:
    """Find a closed-form law ``target = f(other columns)`` in a table.

    Parameters
    ----------
    df : DataFrame of measurements, one row per observation.  Column names may carry their
        unit in brackets (``"v [m/s]"``): the unit is read and the name is ``v``.
    target : the column to explain, or a list of columns: one law each (a :class:`Discoveries`),
        the other targets never used as inputs, the time limit shared between them.
    features : the input columns (default: every other column).
    time_limit : seconds to spend, a promise: stages plan their work within it, and one still
        running near the end is interrupted; the best formula found so far is returned (at
        worst the constant or linear baseline), with ``diagnostics["cut"]`` and
        ``["skipped"]`` naming the stages that ran out of time.  The search stops early once
        an exact formula fits to rounding level or, on noisy data (200 rows or more), to the
        noise (``diagnostics["fits_to_noise"]``; see ``Context.fit_to_noise``).
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
    Discovery, or Discoveries for a list of targets
        Its ``constants`` table gives each constant of the formula with its standard error
        and 95 % interval; ``noise`` the estimated noise level of the target.

    Raises
    ------
    kansci.InputError
        Bad data or bad units (one line saying what to do).

    The formula is chosen by minimum description length at the estimated noise level (see
    ``kansci.discovery._criterion``); tables of fewer than 20 rows without error bars, which
    cannot hold rows out, are judged by leave-one-out error instead.
    """
    if not isinstance(target, str):  # several targets: one discovery each (see _multi)
        return _discover_targets(df, target, features=features, time_limit=time_limit, sigma=sigma, units=units,
                                 seed=seed, val_fraction=val_fraction, progress=progress, strategies=strategies,
                                 threads=threads, min_rows=min_rows, device=device, search_rows=search_rows,
                                 refit_rows=refit_rows, physical_constants=physical_constants,
                                 drop_irrelevant=drop_irrelevant)
    from ._units import UnitsSetup, setup_units, snap_rounding

    start = time.perf_counter()
    dev = resolve_device(device)
    if search_rows is not None and int(search_rows) < 2 * min_rows:
        raise ValueError(f"search_rows must be None or at least {2 * min_rows}, got {search_rows}")
    df, units = UnitsSetup.read_header(df, units)
    renamed = df.attrs.get("kansci_header_units", {}) if isinstance(df, pd.DataFrame) else {}
    if renamed:  # the target and features may be named with or without their units
        target = renamed.get(str(target), target)
        if features is not None:
            features = [renamed.get(str(f), f) for f in features]
        if sigma is not None:
            sigma = renamed.get(str(sigma), sigma)
    problem = make_problem(df, target, features=features, val_fraction=val_fraction, seed=seed,
                           min_rows=min_rows, sigma=sigma)
    setup = setup_units(units, problem, list(df.columns)) if units is not None else None
    dropped: list[str] = []
    if drop_irrelevant:
        problem, dropped = _drop_columns(problem)
        if setup is not None and dropped:
            setup = setup.restrict(problem)
    searched = search_problem(problem, search_rows, seed)
    reserve = final_reserve(time_limit)
    if searched is not problem:  # a subsampled search leaves time to score (and refit) on every row
        reserve = max(reserve, 0.1 * float(time_limit))
    scaled, smap = rescale(searched)
    ctx = Context(problem=scaled, deadline=start + float(time_limit) - reserve, seed=int(seed), raw=searched,
                  scale=smap)
    ctx.shared["device"] = dev
    ctx.hooks.append(snap_rounding)
    stages = strategies if strategies is not None else with_symmetry(default_strategies())
    if physical_constants is None:
        physical_constants = setup is not None
    if setup is not None:
        setup.install(ctx, physical_constants=physical_constants)
        if strategies is None:
            stages = setup.stages() + stages
    elif physical_constants:
        from ._units import install_physical_constants

        install_physical_constants(ctx, None)
    history: list[dict] = []
    with use_threads(threads):
        run_stages(ctx, stages, history, hard_deadline=ctx.deadline + min(reserve / 2, 1.0),
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
                           neighbours=ctx.neighbour_noise() if searched is problem else
                           neighbour_noise(problem.X[train], problem.y[train], rng=np.random.default_rng(seed)),
                           surrogate_rows=len(searched.val) if searched is not problem else None)
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
    result = Discovery(chosen, rows, problem, model=ctx.shared.get("model"),
                       history=pd.DataFrame(history, columns=["stage", "seconds", "candidates", "best_rmse", "note",
                                                              "chosen"]),
                       seconds=time.perf_counter() - start, diagnostics=ctx.diagnostics, noise=noise,
                       until=start + float(time_limit))
    result.dropped_columns = list(dropped)
    if setup is not None:
        setup.annotate(result, chosen)
    return result


