"""Identification benchmark for symbolic snapping: ``python -m kansci.bench.snapping``.

For every primitive ``f`` of the default library, random constants ``(a, b, c, d)`` are drawn so
that ``a*x + b`` sweeps a characteristic part of ``f``'s domain for ``x`` in ``[-1, 1]``
(``|a|`` and ``|c|`` not small); 200 samples of ``c*f(a*x + b) + d`` are passed to
:func:`kansci.symbolic.suggest` and the winner is judged:

- *identified* (clean data): the winner is ``f`` or an affine-equivalent primitive (``sin`` and
  ``cos``; ``arcsin`` and ``arccos``: ``g(u) = alpha*f(u + shift) + beta`` exactly), and its
  fitted function agrees with the truth to ``R^2 > 1 - 1e-9``;
- *constants*: identified, and each canonical constant is within ``1e-4`` of the truth's
  (relative, ``|est - true| <= 1e-4 * max(|true|, 1)``), the truth being converted to the
  winner's canonical form;
- *noisy*: the winner is ``f`` or equivalent with noise ``0.01 * std(y)`` added.

Targets: >= 95 % identified with constants, >= 80 % identified under noise.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kansci.symbolic import Library, suggest
from kansci.symbolic._affine import canonical_inner

__all__ = ["EQUIVALENT", "Case", "sample_case", "judge", "run", "main"]

_PI = math.pi

EQUIVALENT: dict[tuple[str, str], Callable[[float, float], tuple[float, float]]] = {
    ("sin", "cos"): lambda a, b: (a, b - _PI / 2),  # sin(u) = cos(u - pi/2)
    ("cos", "sin"): lambda a, b: (a, b + _PI / 2),  # cos(u) = sin(u + pi/2)
    ("arcsin", "arccos"): lambda a, b: (a, b),  # arcsin(u) = pi/2 - arccos(u)
    ("arccos", "arcsin"): lambda a, b: (a, b),
}
"""``(truth, winner) -> map of (a, b)`` for primitives equal up to an affine map of output."""


def _interval(lo: float, hi: float, rng: np.random.Generator) -> tuple[float, float]:
    """``(a, b)`` for ``x`` in [-1, 1] mapped onto ``[lo, hi]``, random orientation."""
    a, b = 0.5 * (hi - lo), 0.5 * (hi + lo)
    return (a, b) if rng.random() < 0.5 else (-a, b)


def _centred(m_max: float, h_lo: float, h_hi: float) -> Callable[[np.random.Generator], tuple]:
    def draw(rng: np.random.Generator) -> tuple[float, float]:
        m, h = rng.uniform(-m_max, m_max), rng.uniform(h_lo, h_hi)
        return _interval(m - h, m + h, rng)

    return draw


def _inside(lo: float, hi: float, min_width: float) -> Callable[[np.random.Generator], tuple]:
    def draw(rng: np.random.Generator) -> tuple[float, float]:
        while True:
            u = np.sort(rng.uniform(lo, hi, 2))
            if u[1] - u[0] >= min_width:
                return _interval(float(u[0]), float(u[1]), rng)

    return draw


def _positive(lo_range: tuple[float, float], width: tuple[float, float]) -> Callable:
    def draw(rng: np.random.Generator) -> tuple[float, float]:
        lo = rng.uniform(*lo_range)
        return _interval(lo, lo + rng.uniform(*width), rng)

    return draw


def _pole(rng: np.random.Generator) -> tuple[float, float]:
    lo = rng.uniform(0.1, 1.0)
    hi = lo * rng.uniform(2.0, 10.0)
    return _interval(lo, hi, rng) if rng.random() < 0.5 else _interval(-hi, -lo, rng)


def _abs(rng: np.random.Generator) -> tuple[float, float]:
    h = rng.uniform(0.5, 2.0)
    m = rng.uniform(-0.7 * h, 0.7 * h)  # the kink must be inside, else |u| is linear
    return _interval(m - h, m + h, rng)


def _free(a_lo: float, a_hi: float, b_max: float) -> Callable[[np.random.Generator], tuple]:
    def draw(rng: np.random.Generator) -> tuple[float, float]:
        return rng.choice([-1.0, 1.0]) * rng.uniform(a_lo, a_hi), rng.uniform(-b_max, b_max)

    return draw


DRAW: dict[str, Callable[[np.random.Generator], tuple[float, float]]] = {
    "x": _free(0.5, 3.0, 2.0),
    "x^2": _centred(1.5, 0.5, 2.0),
    "x^3": _centred(1.5, 0.5, 2.0),
    "x^4": _centred(1.5, 0.5, 2.0),
    "1/x": _pole,
    "1/x^2": _pole,
    "sqrt": _positive((0.0, 1.0), (0.5, 3.0)),
    "1/sqrt": _positive((0.05, 1.0), (0.5, 3.0)),
    "x^1.5": _positive((0.0, 1.0), (0.5, 3.0)),
    "exp": _free(0.5, 2.5, 1.0),
    "log": _positive((0.05, 1.0), (0.5, 3.0)),
    "sin": _free(0.8, 4.0, _PI),
    "cos": _free(0.8, 4.0, _PI),
    "tan": _inside(-1.4, 1.4, 0.8),
    "tanh": _centred(1.5, 0.7, 2.5),
    "arcsin": _inside(-0.98, 0.98, 0.6),
    "arccos": _inside(-0.98, 0.98, 0.6),
    "arctan": _centred(2.0, 0.7, 3.0),
    "arctanh": _inside(-0.98, 0.98, 0.6),
    "gaussian": _centred(1.2, 0.6, 2.0),
    "abs": _abs,
    "0": _free(1.0, 1.0, 0.0),
}
"""How the inner constants ``(a, b)`` of each default primitive are drawn."""


@dataclass(frozen=True)
class Case:
    """One benchmark case: ``y = c*f(a*x + b) + d`` on ``x``."""

    primitive: str
    a: float
    b: float
    c: float
    d: float
    x: np.ndarray
    y: np.ndarray


def sample_case(name: str, rng: np.random.Generator, n: int = 200) -> Case:
    """Draw a case for the default primitive ``name``."""
    prim = Library.default()[name]
    a, b = DRAW[name](rng)
    c = 0.0 if name == "0" else float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 3.0))
    d = float(rng.uniform(-2.0, 2.0))
    x = rng.uniform(-1.0, 1.0, n)
    y = d + (0.0 * x if c == 0.0 else c * prim.numpy(a * x + b))
    return Case(name, float(a), float(b), c, d, x, y)


def _truth_constants(case: Case, winner: str) -> tuple[float, float, float, float]:
    """The truth written in ``winner``'s canonical form (exact: c, d by least squares)."""
    lib = Library.default()
    a, b = case.a, case.b
    if winner != case.primitive:
        a, b = EQUIVALENT[(case.primitive, winner)](a, b)
    prim = lib[winner]
    if winner == "0":
        return 1.0, 0.0, 0.0, case.d
    a, b = canonical_inner(prim, a, b)
    design = np.column_stack([prim.numpy(a * case.x + b), np.ones_like(case.x)])
    (c, d), *_ = np.linalg.lstsq(design, case.y, rcond=None)
    return a, b, float(c), float(d)


