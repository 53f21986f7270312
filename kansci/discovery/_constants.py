"""The constants of a chosen formula as a table: value, standard error, 95 % interval, and
for each recognised constant the fitted value it replaced."""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd

from .._timeout import CallTimeout, time_limit
from ..formula import constant_errors
from ._candidates import Candidate, train_rows
from ._noise import ROUNDING

__all__ = ["COLUMNS", "constants_table", "chi2_per_dof", "format_constant"]

log = logging.getLogger("kansci")

COLUMNS = ["name", "value", "std_error", "lower", "upper", "recognised", "fitted", "in_interval"]
#: Profile-likelihood intervals are checked for formulas with at most this many constants ...
PROFILE_MAX = 4
#: ... and for at most this many seconds (then the Jacobian's intervals are reported).
PROFILE_SECONDS = 3.0


def constants_table(chosen: Candidate, problem, *, until: float | None = None) -> pd.DataFrame:
    """One row per constant of ``chosen``.

    Fitted constants (floats left in the formula) come first, ``c0, c1, ...`` in the order
    of :func:`kansci.formula.constant_errors`, with ``recognised`` None.  Recognised ones
    follow, with ``value`` the exact value, ``recognised`` its closed form, ``fitted`` the
    value of the fitted formula it replaced, its standard error and interval from that fit,
    and ``in_interval`` whether the exact value lies inside.  Identities (a term or factor
    removed: 0, +-1) are not listed.
    """
    seconds = PROFILE_SECONDS  # within the run's time limit when ``until`` (a perf_counter time) is given
    if until is not None:
        seconds = max(min(seconds, until - time.perf_counter()), 0.05)
    rows = train_rows(problem)
    w = problem.weights
    weights = None if w is None else w[rows]
    out = []
    small = weights is None and np.array_equal(problem.val, problem.train)
    method = "jackknife" if small else ("auto" if chosen.n_params <= PROFILE_MAX else "wald")
    if chosen.n_params:
        options = dict(weights=weights, absolute_sigma=weights is not None, inflate=True,
                       min_sigma=_floor(problem, weights))
        args = (chosen.expr, problem.symbols, problem.X[rows], problem.y[rows])
        est = []
        try:
            with time_limit(seconds if method != "wald" else max(seconds, 5.0)):
                est = constant_errors(*args, method=method, **options)
        except CallTimeout:  # profiles or jackknife took too long: the Jacobian's intervals
            log.debug("%s intervals timed out for %s; using Wald intervals", method, chosen.expr)
            try:
                est = constant_errors(*args, method="wald", **options)
            except Exception as exc:
                log.debug("constant errors failed for %s: %s", chosen.expr, exc)
        except Exception as exc:  # a formula whose Jacobian cannot be taken: values only
            log.debug("constant errors failed for %s: %s", chosen.expr, exc)
        for e in est:
            out.append(dict(name=f"c{len(out)}", value=e.value, std_error=e.std_error, lower=e.lower,
                            upper=e.upper, recognised=None, fitted=None, in_interval=None))
    by_index = {e.index: e for e in chosen.intervals}
    for i, exact in sorted(chosen.named_constants.items()):
        e = by_index.get(i)
        number = float(exact)
        row = dict(name=f"c{len(out)}", value=number, recognised=str(exact))
        if e is None:
            row.update(std_error=math.nan, lower=math.nan, upper=math.nan, fitted=None, in_interval=None)
        else:
            row.update(std_error=e.std_error, lower=e.lower, upper=e.upper, fitted=e.value,
                       in_interval=bool(e.lower <= number <= e.upper))
        out.append(row)
    return pd.DataFrame(out, columns=COLUMNS)


def _floor(problem, weights) -> float:
    """Rounding-level floor of the residual standard deviation (weighted units)."""
    scale = ROUNDING * problem.y_scale
    if weights is None:
        return scale
    return scale * float(np.sqrt(np.mean(weights)))


def chi2_per_dof(chosen: Candidate, problem) -> float:
    """Chi-square per degree of freedom with error bars (NaN without)."""
    if problem.sigma is None or not math.isfinite(chosen.sse):
        return math.nan
    return float(chosen.sse / max(chosen.n_rows - chosen.n_params, 1))


def format_constant(row) -> str:
    """``c0 = 2.998e+08 ± 3e+04`` (a recognised one: ``c1 = pi/2 (fitted 1.5702 ± 0.0011)``)."""
    if row["recognised"] is not None and isinstance(row["recognised"], str):
        fitted = row["fitted"]
        tail = "" if fitted is None or (isinstance(fitted, float) and math.isnan(fitted)) else \
            f" (fitted {fitted:.6g} \u00b1 {_short(row['std_error'])}" + \
            ("" if row["in_interval"] else ", OUTSIDE its 95% interval") + ")"
        return f"{row['name']} = {row['recognised']}{tail}"
    return f"{row['name']} = {row['value']:.6g} \u00b1 {_short(row['std_error'])}"


def _short(se) -> str:
    se = float(se)
    if not math.isfinite(se):
        return "inf (not determined by the data)"
    return f"{se:.2g}"

