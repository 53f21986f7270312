"""Bundled data: the Feynman table, sampling by the SRBench protocol, and Kepler's planets."""

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy

from kansci.datasets import (
    FeynmanLaw,
    evaluate_law,
    feynman,
    feynman_law,
    feynman_table,
    kepler,
    make_dataset,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "feynman_main.csv"
IDS = list(feynman_table()["id"])


def test_table_shape_and_columns():
    table = feynman_table()
    assert list(table.columns) == ["id", "output", "formula", "n_vars", "variables"]
    assert len(table) == 100
    assert table["id"].is_unique
    assert table["n_vars"].between(1, 9).all()


def test_table_is_a_copy():
    table = feynman_table()
    table.loc[0, "formula"] = "oops"
    assert feynman_table().loc[0, "formula"] != "oops"


@pytest.mark.parametrize("law_id", IDS)
def test_every_law_parses_and_evaluates(law_id):
    law = feynman_law(law_id)
    row = feynman_table().set_index("id").loc[law_id]
    assert isinstance(law.formula, sympy.Expr)
    assert law.n_vars == row["n_vars"] == len(law.symbols)
    # every variable is used and nothing else is free (no sympy I, E, gamma... leaking in)
    assert law.formula.free_symbols == set(law.symbols.values())
    assert not law.formula.has(sympy.I, sympy.zoo, sympy.nan)
    train, _ = make_dataset(law, n_train=200, n_test=0, seed=1)
    y = train[law.output].to_numpy()
    assert y.shape == (200,) and y.dtype == np.float64
    assert np.isfinite(y).all()


def test_shadowed_names_are_plain_symbols():
    law = feynman_law("I.39.11")  # 1/(gamma-1)*pr*V
    gamma = law.symbols["gamma"]
    assert gamma == sympy.Symbol("gamma")
    assert not law.formula.atoms(sympy.Function)
    assert feynman_law("II.13.17").symbols["I"] == sympy.Symbol("I")
    assert feynman_law("III.8.54").symbols["E_n"] in feynman_law("III.8.54").formula.free_symbols


HAND_WRITTEN = {
    "I.6.2a": lambda v: np.exp(-v["theta"] ** 2 / 2) / np.sqrt(2 * np.pi),
    "I.9.18": lambda v: v["G"] * v["m1"] * v["m2"]
    / ((v["x2"] - v["x1"]) ** 2 + (v["y2"] - v["y1"]) ** 2 + (v["z2"] - v["z1"]) ** 2),
    "I.24.6": lambda v: 0.25 * v["m"] * (v["omega"] ** 2 + v["omega_0"] ** 2) * v["x"] ** 2,
    "I.30.5": lambda v: np.arcsin(v["lambd"] / (v["n"] * v["d"])),
    "I.39.11": lambda v: v["pr"] * v["V"] / (v["gamma"] - 1),
    "II.6.15a": lambda v: v["p_d"] / (4 * np.pi * v["epsilon"]) * 3 * v["z"] / v["r"] ** 5
    * np.sqrt(v["x"] ** 2 + v["y"] ** 2),
    "II.11.27": lambda v: v["n"] * v["alpha"] / (1 - v["n"] * v["alpha"] / 3)
    * v["epsilon"] * v["Ef"],
    "II.13.17": lambda v: 2 * v["I"] / (4 * np.pi * v["epsilon"] * v["c"] ** 2 * v["r"]),
    "III.8.54": lambda v: np.sin(v["E_n"] * v["t"] * 2 * np.pi / v["h"]) ** 2,
    "III.19.51": lambda v: -v["m"] * v["q"] ** 4
    / (2 * (4 * np.pi * v["epsilon"]) ** 2 * (v["h"] / (2 * np.pi)) ** 2) / v["n"] ** 2,
}


@pytest.mark.parametrize("law_id", sorted(HAND_WRITTEN))
def test_laws_match_hand_written_numpy(law_id):
    train, test = make_dataset(law_id, n_train=100, n_test=0, seed=3)
    expected = HAND_WRITTEN[law_id](train)
    np.testing.assert_allclose(train[feynman_law(law_id).output], expected, rtol=1e-12)


@pytest.mark.skipif(not REFERENCE.is_file(), reason="shared reference table not present")
def test_bundled_table_matches_the_shared_reference():
    with REFERENCE.open(newline="") as handle:
        reference = list(csv.DictReader(handle))
    table = feynman_table()
    assert list(table["id"]) == [row["id"] for row in reference]
    for ours, ref in zip(table.itertuples(index=False), reference):
        assert ours.output == ref["output"], ours.id
        assert ours.formula == ref["formula"], ours.id
        assert ours.n_vars == int(ref["n_vars"]), ours.id
        expected = [
            (ref[f"v{k}_name"], float(ref[f"v{k}_low"]), float(ref[f"v{k}_high"]))
            for k in range(1, int(ref["n_vars"]) + 1)
        ]
        assert list(feynman_law(ours.id).variables) == expected, ours.id


def test_lookup_by_other_spellings_and_unknown_ids():
    assert feynman_law("feynman_I_6_2a").id == "I.6.2a"
    assert feynman_law(" ii.6.15A ").id == "II.6.15a"
    law = feynman_law("I.6.2")
    assert feynman_law(law) is law
    with pytest.raises(KeyError) as info:
        feynman_law("I.6.2c")
    message = str(info.value)
    assert "'I.6.2c'" in message and "I.6.2a" in message and not message.startswith('"')
    with pytest.raises(KeyError, match="feynman_table"):
        feynman_law("nothing like it at all")
    with pytest.raises(TypeError):
        feynman_law(3)  # type: ignore[arg-type]


def test_law_object():
    law = feynman_law("I.12.11")  # q*(Ef+B*v*sin(theta))
    assert isinstance(law, FeynmanLaw)
    assert law.names == ["q", "Ef", "B", "v", "theta"]
    assert law.ranges["theta"] == (1.0, 5.0)
    assert hash(law) == hash(feynman_law("I.12.11"))
    q, Ef, B, v, theta = (law.symbols[n] for n in law.names)
    assert law.formula == q * (Ef + B * v * sympy.sin(theta))


def test_sampling_respects_ranges_and_column_order():
    law = feynman_law("I.9.18")
    train, test = make_dataset(law, n_train=500, n_test=300, seed=0)
    assert list(train.columns) == law.names + [law.output]
    assert len(train) == 500 and len(test) == 300
    for name, low, high in law.variables:
        for table in (train, test):
            assert table[name].between(low, high).all()
            # uniform over the whole range, not a corner of it
            assert table[name].min() < low + 0.1 * (high - low)
            assert table[name].max() > high - 0.1 * (high - low)


def test_noise_only_on_train_and_sized_by_rms():
    law = feynman_law("I.14.3")
    clean_train, clean_test = make_dataset(law, n_train=4000, n_test=500, noise=0.0, seed=5)
    noisy_train, noisy_test = make_dataset(law, n_train=4000, n_test=500, noise=0.1, seed=5)
    pd.testing.assert_frame_equal(clean_test, noisy_test)
    variables = law.names
    pd.testing.assert_frame_equal(clean_train[variables], noisy_train[variables])
    np.testing.assert_allclose(noisy_test[law.output], evaluate_law(law, noisy_test))
    np.testing.assert_allclose(clean_train[law.output], evaluate_law(law, clean_train))
    y = clean_train[law.output].to_numpy()
    residual = noisy_train[law.output].to_numpy() - y
    expected_sd = 0.1 * math.sqrt(np.mean(y**2))
    assert residual.std() == pytest.approx(expected_sd, rel=0.05)
    assert abs(residual.mean()) < 0.1 * expected_sd


def test_determinism_with_the_seed():
    a = make_dataset("II.6.15a", n_train=50, n_test=20, noise=0.01, seed=7)
    b = make_dataset("II.6.15a", n_train=50, n_test=20, noise=0.01, seed=7)
    c = make_dataset("II.6.15a", n_train=50, n_test=20, noise=0.01, seed=8)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not np.allclose(a[0].to_numpy(), c[0].to_numpy())
    d = make_dataset("II.6.15a", n_train=50, n_test=20, seed=np.random.default_rng(7))
    pd.testing.assert_frame_equal(a[1], d[1])


def test_feynman_returns_the_training_table_and_formula():
    df, formula = feynman("I.12.1", n=30, noise=0.01, seed=2)
    train, _ = make_dataset("I.12.1", n_train=30, noise=0.01, seed=2)
    pd.testing.assert_frame_equal(df, train)
    assert formula == feynman_law("I.12.1").formula
    assert list(df.columns) == ["mu", "Nn", "F"]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"n_train": 0}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_test": -1}, "n_test"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"noise": float("inf")}, "noise"),
    ],
)
def test_bad_sampling_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_dataset("I.12.1", **kwargs)


