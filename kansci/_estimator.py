"""KANRegressor: :func:`kansci.discover` behind scikit-learn's estimator conventions.

scikit-learn is not needed. When it is installed the estimator declares its tags, and the
errors and warnings it raises are also instances of scikit-learn's classes, so
``check_estimator``, ``clone``, pipelines and grid searches work as with any regressor.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import sympy

from ._display import summary_html

__all__ = ["DataConversionWarning", "KANRegressor", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (scikit-learn's contract: ValueError and AttributeError)."""


class DataConversionWarning(UserWarning):
    """Input data were converted to another shape or type than given."""


_COMBINED: dict[str, type] = {}


def _sklearn_flavoured(own: type, module: str) -> type:
    """``own``, or a subclass of it and of scikit-learn's class of that name when sklearn is loaded.

    Only looked at when scikit-learn was imported already, so kansci never imports it.
    """
    if "sklearn" not in sys.modules:
        return own
    if own.__name__ not in _COMBINED:
        try:
            theirs = getattr(__import__(module, fromlist=[own.__name__]), own.__name__)
            _COMBINED[own.__name__] = type(own.__name__, (own, theirs), {"__module__": own.__module__})
        except (ImportError, AttributeError, TypeError):
            _COMBINED[own.__name__] = own
    return _COMBINED[own.__name__]


# ------------------------------------------------------------------ input validation
def _feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame-like ``X`` when every one is a string, else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = list(columns)
    if names and all(isinstance(c, str) for c in names):
        return np.asarray(names, dtype=object)
    return None


def _as_float_array(values: Any, what: str) -> np.ndarray:
    if values is None:
        raise ValueError(f"expected array-like {what}, got None")
    if hasattr(values, "toarray") and hasattr(values, "nnz"):
        raise TypeError(f"sparse {what} is not supported; pass a dense array ({what}.toarray())")
    raw = np.asarray(values)
    if raw.dtype.kind == "c":
        raise ValueError(f"Complex data not supported in {what}; pass real numbers")
    try:
        return np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:  # same class, numpy's words kept, the column named
        where = _non_numeric_columns(values)
        raise type(exc)(f"{what} must be numeric ({exc}){where}; convert or drop non-numeric "
                        "values first") from None


def _non_numeric_columns(values: Any) -> str:
    if not isinstance(values, (pd.DataFrame, pd.Series)):
        return ""
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    bad = [str(c) for c in frame.columns
           if (pd.to_numeric(frame[c], errors="coerce").isna() & frame[c].notna()).any()]
    return f" in column(s) {bad}" if bad else ""


def _check_X(X: Any, *, min_rows: int = 1) -> np.ndarray:
    arr = _as_float_array(X, "X")
    if arr.ndim != 2:
        hint = (" Reshape your data with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) "
                "for a single sample." if arr.ndim == 1 else "")
        raise ValueError(f"Expected a 2D array X (n_samples, n_features), got {arr.ndim}D with shape "
                         f"{arr.shape}.{hint}")
    n, d = arr.shape
    if n < min_rows:
        raise ValueError(f"Found array with {n} sample(s) (shape={arr.shape}) while a minimum of {min_rows} "
                         "is required (parameter min_rows).")
    if d < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if not np.isfinite(arr).all():
        rows = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(f"Input X contains NaN or inf in {rows} row(s); drop or impute those rows first")
    return arr


def _check_y(y: Any, n_rows: int, owner: str) -> np.ndarray:
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
    arr = _as_float_array(y, "y")
    if arr.ndim == 2 and arr.shape[1] == 1:
        cls = _sklearn_flavoured(DataConversionWarning, "sklearn.exceptions")
        warnings.warn(cls("A column-vector y was passed when a 1d array was expected. Please change the "
                          "shape of y to (n_samples,), for example using ravel()."), stacklevel=3)
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"y should be a 1d array of one target, got shape {arr.shape}; "
                         f"{owner} fits one target at a time")
    if arr.shape[0] != n_rows:
        raise ValueError(f"X and y have inconsistent numbers of samples: [{n_rows}, {arr.shape[0]}]")
    if not np.isfinite(arr).all():
        raise ValueError("Input y contains NaN or inf; drop those rows first")
    return arr


def _name_list(names: list[str]) -> str:
    shown = [f"- {n}\n" for n in names[:5]]
    return "".join(shown) + ("- ...\n" if len(names) > 5 else "")


