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
from surrogate.report.reason_codes import ModelEffects, case_reasons, contributions
from surrogate.report.reason_csv import FORMULA_PREFIXES, neutralise_cell, reason_codes_csv
from surrogate.report.reason_policy import (
    ReasonFamily,
    ReasonPolicy,
    Reference,
    bundled_policy,
    default_policy,
    load_families,
    load_texts,
)
from surrogate.report.reason_texts import Band, ValueTexts, choose_text, number_words
from surrogate.surrogates.base import LinearContent, LinearTerm, RuleContent


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


#: reference shares of the categories the tests use
SHARES = {
    "region": {"north": 0.5, "south": 0.25, "missing": 0.25},
    "sex": {"f": 0.5, "m": 0.5},
    "@region": {"-x": 0.5},
    **{f"f{i}": {"a": 0.5} for i in range(7)},
}


def _reference():
    return Reference(
        name="test",
        means={"income": 50.0, "debt": 20.0},
        scales={"income": 10.0, "debt": 5.0},
        shares=SHARES,
    )


def test_numeric_contribution_is_weight_times_standardised_offset(small_world):
    _, exp = small_world
    exp = _with_terms(
        exp, [LinearTerm("income", 30.0, -0.5, -0.05), LinearTerm("region", "south", 0.7, None)]
    )
    parts = {c.feature: c for c in contributions(exp, _policy(), _reference())}
    assert parts["income"].contribution == pytest.approx(-0.5 * (30.0 - 50.0) / 10.0)
    # a category: its weight x the share of reference applicants without it
    assert parts["region"].contribution == pytest.approx(0.7 * (1 - 0.25))
    assert parts["income"].basis == "numeric vs reference mean"
    assert parts["region"].basis == "category vs reference shares"


def test_contributions_flip_when_the_other_class_is_explained(small_world):
    _, exp = small_world
    exp = _with_terms(exp, [LinearTerm("region", "south", 0.7, None)], target="good")
    (part,) = contributions(exp, _policy(), _reference())
    assert part.contribution == pytest.approx(-0.7 * 0.75)


def test_families_add_up_and_at_most_max_reasons_ranked(small_world):
    _, exp = small_world
    terms = [
        LinearTerm("income", 40.0, -0.5, -0.05),  # +0.5 towards bad
        LinearTerm("debt", 25.0, 0.4, 0.08),  # +0.4 towards bad, same family
        LinearTerm("region", "south", 1.2, None),  # +0.9 towards bad
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
    policy = _policy(
        families=(ReasonFamily('=HYPERLINK("x")', ("income",), "+heading"),),
        texts={"income": ValueTexts(below="+danger {value}")},
    )
    terms = [LinearTerm("income", 40.0, -0.5, -0.05), LinearTerm("@region", "-x", 0.6, None)]
    case = case_reasons(_with_terms(exp, terms), policy, _reference(), case_id="-1", threshold=0.5)
    text = reason_codes_csv([case])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "case_id"
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(FORMULA_PREFIXES) for cell in cells)
    assert (
        '\'=HYPERLINK("x")' in cells
        and "'+danger 40" in cells
        and "'@region" in cells
        and "'-1" in cells
    )


def test_reason_csv_names_the_models_effect_and_the_surrogates_contribution_apart():
    from surrogate.report.reason_csv import CSV_COLUMNS

    first = ("case_id", "adverse_score", "declined", "status", "rank", "family", "reason")
    figures = ("model_effect", "model_effect_standard_error", "surrogate_contribution")
    rest = ("features", "values", "fidelity_r2", "flags", "reason_flags")
    assert CSV_COLUMNS == first + figures + rest
    # the former "contribution" column held the model's figure under the surrogate's word
    assert "contribution" not in CSV_COLUMNS


# ---- reasons ranked by the model's own effects ------------------------------------------------
def _by_model(exp, terms, effects, r2=0.9):
    return case_reasons(
        _with_terms(exp, terms, r2=r2),
        _policy(),
        _reference(),
        case_id="7",
        threshold=0.5,
        effects=effects,
    )


