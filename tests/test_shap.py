"""Explanations handed to shap (its waterfall and beeswarm draw the library's contributions),
and SHAP's attributions audited on the library's held-out neighbourhood."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surrogate import TabularExplainer
from surrogate.errors import DataError, ParameterError

shap = pytest.importorskip("shap")
plt = pytest.importorskip("matplotlib.pyplot")


def _world(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "debt": rng.integers(0, 20, n),
            "job": pd.Categorical(rng.choice(["clerk", "chef", "pilot"], n)),
        }
    )


def _model(rows: pd.DataFrame) -> np.ndarray:
    job = rows["job"].astype(str).map({"clerk": 0.0, "chef": 0.5, "pilot": 1.5})
    score = (
        0.08 * (rows["income"].to_numpy(dtype=float) - 50)
        - 0.1 * (rows["debt"].to_numpy(dtype=float) - 10)
        + job.to_numpy(dtype=float)
        + 0.02 * (rows["income"].to_numpy(dtype=float) - 50) * (rows["debt"] > 10)
    )
    p = 1 / (1 + np.exp(-score))
    return np.column_stack([1 - p, p])


WORLD = _world()


@pytest.fixture(scope="module")
def explainer() -> TabularExplainer:
    return TabularExplainer(_model, WORLD, n_samples=400)


def test_to_shap_is_drawn_by_shaps_waterfall(explainer):
    """There was no way to hand an explanation to shap's plots."""
    exp = explainer.explain(WORLD.iloc[3], max_features=2)
    values = exp.to_shap()
    assert isinstance(values, shap.Explanation)
    assert list(values.feature_names) == ["income", "debt", "job"]
    assert values.base_values == exp.baseline
    assert list(values.values) == [exp.contributions.get(n, 0.0) for n in values.feature_names]
    # SHAP's additivity: base value plus the values is the surrogate at the query
    assert values.base_values + values.values.sum() == pytest.approx(exp.content.intercept)
    assert list(values.data) == [exp.query[n] for n in values.feature_names]
    try:
        shap.plots.waterfall(values, show=False)
        labels = " ".join(t.get_text() for ax in plt.gcf().axes for t in ax.get_yticklabels())
        assert "income" in labels and "job" in labels
    finally:
        plt.close("all")


def test_a_set_is_drawn_by_shaps_beeswarm_and_pairs_are_columns(explainer):
    many = explainer.explain_many(WORLD.iloc[:4], "additive", interactions=1, progress=False)
    values = many.to_shap()
    assert values.values.shape[0] == 4 and len(values.base_values) == 4
    names = list(values.feature_names)
    assert names[:3] == ["income", "debt", "job"] and len(names) == 4  # the pair term last
    for row, exp in zip(values.values, many, strict=True):
        assert dict(zip(names, row, strict=True)) == pytest.approx(
            {n: exp.contributions.get(n, 0.0) for n in names}
        )
    try:
        shap.plots.beeswarm(values, show=False)
        assert plt.gcf().axes
    finally:
        plt.close("all")


def test_a_tree_has_no_contributions_to_hand_to_shap(explainer):
    tree = explainer.explain(WORLD.iloc[3], "tree", max_depth=2)
    with pytest.raises(ParameterError, match="A tree explanation has no contribution per feature"):
        tree.to_shap()


# ---------------------------------------------------------------------------- the SHAP audit
def _numbers(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])


def test_the_audit_of_a_linear_models_shap_values_is_exact():
    """For a linear model with independent features, SHAP's values are beta_j (x_j - mean_j):
    the additive model they define is the model, so its fidelity is 1 at both scopes."""
    from sklearn.linear_model import LinearRegression

    from surrogate.interop import audit_shap

    X = _numbers()
    y = X @ np.array([2.0, -1.0, 0.5, 0.0]) + 0.3
    model = LinearRegression().fit(X, y)
    explainer = TabularExplainer(model, X, n_samples=400)
    rows = X.iloc[:3]
    background = shap.maskers.Independent(X, max_samples=len(X))  # the whole population
    values = shap.LinearExplainer(model, background)(rows)
    audits = audit_shap(explainer, values, rows, population=X)
    for audit in audits:
        assert audit.r2 == pytest.approx(1.0, abs=1e-9)
        assert audit.r2_population == pytest.approx(1.0, abs=1e-9)
        assert audit.query_gap < 1e-9 and audit.n_holdout == explainer.n_holdout
        assert audit.top_features[-1] == "d"  # ranked by |attribution|: d has no effect


def test_treeshap_on_a_boosted_model_is_measured_on_the_held_out_neighbourhood():
    """TreeSHAP's local additive model, on the rows and weights the library's own
    explanation of the row is measured on: the library's linear surrogate, read the same
    way, scores exactly its own held-out R^2 there."""
    from sklearn.ensemble import GradientBoostingClassifier

    from surrogate.interop import audit_shap

    X = _numbers()
    label = (X["a"] + np.sin(2 * X["b"]) + 0.5 * X["c"] * X["d"]) > 0
    model = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0)
    model.fit(X, label)
    explainer = TabularExplainer(model, X, n_samples=500)
    rows = X.iloc[:4]
    tree_values = shap.TreeExplainer(model)(rows)  # log-odds, as the explainer explains
    audits = audit_shap(explainer, tree_values, rows, population=X)
    for audit in audits:
        assert audit.scale == "log-odds" and audit.query_gap < 1e-6  # local accuracy
        assert audit.r2 is not None and audit.r2 < 1 and audit.r2_population < 1
        assert audit.n_holdout == explainer.n_holdout and audit.n_population == len(X)
    # the library's own linear explanation, handed over as attributions, scores its own R^2
    exp = explainer.explain(rows.iloc[0], max_features=4, control_variates=False)
    own = audit_shap(explainer, exp.to_shap(), rows.iloc[[0]])[0]
    assert own.r2 == pytest.approx(exp.fidelity.r2, abs=1e-9)
    assert own.r2_population is None  # no population given: not checked
    with pytest.raises(DataError, match=r"shape \(4, 3\); expected \(4, 4\)"):
        audit_shap(explainer, tree_values.values[:, :3], rows, base_values=0.0)
