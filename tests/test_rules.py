"""Tests for the rule-list learner and the rule-list surrogate family."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_world import (
    FEATURES,
    NAMES,
    assert_conditions_valid,
    make_problem,
    problem_cases,
    problem_from,
    rule_holds,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

from surrogate.errors import ParameterError
from surrogate.fidelity import weighted_r2
from surrogate.surrogates.rules import RuleListRegressor, RuleListSurrogate


# ---- scikit-learn's estimator checks ---------------------------------------------------------
@parametrize_with_checks(
    [RuleListRegressor(), RuleListRegressor(max_rules=8, max_conditions=2, min_coverage=0.1)]
)
def test_sklearn_compatible(estimator, check):
    """Each of scikit-learn's check_* functions raises AssertionError when the estimator breaks it."""
    check(estimator)


# ---- known answers ---------------------------------------------------------------------------
def test_rule_list_follows_a_tree_black_box():
    """Eight leaves need eight lines: seven IF rules and the ELSE."""
    problem = make_problem(1, 2000, 1000)
    family = RuleListSurrogate(max_rules=8)
    (fit,) = family.fit_local([problem], FEATURES, (), [np.random.SeedSequence(1)])
    assert weighted_r2(problem.y_hold, fit.pred_hold, problem.w_hold) >= 0.9
    rules = fit.content.rules
    assert len(rules) <= 8 and rules[-1].conditions == () and all(r.conditions for r in rules[:-1])
    assert sum(rule.fires for rule in rules) == 1
    assert sum(rule.n_covered for rule in rules) == len(problem.y_hold)
    assert fit.content.n_conditions == sum(len(r.conditions) for r in rules)


def test_recovers_the_conditions_of_a_rule_list_black_box():
    """IF x0 > 6 THEN 3; ELSE IF x1 in {1, 3} AND x2 <= 0 THEN -2; ELSE 0.3 x3."""
    rng = np.random.default_rng(2)
    n = 1500
    X = np.column_stack(
        [rng.uniform(0, 10, n), rng.integers(0, 5, n), rng.normal(size=n), rng.normal(size=n)]
    )
    y = np.where(
        X[:, 0] > 6, 3.0, np.where(np.isin(X[:, 1], [1, 3]) & (X[:, 2] <= 0), -2.0, 0.3 * X[:, 3])
    )
    model = RuleListRegressor(max_rules=3, categorical_features=[1]).fit(
        X, y, rng.uniform(0.5, 1, n)
    )
    first, second, rest = model.rules_
    (t,) = first.tests
    assert (t.column, t.op) == (0, ">") and t.value == pytest.approx(6, abs=0.05)
    assert first.prediction == pytest.approx(3.0)
    by_column = {t.column: t for t in second.tests}
    assert sorted(by_column) == [1, 2] and second.prediction == pytest.approx(-2.0)
    cat = by_column[1]
    allowed = set(cat.value) if cat.op == "in" else set(range(5)) - set(cat.value)
    assert allowed == {1, 3}
    assert by_column[2].op == "<=" and by_column[2].value == pytest.approx(0, abs=0.05)
    assert rest.tests == ()


# ---- properties -----------------------------------------------------------------------------
@settings(deadline=None)
@given(
    case=problem_cases,
    max_rules=st.integers(1, 6),
    max_conditions=st.integers(1, 3),
    min_coverage=st.sampled_from([0.05, 0.2]),
)
def test_reported_coverage_matches_a_recount(case, max_rules, max_conditions, min_coverage):
    problem = problem_from(case)
    family = RuleListSurrogate(
        max_rules=max_rules, max_conditions=max_conditions, min_coverage=min_coverage, n_bootstrap=2
    )
    (fit,) = family.fit_local([problem], FEATURES, (), [np.random.SeedSequence(case["seed"])])
    content = fit.content
    assert_conditions_valid(content)
    assert 1 <= len(content.rules) <= max_rules and content.rules[-1].conditions == ()
    open_hold = np.ones(len(problem.y_hold), dtype=bool)
    open_query = True
    for rule in content.rules:
        assert len(rule.conditions) <= max_conditions
        covered = open_hold & rule_holds(rule.conditions, problem.values_hold)
        open_hold &= ~covered
        n = int(covered.sum())
        assert rule.n_covered == n
        assert rule.coverage == pytest.approx(n / len(covered) if len(covered) else 0.0)
        assert np.all(fit.pred_hold[covered] == rule.prediction)
        y = problem.y_hold[covered]
        if n == 0:
            assert rule.precision is None and rule.error is None
        elif problem.threshold is not None:
            same = (y >= 0.5) == (rule.prediction >= 0.5)
            assert rule.precision == pytest.approx(same.mean()) and rule.error is None
        else:
            assert (
                rule.error == pytest.approx(np.abs(y - rule.prediction).mean())
                and rule.precision is None
            )
        hit = open_query and bool(rule_holds(rule.conditions, problem.values_fit[:1])[0])
        assert rule.fires == hit
        open_query = open_query and not hit
    assert not open_hold.any()


