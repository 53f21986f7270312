"""Training-step speed of kansci's KAN against an MLP of equal FLOPs (and pykan when installed).

Run ``python -m kansci.bench.speed`` (or ``kansci bench speed``).  For each shape it times one
training step (forward, MSE loss, sparsity regulariser where the model has one, backward) on a
batch of 10,000 rows with 2 threads, interleaving the models round by round so that machine
noise hits them alike, and prints the median step times and their ratios.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from torch import nn

from .._model import KAN
from .._regularizer import edge_magnitudes, sparsity_penalty

SHAPES = ([4, 10, 1], [8, 32, 32, 1])
BASIS_FLOPS = 12  # elementwise operations per basis value in the closed-form cubic


def kan_flops(width, grid: int, k: int) -> int:
    """Forward FLOPs per row: the dense contraction, the residual branch and the bases."""
    nb = grid + k
    return sum(2 * a * b * (nb + 1) + BASIS_FLOPS * a * nb for a, b in zip(width[:-1], width[1:]))


def mlp_for_flops(width, flops: int) -> list[int]:
    """An MLP of the same depth whose hidden layers share one width H matching ``flops``."""
    n_in, n_out, n_hidden = width[0], width[-1], len(width) - 2
    # 2*(n_in*H + (n_hidden-1)*H^2 + H*n_out) = flops
    a, b, c = 2 * (n_hidden - 1), 2 * (n_in + n_out), -flops
    h = -c / b if a == 0 else (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return [n_in] + [max(1, round(h))] * n_hidden + [n_out]


def make_mlp(width) -> nn.Module:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(width[:-1], width[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(width) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def _kan_step(model, x, y, reg: bool, reg_rows: int):
    out, hidden = model.forward_with_hidden(x)
    loss = torch.mean((out - y) ** 2)
    if reg:
        mags = [edge_magnitudes(layer, h[:reg_rows]) for layer, h in zip(model.layers, hidden)]
        loss = loss + 1e-3 * sparsity_penalty(mags)
    loss.backward()


def _mlp_step(model, x, y):
    torch.mean((model(x) - y) ** 2).backward()


def _pykan_step(model, x, y, reg: bool):
    out = model(x)
    loss = torch.mean((out - y) ** 2)
    if reg:
        loss = loss + 1e-3 * model.reg("edge_forward_spline_n", 1.0, 2.0, 0.0, 0.0)
    loss.backward()


def _try_pykan(width, grid, k):
    try:
        from kan import KAN as PyKAN  # type: ignore[import-not-found]
    except Exception:  # pykan is optional and may fail to import on newer torch
        return None
    try:
        return PyKAN(width=list(width), grid=grid, k=k, seed=0, auto_save=False, save_act=True)
    except TypeError:
        return PyKAN(width=list(width), grid=grid, k=k, seed=0)


def _time(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory instead of returning it to the system (this process only).

    By default glibc serves large blocks with fresh pages from the system and hands them back
    when freed, so every training step pays a page fault per 4 kB of every large tensor.
    ``mallopt`` raising the mmap and trim thresholds makes the process reuse its memory (what
    ``MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824`` does from the
    environment).  Returns whether it could (glibc only).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 256 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        return False


def run(batch: int = 10_000, grid: int = 10, k: int = 3, rounds: int = 20, threads: int = 2, reg: bool = True):
    """Benchmark every shape; returns a list of result dicts (median seconds per step)."""
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    results = []
    for width in SHAPES:
        x = torch.rand(batch, width[0], generator=gen) * 2 - 1
        y = torch.rand(batch, width[-1], generator=gen)
        kan = KAN(width, grid=grid, k=k, seed=0)
        kan.update_grid(x)  # as training does: every layer's grid covers the values it sees
        mlp_width = mlp_for_flops(width, kan_flops(width, grid, k))
        mlp = make_mlp(mlp_width)
        pykan = _try_pykan(width, grid, k)
        steps = {
            "kansci": lambda: _kan_step(kan, x, y, reg, 1024),
            "mlp": lambda: _mlp_step(mlp, x, y),
        }
        if pykan is not None:
            steps["pykan"] = lambda: _pykan_step(pykan, x, y, reg)
        for _ in range(3):  # warm up
            for fn in steps.values():
                fn()
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(rounds):
            for name, fn in steps.items():
                times[name].append(_time(fn))
        med = {name: statistics.median(v) for name, v in times.items()}
        row = dict(width=width, mlp_width=mlp_width, **{f"{n}_ms": 1e3 * v for n, v in med.items()})
        row["kansci_over_mlp"] = med["kansci"] / med["mlp"]
        if "pykan" in med:
            row["pykan_over_kansci"] = med["pykan"] / med["kansci"]
        results.append(row)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench speed", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--grid", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-reg", action="store_true", help="time the step without the regulariser")
    parser.add_argument("--allocator", choices=["default", "keep", "both"], default="both",
                        help="glibc's default allocator, one that keeps freed memory (mallopt), or both in turn")
    args = parser.parse_args(argv)
    settings = ["default", "keep"] if args.allocator == "both" else [args.allocator]
    for setting in settings:
        if setting == "keep" and not keep_freed_memory():
            print("(could not tune the allocator: not glibc)")
            continue
        rows = run(batch=args.batch, grid=args.grid, rounds=args.rounds, threads=args.threads, reg=not args.no_reg)
        _report(rows, args, setting)
    return 0


def _report(rows, args, setting: str) -> None:
    print(f"training step (forward+backward{'' if args.no_reg else ' + regulariser'}), batch {args.batch}, "
          f"G={args.grid}, k=3, {args.threads} threads, median of {args.rounds} interleaved rounds, "
          f"allocator: {'glibc default' if setting == 'default' else 'keeps freed memory (mallopt)'}")
    for r in rows:
        line = (f"KAN {r['width']}: kansci {r['kansci_ms']:.2f} ms | MLP {r['mlp_width']} (equal FLOPs) "
                f"{r['mlp_ms']:.2f} ms | kansci/MLP = {r['kansci_over_mlp']:.2f}x")
        if "pykan_ms" in r:
            line += f" | pykan {r['pykan_ms']:.2f} ms, pykan/kansci = {r['pykan_over_kansci']:.1f}x"
        else:
            line += " | pykan not installed"
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
