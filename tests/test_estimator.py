"""KANRegressor: scikit-learn's conventions, without needing scikit-learn."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy

from kansci._estimator import KANRegressor, NotFittedError


def linear_strategy(ctx) -> None:
    """A fast, deterministic stand-in search stage: ordinary least squares."""
    p = ctx.problem
    X, y = p.subset(p.train)
    coef = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    expr = sum((sympy.Float(c) * s for c, s in zip(coef, p.symbols)), sympy.Float(coef[-1]))
    ctx.add(expr, "linear")


LINEAR = [("linear", linear_strategy, 1.0)]


@pytest.fixture(scope="module")
def law():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(1, 2, (120, 2)), columns=["a", "b"])
    y = pd.Series(X["a"] * np.sin(X["b"]), name="F")
    return X, y


@pytest.fixture(scope="module")
def fitted(law):
    X, y = law
    return KANRegressor(time_limit=20).fit(X, y)


# ----------------------------------------------------------------------- real discovery
def test_fit_dataframe_finds_the_law(fitted, law):
    X, y = law
    a, b = fitted.formula_.symbols
    assert sympy.simplify(fitted.sympy() - a * sympy.sin(b)) == 0
    assert fitted.score(X, y) > 0.999999
    np.testing.assert_allclose(fitted.predict(X), y.to_numpy(), rtol=1e-9)
    assert list(fitted.feature_names_in_) == ["a", "b"] and fitted.feature_names_in_.dtype == object
    assert fitted.n_features_in_ == 2
    assert fitted.latex().startswith("F = ")
    assert {"complexity", "rmse", "r2", "chosen", "formula"} <= set(fitted.equations_.columns)
    assert fitted.equations_["chosen"].sum() == 1
    assert fitted.r2_ > 0.999


def test_arrays_get_x_names(law):
    X, y = law
    reg = KANRegressor(time_limit=20).fit(X.to_numpy(), y.to_numpy())
    assert set(reg.formula_.variables) == {"x0", "x1"}
    assert not hasattr(reg, "feature_names_in_")
    assert "x_{0}" in reg.latex() or "x0" in reg.latex()
    assert reg.latex().startswith("y = ")


def test_display(fitted):
    html = fitted._repr_html_()
    assert "R&sup2;" in html and "<table>" in html and "a*sin(b)" in html
    assert fitted._repr_latex_().startswith("$F = ")
    assert "not fitted" in KANRegressor()._repr_html_()
    assert KANRegressor()._repr_latex_() is None


def test_pareto_html_is_compact():
    from kansci._display import pareto_html

    long = "x + " * 40 + "1"
    front = pd.DataFrame({"complexity": range(1, 13), "rmse": np.logspace(0, -11, 12), "r2": 0.5,
                          "exact": False, "chosen": [k == 9 for k in range(12)],
                          "formula": [f"f{k}" for k in range(11)] + [long]})
    html = pareto_html(front)
    assert html.count("<tr") == 1 + 8 and "8 of 12 formulas" in html
    assert '<tr style="font-weight:bold"><td>10</td>' in html  # the chosen row, in bold
    assert "\u2026" in html and f'title="{long}"' in html  # shortened, full text on hover
    assert "f0<" not in html  # rows far from the chosen one are left out


def test_pickle_round_trip(fitted, law):
    X, _ = law
    fitted.predict(X)  # compiles the formula; the compiled function must not break pickling
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))


# ----------------------------------------------------------------------- conventions
def test_params_round_trip_and_repr():
    reg = KANRegressor(time_limit=5, seed=3)
    params = reg.get_params()
    assert params == {"time_limit": 5, "seed": 3, "val_fraction": 0.2, "min_rows": 10, "threads": 1,
                      "progress": False, "strategies": None, "device": None}
    assert repr(reg) == "KANRegressor(time_limit=5, seed=3)"
    clone = type(reg)(**params)
    assert clone.get_params() == params
    assert reg.set_params(seed=7) is reg and reg.seed == 7
    with pytest.raises(ValueError, match="Invalid parameter 'alpha'.*Valid parameters are"):
        reg.set_params(alpha=1)


def test_constructor_and_set_params_do_not_validate():
    reg = KANRegressor(time_limit=-1)
    reg.set_params(val_fraction=2)  # checked only by fit
    with pytest.raises(ValueError, match="time_limit must be a number of seconds > 0, got -1"):
        reg.fit(np.ones((20, 1)), np.arange(20.0))


def test_unfitted_use_raises():
    reg = KANRegressor()
    for call in (lambda: reg.predict(np.ones((3, 1))), lambda: reg.score(np.ones((3, 1)), np.ones(3)),
                 reg.latex, reg.sympy):
        with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
            call()
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(reg, "formula_")


def _fit_linear(X, y, **params):
    return KANRegressor(time_limit=5, strategies=LINEAR, **params).fit(X, y)


def test_shape_errors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, -1.0] + 0.5
    with pytest.raises(ValueError, match="inconsistent numbers of samples: \\[30, 29\\]"):
        _fit_linear(X, y[:-1])
    with pytest.raises(ValueError, match="Expected a 2D array X"):
        _fit_linear(X[:, 0], y)
    with pytest.raises(ValueError, match="1 sample\\(s\\)"):
        _fit_linear(X[:1], y[:1])
    with pytest.raises(ValueError, match="0 feature\\(s\\)"):
        _fit_linear(X[:, :0], y)
    with pytest.raises(ValueError, match="y should be a 1d array"):
        _fit_linear(X, np.c_[y, y])
    with pytest.raises(ValueError, match="requires y to be passed"):
        _fit_linear(X, None)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf in 1 row"):
        _fit_linear(bad, y)
    reg = _fit_linear(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but KANRegressor is expecting 3 features"):
        reg.predict(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        reg.predict(bad)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        reg.score(X, y[:-2])


def test_weighted_score():
    X = np.arange(40.0).reshape(20, 2)
    y = X[:, 0] * 2.0
    reg = _fit_linear(X, y)
    off = y.copy()
    off[0] += 100.0  # a wrong row that a zero weight hides
    w = np.ones(20)
    w[0] = 0.0
    assert reg.score(X, off) < 0.99
    assert reg.score(X, off, sample_weight=w) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sample_weight must be 20 finite weights"):
        reg.score(X, y, sample_weight=-w)


def test_column_vector_y_warns_and_fits():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, -3.0]
    with pytest.warns(UserWarning, match="column-vector y"):
        reg = _fit_linear(X, y[:, None])
    assert reg.score(X, y) > 0.999


def test_feature_names_follow_sklearn_rules():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["p", "q", "r"])
    y = 2 * X["p"] - X["r"]
    reg = _fit_linear(X, y)
    with pytest.raises(ValueError, match="same order as they were in fit"):
        reg.predict(X[["r", "q", "p"]])
    with pytest.raises(ValueError, match="unseen at fit time:\n- s\n"):
        reg.predict(X.rename(columns={"q": "s"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        pred = reg.predict(X.to_numpy())
    np.testing.assert_allclose(pred, reg.predict(X))
    plain = _fit_linear(X.to_numpy(), y.to_numpy())
    with pytest.warns(UserWarning, match="X has feature names, but KANRegressor was fitted without"):
        plain.predict(X)


def test_target_name_never_clashes_with_a_feature():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(30, 2)), columns=["y", "target"])
    reg = _fit_linear(X, X["y"] + 1.0)  # y's name "y" is a feature too
    assert reg.discovery_.target not in {"y", "target"}
    assert reg.score(X, X["y"] + 1.0) > 0.999


def test_library_is_silent_and_logs_to_kansci(capsys):
    import logging

    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("kansci").handlers)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 2))
    reg = _fit_linear(X, X[:, 0] + 2.0)
    reg.predict(X), reg._repr_html_(), reg.latex()
    assert capsys.readouterr() == ("", "")


def test_works_without_sklearn():
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None  # any import of scikit-learn now fails
        import numpy as np
        from kansci._estimator import KANRegressor, NotFittedError
        from tests.test_estimator import LINEAR
        X = np.random.default_rng(0).normal(size=(30, 2))
        reg = KANRegressor(time_limit=5, strategies=LINEAR).fit(X, X[:, 0] - X[:, 1])
        assert reg.score(X, X[:, 0] - X[:, 1]) > 0.999
        try:
            KANRegressor().predict(X)
        except NotFittedError:
            print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(Path(__file__).resolve().parents[1]), check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ----------------------------------------------------------------------- scikit-learn's own checks
def _sklearn_checks():
    try:
        import sklearn
        from sklearn.utils.estimator_checks import parametrize_with_checks
    except ImportError:
        return pytest.mark.skip(reason="scikit-learn is not installed")
    if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 6):
        return pytest.mark.skip(reason="needs scikit-learn >= 1.6 (estimator tags)")
    with warnings.catch_warnings():  # "does not inherit from BaseEstimator": by design
        warnings.simplefilter("ignore", UserWarning)
        return parametrize_with_checks([KANRegressor(time_limit=5, strategies=LINEAR)])


@_sklearn_checks()
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's estimator checks, with a least-squares stage standing in for the search.

    The conventions checked (validation, errors, names, cloning, pickling) are the estimator's;
    the stand-in keeps the ~50 fits fast and deterministic.
    """
    check(estimator)


