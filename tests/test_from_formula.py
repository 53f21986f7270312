"""KAN.from_formula: a hypothesis as a KAN whose edges are its pieces; compose gives it back."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import kansci  # noqa: E402
from kansci._evaluate import numpy_function  # noqa: E402
from kansci._from_formula import FormulaStructureError  # noqa: E402
from kansci.formula import compose  # noqa: E402
from kansci.symbolic import compare_edges, unfix_symbolic  # noqa: E402

# ten formulas with the box their inputs are drawn from
NAMED = {
    "exp(sin(pi*x) + y**2)": (-1.0, 1.0),
    "x*y": (-2.0, 2.0),
    "G*m1*m2/r**2": (0.5, 3.0),
    "sqrt(x**2 + y**2)": (-2.0, 2.0),
    "exp(-(x**2 + y**2)/2)/sqrt(2*pi)": (-2.0, 2.0),
    "q*v*B*sin(theta)": (-2.0, 2.0),
    "x/(1 + x*y) - 3": (0.5, 2.0),
    "sin(x) + x**2": (-2.0, 2.0),
    "2**x + sinh(y)": (-2.0, 2.0),
    "m*c**2/sqrt(1 - v**2/c**2)": (None, None),  # v below c: see _points
}


def _points(text: str, names: list[str], lo, hi, n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if lo is None:  # relativistic energy: m, c in [1, 3], v in [0, c/2]
        P = rng.uniform(1.0, 3.0, (n, len(names)))
        P[:, names.index("v")] = rng.uniform(0.0, 0.5, n) * P[:, names.index("c")]
        return P
    return rng.uniform(lo, hi, (n, len(names)))


def _values(expr, symbols, P) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(numpy_function(expr, symbols)(*P.T), float), (len(P),))


def _round_trip(text: str, P: np.ndarray, names: list[str], **options) -> tuple[np.ndarray, np.ndarray, object]:
    """Values of the formula and of compose(from_formula(formula)) at the rows of P."""
    truth = kansci.parse_expression(text, names)
    model = kansci.KAN.from_formula(text, inputs=names, **options)
    back = compose(model, symbols=[sympy.Symbol(n) for n in names])
    syms = [sympy.Symbol(n) for n in names]
    return _values(truth, syms, P), _values(back, syms, P), model


@pytest.mark.parametrize("text", list(NAMED))
def test_named_formulas_round_trip(text):
    names = sorted(s.name for s in kansci.parse_expression(text, allow_unknown=True).free_symbols)
    P = _points(text, names, *NAMED[text])
    want, got, model = _round_trip(text, P, names)
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert len(model.symbolic_edges()) == sum(int(m.mask.sum()) for m in model.layers)  # every live edge
    forward = model.predict(P).numpy().ravel()  # the network computes it too (torch, float64)
    np.testing.assert_allclose(forward, want, rtol=1e-9, atol=1e-12)


def test_round_trip_is_exact_for_rational_constants():
    model = kansci.KAN.from_formula("x*y - 3*x + y**2/2", inputs=["x", "y"])
    x, y = sympy.symbols("x y")
    back = sympy.nsimplify(compose(model, symbols=[x, y]), rational=True)
    assert sympy.simplify(back - (x * y - 3 * x + y**2 / 2)) == 0
    assert model.width == [2, 4, 1]  # x+y and x-y (quarter squares), x and y passed through


@pytest.mark.parametrize("text", ["G*m1*m2/r**2", "q*v*B*sin(theta) + 1"])
def test_products_through_logarithms(text):
    names = sorted(s.name for s in kansci.parse_expression(text, allow_unknown=True).free_symbols)
    P = _points(text, names, 0.5, 1.5)
    want, got, model = _round_trip(text, P, names, products="log")
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert {p.name for p in model.symbolic_edges().values()} >= {"log", "exp"}


# ----------------------------------------------------------------- random formulas
_UNARY = ["sin({})", "cos({})", "tanh({})", "atan({})", "({})**2", "({})**3", "exp(({})/4)", "1/(2 + ({})**2)"]
_BINARY = ["({}) + ({})", "({}) - ({})", "({})*({})", "2*({}) - ({})/3"]


def _formula(depth: int):
    leaves = st.sampled_from(["x", "y", "z", "1.5", "2"])
    if depth == 0:
        return leaves
    sub = _formula(depth - 1)
    return st.one_of(
        leaves,
        st.builds(lambda f, a: f.format(a), st.sampled_from(_UNARY), sub),
        st.builds(lambda f, a, b: f.format(a, b), st.sampled_from(_BINARY), sub, sub),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_formula(3), seed=st.integers(0, 1000))
def test_random_formulas_round_trip(text, seed):
    names = ["x", "y", "z"]
    P = np.random.default_rng(seed).uniform(-1.5, 1.5, (60, 3))
    truth = kansci.parse_expression(text, names)
    if not truth.free_symbols:
        return  # a constant: covered below
    want, got, model = _round_trip(text, P, names)
    ok = np.isfinite(want) & (np.abs(want) < 1e8)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-9)
    assert model.width[0] == 3 and model.width[-1] == 1


def test_constant_and_identity():
    const = kansci.KAN.from_formula("3/4", inputs=["x"])
    assert const.width == [1, 1] and float(compose(const)) == 0.75
    assert const.predict(np.zeros((2, 1))).numpy().ravel().tolist() == [0.75, 0.75]
    ident = kansci.KAN.from_formula("x", inputs=["x", "unused"], output="f")
    assert ident.output_names == ["f"] and ident.input_names == ["x", "unused"]
    assert sympy.simplify(compose(ident, symbols=sympy.symbols("x unused")) - sympy.Symbol("x")) == 0


@pytest.mark.parametrize("text, options, error, message", [
    ("atan2(x, y)", {}, FormulaStructureError, "atan2"),
    ("x**y", {}, FormulaStructureError, r"exp\(y\*log\(x\)\)"),
    ("x + z", {"inputs": ["x", "y"]}, kansci.FormulaSyntaxError, "'z'"),
    ("x + (", {}, kansci.FormulaSyntaxError, "x"),
    ("x*y", {"products": "multiply"}, ValueError, "products must be"),
    ("x*y", {"symbolic": False}, ValueError, "needs X"),
    ("(-2)**x", {}, FormulaStructureError, "non-positive"),
])
def test_formulas_it_cannot_represent_get_clear_errors(text, options, error, message):
    with pytest.raises(error, match=message):
        kansci.KAN.from_formula(text, **options)


def test_non_text_formula_is_refused():
    with pytest.raises(TypeError, match="formula must be a str"):
        kansci.KAN.from_formula(42)


# ----------------------------------------------------------------- splines and the workflow
@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.uniform(-1.0, 1.0, (300, 2))


def test_splines_start_at_the_formula(data):
    text = "exp(sin(pi*x) + y**2)"
    want = np.exp(np.sin(np.pi * data[:, 0]) + data[:, 1] ** 2)
    free = kansci.KAN.from_formula(text, inputs=["x", "y"], X=data, symbolic=False)
    assert free.symbolic_edges() == {}
    pred = free.predict(data).numpy().ravel()
    assert np.sqrt(np.mean((pred - want) ** 2)) < 1e-2 * np.std(want)
    fixed = kansci.KAN.from_formula(text, inputs=["x", "y"], X=data)
    for li, i, j in list(fixed.symbolic_edges()):  # unfixing an edge keeps (about) the same function
        unfix_symbolic(fixed, li, i, j)
    np.testing.assert_allclose(fixed.predict(data).numpy().ravel(), pred, rtol=1e-12)
    with pytest.raises(FormulaStructureError, match="not finite on the data"):
        kansci.KAN.from_formula("log(x) + y", inputs=["x", "y"], X=data)


def test_compare_edges_names_the_piece_that_changed(data):
    hypothesis = kansci.KAN.from_formula("sin(x) + y**2", inputs=["x", "y"])
    model = kansci.KAN.from_formula("2*sin(x) + y**3", inputs=["x", "y"])  # the 'trained' model
    table = compare_edges(model, data, hypothesis)
    assert list(table["source"]) == ["y", "x"]  # the most changed first
    y_row, x_row = table.iloc[0], table.iloc[1]
    assert y_row["changed"] and y_row["primitive"] == "x^2" and y_row["r2"] < 0.9
    assert not x_row["changed"] and x_row["r2"] > 1 - 1e-9 and x_row["refit"].startswith("2.0*sin(")
    with pytest.raises(ValueError, match="same width"):
        compare_edges(kansci.KAN.from_formula("x*y"), data, hypothesis)


def test_saved_and_loaded(tmp_path, data):
    model = kansci.KAN.from_formula("x*sin(y) + 1", inputs=["x", "y"])
    model.save(tmp_path / "m.pt")
    back = kansci.load_model(tmp_path / "m.pt")
    assert torch.equal(back.predict(data), model.predict(data))
