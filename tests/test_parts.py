"""One-input parts re-solved on real rows, a power times a primitive, and inputs with a weak
effect kept by the relevance screen."""

import numpy as np
import pandas as pd
import sympy

import kansci
from kansci.datasets import feynman_law, make_dataset
from kansci.discovery import make_problem
from kansci.discovery._decompose import _leaf_1d
from kansci.discovery._parts import one_input_parts
from kansci.discovery._relevance import irrelevant_columns
from kansci.discovery._stages import drop_irrelevant
from kansci.discovery._subproblem import Node, Search


def _planck_like(rng, n=1500):
    u = np.exp(rng.uniform(np.log(0.04), np.log(25.0), n))
    v = rng.uniform(0.2, 5.0, n)
    return u, v, u / (2 * np.pi**3 * v**2 * (np.exp(u / (2 * np.pi)) - 1))


def test_one_input_parts_split_products_and_sums_by_their_inputs():
    u, v, w = sympy.symbols("u v w")
    pade = (1 + 0.3 * u) / (1 + 0.1 * u + 0.01 * u**2)
    parts = one_input_parts(2.5 * pade * sympy.exp(-((v - 1) ** 2)) * w**2, [u, v, w])
    assert [s for _, s, _ in parts] == [u, v]  # w**2 is simple, the Pade first (most complex)
    op, s, rest = parts[0]
    assert op == "mul" and sympy.simplify(rest - 2.5 * sympy.exp(-((v - 1) ** 2)) * w**2) == 0
    parts = one_input_parts(sympy.sin(3 * u + 1) + v * w, [u, v, w])
    assert [(op, s) for op, s, _ in parts] == [("add", u)]  # v*w shares nothing with u, but has two inputs
    assert one_input_parts(sympy.sin(u * v) * (u + w), [u, v, w]) == []  # one group of inputs


def test_a_power_times_a_primitive_is_snapped_as_a_one_input_leaf():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.05, 8.0, 800)
    s = sympy.Symbol("x")
    node = Node(None, [s], x[:, None].min(0), x[:, None].max(0), x[:, None])
    for truth in (x**3 / (np.exp(x / 2) - 1), 3.0 * x**2 * np.exp(-(x**2) / 4)):
        found = _leaf_1d(node, truth, Search(deadline=np.inf, eps=1e-9, rng=rng))
        err, expr = found[0]
        assert err < 1e-8, expr
        pred = sympy.lambdify(s, expr, "numpy")(x)
        np.testing.assert_allclose(pred, truth, rtol=1e-7)


def test_a_rational_mimic_of_one_part_is_replaced_by_the_law_found_on_real_rows():
    # the one-input part u/(exp(u/(2*pi)) - 1) is in no term library: sparse regression gives
    # a rational mimic; the parts stage solves y*v**2 as a function of u on the rows
    u, v, y = _planck_like(np.random.default_rng(1))
    df = pd.DataFrame({"u": u, "v": v, "y": y})
    d = kansci.discover(df, "y", time_limit=25, seed=0)
    U, V = sympy.symbols("u v", positive=True)
    got = d.formula.expr.xreplace(dict(zip(d.formula.symbols, (U, V))))
    assert sympy.simplify(got - U / (2 * sympy.pi**3 * V**2 * (sympy.exp(U / (2 * sympy.pi)) - 1))) == 0, got


def test_an_input_with_a_weak_effect_is_kept_and_the_stop_at_the_noise_sees_left_out_columns():
    # Planck's law with h, omega, T, kb, c in [1, 5]: h enters mostly through a correction of a
    # few per cent (the Rayleigh-Jeans limit does not depend on it); dropping it leaves a
    # residual that looks like noise in the other four inputs
    law = feynman_law("I.41.16")
    train, _ = make_dataset(law, 2000, 10, 0.0, 0)
    rng = np.random.default_rng(3)
    train.insert(0, "junk", rng.uniform(1, 5, len(train)))
    p = make_problem(train, law.output, seed=0)
    X, y = p.subset(p.train)
    dropped = [p.columns[j] for j in irrelevant_columns(X, y)]
    assert dropped == ["junk"]
    reduced, names = drop_irrelevant(p)
    assert names == ["junk"] and reduced.left_out.shape == (len(p.y), 1)
    np.testing.assert_array_equal(reduced.left_out[:, 0], train["junk"].to_numpy())
