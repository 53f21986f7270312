"""The restricted formula parser: what it reads, how it builds sympy, and how it refuses."""

import pytest
import sympy

from kansci._parse import (
    MAX_DEPTH,
    MAX_LENGTH,
    FormulaSyntaxError,
    parse_expression,
    parse_univariate,
)

x, y, z = sympy.symbols("x y z")
XYZ = ["x", "y", "z"]

CASES = [
    # arithmetic and precedence
    ("x + y*z", x + y * z),
    ("(x + y)*z", (x + y) * z),
    ("x - y - z", x - y - z),
    ("x/y/z", x / y / z),
    ("x/y*z", x * z / y),
    ("-x**2", -(x**2)),
    ("(-x)**2", x**2),
    ("2**3**2", sympy.Integer(512)),
    ("x**y**z", x ** (y**z)),
    ("x^y^z", x ** (y**z)),
    ("x**-y", x ** (-y)),
    ("2**-x**2", 2 ** (-(x**2))),
    ("--x", x),
    ("+-+x", -x),
    ("x*-y", -x * y),
    ("1/2*x", x / 2),
    ("  x\t+\n1 ", x + 1),
    # numbers
    ("3", sympy.Integer(3)),
    ("0.5", sympy.Float("0.5")),
    (".5*x", sympy.Float("0.5") * x),
    ("2.", sympy.Float("2.0")),
    ("1e-3", sympy.Float("0.001")),
    ("2.5E+4", sympy.Float("25000")),
    ("6/4", sympy.Rational(3, 2)),
    # functions and constants
    ("exp(-x**2/2)/sqrt(2*pi)", sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi)),
    ("log(x)", sympy.log(x)),
    ("ln(x)", sympy.log(x)),
    ("log(x, 10)", sympy.log(x, 10)),
    ("cbrt(x)", sympy.cbrt(x)),
    ("arcsin(x) + asin(y)", sympy.asin(x) + sympy.asin(y)),
    ("arccos(x) + arctan(y)", sympy.acos(x) + sympy.atan(y)),
    ("atan2(y, x)", sympy.atan2(y, x)),
    ("sinh(x)*cosh(y)*tanh(z)", sympy.sinh(x) * sympy.cosh(y) * sympy.tanh(z)),
    ("arcsinh(x) + acosh(y) + arctanh(z)", sympy.asinh(x) + sympy.acosh(y) + sympy.atanh(z)),
    ("abs(x) + Abs(y) + sign(z)", sympy.Abs(x) + sympy.Abs(y) + sympy.sign(z)),
    ("erf(x)*gamma(y)", sympy.erf(x) * sympy.gamma(y)),
    ("sin(x)**2 + cos(x)**2", sympy.sin(x) ** 2 + sympy.cos(x) ** 2),
    ("tan(x)", sympy.tan(x)),
    ("E**x + e + pi", sympy.exp(x) + sympy.E + sympy.pi),
    ("((((x))))", x),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_parses_to_the_sympy_expression(text, expected):
    result = parse_expression(text, XYZ)
    assert result == expected, (text, result)
    assert sympy.simplify(result - expected) == 0


def test_decimals_stay_floats_and_integers_stay_exact():
    assert isinstance(parse_expression("0.5"), sympy.Float)
    assert parse_expression("0.5") == sympy.Float("0.5")
    assert isinstance(parse_expression("12"), sympy.Integer)
    assert isinstance(parse_expression("1/3"), sympy.Rational)


def test_variables_shadow_constants_and_functions():
    names = ["I", "E", "S", "N", "gamma", "beta", "lambda", "pi", "e", "exp"]
    syms = {n: sympy.Symbol(n) for n in names}
    expr = parse_expression("I*E*S*N*gamma*beta*lambda*pi*e*exp", syms)
    assert expr == sympy.Mul(*syms.values())
    assert expr.free_symbols == set(syms.values())
    # nothing of sympy's own I, E, S, N or gamma leaked in
    assert not expr.has(sympy.I, sympy.E, sympy.pi)
    assert not expr.atoms(sympy.Function)


def test_gamma_is_the_function_unless_it_is_a_variable():
    assert parse_expression("gamma(x)", XYZ) == sympy.gamma(x)
    g = sympy.Symbol("gamma")
    assert parse_expression("1/(gamma-1)", ["gamma"]) == 1 / (g - 1)
    with pytest.raises(FormulaSyntaxError, match="variable, not a function"):
        parse_expression("gamma(2)", ["gamma"])


def test_mapping_gives_the_callers_symbols():
    t = sympy.Symbol("t", positive=True)
    expr = parse_expression("2*t", {"t": t})
    assert expr == 2 * t
    assert expr.free_symbols == {t}


def test_plain_names_become_plain_symbols():
    expr = parse_expression("x + lambda", ["x", "lambda"])
    assert expr == x + sympy.Symbol("lambda")


def test_allow_unknown_makes_real_symbols():
    expr = parse_expression("a*b + a", allow_unknown=True)
    a, b = sympy.symbols("a b", real=True)
    assert expr == a * b + a
    assert parse_expression("pi*r", allow_unknown=True) == sympy.pi * sympy.Symbol("r", real=True)


