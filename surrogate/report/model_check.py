"""The model's own effects at an applicant, measured without any surrogate, and the
surrogates' reasons checked against them.

A family's *model effect* at an applicant is the model's output at the applicant
minus its mean output when the family's features take each reference applicant's
values in turn, the applicant's other features kept (in the explanation's scale:
log-odds of the adverse class under the logit link). It is what a surrogate's
contribution for the family states, measured on the model instead of estimated from
a neighbourhood, and it does not depend on the explainer's seed. A feature's effect
is the same with the feature moved alone; reasons ranked by the model
(``ranked_by = "model"``) rank families by their effects and name the members whose
own effects push towards the adverse outcome.

The check compares the local surrogate's ranking of families (its reasons, when the
reasons are ranked by the surrogate) with the model's. Per declined case with reasons
it records every family's model effect and its standard error (over the reference
rows), the family with the largest one, whether the surrogate's principal family is
that one (``agrees``), and whether the model's effects put the surrogate's families in
the surrogate's order; when the surrogate's principal family is not the largest, the
*gap* (largest model effect minus the surrogate principal's) and its standard error
(paired over the same reference rows) say whether the two are near-tied in the model
itself: a gap within two standard errors is a *near tie*. Families are the policy's,
and a feature in none is a family of its own; prohibited and excluded features take
no part, as in the reasons.

Non-actionable features (dates, vintages, identifiers: the policy's ``non_actionable``)
are never reasons, but their effects are measured the same way (each moved alone) and
recorded with each declined case; one that is material and larger than the principal
reason's effect is flagged.

The reference rows are the reason codes' reference population, all of it up to
:data:`MAX_REFERENCE_ROWS` rows and otherwise a sample of that many drawn from the
review's seed; each case costs (families + members of families with several) x
reference rows model evaluations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .reason_codes import (
    CaseReasons,
    ModelEffects,
    NonActionableEffect,
    eligible_by_family,
    family_totals,
    ranked_families,
    why_immaterial,
)
from .reason_policy import ReasonPolicy

#: most reference rows a family's effect is averaged over (a seeded sample beyond)
MAX_REFERENCE_ROWS = 1000
#: the seed stream of the reference sample, apart from every other stream of the review
_PURPOSE = 0x6D6F64656C  # "model"

METHOD = (
    "Each family's effect in the model itself, without any surrogate: the model's output at "
    "the applicant minus its mean output when the family's features take each reference "
    "applicant's values in turn (the applicant's other features kept), with the standard "
    "error of that mean. The local surrogate's principal reason agrees when its family has the "
    "largest effect."
)

Score = Callable[[pd.DataFrame], np.ndarray]


def reason_families(policy: ReasonPolicy, names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Every family that can be a reason, with its features that can (data order)."""
    families: dict[str, list[str]] = {}
    for name in names:
        if not policy.never_a_reason(name):
            families.setdefault(policy.family_of(name).name, []).append(name)
    return {family: tuple(features) for family, features in families.items()}