def test_the_models_effects_rank_the_reasons_and_the_surrogates_stand_beside(small_world):
    _, exp = small_world
    terms = [
        LinearTerm("income", 40.0, -0.5, -0.05),  # surrogate: +0.5 towards bad
        LinearTerm("region", "south", 1.2, None),  # surrogate: +0.9, its principal reason
        LinearTerm("sex", "m", 5.0, None),  # prohibited: flagged, never a reason
    ]
    effects = ModelEffects(
        families={"Finances": 0.8, "region": 0.3},
        features={"income": 0.6, "debt": -0.1, "region": 0.3},
    )
    case = _by_model(exp, terms, effects)
    assert case.status == "reasons"
    assert [r.family for r in case.reasons] == ["Finances", "region"]
    finances, region = case.reasons
    assert finances.contribution == 0.8  # the family moved together, not its members summed
    assert [p.feature for p in finances.parts] == ["income"]  # debt alone pulls the other way
    assert finances.surrogate_contribution == pytest.approx(0.5)
    assert region.surrogate_contribution == pytest.approx(1.2 * 0.75)
    assert case.prohibited_used == ("sex",)  # the explanation's flags stay
    # the same explanation ranked by the surrogate puts region first
    by_surrogate = case_reasons(
        _with_terms(exp, terms), _policy(), _reference(), case_id="7", threshold=0.5
    )
    assert [r.family for r in by_surrogate.reasons] == ["region", "Finances"]
    assert by_surrogate.reasons[0].surrogate_contribution == by_surrogate.reasons[0].contribution


def test_reasons_ranked_by_the_model_still_need_a_faithful_surrogate(small_world):
    _, exp = small_world
    terms = [LinearTerm("region", "south", 1.2, None)]
    adverse = ModelEffects(families={"region": 0.3}, features={"region": 0.3})
    case = _by_model(exp, terms, adverse, r2=0.2)
    assert case.status == "manual_review" and not case.reasons
    favourable = ModelEffects(families={"region": -0.3}, features={"region": -0.3})
    case = _by_model(exp, terms, favourable)
    assert case.status == "manual_review" and "no eligible factor" in case.flags[0]


def test_a_family_whose_members_push_only_together_names_them_all(small_world):
    _, exp = small_world
    effects = ModelEffects(families={"Finances": 0.4}, features={"income": -0.1, "debt": -0.2})
    (reason,) = _by_model(exp, [LinearTerm("income", 40.0, -0.5, -0.05)], effects).reasons
    assert [p.feature for p in reason.parts] == ["income", "debt"]


# ---- materiality: a family is a reason only when its effect is material -----------------------------
def test_an_immaterial_family_is_dropped_and_recorded(small_world):
    _, exp = small_world
    terms = [LinearTerm("region", "south", 1.2, None)]
    effects = ModelEffects(
        families={"Finances": 0.6, "region": 0.004},  # region: far below 0.05
        features={"income": 0.6, "debt": 0.0, "region": 0.004},
        family_errors={"Finances": 0.01, "region": 0.001},
    )
    case = _by_model(exp, terms, effects)
    assert [r.family for r in case.reasons] == ["Finances"]
    assert case.reasons[0].model_standard_error == 0.01
    (dropped,) = case.dropped
    assert dropped.family == "region" and dropped.effect == 0.004
    assert "below the minimum 0.05" in dropped.why


def test_a_family_within_two_standard_errors_of_zero_is_not_a_reason(small_world):
    _, exp = small_world
    terms = [LinearTerm("region", "south", 1.2, None)]
    noisy = ModelEffects(
        families={"Finances": 0.6, "region": 0.3},
        features={"income": 0.6, "region": 0.3},
        family_errors={"Finances": 0.01, "region": 0.16},  # t = 1.9
    )
    case = _by_model(exp, terms, noisy)
    assert [r.family for r in case.reasons] == ["Finances"]
    assert [d.family for d in case.dropped] == ["region"]
    assert "within 2 standard errors" in case.dropped[0].why
    clear = dataclasses.replace(noisy, family_errors={"Finances": 0.01, "region": 0.15})  # t = 2
    assert [r.family for r in _by_model(exp, terms, clear).reasons] == ["Finances", "region"]


def test_a_case_resting_on_no_material_family_goes_to_manual_review(small_world):
    _, exp = small_world
    effects = ModelEffects(
        families={"Finances": 0.03, "region": 0.02},
        features={"income": 0.03, "region": 0.02},
        family_errors={"Finances": 0.001, "region": 0.001},
    )
    case = _by_model(exp, [LinearTerm("region", "south", 1.2, None)], effects)
    assert case.status == "manual_review" and case.reasons == ()
    assert case.flags[0].startswith("no material factor") and "manual review" in case.flags[0]
    assert "Finances" in case.flags[0]  # the largest of the families left out
    assert [d.family for d in case.dropped] == ["Finances", "region"]


