"""Sampling train/test tables from a law, following SRBench's ground-truth protocol."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import sympy

from ._feynman import FeynmanLaw, evaluate_law, feynman_law

__all__ = ["feynman", "irrelevant_columns", "law_units", "make_dataset"]

#: Units drawn for irrelevant columns.
_EXTRA_UNITS = ("m", "kg", "s", "K", "A", "mol", "J", "V", "Pa", "m/s", "1")


def irrelevant_columns(law: FeynmanLaw, seed: int) -> list[tuple[str, str, float, float, str]]:
    """The columns the law does not use that sampling adds: ``(name, kind, low, high, unit)``.

    Between ``law.irrelevant[0]`` and ``law.irrelevant[1]`` columns (none when the law has no
    ``irrelevant`` range), drawn deterministically from the seed and the law's id: each is
    log-uniform over 0.5 to 3 decades somewhere between 1e-30 and 1e30, or uniform on a
    symmetric interval of random scale, with a random SI unit.
    """
    import zlib

    if not law.irrelevant:
        return []
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(law.id.encode())])
    count = int(rng.integers(law.irrelevant[0], law.irrelevant[1] + 1))
    out = []
    for k in range(count):
        name = f"extra{k + 1}"
        while name in law.names or name == law.output:
            name = "_" + name
        unit = str(rng.choice(_EXTRA_UNITS))
        if rng.random() < 0.7:
            low_exp = float(rng.uniform(-30, 28))
            out.append((name, "log", 10.0**low_exp, 10.0 ** (low_exp + rng.uniform(0.5, 3.0)), unit))
        else:
            half = 10.0 ** float(rng.uniform(-12, 12))
            out.append((name, "uniform", -half, half, unit))
    return out


def law_units(law: FeynmanLaw, seed: int = 0) -> dict[str, str]:
    """The units of a law's columns as :func:`make_dataset` samples them (irrelevant ones too)."""
    units = dict(law.units)
    if units:
        units.update({name: unit for name, _, _, _, unit in irrelevant_columns(law, seed)})
    return units


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _sample(law: FeynmanLaw, n: int, rng: np.random.Generator) -> pd.DataFrame:
    lows = np.array([low for _, low, _ in law.variables])
    highs = np.array([high for _, _, high in law.variables])
    values = rng.uniform(lows, highs, size=(n, law.n_vars))
    for j, kind in enumerate(law.sampling):  # the same uniform draw, mapped
        u = (values[:, j] - lows[j]) / (highs[j] - lows[j])
        if kind == "log":
            values[:, j] = np.exp(np.log(lows[j]) + u * (np.log(highs[j]) - np.log(lows[j])))
        elif kind == "int":
            first, last = int(np.ceil(lows[j])), int(np.floor(highs[j]))
            values[:, j] = np.minimum(first + np.floor(u * (last - first + 1)), last)
    table = pd.DataFrame(values, columns=law.names)
    table[law.output] = evaluate_law(law, table)
    return table


def _add_irrelevant(table: pd.DataFrame, law: FeynmanLaw, seed: int, rng: np.random.Generator) -> pd.DataFrame:
    extras = irrelevant_columns(law, seed)
    if not extras:
        return table
    cols = {}
    for name, kind, low, high, _ in extras:
        u = rng.uniform(0.0, 1.0, size=len(table))
        cols[name] = np.exp(np.log(low) + u * (np.log(high) - np.log(low))) if kind == "log" else low + u * (high - low)
    extra = pd.DataFrame(cols, index=table.index)
    out = pd.concat([table[law.names], extra, table[[law.output]]], axis=1)
    return out


def make_dataset(
    law: FeynmanLaw | str,
    n_train: int = 2000,
    n_test: int = 1000,
    noise: float = 0.0,
    seed: int | np.random.Generator = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample a training and a test table from a law (SRBench protocol).

    Each variable is drawn from its range as the law's table says (uniformly unless marked
    log-uniform or integer). Gaussian noise with standard deviation
    ``noise * RMS(y_train)`` is added to the training target only; the test table is clean.

    Parameters
    ----------
    law : FeynmanLaw or str
        The law or its id.
    n_train, n_test : int
        Number of rows in each table (``n_test`` may be 0).
    noise : float
        Relative noise level (SRBench uses 0, 0.001, 0.01 and 0.1).
    seed : int or numpy.random.Generator
        Seed of ``numpy.random.default_rng``. The train inputs, test inputs and noise come
        from three independent streams, so the inputs do not change with the noise level or
        with the size of the other table.

    Returns
    -------
    (train, test) : tuple of pandas.DataFrame
        Columns: the variables in the table's order, then (for a law with an ``irrelevant``
        range, such as those of the ``realistic`` table) the columns it does not use
        (:func:`irrelevant_columns`), then the output.
    """
    law = feynman_law(law)
    n_train = _check_count("n_train", n_train, 1)
    n_test = _check_count("n_test", n_test, 0)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0 (e.g. 0.01), got {noise!r}")
    if not np.isfinite(noise):
        raise ValueError(f"noise must be finite, got {noise!r}")
    base_seed = seed if isinstance(seed, numbers.Integral) else 0
    rng = np.random.default_rng(seed)
    train_rng, test_rng, noise_rng = (
        np.random.default_rng(int(s)) for s in rng.integers(0, 2**63 - 1, size=3)
    )
    train = _sample(law, n_train, train_rng)
    test = _sample(law, n_test, test_rng)
    if law.irrelevant:  # drawn after the law's own columns: those do not change
        extra_rng = np.random.default_rng([int(base_seed) & 0xFFFFFFFF, 7])
        train = _add_irrelevant(train, law, int(base_seed), extra_rng)
        test = _add_irrelevant(test, law, int(base_seed), extra_rng)
    if noise > 0:
        y = train[law.output].to_numpy()
        scale = float(noise) * float(np.sqrt(np.mean(np.square(y))))
        train[law.output] = y + noise_rng.normal(0.0, scale, size=n_train)
    return train, test


def feynman(
    law_id: str | FeynmanLaw,
    n: int = 2000,
    noise: float = 0.0,
    seed: int | np.random.Generator = 0,
) -> tuple[pd.DataFrame, sympy.Expr]:
    """A table sampled from a Feynman law, and the law's formula.

    Parameters
    ----------
    law_id : str or FeynmanLaw
        The law's id, e.g. ``"I.6.2a"``.
    n : int
        Number of rows.
    noise, seed
        As in :func:`make_dataset`; the table equals its training table.

    Returns
    -------
    (pandas.DataFrame, sympy.Expr)
        The variables and the (noisy) output column, and the true formula.
    """
    law = feynman_law(law_id)
    train, _ = make_dataset(law, n_train=n, n_test=0, noise=noise, seed=seed)
    return train, law.formula
