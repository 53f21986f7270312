"""Reading the data files that ship inside the package."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["read_bundled_csv"]


def read_bundled_csv(name: str, **options: object) -> pd.DataFrame:
    """Read ``kansci/datasets/data/<name>`` with :func:`pandas.read_csv`.

    Parameters
    ----------
    name : str
        File name inside the bundled ``data`` folder, e.g. ``"kepler.csv"``.
    **options
        Passed on to :func:`pandas.read_csv`.
    """
    path = resources.files("kansci.datasets").joinpath("data").joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"bundled data file {name!r} is missing from the kansci installation; "
            f"reinstall kansci (the package data *.csv must be included)"
        )
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, **options)  # type: ignore[call-overload]
