"""Global surrogates and the "auto" family."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeRegressor

import surrogate as sg
from surrogate.errors import ParameterError


@pytest.fixture(scope="module")
def tree_world():
    """A black box that *is* a depth-3 tree on two numbers and a category."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=1500),
            "b": rng.uniform(0, 10, size=1500),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], size=1500)),
            "noise": rng.normal(size=1500),
        }
    )
    codes = X["c"].cat.codes.to_numpy()
    y = 2.0 * (X["a"] > 0) + 1.5 * (X["b"] > 6) - 1.0 * (codes == 2) + 0.0 * X["noise"]
    features = np.column_stack([X["a"], X["b"], codes == 2])
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(features, y)

    def model(rows):
        f = np.column_stack([rows["a"], rows["b"], (rows["c"] == "z").to_numpy()])
        return tree.predict(f)

    return model, X


def test_global_tree_recovers_a_tree_black_box(tree_world):
    model, X = tree_world
    # augmented rows pin the thresholds down when drawn near the training rows: the
    # sampler without number redraws (the default against the training data redraws half)
    explainer = sg.TabularExplainer(model, X, n_samples=500, reference="neighbourhood")
    plain = explainer.explain_global(X, "tree", max_depth=3)
    assert (
        plain.fidelity.r2 >= 0.95
        and plain.fidelity.n_test == 450
        and plain.fidelity.n_train == 1050
    )
    # sampled rows around the training rows pin the thresholds down: the tree is recovered,
    # whatever the seed
    glob = explainer.explain_global(X, "tree", max_depth=3, augment=4)
    assert glob.fidelity.r2 >= 0.999
    assert glob.fidelity.n_test == 450 and glob.fidelity.n_train == 1050 * 5
    for seed in range(1, 5):
        again = explainer.with_random_state(seed)
        assert again.explain_global(X, "tree", max_depth=3, augment=4).fidelity.r2 >= 0.999
    assert set(glob.top_features()) <= {"a", "b", "c"}
    assert "noise" not in glob.top_features()
    assert glob.complexity["depth"] <= 3 and glob.complexity["leaves"] == len(glob.content.rules)
    assert not any(rule.fires for rule in glob.content.rules)
    # each rule's coverage adds up over the held-out rows
    assert sum(rule.n_covered for rule in glob.content.rules) == glob.fidelity.n_test


def test_global_rules_and_linear(tree_world):
    model, X = tree_world
    explainer = sg.TabularExplainer(model, X, n_samples=500)
    rules = explainer.explain_global(X, "rules", max_rules=6)
    linear = explainer.explain_global(X, "linear", max_features=3)
    assert rules.fidelity.r2 > linear.fidelity.r2
    assert rules.complexity["rules"] <= 6
    assert "Held-out fidelity" in rules.to_text()
    assert linear.top_features(2)


def test_global_is_reproducible_and_round_trips(tree_world):
    model, X = tree_world
    explainer = sg.TabularExplainer(model, X, n_samples=500, random_state=5)
    first = explainer.explain_global(X, "tree", max_depth=2)
    again = sg.TabularExplainer(model, X, n_samples=500, random_state=5).explain_global(
        X, "tree", max_depth=2
    )
    assert first.to_json() == again.to_json()
    assert sg.GlobalExplanation.from_json(first.to_json()) == first
    other_seed = sg.TabularExplainer(model, X, n_samples=500, random_state=6).explain_global(
        X, "tree", max_depth=2
    )
    assert other_seed.meta["split_seed_entropy"] != first.meta["split_seed_entropy"]


def test_data_prepared_once_gives_each_family_what_explain_global_gives(tree_world):
    from surrogate.explain.global_ import fit_global, global_data

    model, X = tree_world
    explainer = sg.TabularExplainer(model, X, n_samples=500, random_state=2)
    data = global_data(explainer, X, augment=1)
    for family, params in (("tree", {"max_depth": 2}), ("rules", {"max_rules": 4}), ("additive", {})):
        alone = explainer.explain_global(X, family, augment=1, **params)
        assert fit_global(explainer, data, family, **params).to_json() == alone.to_json()


def test_global_classification_reports_agreement_per_class(logistic_world):
    model, X = logistic_world
    glob = sg.TabularExplainer(model, X, n_samples=500).explain_global(X, "tree", max_depth=3)
    assert 0.0 <= glob.fidelity.agreement <= 1.0
    assert set(glob.fidelity.agreement_by_class) == {"black box positive", "black box negative"}


def test_global_bad_arguments(tree_world):
    model, X = tree_world
    explainer = sg.TabularExplainer(model, X, n_samples=500)
    with pytest.raises(ParameterError, match="test_share"):
        explainer.explain_global(X, "tree", test_share=0.9)
    with pytest.raises(ParameterError, match="augment"):
        explainer.explain_global(X, "tree", augment=-1)


def test_auto_picks_a_simple_family_for_a_linear_black_box(logistic_world):
    model, X = logistic_world
    explainer = sg.TabularExplainer(model, X, n_samples=800, link="logit")
    exp = explainer.explain(X.iloc[0], "auto")
    assert exp.family == "linear"
    assert exp.notes and "auto chose linear" in exp.notes[0]
    assert "NO candidate" not in exp.notes[0]
    assert exp.fidelity.r2 >= 0.9


def test_auto_flags_when_nothing_reaches_the_target(tree_world):
    model, X = tree_world
    explainer = sg.TabularExplainer(model, X, n_samples=400)
    exp = explainer.explain(X.iloc[0], "auto", target_fidelity=1.0)
    assert "NO candidate reached the fidelity target" in exp.notes[0]
    assert sg.Explanation.from_json(exp.to_json()) == exp


def test_auto_rejects_a_bad_target(logistic_world):
    model, X = logistic_world
    explainer = sg.TabularExplainer(model, X, n_samples=400)
    with pytest.raises(ParameterError, match="target_fidelity"):
        explainer.explain(X.iloc[0], "auto", target_fidelity=1.5)


def test_global_agreement_is_measured_at_the_threshold(logistic_world):
    model, X = logistic_world
    explainer = sg.TabularExplainer(model, X, n_samples=500)
    at = {t: explainer.explain_global(X, "tree", max_depth=2, threshold=t) for t in (1e-9, 0.3)}
    assert at[1e-9].meta["threshold"] == 1e-9 and at[0.3].meta["threshold"] == 0.3
    # every black-box probability is above 1e-9: no row of the other class is left
    assert set(at[1e-9].fidelity.agreement_by_class) == {"black box positive"}
    assert at[0.3].fidelity.agreement != at[1e-9].fidelity.agreement
    # the explainer's own threshold is the default
    own = sg.TabularExplainer(model, X, n_samples=500, threshold=0.3)
    assert own.explain_global(X, "tree", max_depth=2).to_json() == at[0.3].to_json()
    with pytest.raises(ParameterError, match="threshold"):
        explainer.explain_global(X, "tree", threshold=2.0)
