"""LIME interop: audit a LIME explanation on our held-out rows; stability across seeds."""

import math

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate.errors import ParameterError
from surrogate.interop import (
    audit_lime_explanation,
    lime_predict_fn,
    lime_predict_linear,
    lime_representation,
    make_lime_explainer,
    reseeded,
    stability_across_seeds,
    stability_indices,
)

pytest.importorskip("lime")

N_SAMPLES = 500


@pytest.fixture(scope="module")
def logistic(logistic_world):
    model, X = logistic_world
    explainer = sg.TabularExplainer(model, X, n_samples=N_SAMPLES)
    lime_explainer = make_lime_explainer(explainer, X, random_state=0)
    return explainer, lime_explainer, X


def _explain_with_lime(explainer, lime_explainer, row):
    predict = lime_predict_fn(explainer)
    values = explainer.schema.encode(row)[0]
    return values, predict, lime_explainer.explain_instance(values, predict, num_samples=N_SAMPLES)


def test_audit_gives_finite_fidelity_and_stability(logistic):
    explainer, lime_explainer, X = logistic
    row = X.iloc[0]
    _, predict, lime_exp = _explain_with_lime(explainer, lime_explainer, row)
    before = lime_explainer.random_state.get_state()[1].copy()
    audit = audit_lime_explanation(
        lime_explainer, lime_exp, predict, explainer, row, num_samples=N_SAMPLES, n_seeds=3
    )
    assert math.isfinite(audit.r2) and audit.r2 <= 1
    assert audit.n_holdout == explainer.n_holdout
    assert 0 <= audit.stability.top_k_jaccard <= 1 and audit.stability.n_seeds == 3
    assert audit.stability.csi is None  # LIME reports no coefficient intervals
    assert np.array_equal(lime_explainer.random_state.get_state()[1], before)  # never touched


@pytest.mark.parametrize("discretize", [True, False])
def test_representation_matches_lime_on_its_own_sample(logistic, discretize):
    explainer, _, X = logistic
    lime_explainer = make_lime_explainer(
        explainer, X, random_state=3, discretize_continuous=discretize
    )
    values = explainer.schema.encode(X.iloc[[5]])[0]
    data, inverse = lime_explainer._LimeTabularExplainer__data_inverse(values, 200)
    expected = (data - lime_explainer.scaler.mean_) / lime_explainer.scaler.scale_
    np.testing.assert_allclose(lime_representation(lime_explainer, inverse, values), expected)


def test_linear_model_reproduces_lime_at_the_query(logistic):
    explainer, lime_explainer, X = logistic
    values, _, lime_exp = _explain_with_lime(explainer, lime_explainer, X.iloc[1])
    at_query = lime_representation(lime_explainer, values[None, :], values)
    np.testing.assert_allclose(lime_predict_linear(lime_exp, at_query, 1), lime_exp.local_pred)


def test_unknown_label_is_refused(logistic):
    explainer, lime_explainer, X = logistic
    _, predict, lime_exp = _explain_with_lime(explainer, lime_explainer, X.iloc[2])
    with pytest.raises(ParameterError, match="no label 0"):
        audit_lime_explanation(lime_explainer, lime_exp, predict, explainer, X.iloc[2], label=0)


@pytest.fixture(scope="module")
def linear_world():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(500, 8)), columns=[f"x{i}" for i in range(8)])
    y = 3 * X["x0"] - 2 * X["x2"] + 1.5 * X["x4"] - X["x5"] + 0.8 * X["x7"]
    return LinearRegression().fit(X, y), X


def test_linear_black_box_is_perfectly_stable(linear_world):
    model, X = linear_world
    explainer = sg.TabularExplainer(model, X, n_samples=200)
    stability = stability_across_seeds(explainer, X.iloc[0], seeds=range(6), k=5)
    assert stability.top_k_jaccard == 1.0 and stability.vsi == 1.0
    assert stability.sign_agreement == 1.0 and stability.csi == 1.0
    assert set(stability.selection_frequency) == {"x0", "x2", "x4", "x5", "x7"}


def test_reseeded_equals_a_fresh_build(linear_world):
    model, X = linear_world
    fresh = sg.TabularExplainer(model, X, n_samples=200, random_state=7)
    again = reseeded(sg.TabularExplainer(model, X, n_samples=200), 7)
    assert again.explain(X.iloc[3]).to_json() == fresh.explain(X.iloc[3]).to_json()


def test_factory_and_argument_checks(linear_world):
    model, X = linear_world

    def make(seed):
        return sg.TabularExplainer(model, X, n_samples=200, random_state=seed)

    stability = stability_across_seeds(None, X.iloc[0], seeds=[1, 2], make_explainer=make)
    assert stability.n_seeds == 2
    with pytest.raises(ParameterError, match="two distinct"):
        stability_across_seeds(make(0), X.iloc[0], seeds=[1, 1])
    with pytest.raises(ParameterError, match="at least two"):
        stability_indices([make(0).explain(X.iloc[0])])


def test_with_random_state_is_a_new_explainer_equal_to_a_fresh_build(linear_world):
    model, X = linear_world
    base = sg.TabularExplainer(model, X, n_samples=200)
    before = base.explain(X.iloc[3]).to_json()
    again = base.with_random_state(7)
    fresh = sg.TabularExplainer(model, X, n_samples=200, random_state=7)
    assert again is not base and again.identity() == fresh.identity()
    assert again.explain(X.iloc[3]).to_json() == fresh.explain(X.iloc[3]).to_json()
    assert base.explain(X.iloc[3]).to_json() == before  # the original is unchanged
    with pytest.raises(ParameterError, match="random_state"):
        base.with_random_state(-1)


def test_text_explainers_reseed_the_same_way():
    def model(texts):
        hits = np.array([[t.split().count("good")] for t in texts], dtype=float)
        return np.hstack([1 / (1 + np.exp(hits)), 1 - 1 / (1 + np.exp(hits))])

    fresh = sg.TextExplainer(model, n_samples=200, random_state=3)
    again = sg.TextExplainer(model, n_samples=200).with_random_state(3)
    text = "good food and good service"
    assert again.explain(text).to_json() == fresh.explain(text).to_json()
