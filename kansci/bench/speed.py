"""Training-step speed of kansci's KAN against an MLP of equal FLOPs (and pykan when installed).

Run ``python -m kansci.bench.speed`` (or ``kansci bench speed``).  For each shape it times one
training step (forward, MSE loss, sparsity regulariser where the model has one, backward)
and prints the median step times and their ratios.  On the CPU (default) the models are
interleaved round by round so that machine noise hits them alike, on a batch of 10,000 rows
with 2 threads.  With ``--device cuda`` the default shapes are the GPU ones
([4,10,1] and [8,32,32,1] at 10k rows, [8,32,32,1] at 1M, [64,256,256,1] at 100k), each
model is timed on its own with the stream synchronised around every step, and the peak
GPU memory of a step is reported.  ``--modes`` adds kansci's other step modes
(``recompute``: features recomputed in backward; ``compile``: ``torch.compile`` of the
elementwise form; ``compile-graphs``: the same with CUDA graphs); a compiled kansci row is
compared with the compiled MLP.  ``--json OUT`` writes the rows (after every shape, so a run
cut short keeps what it measured).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import statistics
import subprocess
import time

import torch
from torch import nn

from .._fused import compile_or_eager, step_mode
from .._model import KAN
from .._regularizer import edge_magnitudes, sparsity_penalty

CPU_SHAPES = (([4, 10, 1], 10_000), ([8, 32, 32, 1], 10_000))
GPU_SHAPES = (([4, 10, 1], 10_000), ([8, 32, 32, 1], 10_000), ([8, 32, 32, 1], 1_000_000),
              ([64, 256, 256, 1], 100_000))
MODES = ("eager", "recompute", "compile", "compile-graphs")
BASIS_FLOPS = 12  # elementwise operations per basis value in the closed-form cubic
# pykan builds (batch, in, out, G+k) tensors: beyond this many elements it is not tried
_PYKAN_MAX_ELEMENTS = 2_000_000_000
_OOM = getattr(torch.cuda, "OutOfMemoryError", RuntimeError)


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


def _kan_loss(model, x, y, reg: bool, reg_rows: int):
    out, hidden = model.forward_with_hidden(x)
    loss = torch.mean((out - y) ** 2)
    if reg:
        mags = [edge_magnitudes(layer, h[:reg_rows]) for layer, h in zip(model.layers, hidden)]
        loss = loss + 1e-3 * sparsity_penalty(mags)
    return loss


def _kan_step(model, x, y, reg: bool, reg_rows: int):
    _kan_loss(model, x, y, reg, reg_rows).backward()


def _mlp_loss(model, x, y):
    return torch.mean((model(x) - y) ** 2)


def _mlp_step(model, x, y):
    _mlp_loss(model, x, y).backward()


def _pykan_step(model, x, y, reg: bool):
    out = model(x)
    loss = torch.mean((out - y) ** 2)
    if reg:
        loss = loss + 1e-3 * model.reg("edge_forward_spline_n", 1.0, 2.0, 0.0, 0.0)
    loss.backward()


def _try_pykan(width, grid, k, device):
    try:
        from kan import KAN as PyKAN  # type: ignore[import-not-found]
    except Exception:  # pykan is optional and may fail to import on newer torch
        return None
    try:
        return PyKAN(width=list(width), grid=grid, k=k, seed=0, auto_save=False, save_act=True, device=device)
    except TypeError:
        return PyKAN(width=list(width), grid=grid, k=k, seed=0).to(device)


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


# ------------------------------------------------------------------ timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _peak_mb(fn, device: torch.device) -> float:
    """Peak GPU memory (MB) allocated while ``fn`` runs once, model and data included; NaN on a CPU."""
    if device.type != "cuda":
        return math.nan
    _sync(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    _sync(device)
    return torch.cuda.max_memory_allocated(device) / 2**20


def _reset_compiler() -> None:
    try:
        import torch._dynamo

        torch._dynamo.reset()
    except Exception:  # no compiler in this torch: the compiled rows fall back to eager anyway
        pass


def _zero_grad(model) -> None:
    for p in model.parameters():
        p.grad = None


def _stepper(loss_fn, model, *args, compiled: str | None = None):
    """A step closure ``() -> None`` (zero grads, loss, backward); compiled when asked.

    A compiled step whose backward fails turns into the eager step (as in ``kansci.fit``).
    """
    run = loss_fn
    graphs = compiled == "graphs"
    if compiled is not None:
        run = compile_or_eager(loss_fn, mode="reduce-overhead" if graphs else None, dynamic=False)
    mark = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)

    def step():
        _zero_grad(model)
        if graphs and mark is not None and run.active:
            mark()
        loss = run(model, *args)
        try:
            loss.backward()
        except Exception as exc:
            if compiled is None or not run.active:
                raise
            run.fail(exc)
            _zero_grad(model)
            run(model, *args).backward()

    step.compiled = run  # type: ignore[attr-defined]
    return step


def _measure(step, device, rounds: int, warmup: int = 3) -> tuple[float, float, float]:
    """(median seconds, peak MB, seconds of the first call: compilation and warm-up)."""
    first = _time(step, device)
    for _ in range(warmup - 1):
        step()
    peak = _peak_mb(step, device)
    times = [_time(step, device) for _ in range(rounds)]
    return statistics.median(times), peak, first


def _interleaved(steps: dict, device, rounds: int) -> dict[str, float]:
    for _ in range(3):  # warm up
        for fn in steps.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            times[name].append(_time(fn, device))
    return {name: statistics.median(v) for name, v in times.items()}


def _inputs(width, batch, device, gen):
    x = (torch.rand(batch, width[0], generator=gen) * 2 - 1).to(device)
    y = torch.rand(batch, width[-1], generator=gen).to(device)
    return x, y


def run(batch: int = 10_000, grid: int = 10, k: int = 3, rounds: int = 20, threads: int = 2, reg: bool = True,
        device: str = "cpu", shapes=None, modes=("eager",), pykan: bool = True, on_row=None):
    """Benchmark every (shape, batch) and mode; returns a list of result dicts (milliseconds, MB).

    ``shapes``: ``[(width, batch), ...]`` (default: :data:`CPU_SHAPES` with ``batch`` on a CPU,
    :data:`GPU_SHAPES` on a GPU).  ``on_row(row)`` is called after each row.
    """
    dev = torch.device(device)
    if dev.type == "cpu":
        torch.set_num_threads(threads)
    if shapes is None:
        shapes = [(w, batch) for w, _ in CPU_SHAPES] if dev.type == "cpu" else list(GPU_SHAPES)
    gen = torch.Generator().manual_seed(0)
    results = []
    for width, n in shapes:
        x, y = _inputs(width, n, dev, gen)
        kan = KAN(width, grid=grid, k=k, seed=0, device=dev)
        kan.update_grid(x)  # as training does: every layer's grid covers the values it sees
        mlp_width = mlp_for_flops(width, kan_flops(width, grid, k))
        mlp = make_mlp(mlp_width).to(dev)
        py = None
        if pykan and n * sum(a * b for a, b in zip(width[:-1], width[1:])) * (grid + k) <= _PYKAN_MAX_ELEMENTS:
            py = _try_pykan(width, grid, k, dev)
        for mode in modes:
            row = dict(device=str(dev), width=list(width), batch=n, mode=mode, mlp_width=mlp_width,
                       grid=grid, k=k, reg=reg, dtype="float32")
            if mode.startswith("compile"):
                _reset_compiler()  # each compiled row starts from an empty cache
            try:
                row.update(_run_mode(kan, mlp, py if mode == "eager" else None, x, y, mode, reg, dev, rounds))
            except _OOM as exc:
                row["error"] = f"out of memory ({str(exc).splitlines()[0][:120]})"
                torch.cuda.empty_cache()
            except Exception as exc:  # one failing row must not lose the others
                row["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}"
            results.append(row)
            if on_row is not None:
                on_row(row)
        del kan, mlp, py, x, y
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return results


def _run_mode(kan, mlp, py, x, y, mode, reg, dev, rounds) -> dict:
    layer_mode = {"eager": "eager", "recompute": "recompute"}.get(mode, "dense")
    compiled = {"compile": "default", "compile-graphs": "graphs"}.get(mode)
    out: dict = {}
    with step_mode(kan, layer_mode):
        kan_step = _stepper(_kan_loss, kan, x, y, reg, 1024, compiled=compiled)
        mlp_step = _stepper(_mlp_loss, mlp, x, y, compiled=compiled)
        if dev.type == "cpu":
            steps = {"kansci": kan_step, "mlp": mlp_step}
            if py is not None:
                steps["pykan"] = lambda: _pykan_step(py, x, y, reg)
            med = _interleaved(steps, dev, rounds)
            peaks = {name: math.nan for name in steps}
            firsts: dict = {}
        else:
            med, peaks, firsts = {}, {}, {}
            for name, fn in (("kansci", kan_step), ("mlp", mlp_step)):
                med[name], peaks[name], firsts[name] = _measure(fn, dev, rounds)
            if py is not None:
                try:
                    med["pykan"], peaks["pykan"], _ = _measure(lambda: _pykan_step(py, x, y, reg), dev,
                                                               max(rounds // 4, 3))
                except _OOM:
                    out["pykan"] = "out of memory"
                    torch.cuda.empty_cache()
    for name, v in med.items():
        out[f"{name}_ms"] = 1e3 * v
        out[f"{name}_peak_mb"] = peaks.get(name, math.nan)
    for name, v in firsts.items():
        out[f"{name}_first_s"] = v
    out["kansci_over_mlp"] = med["kansci"] / med["mlp"]
    if "pykan" in med:
        out["pykan_over_kansci"] = med["pykan"] / med["kansci"]
    if compiled is not None:
        out["compiled"] = bool(kan_step.compiled.active)
        if kan_step.compiled.failed:
            out["compile_error"] = kan_step.compiled.failed
    return out


# ------------------------------------------------------------------ command line
def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return platform.processor() or platform.machine()


def _parse_shape(text: str):
    """``4,10,1@10000`` -> ([4, 10, 1], 10000)."""
    try:
        width, batch = text.split("@")
        return [int(w) for w in width.split(",")], int(float(batch))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must look like 8,32,32,1@10000, got {text!r}") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kansci bench speed", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per step on the CPU shapes")
    parser.add_argument("--shape", type=_parse_shape, action="append",
                        help="WIDTH@BATCH, e.g. 8,32,32,1@1000000 (repeatable; default: the device's shapes)")
    parser.add_argument("--modes", default=None,
                        help=f"comma-separated kansci step modes among {','.join(MODES)} "
                             "(default: eager on a CPU, all on a GPU)")
    parser.add_argument("--grid", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-reg", action="store_true", help="time the step without the regulariser")
    parser.add_argument("--no-pykan", action="store_true", help="do not time pykan even when installed")
    parser.add_argument("--allocator", choices=["default", "keep", "both"], default="both",
                        help="CPU: glibc's default allocator, one that keeps freed memory (mallopt), or both in turn")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args(argv)

    from .._arrays import InputError
    from .._device import resolve_device

    try:
        dev = resolve_device(args.device)
    except InputError as exc:
        print(f"kansci bench speed: error: {exc}")
        return 2
    modes = tuple(m.strip() for m in (args.modes or ("eager" if dev.type == "cpu" else ",".join(MODES))).split(","))
    bad = [m for m in modes if m not in MODES]
    if bad:
        print(f"kansci bench speed: error: unknown mode(s) {bad}; choose among {list(MODES)}")
        return 2
    meta = dict(date=datetime.date.today().isoformat(), commit=_commit(), torch=torch.__version__,
                device=str(dev), device_name=_device_name(dev), threads=args.threads if dev.type == "cpu" else None,
                reg=not args.no_reg, grid=args.grid, rounds=args.rounds)
    settings = ["default", "keep"] if args.allocator == "both" else [args.allocator]
    if dev.type != "cpu":
        settings = ["cuda"]
    all_rows: list[dict] = []

    def save(row=None):
        if row is not None:
            all_rows.append(row)
        if args.json:
            rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                    for r in all_rows]  # strict JSON: no NaN
            with open(args.json, "w") as fh:
                json.dump({**meta, "rows": rows}, fh, indent=2, default=str)

    for setting in settings:
        if setting == "keep" and not keep_freed_memory():
            print("(could not tune the allocator: not glibc)")
            continue
        _header(args, dev, meta, setting)
        run(batch=args.batch, grid=args.grid, rounds=args.rounds, threads=args.threads, reg=not args.no_reg,
            device=str(dev), shapes=args.shape, modes=modes, pykan=not args.no_pykan,
            on_row=lambda r, s=setting: (r.update(allocator=s), save(r), print(_line(r), flush=True)))
    save()
    print()
    print(markdown_table(all_rows))
    return 0


def markdown_table(rows: list[dict]) -> str:
    """The rows as the issue's table: shape and batch, mode, times, ratio, peak memory, pykan."""
    out = ["| shape, batch | mode | kansci ms | equal-FLOP MLP ms | kansci/MLP | kansci peak GB | pykan/kansci |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        head = f"| {r['width']}, {r['batch']:,} | {r['mode']}" + (f" ({r['allocator']})" if r.get("allocator") in (
            "default", "keep") else "")
        if "error" in r:
            out.append(f"{head} | {r['error']} | | | | |")
            continue
        peak = r.get("kansci_peak_mb")
        peak = "" if peak is None or math.isnan(peak) else f"{peak / 1024:.2f}"
        pyk = f"{r['pykan_over_kansci']:.1f}x" if "pykan_over_kansci" in r else r.get("pykan", "")
        out.append(f"{head} | {r['kansci_ms']:.2f} | {r['mlp_ms']:.2f} | {r['kansci_over_mlp']:.2f}x | {peak} | {pyk} |")
    return "\n".join(out)


