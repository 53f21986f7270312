"""Physics-informed training: input derivatives of KANs, Poisson residuals, collocation, fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.autograd import gradgradcheck

import kansci
from kansci import pde
from kansci._basis import bspline_basis, edge_features

F64 = torch.float64
PI = math.pi


def test_laplacian_of_a_known_function():
    def u(x):
        return torch.sin(x[:, 0]) * torch.exp(x[:, 1]) + x[:, 0] ** 3 * x[:, 1] ** 2

    x = torch.rand(50, 2, dtype=F64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    val, lap = pde.laplacian(u, x)
    a, b = x[:, 0], x[:, 1]
    exact = -torch.sin(a) * torch.exp(b) + 6 * a * b**2 + torch.sin(a) * torch.exp(b) + 2 * a**3
    torch.testing.assert_close(lap, exact, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(val, u(x))
    _, grad = pde.gradient(u, x)
    torch.testing.assert_close(grad[:, 1], torch.sin(a) * torch.exp(b) + 2 * a**3 * b)


def test_kan_laplacian_with_symbolic_edges_is_analytic():
    # u = sin(2 x0 + 0.3) + 1.5 x1^2 - 0.2, built from a KAN's symbolic slots
    model = kansci.KAN([2, 1], grid=5, dtype=F64)
    lib = kansci.Library.default()
    model.set_symbolic(0, 0, 0, lib["sin"], (2.0, 0.3, 1.0, 0.0))
    model.set_symbolic(0, 1, 0, lib["x^2"], (1.0, 0.0, 1.5, -0.2))
    x = torch.rand(40, 2, dtype=F64) * 2 - 1
    _, lap = pde.laplacian(model, x)
    torch.testing.assert_close(lap, -4 * torch.sin(2 * x[:, 0] + 0.3) + 3.0, rtol=1e-12, atol=1e-12)


def _fd_second(model, x, axis, h=1e-5):
    def grad(z):
        z = z.detach().requires_grad_(True)
        return torch.autograd.grad(model(z).sum(), z)[0][:, axis]

    e = torch.zeros(x.shape[1], dtype=F64)
    e[axis] = h
    return (grad(x + e) - grad(x - e)) / (2 * h)


@pytest.mark.parametrize("width", [[2, 3, 1], [2, 4, 3, 1]])
def test_kan_second_derivatives_match_finite_differences(width):
    # spline edges: the custom backward of the basis must itself be differentiable
    model = kansci.KAN(width, grid=5, dtype=F64, seed=3, noise_scale=1.0)
    x = torch.rand(30, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    _, lap = pde.laplacian(model, x)
    fd = _fd_second(model, x, 0) + _fd_second(model, x, 1)
    torch.testing.assert_close(lap, fd, rtol=1e-5, atol=1e-7)
    assert lap.abs().max() > 1e-3  # not trivially zero


def test_basis_backward_is_twice_differentiable_inside_and_outside_the_grid():
    lo = torch.full((2,), -1.0, dtype=F64)
    inv_h = torch.full((2,), 2.5, dtype=F64)
    for scale in (1.8, 3.0):  # all inside; some points outside the grid range
        x = ((torch.rand(7, 2, dtype=F64) - 0.5) * scale).requires_grad_()
        assert gradgradcheck(lambda z: edge_features(z, lo, inv_h, 8, 3), (x,))
        assert gradgradcheck(lambda z: bspline_basis(z, lo, inv_h, 8, 3), (x,))


def test_laplacian_gradient_reaches_the_parameters():
    model = kansci.KAN([2, 3, 1], grid=4, dtype=F64, seed=0)
    x = torch.rand(20, 2, dtype=F64) * 2 - 1
    _, lap = pde.laplacian(model, x)
    lap.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (model.layers[0].coef, model.layers[1].coef))


def test_poisson_residual_vanishes_on_the_exact_solution():
    def exact(x):
        return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])

    def source(x):
        return -2 * PI**2 * exact(x)

    x = pde.box_interior([(-1, 1), (-1, 1)], 9)
    res = pde.poisson_residual(source)(exact, x)
    assert res.shape == (81,)
    assert float(res.detach().abs().max()) < 1e-10


def test_collocation_points():
    inner = pde.box_interior([(-1, 1), (0, 2)], 5)
    assert inner.shape == (25, 2)
    assert bool(((inner[:, 0] > -1) & (inner[:, 0] < 1) & (inner[:, 1] > 0) & (inner[:, 1] < 2)).all())
    rand = pde.box_interior([(-1, 1), (0, 2)], 100, kind="random", seed=3)
    assert rand.shape == (100, 2)
    torch.testing.assert_close(rand, pde.box_interior([(-1, 1), (0, 2)], 100, kind="random", seed=3))
    edge = pde.box_boundary([(-1, 1), (0, 2)], 6)
    assert edge.shape == (24, 2)
    on_x = torch.isclose(edge[:, 0].abs(), torch.tensor(1.0, dtype=F64))
    on_y = torch.isclose(edge[:, 1], torch.tensor(0.0, dtype=F64)) | torch.isclose(edge[:, 1], torch.tensor(2.0, dtype=F64))
    assert bool((on_x | on_y).all())
    assert pde.box_boundary([(0, 1)], 2).shape == (2, 1)


@pytest.mark.parametrize("call, match", [
    (lambda: pde.box_interior([(1, -1)], 4), "high > low"),
    (lambda: pde.box_interior([(-1, 1)], 4, kind="sobol"), "grid' or 'random"),
    (lambda: pde.laplacian(lambda x: x, torch.zeros(3, 2, dtype=F64)), "one value per row"),
    (lambda: pde.fit_pinn(torch.nn.Linear(1, 1).double(), lambda m, x: m(x)[:, 0], torch.zeros(3, 1, dtype=F64),
                          steps=1, grids=[3, 5]), "needs a KAN"),
    (lambda: pde.fit_pinn(kansci.KAN([1, 1], dtype=F64), lambda m, x: m(x)[:, 0], torch.zeros(3, 1, dtype=F64),
                          torch.zeros(2, 1, dtype=F64), steps=1), "boundary_values"),
])
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_fit_pinn_solves_a_1d_poisson_problem():
    # u'' = -pi^2 sin(pi x) on [-1, 1], u(+-1) = 0: u = sin(pi x)
    def exact(x):
        return torch.sin(PI * x[:, 0])

    model = kansci.KAN([1, 1], grid=5, dtype=F64, seed=0)
    inner = pde.box_interior([(-1, 1)], 40)
    edge = pde.box_boundary([(-1, 1)], 2)
    hist = pde.fit_pinn(model, pde.poisson_residual(lambda x: -PI**2 * exact(x)), inner, edge, 0.0,
                        pde_weight=0.01, steps=[8, 8], grids=[5, 10], solution=exact,
                        eval_points=pde.box_interior([(-1, 1)], 200, kind="random", seed=1))
    assert list(hist.columns) == ["step", "grid", "loss", "pde", "bc", "reg", "rel_l2", "seconds", "cpu_seconds"]
    assert list(hist.step) == list(range(1, len(hist) + 1))
    assert set(hist.grid) == {5, 10}
    assert hist.rel_l2.iloc[-1] < 1e-2
    assert hist.rel_l2.iloc[-1] < hist.rel_l2.iloc[0]


def test_extend_covering_keeps_the_function_where_hidden_inputs_left_the_grid():
    model = kansci.KAN([2, 3, 1], grid=5, dtype=F64, seed=2, noise_scale=1.0)
    x = torch.rand(300, 2, dtype=F64) * 2 - 1
    model.update_grid(x)
    with torch.no_grad():  # move the hidden values outside the hidden layer's grid
        model.layers[0].scale_base.mul_(3.0)
    hidden = model.layer_inputs(x)[1]
    assert bool((hidden.max(0).values > model.layers[1].grid_hi).any())
    before = model.predict(x)
    plain = kansci.KAN([2, 3, 1], grid=5, dtype=F64, seed=2, noise_scale=1.0)
    plain.load_state_dict(model.state_dict())
    plain.extend_grid(10, x)
    pde.extend_covering(model, x, 10)
    assert model.layers[0].grid == 10 and model.layers[1].grid >= 10
    torch.testing.assert_close(model.predict(x), before, rtol=0, atol=1e-9)
    assert float((plain.predict(x) - before).abs().max()) > 1e-6  # what the plain extension loses


def test_minimize_restores_the_best_state_and_records_parts():
    w = torch.nn.Parameter(torch.tensor([3.0, -2.0], dtype=F64))

    def loss():
        return (w**2).sum() + 1.0, {"sq": (w**2).sum()}

    hist = pde.minimize(loss, [w], steps=3, optimizer="adam", lr=0.5)
    assert list(hist.columns) == ["step", "loss", "sq", "seconds"]
    assert hist.attrs["best_loss"] == pytest.approx(float(loss()[0].detach()))
    hist = pde.minimize(loss, [w], steps=5)
    assert float(w.detach().abs().max()) < 1e-6
    with pytest.raises(ValueError, match="optimizer"):
        pde.minimize(loss, [w], steps=1, optimizer="sgd")


def _formula_module(text):
    import sympy

    from kansci.formula import to_torch

    x, y = sympy.symbols("x y", real=True)
    return to_torch(sympy.sympify(text, locals={"x": x, "y": y}), [x, y])


def test_snap_solution_recovers_a_product_through_the_pde():
    import sympy

    # an approximate solution: constants off by ~1e-3, as a trained network's would be
    approx = _formula_module("1.002*sin(3.1385*x + 0.001)*sin(3.1450*y - 0.002) + 0.0005")
    box = [(-1.0, 1.0), (-1.0, 1.0)]
    found = pde.snap_solution(approx, box, n=31)
    assert found.kind == "multiplicative" and found.separability["multiplicative"] < 1e-2
    assert list(found.factors.primitive) == ["sin", "sin"]
    x, y = found.symbols
    exact = sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)
    assert sympy.simplify(found.expr - exact) != 0  # the data alone do not pin the constants

    def source(p):
        return -2 * PI**2 * torch.sin(PI * p[:, 0]) * torch.sin(PI * p[:, 1])

    physics = pde.snap_solution(approx, box, n=31, residual=pde.poisson_residual(source),
                                interior=pde.box_interior(box, 15), boundary=pde.box_boundary(box, 17),
                                boundary_values=0.0, pde_weight=0.01)
    assert physics.pde_loss[1] < 1e-12 < physics.pde_loss[0]
    assert sympy.simplify(physics.expr - exact) == 0


def test_snap_solution_sums_and_non_separable_networks():
    import sympy

    found = pde.snap_solution(_formula_module("x**2 + 0.5*sin(y)"), [(-1, 1), (-2, 2)], n=25)
    x, y = found.symbols
    assert found.kind == "additive"
    assert sympy.simplify(found.expr - (x**2 + sympy.sin(y) / 2)) == 0
    tangled = kansci.KAN([2, 3, 1], grid=3, dtype=F64, seed=0, noise_scale=1.0)
    found = pde.snap_solution(tangled, [(-1, 1), (-1, 1)], n=15, recognise=False)
    assert found.kind == "edges" and found.factors.empty
    assert np.isfinite(found.rmse)


def test_fit_pinn_sparsity_regulariser_is_recorded_and_lowers_the_penalty():
    from kansci._regularizer import edge_magnitudes, sparsity_penalty

    def exact(x):
        return torch.sin(PI * x[:, 0])

    inner = pde.box_interior([(-1, 1)], 30)
    edge = pde.box_boundary([(-1, 1)], 2)
    res = pde.poisson_residual(lambda x: -PI**2 * exact(x))
    plain = kansci.KAN([1, 3, 1], grid=5, dtype=F64, seed=0)
    sparse = kansci.KAN([1, 3, 1], grid=5, dtype=F64, seed=0)
    pde.fit_pinn(plain, res, inner, edge, 0.0, pde_weight=0.01, steps=8)
    hist = pde.fit_pinn(sparse, res, inner, edge, 0.0, pde_weight=0.01, steps=8, lamb=0.05)
    assert hist.reg.notna().all()

    def penalty(model):
        with torch.no_grad():
            _, hidden = model.forward_with_hidden(inner)
            return float(sparsity_penalty([edge_magnitudes(m, h) for m, h in zip(model.layers, hidden)]))

    assert penalty(sparse) < penalty(plain)
