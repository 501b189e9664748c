"""The shared explanation pipeline: its small pure steps, and the problems it hands surrogates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from surrogate import TabularExplainer, TextExplainer
from surrogate.blackbox import as_blackbox
from surrogate.errors import ModelOutputError, ParameterError, UnknownOptionError
from surrogate.explain import pipeline
from surrogate.explain.pipeline import (
    DETERMINISM_TOLERANCE,
    Size,
    check_deterministic,
    decision_threshold,
    resolve_link,
)
from surrogate.links import LOGIT_EPS, apply_link

PROBE = np.zeros((2, 1))


def probabilities(rows):
    p = 1 / (1 + np.exp(-np.asarray(rows, dtype=float)[:, 0]))
    return np.column_stack([1 - p, p])


PROBA_BOX = as_blackbox(probabilities, probe_rows=PROBE)
SCORE_BOX = as_blackbox(
    lambda rows: np.column_stack([-np.asarray(rows)[:, 0], np.asarray(rows)[:, 0]]),
    mode="classification",
    probe_rows=np.array([[2.0], [-3.0]]),  # scores outside [0, 1]: not read as probabilities
)
REGRESSION_BOX = as_blackbox(
    lambda rows: np.asarray(rows)[:, 0] * 3.0, mode="regression", probe_rows=PROBE
)


# ---- Size ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n_samples", "share", "n_fit", "n_holdout"),
    [
        (5000, 0.2, 3999, 1000),  # the query is scored twice: n_fit + n_holdout + 1 rows
        (1000, 0.25, 749, 250),
        (50, 0.5, 24, 25),
        (60, 0.05, 56, 3),
        (10, 0.01, 8, 1),  # at least one held-out row
    ],
)
def test_size_splits_every_scored_row(n_samples, share, n_fit, n_holdout):
    size = Size.of(n_samples, share)
    assert (size.n_samples, size.n_fit, size.n_holdout) == (n_samples, n_fit, n_holdout)
    assert size.n_fit + size.n_holdout + 1 == size.n_samples


# ---- links ----------------------------------------------------------------------------------------
def test_identity_link_keeps_the_values():
    p = np.array([0.0, 0.3, 1.0])
    np.testing.assert_array_equal(apply_link(p, "identity"), p)


def test_logit_link_gives_log_odds():
    out = apply_link(np.array([0.5, 0.8, 0.2]), "logit")
    np.testing.assert_allclose(out, [0.0, math.log(4), -math.log(4)], atol=1e-15)


def test_logit_link_clips_certainties_to_finite_values():
    out = apply_link(np.array([0.0, 1.0]), "logit")
    bound = math.log((1 - LOGIT_EPS) / LOGIT_EPS)
    np.testing.assert_allclose(out, [-bound, bound])
    assert np.isfinite(out).all()


def test_logit_link_is_monotone_and_inverted_by_the_sigmoid():
    p = np.linspace(0.001, 0.999, 199)
    z = apply_link(p, "logit")
    assert np.all(np.diff(z) > 0)
    np.testing.assert_allclose(1 / (1 + np.exp(-z)), p, rtol=1e-12)


def test_default_link_is_logit_for_probabilities_and_identity_otherwise():
    assert resolve_link(None, PROBA_BOX) == "logit"
    assert resolve_link(None, SCORE_BOX) == "identity"
    assert resolve_link(None, REGRESSION_BOX) == "identity"
    assert resolve_link("identity", PROBA_BOX) == "identity"
    assert resolve_link("logit", PROBA_BOX) == "logit"


def test_an_unknown_link_is_refused_with_the_valid_names():
    with pytest.raises(
        UnknownOptionError, match=r"Unknown link 'probit'; expected one of \['identity', 'logit'\]"
    ):
        resolve_link("probit", PROBA_BOX)


@pytest.mark.parametrize("box", [REGRESSION_BOX, SCORE_BOX])
def test_logit_link_needs_probabilities(box):
    with pytest.raises(ParameterError, match=rf"link='logit' needs .* this one is {box.mode}"):
        resolve_link("logit", box)


def test_decision_thresholds_in_the_explained_scale():
    assert decision_threshold(PROBA_BOX, "identity") == 0.5
    assert decision_threshold(PROBA_BOX, "logit") == 0.0
    assert decision_threshold(SCORE_BOX, "identity") == 0.0
    assert decision_threshold(REGRESSION_BOX, "identity") is None


# ---- determinism check ------------------------------------------------------------------------------
def test_the_same_outputs_twice_pass():
    check_deterministic(np.array([0.2, 0.8]), np.array([0.2, 0.8]))
    check_deterministic(np.array([0.2, 0.8]), np.array([0.2, 0.8 + DETERMINISM_TOLERANCE / 2]))


def test_different_outputs_for_the_same_query_are_refused():
    with pytest.raises(
        ModelOutputError, match=r"\[0\.2, 0\.8\] then \[0\.25, 0\.75\].*not deterministic"
    ):
        check_deterministic(np.array([0.2, 0.8]), np.array([0.25, 0.75]))


def test_the_determinism_tolerance_is_relative_to_large_outputs():
    check_deterministic(np.array([1e6]), np.array([1e6 + 0.5]))  # 5e-7 relative
    with pytest.raises(ModelOutputError):
        check_deterministic(np.array([1e6]), np.array([1e6 + 2.0]))


# ---- tables end to end: prepare -> score -> local_problem -------------------------------------------
class CountingModel:
    """A regression black box on frames; records how many rows each call scored."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        self.sizes.append(len(frame))
        bump = frame["grade"].map({"A": 1.0, "B": 0.0, "C": -1.0}).to_numpy(float)
        return 2.0 * frame["income"].to_numpy(float) - frame["age"].to_numpy(float) / 10 + bump


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "income": rng.normal(3.0, 1.0, 200),
            "age": rng.integers(20, 70, 200),
            "grade": pd.Series(rng.choice(["A", "B", "C"], 200), dtype="str"),
        }
    )
    return X


