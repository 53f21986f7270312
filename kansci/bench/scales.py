"""The concrete cases of real scales and units: what comes back for each, without and with units.

Run ``python -m kansci.bench.scales [--time-limit 60] [--cases ...]``.  Each case is a table in
SI units (2,000 rows unless said, noise 0) that once came back wrong:

- ``exp_int``: ``y = exp(x0)`` on integers 0..99 (target up to 1e43) with two unused integer
  columns, 100 rows;
- ``moment``: a magnetic moment of 1e-25 J/T multiplying the law, ``E = -mom*B*cos(theta)``;
- ``planck``: Planck's radiation law with hbar, k_B and c in SI;
- ``kepler``: Kepler's third law with G, ``P = 2*pi*sqrt(a**3/(G*(m1 + m2)))``;
- ``coulomb``: ``F = q1*q2/(4*pi*eps_0*r**2)``;
- ``gauss``: the constant 1/eps_0, ``Ef = sigma/(eps_0*kappa)``.

Each line gives the formula, the held-out R^2, the columns left out, the named constants and
the seconds taken.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["CASES", "main"]


def _log_uniform(rng, low, high, n):
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def _exp_int(rng):
    n = 100
    x0 = rng.integers(0, 100, n).astype(float)
    df = pd.DataFrame({"x0": x0, "x1": rng.integers(0, 100, n).astype(float),
                       "x2": rng.integers(0, 100, n).astype(float), "y": np.exp(x0)})
    return df, None


def _moment(rng):
    n = 2000
    mom, B, th = _log_uniform(rng, 1e-25, 1e-23, n), _log_uniform(rng, 0.1, 10, n), rng.uniform(0, np.pi, n)
    df = pd.DataFrame({"mom": mom, "B": B, "theta": th, "E": -mom * B * np.cos(th)})
    return df, {"mom": "J/T", "B": "T", "theta": "rad", "E": "J"}


def _planck(rng):
    import scipy.constants as C

    n = 2000
    w, T = _log_uniform(rng, 1e13, 1e15, n), _log_uniform(rng, 300, 30000, n)
    L = C.hbar * w**3 / (np.pi**2 * C.c**2 * (np.exp(C.hbar * w / (C.k * T)) - 1))
    return pd.DataFrame({"omega": w, "T": T, "L": L}), {"omega": "rad/s", "T": "K", "L": "J/m**2"}


def _kepler(rng):
    import scipy.constants as C

    n = 2000
    a, m1, m2 = _log_uniform(rng, 1e10, 1e12, n), _log_uniform(rng, 1e28, 1e30, n), _log_uniform(rng, 1e28, 1e30, n)
    df = pd.DataFrame({"a": a, "m1": m1, "m2": m2, "P": 2 * np.pi * np.sqrt(a**3 / (C.G * (m1 + m2)))})
    return df, {"a": "m", "m1": "kg", "m2": "kg", "P": "s"}


def _coulomb(rng):
    import scipy.constants as C

    n = 2000
    q1, q2, r = _log_uniform(rng, 1e-9, 1e-7, n), _log_uniform(rng, 1e-9, 1e-7, n), _log_uniform(rng, 1e-2, 1, n)
    df = pd.DataFrame({"q1": q1, "q2": q2, "r": r, "F": q1 * q2 / (4 * np.pi * C.epsilon_0 * r**2)})
    return df, {"q1": "C", "q2": "C", "r": "m", "F": "N"}


def _gauss(rng):
    import scipy.constants as C

    n = 2000
    sig, kap = _log_uniform(rng, 1e-9, 1e-6, n), rng.uniform(1, 5, n)
    df = pd.DataFrame({"sigma": sig, "kappa": kap, "Ef": sig / (C.epsilon_0 * kap)})
    return df, {"sigma": "C/m**2", "kappa": "1", "Ef": "V/m"}


CASES: dict[str, Callable] = {
    "exp_int": _exp_int, "moment": _moment, "planck": _planck, "kepler": _kepler,
    "coulomb": _coulomb, "gauss": _gauss,
}  # fmt: skip
"""Each case: ``rng -> (table, units or None)``; the target is the last column."""


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print one line per case and mode."""
    import kansci

    p = argparse.ArgumentParser(prog="python -m kansci.bench.scales", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    p.add_argument("--units", choices=("off", "on", "both"), default="both")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.units]
    for name in args.cases:
        df, units = CASES[name](np.random.default_rng(args.seed))
        target = df.columns[-1]
        for use in modes:
            if use and units is None:
                continue
            start = time.perf_counter()
            d = kansci.discover(df, target, time_limit=args.time_limit, seed=args.seed,
                                units=units if use else None)
            mode = "units" if use else "plain"
            print(f"{name} [{mode}]: {target} = {d.formula}  (R^2 {d.r2:.10f}; left out {d.dropped_columns};"
                  f" constants {sorted(d.physical_constants)}; {time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
