"""A small measured table with error bars: the honest answer is a free power law."""

from __future__ import annotations

import pandas as pd

from ._files import read_bundled_csv

__all__ = ["loglog_errorbars"]


def loglog_errorbars() -> pd.DataFrame:
    """22 measurements of a quantity ``y`` at dimension ``d`` and sample size ``N``.

    Returns
    -------
    pandas.DataFrame
        Columns ``d``, ``N``, ``y`` and ``yerr`` (the standard uncertainty of ``y``; not a
        feature: pass ``sigma="yerr"`` to :func:`kansci.discover`).  No exact law is known; a
        power law ``C * d**a * N**b`` fits within the error bars (chi-square per degree of
        freedom about 0.7 by weighted least squares).
    """
    return read_bundled_csv("loglog_errorbars.csv", dtype=float)
