"""Term regression's library: periodic columns of an input or of a product phase."""

from __future__ import annotations

import numpy as np
import sympy

from kansci.discovery._terms import term_candidates


def _exact_within(found, y, values, k: int = 3) -> list[sympy.Expr]:
    """Candidates among the first ``k`` that reproduce ``y`` to rounding level."""
    out = []
    for _, expr in found[:k]:
        f = sympy.lambdify(list(values), expr, "numpy")
        pred = np.broadcast_to(f(*values.values()), y.shape)
        if np.max(np.abs(pred - y)) < 1e-8 * np.max(np.abs(y)):
            out.append(expr)
    return out


def test_a_sum_of_a_sine_of_a_product_and_a_squared_cosine_is_found():
    # a law in no table: the phase is k*x, one term is periodic, the other its square
    rng = np.random.default_rng(3)
    k, x, a, b = (rng.uniform(1, 3, 600) for _ in range(4))
    y = b * np.sin(k * x) + a * np.cos(k * x) ** 2
    symbols = sympy.symbols("k x a b")
    found = term_candidates(np.column_stack([k, x, a, b]), y, symbols, time_budget=20)
    exact = _exact_within(found, y, dict(zip(symbols, (k, x, a, b))))
    assert exact, [str(e) for _, e in found[:3]]
    assert exact[0].has(sympy.sin(symbols[0] * symbols[1]))


def test_a_squared_cosine_of_one_input_is_a_column():
    # Malus's law on a second input's scale: the intensity goes as cos(theta)**2
    rng = np.random.default_rng(4)
    i0, theta = rng.uniform(1, 2, 400), rng.uniform(0, 3, 400)
    y = 0.5 * i0 * np.cos(theta) ** 2 + i0
    symbols = sympy.symbols("I0 theta")
    found = term_candidates(np.column_stack([i0, theta]), y, symbols, time_budget=10)
    assert _exact_within(found, y, dict(zip(symbols, (i0, theta)))), [str(e) for _, e in found[:3]]




def test_a_product_of_powers_of_constants_is_linear_under_the_logarithm():
    # a law in no table: a small rate times a factor per count of four integer events;
    # log|y| is a constant plus a sum of the inputs, and is tried first.  The constant
    # (log 2.5e-6) used to send the greedy steps off among the ratio columns log|y|*m
    rng = np.random.default_rng(0)
    X = rng.integers(0, 13, size=(1600, 4)).astype(float)
    y = 2.5e-6 * 3.0 ** X[:, 0] * 0.5 ** X[:, 1] * 11.0 ** X[:, 2] * 1.25 ** X[:, 3]
    symbols = sympy.symbols("n m k j")
    found = term_candidates(X, y, symbols, time_budget=2, seed=0)
    assert _exact_within(found, y, dict(zip(symbols, X.T)), k=1), [str(e) for _, e in found[:3]]
