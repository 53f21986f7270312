import pytest
import sympy

from kansci.formula import complexity

x, y, z = sympy.symbols("x y z")

CASES = [
    (x, 1),
    (sympy.Integer(-2), 1),  # a negative number is one node
    (sympy.Rational(3, 2), 1),
    (sympy.pi, 1),
    (sympy.Float(0.5), 1),
    (x**2, 3),  # pow, x, 2
    (-x, 2),  # unary minus
    (x + y, 3),
    (x - y, 3),  # subtraction costs the same as addition (no hidden -1 node)
    (-x - y, 4),  # all terms negative: one unary minus
    (x + y + z, 5),  # n-ary sums are binary trees
    (x / y, 3),
    (1 / x, 3),  # 1, /, x
    (x / y**2, 5),
    (-x / y, 4),
    (-3 * x, 3),  # -3 is a number
    (x - 3 * y, 5),
    (sympy.sqrt(x), 2),  # sqrt is a function
    (1 / sympy.sqrt(x), 4),
    (x ** sympy.Rational(1, 3), 3),
    (sympy.exp(x), 2),
    (sympy.atan2(y, x), 3),
    (-(x**2) / 2, 5),
    (sympy.exp(sympy.sin(sympy.pi * x) + y**2), 9),
    (x * y / z**2, 7),
    ((x + y) / (1 + x * y), 9),
]


@pytest.mark.parametrize("expr, expected", CASES, ids=[str(c[0]) for c in CASES])
def test_complexity_counts_nodes_as_documented(expr, expected):
    assert complexity(expr) == expected


def test_subtraction_and_addition_cost_the_same():
    assert complexity(sympy.exp(x) - sympy.sin(y)) == complexity(
        sympy.exp(x) + sympy.sin(y)
    )


def test_simpler_law_is_less_complex_than_raw_form():
    raw = (
        1.0003 * sympy.exp(0.99985 * y**2 + 1.0 * sympy.sin(3.1416 * x) + 0.0002)
        - 0.0001
    )
    assert complexity(raw) > complexity(sympy.exp(sympy.sin(sympy.pi * x) + y**2))