def test_local_problems_start_with_the_query_and_carry_kernel_weights(table):
    model = CountingModel()
    explainer = TabularExplainer(model, table, n_samples=300, kernel_width=0.8, holdout_share=0.25)
    queries = explainer.prepare(table.iloc[:3])
    size = Size.of(300, 0.25, pipeline.POPULATION_SHARE)
    assert (explainer.n_fit, explainer.n_holdout) == (size.n_fit, size.n_holdout) == (194, 75)
    assert size.n_population == 30  # the population-scope check, inside n_samples
    model.sizes.clear()
    scored = pipeline.score(explainer, queries, size)
    assert model.sizes == [3 * 300]  # three neighbourhoods, each with the query twice, one call
    for k, (query, s) in enumerate(zip(queries, scored, strict=True)):
        problem = pipeline.local_problem(explainer, s)
        assert query.index == k
        np.testing.assert_array_equal(query.row, explainer.schema.encode(table.iloc[[k]])[0])
        # row 0 of the fitting sample is the query itself, at distance 0 and z = 0
        np.testing.assert_array_equal(problem.values_fit[0], query.row)
        assert not problem.z_fit[0].any() and s.d_fit[0] == 0.0
        assert problem.y_fit[0] == model(explainer.schema.decode(query.row[None, :]))[0]
        assert (len(problem.y_fit), len(problem.y_hold), len(problem.y_population)) == (194, 75, 30)
        assert problem.z_fit.shape == (194, 3) and problem.z_hold.shape == (75, 3)
        np.testing.assert_array_equal(
            problem.y_population, model(explainer.schema.decode(problem.values_population))
        )
        # from their own stream: the query with some features taken from training rows
        values, z = explainer.population_rows.sample(
            query.row, 30, pipeline.seeds_of(explainer, query).population
        )
        np.testing.assert_array_equal(values, problem.values_population)
        np.testing.assert_array_equal(z, problem.z_population)
        training = explainer.schema.encode(table)
        for column in range(3):
            moved = values[:, column] != query.row[column]
            assert np.isin(values[moved, column], training[:, column]).all()
        # outputs stay with their rows
        np.testing.assert_array_equal(
            problem.y_fit, model(explainer.schema.decode(problem.values_fit))
        )
        np.testing.assert_array_equal(
            problem.y_hold, model(explainer.schema.decode(problem.values_hold))
        )
        # weights from the exponential kernel at the explainer's width
        np.testing.assert_allclose(problem.w_fit, np.exp(-((s.d_fit / 0.8) ** 2)))
        np.testing.assert_allclose(problem.w_hold, np.exp(-((s.d_hold / 0.8) ** 2)))
        assert problem.w_fit[0] == 1.0
        assert problem.threshold is None  # regression
        # the held-out rows are those of the query's own held-out stream
        held = pipeline.held_out_rows(explainer, query.row, query.readable, size.n_holdout)
        np.testing.assert_array_equal(held.values, problem.values_hold)


