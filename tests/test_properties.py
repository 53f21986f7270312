"""Property-based tests (hypothesis) for the basis, grid extension, snapping and formula export."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import kansci  # noqa: E402
from kansci._basis import bspline_basis  # noqa: E402
from kansci.formula import Formula  # noqa: E402
from kansci.symbolic import Library, fit_affine  # noqa: E402

F64 = torch.float64
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite = dict(allow_nan=False, allow_infinity=False)


@SETTINGS
@given(
    lo=st.floats(-100, 100, **finite),
    width=st.floats(1e-3, 1e3, **finite),
    grid=st.integers(1, 30),
    k=st.integers(1, 5),
    fractions=st.lists(st.floats(0, 1, exclude_max=True, **finite), min_size=1, max_size=20),
)
def test_basis_is_a_partition_of_unity_inside_the_grid(lo, width, grid, k, fractions):
    x = torch.tensor([[lo + f * width] for f in fractions], dtype=F64)
    x = torch.clamp(x, lo, lo + width * (1 - 1e-12))
    basis = bspline_basis(x, torch.tensor([lo], dtype=F64), torch.tensor([grid / width], dtype=F64), grid + k, k)
    assert torch.all(basis >= -1e-12)
    assert torch.allclose(basis.sum(-1), torch.ones_like(basis.sum(-1)), atol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 10_000), grid=st.integers(2, 8), factor=st.integers(2, 4))
def test_grid_extension_by_an_integer_factor_keeps_the_function(seed, grid, factor):
    model = kansci.KAN([2, 3, 1], grid=grid, seed=seed, dtype=F64, noise_scale=1.0)
    x = torch.rand(200, 2, dtype=F64, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    before = model.predict(x)
    model.extend_grid(grid * factor, x)
    assert torch.allclose(model.predict(x), before, atol=1e-7 * (1 + before.abs().max()))


@SETTINGS
@given(
    name=st.sampled_from(["sin", "x^2", "exp", "tanh", "1/x"]),
    a=st.floats(0.5, 2.0, **finite),
    b=st.floats(-0.5, 0.5, **finite),
    c=st.floats(0.5, 3.0, **finite),
    d=st.floats(-1.0, 1.0, **finite),
)
def test_snapping_reproduces_an_affine_primitive(name, a, b, c, d):
    prim = Library.default()[name]
    x = np.linspace(1.0, 2.0, 200) if name == "1/x" else np.linspace(-1.0, 1.0, 200)
    y = c * prim.numpy(a * x + b) + d
    fit = fit_affine(x, y, prim)
    assert fit.ok and fit.r2 > 1 - 1e-8
    np.testing.assert_allclose(fit.predict(x), y, atol=1e-5 * (np.abs(y).max() + 1))


_x, _y = sympy.symbols("x y", real=True)
_leaves = st.sampled_from([_x, _y, sympy.Integer(2), sympy.Rational(1, 3), sympy.pi, sympy.Float(1.5)])


def _combine(children):
    return st.one_of(
        st.tuples(children, children).map(lambda t: t[0] + t[1]),
        st.tuples(children, children).map(lambda t: t[0] * t[1]),
        children.map(sympy.sin),
        children.map(lambda e: sympy.exp(e / 4)),
        children.map(lambda e: e**2),
    )


expressions = st.recursive(_leaves, _combine, max_leaves=6)


@SETTINGS
@given(expr=expressions)
def test_formula_text_round_trips_and_exports_agree(expr):
    f = Formula(expr, ["x", "y"])
    back = sympy.sympify(str(f), locals=f.variable_map.by_name)
    assert sympy.simplify(back - f.expr) == 0
    X = np.random.default_rng(0).uniform(0.5, 1.5, (50, 2))
    with np.errstate(all="ignore"):
        a = f.predict(X)
    b = f.to_torch()(torch.as_tensor(X, dtype=F64)).detach().numpy()
    ok = np.isfinite(a)
    np.testing.assert_allclose(b[ok], a[ok], rtol=1e-9, atol=1e-12)
