"""Kepler's third law: the eight planets' orbits."""

from __future__ import annotations

import pandas as pd

from ._files import read_bundled_csv

__all__ = ["kepler"]


def kepler() -> pd.DataFrame:
    """The eight planets' semi-major axes and sidereal orbital periods.

    Returns
    -------
    pandas.DataFrame
        Columns ``planet`` (name), ``a`` (semi-major axis, AU) and ``P`` (sidereal period,
        Julian years), one row per planet from Mercury to Neptune. Kepler's third law gives
        ``P = a**1.5`` in these units (to about 0.1%).
    """
    return read_bundled_csv(
        "kepler.csv", dtype={"planet": str, "a": float, "P": float}, keep_default_na=False
    )
