"""Judging recovered formulas: exact, symbolic (SRBench) and accurate verdicts."""

import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
import sympy

from kansci.bench import _judge_numeric as judge_numeric
from kansci.bench.judge import is_exact, is_symbolic_solution, judge, r2_score, round_floats
from kansci.datasets import feynman_law, feynman_table, make_dataset

x, y, z = sympy.symbols("x y z")
POSITIVE = {"x": (1.0, 3.0), "y": (1.0, 3.0), "z": (1.0, 3.0)}
LAW_IDS = list(feynman_table()["id"])


def test_round_floats():
    assert round_floats(1.00004 * x**2.0001) == x**2
    assert round_floats(0.333333 * x) == sympy.Float(0.333) * x
    assert round_floats(0.00004 * x + y) == y
    assert round_floats(2.71828 * x, digits=1) == sympy.Float(2.7) * x
    assert round_floats(x + sympy.Rational(1, 3)) == x + sympy.Rational(1, 3)


@pytest.mark.parametrize(
    "model, truth",
    [
        (x, x),
        (1.0 * x, x),
        (x**1.0, x),
        (0.5 * x, x / 2),
        (0.333333333333333 * x, x / 3),
        (x**0.5, sympy.sqrt(x)),
        ((x + y) ** 2, x**2 + 2 * x * y + y**2),
        (x / y + 1, (x + y) / y),
        (sympy.sin(x) ** 2 + sympy.cos(x) ** 2, sympy.Integer(1)),
        (sympy.log(x * y), sympy.log(x) + sympy.log(y)),
        (sympy.exp(x) * sympy.exp(y), sympy.exp(x + y)),
        (sympy.sqrt(x**2), x),  # x is positive on its range
        (2 * sympy.sin(x) * sympy.cos(x), sympy.sin(2 * x)),
    ],
)
def test_exact_positives(model, truth):
    assert is_exact(model, truth, POSITIVE)
    assert is_symbolic_solution(model, truth, POSITIVE)


@pytest.mark.parametrize(
    "model, truth",
    [
        (0.99985 * x, x),
        (1.0000001 * x, x),
        (x + 1, x),
        (2 * x, x),
        (x**2, x),
        (sympy.cos(x), sympy.sin(x)),
        (3.14159265358979 * x, sympy.pi * x),
        (x * y, x * z),
        (sympy.Integer(0), x),
    ],
)
def test_exact_negatives(model, truth):
    assert not is_exact(model, truth, POSITIVE)


def test_sqrt_of_square_is_not_x_where_x_can_be_negative():
    assert not is_exact(sympy.sqrt(x**2), x, {"x": (-2.0, 2.0)})


@pytest.mark.parametrize(
    "model, truth, expected",
    [
        (x + 1, x, True),
        (x - 2.5, x, True),
        (2 * x, x, True),
        (0.99985 * x, x, True),  # rounds to 1.0*x
        (1.1 * x * y, x * y, True),  # a ratio of 1.1
        (2 * x + 2 * y, x + y, True),  # needs cancel to see the ratio
        (3.14159 * x**2, sympy.pi * x**2, True),
        (x + 0.1 * x**2, x, False),
        (sympy.cos(x), sympy.sin(x), False),
        (x**2, x, False),
        (sympy.Integer(0), x, False),  # a zero ratio is not a solution
        (x + y, x, False),
        (sympy.sin(x) ** 2, -sympy.cos(x) ** 2, True),  # differ by the constant 1
    ],
)
def test_symbolic_solution(model, truth, expected):
    assert is_symbolic_solution(model, truth, POSITIVE) is expected


def test_symbols_are_matched_by_name_not_assumptions():
    xp = sympy.Symbol("x", positive=True)
    xr = sympy.Symbol("x", real=True)
    assert is_exact(2 * xp, 2 * x)
    assert is_exact(xr**2, x * x)
    assert is_symbolic_solution(3 * xr, xp)


def test_formula_text_is_accepted():
    assert is_exact("0.5*m*v**2", "m*v^2/2")
    assert is_symbolic_solution("G*m/r**2 + 1", "G*m/r**2")


def test_ranges_may_be_law_variables_or_a_mapping():
    law = feynman_law("I.26.2")  # asin(n*sin(theta2)), real only on its ranges
    assert is_exact(law.formula, sympy.expand(law.formula), law.variables)
    assert is_exact(law.formula, law.formula, law.ranges)
    with pytest.raises(ValueError, match="low <= high"):
        is_exact(x, x, {"x": (3.0, 1.0)})


