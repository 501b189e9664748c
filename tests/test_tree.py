"""Tests for the weighted CART tree and the tree surrogate family."""

from __future__ import annotations

import itertools

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
    recount,
    rule_holds,
)

from surrogate.errors import DataError, ParameterError
from surrogate.fidelity import weighted_r2
from surrogate.surrogates.base import Condition
from surrogate.surrogates.cart import WeightedTree, merge_tests
from surrogate.surrogates.tree import TreeSurrogate


# ---- known answer ---------------------------------------------------------------------------
def test_tree_surrogate_recovers_a_tree_black_box():
    problem = make_problem(1, 2000, 1000)
    (fit,) = TreeSurrogate(max_depth=3).fit_local(
        [problem], FEATURES, (), [np.random.SeedSequence(1)]
    )
    assert weighted_r2(problem.y_hold, fit.pred_hold, problem.w_hold) >= 0.98
    assert weighted_r2(problem.y_fit, fit.pred_fit, problem.w_fit) >= 0.98
    content = fit.content
    assert content.family == "tree" and content.depth == 3 and len(content.rules) == 8
    assert content.nodes[0].condition == Condition("duration", "<=", 24.0)  # whole number, no 24.5
    assert set(fit.ranking) == set(NAMES)
    assert sum(content.importances.values()) == pytest.approx(1.0)
    assert sum(rule.fires for rule in content.rules) == 1
    assert sum(rule.n_covered for rule in content.rules) == len(problem.y_hold)


def test_fired_rule_is_the_query_leaf():
    problem = make_problem(2, 400, 200)
    (fit,) = TreeSurrogate().fit_local([problem], FEATURES, (), [np.random.SeedSequence(2)])
    fired = [rule for rule in fit.content.rules if rule.fires]
    assert len(fired) == 1
    assert rule_holds(fired[0].conditions, problem.values_fit[:1])[0]
    assert fit.pred_fit[0] == fired[0].prediction


# ---- properties -----------------------------------------------------------------------------
@settings(deadline=None)
@given(case=problem_cases, depth=st.integers(1, 4))
def test_reported_coverage_matches_a_recount(case, depth):
    problem = problem_from(case)
    family = TreeSurrogate(max_depth=depth, n_bootstrap=2)
    (fit,) = family.fit_local([problem], FEATURES, (), [np.random.SeedSequence(case["seed"])])
    assert_conditions_valid(fit.content)
    claimed = np.zeros(len(problem.y_hold), dtype=int)
    for rule in fit.content.rules:
        covered = rule_holds(rule.conditions, problem.values_hold)
        claimed += covered
        coverage, n, precision, error = recount(problem, rule.conditions, rule.prediction, covered)
        assert (rule.coverage, rule.n_covered) == (pytest.approx(coverage), n)
        assert rule.precision == (None if precision is None else pytest.approx(precision))
        assert rule.error == (None if error is None else pytest.approx(error))
        if n:
            assert (
                (rule.precision is None) == (problem.threshold is None) == (rule.error is not None)
            )
    assert (claimed == 1).all(), "the printed leaves must partition the held-out rows"
    in_fit = [rule_holds(rule.conditions, problem.values_fit[:1])[0] for rule in fit.content.rules]
    assert in_fit == [rule.fires for rule in fit.content.rules]
    for rule in fit.content.rules:
        assert np.all(
            fit.pred_hold[rule_holds(rule.conditions, problem.values_hold)] == rule.prediction
        )


@settings(deadline=None)
@given(case=problem_cases)
def test_same_seed_gives_identical_content(case):
    problem = problem_from(case)
    family = TreeSurrogate(n_bootstrap=3)
    first = family.fit_local([problem], FEATURES, (), [np.random.SeedSequence(7)])[0]
    second = family.fit_local([problem], FEATURES, (), [np.random.SeedSequence(7)])[0]
    assert first.content == second.content
    assert first.stability == second.stability
    assert first.ranking == second.ranking
    np.testing.assert_array_equal(first.pred_hold, second.pred_hold)


