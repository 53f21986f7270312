"""Devices and the fast step: step modes equal the reference, CUDA equals CPU, clear errors."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

import kansci
from kansci import _fused
from kansci._basis import _features, _locate, edge_features
from kansci._fused import compile_or_eager, recomputed_layer, step_mode

F64 = torch.float64
CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device")
without_cuda = pytest.mark.skipif(CUDA, reason="a CUDA device is present")


class Square:
    name = "x^2"

    @staticmethod
    def torch(u):
        return u * u


def _model(k=3, base="silu", width=(3, 5, 2, 1), seed=1, symbolic=True, device=None):
    m = kansci.KAN(list(width), grid=6, k=k, seed=seed, dtype=F64, base_fun=base, device=device)
    if symbolic:
        m.set_symbolic(0, 1, 2, Square(), (0.7, 0.1, 1.3, -0.2))
    return m


def _inputs(n=600, d=3, seed=0, device=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=F64) * 3 - 1.5  # a third of the points outside [-1, 1]
    x[:3] = torch.tensor([-1.0, 0.0, 1.0], dtype=F64)  # on knots
    x[3] = torch.tensor([7.0, -9.0, 1e-12], dtype=F64)  # far outside (many intervals)
    return x if device is None else x.to(device)


def _step(model, x):
    """Outputs and gradients (input and every parameter) of a loss with the regulariser."""
    from kansci._regularizer import edge_magnitudes, sparsity_penalty

    model.zero_grad()
    xx = x.clone().requires_grad_(True)
    out, hidden = model.forward_with_hidden(xx)
    mags = [edge_magnitudes(layer, h[:200]) for layer, h in zip(model.layers, hidden)]
    loss = (out**2).mean() + 1e-2 * sparsity_penalty(mags)
    loss.backward()
    grads = [p.grad.detach().cpu().clone() if p.grad is not None else torch.zeros(()) for p in model.parameters()]
    return [out.detach().cpu(), xx.grad.detach().cpu(), *grads]


def _assert_same(a, b, atol=1e-10):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, rtol=0, atol=atol)


# ------------------------------------------------------------------ step modes on the CPU
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("base", ["silu", "identity"])
def test_step_modes_equal_the_reference(k, base, monkeypatch):
    monkeypatch.setitem(_fused.BLOCK_BYTES, "cpu", 1)  # tiny blocks: 256 rows, several per batch
    ref_model = _model(k, base)
    x = _inputs()
    ref = _step(ref_model, x)
    for mode in ("recompute", "dense"):
        m = copy.deepcopy(ref_model)
        with step_mode(m, mode):
            got = _step(m, x)
        _assert_same(ref, got)
        assert [layer.step for layer in m.layers] == ["eager"] * len(m.layers)  # restored


def test_gpu_index_path_equals_the_cpu_shortcut_inside_the_grid(monkeypatch):
    """On a CPU, points all inside their grid take a shortcut; the GPU's table path must agree."""
    import kansci._basis as basis

    m = _model(symbolic=False)
    x = torch.rand(500, 3, dtype=F64) * 1.8 - 0.9
    m.update_grid(x)
    ref = _step(m, x)
    monkeypatch.setattr(basis, "_inside_on_cpu", lambda *a: False)
    _assert_same(ref, _step(m, x), atol=0)


def test_recomputed_layer_stores_only_its_input_and_weights():
    layer = kansci.KANLayer(4, 3, grid=5, dtype=F64)
    x = (torch.rand(300, 4, dtype=F64) * 2 - 1).requires_grad_(True)
    w, inv_h = layer.edge_weights().reshape(-1, 3), layer.inv_h
    y = recomputed_layer(x, w, layer.bias, layer.grid_lo, inv_h, layer.n_basis, layer.k, "silu", rows=64)
    saved = {t.data_ptr() for t in y.grad_fn.saved_tensors}
    assert saved <= {x.data_ptr(), w.data_ptr(), layer.grid_lo.data_ptr(), inv_h.data_ptr()}
    torch.testing.assert_close(y, layer.forward_features(x)[0], rtol=0, atol=1e-12)