def test_the_minimum_effect_is_a_setting_and_applies_to_the_surrogates_ranking(small_world):
    _, exp = small_world
    terms = [LinearTerm("region", "south", 0.04, None)]  # surrogate: 0.04 x 0.75 = 0.03
    by_surrogate = case_reasons(
        _with_terms(exp, terms), _policy(), _reference(), case_id="7", threshold=0.5
    )
    assert by_surrogate.status == "manual_review" and by_surrogate.dropped[0].family == "region"
    assert by_surrogate.dropped[0].standard_error is None  # the surrogate states none
    lowered = case_reasons(
        _with_terms(exp, terms), _policy(min_effect=0.01), _reference(), case_id="7", threshold=0.5
    )
    assert [r.family for r in lowered.reasons] == ["region"]
    with pytest.raises(ParameterError, match="min_effect"):
        _policy(min_effect=-0.1)


def test_a_member_with_no_effect_of_its_own_is_not_named(small_world):
    _, exp = small_world
    effects = ModelEffects(
        families={"Finances": 0.5},
        features={"income": 0.5, "debt": 1.1e-16},  # debt leaves the model's output unchanged
        family_errors={"Finances": 0.01},
    )
    (reason,) = _by_model(exp, [LinearTerm("income", 40.0, -0.5, -0.05)], effects).reasons
    assert [p.feature for p in reason.parts] == ["income"]
    case = _by_model(exp, [LinearTerm("income", 40.0, -0.5, -0.05)], effects)
    (unnamed,) = case.members_dropped
    assert (unnamed.family, unnamed.feature, unnamed.effect) == ("Finances", "debt", 1.1e-16)
    # a small but real effect is named
    small = dataclasses.replace(effects, features={"income": 0.5, "debt": 1e-6})
    (reason,) = _by_model(exp, [LinearTerm("income", 40.0, -0.5, -0.05)], small).reasons
    assert [p.feature for p in reason.parts] == ["income", "debt"]


def test_members_that_push_only_together_never_include_one_with_no_effect(small_world):
    _, exp = small_world
    effects = ModelEffects(
        families={"Finances": 0.4}, features={"income": -0.1, "debt": 0.0}
    )
    (reason,) = _by_model(exp, [LinearTerm("income", 40.0, -0.5, -0.05)], effects).reasons
    assert [p.feature for p in reason.parts] == ["income"]


def test_the_minimum_effect_in_probability_points_at_the_applicant():
    from surrogate.report.reasons import probability_points

    # at P = 0.5 the logistic curve's slope is 1/4: 0.05 log-odds is about 1.25 points
    assert probability_points(0.5, 0.05, "logit") == pytest.approx(0.0125, abs=1e-4)
    lowered = 1 / (1 + np.exp(-(np.log(0.2 / 0.8) - 0.05)))
    assert probability_points(0.2, 0.05, "logit") == pytest.approx(0.2 - lowered)
    assert probability_points(0.3, 0.05, "identity") == 0.05  # already a probability


# ---- texts chosen by the applicant's value ---------------------------------------------------------
def test_a_reason_names_the_applicants_value_and_its_direction(small_world):
    _, exp = small_world
    texts = {
        "income": ValueTexts(
            above="Income of {value}: above {reference_name}'s {reference}",
            below="Income of {value}: below {reference_name}'s {reference}",
        ),
        "region": ValueTexts(
            categories={"south": "Lives in the south", "north": "Lives in the north"}
        ),
    }
    terms = [
        LinearTerm("income", 40.0, -0.5, -0.05),  # below the mean, pushes towards bad
        LinearTerm("debt", 15.0, 0.4, 0.08),  # below the mean: pulls away from bad
        LinearTerm("region", "south", 1.2, None),
    ]
    case = case_reasons(
        _with_terms(exp, terms), _policy(texts=texts), _reference(), case_id="1", threshold=0.5
    )
    region, finances = case.reasons  # 1.2 x (1 - 0.25) = 0.9 before 0.5 - 0.4
    # the family adds up both members, but only the one pushing towards bad is named
    assert finances.contribution == pytest.approx(0.5 - 0.4)
    (part,) = finances.parts
    assert (part.feature, part.value, part.basis, part.reference) == ("income", 40.0, "below", 50.0)
    assert finances.text == "Income of 40: below test's 50"
    assert region.text == "Lives in the south" and region.parts[0].basis == "category"