def test_sklearn_errors_are_sklearn_classes():
    exceptions = pytest.importorskip("sklearn.exceptions")
    with pytest.raises(exceptions.NotFittedError):
        KANRegressor().predict(np.ones((3, 1)))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _fit_linear(np.arange(40.0).reshape(20, 2), np.arange(20.0)[:, None])
    assert any(issubclass(w.category, exceptions.DataConversionWarning) for w in seen)


# --------------------------------------------------------------------- bad-input matrix
def _matrix_data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.uniform(1, 2, (40, 3)), columns=["a", "b", "c"])
    return X, X["a"] * 2.0 + X["b"]


def _with(frame, col, values):
    frame = frame.copy()
    frame[col] = values
    return frame


@pytest.mark.parametrize("case, error, match", [
    ("empty", ValueError, "0 sample"),
    ("nine rows", ValueError, "9 sample.*minimum of 10"),
    ("text column", ValueError, r"X must be numeric .*column\(s\) \['b'\]"),
    ("mixed column", ValueError, r"column\(s\) \['c'\]"),
    ("text target", ValueError, "y must be numeric"),
    ("inf in X", ValueError, "NaN or inf in 1 row"),
    ("nan in y", ValueError, "y contains NaN or inf"),
    ("constant target", ValueError, "constant"),
    ("duplicate names", ValueError, "duplicate column names \\['a'\\]"),
])
def test_bad_input_gets_a_clear_error(case, error, match):
    X, y = _matrix_data()
    if case == "empty":
        X, y = X.iloc[:0], y.iloc[:0]
    elif case == "nine rows":
        X, y = X.iloc[:9], y.iloc[:9]
    elif case == "text column":
        X = _with(X, "b", ["oops"] * len(X))
    elif case == "mixed column":
        X = _with(X.astype(object), "c", [1.5] * 20 + ["n/a"] * 20)
    elif case == "text target":
        y = pd.Series(["x"] * len(X))
    elif case == "inf in X":
        X.iloc[4, 2] = np.inf
    elif case == "nan in y":
        y = y.copy()
        y.iloc[0] = np.nan
    elif case == "constant target":
        y = pd.Series(np.full(len(X), 3.0))
    elif case == "duplicate names":
        X.columns = ["a", "a", "c"]
    with pytest.raises(error, match=match) as info:
        KANRegressor(time_limit=5, strategies=LINEAR).fit(X, y)
    assert "\n" not in str(info.value)  # one line


@pytest.mark.parametrize("case", ["constant column", "huge", "tiny", "keywords", "unicode"])
def test_awkward_but_valid_input_fits(case):
    X, y = _matrix_data()
    expect = None
    if case == "constant column":
        X = _with(X, "c", 7.0)
        expect = "dropped constant input column"
    elif case == "huge":
        X, y = X * 1e12, y * 1e12
    elif case == "tiny":
        X, y = X * 1e-12, y * 1e-12
    elif case == "keywords":
        X.columns = ["lambda", "I", "E"]
    elif case == "unicode":
        X.columns = ["α", "β [m/s]", "γ"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = KANRegressor(time_limit=5, strategies=LINEAR).fit(X, y)
    if expect:
        assert any(expect in str(w.message) for w in caught)
    assert reg.score(X, y) > 0.999999
    assert list(reg.feature_names_in_) == [str(c) for c in X.columns]