def test_large_prediction_goes_by_blocks_and_equals_one_block(monkeypatch):
    m = _model()
    x = _inputs(2000)
    with torch.no_grad():
        whole = m(x)
        monkeypatch.setitem(_fused.BLOCK_BYTES, "cpu", 1)
        torch.testing.assert_close(m(x), whole, rtol=0, atol=1e-12)


def test_basis_code_never_reads_data_back_to_the_host():
    """On the meta device a tensor has no values, so any data-dependent branch would raise."""
    x = torch.empty(64, 3, device="meta", dtype=F64, requires_grad=True)
    lo, inv_h = torch.zeros(3, device="meta", dtype=F64), torch.ones(3, device="meta", dtype=F64)
    idx, f, slot = _locate(x, lo, inv_h, 8, 3)
    assert idx.shape == (64, 3, 4) and f.shape == (64, 3)
    _features(x.detach(), lo, inv_h, 8, 3, "silu")
    edge_features(x, lo, inv_h, 8, 3, "silu").sum().backward()
    w = torch.empty(3 * 9, 2, device="meta", dtype=F64, requires_grad=True)
    recomputed_layer(x, w, torch.zeros(2, device="meta", dtype=F64), lo, inv_h, 8, 3, "silu", rows=16).sum().backward()


@pytest.mark.slow  # compiling takes 10-60 s on a CPU; the dense form it compiles is tested above
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_compiled_step_equals_the_reference(device):
    m = _model(symbolic=False, width=(3, 4, 1), device=device)
    x = _inputs(300, device=device)
    fast = copy.deepcopy(m)

    def loss(model, xx):
        return (model(xx) ** 2).mean()

    run = compile_or_eager(loss)
    with step_mode(fast, "dense"):
        xx = x.clone().requires_grad_(True)
        run(fast, xx).backward()
    if not run.active:
        pytest.skip(f"torch.compile is not usable here: {run.failed}")
    m.zero_grad()
    xr = x.clone().requires_grad_(True)
    loss(m, xr).backward()
    torch.testing.assert_close(xx.grad, xr.grad, rtol=0, atol=1e-10)
    for p, q in zip(m.parameters(), fast.parameters()):
        if p.grad is not None:
            torch.testing.assert_close(q.grad, p.grad, rtol=0, atol=1e-10)


def test_compile_failure_falls_back_to_eager(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler\nsecond line")

    monkeypatch.setattr(torch, "compile", broken)
    run = compile_or_eager(lambda a: a + 1)
    assert not run.active and run.failed.startswith("RuntimeError: no compiler")
    assert run(torch.ones(2)).tolist() == [2.0, 2.0]


def test_fit_step_modes_agree_and_bad_step_is_rejected():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(400, 2, generator=g, dtype=F64) * 2 - 1
    y = torch.sin(3 * X[:, 0]) + X[:, 1] ** 2
    a, b = _model(width=(2, 3, 1), symbolic=False), _model(width=(2, 3, 1), symbolic=False)
    ha = kansci.fit(a, X, y, steps=4, lamb=1e-3, step="eager")
    hb = kansci.fit(b, X, y, steps=4, lamb=1e-3, step="recompute", device="cpu")
    np.testing.assert_array_equal(ha.train_loss.to_numpy(), hb.train_loss.to_numpy())
    with pytest.raises(ValueError, match="step must be one of"):
        kansci.fit(a, X, y, steps=1, step="fast")


def test_auto_step_recomputes_only_large_batches_on_a_gpu():
    m = _model(symbolic=False)
    assert _fused.choose_step("auto", m, 10**9) == "eager"  # CPU: always the reference
    assert _fused.choose_step("compile", m, 10) == "dense"
    assert _fused.feature_bytes(m, 1000) == 1000 * (3 * 10 + 5 * 10 + 2 * 10) * 8


# ------------------------------------------------------------------ device errors
def test_device_names_are_checked():
    from kansci._device import resolve_device

    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if CUDA else "cpu")
    for bad in ("tpu", "gpu0", "mps"):
        with pytest.raises(kansci.InputError, match="device"):
            resolve_device(bad)