@pytest.mark.parametrize("law_id", LAW_IDS)
def test_feynman_laws(law_id):
    law = feynman_law(law_id)
    f, r = law.formula, law.variables
    assert is_exact(f, f, r)
    assert is_exact(sympy.expand(f), f, r)
    assert not is_exact(2 * f, f, r) and is_symbolic_solution(2 * f, f, r)
    assert not is_exact(f + 1, f, r) and is_symbolic_solution(f + 1, f, r)
    if f.has(sympy.sin):
        swapped = f.replace(sympy.sin, sympy.cos)
        assert not is_exact(swapped, f, r)
        assert not is_symbolic_solution(swapped, f, r)


def test_a_slow_simplify_is_cut_short_and_numbers_decide(monkeypatch):
    def slow(expr):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            pass
        return expr

    monkeypatch.setattr(judge_numeric, "_REWRITES", (slow,))
    handler_before = signal.getsignal(signal.SIGALRM)
    identity = (sympy.sin(x) ** 2 + sympy.cos(x) ** 2, sympy.Integer(1))
    start = time.monotonic()
    assert is_exact(*identity, POSITIVE, timeout=0.2)
    assert not is_exact(1.0000001 * x, x, POSITIVE, timeout=0.2)
    assert is_symbolic_solution(sympy.sin(x) ** 2, -sympy.cos(x) ** 2, POSITIVE, timeout=0.2)
    assert time.monotonic() - start < 5
    assert signal.getsignal(signal.SIGALRM) is handler_before


def test_works_off_the_main_thread():
    results = {}

    def run():
        results["exact"] = is_exact(sympy.sin(x) ** 2 + sympy.cos(x) ** 2, 1, POSITIVE)
        results["not"] = is_exact(sympy.sin(x), sympy.cos(x), POSITIVE)
        results["symbolic"] = is_symbolic_solution(2 * x + 2 * y, x + y, POSITIVE)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert results == {"exact": True, "not": False, "symbolic": True}


def test_r2_score():
    y_true = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_score(y_true, y_true) == 1.0
    assert r2_score(y_true, np.full(4, y_true.mean())) == 0.0
    assert r2_score(y_true, y_true + 1) == pytest.approx(1 - 4 / 5)
    assert r2_score(y_true, [1.0, 2.0, np.nan, 4.0]) == float("-inf")
    assert r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert r2_score([2.0, 2.0], [2.0, 3.0]) == 0.0
    with pytest.raises(ValueError, match="same length"):
        r2_score([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        r2_score([np.nan, 1.0], [1.0, 1.0])


def test_judge_on_a_feynman_law():
    law = feynman_law("I.12.2")  # q1*q2*r/(4*pi*epsilon*r**3)
    _, test = make_dataset(law, n_train=10, n_test=500, seed=0)
    X, y_test = test[law.names], test[law.output]
    q1, q2, r, eps = (law.symbols[n] for n in ("q1", "q2", "r", "epsilon"))

    verdict = judge(0.0795775 * q1 * q2 / (eps * r**2), law.formula, X, y_test)
    assert verdict == {"exact": False, "symbolic": True, "r2": verdict["r2"], "accurate": True}
    assert verdict["r2"] > 0.999999

    verdict = judge(q1 * q2 / (4 * sympy.pi * eps * r**2), law.formula, X, y_test)
    assert verdict["exact"] and verdict["symbolic"] and verdict["accurate"]
    assert verdict["r2"] == pytest.approx(1.0)

    verdict = judge(q1 * q2 / (4 * sympy.pi * eps * r**2) + 0.5, law.formula, X, y_test)
    assert not verdict["exact"] and verdict["symbolic"] and not verdict["accurate"]

    verdict = judge(q1 * q2 / (eps * r), law.formula, X, y_test)
    assert verdict == {"exact": False, "symbolic": False, "r2": verdict["r2"], "accurate": False}
    assert all(isinstance(verdict[k], bool) for k in ("exact", "symbolic", "accurate"))


def test_judge_needs_the_models_columns():
    X = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(KeyError, match="w"):
        judge(x * sympy.Symbol("w"), x, X, [1.0, 2.0])
    verdict = judge(sympy.Integer(3), x, X, [1.0, 2.0])  # a constant model still predicts
    assert verdict["r2"] == pytest.approx(1 - 5 / 0.5) and not verdict["symbolic"]