def test_evaluate_law_with_keyword_and_missing_names():
    law = feynman_law("I.30.5")  # asin(lambd/(n*d))
    data = {"lambd": [1.0, 2.0], "n": [2.0, 4.0], "d": [2.0, 2.0], "extra": [0, 0]}
    np.testing.assert_allclose(evaluate_law(law, data), np.arcsin([0.25, 0.25]))
    with pytest.raises(KeyError, match="needs columns d"):
        evaluate_law(law, {"lambd": [1.0], "n": [1.0]})
    # a variable literally called `lambda` (a Python keyword) still evaluates
    lam, x = sympy.Symbol("lambda"), sympy.Symbol("x")
    custom = FeynmanLaw("custom", "y", lam * x, (("lambda", 1.0, 2.0), ("x", 1.0, 2.0)),
                        {"lambda": lam, "x": x})
    np.testing.assert_allclose(evaluate_law(custom, {"lambda": [2.0], "x": [3.0]}), [6.0])
    train, _ = make_dataset(custom, n_train=10, n_test=0)
    np.testing.assert_allclose(train["y"], train["lambda"] * train["x"])


def test_a_custom_law_from_lists_and_without_symbols():
    lam, x = sympy.Symbol("lambda"), sympy.Symbol("x")
    law = FeynmanLaw("mine", "y", lam / x, [["lambda", 1, 2], ("x", 3, 4)])
    assert law.variables == (("lambda", 1.0, 2.0), ("x", 3.0, 4.0))
    assert law.symbols == {"lambda": lam, "x": x}
    train, test = make_dataset(law, n_train=20, n_test=5, seed=1)
    assert train["x"].between(3, 4).all() and len(test) == 5
    with pytest.raises(ValueError, match="uses z"):
        FeynmanLaw("bad", "y", x * sympy.Symbol("z"), [("x", 1, 2)])


