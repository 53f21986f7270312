"""The KAN training core: basis, layer, grids, symbolic slots, fit, save/load."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import kansci
from kansci._basis import bspline_basis
from kansci._regularizer import edge_magnitudes

F64 = torch.float64


def cox_de_boor(x: np.ndarray, knots: np.ndarray, k: int) -> np.ndarray:
    """Reference B-spline bases by the Cox-de Boor recursion, (len(x), len(knots)-k-1)."""
    basis = np.array([[knots[j] <= xi < knots[j + 1] for j in range(len(knots) - 1)] for xi in x], float)
    for p in range(1, k + 1):
        nxt = np.zeros((len(x), len(knots) - 1 - p))
        for j in range(nxt.shape[1]):
            left = (x - knots[j]) / (knots[j + p] - knots[j])
            right = (knots[j + p + 1] - x) / (knots[j + p + 1] - knots[j + 1])
            nxt[:, j] = left * basis[:, j] + right * basis[:, j + 1]
        basis = nxt
    return basis


class Sine:
    """A minimal primitive for the symbolic slot tests."""

    name = "sin"

    @staticmethod
    def torch(u):
        return torch.sin(u)


class Square:
    name = "x^2"

    @staticmethod
    def torch(u):
        return u * u


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_closed_form_basis_matches_cox_de_boor(k, requires_grad):
    grid, lo, hi = 7, -1.3, 2.1
    h = (hi - lo) / grid
    knots = lo + (np.arange(grid + 2 * k + 1) - k) * h
    x = np.random.default_rng(k).uniform(lo - (k + 1) * h, hi + (k + 1) * h, 400)
    ref = cox_de_boor(x, knots, k)
    xt = torch.tensor(x, dtype=F64)[:, None].requires_grad_(requires_grad)
    got = bspline_basis(xt, torch.tensor([lo], dtype=F64), torch.tensor([1 / h], dtype=F64), grid + k, k)
    assert np.abs(got[:, 0, :].detach().numpy() - ref).max() <= 1e-12
    inside = (x >= lo) & (x < hi)
    assert np.abs(got[:, 0, :].detach().numpy()[inside].sum(1) - 1).max() <= 1e-12


def test_basis_gradient_is_exact():
    x = (torch.rand(40, 3, dtype=F64) * 5 - 2.5).requires_grad_()
    lo, inv_h = torch.tensor([-1.0, -1.5, -0.5], dtype=F64), torch.tensor([2.0, 3.0, 4.0], dtype=F64)
    for k in (2, 3):
        assert torch.autograd.gradcheck(lambda z: bspline_basis(z, lo, inv_h, 5 + k, k), (x,))


def test_edge_features_and_their_gradient():
    from kansci._basis import edge_features

    x = (torch.rand(30, 3, dtype=F64) * 5 - 2.5).requires_grad_()
    lo, inv_h = torch.tensor([-1.0, -1.5, -0.5], dtype=F64), torch.tensor([2.0, 3.0, 4.0], dtype=F64)
    feats = edge_features(x, lo, inv_h, 8, 3, "silu")
    torch.testing.assert_close(feats[..., 0], torch.nn.functional.silu(x))
    torch.testing.assert_close(feats[..., 1:], bspline_basis(x.detach(), lo, inv_h, 8, 3))
    for base in ("silu", "identity", "zero"):
        assert torch.autograd.gradcheck(lambda z, b=base: edge_features(z, lo, inv_h, 8, 3, b), (x,))


def test_layer_forward_equals_sum_of_edge_activations():
    model = kansci.KAN([3, 4, 2], grid=6, seed=1, dtype=F64)
    x = torch.rand(50, 3, dtype=F64) * 2 - 1
    h = x
    for layer in model.layers:
        acts = layer.edge_activations(h)
        assert acts.shape == (50, layer.in_dim, layer.out_dim)
        torch.testing.assert_close(acts.sum(1) + layer.bias, layer(h))
        h = layer(h)


def test_masked_edge_contributes_nothing():
    model = kansci.KAN([2, 3, 1], grid=5, seed=0, dtype=F64)
    layer = model.layers[0]
    x = torch.rand(64, 2, dtype=F64) * 2 - 1
    before = layer(x)
    layer.mask[1, 2] = 0.0
    after = layer(x)
    torch.testing.assert_close(after[:, :2], before[:, :2])  # other nodes untouched
    changed = x.clone()
    changed[:, 1] = torch.rand(64, dtype=F64) * 2 - 1  # node 2 no longer sees input 1
    torch.testing.assert_close(layer(changed)[:, 2], after[:, 2])
    assert layer.edge_activations(x)[:, 1, 2].abs().max() == 0


def test_symbolic_slot_computes_affine_primitive_and_can_be_undone():
    model = kansci.KAN([2, 2, 1], grid=5, seed=0, dtype=F64)
    layer = model.layers[0]
    x = torch.rand(30, 2, dtype=F64) * 2 - 1
    spline_edge = layer.edge_activations(x)[:, 0, 1].clone()
    a, b, c, d = 2.0, 0.5, -1.5, 0.25
    model.set_symbolic(0, 0, 1, Sine(), (a, b, c, d))
    model.set_symbolic(0, 1, 0, Square(), (1.0, -0.5, 3.0, 0.0))
    model.set_symbolic(0, 1, 1, Sine(), (1.0, 0.0, 1.0, 0.0))
    acts = layer.edge_activations(x)
    torch.testing.assert_close(acts[:, 0, 1], c * torch.sin(a * x[:, 0] + b) + d)
    torch.testing.assert_close(acts[:, 1, 0], 3.0 * (x[:, 1] - 0.5) ** 2)
    torch.testing.assert_close(acts.sum(1) + layer.bias, layer(x))
    assert len(layer._groups) == 2  # evaluated grouped by primitive
    model.unset_symbolic(0, 0, 1)
    torch.testing.assert_close(layer.edge_activations(x)[:, 0, 1], spline_edge)
    assert set(model.symbolic_edges()) == {(0, 1, 0), (0, 1, 1)}


def test_symbolic_affine_constants_are_trainable():
    model = kansci.KAN([1, 1], grid=5, seed=0, dtype=F64)
    model.set_symbolic(0, 0, 0, Sine(), (1.3, 0.1, 0.8, 0.2))
    x = torch.linspace(-1, 1, 200, dtype=F64)[:, None]
    y = 2.0 * torch.sin(3.0 * x) + 0.5
    model.fit(x, y, steps=30, update_grid=False)
    a, b, c, d = model.layers[0].sym_affine[0, 0].tolist()
    pred = c * np.sin(a * x.numpy() + b) + d + model.layers[0].bias.item()
    assert np.abs(pred - y.numpy()).max() < 1e-6


def test_grid_update_and_extension_keep_the_function():
    torch.manual_seed(0)
    model = kansci.KAN([2, 3, 1], grid=5, seed=3, dtype=F64)
    x = torch.rand(300, 2, dtype=F64) * 1.6 - 0.8
    y = torch.sin(2 * x[:, :1]) * x[:, 1:]
    model.fit(x, y, steps=30, update_grid=False)
    before = model.predict(x)
    model.update_grid(x)
    after_update = model.predict(x)
    assert torch.allclose(model.layers[0].grid_lo, x.min(0).values, atol=0.05)
    assert (after_update - before).abs().max() < 2e-2 * before.std()  # new knots: approximate
    model.extend_grid(10, x)
    after_extend = model.predict(x)
    assert model.grid == 10 and model.layers[0].coef.shape[1] == 13
    assert (after_extend - after_update).abs().max() < 1e-8  # refinement contains the old spline


def test_edge_magnitudes_match_direct_computation():
    model = kansci.KAN([3, 4, 2], grid=5, seed=2, dtype=F64)
    x = torch.rand(500, 3, dtype=F64) * 2 - 1
    model.layers[0].mask[0, 1] = 0
    mags = edge_magnitudes(model.layers[0], x)
    direct = model.layers[0].edge_activations(x).std(0)
    torch.testing.assert_close(mags, direct, atol=1e-5, rtol=1e-6)


def test_fit_reduces_loss_and_returns_history():
    x = torch.rand(200, 2, dtype=F64) * 2 - 1
    y = x[:, :1] ** 2 + torch.sin(x[:, 1:])
    model = kansci.KAN([2, 3, 1], grid=5, seed=0, dtype=F64)
    hist = model.fit(x, y, steps=15, val_fraction=0.2, lamb=1e-4)
    assert list(hist.columns) == ["step", "train_loss", "val_loss", "reg", "lr", "seconds"]
    assert hist.train_loss.iloc[-1] < 0.01 * hist.train_loss.iloc[0] or hist.train_loss.iloc[-1] < 1e-5
    assert hist.val_loss.notna().all() and (hist.reg > 0).all()
    assert hist.attrs["best_step"] >= 1


def test_adam_minibatch_fit_reduces_loss():
    x = torch.rand(512, 2) * 2 - 1
    y = x[:, :1] * x[:, 1:]
    model = kansci.KAN([2, 3, 1], grid=5, seed=0)
    initial = float(torch.mean((model.predict(x) - y) ** 2))
    hist = model.fit(x, y, steps=150, optimizer="adam", lr=0.02, batch_size=64, update_grid=False)
    assert float(torch.mean((model.predict(x) - y) ** 2)) < 0.3 * initial
    assert len(hist) == 150


def test_fit_is_deterministic_and_leaves_global_rng_alone():
    x = torch.rand(100, 2, dtype=F64)
    y = x.sum(1, keepdim=True)
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    outs = []
    for _ in range(2):
        model = kansci.KAN([2, 2, 1], grid=4, seed=7, dtype=F64)
        model.fit(x, y, steps=3, val_fraction=0.2, lamb=1e-3)
        outs.append(model.predict(x))
    torch.testing.assert_close(outs[0], outs[1])
    assert torch.equal(torch.rand(1), expected)


def test_nan_target_gets_a_clear_error():
    x = np.random.default_rng(0).uniform(size=(20, 2))
    y = x.sum(1)
    y[3] = np.nan
    with pytest.raises(kansci.InputError, match="NaN"):
        kansci.KAN([2, 1]).fit(x, y, steps=1)
    with pytest.raises(kansci.InputError, match="column"):
        kansci.KAN([3, 1]).fit(x, x.sum(1), steps=1)


def test_interrupted_fit_returns_best_state():
    x = torch.rand(100, 1, dtype=F64)
    y = torch.sin(3 * x)
    model = kansci.KAN([1, 2, 1], grid=5, seed=0, dtype=F64)
    snapshots = []

    def interrupt(step, record):
        snapshots.append((record["train_loss"], model.snapshot()))
        if step == 4:
            raise KeyboardInterrupt

    hist = model.fit(x, y, steps=50, callback=interrupt, update_grid=False)
    assert hist.attrs["interrupted"] and len(hist) == 4
    best_loss = min(loss for loss, _ in snapshots)
    final = float(torch.mean((model.predict(x) - y) ** 2))
    assert math.isclose(final, best_loss, rel_tol=1e-9)


def test_divergence_restores_best_state_and_continues():
    x = torch.rand(100, 1, dtype=F64)
    y = 2 * x
    model = kansci.KAN([1, 1], grid=5, seed=0, dtype=F64)
    calls = {"n": 0}

    def poison(step, record):
        calls["n"] += 1
        if step == 2:
            with torch.no_grad():
                model.layers[0].coef.fill_(float("nan"))

    hist = model.fit(x, y, steps=6, callback=poison, update_grid=False)
    assert hist.attrs["divergences"] >= 1
    assert torch.isfinite(model.predict(x)).all()
    assert float(torch.mean((model.predict(x) - y) ** 2)) <= hist.train_loss.iloc[1] + 1e-12


def test_save_load_round_trip(tmp_path):
    model = kansci.KAN([2, 3, 1], grid=5, seed=0, input_names=["m [kg]", "v"], output_names=["E"], dtype=F64)
    x = torch.rand(50, 2, dtype=F64)
    model.fit(x, x[:, :1] * x[:, 1:] ** 2, steps=3)
    model.extend_grid(8, x)
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = kansci.KAN.load(path)
    torch.testing.assert_close(loaded.predict(x), model.predict(x), rtol=0, atol=0)
    assert loaded.input_names == ["m [kg]", "v"] and loaded.grid == 8
    payload = torch.load(path, weights_only=True)
    assert json.loads(payload["config"])["width"] == [2, 3, 1]


def test_load_rejects_other_format_versions_and_foreign_files(tmp_path):
    model = kansci.KAN([1, 1], grid=3)
    path = tmp_path / "m.pt"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    torch.save(payload, path)
    with pytest.raises(kansci.ModelFormatError, match="version 99"):
        kansci.KAN.load(path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(kansci.ModelFormatError):
        kansci.KAN.load(junk)
    torch.save({"anything": torch.zeros(1)}, junk)
    with pytest.raises(kansci.ModelFormatError, match="format"):
        kansci.KAN.load(junk)


def test_float32_and_float64_both_work():
    x = torch.rand(64, 2)
    for dtype in (torch.float32, torch.float64):
        model = kansci.KAN([2, 2, 1], grid=4, dtype=dtype)
        assert model(x.to(dtype)).dtype == dtype
        assert model.predict(x.numpy()).dtype == dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    model = kansci.KAN([2, 3, 1], grid=5, seed=0, dtype=F64)
    model.set_symbolic(0, 0, 0, Sine(), (1.0, 0.0, 1.0, 0.0))
    x = torch.rand(100, 2, dtype=F64)
    cpu = model.predict(x)
    model.to("cuda")
    torch.testing.assert_close(model.predict(x.cuda()).cpu(), cpu)