def reference_sample(population: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The reference rows the effects are averaged over: all of them, or a seeded sample."""
    if len(population) <= MAX_REFERENCE_ROWS:
        return population
    rng = np.random.default_rng(np.random.SeedSequence([seed, _PURPOSE]))
    chosen = np.sort(rng.choice(len(population), MAX_REFERENCE_ROWS, replace=False))
    return population.iloc[chosen]


@dataclass(frozen=True)
class FamilyEffects:
    """The model's output at one applicant and with each family's features moved to every
    reference row's values (one array per family, same rows in the same order)."""

    at_applicant: float
    moved: dict[str, np.ndarray]

    def effect(self, family: str) -> float:
        return float(self.at_applicant - self.moved[family].mean())

    def standard_error(self, family: str) -> float:
        return _standard_error(self.moved[family])

    def gap_standard_error(self, first: str, second: str) -> float:
        """Of the difference of two families' effects (paired over the same reference rows)."""
        return _standard_error(self.moved[first] - self.moved[second])


def _standard_error(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def family_effects(
    score: Score,
    applicant: pd.DataFrame,
    population: pd.DataFrame,
    families: dict[str, tuple[str, ...]],
) -> FamilyEffects:
    """Each family's model effect at the one-row ``applicant``, from one call of ``score``
    over (families x population) rows."""
    m = len(population)
    moved = []
    for features in families.values():
        rows = applicant.iloc[np.zeros(m, dtype=np.int64)].reset_index(drop=True)
        for feature in features:
            rows[feature] = population[feature].to_numpy()
        moved.append(rows)
    scores = score(pd.concat([applicant.reset_index(drop=True), *moved], ignore_index=True))
    per_family = scores[1:].reshape(len(families), m)
    return FamilyEffects(
        at_applicant=float(scores[0]),
        moved={family: per_family[k] for k, family in enumerate(families)},
    )


@dataclass(frozen=True)
class CaseEffects:
    """One applicant's model effects: each family's (its features moved together), and
    each member's of the families with several (moved alone)."""

    families: FamilyEffects
    members: FamilyEffects
    features_of: dict[str, tuple[str, ...]]
    #: each non-actionable feature's (moved alone): measured, never a reason
    non_actionable: FamilyEffects | None = None

    def towards_adverse(self) -> ModelEffects:
        """The effects reasons are ranked by: every family's, and every eligible feature's
        (the feature of a family of one has the family's)."""
        features: dict[str, float] = {}
        for family, names in self.features_of.items():
            if len(names) == 1:
                features[names[0]] = self.families.effect(family)
            else:
                features.update({name: self.members.effect(name) for name in names})
        families = {family: self.families.effect(family) for family in self.features_of}
        errors = {family: self.families.standard_error(family) for family in self.features_of}
        return ModelEffects(families=families, features=features, family_errors=errors)


def case_effects(
    score: Score,
    applicant: pd.DataFrame,
    population: pd.DataFrame,
    families: dict[str, tuple[str, ...]],
    *,
    members: bool = True,
    non_actionable: Sequence[str] = (),
) -> CaseEffects:
    """The one-row ``applicant``'s family effects, and its member effects (:class:`CaseEffects`)
    unless ``members`` is false (they then stay unmeasured), and the effect of each
    ``non_actionable`` feature."""
    alone: dict[str, tuple[str, ...]] = {
        name: (name,) for names in families.values() if members and len(names) > 1 for name in names
    }
    kept_out: dict[str, tuple[str, ...]] = {name: (name,) for name in non_actionable}
    return CaseEffects(
        families=family_effects(score, applicant, population, families),
        members=family_effects(score, applicant, population, alone),
        features_of=families,
        non_actionable=(
            family_effects(score, applicant, population, kept_out) if kept_out else None
        ),
    )


def check_case(case_id: str, ranked: Sequence[str], effects: FamilyEffects) -> dict[str, Any]:
    """How the surrogate's ``ranked`` families of a case compare with the model's own
    family effects."""
    effect = {f: effects.effect(f) for f in effects.moved}

    def by_effect(families):
        return sorted(families, key=lambda f: (-effect[f], f))

    families = by_effect(effect)
    largest = families[0]
    principal = ranked[0] if ranked else None  # None: the surrogate ranks no family
    gap = gap_error = None
    if principal is not None:
        gap = effect[largest] - effect[principal]
        gap_error = effects.gap_standard_error(principal, largest)
    return {
        "case_id": case_id,
        "principal": principal,
        "largest": largest,
        "agrees": principal == largest,
        "same_order": list(ranked) == by_effect(ranked),
        "gap": gap,
        "gap_standard_error": gap_error,
        "near_tie": _near_tie(principal, largest, gap, gap_error),
        "effects": [
            {"family": f, "effect": effect[f], "standard_error": effects.standard_error(f)}
            for f in families
        ],
    }


def _near_tie(principal, largest, gap, gap_error) -> bool:
    """Whether a principal family that is not the model's largest is within two paired
    standard errors of it."""
    return principal is not None and principal != largest and gap <= 2 * gap_error


def with_model_effects(case: CaseReasons, effects: FamilyEffects) -> CaseReasons:
    """The case with each reason's model effect and its standard error filled in."""
    reasons = tuple(
        replace(
            r,
            model_effect=effects.effect(r.family),
            model_standard_error=effects.standard_error(r.family),
        )
        for r in case.reasons
    )
    return replace(case, reasons=reasons)


def with_non_actionable(case: CaseReasons, effects: CaseEffects, min_effect: float) -> CaseReasons:
    """The case with its non-actionable features' effects, and a flag for each that is
    material and larger than the principal reason's effect (or whose case has no reason)."""
    measured = effects.non_actionable
    if measured is None or not case.declined:
        return case
    principal = effects.families.effect(case.reasons[0].family) if case.reasons else None
    records = []
    for feature in measured.moved:
        effect, error = measured.effect(feature), measured.standard_error(feature)
        material = why_immaterial(effect, error, min_effect) is None
        outranks = material and (principal is None or effect > principal)
        records.append(NonActionableEffect(feature, effect, error, material, outranks))
    flags = [
        f"non-actionable feature {r.feature} has a material effect ({r.effect:.3f}), "
        + ("larger than the principal reason's" if principal is not None else "and no reason")
        + "; it is never a reason"
        for r in records
        if r.outranks
    ]
    return replace(case, non_actionable=tuple(records), flags=(*case.flags, *flags))


def model_check(
    cases: Sequence[CaseReasons],
    effects: Sequence[CaseEffects | None],
    policy: ReasonPolicy,
    *,
    n_reference_rows: int,
    n_population: int,
) -> tuple[dict[str, Any], list[CaseReasons]]:
    """The check's record (module doc) and the cases with their reasons' model effects.

    ``effects`` holds each case's effects, in the order of ``cases`` (``None`` for a
    case not declined); only the cases with reasons are checked, each against the
    ranking of its surrogate's own contributions.
    """
    checked, out = [], []
    for case, measured in zip(cases, effects, strict=True):
        if measured is not None:
            case = with_non_actionable(case, measured, policy.min_effect)
        if case.status != "reasons" or measured is None:
            out.append(case)
            continue
        totals = family_totals(eligible_by_family(case.contributions))
        ranked = ranked_families(totals, policy.max_reasons)
        checked.append(check_case(case.case_id, ranked, measured.families))
        out.append(with_model_effects(case, measured.families))
    record = {
        "performed": bool(checked),
        "method": METHOD,
        "n_reference_rows": n_reference_rows,
        "n_population": n_population,
        "reference_rows": (
            "all of the reference population"
            if n_reference_rows == n_population
            else f"a sample of {n_reference_rows} drawn from numpy SeedSequence([seed, {_PURPOSE}])"
        ),
        "n_cases": len(checked),
        "share_agrees": float(np.mean([c["agrees"] for c in checked])) if checked else None,
        "n_near_ties": sum(c["near_tie"] for c in checked),
        "share_same_order": (
            float(np.mean([c["same_order"] for c in checked])) if checked else None
        ),
        "cases": checked,
    }
    return record, out
