"""Bundled data: law tables (the Feynman symbolic-regression table and more) and the planets' orbits."""

from ._errorbars import loglog_errorbars as loglog_errorbars
from ._feynman import LAW_TABLES as LAW_TABLES
from ._feynman import FeynmanLaw as FeynmanLaw
from ._feynman import MissingColumnsError as MissingColumnsError
from ._feynman import UnknownLawError as UnknownLawError
from ._feynman import evaluate_law as evaluate_law
from ._feynman import feynman_law as feynman_law
from ._feynman import feynman_table as feynman_table
from ._kepler import kepler as kepler
from ._sampling import feynman as feynman
from ._sampling import irrelevant_columns as irrelevant_columns
from ._sampling import law_units as law_units
from ._sampling import make_dataset as make_dataset

__all__ = [
    "LAW_TABLES",
    "FeynmanLaw",
    "MissingColumnsError",
    "UnknownLawError",
    "evaluate_law",
    "feynman",
    "feynman_law",
    "feynman_table",
    "irrelevant_columns",
    "law_units",
    "kepler",
    "loglog_errorbars",
    "make_dataset",
]
