"""The examples of the issue on laws beyond the Feynman table, run through discover and judged.

``python -m kansci.bench.issue_examples --seeds 0 1 2 [--ids I1 I4] [--time-limit 60]`` samples
each law as the benchmark does (2,000 training rows unless the law fixes its own, noise 0,
1,000 clean test rows), calls :func:`kansci.discover` and prints, per law and seed, the verdict
of :func:`kansci.bench.judge.judge`, the seconds, the stage that found the formula and the
formula.  These laws are the representatives the issue named; the tests and the 'beyond'
table measure other laws of the same kinds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import sympy

#: (id, law, variables as in the law tables, training rows or None)
EXAMPLES = (
    ("I1", "cos(a + b)/3 + cos(a)", "a:-3:3;b:-3:3", None),
    ("I2", "exp(-a*t)*sin(b*t)", "a:0:1;t:0:3;b:1:3", None),
    ("I3", "exp(-t/a)*cos(b*t)", "a:1:5;t:0:3;b:1:3", None),
    ("I4", "0.0416*((3.4/r)**12 - (3.4/r)**6)", "r:3:10", 1000),
    ("I5", "1 + 1.057**2/E**2 + (1 - 1.057**2/E**2)*cos(theta)**2", "E:2.3:10;theta:0:3.141592653589793", None),
    ("I6", "sign(x)*Abs(x)**(1/3)", "x:-5:5", None),
    ("I7", "14.7*z**2/(z + 1) + 1.5*v**2", "z:-10:10;v:-10:10", 50),
    ("I8", "(a + 2*b)**2/c", "a:-2:2;b:-2:2;c:1:3", None),
    ("I8r", "sqrt(a**2 + 4*a*b + 4*b**2 + c**2)", "a:0.5:2;b:0.5:2;c:0.5:2", None),
    ("I9", "2**a*3**b*5**c*7**d", "a:0:10:int;b:0:10:int;c:0:10:int;d:0:10:int", None),
)


def example_law(law_id: str, text: str, variables: str, rows: int | None):
    """A :class:`kansci.datasets.FeynmanLaw` for one example."""
    from .._parse import parse_expression
    from ..datasets._feynman import FeynmanLaw, _parse_variables

    parsed, sampling = _parse_variables(variables, law_id)
    symbols = {n: sympy.Symbol(n) for n, _, _ in parsed}
    return FeynmanLaw(law_id, "y", parse_expression(text, symbols), parsed, symbols, sampling=sampling, rows=rows)


def run(ids: Sequence[str] | None, seeds: Sequence[int], time_limit: float) -> list[dict]:
    """One row per law and seed: id, seed, exact, symbolic, r2, seconds, source, formula."""
    import kansci

    from ..datasets import make_dataset
    from .judge import judge

    rows = []
    for seed in seeds:
        for law_id, text, variables, n in EXAMPLES:
            if ids and law_id not in ids:
                continue
            law = example_law(law_id, text, variables, n)
            train, test = make_dataset(law, n or 2000, 1000, 0.0, seed)
            start = time.perf_counter()
            d = kansci.discover(train, target="y", time_limit=time_limit, seed=seed)
            formula = d.to_json()["formula"]
            v = judge(formula, law.formula, test[law.names], test["y"].to_numpy(), ranges=law.variables)
            row = dict(id=law_id, seed=seed, exact=bool(v["exact"]), symbolic=bool(v["symbolic"]), r2=float(v["r2"]),
                       seconds=time.perf_counter() - start, source=d.source, formula=formula)
            verdict = "exact" if row["exact"] else "symbolic" if row["symbolic"] else f"r2={row['r2']:.6f}"
            print(f"{law_id} seed {seed}: {verdict} ({row['seconds']:.1f} s) [{row['source']}] {formula}", flush=True)
            rows.append(row)
    print(f"exact {sum(r['exact'] for r in rows)}/{len(rows)}")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kansci.bench.issue_examples", description=__doc__.split("\n\n")[0])
    p.add_argument("--ids", nargs="*", help="example ids (default: all)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--out", help="write the rows as JSON here")
    args = p.parse_args(argv)
    rows = run(args.ids, args.seeds, args.time_limit)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
