"""The model's own effects, and the surrogates' reasons checked against them
(surrogate.report.model_check)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from surrogate.report import model_check as mc
from surrogate.report.reason_codes import CaseReasons, Contribution, Reason
from surrogate.report.reason_policy import ReasonFamily, ReasonPolicy

POLICY = ReasonPolicy(
    adverse_class="bad",
    families=(ReasonFamily(name="Loan", features=("duration", "amount"), text="Loan"),),
    prohibited=("age",),
)
POPULATION = pd.DataFrame(
    {
        "duration": [6.0, 12.0, 24.0, 36.0],
        "amount": [1.0, 2.0, 3.0, 4.0],
        "savings": pd.Categorical(["none", "some", "none", "lots"]),
        "age": [20.0, 30.0, 40.0, 50.0],
    }
)
APPLICANT = pd.DataFrame(
    {
        "duration": [48.0],
        "amount": [5.0],
        "savings": pd.Categorical(["none"], categories=["lots", "none", "some"]),
        "age": [60.0],
    }
)
SAVINGS = {"none": 0.8, "some": 0.2, "lots": -0.5}


def additive_log_odds(frame: pd.DataFrame) -> np.ndarray:
    """A model additive in log-odds: each family's effect is known in closed form."""
    return (
        0.05 * frame["duration"].to_numpy()
        + 0.3 * frame["amount"].to_numpy()
        + frame["savings"].astype(str).map(SAVINGS).to_numpy()
        + 0.01 * frame["age"].to_numpy()
    )


def _case(*families: str) -> CaseReasons:
    """A case with reasons whose surrogate ranks ``families`` in that order."""
    reasons = tuple(
        Reason(rank=k + 1, family=f, text=f, contribution=1.0 - k / 10, features=(f,))
        for k, f in enumerate(families)
    )
    parts = tuple(
        Contribution(f, f, None, 0.0, 1.0 - k / 10, "stated by the explanation", True)
        for k, f in enumerate(families)
    )
    return CaseReasons(
        case_id="7",
        adverse_score=0.4,
        declined=True,
        status="reasons",
        reasons=reasons,
        fidelity_r2=0.9,
        contributions=parts,
    )


def test_families_are_the_policys_with_singletons_and_never_a_prohibited_feature():
    families = mc.reason_families(POLICY, list(APPLICANT.columns))
    assert families == {"Loan": ("duration", "amount"), "savings": ("savings",)}


def test_an_additive_models_family_effects_are_its_terms_against_the_population():
    families = mc.reason_families(POLICY, list(APPLICANT.columns))
    effects = mc.family_effects(additive_log_odds, APPLICANT, POPULATION, families)
    loan = 0.05 * (48 - POPULATION["duration"].mean()) + 0.3 * (5 - POPULATION["amount"].mean())
    savings = 0.8 - np.mean([SAVINGS[s] for s in POPULATION["savings"]])
    assert effects.effect("Loan") == pytest.approx(loan)
    assert effects.effect("savings") == pytest.approx(savings)
    # the standard error is that of the mean over the reference rows
    moved = 0.05 * POPULATION["duration"] + 0.3 * POPULATION["amount"]
    assert effects.standard_error("Loan") == pytest.approx(moved.std(ddof=1) / 2)


def test_the_check_finds_the_principal_reason_the_model_does_not_rank_first():
    families = mc.reason_families(POLICY, list(APPLICANT.columns))
    effects = mc.family_effects(additive_log_odds, APPLICANT, POPULATION, families)
    assert effects.effect("Loan") > effects.effect("savings")
    right = mc.check_case("7", ["Loan", "savings"], effects)
    assert right["agrees"] and right["gap"] == 0.0 and not right["near_tie"]
    assert right["same_order"]
    wrong = mc.check_case("7", ["savings", "Loan"], effects)
    assert not wrong["agrees"] and wrong["largest"] == "Loan" and not wrong["same_order"]
    assert wrong["gap"] == pytest.approx(effects.effect("Loan") - effects.effect("savings"))
    assert [e["family"] for e in wrong["effects"]] == ["Loan", "savings"]
    # paired over the same reference rows: savings moved minus loan moved, row by row
    paired = (
        POPULATION["savings"].astype(str).map(SAVINGS)
        - 0.05 * POPULATION["duration"]
        - 0.3 * POPULATION["amount"]
    )
    assert wrong["gap_standard_error"] == pytest.approx(paired.std(ddof=1) / 2)
    assert wrong["gap"] > 2 * wrong["gap_standard_error"] and not wrong["near_tie"]


