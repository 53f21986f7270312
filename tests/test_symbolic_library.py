"""Primitive library: default entries, exact numpy and safe torch forms, user primitives."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy
import torch

from kansci._parse import FormulaSyntaxError
from kansci.symbolic import Library, Primitive, X
from kansci.symbolic._custom import detect_symmetries

REQUIRED = [
    "x", "x^2", "x^3", "x^4", "1/x", "1/x^2", "sqrt", "1/sqrt", "x^1.5", "exp", "log", "sin",
    "cos", "tan", "tanh", "arcsin", "arccos", "arctan", "arctanh", "gaussian", "abs", "0",
]  # fmt: skip

DEFAULT = Library.default()


def _interior(prim: Primitive, n: int = 201, gap: float = 0.05) -> np.ndarray:
    """Points well inside the domain (away from ends and poles), within [-6, 6]."""
    lo, hi = prim.domain
    u = np.linspace(max(lo, -6.0), min(hi, 6.0), n)
    keep = (u > lo + gap) & (u < hi - gap)
    for pole in prim.poles:
        keep &= np.abs(u - pole) > gap
    return u[keep]


def test_default_has_every_required_primitive_in_order() -> None:
    assert list(DEFAULT) == REQUIRED
    assert all(isinstance(p, Primitive) and p.name == n for n, p in DEFAULT.items())


def test_complexities_follow_the_documented_scale() -> None:
    c = {name: p.complexity for name, p in DEFAULT.items()}
    assert (c["0"], c["x"], c["x^2"], c["x^3"], c["x^4"]) == (0, 1, 2, 3, 4)
    assert c["sin"] == 3 and c["gaussian"] == 4
    assert min(v for k, v in c.items() if k != "0") >= 1


def test_default_library_is_a_fresh_copy_each_time() -> None:
    lib = Library.default()
    lib.remove("sin")
    lib.add("sinh", "sinh(x)")
    again = Library.default()
    assert "sin" in again and "sinh" not in again
    assert len(again) == len(REQUIRED)


@pytest.mark.parametrize("name", REQUIRED)
def test_numpy_matches_sympy_expression(name: str) -> None:
    prim = DEFAULT[name]
    u = _interior(prim, n=13)
    expected = np.array([float(prim.expr.subs(X, sympy.Float(v))) for v in u])
    np.testing.assert_allclose(prim.numpy(u), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "u", "inside"),
    [
        ("sqrt", [-1e-9, 0.0, 1.0], [False, True, True]),
        ("log", [0.0, 1e-300], [False, True]),
        ("1/sqrt", [0.0, 2.0], [False, True]),
        ("1/x", [-1.0, 0.0, 1.0], [True, False, True]),
        ("1/x^2", [0.0, 3.0], [False, True]),
        ("arcsin", [-1.0, 1.0, 1.0 + 1e-12], [True, True, False]),
        ("arctanh", [-1.0, 0.999, 1.0], [False, True, False]),
        ("tan", [-math.pi / 2, 0.0, 1.5], [False, True, True]),
        ("exp", [-1e3, 1e3], [True, True]),
    ],
)
def test_in_domain_marks_ends_and_poles(name: str, u: list, inside: list) -> None:
    assert DEFAULT[name].in_domain(np.array(u)).tolist() == inside


@pytest.mark.parametrize("name", REQUIRED)
def test_numpy_is_nan_outside_domain_without_warnings(name: str) -> None:
    prim = DEFAULT[name]
    u = np.concatenate([np.linspace(-10, 10, 401), [0.0, -1.0, 1.0, math.pi / 2, 1e6, -1e6]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = prim.numpy(u)
    outside = ~prim.in_domain(u)
    assert np.isnan(values[outside]).all()
    assert not np.isnan(values[~outside]).any()


@pytest.mark.parametrize("name", REQUIRED)
def test_derivative_matches_finite_differences(name: str) -> None:
    prim = DEFAULT[name]
    u = _interior(prim, n=41, gap=0.1)
    u = u[np.abs(u) > 1e-3] if name == "abs" else u
    h = 1e-6
    numeric = (prim.numpy(u + h) - prim.numpy(u - h)) / (2 * h)
    np.testing.assert_allclose(prim.derivative(u), numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("name", REQUIRED)
def test_torch_is_finite_with_finite_gradients_everywhere(name: str, dtype: torch.dtype) -> None:
    prim = DEFAULT[name]
    special = [0.0, 1.0, -1.0, 1 - 1e-9, -1 + 1e-9, math.pi / 2, -math.pi / 2, 1e-8, -1e-8]
    grid = np.concatenate([np.linspace(-60, 60, 1201), special, [1e4, -1e4]])
    u = torch.tensor(grid, dtype=dtype, requires_grad=True)
    out = prim.torch(u)
    assert out.shape == u.shape and out.dtype == dtype
    assert torch.isfinite(out).all()
    if out.requires_grad:
        out.sum().backward()
        assert torch.isfinite(u.grad).all()


@pytest.mark.parametrize("name", REQUIRED)
def test_torch_matches_numpy_inside_the_domain(name: str) -> None:
    prim = DEFAULT[name]
    u = _interior(prim, gap=0.05)
    got = prim.torch(torch.tensor(u, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, prim.numpy(u), rtol=1e-10, atol=1e-12)


def test_torch_is_differentiable_with_the_exact_gradient_inside() -> None:
    prim = DEFAULT["log"]
    u = torch.tensor([0.5, 2.0, 7.0], dtype=torch.float64, requires_grad=True)
    prim.torch(u).sum().backward()
    np.testing.assert_allclose(u.grad.numpy(), [2.0, 0.5, 1 / 7.0], rtol=1e-12)


@pytest.mark.parametrize("name", [n for n in REQUIRED if n != "0"])
def test_declared_symmetries_hold_numerically(name: str) -> None:
    prim = DEFAULT[name]
    found = detect_symmetries(prim)
    assert found == {
        "reflect": prim.reflect, "scale_free": prim.scale_free, "shift_free": prim.shift_free
    }


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_declared_period_is_an_affine_period(name: str) -> None:
    prim = DEFAULT[name]
    u = np.linspace(-3, 3, 50)
    np.testing.assert_allclose(prim.numpy(u + prim.period), -prim.numpy(u), atol=1e-12)


def test_intervals_split_at_poles() -> None:
    inf = math.inf
    assert DEFAULT["1/x"].intervals() == [(-inf, 0.0, False, False), (0.0, inf, False, False)]
    assert DEFAULT["sqrt"].intervals() == [(0.0, math.inf, True, False)]


def test_formula_builds_the_affine_expression() -> None:
    expr = DEFAULT["sin"].formula(2.0, 0.5, 3.0, -1.0)
    assert float(expr.subs(X, 0.3)) == pytest.approx(3 * math.sin(2 * 0.3 + 0.5) - 1)
    assert DEFAULT["x"].formula() == X


# --- user primitives -------------------------------------------------------------------------


def test_add_parses_text_and_detects_domain_and_symmetry() -> None:
    lib = Library.default()
    prim = lib.add("sinh", "sinh(t)")
    u = np.linspace(-3, 3, 31)
    np.testing.assert_allclose(prim.numpy(u), np.sinh(u), rtol=1e-14)
    assert prim.expr == sympy.sinh(X)
    assert prim.domain == (-math.inf, math.inf) and prim.reflect == -1
    assert not prim.scale_free and not prim.shift_free
    assert list(lib)[-1] == "sinh"
    torch_u = torch.tensor(u, requires_grad=True)
    prim.torch(torch_u).sum().backward()
    np.testing.assert_allclose(torch_u.grad.numpy(), np.cosh(u), rtol=1e-12)


@pytest.mark.parametrize(
    ("text", "domain", "closed", "poles"),
    [
        ("log(1 + x)", (-1.0, math.inf), (False, False), ()),
        ("sqrt(1 - x^2)", (-1.0, 1.0), (True, True), ()),
        ("1/(x - 1)", (-math.inf, math.inf), (False, False), (1.0,)),
        ("x*exp(-x)", (-math.inf, math.inf), (False, False), ()),
    ],
)
def test_add_finds_the_domain_numerically(text: str, domain, closed, poles) -> None:
    prim = Library.default().add("f", text)
    assert prim.domain == domain and prim.closed == closed and prim.poles == poles


def test_add_detects_power_law_symmetries() -> None:
    prim = Library.default().add("x^5", "x**5")
    assert prim.scale_free and prim.reflect == -1 and not prim.shift_free
    assert Library.default().add("e2", "exp(2*x)").shift_free


def test_add_complexity_default_and_explicit() -> None:
    lib = Library.default()
    assert lib.add("sinh", "sinh(x)").complexity == 2  # 1 + count_ops
    assert lib.add("cosh", "cosh(x)", complexity=7).complexity == 7


def test_add_respects_an_explicit_domain() -> None:
    prim = Library.default().add("sq", "x^2", domain=(0.0, 5.0))
    assert prim.domain == (0.0, 5.0) and prim.closed == (True, True)
    assert np.isnan(prim.numpy(np.array([-1.0, 6.0]))).all()


def test_user_torch_is_clamped_into_a_bounded_domain() -> None:
    prim = Library.default().add("l1", "log(1 + x)")
    u = torch.tensor([-5.0, -1.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    out = prim.torch(u)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(u.grad).all()
    assert out[2].item() == pytest.approx(0.0) and out[3].item() == pytest.approx(math.log(4))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x + y", "one variable"),
        ("2", "one variable"),
        ("sin(x", r"expected ',' or '\)'"),
        ("__import__('os').system('true')", "unknown function"),
        ("sin(x)**2 + cos(x)**2", "constant"),
    ],
)
def test_add_rejects_bad_text_with_a_clear_error(text: str, message: str) -> None:
    lib = Library.default()
    with pytest.raises(ValueError, match=message):
        lib.add("bad", text)
    assert "bad" not in lib


def test_add_parse_errors_keep_their_type() -> None:
    with pytest.raises(FormulaSyntaxError, match="adding primitive 'p'"):
        Library.default().add("p", "x y")


def test_add_name_clash_requires_replace() -> None:
    lib = Library.default()
    with pytest.raises(ValueError, match="already exists.*replace=True"):
        lib.add("sin", "sinh(x)")
    prim = lib.add("sin", "sinh(x)", replace=True)
    assert lib["sin"] is prim and prim.expr == sympy.sinh(X)
    assert Library.default()["sin"].expr == sympy.sin(X)


def test_add_rejects_bad_name_and_complexity() -> None:
    lib = Library.default()
    with pytest.raises(ValueError, match="name"):
        lib.add("  ", "sinh(x)")
    with pytest.raises(ValueError, match="complexity"):
        lib.add("s", "sinh(x)", complexity=-1)


def test_subset_remove_and_lookup_errors() -> None:
    lib = Library.default()
    small = lib.subset(["sin", "x", "0"])
    assert list(small) == ["sin", "x", "0"] and len(lib) == len(REQUIRED)
    small.remove("x")
    assert list(small) == ["sin", "0"] and "x" in lib
    with pytest.raises(KeyError, match="no primitive named 'nope'"):
        lib.subset(["nope"])
    with pytest.raises(KeyError, match="available"):
        small.remove("x")


def test_library_rejects_duplicates_and_non_primitives() -> None:
    sin = DEFAULT["sin"]
    with pytest.raises(ValueError, match="duplicate"):
        Library([sin, sin])
    with pytest.raises(TypeError, match="Primitive"):
        Library(["sin"])  # type: ignore[list-item]


def test_primitive_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT["sin"].complexity = 1  # type: ignore[misc]
