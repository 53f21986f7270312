"""Several targets: one law per target column, sharing the inputs and the time budget."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from .._arrays import InputError
from ._result import Discovery

__all__ = ["Discoveries", "discover_many", "split_targets"]


def split_targets(targets, columns) -> list[str]:
    """``targets`` as a checked list of distinct column names (a str with commas is split)."""
    cols = [str(c) for c in columns]
    if isinstance(targets, str):
        targets = [targets] if targets in cols else [t.strip() for t in targets.split(",")]
    targets = [str(t) for t in targets]
    if not targets or any(not t for t in targets):
        raise InputError(f"give at least one target column, e.g. target=['Fx', 'Fy']; got {targets!r}")
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        raise InputError(f"target column(s) {dup} listed more than once")
    missing = [t for t in targets if t not in cols]
    if missing:
        raise InputError(f"target column(s) {missing} not found; columns are {cols}")
    return targets


class Discoveries(Mapping[str, Discovery]):
    """One :class:`Discovery` per target, in the order the targets were given.

    A read-only mapping ``target -> Discovery`` (``d["Fx"].formula``), with ``laws`` the
    same as a dict, ``predict(df)`` a DataFrame with one column per target, ``to_json()``
    ``{"targets": {target: <one law's JSON>}, "seconds": ...}``, and a combined display.
    """

    def __init__(self, laws: Mapping[str, Discovery], seconds: float) -> None:
        self.laws = dict(laws)
        self.seconds = float(seconds)

    def __getitem__(self, target: str) -> Discovery:
        try:
            return self.laws[target]
        except KeyError:
            raise KeyError(f"no law for {target!r}; targets are {list(self.laws)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.laws)

    def __len__(self) -> int:
        return len(self.laws)

    @property
    def targets(self) -> list[str]:
        return list(self.laws)

    def predict(self, data) -> pd.DataFrame:
        """Every law evaluated on ``data`` (by column name): one column per target."""
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.DataFrame({t: np.asarray(d.predict(data), float) for t, d in self.laws.items()}, index=index)

    def latex(self) -> list[str]:
        """Each law as LaTeX, ``target = formula``."""
        return [d.latex() for d in self.laws.values()]

    def to_json(self) -> dict:
        """``{"targets": {target: law JSON (as for one target)}, "seconds": total}``."""
        return {"targets": {t: d.to_json() for t, d in self.laws.items()},
                "seconds": self.seconds if math.isfinite(self.seconds) else None}

    def __repr__(self) -> str:
        inner = ", ".join(f"{d.target} = {d.formula}" for d in self.laws.values())
        return f"Discoveries({inner})"

    def __str__(self) -> str:
        return "\n".join(f"{d.target} = {d.formula}" for d in self.laws.values())

    def _repr_latex_(self) -> str:
        return "$\\begin{aligned}" + r" \\ ".join(d.latex().replace(" = ", " &= ", 1) for d in self.laws.values()) + \
            "\\end{aligned}$"

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(t)}</h4>{d._repr_html_()}" for t, d in self.laws.items()]
        return f"<div><p><strong>{len(self.laws)} laws</strong>, {self.seconds:.1f} s</p>{''.join(parts)}</div>"


def discover_many(df: pd.DataFrame, targets: Sequence[str], one: Callable[..., Discovery], *, features=None,
                  time_limit: float = 60.0, **options) -> Discoveries:
    """One law per target: ``discover`` on each, the other targets never used as inputs.

    The inputs are the ``features`` (default: every column that is not a target), the same
    for every target; each target gets an equal share of the time still left when its turn
    comes (time a quick law does not use goes to the next).  ``options`` as for
    :func:`kansci.discover` (``seed``, ``val_fraction``, ``progress``...), passed to ``one``,
    the single-target discovery.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.columns.duplicated().any():
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise InputError(f"duplicate column names {dup}; rename them so every column is unique")
    df = df.rename(columns=str)
    targets = split_targets(targets, df.columns)
    if features is None:
        features = [c for c in df.columns if c not in targets]
    else:
        features = [str(c) for c in features]
        missing = [c for c in features if c not in df.columns]
        if missing:
            raise InputError(f"feature column(s) {missing} not found; columns are {list(df.columns)}")
        both = [c for c in features if c in targets]
        if both:
            raise InputError(f"column(s) {both} are listed both as targets and as features")
    start = time.perf_counter()
    deadline = start + float(time_limit)
    laws = {}
    for n, target in enumerate(targets):
        share = max(deadline - time.perf_counter(), 0.0) / (len(targets) - n)
        laws[target] = one(df[[*features, target]], target, features=features,
                                time_limit=max(share, 0.5), **options)
    return Discoveries(laws, time.perf_counter() - start)
