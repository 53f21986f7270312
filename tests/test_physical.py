"""Physical constants: matching fitted constants to CODATA combinations within their uncertainty."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.constants as C
import sympy

from kansci.formula import CONSTANTS, constant_errors, match_physical_constant, recognise_physical
from kansci.units import parse_unit


def dim(u):
    return parse_unit(u).dimension


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (1 / (4 * math.pi * C.epsilon_0), "N*m**2/C**2", "1/(4*pi*eps_0)"),
        (1 / C.epsilon_0, "m/F", "1/eps_0"),
        (C.hbar / C.k, "K*s", "hbar/k_B"),
        (C.hbar / (math.pi**2 * C.c**2), "kg*s", "hbar/(pi**2*c**2)"),
        (C.h, "J*s", "h"),
        (2 * math.pi / math.sqrt(C.G), "kg**0.5*s/m**1.5", "2*pi/sqrt(G)"),
        (C.mu_0 / (4 * math.pi), "N/A**2", "mu_0/(4*pi)"),
        (C.sigma, "W/(m**2*K**4)", "sigma_SB"),
        (-C.e / (2 * C.m_e), "C/kg", "-q_e/(2*m_e)"),
    ],
)
def test_constants_are_recognised_by_value_and_dimension(value, unit, text):
    found = match_physical_constant(value, 1e-10, dim(unit))
    assert found is not None and str(found.expr) == text
    assert found.relative_error < 1e-9


def test_without_a_dimension_the_search_is_wider_but_still_finds_it():
    found = match_physical_constant(1 / (4 * math.pi * C.epsilon_0), 1e-10)
    assert found is not None and str(found.expr) == "1/(4*pi*eps_0)"


def test_a_value_outside_the_interval_is_rejected():
    # a rounded Planck constant is not h at the precision of noise-free data ...
    assert match_physical_constant(6.626e-34, 1e-10, dim("J*s")) is None
    # ... but it is within a 1e-4 uncertainty
    assert str(match_physical_constant(6.626e-34, 1e-4, dim("J*s")).expr) == "h"
    # the wrong dimension never matches
    assert match_physical_constant(C.h, 1e-10, dim("J")) is None
    # a plain number is not a physical constant
    assert match_physical_constant(2.5, 1e-10, dim("1")) is None


def _data(constant, noise, n=400, seed=0):
    rng = np.random.default_rng(seed)
    q1, q2 = np.exp(rng.uniform(np.log(1e-9), np.log(1e-7), (2, n)))
    r = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), n))
    y = constant * q1 * q2 / r**2
    y = y + noise * np.sqrt(np.mean(y**2)) * rng.standard_normal(n)  # the benchmark's noise model
    return np.column_stack([q1, q2, r]), y


@pytest.mark.parametrize(
    "factor, noise, named",
    [
        (1.0, 0.0, True),  # the exact constant, noise-free: named
        (1.0 + 1e-4, 0.0, False),  # 1e-4 off, noise-free: outside its (tiny) interval
        (1.0, 1e-4, True),  # exact, with noise: inside its interval
        (1.0 + 1e-3, 1e-4, False),  # 1e-3 off with 1e-4 noise: outside
    ],
)
def test_recognised_within_its_uncertainty_and_rejected_outside(factor, noise, named):
    q1, q2, r = sympy.symbols("q1 q2 r", positive=True)
    X, y = _data(factor / (4 * math.pi * C.epsilon_0), noise)
    fitted = float(np.sum(y * X[:, 0] * X[:, 1] / X[:, 2] ** 2) / np.sum((X[:, 0] * X[:, 1] / X[:, 2] ** 2) ** 2))
    expr = sympy.Float(fitted) * q1 * q2 / r**2
    est = constant_errors(expr, [q1, q2, r], X, y)[0]
    inside = est.contains(1 / (4 * math.pi * C.epsilon_0))
    units = {q1: dim("C"), q2: dim("C"), r: dim("m")}
    out = recognise_physical(expr, [q1, q2, r], X, y, units=units, target=dim("N"))
    assert (CONSTANTS.eps_0 in out.atoms(sympy.NumberSymbol)) == named
    if noise > 0:
        assert named == inside  # the decision follows the confidence interval


def test_a_match_too_likely_by_chance_is_not_taken():
    # known to only 0.5 %, almost any number lies near some p/q * pi**m * eps_0**-1 combination
    assert match_physical_constant(1.002 / (4 * math.pi * C.epsilon_0), 5e-3, dim("N*m**2/C**2")) is None


def test_constants_of_the_wrong_dimension_are_not_named():
    q1, q2, r = sympy.symbols("q1 q2 r", positive=True)
    X, y = _data(1 / (4 * math.pi * C.epsilon_0), 0.0)
    expr = sympy.Float(float(1 / (4 * math.pi * C.epsilon_0))) * q1 * q2 / r**2
    # with the target declared in joules the constant would need other units: nothing is named
    units = {q1: dim("C"), q2: dim("C"), r: dim("m")}
    out = recognise_physical(expr, [q1, q2, r], X, y, units=units, target=dim("J"))
    assert not out.atoms(sympy.NumberSymbol)
