"""Main-effect control variates: the linear weights keep their meaning and lose noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate.errors import ParameterError
from surrogate.interop import reseeded
from surrogate.surrogates.control_variates import main_effects, without_main_effects

N_SEEDS = 20
LINEAR = {"x0": 1.0, "x1": -0.6, "x4": 0.0}  # the black box's own slopes on these features
GRADE_EFFECT = {"a": 0.0, "b": 2.0, "c": -2.0, "d": 0.0}


@pytest.fixture(scope="module")
def additive_world():
    """Linear in x0, x1 (x4 unused), a step in x2, a kink in x3, a category effect."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 5)), columns=[f"x{i}" for i in range(5)])
    X["grade"] = pd.Series(rng.choice(list("abcd"), 500), dtype="str")

    def model(rows: pd.DataFrame) -> np.ndarray:
        return (
            rows["x0"]
            - 0.6 * rows["x1"]
            + 3.0 * (rows["x2"] > 0.1)
            + 2.0 * np.abs(rows["x3"] - 0.1)
            + rows["grade"].map(GRADE_EFFECT).astype(float)
        ).to_numpy()

    query = pd.Series({"x0": 0.0, "x1": 0.0, "x2": 0.0, "x3": 0.0, "x4": 0.0, "grade": "a"})
    return model, X, query


def _slopes(explainer, query, control_variates: bool) -> np.ndarray:
    """Per-unit slopes of the LINEAR features over N_SEEDS seeds, shape (seeds, features)."""
    rows = []
    for seed in range(N_SEEDS):
        exp = reseeded(explainer, seed).explain(
            query, max_features=6, control_variates=control_variates
        )
        per_unit = {t.feature: t.weight_per_unit for t in exp.content.terms}
        rows.append([per_unit.get(name, 0.0) for name in LINEAR])
    return np.array(rows)


@pytest.mark.parametrize(
    ("sampler", "reference", "most"),
    [
        # near the query: pooled variance 0.38 (gaussian) and 0.28 (qmc) of the plain fit's
        ("gaussian", "neighbourhood", 0.6),
        ("qmc", "neighbourhood", 0.6),
        # against the training data half the rows redraw numbers from their training
        # values, so a number's offsets spread far and its 8 quantile bins follow a step
        # less closely: 0.65 (qmc) measured, still a third less noise
        ("gaussian", "training", 0.8),
        ("qmc", "training", 0.8),
    ],
)
def test_same_slopes_with_less_spread_across_seeds(additive_world, sampler, reference, most):
    model, X, query = additive_world
    explainer = sg.TabularExplainer(
        model, X, n_samples=1000, sampler=sampler, reference=reference
    )
    with_cv = _slopes(explainer, query, True)
    without = _slopes(explainer, query, False)
    truth = np.array(list(LINEAR.values()))
    # the same quantity: each mean within 4 standard errors of the black box's own slope
    se = with_cv.std(axis=0, ddof=1) / np.sqrt(N_SEEDS)
    assert np.all(np.abs(with_cv.mean(axis=0) - truth) <= 4 * se + 1e-3)
    # less noise: pooled variance across seeds at most ``most`` of the plain fit's
    ratio = with_cv.var(axis=0, ddof=1).sum() / without.var(axis=0, ddof=1).sum()
    assert ratio < most, ratio


def test_a_linear_black_box_is_recovered_exactly_with_control_variates(logistic_world):
    _, X = logistic_world

    def model(rows: pd.DataFrame) -> np.ndarray:
        return 2.0 * rows["f1"].to_numpy() - 0.5 * rows["f4"].to_numpy()

    exp = sg.TabularExplainer(model, X, n_samples=2000).explain(X.iloc[0], max_features=3)
    assert exp.top_features() == ["f1", "f4"]
    per_unit = {t.feature: t.weight_per_unit for t in exp.content.terms}
    assert per_unit == pytest.approx({"f1": 2.0, "f4": -0.5}, rel=1e-8)
    assert exp.fidelity.r2 == pytest.approx(1.0, abs=1e-9)


def _offsets(n: int, rng: np.random.Generator):
    """A number, an integer with few levels, a category replaced in 30% of rows."""
    z = np.column_stack(
        [
            rng.normal(size=n),
            np.round(rng.normal(size=n)),
            -(rng.random(n) < 0.3).astype(float),
        ]
    )
    values = np.column_stack([z[:, 0], z[:, 1], np.where(z[:, 2] != 0, rng.integers(1, 5, n), 0)])
    return z, values, np.array([False, False, True])


def test_each_main_effect_is_orthogonal_to_its_own_line_and_is_the_curve_it_sees():
    rng = np.random.default_rng(3)
    n = 4000
    z, values, categorical = _offsets(n, rng)
    w = rng.uniform(0.5, 1.0, n)
    y = z[:, 0] ** 2 + 0.5 * z[:, 1] + np.where(values[:, 2] == 2, 1.0, 0.0)
    effects, note = main_effects(z, values, y, w, categorical)
    assert note is None and effects.shape == z.shape
    for j in range(3):
        line = np.column_stack([np.ones(n), z[:, j]]) * w[:, None]
        assert np.abs(line.T @ effects[:, j]).max() < 1e-9 * n
    # the square's curve is found on the number, nothing on the integer's straight line,
    # and the category's effect: replacement by code 2 against the others
    # (8 quantile bins make a coarse staircase of the square in the normal's tails: 0.80)
    assert np.corrcoef(effects[:, 0], z[:, 0] ** 2)[0, 1] > 0.75
    assert effects[:, 1].std() < 0.05 * effects[:, 0].std()
    replaced = z[:, 2] != 0
    gap = (
        effects[replaced & (values[:, 2] == 2), 2].mean()
        - effects[replaced & (values[:, 2] != 2), 2].mean()
    )
    assert gap == pytest.approx(1.0, abs=0.1)


def test_a_straight_line_has_no_main_effect():
    rng = np.random.default_rng(4)
    z, values, categorical = _offsets(2000, rng)
    y = 1.5 * z[:, 0] - 2.0 * z[:, 1] + 0.7 * z[:, 2]
    effects, _ = main_effects(z, values, y, np.ones(2000), categorical)
    assert np.abs(effects).max() < 1e-8  # rounding and the 1e-10 ridge


def test_too_few_rows_keeps_the_response_and_says_so():
    # 40 categories, each replaced in about half the rows by one of three codes: 1 + 40 + 40 x 2 columns
    rng = np.random.default_rng(1)
    n, d = 600, 40
    replaced = rng.random((n, d)) < 0.5
    z = -replaced.astype(float)
    values = np.where(replaced, rng.integers(1, 4, (n, d)), 0).astype(float)
    y = rng.normal(size=n) + (values == 2).sum(axis=1)
    adjusted, note = without_main_effects(z, values, y, np.ones(n), np.ones(d, dtype=bool))
    assert (
        note
        == "Main effects not removed: 600 fitting rows are fewer than 20 per column (121 columns)."
    )
    assert np.array_equal(adjusted, y)
    # with five times the rows the same columns are fitted and removed
    big = np.repeat(np.arange(n), 5)
    adjusted, note = without_main_effects(
        z[big], values[big], y[big], np.ones(5 * n), np.ones(d, dtype=bool)
    )
    assert note is None and not np.allclose(adjusted, y[big])


def test_control_variates_must_be_a_bool(logistic_world):
    model, X = logistic_world
    with pytest.raises(ParameterError, match="control_variates"):
        sg.TabularExplainer(model, X, n_samples=200).explain(X.iloc[0], control_variates="yes")