@without_cuda
def test_asking_for_cuda_without_one_is_a_one_line_error(tmp_path, capsys):
    X, y = np.random.default_rng(0).uniform(1, 2, (50, 2)), np.arange(50.0)
    model = kansci.KAN([2, 2, 1])
    for call in (lambda: kansci.fit(model, X, y, steps=1, device="cuda"),
                 lambda: kansci.train_sparse(model, X, y, steps=1, device="cuda"),
                 lambda: kansci.prune_auto(model, X, y, device="cuda"),
                 lambda: kansci.auto_symbolic(model, X, device="cuda"),
                 lambda: kansci.discover(_law_table(60), "y", device="cuda"),
                 lambda: kansci.KANRegressor(device="cuda").fit(X, y)):
        with pytest.raises(ValueError) as info:
            call()
        msg = str(info.value)
        assert "cuda" in msg and "cpu" in msg and "\n" not in msg
    assert model.device == torch.device("cpu")
    path = tmp_path / "t.csv"
    _law_table(30).to_csv(path, index=False)
    from kansci.cli import main

    for cmd in ("discover", "fit"):
        capsys.readouterr()
        assert main([cmd, str(path), "--target", "y", "--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("kansci: error: device 'cuda'") and err.count("\n") == 1


def _law_table(n, seed=0, d=3):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 3, (n, d))
    import pandas as pd

    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(d)])
    df["y"] = df.x0 * np.sin(df.x1)
    return df


# ------------------------------------------------------------------ CUDA (skipped without a GPU)
@needs_cuda
@pytest.mark.parametrize("mode", ["eager", "recompute", "dense"])
def test_cuda_gives_the_cpu_outputs_and_gradients(mode):
    cpu = _model()
    gpu = copy.deepcopy(cpu).to("cuda")
    x = _inputs()
    ref = _step(cpu, x)
    with step_mode(gpu, mode):
        got = _step(gpu, x.cuda())
    _assert_same(ref, got)


@needs_cuda
def test_cuda_step_never_synchronises_with_the_host():
    m = _model(symbolic=False).to("cuda")
    x = _inputs(device="cuda").requires_grad_(True)
    for mode in ("eager", "recompute"):
        with step_mode(m, mode):
            m(x).sum().backward()  # warm-up: lazy initialisation of CUDA libraries is not a step
            torch.cuda.synchronize()
            torch.cuda.set_sync_debug_mode("error")
            try:
                m(x).sum().backward()
            finally:
                torch.cuda.set_sync_debug_mode("default")


@needs_cuda
def test_fit_prune_snap_and_discover_on_cuda():
    df = _law_table(400)
    X, y = df[["x0", "x1", "x2"]].to_numpy(), df["y"].to_numpy()
    model = kansci.KAN([3, 3, 1], grid=5, seed=0, dtype=F64)
    kansci.train_sparse(model, X, y, steps=5, warmup=2, device="cuda")
    assert model.device.type == "cuda"
    pruned, _ = kansci.prune_auto(model, X, y, retrain_steps=2, device="cuda")
    assert pruned.device.type == "cuda"
    kansci.auto_symbolic(pruned, X[:, _.input_columns], device="cuda")
    d = kansci.discover(df, "y", time_limit=20, device="cuda")
    assert d.r2 > 0.99


# ------------------------------------------------------------------ the speed bench
def test_speed_bench_runs_every_mode_and_writes_json(tmp_path, capsys):
    from kansci.bench import speed

    out = tmp_path / "speed.json"
    assert speed.main(["--shape", "3,4,1@300", "--modes", "eager,recompute", "--rounds", "2",
                       "--allocator", "default", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["device"] == "cpu" and [r["mode"] for r in data["rows"]] == ["eager", "recompute"]
    for r in data["rows"]:
        assert r["width"] == [3, 4, 1] and r["batch"] == 300 and r["kansci_ms"] > 0 and r["mlp_ms"] > 0
    printed = capsys.readouterr().out
    assert "| shape, batch | mode | kansci ms |" in printed and "[3, 4, 1], 300 | recompute" in printed
    assert speed.main(["--modes", "fast"]) == 2
    if not CUDA:
        assert speed.main(["--device", "cuda"]) == 2
