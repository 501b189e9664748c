"""The rest of the bad-input matrix: handled cases and what they get.

Refused cases raise a ``SurrogateError`` naming the thing (most are in
``test_errors.py``); the cases here are *handled*, and the handling is recorded in
the explanation rather than done silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression

import surrogate as sg
from surrogate.errors import DataError, ModelError, ParameterError


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.uniform(0, 10, size=300),
            "kind": pd.Categorical(rng.choice(["x", "y"], size=300)),
            "flat": np.full(300, 7.0),
        }
    )
    def model(rows):
        return 2 * rows["a"].to_numpy() + 0.5 * rows["b"].to_numpy() + (rows["kind"] == "y").to_numpy()

    return model, X


def test_reordered_columns_are_matched_by_name(world):
    model, X = world
    explainer = sg.TabularExplainer(model, X, n_samples=300)
    reordered = X.iloc[[0]][["flat", "kind", "b", "a"]]
    assert explainer.explain(reordered).to_json() == explainer.explain(X.iloc[[0]]).to_json()


def test_constant_feature_is_frozen_and_said(world):
    model, X = world
    exp = sg.TabularExplainer(model, X, n_samples=300).explain(X.iloc[0])
    assert any("constant in the training data" in w and "flat" in w for w in exp.warnings)
    assert "flat" not in exp.top_features()


def test_query_far_outside_the_range_is_explained_with_a_warning(world):
    model, X = world
    query = X.iloc[[0]].assign(a=1e4)
    exp = sg.TabularExplainer(model, X, n_samples=300).explain(query)
    assert any("outside the training data's range" in w and "a=10000" in w for w in exp.warnings)
    assert np.isfinite(exp.prediction) and exp.fidelity.mae >= 0


def test_constant_value_changed_in_the_query_is_extrapolation(world):
    model, X = world
    exp = sg.TabularExplainer(model, X, n_samples=300).explain(X.iloc[[0]].assign(flat=8.0))
    assert any("flat=8" in w for w in exp.warnings)


def test_wrong_dtype_in_a_query_column_is_refused(world):
    model, X = world
    explainer = sg.TabularExplainer(model, X, n_samples=300)
    with pytest.raises(DataError, match="'b' must be numeric"):
        explainer.explain(X.iloc[[0]].assign(b="ten"))


def test_single_class_training_is_refused():
    X = pd.DataFrame({"a": np.arange(20.0)})
    model = DummyClassifier().fit(X, ["yes"] * 20)
    with pytest.raises(ModelError, match="single class"):
        sg.TabularExplainer(model, X, n_samples=100)


def test_n_samples_too_large_for_a_fixed_shape_budget():
    torch = pytest.importorskip("torch")
    X = pd.DataFrame(np.zeros((10, 2)), columns=["a", "b"])
    module = torch.nn.Linear(2, 1).eval()
    with pytest.raises(ParameterError, match="exceeds row_budget"):
        sg.TabularExplainer(module, X, torch_output="regression", n_samples=600, row_budget=500)


def test_regression_model_through_sklearn_is_recovered(world):
    _, X = world
    y = 3 * X["a"] - X["b"]
    model = LinearRegression().fit(X[["a", "b"]], y)
    explainer = sg.TabularExplainer(lambda rows: model.predict(rows[["a", "b"]]), X, n_samples=300)
    exp = explainer.explain(X.iloc[3])
    assert exp.fidelity.r2 > 0.999
    assert set(exp.top_features(2)) == {"a", "b"}


def test_a_kernel_too_narrow_for_its_sample_is_refused(world):
    model, X = world
    for width in (1e-3, 0.05):
        with pytest.raises(ParameterError, match="kernel_width=.*effective sample sizes"):
            sg.TabularExplainer(model, X, n_samples=300, kernel_width=width).explain(X.iloc[0])


def test_a_narrow_kernel_is_explained_with_a_warning(world):
    model, X = world
    exp = sg.TabularExplainer(model, X, n_samples=300, kernel_width=0.1).explain(X.iloc[0])
    assert any("few effective rows" in w for w in exp.warnings)
    wide = sg.TabularExplainer(model, X, n_samples=300).explain(X.iloc[0])
    assert not any("few effective rows" in w for w in wide.warnings)