def test_unicode_names_are_names():
    theta = sympy.Symbol("θ")
    assert parse_expression("sin(θ)", ["θ"]) == sympy.sin(theta)


@pytest.mark.parametrize(
    "text, column, fragment",
    [
        ("(x + 1", 7, "expected ')'"),
        ("x + 1)", 6, "no matching '('"),
        ("x +", 4, "expected a number, a name or '('"),
        ("x *", 4, "expected a number, a name or '('"),
        ("* x", 1, "expected a number"),
        ("foo(x)", 1, "unknown function 'foo'"),
        ("w + x", 1, "unknown name 'w'"),
        ("__import__('os')", 1, "unknown function '__import__'"),
        ("x.real", 2, "attribute access"),
        ("'x'", 1, "strings are not allowed"),
        ('"x" + 1', 1, "strings are not allowed"),
        ("lambda x: x", 1, "Python keyword 'lambda'"),
        ("x = 1", 3, "assignments"),
        ("x[0]", 2, "indexing"),
        ("2x", 2, "implicit multiplication"),
        ("x y", 3, "implicit multiplication"),
        ("x(y)", 2, "not a function"),
        ("sin x", 1, "call it with parentheses"),
        ("sin", 1, "is a function"),
        ("sin(x, y)", 1, "takes 1 argument"),
        ("atan2(x)", 1, "takes 2 arguments"),
        ("sin(x", 6, "in the call to sin()"),
        ("x ** * y", 6, "expected a number"),
        ("9**9**9", 2, "digits"),
        ("x; y", 2, "only one expression"),
    ],
)
def test_errors_point_at_the_problem(text, column, fragment):
    with pytest.raises(FormulaSyntaxError) as info:
        parse_expression(text, XYZ)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.column == column, str(err)
    assert fragment in str(err)
    assert repr(text) in str(err) or text in str(err)
    # the caret line sits under the reported column
    caret_line = str(err).splitlines()[-1]
    assert caret_line.index("^") - 4 == column - 1


def test_unknown_name_lists_the_allowed_ones():
    with pytest.raises(FormulaSyntaxError) as info:
        parse_expression("x + w", ["x", "y"])
    message = str(info.value)
    assert "'w'" in message and "x, y" in message and "allow_unknown" in message


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_refused(text):
    with pytest.raises(FormulaSyntaxError, match="empty"):
        parse_expression(text)


def test_unknown_functions_stay_errors_with_allow_unknown():
    with pytest.raises(FormulaSyntaxError, match="unknown function"):
        parse_expression("eval(x)", allow_unknown=True)
    with pytest.raises(FormulaSyntaxError, match="column 8"):
        parse_expression("lambda x: x", allow_unknown=True)


def test_length_and_depth_limits():
    with pytest.raises(FormulaSyntaxError, match="characters"):
        parse_expression("x+" * (MAX_LENGTH // 2) + "x", XYZ)
    nested = "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(FormulaSyntaxError, match="nesting"):
        parse_expression(nested, XYZ)
    tower = "**".join(["x"] * (MAX_DEPTH + 2))
    with pytest.raises(FormulaSyntaxError, match="nesting"):
        parse_expression(tower, XYZ)
    ok = "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH
    assert parse_expression(ok, XYZ) == x


def test_long_flat_sums_are_fast_and_right():
    names = [f"v{i}" for i in range(1000)]
    expr = parse_expression("+".join(names), names)
    assert len(expr.args) == 1000
    assert parse_expression("-" * 3001 + "x", XYZ) == -x


def test_bad_argument_types():
    with pytest.raises(TypeError):
        parse_expression(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sympy Symbol"):
        parse_expression("x", {"x": 1})  # type: ignore[dict-item]


def test_parse_univariate():
    expr, sym = parse_univariate("sin(t)**2 + t")
    assert sym.name == "t"
    assert expr == sympy.sin(sym) ** 2 + sym
    expr, sym = parse_univariate("exp(-u)", variable="u")
    assert expr == sympy.exp(-sym)
    with pytest.raises(FormulaSyntaxError, match="exactly one variable, found 2"):
        parse_univariate("x*y")
    with pytest.raises(FormulaSyntaxError, match="found 0"):
        parse_univariate("2*pi")
    with pytest.raises(FormulaSyntaxError, match="unknown name 'x'"):
        parse_univariate("x + 1", variable="u")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("sqrt(" + "9" * 400 + ")", "exact root"),
        ("(10**99*10**99)**(1/3)", "exact root"),
        ("2**(10**500/3)", "digits"),
        ("gamma(10**7)", "too large"),
        ("1" * 5000, "too many"),
    ],
)
def test_costly_exact_arithmetic_is_refused_quickly(text, fragment):
    with pytest.raises(FormulaSyntaxError, match=fragment):
        parse_expression(text)


def test_random_text_gives_an_expression_or_a_formula_error():
    import numpy as np

    rng = np.random.default_rng(0)
    alphabet = list("xy0129.e+-*/^()  ,") + ["**", "sin", "log", "sqrt", "pi", "E", "'", "_"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet, size=rng.integers(1, 15)))
        try:
            result = parse_expression(text, ["x", "y"])
        except FormulaSyntaxError as err:
            assert err.position is None or 0 <= err.position <= len(text)
        else:
            assert isinstance(result, sympy.Expr)