def test_a_query_gets_the_same_problem_alone_or_in_company(table):
    explainer = TabularExplainer(CountingModel(), table, n_samples=200)
    size = Size.of(200, explainer.holdout_share)
    many = pipeline.score(explainer, explainer.prepare(table.iloc[:4]), size)
    alone = pipeline.score(explainer, explainer.prepare(table.iloc[[2]]), size)
    np.testing.assert_array_equal(many[2].values_fit, alone[0].values_fit)
    np.testing.assert_array_equal(many[2].y_hold, alone[0].y_hold)


def test_a_kernel_too_narrow_for_the_features_is_refused(table):
    explainer = TabularExplainer(CountingModel(), table, n_samples=200, kernel_width=1e-3)
    (scored,) = pipeline.score(explainer, explainer.prepare(table.iloc[:1]), Size.of(200, 0.2))
    with pytest.raises(ParameterError, match=r"kernel_width=0\.001 leaves effective sample sizes"):
        pipeline.local_problem(explainer, scored)


def test_a_classifier_problem_is_in_log_odds_with_threshold_zero(table):
    def model(frame):
        p = 1 / (1 + np.exp(-(frame["income"].to_numpy(float) - 3.0)))
        return np.column_stack([1 - p, p])

    explainer = TabularExplainer(model, table, n_samples=200)
    queries = explainer.prepare(table.iloc[:1])
    (scored,) = pipeline.score(explainer, queries, Size.of(200, 0.2))
    problem = pipeline.local_problem(explainer, scored)
    assert problem.threshold == 0.0
    p = model(explainer.schema.decode(problem.values_fit))[:, 1]
    np.testing.assert_allclose(problem.y_fit, np.log(p / (1 - p)), rtol=1e-9, atol=1e-9)


# ---- text: queries stacked into shared model calls ----------------------------------------------------
class CountingTextModel:
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.sizes.append(len(texts))
        p = np.array(
            [0.2 + 0.6 * ("good" in t.split()) - 0.1 * ("not" in t.split()) for t in texts]
        )
        return np.column_stack([1 - p, p])


TEXTS = ["a good film", "not a good day at all", "nothing here"]


def test_text_queries_share_model_calls_and_keep_their_own_explanations():
    model = CountingTextModel()
    explainer = TextExplainer(model, n_samples=200)
    model.sizes.clear()
    together = explainer.explain_many(TEXTS)
    # one call for all three neighbourhoods (139 rows each), then one for all three
    # deletion checks (61 rows each, after fitting): 200 rows per query in all
    assert model.sizes == [3 * 139, 3 * 61]
    model.sizes.clear()
    alone = [explainer.explain(text) for text in TEXTS]
    assert model.sizes == [139, 61] * 3
    assert [e.to_json() for e in together] == [e.to_json() for e in alone]


def test_text_queries_are_scored_within_the_row_budget():
    model = CountingTextModel()
    explainer = TextExplainer(model, n_samples=200, row_budget=300)
    model.sizes.clear()
    budgeted = explainer.explain_many(TEXTS)
    # two whole first blocks of 139 rows fit, the third goes alone (neighbourhoods, then
    # the deletion checks of the same queries)
    assert model.sizes == [2 * 139, 2 * 61, 139, 61]
    reference = TextExplainer(CountingTextModel(), n_samples=200).explain_many(TEXTS)
    assert [e.to_json() for e in budgeted] == [e.to_json() for e in reference]
