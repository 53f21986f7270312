"""Choosing the law: least description length at the target's noise level.

Each candidate is scored by the minimum-description-length criterion of Bartlett, Desmond &
Ferreira, "Exhaustive Symbolic Regression", IEEE Trans. Evol. Comput. (2023) (eq. 7; see
``kansci.formula._codelength``)::

    L = chi2 / 2 + k log n + sum_j L(c_j) + sum_i max(log|theta_i| + log(I_ii)/2 - log(3)/2, 0)

with a Gaussian likelihood at the estimated noise ``sigma`` (``chi2 = SSE / sigma**2`` over all
rows; with error bars ``chi2 = sum ((f - y) / sigma_i)**2``), ``k`` nodes of ``n`` distinct
symbols, exact constants ``c_j`` coded by their digits and unit, and fitted parameters coded
at the precision the data give them (Fisher information ``I_ii`` at that noise).  A simpler
law within the noise beats a more complex mimic because its misfit costs fewer nats than the
mimic's extra nodes and constants; at zero noise the noise is floored at rounding level, so
an exact formula that fits to rounding level wins over every fitted one.

Recognised constants are claims about the data: a formula carrying them must fit to the
noise (a chi-square goodness-of-fit test at 99.9 % against the noise estimate, an F test when
that estimate rests on fewer held-out rows than the candidates are scored on; the estimate includes
the KAN surrogate's held-out error); otherwise its fitted parent stands in for it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ..formula._codelength import fisher_diagonal, parameter_codelength, structure_codelength
from ._candidates import Candidate, train_rows
from ._noise import NoiseEstimate

__all__ = ["choose_by_codelength", "codelength", "fits_the_noise", "Scored"]

log = logging.getLogger("kansci")

#: Rows of the Jacobian used for the Fisher information (scaled up to all rows).
FISHER_ROWS = 400


@dataclass
class Scored:
    """A candidate and its description length in nats, by part."""

    candidate: Candidate
    fit: float
    structure: float
    constants: float
    parameters: float = math.nan

    @property
    def lower_bound(self) -> float:
        return self.fit + self.structure + self.constants

    @property
    def total(self) -> float:
        return self.lower_bound + (0.0 if math.isnan(self.parameters) else self.parameters)


def _variance(problem, noise: NoiseEstimate) -> float:
    """The variance the weighted SSE is divided by (1 with error bars: weights are 1/sigma_i**2)."""
    if problem.sigma is not None:
        return 1.0
    return max(float(noise.sigma), 1e-300) ** 2


def _parameter_cost(c: Candidate, problem, variance: float) -> float:
    from ..formula._refine import Model

    if c.n_params == 0:
        return 0.0
    try:
        model = Model(c.expr, problem.symbols)
        rows = train_rows(problem, FISHER_ROWS)
        from ..formula._data import prepare

        w = problem.weights
        data = prepare(problem.symbols, problem.X[rows], problem.y[rows],
                       None if w is None else w[rows])
        J = model.jacobian(data, model.p0)
    except Exception as exc:  # a formula the Jacobian cannot be taken of: charge it fully
        log.debug("fisher information failed for %s: %s", c.expr, exc)
        return math.inf
    info = fisher_diagonal(J, math.sqrt(variance), scale=c.n_rows / max(data.n, 1))
    return parameter_codelength(model.p0, info)


def codelength(c: Candidate, problem, noise: NoiseEstimate, *, parameters: bool = True) -> Scored:
    """The description length of candidate ``c`` (see the module's docstring)."""
    variance = _variance(problem, noise)
    structure, constants = structure_codelength(c.expr)
    s = Scored(c, 0.5 * c.sse / variance, structure, constants)
    if parameters:
        s.parameters = _parameter_cost(c, problem, variance)
    return s


def fits_the_noise(c: Candidate, problem, noise: NoiseEstimate, level: float = 0.999) -> bool:
    """Whether ``c``'s residuals are consistent with the noise (chi-square test at ``level``).

    With error bars: ``chi2 = sum((f - y)/sigma_i)**2`` against its quantile at ``n - p``
    degrees of freedom; else the held-out mean squared error against ``sigma**2`` (the held-out
    rows are independent of the fit).
    """
    if not math.isfinite(c.sse):
        return False
    if problem.sigma is not None:
        dof = max(c.n_rows - c.n_params, 1)
        return c.sse <= float(scipy.stats.chi2.ppf(level, dof))
    n_val = len(c.residuals) if c.residuals is not None else 0
    if n_val == 0:
        return True
    sigma2 = max(float(noise.sigma), 1e-300) ** 2
    chi2 = float(np.sum(c.residuals**2)) / sigma2
    rows = getattr(noise, "rows", None)
    if rows and rows < n_val:  # the noise itself estimated on fewer rows: an F test
        return chi2 / n_val <= float(scipy.stats.f.ppf(level, n_val, rows))
    return chi2 <= float(scipy.stats.chi2.ppf(level, n_val))


def choose_by_codelength(candidates: list[Candidate], problem, noise: NoiseEstimate) -> tuple[Candidate, list[Scored]]:
    """The candidate of least description length, and the scores computed on the way.

    Candidates with recognised constants that do not fit to the noise are left out (their
    fitted parents compete instead).  The parameter costs need a Jacobian, so candidates are
    visited in order of their cost without parameters (a lower bound) and the search stops
    once that bound exceeds the best total found.
    """
    pool = [c for c in candidates if math.isfinite(c.sse) and math.isfinite(c.rmse)]
    if not pool:
        raise ValueError("no candidate formula could be evaluated")
    honest = [c for c in pool if not c.named_constants or fits_the_noise(c, problem, noise)]
    dropped = len(pool) - len(honest)
    if dropped:
        log.debug("chooser: %d formulas with recognised constants fit worse than the noise", dropped)
    pool = honest or pool
    scored = sorted((codelength(c, problem, noise, parameters=False) for c in pool),
                    key=lambda s: (s.lower_bound, s.candidate.complexity))
    best: Scored | None = None
    done = []
    for s in scored:
        if best is not None and s.lower_bound >= best.total:
            break
        s.parameters = _parameter_cost(s.candidate, problem, _variance(problem, noise))
        done.append(s)
        if best is None or (s.total, s.candidate.complexity) < (best.total, best.candidate.complexity):
            best = s
    assert best is not None
    return best.candidate, done
