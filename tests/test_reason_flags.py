"""Flags on stated reasons (surrogate.report.reason_flags): a category safer than average,
a surrogate that does not carry the reason, a family cited in opposite directions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from surrogate.report.reason_codes import CaseReasons, Reason, ReasonPart
from surrogate.report.reason_flags import (
    direction,
    flag_reasons,
    safer_category_flags,
    surrogate_flags,
)
from surrogate.report.reason_policy import Reference
from surrogate.schema import FeatureSchema

REFERENCE = Reference(
    name="all training applicants",
    means={"duration": 20.0},
    scales={"duration": 10.0},
    shares={"telephone": {"yes": 0.4, "none": 0.6}},
    training=True,
    adverse_rate=0.30,
    adverse_rates={"telephone": {"yes": 0.28, "none": 0.31}},
)


def _reason(family, feature, value, effect=0.3, surrogate=0.3):
    part = ReasonPart(feature=feature, value=value, contribution=effect, text=f"{value}", basis="")
    return Reason(
        rank=1,
        family=family,
        text=str(value),
        contribution=effect,
        features=(feature,),
        parts=(part,),
        model_effect=effect,
        surrogate_contribution=surrogate,
    )


def _case(case_id, *reasons):
    return CaseReasons(
        case_id=case_id,
        adverse_score=0.5,
        declined=True,
        status="reasons",
        reasons=tuple(reasons),
        fidelity_r2=0.9,
    )


def test_a_category_safer_than_the_population_is_flagged():
    (flag,) = safer_category_flags(_reason("Telephone", "telephone", "yes"), REFERENCE)
    assert flag.kind == "safer_category" and "0.280" in flag.text and "0.300" in flag.text
    assert safer_category_flags(_reason("Telephone", "telephone", "none"), REFERENCE) == []
    # numbers have no category rate: not flagged this way
    assert safer_category_flags(_reason("Loan", "duration", 48.0), REFERENCE) == []


def test_a_surrogate_opposing_or_much_smaller_than_the_model_is_flagged():
    (opposite,) = surrogate_flags(_reason("Housing", "housing", "own", 0.132, -0.014))
    assert opposite.kind == "surrogate_opposite_sign"
    (smaller,) = surrogate_flags(_reason("Housing", "housing", "own", 0.4, 0.1))
    assert smaller.kind == "surrogate_smaller"
    assert surrogate_flags(_reason("Housing", "housing", "own", 0.4, 0.2)) == []
    unchecked = dataclasses.replace(_reason("Housing", "housing", "own"), model_effect=None)
    assert surrogate_flags(unchecked) == []


def test_directions_are_against_the_population():
    assert direction(_reason("T", "telephone", "yes").parts[0], REFERENCE) == "safer"
    assert direction(_reason("T", "telephone", "none").parts[0], REFERENCE) == "riskier"
    assert direction(_reason("L", "duration", 48.0).parts[0], REFERENCE) == "above"
    assert direction(_reason("L", "duration", 6.0).parts[0], REFERENCE) == "below"
    assert direction(_reason("L", "duration", 20.0).parts[0], REFERENCE) is None


def test_a_family_cited_in_opposite_directions_is_flagged_on_its_counter_side_and_counted():
    cases = [
        _case("657", _reason("Telephone", "telephone", "yes")),
        _case("125", _reason("Telephone", "telephone", "none")),
        _case("383", _reason("Telephone", "telephone", "none"), _reason("Loan", "duration", 48.0)),
        _case("480", _reason("Loan", "duration", 36.0, 0.2, -0.1)),
        _case("661", _reason("Loan", "duration", 6.0)),
    ]
    flagged, record = flag_reasons(cases, REFERENCE)
    kinds = [[f.kind for f in r.flags] for c in flagged for r in c.reasons]
    assert kinds == [
        ["safer_category", "opposite_directions"],  # "yes" is the safer category
        [],  # "none" is riskier than average: a reason as it should be
        [],
        [],  # two cases cite a long loan ...
        ["surrogate_opposite_sign"],
        ["opposite_directions"],  # ... one a short one
    ]
    text = flagged[0].reasons[0].flags[1].text
    assert "none (125, 383)" in text  # names the cases citing the other way
    assert record["n_reasons"] == 6 and record["n_flagged"] == 3
    assert record["counts"] == {
        "safer_category": 1,
        "surrogate_opposite_sign": 1,
        "surrogate_smaller": 0,
        "opposite_directions": 2,
    }
    assert record["n_families_cited"] == 2 and record["n_families_opposite"] == 2
    loan, telephone = record["opposite_directions"]
    assert telephone["feature"] == "telephone"
    assert [(d["direction"], d["value"], d["cases"]) for d in telephone["directions"]] == [
        ("riskier", "none", ["125", "383"]),
        ("safer", "yes", ["657"]),
    ]
    assert [d["direction"] for d in loan["directions"]] == ["above", "above", "below"]


def test_numbers_cited_as_often_each_way_are_flagged_on_both_sides():
    cases = [
        _case("1", _reason("Loan", "duration", 48.0)),
        _case("2", _reason("Loan", "duration", 6.0)),
    ]
    flagged, record = flag_reasons(cases, REFERENCE)
    assert [[f.kind for f in r.flags] for c in flagged for r in c.reasons] == [
        ["opposite_directions"],
        ["opposite_directions"],
    ]


def test_the_reference_population_knows_its_adverse_rates():
    X = pd.DataFrame(
        {
            "x": np.arange(8.0),
            "phone": pd.Categorical(["yes", "yes", "yes", "yes", "no", "no", "no", "no"]),
        }
    )
    adverse = np.array([1, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    schema = FeatureSchema.infer(X)
    reference = Reference.from_schema(schema).with_outcomes(X, schema, adverse)
    assert reference.adverse_rate == 0.5
    assert reference.adverse_rates["phone"] == {"yes": 0.25, "no": 0.75}
    assert "x" not in reference.adverse_rates
    assert reference.with_outcomes(X.iloc[:0], schema, adverse[:0]) == reference


def test_a_surrogate_at_the_stated_share_of_the_model_carries_the_reason():
    from surrogate.report.reason_flags import SMALLER_SHARE

    at = _reason("H", "housing", "own", 0.4, 0.4 * SMALLER_SHARE)
    assert surrogate_flags(at) == []
    below = _reason("H", "housing", "own", 0.4, 0.4 * SMALLER_SHARE - 1e-6)
    assert [f.kind for f in surrogate_flags(below)] == ["surrogate_smaller"]