def test_kepler():
    planets = kepler()
    assert list(planets.columns) == ["planet", "a", "P"]
    assert len(planets) == 8
    assert planets["planet"].iloc[0] == "Mercury" and planets["planet"].iloc[-1] == "Neptune"
    assert planets["a"].is_monotonic_increasing
    np.testing.assert_allclose(planets["P"], planets["a"] ** 1.5, rtol=0.01)


def test_top_level_datasets_link_points_at_the_bundled_files():
    link = Path(__file__).resolve().parents[1] / "datasets"
    if not link.exists():
        pytest.skip("no top-level datasets link in this checkout")
    assert (link / "feynman.csv").is_file() and (link / "kepler.csv").is_file()


def test_beyond_table_laws_sample_as_declared():
    from kansci.datasets import LAW_TABLES

    assert "beyond" in LAW_TABLES
    table = feynman_table("beyond")
    assert len(table) >= 40 and not set(table["id"]) & set(feynman_table()["id"])
    law = feynman_law("B27")  # integer inputs
    train, _ = make_dataset(law, 300, 0, seed=1)
    a = train["a"].to_numpy()
    assert law.sampling == ("int", "int") and np.all(a == np.round(a)) and a.min() >= 0 and a.max() <= 10
    assert feynman_law("B22").rows == 50 and feynman_law("B22").table == "beyond"


def test_log_uniform_sampling_spans_the_decades():
    import sympy

    x = sympy.Symbol("x")
    law = FeynmanLaw("T1", "y", x**2, [("x", 1e-3, 1e3)], sampling=("log",))
    train, _ = make_dataset(law, 4000, 0, seed=0)
    decades = np.floor(np.log10(train["x"].to_numpy()))
    counts = np.bincount((decades + 3).astype(int))
    assert len(counts) == 6 and counts.min() > 500  # about 667 per decade


def test_unknown_table_and_bad_sampling_are_clear():
    import sympy

    with pytest.raises(ValueError, match="unknown law table"):
        feynman_table("nope")
    with pytest.raises(ValueError, match="sampling"):
        FeynmanLaw("T2", "y", sympy.Symbol("x"), [("x", 1, 2)], sampling=("cubic",))
