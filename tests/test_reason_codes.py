"""Reason codes: contributions, families, prohibited bases, low fidelity, CSV neutralisation."""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pandas as pd
import pytest

from surrogate import TabularExplainer
from surrogate.errors import ParameterError
from surrogate.report.reason_codes import (
    FORMULA_PREFIXES,
    ReasonFamily,
    ReasonPolicy,
    Reference,
    bundled_policy,
    case_reasons,
    contributions,
    default_policy,
    load_families,
    neutralise_cell,
    reason_codes_csv,
)
from surrogate.surrogates.base import LinearContent, LinearTerm


@pytest.fixture(scope="module")
def small_world():
    """A logistic black box on two numbers and two categories, with an explanation to edit."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "debt": rng.normal(20, 5, n),
            "region": pd.Categorical(rng.choice(["north", "south"], n)),
            "sex": pd.Categorical(rng.choice(["f", "m"], n)),
        }
    )
    logit = -0.2 * (X["income"] - 50) + 0.3 * (X["debt"] - 20) + (X["region"] == "south") * 1.0
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "bad", "good")
    encode = ColumnTransformer([("c", OneHotEncoder(), ["region", "sex"])], remainder="passthrough")
    model = Pipeline([("e", encode), ("m", LogisticRegression(max_iter=1000))]).fit(X, y)
    explainer = TabularExplainer(model, X, target="bad", n_samples=400, random_state=0)
    exp = explainer.explain(X.iloc[0], max_features=4)
    return explainer, exp


def _with_terms(exp, terms, r2=0.9, target=None):
    content = LinearContent(family="linear", intercept=0.0, terms=tuple(terms))
    fidelity = dataclasses.replace(exp.fidelity, r2=r2)
    meta = exp.meta if target is None else dataclasses.replace(exp.meta, target=target)
    return dataclasses.replace(
        exp, content=content, fidelity=fidelity, meta=meta, outputs={"bad": 0.8, "good": 0.2}
    )


def _policy(**kw):
    base = dict(
        adverse_class="bad",
        families=(ReasonFamily("Finances", ("income", "debt"), "Income and debt"),),
        prohibited=("sex",),
    )
    base.update(kw)
    return ReasonPolicy(**base)


def _reference():
    return Reference(
        name="test", means={"income": 50.0, "debt": 20.0}, scales={"income": 10.0, "debt": 5.0}
    )


def test_numeric_contribution_is_weight_times_standardised_offset(small_world):
    _, exp = small_world
    exp = _with_terms(
        exp, [LinearTerm("income", 30.0, -0.5, -0.05), LinearTerm("region", "south", 0.7, None)]
    )
    parts = {c.feature: c for c in contributions(exp, _policy(), _reference())}
    assert parts["income"].contribution == pytest.approx(-0.5 * (30.0 - 50.0) / 10.0)
    assert parts["region"].contribution == pytest.approx(0.7)  # a category: its weight
    assert parts["income"].basis == "numeric vs reference mean"
    assert parts["region"].basis == "category vs training frequencies"


def test_contributions_flip_when_the_other_class_is_explained(small_world):
    _, exp = small_world
    exp = _with_terms(exp, [LinearTerm("region", "south", 0.7, None)], target="good")
    (part,) = contributions(exp, _policy(), _reference())
    assert part.contribution == pytest.approx(-0.7)


def test_families_add_up_and_at_most_max_reasons_ranked(small_world):
    _, exp = small_world
    terms = [
        LinearTerm("income", 40.0, -0.5, -0.05),  # +0.5 towards bad
        LinearTerm("debt", 25.0, 0.4, 0.08),  # +0.4 towards bad, same family
        LinearTerm("region", "south", 0.6, None),
        LinearTerm("sex", "m", 5.0, None),  # prohibited: never a reason
    ]
    case = case_reasons(
        _with_terms(exp, terms), _policy(max_reasons=4), _reference(), case_id="7", threshold=0.5
    )
    assert case.status == "reasons"
    assert [r.family for r in case.reasons] == ["Finances", "region"]
    assert case.reasons[0].contribution == pytest.approx(0.9)
    assert case.reasons[0].features == ("debt", "income")
    assert [r.rank for r in case.reasons] == [1, 2]
    assert case.prohibited_used == ("sex",)
    assert any("prohibited basis: sex" in f for f in case.flags)
    assert all("sex" not in r.features and r.family != "sex" for r in case.reasons)


def test_never_more_than_max_reasons(small_world):
    _, exp = small_world
    terms = [LinearTerm(f"f{i}", "a", 1.0 + i, None) for i in range(7)]
    case = case_reasons(
        _with_terms(exp, terms), _policy(families=()), _reference(), case_id="1", threshold=0.5
    )
    assert len(case.reasons) == 4
    assert [r.family for r in case.reasons] == ["f6", "f5", "f4", "f3"]


def test_low_fidelity_gets_no_reasons_and_a_manual_review_flag(small_world):
    _, exp = small_world
    terms = [LinearTerm("region", "south", 0.6, None)]
    case = case_reasons(
        _with_terms(exp, terms, r2=0.3), _policy(), _reference(), case_id="3", threshold=0.5
    )
    assert case.status == "manual_review" and case.reasons == ()
    assert "manual review" in case.flags[0] and "0.300" in case.flags[0]
    undefined = case_reasons(
        _with_terms(exp, terms, r2=None), _policy(), _reference(), case_id="3", threshold=0.5
    )
    assert undefined.status == "manual_review" and undefined.reasons == ()


def test_fidelity_threshold_is_configurable(small_world):
    _, exp = small_world
    terms = [LinearTerm("region", "south", 0.6, None)]
    case = case_reasons(
        _with_terms(exp, terms, r2=0.3),
        _policy(min_fidelity=0.2),
        _reference(),
        case_id="3",
        threshold=0.5,
    )
    assert case.status == "reasons"


def test_approved_case_gets_no_reasons(small_world):
    _, exp = small_world
    case = case_reasons(
        _with_terms(exp, [LinearTerm("region", "south", 0.6, None)]),
        _policy(),
        _reference(),
        case_id="3",
        threshold=0.95,
    )
    assert not case.declined and case.status == "not_adverse" and case.reasons == ()


def test_only_negative_factors_means_manual_review(small_world):
    _, exp = small_world
    case = case_reasons(
        _with_terms(exp, [LinearTerm("region", "south", -0.6, None)]),
        _policy(),
        _reference(),
        case_id="3",
        threshold=0.5,
    )
    assert case.status == "manual_review" and case.reasons == ()


def test_real_explanation_and_reference_from_schema(small_world):
    explainer, exp = small_world
    reference = Reference.from_schema(explainer.schema)
    assert set(reference.means) == {"income", "debt"}
    case = case_reasons(exp, _policy(min_fidelity=-1e9), reference, case_id="0", threshold=0.0)
    assert len(case.reasons) <= 4
    assert all(c.weight != 0 for c in case.contributions)


def test_tree_explanations_are_refused(small_world):
    explainer, _ = small_world
    tree = explainer.explain(_first_row(), "tree")
    with pytest.raises(ParameterError, match="linear"):
        contributions(tree, _policy(), _reference())


def _first_row():
    return {"income": 50.0, "debt": 20.0, "region": "north", "sex": "f"}


def test_unknown_adverse_class_is_refused(small_world):
    _, exp = small_world
    with pytest.raises(ParameterError, match="adverse_class"):
        contributions(_with_terms(exp, []), _policy(adverse_class="maybe"), _reference())


# ---- policies ------------------------------------------------------------------------------------
def test_default_policies_name_the_prohibited_bases():
    german = bundled_policy("german-credit")
    assert {"personal_status_sex", "foreign_worker", "age"} <= set(german.prohibited)
    assert next(f for f in german.families if f.name == "Loan duration and amount").features == (
        "duration",
        "credit_amount",
        "installment_rate",
    )
    adult = bundled_policy("adult")
    assert {"race", "sex", "native_country"} <= set(adult.prohibited)
    for policy in (german, adult):
        members = {f for fam in policy.families for f in fam.features}
        assert not members & set(policy.prohibited)


def test_a_feature_in_two_families_is_refused():
    with pytest.raises(ParameterError, match="two reason families"):
        ReasonPolicy(
            adverse_class="bad",
            families=(ReasonFamily("a", ("x",), "A"), ReasonFamily("b", ("x",), "B")),
        )


def test_policy_names_must_exist_in_the_data():
    policy = default_policy("german-credit", adverse_class="bad")
    with pytest.raises(ParameterError, match="not in the data"):
        policy.check_features(["duration"])


def test_families_from_csv_and_toml(tmp_path):
    csv_path = tmp_path / "families.csv"
    csv_path.write_text(
        'family,features,text\nMoney,"income;debt",Income and debt\nPlace,region,\n',
        encoding="utf-8",
    )
    families = load_families(csv_path)
    assert families[0] == ReasonFamily("Money", ("income", "debt"), "Income and debt")
    assert families[1].text == "Place"  # empty text falls back to the family name
    toml_path = tmp_path / "families.toml"
    toml_path.write_text(
        '[[family]]\nname = "Money"\nfeatures = ["income", "debt"]\ntext = "Income and debt"\n'
    )
    assert load_families(toml_path)[0] == families[0]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,features\nx,y\n")
    with pytest.raises(ParameterError, match="family, features, text"):
        load_families(bad)


# ---- CSV ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"])
def test_formula_cells_are_neutralised(text):
    assert neutralise_cell(text) == "'" + text


def test_plain_cells_are_unchanged():
    assert neutralise_cell("Savings") == "Savings"
    assert neutralise_cell(0.25) == "0.25"
    assert neutralise_cell(None) == ""


def test_reason_csv_neutralises_hostile_families(small_world):
    _, exp = small_world
    policy = _policy(families=(ReasonFamily('=HYPERLINK("x")', ("income",), "+danger"),))
    terms = [LinearTerm("income", 40.0, -0.5, -0.05), LinearTerm("@region", "-x", 0.6, None)]
    case = case_reasons(_with_terms(exp, terms), policy, _reference(), case_id="-1", threshold=0.5)
    text = reason_codes_csv([case])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "case_id"
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(FORMULA_PREFIXES) for cell in cells)
    assert (
        '\'=HYPERLINK("x")' in cells
        and "'+danger" in cells
        and "'@region" in cells
        and "'-1" in cells
    )
