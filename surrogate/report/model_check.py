"""Reasons checked against the model itself: each family's effect measured without any surrogate.

A reason ranks families by the surrogate's contributions, which carry sampling
noise and whatever the surrogate misses. This check asks the model directly. A
family's *model effect* at an applicant is the model's output at the applicant
minus its mean output when the family's features take each reference applicant's
values in turn, the applicant's other features kept (in the explanation's scale:
log-odds of the adverse class under the logit link). It is what the family's
contribution states, measured on the model instead of estimated from a
neighbourhood, and it does not depend on the explainer's seed.

Per declined case with reasons the check records every family's model effect and its
standard error (over the reference rows), the family with the largest one, and
whether the principal reason is that family, and whether the model's effects put the
stated reasons in the stated order; when the principal reason is not the largest, the *gap* (largest
model effect minus the principal reason's) and its standard error (paired over the
same reference rows) say whether the two are near-tied in the model itself: a gap
within two standard errors is a *near tie*. Families are the policy's, and a feature in none is a family of its
own; prohibited and excluded features take no part, as in the reasons.

The reference rows are the reason codes' reference population, all of it up to
:data:`MAX_REFERENCE_ROWS` rows and otherwise a sample of that many drawn from the
review's seed; each case costs (families x reference rows) model evaluations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .reason_codes import CaseReasons, ReasonPolicy

#: most reference rows a family's effect is averaged over (a seeded sample beyond)
MAX_REFERENCE_ROWS = 1000
#: the seed stream of the reference sample, apart from every other stream of the review
_PURPOSE = 0x6D6F64656C  # "model"

METHOD = (
    "Each family's effect in the model itself, without any surrogate: the model's output at "
    "the applicant minus its mean output when the family's features take each reference "
    "applicant's values in turn (the applicant's other features kept), with the standard "
    "error of that mean. The principal reason agrees when its family has the largest effect."
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


def check_case(case: CaseReasons, effects: FamilyEffects) -> dict[str, Any]:
    """How a case's reasons compare with the model's own family effects."""
    effect = {f: effects.effect(f) for f in effects.moved}

    def by_effect(families):
        return sorted(families, key=lambda f: (-effect[f], f))

    families = by_effect(effect)
    largest, principal = families[0], case.reasons[0].family
    gap = effect[largest] - effect[principal]
    gap_error = effects.gap_standard_error(principal, largest)
    stated = [r.family for r in case.reasons]
    return {
        "case_id": case.case_id,
        "principal": principal,
        "largest": largest,
        "agrees": principal == largest,
        "same_order": stated == by_effect(stated),
        "gap": gap,
        "gap_standard_error": gap_error,
        "near_tie": principal != largest and gap <= 2 * gap_error,
        "effects": [
            {"family": f, "effect": effect[f], "standard_error": effects.standard_error(f)}
            for f in families
        ],
    }


def with_model_effects(case: CaseReasons, effects: FamilyEffects) -> CaseReasons:
    """The case with each reason's model effect filled in."""
    reasons = tuple(replace(r, model_effect=effects.effect(r.family)) for r in case.reasons)
    return replace(case, reasons=reasons)


def model_check(
    score: Score,
    applicants: pd.DataFrame,
    population: pd.DataFrame,
    policy: ReasonPolicy,
    cases: Sequence[CaseReasons],
    *,
    seed: int,
) -> tuple[dict[str, Any], list[CaseReasons]]:
    """The check's record (module doc) and the cases with their reasons' model effects.

    ``applicants`` holds the cases' rows, in the order of ``cases``; only the cases
    with reasons are checked.
    """
    sample = reference_sample(population, seed)
    families = reason_families(policy, list(applicants.columns))
    checked, out = [], []
    for k, case in enumerate(cases):
        if case.status != "reasons":
            out.append(case)
            continue
        effects = family_effects(score, applicants.iloc[[k]], sample, families)
        checked.append(check_case(case, effects))
        out.append(with_model_effects(case, effects))
    record = {
        "performed": bool(checked),
        "method": METHOD,
        "n_reference_rows": len(sample),
        "n_population": len(population),
        "reference_rows": (
            "all of the reference population"
            if len(sample) == len(population)
            else f"a sample of {len(sample)} drawn from numpy SeedSequence([seed, {_PURPOSE}])"
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
