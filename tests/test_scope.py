"""Every tabular explanation states its question: the reference of its contributions, its
neighbourhood, and fidelity at both scopes (near the query, over the population)."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate.errors import ParameterError
from surrogate.explanation import Scope
from surrogate.surrogates.contributions import predict

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 800
    return pd.DataFrame(
        {
            "a": rng.normal(0.0, 1.0, n),
            "b": rng.uniform(0.0, 10.0, n),
            "c": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def curved(frame: pd.DataFrame) -> np.ndarray:
    a, b = frame["a"].to_numpy(dtype=float), frame["b"].to_numpy(dtype=float)
    return np.sin(2.0 * a) + 0.1 * (b - 5.0) ** 2 + 0.8 * (frame["c"].to_numpy() == "x")


@pytest.fixture(scope="module")
def explainers(table):
    return {
        reference: sg.TabularExplainer(
            curved, table, mode="regression", n_samples=1500, reference=reference
        )
        for reference in ("training", "neighbourhood")
    }


@pytest.mark.parametrize("reference", ["training", "neighbourhood"])
@pytest.mark.parametrize("family", ["linear", "additive", "tree"])
def test_the_scope_and_the_population_figures_round_trip_through_json(
    explainers, table, reference, family
):
    exp = explainers[reference].explain(table.iloc[3], surrogate=family)
    again = sg.Explanation.from_json(exp.to_json())
    assert again == exp and again.to_json() == exp.to_json()
    assert again.scope == exp.scope and again.scope.reference == reference
    assert again.fidelity.r2_population == exp.fidelity.r2_population
    document = json.loads(exp.to_json())
    assert document["schema_version"] == "1.2"
    assert document["explanation"]["scope"]["reference"] == reference
    assert document["explanation"]["meta"]["n_population"] == exp.meta.n_population


def test_the_default_answers_against_the_training_data_on_a_neighbourhood_that_covers_it(
    explainers, table
):
    exp = explainers["training"].explain(table.iloc[3], surrogate="additive")
    assert exp.scope == Scope(
        reference="training", sampler="qmc", scale=0.5, number_change=0.5, category_change=0.3
    )
    assert exp.content.reference.startswith("the training data")
    # the population-scope rows count inside n_samples, from their own share
    m = exp.meta
    assert (m.n_samples, m.n_fit, m.n_holdout, m.n_population) == (1500, 1049, 300, 150)
    assert m.n_fit + m.n_holdout + m.n_population + 1 == m.n_samples
    assert exp.fidelity.n_population == 150 and exp.fidelity.r2_population is not None
    assert m.sampler["number_change"] == 0.5


def test_a_sampler_option_the_user_sets_is_kept(table):
    explainer = sg.TabularExplainer(
        curved, table, mode="regression", n_samples=500, sampler_options={"number_change": 0.0}
    )
    exp = explainer.explain(table.iloc[0])
    assert exp.scope.number_change == 0.0 and "number_change" not in exp.meta.sampler
    assert exp.meta.n_population == 50  # still checked: the reference is the training data


def test_linear_and_additive_sum_to_the_surrogate_minus_its_mean_over_the_training_data(
    explainers, table
):
    explainer = explainers["training"]
    query = table.iloc[5]
    training = explainer.schema.encode(table)
    row = explainer.schema.encode(table.iloc[[5]])[0]
    linear = explainer.explain(query, surrogate="linear", max_features=3)
    additive = explainer.explain(query, surrogate="additive")
    # linear: its mean over every training row, from the slopes and the rows' z
    z = explainer.sampler.z_of(row, training)
    names = list(explainer.sampler.z_names)
    slopes = np.array([t.weight for t in linear.content.terms])
    columns = [names.index(t.feature) for t in linear.content.terms]
    mean = linear.content.intercept + float(np.mean(z[:, columns] @ slopes))
    assert linear.baseline == pytest.approx(mean, abs=1e-9)
    assert linear.baseline + sum(linear.contributions.values()) == pytest.approx(
        linear.content.intercept, abs=1e-9
    )
    # additive: its mean over every training row, evaluated from the stated shapes
    over = predict(additive.content, training, explainer.schema.features)
    assert additive.baseline == pytest.approx(float(over.mean()), abs=1e-9)
    at_query = predict(additive.content, row[None, :], explainer.schema.features)[0]
    assert additive.baseline + sum(additive.contributions.values()) == pytest.approx(
        at_query, abs=1e-9
    )
    assert linear.content.reference == additive.content.reference


def test_against_the_neighbourhood_every_family_starts_from_the_same_mean(explainers, table):
    # the kernel-weighted mean over the fitting sample: both fits have a free intercept, so
    # each surrogate's weighted mean there is the black box's
    explainer = explainers["neighbourhood"]
    linear = explainer.explain(table.iloc[5], surrogate="linear", max_features=3)
    additive = explainer.explain(table.iloc[5], surrogate="additive")
    assert linear.content.reference == additive.content.reference == "neighbourhood"
    assert linear.baseline == pytest.approx(additive.baseline, abs=1e-9)
    for exp in (linear, additive):
        assert exp.baseline + sum(exp.contributions.values()) == pytest.approx(
            exp.content.at_query if exp.family == "additive" else exp.content.intercept,
            abs=1e-9,
        )


def test_neighbourhood_reference_leaves_the_population_scope_not_checked(explainers, table):
    exp = explainers["neighbourhood"].explain(table.iloc[3], surrogate="additive")
    assert exp.fidelity.r2_population is None and exp.fidelity.n_population == 0
    assert exp.meta.n_population == 0 and exp.meta.n_fit == 1500 - 300 - 1
    assert exp.scope.number_change == 0.0  # the sampler as it always was
    assert (
        "population-scope R^2 not checked (contributions against the neighbourhood)"
        in exp.to_text()
    )
    assert not any("Population-scope" in w for w in exp.warnings)
    frame = (
        explainers["neighbourhood"].explain_many(table.iloc[:2], surrogate="additive").to_frame()
    )
    assert frame["r2_population"].isna().all() and (frame["reference"] == "neighbourhood").all()
    assert "not checked" in explainers["neighbourhood"].explain_many(table.iloc[:1])._repr_html_()


def test_additive_near_the_query_but_not_beyond_is_certified_only_near_it():
    # additive within 0.5 sd of the query, a strong product of both features beyond it
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(0.0, 1.0, 2000), "b": rng.normal(0.0, 1.0, 2000)})
    query = pd.Series({"a": 0.0, "b": 0.0})

    def model(frame):
        a, b = frame["a"].to_numpy(dtype=float), frame["b"].to_numpy(dtype=float)
        beyond = np.maximum(np.abs(a), np.abs(b)) > 0.5  # sd is about 1
        return a + b + np.where(beyond, 3.0 * a * b, 0.0)

    explainer = sg.TabularExplainer(
        model,
        X,
        mode="regression",
        n_samples=3000,
        sampler_options={"scale": 0.08, "number_change": 0.0},  # stays within 0.5 sd
    )
    for family in ("linear", "additive"):
        exp = explainer.explain(query, surrogate=family)
        assert exp.fidelity.r2 > 0.99
        assert exp.fidelity.r2_population < 0.5
        (warning,) = [w for w in exp.warnings if w.startswith("Population-scope R^2")]
        assert f"{exp.fidelity.r2_population:.3f}" in warning and "below 0.5" in warning


def test_a_model_additive_everywhere_is_certified_at_both_scopes(table):
    def additive(frame):
        a, b = frame["a"].to_numpy(dtype=float), frame["b"].to_numpy(dtype=float)
        return np.tanh(a) + 0.2 * b + 0.5 * (frame["c"].to_numpy() == "y")

    explainer = sg.TabularExplainer(additive, table, mode="regression", n_samples=2000)
    exp = explainer.explain(table.iloc[1], surrogate="additive")
    assert exp.fidelity.r2 > 0.95 and exp.fidelity.r2_population > 0.95
    assert not any("Population-scope" in w for w in exp.warnings)


def test_every_view_states_the_question_and_both_figures(explainers, table):
    exp = explainers["training"].explain(table.iloc[3], surrogate="additive")
    shown = f"population-scope R^2 {exp.fidelity.r2_population:.3f}"
    for text in (exp.to_text(), exp.to_markdown(), exp._repr_html_()):
        plain = text.replace("\\", "")
        assert "held-out R^2" in plain and shown in plain
        assert "Contributions against the training data" in plain
        assert "redrawn from its training values in 50% of rows" in plain
    frame = explainers["training"].explain_many(table.iloc[:2], surrogate="additive").to_frame()
    assert frame["r2_population"].notna().all() and (frame["reference"] == "training").all()
    title = exp.plot().axes[0].get_title(loc="left")
    assert "training data" in title and "population-scope R\u00b2" in title
    tree = explainers["training"].explain(table.iloc[3], surrogate="tree")
    assert "Contributions: none (a tree states rules" in tree.to_text()


def test_a_bad_reference_is_refused(table):
    with pytest.raises(
        ParameterError, match=r"reference.*'training', 'neighbourhood'.*'population'"
    ):
        sg.TabularExplainer(curved, table, mode="regression", reference="population")


def test_a_schema_1_1_document_reads_as_not_stated_and_not_checked(explainers, table):
    exp = explainers["training"].explain(table.iloc[3], surrogate="linear")
    document = json.loads(exp.to_json())
    document["schema_version"] = "1.1"
    body = document["explanation"]
    del body["scope"], body["meta"]["n_population"]
    for key in ("r2_population", "mae_population", "n_population"):
        del body["fidelity"][key]
    old = sg.Explanation.from_json(json.dumps(document))
    assert old.scope is None and old.fidelity.r2_population is None
    assert old.fidelity.n_population == 0 and old.meta.n_population == 0
    assert "population-scope" not in old.to_text()
    assert old.contributions == exp.contributions