def test_plain_texts_are_true_of_the_value_when_the_policy_has_none():
    chosen = choose_text(
        "credit_amount", 9000.0, None, reference_mean=3271.3, reference_name="all applicants"
    )
    assert chosen.text == "Credit amount of 9,000: above the average of all applicants (3,271)"
    assert chosen.basis == "above" and chosen.reference == 3271.3
    below = choose_text("age", 20.0, None, reference_mean=35.5, reference_name="x")
    assert below.basis == "below" and "below the average" in below.text
    category = choose_text("housing", "rent", None, reference_mean=None, reference_name="x")
    assert category.text == "Housing: rent" and category.basis == "category"
    missing = choose_text(
        "job",
        "missing",
        ValueTexts(categories={"missing": "Job not recorded"}),
        reference_mean=None,
        reference_name="x",
    )
    assert missing.text == "Job not recorded"


def test_bands_come_before_directions():
    texts = ValueTexts(
        bands=(Band(None, 0.0, "No gains"), Band(1e4, None, "Gains of {value} or more")),
        above="Gains of {value}: above {reference}",
    )
    pick = lambda v: choose_text("gain", v, texts, reference_mean=1000.0, reference_name="x")  # noqa: E731
    assert (pick(0.0).text, pick(0.0).basis, pick(0.0).band) == ("No gains", "band", (None, 0.0))
    assert pick(5000.0).text == "Gains of 5,000: above 1,000"
    assert pick(20000.0).text == "Gains of 20,000 or more"