def judge(case: Case, table: pd.DataFrame, clean: bool = True) -> dict[str, bool]:
    """Score the winner of a :func:`suggest` table against the case's truth."""
    top = table.iloc[0]
    winner = str(top["primitive"])
    same = winner == case.primitive or (case.primitive, winner) in EQUIVALENT
    if not clean:
        return {"identified": same}
    prim = Library.default()[winner]
    pred = top["d"] + (
        0.0 if top["c"] == 0.0 else top["c"] * prim.numpy(top["a"] * case.x + top["b"])
    )
    var = float(np.var(case.y))
    resid = float(np.mean((pred - case.y) ** 2))
    floor = 1e-28 * (1.0 + float(np.mean(case.y)) ** 2)  # a constant y has var ~ 1e-32
    agrees = bool(np.isfinite(resid)) and resid <= 1e-9 * var + floor
    identified = same and agrees
    constants = False
    if identified:
        truth = _truth_constants(case, winner)
        found = (top["a"], top["b"], top["c"], top["d"])
        constants = all(abs(f - t) <= 1e-4 * max(abs(t), 1.0) for f, t in zip(found, truth))
    return {"identified": identified, "constants": constants}


def run(cases: int = 20, n: int = 200, noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """Run the benchmark; one row per primitive plus a ``TOTAL`` row.

    Returns
    -------
    pandas.DataFrame
        Columns ``primitive, cases, identified, constants, noisy_identified`` (rates in [0, 1]),
        ``ms_per_call`` (wall clock) and ``cpu_ms_per_call`` (this process's CPU time, which
        a busy machine inflates less); ``df.attrs["ms_per_call"]`` holds the overall mean.
    """
    rng = np.random.default_rng(seed)
    rows, seconds, cpu_seconds, calls = [], 0.0, 0.0, 0
    for name in Library.default():
        counts = {"identified": 0, "constants": 0, "noisy_identified": 0}
        t_prim = cpu_prim = 0.0
        for _ in range(cases):
            case = sample_case(name, rng, n)
            noisy = case.y + noise * float(np.std(case.y)) * rng.standard_normal(n)
            t0, c0 = time.perf_counter(), time.process_time()
            clean_table = suggest(case.x, case.y)
            noisy_table = suggest(case.x, noisy)
            t_prim += time.perf_counter() - t0
            cpu_prim += time.process_time() - c0
            result = judge(case, clean_table)
            counts["identified"] += result["identified"]
            counts["constants"] += result["constants"]
            counts["noisy_identified"] += judge(case, noisy_table, clean=False)["identified"]
        seconds += t_prim
        cpu_seconds += cpu_prim
        calls += 2 * cases
        rows.append(
            {"primitive": name, "cases": cases, **{k: v / cases for k, v in counts.items()},
             "ms_per_call": 1e3 * t_prim / (2 * cases),
             "cpu_ms_per_call": 1e3 * cpu_prim / (2 * cases)}
        )
    table = pd.DataFrame(rows)
    total = {"primitive": "TOTAL", "cases": int(table["cases"].sum())}
    for column in ("identified", "constants", "noisy_identified"):
        total[column] = float((table[column] * table["cases"]).sum() / total["cases"])
    total["ms_per_call"] = 1e3 * seconds / max(calls, 1)
    total["cpu_ms_per_call"] = 1e3 * cpu_seconds / max(calls, 1)
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    table.attrs["ms_per_call"] = total["ms_per_call"]
    return table


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints the per-primitive table and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20, help="cases per primitive (20)")
    parser.add_argument("--n", type=int, default=200, help="samples per case (200)")
    parser.add_argument("--noise", type=float, default=0.01, help="noise / std(y) (0.01)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    args = parser.parse_args(argv)
    table = run(args.cases, args.n, args.noise, args.seed)
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    total = table.iloc[-1]
    print(
        f"\nclean identified {total['identified']:.1%}, constants within 1e-4 "
        f"{total['constants']:.1%} (target 95%), noisy identified "
        f"{total['noisy_identified']:.1%} (target 80%), {total['ms_per_call']:.1f} ms per "
        f"suggest() call ({total['cpu_ms_per_call']:.1f} ms CPU)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