def _target_name(y: Any, features: list[str]) -> str:
    name = getattr(y, "name", None)
    candidates = ([name] if isinstance(name, str) and name else []) + ["y", "target"]
    for c in candidates:
        if c not in features:
            return c
    k = 0
    while f"y{k}_" in features:
        k += 1
    return f"y{k}_"


# ------------------------------------------------------------------ the estimator
class KANRegressor:
    """Find a closed-form law ``y = f(X)``; a scikit-learn style wrapper of :func:`kansci.discover`.

    Parameters
    ----------
    time_limit : float
        Seconds the search may spend in ``fit``.
    seed : int
        Seeds the split, the KAN initialisations and every random choice.
    val_fraction : float
        Share of rows held out to score and choose formulas.
    min_rows : int
        Fewest rows ``fit`` accepts.
    threads : int or None
        torch threads during ``fit`` (None: leave torch's setting).
    progress : bool
        Show a progress bar during ``fit``.
    strategies : list of (name, strategy, share) or None
        Override the search stages (advanced; see :func:`kansci.discover`).
    device : str or None
        Where the KANs of the search train: None or ``"cpu"`` (default), ``"cuda"``,
        ``"cuda:N"``, ``"auto"``; ``fit`` raises ValueError (kansci.InputError) when CUDA is
        asked for and not available.

    Attributes
    ----------
    formula_ : Formula
        The law found, over the feature names (``x0 .. x{n-1}`` for arrays).
    equations_ : DataFrame
        The Pareto front (complexity, rmse, r2, score, exact, source, chosen, formula, latex).
    discovery_ : Discovery
        The full result of :func:`kansci.discover`.
    model_ : KAN or None
        The KAN surrogate fitted during the search, when one was trained.
    r2_ : float
        Held-out R^2 of the chosen formula.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined only when ``X`` had string column names (scikit-learn's convention).

    Examples
    --------
    >>> reg = KANRegressor(time_limit=10).fit(df[["a"]], df["P"])  # doctest: +SKIP
    >>> reg.formula_, reg.score(df[["a"]], df["P"])                  # doctest: +SKIP
    """

    def __init__(self, time_limit: float = 60.0, seed: int = 0, val_fraction: float = 0.2,
                 min_rows: int = 10, threads: int | None = 1, progress: bool = False,
                 strategies: list | None = None, device: str | None = None) -> None:
        self.time_limit = time_limit
        self.seed = seed
        self.val_fraction = val_fraction
        self.min_rows = min_rows
        self.threads = threads
        self.progress = progress
        self.strategies = strategies
        self.device = device

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments as a dict (``deep`` is accepted for compatibility)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> KANRegressor:
        """Set constructor arguments; they are checked only by ``fit``. Returns self."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid}.")
            setattr(self, key, value)
        return self

    def _check_params(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"{type(self).__name__}: parameter {name} must be {expected}, "
                              f"got {getattr(self, name)!r}")

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        if not isinstance(self.time_limit, (int, float, np.number)) or not self.time_limit > 0:
            raise bad("time_limit", "a number of seconds > 0")
        if not is_int(self.seed):
            raise bad("seed", "an int")
        if not isinstance(self.val_fraction, (int, float, np.number)) or not 0 <= self.val_fraction < 1:
            raise bad("val_fraction", "a number in [0, 1)")
        if not is_int(self.min_rows) or self.min_rows < 1:
            raise bad("min_rows", "an int >= 1")
        if self.threads is not None and (not is_int(self.threads) or self.threads < 1):
            raise bad("threads", "None or an int >= 1")
        if self.device is not None:
            from ._device import DEVICE_HELP, resolve_device

            if not isinstance(self.device, str):
                raise bad("device", f"None or a string: {DEVICE_HELP}")
            resolve_device(self.device)  # InputError (a ValueError) when CUDA is asked for and absent

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any) -> KANRegressor:
        """Search for the law ``y = f(X)``.

        Parameters
        ----------
        X : DataFrame or array-like (n_samples, n_features)
            Column names become the formula's variables; arrays get ``x0 .. x{n-1}``.
        y : Series or array-like (n_samples,)

        Returns
        -------
        self
        """
        from .discovery import discover

        self._check_params()
        names = _feature_names(X)
        arr = _check_X(X, min_rows=int(self.min_rows))
        target = _check_y(y, arr.shape[0], type(self).__name__)
        columns = list(names) if names is not None else [f"x{j}" for j in range(arr.shape[1])]
        target_name = _target_name(y, columns)
        df = pd.DataFrame(arr, columns=columns)
        df[target_name] = target
        result = discover(df, target_name, features=columns, time_limit=float(self.time_limit),
                          seed=int(self.seed), val_fraction=float(self.val_fraction),
                          progress=bool(self.progress), threads=self.threads, min_rows=int(self.min_rows),
                          strategies=self.strategies, device=self.device)
        self.discovery_ = result
        self.formula_ = result.formula
        self.equations_ = result.pareto
        self.model_ = result.model
        self.r2_ = result.r2
        self.n_features_in_ = arr.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "formula_")

    def _check_fitted(self, method: str) -> None:
        if not self.__sklearn_is_fitted__():
            cls = _sklearn_flavoured(NotFittedError, "sklearn.exceptions")
            raise cls(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                      f"arguments before using {method}().")

    def _columns(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        return list(names) if names is not None else [f"x{j}" for j in range(self.n_features_in_)]

    def _check_names(self, X: Any) -> None:
        """scikit-learn's rules for column names at predict time (warn or raise)."""
        fitted, given = getattr(self, "feature_names_in_", None), _feature_names(X)
        me = type(self).__name__
        if fitted is None and given is not None:
            warnings.warn(f"X has feature names, but {me} was fitted without feature names", UserWarning,
                          stacklevel=4)
        elif fitted is not None and given is None:
            warnings.warn(f"X does not have valid feature names, but {me} was fitted with feature names",
                          UserWarning, stacklevel=4)
        elif fitted is not None and (len(fitted) != len(given) or np.any(fitted != given)):
            unseen = sorted(set(given) - set(fitted))
            missing = sorted(set(fitted) - set(given))
            msg = "The feature names should match those that were passed during fit.\n"
            if unseen:
                msg += "Feature names unseen at fit time:\n" + _name_list(unseen)
            if missing:
                msg += "Feature names seen at fit time, yet now missing:\n" + _name_list(missing)
            if not unseen and not missing:
                msg += "Feature names must be in the same order as they were in fit.\n"
            raise ValueError(msg)

    def _input_frame(self, X: Any, method: str) -> pd.DataFrame:
        self._check_fitted(method)
        self._check_names(X)
        arr = _check_X(X)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return pd.DataFrame(arr, columns=self._columns())

    # ------------------------------------------------------------------ use
    def predict(self, X: Any) -> np.ndarray:
        """The law evaluated on ``X``; an array (n_samples,)."""
        df = self._input_frame(X, "predict")
        return np.asarray(self.formula_.predict(df), dtype=float)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination R^2 of ``predict(X)`` against ``y`` (optionally weighted)."""
        pred = self.predict(X)
        truth = _check_y(y, pred.shape[0], type(self).__name__)
        w = np.ones_like(truth) if sample_weight is None else _as_float_array(sample_weight, "sample_weight")
        if w.shape != truth.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"sample_weight must be {truth.shape[0]} finite weights >= 0, got shape {w.shape}")
        ss_res = float(np.sum(w * (truth - pred) ** 2))
        ss_tot = float(np.sum(w * (truth - np.average(truth, weights=w)) ** 2))
        if ss_tot == 0.0:
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot

    def latex(self) -> str:
        """The law as LaTeX, ``target = formula`` (no ``$``)."""
        self._check_fitted("latex")
        return self.discovery_.latex()

    def sympy(self) -> sympy.Expr:
        """The law as a sympy expression over the variables' symbols."""
        self._check_fitted("sympy")
        return self.formula_.expr

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (k in defaults and _same(v, defaults[k]))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _repr_latex_(self) -> str | None:
        return f"${self.latex()}$" if self.__sklearn_is_fitted__() else None

    def _repr_html_(self) -> str:
        import html

        if not self.__sklearn_is_fitted__():
            return f"<pre>{html.escape(repr(self))} (not fitted)</pre>"
        d = self.discovery_
        return summary_html(d.latex(), r2=d.r2, rmse=d.rmse, complexity=d.complexity, seconds=d.seconds,
                            pareto=d.pareto, title=html.escape(repr(self)))

    def __sklearn_tags__(self):  # only called by scikit-learn, so importing it here is free
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor", target_tags=TargetTags(required=True),
                    regressor_tags=RegressorTags(), input_tags=InputTags(two_d_array=True),
                    non_deterministic=True)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b