def test_policy_texts_are_checked_when_read(tmp_path):
    good = tmp_path / "policy.toml"
    good.write_text(
        '[[family]]\nname = "Money"\nfeatures = ["income"]\ntext = "Income"\n'
        '[texts.income]\nbelow = "Income of {value}"\n'
        '[[texts.income.bands]]\nlower = 0\nupper = 0\ntext = "No income"\n'
        '[texts.region.categories]\nsouth = "Lives in the south"\n',
        encoding="utf-8",
    )
    texts = load_texts(good)
    assert texts["income"].bands == (Band(0.0, 0.0, "No income"),)
    assert texts["region"].categories == {"south": "Lives in the south"}
    assert load_texts(tmp_path / "families.csv") == {}
    for table, message in [
        ('[texts.income]\nabove = "Income of {amount}"\n', "amount"),
        ('[texts.income]\nover = "x"\n', "unknown keys"),
        ('[[texts.income.bands]]\nlower = 5\nupper = 1\ntext = "x"\n', "above upper"),
        ('[texts.income]\nabove = ""\n', "non-empty"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(table, encoding="utf-8")
        with pytest.raises(ParameterError, match=message):
            load_texts(bad)


def test_texts_must_fit_the_features_kind_and_categories(small_world):
    explainer, _ = small_world
    ok = _policy(texts={"region": ValueTexts(categories={"south": "S", "missing": "M"})})
    assert ok.check_schema(explainer.schema) is ok
    for texts, message in [
        ({"income": ValueTexts(categories={"high": "x"})}, "category texts for the number"),
        ({"region": ValueTexts(above="x")}, "for the category"),
        ({"region": ValueTexts(categories={"west": "x"})}, "not in the data"),
        ({"nowhere": ValueTexts(above="x")}, "not in the data"),
    ]:
        with pytest.raises(ParameterError, match=message):
            _policy(texts=texts).check_schema(explainer.schema)


def test_bundled_policies_have_texts_for_the_categories_of_their_data():
    from surrogate.datasets import load_adult, load_german_credit
    from surrogate.schema import FeatureSchema

    for name, load in (("german-credit", load_german_credit), ("adult", load_adult)):
        policy = bundled_policy(name)
        schema = FeatureSchema.infer(load()[0])
        policy.check_schema(schema)
    german = bundled_policy("german-credit")
    for feature in ("checking_account", "credit_history", "telephone", "savings", "purpose"):
        labels = {str(c) for c in FeatureSchema.infer(load_german_credit()[0])[feature].categories}
        assert set(german.texts[feature].categories) == labels


def test_the_explanations_own_contributions_are_those_against_the_training_data(small_world):
    explainer, exp = small_world
    parts = contributions(exp, _policy(), Reference.from_schema(explainer.schema))
    assert [p.contribution for p in parts] == pytest.approx(list(exp.contributions.values()))


def test_an_approved_reference_uses_its_own_means_and_shares(small_world):
    explainer, exp = small_world
    X = pd.DataFrame(
        {
            "income": [60.0, 70.0],
            "debt": [10.0, 10.0],
            "region": pd.Categorical(["north", "north"]),
            "sex": pd.Categorical(["f", "m"]),
        }
    )
    approved = Reference.from_frame(X, explainer.schema, "approved")
    assert approved.means["income"] == 65.0 and approved.shares["region"] == {"north": 1.0}
    assert approved.scales == Reference.from_schema(explainer.schema).scales
    terms = [LinearTerm("region", "south", 0.8, None), LinearTerm("income", 40.0, -0.5, -0.05)]
    parts = {c.feature: c for c in contributions(_with_terms(exp, terms), _policy(), approved)}
    assert parts["region"].contribution == pytest.approx(0.8)  # nobody approved lives in the south
    scale = explainer.schema["income"].scale
    assert parts["income"].contribution == pytest.approx(-0.5 * (40.0 - 65.0) / scale)


def test_a_family_that_states_its_contributions_feeds_the_same_reasons(small_world):
    """Another surrogate family (say, additive) gives contributions against the training data."""
    _, exp = small_world

    class Stated:
        content = dataclasses.replace(exp.content)  # not read: contributions are stated
        query = {"income": 40.0, "region": "south"}
        meta, outputs = exp.meta, {"bad": 0.8, "good": 0.2}
        fidelity = dataclasses.replace(exp.fidelity, r2=0.9)
        contributions = {"income": 0.6, "region": 0.2}

    Stated.content = RuleContent(family="rules", rules=(), importances={})
    training = dataclasses.replace(_reference(), training=True)
    case = case_reasons(Stated(), _policy(), training, case_id="2", threshold=0.5)
    assert [r.family for r in case.reasons] == ["Finances", "region"]
    assert case.reasons[0].parts[0].value == 40.0
    with pytest.raises(ParameterError, match="per-term contributions"):
        contributions(Stated(), _policy(), _reference())  # another population: cannot re-reference


# ---- the demo review: every reason is true of the applicant ---------------------------------------
@pytest.mark.slow
def test_every_reason_of_every_declined_demo_applicant_is_true_of_their_value():
    """The demo review's settings (``make demo``), every declined held-out applicant."""
    from surrogate.report import ReviewConfig
    from surrogate.report.cases import (
        adverse_output,
        explain_positions,
        make_explainer,
        make_policy,
        make_reference,
    )
    from surrogate.report.problem import load_problem

    config = ReviewConfig(data="german-credit").resolved()
    problem = load_problem(config)
    explainer = make_explainer(problem, config)
    column = adverse_output(explainer, config)
    scores = explainer.blackbox.predict(problem.X_test)[:, column]
    train_scores = explainer.blackbox.predict(problem.X_train)[:, column]
    declined = [int(i) for i in np.flatnonzero(scores >= config.cutoff)]
    policy = make_policy(config, explainer.schema)
    reference = make_reference(config, explainer, problem, train_scores)
    explained = explain_positions(explainer, problem, declined, config)
    n_reasons = 0
    for position in declined:
        applicant = problem.X_test.iloc[position]
        case = case_reasons(
            explained[position], policy, reference, case_id=str(position), threshold=config.cutoff
        )
        assert case.declined
        for reason in case.reasons:
            assert reason.parts and reason.text == "; ".join(p.text for p in reason.parts)
            for part in reason.parts:
                n_reasons += 1
                assert part.contribution > 0 and part.feature in reason.features
                assert not policy.never_a_reason(part.feature)
                _assert_true_of(part, applicant[part.feature], policy, reference)
    assert n_reasons > 100  # the demo's declined applicants do get reasons


def _assert_true_of(part, value, policy, reference):
    texts = policy.texts.get(part.feature)
    if part.basis == "category":
        assert part.value == str(value), (part, value)
        expected = texts.categories[str(value)] if texts else None
        assert expected is None or part.text == expected, (part, value)
        others = set(texts.categories.values()) - {part.text} if texts else set()
        assert not any(other in part.text for other in others), (part, value)
    elif part.basis == "band":
        lower, upper = part.band
        assert (lower is None or value >= lower) and (upper is None or value <= upper)
    else:
        assert part.basis in ("above", "below"), part
        assert part.value == float(value) and part.reference == reference.means[part.feature]
        assert (value > part.reference) if part.basis == "above" else (value < part.reference)
        chosen = texts.above if part.basis == "above" else texts.below
        assert part.text.split(":")[0] == chosen.split(":")[0].format(value=number_words(value))
