"""The data stage of discovery: validate a table, name its variables, split it."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._arrays import InputError
from ..formula import VariableMap, symbols_for

__all__ = ["Problem", "make_problem", "MIN_ROWS"]

log = logging.getLogger("kansci")

MIN_ROWS = 10
#: With error bars, tables below this many rows hold none out: the chi-square of the error
#: bars judges the formulas, and every row pins down the constants.
SIGMA_ALL_ROWS = 50


@dataclass
class Problem:
    """A validated regression problem ``y = f(X)`` with named, symbolised variables.

    ``train`` and ``val`` are row indices; ``X``/``y`` are float64 arrays in raw units.
    ``left_out`` holds the input columns left out because the target seemed not to depend on
    them (``None`` when none were): the search does not see them, but the test that a formula
    fits to the noise does (a residual that follows one says it was left out wrongly).
    """

    X: np.ndarray
    y: np.ndarray
    columns: list[str]
    target: str
    variables: VariableMap
    train: np.ndarray
    val: np.ndarray
    dropped_rows: int = 0
    notes: list[str] = field(default_factory=list)
    sigma: np.ndarray | None = None  # per-row standard uncertainty of y (error bars), or None
    sigma_column: str | None = None
    left_out: np.ndarray | None = None  # (n, k) input columns left out as irrelevant, kept for checks

    @property
    def weights(self) -> np.ndarray | None:
        """Least-squares weights ``1/sigma**2`` of the rows, or None without error bars."""
        return None if self.sigma is None else 1.0 / self.sigma**2

    @property
    def n_vars(self) -> int:
        return self.X.shape[1]

    @property
    def symbols(self):
        return list(self.variables.symbols)

    @property
    def y_scale(self) -> float:
        s = float(np.std(self.y))
        return s if s > 0 else 1.0

    def subset(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.X[rows], self.y[rows]


def _numeric_frame(df: pd.DataFrame, what: str) -> pd.DataFrame:
    bad = []
    out = {}
    for col in df.columns:
        series = df[col]
        if pd.api.types.is_bool_dtype(series):
            bad.append(col)
            continue
        converted = pd.to_numeric(series, errors="coerce")
        newly_nan = converted.isna() & series.notna()
        if newly_nan.any():
            example = series[newly_nan].iloc[0]
            bad.append(f"{col} (e.g. {example!r})")
            continue
        out[col] = converted.astype(float)
    if bad:
        raise InputError(
            f"{what} must be numeric; non-numeric values in column(s) {', '.join(map(str, bad))}. "
            "Convert or drop those columns"
        )
    return pd.DataFrame(out, index=df.index)


def make_problem(
    df: pd.DataFrame,
    target: str,
    *,
    features: Sequence[str] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    min_rows: int = MIN_ROWS,
    sigma: str | None = None,
) -> Problem:
    """Validate ``df`` and build a :class:`Problem`.

    Rows with NaN or inf in the used columns are dropped with a warning; constant input
    columns are dropped with a warning; everything else that is wrong raises
    :class:`kansci.InputError` with a message that says what to do.  ``sigma`` names a
    column of per-row standard uncertainties of the target (not a feature); every value
    must be a finite number > 0.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise InputError("the table has no rows; discovery needs at least 10 rows of measurements")
    if df.columns.duplicated().any():
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise InputError(f"duplicate column names {dup}; rename them so every column is unique")
    df = df.rename(columns=str)
    target = str(target)
    if target not in df.columns:
        raise InputError(f"target column {target!r} not found; columns are {list(df.columns)}")
    sigma_values = None
    if sigma is not None:
        sigma = str(sigma)
        sigma_values = _sigma_column(df, sigma, target, features)
    if features is None:
        features = [c for c in df.columns if c not in (target, sigma)]
    else:
        features = [str(c) for c in features]
        missing = [c for c in features if c not in df.columns]
        if missing:
            raise InputError(f"feature column(s) {missing} not found; columns are {list(df.columns)}")
        if target in features:
            raise InputError(f"the target {target!r} is also listed as a feature")
    if not features:
        raise InputError("no input columns: the table needs at least one column besides the target")
    table = _numeric_frame(df[[*features, target]], "all columns")
    values = table.to_numpy()
    finite = np.isfinite(values).all(axis=1)
    if sigma_values is not None:
        sigma_values = sigma_values[np.asarray(finite)]
    dropped = int((~finite).sum())
    notes = []
    if not np.isfinite(table[target].to_numpy()).any():
        raise InputError(f"the target {target!r} has no finite values (all NaN or inf)")
    if dropped:
        msg = f"dropped {dropped} of {len(table)} rows with NaN or inf values"
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)
        table = table[finite]
    if len(table) < min_rows:
        raise InputError(
            f"only {len(table)} usable rows; discovery needs at least {min_rows} rows without NaN/inf"
        )
    y = table[target].to_numpy(float)
    if np.ptp(y) <= 1e-12 * float(np.max(np.abs(y))):
        raise InputError(f"the target {target!r} is constant ({y[0]:g}); there is no law to find")
    constant = [c for c in features if np.ptp(table[c].to_numpy()) == 0]
    if constant:
        if len(constant) == len(features):
            raise InputError(f"every input column is constant ({constant}); there is nothing to relate the target to")
        msg = f"dropped constant input column(s) {constant}"
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)
        features = [c for c in features if c not in constant]
    X = table[features].to_numpy(float)
    scale = np.max(np.abs(X), axis=0)
    if np.any(scale > 1e15) or np.any(np.abs(y) > 1e15):
        notes.append("values above 1e15 present; consider rescaling units")
    variables = symbols_for(features, table[features])
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    hold_out = len(y) >= 2 * MIN_ROWS and (sigma_values is None or len(y) >= SIGMA_ALL_ROWS)
    n_val = int(round(len(y) * val_fraction)) if hold_out else 0
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    if n_val == 0:
        val = train  # too few rows for a hold-out: validate on the training rows
        notes.append("fewer than 20 rows: validation uses the training rows" if sigma_values is None else
                     f"fewer than {SIGMA_ALL_ROWS} rows with error bars: all rows fit, chi-square judges")
    return Problem(X=X, y=y, columns=list(features), target=target, variables=variables,
                   train=train, val=val, dropped_rows=dropped, notes=notes, sigma=sigma_values,
                   sigma_column=sigma)


def _sigma_column(df: pd.DataFrame, sigma: str, target: str, features) -> np.ndarray:
    """The error-bar column as floats; InputError unless every value is finite and > 0."""
    if sigma not in df.columns:
        raise InputError(f"sigma column {sigma!r} not found; columns are {list(df.columns)}")
    if sigma == target:
        raise InputError(f"the sigma column {sigma!r} is the target; name the column of its uncertainties")
    if features is not None and sigma in features:
        raise InputError(f"the sigma column {sigma!r} is also listed as a feature")
    raw = df[sigma]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any() or pd.api.types.is_bool_dtype(raw):
        example = raw[bad].iloc[0] if bad.any() else raw.iloc[0]
        raise InputError(f"sigma column {sigma!r} must be numeric; found {example!r}")
    values = values.to_numpy(float)
    if not np.all(np.isfinite(values)):
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InputError(f"sigma column {sigma!r} has a missing or infinite value (row {row}); "
                         "every row needs a finite uncertainty > 0")
    if np.any(values <= 0):
        row = int(np.flatnonzero(values <= 0)[0])
        raise InputError(f"sigma column {sigma!r} has a value <= 0 ({values[row]:g} in row {row}); "
                         "uncertainties must be > 0")
    return values