def test_a_near_tie_in_the_model_is_said_to_be_one():
    # two families whose effects differ by much less than their paired standard error
    population = pd.DataFrame({"a": [0.0, 2.0, 0.0, 2.0], "b": [2.0, 0.0, 0.0, 2.0]})
    applicant = pd.DataFrame({"a": [1.01], "b": [1.0]})
    effects = mc.family_effects(
        lambda f: (f["a"] + f["b"]).to_numpy(), applicant, population, {"a": ("a",), "b": ("b",)}
    )
    check = mc.check_case("7", ["b", "a"], effects)
    assert not check["agrees"] and check["near_tie"]


def test_a_case_has_its_families_effects_and_its_multi_member_families_members():
    families = mc.reason_families(POLICY, list(APPLICANT.columns))
    effects = mc.case_effects(additive_log_odds, APPLICANT, POPULATION, families)
    towards = effects.towards_adverse()
    duration = 0.05 * (48 - POPULATION["duration"].mean())
    amount = 0.3 * (5 - POPULATION["amount"].mean())
    assert towards.features["duration"] == pytest.approx(duration)
    assert towards.features["amount"] == pytest.approx(amount)
    # additive model: a family moved together is its members moved alone, summed
    assert towards.families["Loan"] == pytest.approx(duration + amount)
    # a family of one: its feature's effect is the family's
    assert towards.features["savings"] == towards.families["savings"]
    assert set(towards.features) == {"duration", "amount", "savings"}  # age is prohibited


def test_member_effects_are_measured_only_when_asked_for():
    families = mc.reason_families(POLICY, list(APPLICANT.columns))
    effects = mc.case_effects(additive_log_odds, APPLICANT, POPULATION, families, members=False)
    assert effects.members.moved == {} and set(effects.families.moved) == {"Loan", "savings"}


def _effects(applicants):
    families = mc.reason_families(POLICY, list(applicants.columns))
    return mc.case_effects(additive_log_odds, applicants.iloc[[0]], POPULATION, families)


def test_the_model_check_fills_each_reasons_model_effect_and_skips_cases_without_reasons():
    manual = CaseReasons(
        case_id="8",
        adverse_score=0.4,
        declined=True,
        status="manual_review",
        reasons=(),
        fidelity_r2=0.2,
    )
    effects = _effects(APPLICANT)
    record, cases = mc.model_check(
        [_case("Loan"), manual], [effects, effects], POLICY, n_reference_rows=4, n_population=4
    )
    assert record["performed"] and record["n_cases"] == 1 and record["share_agrees"] == 1.0
    assert record["reference_rows"] == "all of the reference population"
    sampled, _ = mc.model_check(
        [_case("Loan")], [effects], POLICY, n_reference_rows=4, n_population=9
    )
    assert sampled["reference_rows"].startswith("a sample of 4 drawn from numpy SeedSequence")
    assert cases[1] is manual
    (reason,) = cases[0].reasons
    assert reason.model_effect == pytest.approx(record["cases"][0]["effects"][0]["effect"])


def test_the_check_reads_the_surrogates_own_ranking_not_the_stated_reasons():
    # reasons ranked by the model (Loan first), the surrogate's contributions put savings first
    case = _case("Loan", "savings")
    surrogate = dataclasses.replace(case, contributions=_case("savings", "Loan").contributions)
    record, _ = mc.model_check(
        [surrogate], [_effects(APPLICANT)], POLICY, n_reference_rows=4, n_population=4
    )
    (checked,) = record["cases"]
    assert checked["principal"] == "savings" and not checked["agrees"]
    # a surrogate that puts no family towards the adverse outcome agrees with nothing
    silent = dataclasses.replace(case, contributions=())
    record, _ = mc.model_check(
        [silent], [_effects(APPLICANT)], POLICY, n_reference_rows=4, n_population=4
    )
    (checked,) = record["cases"]
    assert checked["principal"] is None and not checked["agrees"] and not checked["near_tie"]