@settings(deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(2, 30),
    k=st.integers(2, 5),
    depth=st.integers(1, 2),
)
def test_category_split_is_the_best_of_all_subsets(seed, n, k, depth):
    """Breiman's ordering finds the best subset split; check by brute force at the root."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-1, k, (n, 1)).astype(float)
    y, w = rng.normal(size=n), rng.uniform(0.1, 1.0, n)
    tree = WeightedTree(depth, categorical=[True]).fit(X, y, w)
    codes = np.unique(X[:, 0])
    best = 0.0
    for size in range(1, len(codes)):
        for subset in itertools.combinations(codes, size):
            left = np.isin(X[:, 0], subset)
            best = max(best, _sse(y, w) - _sse(y[left], w[left]) - _sse(y[~left], w[~left]))
    root = tree.nodes_[0]
    if root.split is None:
        assert best <= 1e-9 * max(_sse(y, w), 1e-300)
    else:
        assert root.split.gain == pytest.approx(best, rel=1e-9, abs=1e-12)


def _sse(y, w):
    return float(np.dot(w, (y - np.average(y, weights=w)) ** 2)) if len(y) else 0.0


# ---- the estimator ---------------------------------------------------------------------------
def test_numeric_split_matches_brute_force_and_whole_numbers_stay_whole():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 40, (300, 1)).astype(float)
    y = (X[:, 0] > 17) * 1.0 + rng.normal(0, 0.1, 300)
    tree = WeightedTree(1).fit(X, y)
    assert tree.nodes_[0].split.threshold == 17.0
    Xf = X + 0.5
    assert WeightedTree(1).fit(Xf, y).nodes_[0].split.threshold == 18.0  # midpoint of 17.5 and 18.5


def test_ties_go_to_the_lowest_column():
    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    X = np.column_stack([rng.normal(size=200), x, x])
    y = (x > 0).astype(float)
    assert WeightedTree(1).fit(X, y).nodes_[0].split.column == 1


def test_zero_weight_rows_are_as_if_absent():
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.normal(size=100), rng.integers(0, 4, 100)])
    y, w = rng.normal(size=100), rng.uniform(0, 1, 100)
    w[::3] = 0.0
    keep = w > 0
    a = WeightedTree(3, categorical=[False, True]).fit(X, y, w)
    b = WeightedTree(3, categorical=[False, True]).fit(X[keep], y[keep], w[keep])
    assert [(n.split, n.yes, n.no) for n in a.nodes_] == [(n.split, n.yes, n.no) for n in b.nodes_]
    np.testing.assert_allclose(a.predict(X), b.predict(X))


def test_min_leaf_weight_is_a_share_of_the_total():
    rng = np.random.default_rng(6)
    X, y, w = rng.normal(size=(500, 3)), rng.normal(size=500), rng.uniform(0, 2, 500)
    tree = WeightedTree(5, min_leaf_weight=0.1).fit(X, y, w)
    assert all(tree.nodes_[i].weight >= 0.1 * w.sum() for i in tree.leaves_)


def test_missing_numbers_get_their_own_test_before_a_threshold():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 10, 600)
    y = np.where(x > 5, 2.0, 0.0)
    x[rng.random(600) < 0.25] = np.nan
    y[np.isnan(x)] = 1.0
    X = np.column_stack([x, rng.normal(size=600)])
    tree = WeightedTree(3).fit(X, y)
    assert tree.nodes_[0].split.kind == "missing"
    np.testing.assert_allclose(tree.predict(X), y)
    for node in tree.nodes_:
        if node.split is not None and node.split.kind == "threshold" and node.split.column == 0:
            assert any(t.column == 0 and t.op == "is not missing" for t in tree.path(node.id))


def test_missing_number_where_none_was_seen_is_an_error():
    X = np.array([[1.0], [2.0], [3.0]])
    tree = WeightedTree(1).fit(X, [0.0, 0.0, 1.0])
    with pytest.raises(DataError, match="nullable"):
        tree.predict([[np.nan]])
    nullable = WeightedTree(1, nullable=[0]).fit(X, [0.0, 0.0, 1.0])
    assert nullable.nodes_[0].is_leaf  # a threshold would need an "is not missing" test first


def test_merge_keeps_the_tighter_bounds_and_intersects_categories():
    tree = WeightedTree(4, categorical=[False, True])
    rng = np.random.default_rng(8)
    X = np.column_stack([rng.uniform(0, 100, 2000), rng.integers(0, 5, 2000)])
    y = np.digitize(X[:, 0], [20, 40, 60]) + 0.01 * X[:, 1]
    tree.fit(X, y)
    for leaf in tree.leaves_:
        merged = merge_tests(tree.path(leaf))
        keys = [(t.column, t.op) for t in merged]
        assert len(keys) == len(set(keys))
        mask = np.ones(len(X), dtype=bool)
        for t in merged:
            mask &= t.holds(X)
        np.testing.assert_array_equal(mask, tree.apply(X) == leaf)


@pytest.mark.parametrize(
    ("kwargs", "fit_args", "match"),
    [
        ({"max_depth": -1}, {}, "max_depth"),
        ({"min_leaf_weight": 0.7}, {}, "min_leaf_weight"),
        ({"min_samples_leaf": 0}, {}, "min_samples_leaf"),
        ({"categorical": [True]}, {"X": [[1.5], [2.0]]}, "column 0 is categorical"),
        ({"categorical": [3]}, {}, "categorical"),
        ({}, {"sample_weight": [1.0, -1.0]}, "sample_weight"),
        ({}, {"y": [1.0]}, "y must have shape"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, fit_args, match):
    args = {"X": [[1.0], [2.0]], "y": [0.0, 1.0], "sample_weight": None} | fit_args
    with pytest.raises(ParameterError, match=match):
        WeightedTree(**kwargs).fit(args["X"], args["y"], args["sample_weight"])


# ---- the surrogate family ----------------------------------------------------------------------
def test_category_sets_print_their_shorter_form():
    def target(values):
        return np.where(values[:, 2] == 4, 1.0, 0.0)  # radio/TV against the four others

    problem = make_problem(9, 300, 100, target=target, threshold=None)
    (fit,) = TreeSurrogate(max_depth=1).fit_local(
        [problem], FEATURES, (), [np.random.SeedSequence(0)]
    )
    conditions = {c for rule in fit.content.rules for c in rule.conditions}
    assert conditions == {
        Condition("purpose", "in", ("radio/TV",)),
        Condition("purpose", "not in", ("radio/TV",)),
    }
    assert fit.ranking == ("purpose",)
    assert fit.content.importances["purpose"] == 1.0


def test_stability_and_ranking_records():
    problem = make_problem(10, 300, 100)
    (fit,) = TreeSurrogate(n_bootstrap=4).fit_local(
        [problem], FEATURES, (), [np.random.SeedSequence(3)]
    )
    assert fit.stability.n_resamples == 4
    assert fit.stability.k == min(5, len(fit.ranking))
    importances = fit.content.importances
    assert list(fit.ranking) == sorted(
        (n for n in importances if importances[n] > 0), key=lambda n: (-importances[n], n)
    )


def test_no_global_random_state_is_touched():
    before = np.random.get_state()[1].copy()
    TreeSurrogate().fit_local(
        [make_problem(11, 200, 50)], FEATURES, (), [np.random.SeedSequence(0)]
    )
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_many_problems_fit_independently():
    problems = [make_problem(s, 150, 60) for s in (12, 13)]
    seeds = [np.random.SeedSequence(s) for s in (12, 13)]
    family = TreeSurrogate(n_bootstrap=2)
    both = family.fit_local(problems, FEATURES, (), seeds)
    alone = family.fit_local(problems[1:], FEATURES, (), seeds[1:])
    assert both[1].content == alone[0].content and both[1].stability == alone[0].stability


def test_surrogate_rejects_bad_inputs():
    problem = make_problem(14, 50, 20)
    with pytest.raises(ParameterError, match="seeds"):
        TreeSurrogate().fit_local([problem], FEATURES, (), [])
    with pytest.raises(ParameterError, match="max_depth"):
        TreeSurrogate(max_depth=0).fit_local([problem], FEATURES, (), [np.random.SeedSequence(0)])
    bad = make_problem(14, 50, 20)
    bad.values_fit[3, 2] = 9.0
    with pytest.raises(ParameterError, match="purpose"):
        TreeSurrogate().fit_local([bad], FEATURES, (), [np.random.SeedSequence(0)])
