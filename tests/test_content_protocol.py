"""Every surrogate family's content answers the same questions for itself (contributions,
reference mean, value at the query, ranking, weights, size, table rows), so no caller
needs to test which family it holds; the answers agree with each other."""

from __future__ import annotations

import math

import pytest

from surrogate import TabularExplainer
from surrogate.surrogates.base import AdditiveContent, LinearContent, RuleContent

FAMILIES = {
    "linear": {"max_features": 4},
    "additive": {},
    "tree": {"max_depth": 3},
    "rules": {"max_rules": 4},
}


@pytest.fixture(scope="module")
def explanations(logistic_world):
    model, X = logistic_world
    explainer = TabularExplainer(model, X, n_samples=600, random_state=0)
    return {family: explainer.explain(X.iloc[3], family, **p) for family, p in FAMILIES.items()}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_content_answers_for_its_family(explanations, family):
    content = explanations[family].content
    contributions = content.contributions()
    mean, at_query = content.reference_mean, content.at_query
    if mean is not None:  # contributions add up from the reference to the query
        assert math.isclose(mean + sum(contributions.values()), at_query, abs_tol=1e-9)
    ranked = content.ranked_features()
    assert ranked and len(set(ranked)) == len(ranked)
    weights, signed = content.signed_weights()
    assert signed == (not isinstance(content, RuleContent))
    assert set(ranked) <= set(content.magnitudes()) | set(weights)
    assert all(v >= 0 for v in content.magnitudes().values())
    assert content.magnitude_kind in ("|contribution|", "|slope|", "importance")
    records = content.frame_records("logit")
    assert records and all(set(r) == set(content.frame_columns) for r in records)
    assert all(isinstance(v, int) and v >= 0 for v in content.complexity().values())
    assert content.in_units_of(dict.fromkeys(ranked, False)) is not None


def test_linear_and_additive_state_contributions_rules_do_not(explanations):
    assert explanations["linear"].content.linear_terms() is not None
    for family in ("additive", "tree", "rules"):
        assert explanations[family].content.linear_terms() is None
    for family in ("tree", "rules"):
        content = explanations[family].content
        assert content.contributions() == {} and content.reference_mean is None
        assert content.flat_fields() == {} and content.set_frame_fields() == {}
        assert content.ordered == (family == "rules")
        assert all(r["probability"] is not None for r in content.frame_records("logit"))
        assert all(r["probability"] is None for r in content.frame_records("identity"))


def test_additive_fields_name_every_contribution(explanations):
    content = explanations["additive"].content
    assert isinstance(content, AdditiveContent)
    fields = content.set_frame_fields()
    assert fields["intercept"] == content.intercept
    assert {k for k in fields if k.startswith("contribution:")} == {
        f"contribution:{name}" for name in content.contributions()
    }


def test_linear_per_unit_weights_follow_the_sampler(explanations):
    content = explanations["linear"].content
    assert isinstance(content, LinearContent)
    none = content.in_units_of({t.feature: False for t in content.terms})
    assert all(t.weight_per_unit is None for t in none.terms)
    kept = content.in_units_of({t.feature: True for t in content.terms})
    assert kept == content
    assert all(t.value is None for t in content.without_query().terms)
    assert content.flat_fields()["intercept"] == content.intercept