def test_a_large_reference_population_is_sampled_from_the_seed(monkeypatch):
    monkeypatch.setattr(mc, "MAX_REFERENCE_ROWS", 3)
    big = pd.DataFrame({"x": np.arange(10.0)})
    first, again = mc.reference_sample(big, 5), mc.reference_sample(big, 5)
    assert len(first) == 3 and first.equals(again)
    assert list(first.index) == sorted(first.index)
    assert mc.reference_sample(big.iloc[:3], 5).equals(big.iloc[:3])


# ---- non-actionable features: never reasons, still measured ---------------------------------------
def _dated():
    population = POPULATION.assign(
        opened=pd.to_datetime(["2020-01-01", "2020-06-01", "2021-01-01", "2021-06-01"])
    )
    applicant = APPLICANT.assign(opened=pd.to_datetime(["2023-01-01"]))
    return population, applicant


def _with_vintage(frame: pd.DataFrame) -> np.ndarray:
    """The additive model, plus 0.002 log-odds per day since 2020: a vintage effect."""
    days = (frame["opened"] - pd.Timestamp("2020-01-01")).dt.days.to_numpy()
    return additive_log_odds(frame) + 0.002 * days


def test_the_datas_dates_are_non_actionable_and_the_review_can_add_columns():
    from surrogate.report.cases import non_actionable
    from surrogate.report.config import ReviewConfig
    from surrogate.schema import FeatureSchema

    population, _ = _dated()
    schema = FeatureSchema.infer(population)
    assert non_actionable(ReviewConfig(), schema) == ("opened",)
    extended = ReviewConfig(non_actionable=["amount", "opened"])
    assert non_actionable(extended, schema) == ("opened", "amount")
    policy = dataclasses.replace(POLICY, non_actionable=("opened",))
    assert policy.never_a_reason("opened") and not policy.never_a_reason("duration")


def test_a_non_actionable_feature_is_measured_but_never_a_reason_and_flagged_when_it_leads():
    population, applicant = _dated()
    policy = dataclasses.replace(POLICY, non_actionable=("opened",))
    families = mc.reason_families(policy, list(applicant.columns))
    assert "opened" not in families
    effects = mc.case_effects(
        _with_vintage, applicant, population, families, non_actionable=policy.non_actionable
    )
    assert "opened" not in effects.towards_adverse().families
    days = (population["opened"] - pd.Timestamp("2020-01-01")).dt.days
    vintage = 0.002 * ((pd.Timestamp("2023-01-01") - pd.Timestamp("2020-01-01")).days - days.mean())
    assert effects.non_actionable.effect("opened") == pytest.approx(vintage)
    # the vintage's effect (about 1.8) is larger than the principal reason's model effect
    assert vintage > effects.families.effect("savings")
    case = _case("savings")
    flagged = mc.with_non_actionable(case, effects, policy.min_effect)
    (record,) = flagged.non_actionable
    assert record.feature == "opened" and record.material and record.outranks
    assert any("non-actionable feature opened" in f for f in flagged.flags)
    # a principal reason larger in the model than the vintage keeps the case unflagged
    slow = mc.case_effects(
        lambda f: additive_log_odds(f) + 0.0001 * (f["opened"] - pd.Timestamp("2020-01-01")).dt.days.to_numpy(),
        applicant,
        population,
        families,
        non_actionable=policy.non_actionable,
    )
    calm = mc.with_non_actionable(_case("Loan"), slow, policy.min_effect)
    assert calm.non_actionable[0].material and not calm.non_actionable[0].outranks
    assert calm.flags == ()