def _header(args, dev, meta, setting: str) -> None:
    what = f"training step (forward+backward{'' if args.no_reg else ' + regulariser'}), G={args.grid}, k=3, float32"
    if dev.type == "cpu":
        alloc = "glibc default" if setting == "default" else "keeps freed memory (mallopt)"
        print(f"{what}, CPU, {args.threads} threads, median of {args.rounds} interleaved rounds, allocator: {alloc}")
    else:
        print(f"{what}, {meta['device_name']} ({dev}), torch {meta['torch']}, median of {args.rounds} steps, "
              "peak = max memory allocated during one step (model and batch included)")


def _fmt_mb(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f", peak {v:,.0f} MB"


def _line(r: dict) -> str:
    head = f"KAN {r['width']} @ {r['batch']:,} [{r['mode']}]"
    if "error" in r:
        return f"{head}: {r['error']}"
    line = (f"{head}: kansci {r['kansci_ms']:.2f} ms{_fmt_mb(r.get('kansci_peak_mb'))} | MLP {r['mlp_width']} "
            f"(equal FLOPs{', compiled' if r['mode'].startswith('compile') else ''}) {r['mlp_ms']:.2f} ms"
            f"{_fmt_mb(r.get('mlp_peak_mb'))} | kansci/MLP = {r['kansci_over_mlp']:.2f}x")
    if "pykan_ms" in r:
        line += f" | pykan {r['pykan_ms']:.2f} ms, pykan/kansci = {r['pykan_over_kansci']:.1f}x"
    elif "pykan" in r:
        line += f" | pykan {r['pykan']}"
    elif r["mode"] == "eager":
        line += " | pykan not installed or not tried"
    if r.get("compiled") is False:
        line += f" | compile failed, ran eagerly ({r.get('compile_error', '')})"
    return line


if __name__ == "__main__":
    raise SystemExit(main())