@settings(deadline=None)
@given(case=problem_cases)
def test_same_seed_gives_identical_content(case):
    problem = problem_from(case)
    family = RuleListSurrogate(n_bootstrap=3)
    first = family.fit_local([problem], FEATURES, (), [np.random.SeedSequence(5)])[0]
    second = family.fit_local([problem], FEATURES, (), [np.random.SeedSequence(5)])[0]
    assert first.content == second.content
    assert first.stability == second.stability
    np.testing.assert_array_equal(first.pred_hold, second.pred_hold)


@settings(deadline=None)
@given(
    seed=st.integers(0, 2**16), n=st.integers(1, 80), min_coverage=st.sampled_from([0.05, 0.1, 0.3])
)
def test_every_if_rule_takes_at_least_min_coverage(seed, n, min_coverage):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(-1, 3, n)])
    y, w = rng.normal(size=n), rng.uniform(0, 1, n)
    model = RuleListRegressor(max_rules=6, min_coverage=min_coverage, categorical_features=[1]).fit(
        X, y, w
    )
    assert all(rule.weight >= min_coverage * w.sum() * (1 - 1e-12) for rule in model.rules_[:-1])
    assert sum(rule.weight for rule in model.rules_) == pytest.approx(w[w > 0].sum())


# ---- the estimator ---------------------------------------------------------------------------
def test_missing_numbers_fall_through_threshold_rules():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [np.nan], [np.nan]] * 5)
    y = np.array([0.0, 0.0, 1.0, 1.0, 5.0, 5.0] * 5)
    model = RuleListRegressor(max_rules=3, min_coverage=0.1).fit(X, y)
    np.testing.assert_allclose(model.predict(X), y)
    assert model.predict([[np.nan]])[0] == 5.0


def test_max_rules_counts_the_else_rule():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(300, 4)), rng.normal(size=300)
    for max_rules in (1, 2, 4):
        rules = RuleListRegressor(max_rules=max_rules).fit(X, y).rules_
        assert len(rules) <= max_rules and rules[-1].tests == ()
    assert len(RuleListRegressor(max_rules=1).fit(X, y).rules_) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_rules": 0}, "max_rules"),
        ({"max_conditions": 0}, "max_conditions"),
        ({"min_coverage": 0.0}, "min_coverage"),
        ({"min_coverage": 0.9}, "min_coverage"),
        ({"categorical_features": [7]}, "categorical_features"),
    ],
)
def test_bad_parameters_name_themselves(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        RuleListRegressor(**kwargs).fit([[0.0], [1.0]], [0.0, 1.0])


def test_surrogate_rejects_bad_inputs():
    problem = make_problem(4, 40, 10)
    with pytest.raises(ParameterError, match="seeds"):
        RuleListSurrogate().fit_local([problem], FEATURES, (), [])
    with pytest.raises(ParameterError, match="n_bootstrap"):
        RuleListSurrogate(n_bootstrap=-1).fit_local(
            [problem], FEATURES, (), [np.random.SeedSequence(0)]
        )


def test_importances_and_stability_records():
    problem = make_problem(5, 400, 100)
    (fit,) = RuleListSurrogate(n_bootstrap=4).fit_local(
        [problem], FEATURES, (), [np.random.SeedSequence(0)]
    )
    importances = fit.content.importances
    assert set(importances) == set(NAMES)
    assert sum(importances.values()) == pytest.approx(1.0)
    tested = {c.feature for rule in fit.content.rules for c in rule.conditions}
    assert {name for name, v in importances.items() if v > 0} == tested
    assert fit.stability.n_resamples == 4 and fit.stability.k == min(5, len(fit.ranking))
