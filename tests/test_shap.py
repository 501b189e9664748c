"""Explanations handed to shap: its waterfall and beeswarm draw the library's contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surrogate import TabularExplainer
from surrogate.errors import ParameterError

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
