"""The review's reason-code section: reasons per declined case, ranked by the model's own
effects or the surrogate's contributions, and their stability under other explainer seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..explain.tabular import REFERENCE
from ..explanation import Explanation
from .cases import Review, explain_positions, stated_against
from .config import ReviewConfig
from .problem import Problem
from .reason_codes import CaseReasons, ModelEffects, case_reasons, surrogate_order
from .reason_policy import MEMBER_TOLERANCE, MIN_STANDARD_ERRORS, ReasonPolicy, Reference
from .sections import review_unit

#: seed-sequence purpose of the reasons' other seeds (1 and 2: :mod:`.cases`)
_REASON_SEEDS_PURPOSE = 3


@dataclass(frozen=True)
class ReasonInputs:
    """What reasons are computed from, besides the explanation: the policy, the reference
    population (and its encoded ``rows``, to restate additive contributions against), case ids."""

    problem: Problem
    config: ReviewConfig
    policy: ReasonPolicy
    reference: Reference
    rows: np.ndarray
    features: Any
    ids: list[str]
    #: the model's own effects of the declined cases, by position; None: the surrogate's
    #: contributions rank the reasons
    effects: dict[int, ModelEffects] | None

    def stated(self, exp: Explanation) -> Explanation:
        """``exp`` stated against the reference population (additive ones restated, as
        linear ones already are)."""
        name = REFERENCE if self.reference.training else self.reference.name
        return stated_against(exp, self.rows, self.features, name)

    def reasons(self, stated: Explanation, position: int) -> CaseReasons:
        """The reasons of the case at ``position`` from its stated explanation."""
        effects = None if self.effects is None else self.effects.get(position)
        case = case_reasons(
            stated,
            self.policy,
            self.reference,
            case_id=self.ids[position],
            threshold=self.config.cutoff,
            effects=effects,
        )
        if self.effects is not None and effects is None and case.status == "reasons":
            # never fall back to the surrogate's ranking while the model's is stated
            raise RuntimeError(
                f"Case {self.ids[position]} has reasons but its model effects were not "
                "measured, so they cannot be ranked by the model."
            )
        return case


def reason_seed_stability(
    inputs: ReasonInputs, explainer, positions: list[int], reasons: list[CaseReasons]
) -> dict[str, Any]:
    """The declined cases' reasons computed again under ``reason_seeds`` other explainer
    seeds (each case's own neighbourhood redrawn; nothing else changes: the review's
    ``explainer`` reseeded, nothing re-learned), and how often they are the same: the
    principal reason, and every reason in order."""
    config = inputs.config
    declined = {p: _codes(r) for p, r in zip(positions, reasons, strict=True) if r.declined}
    record: dict[str, Any] = {
        "performed": bool(config.reason_seeds and declined),
        "n_seeds": config.reason_seeds,
        "n_cases": len(declined),
        "seeds": f"numpy SeedSequence([seed, {_REASON_SEEDS_PURPOSE}, s]) for s = 1 .. n_seeds",
    }
    if not record["performed"]:
        return {**record, "share_first_same": None, "share_identical": None, "cases": []}
    first_same = dict.fromkeys(declined, 0)
    identical = dict.fromkeys(declined, 0)
    for s in range(1, config.reason_seeds + 1):
        seed = np.random.SeedSequence([config.seed, _REASON_SEEDS_PURPOSE, s])
        again = explainer.with_random_state(seed)
        explained = explain_positions(again, inputs.problem, list(declined), config)
        for p, codes in declined.items():
            again = _codes(inputs.reasons(inputs.stated(explained[p]), p))
            first_same[p] += again[:2] == codes[:2]
            identical[p] += again == codes
    k = config.reason_seeds
    return {
        **record,
        "share_first_same": float(np.mean([first_same[p] == k for p in declined])),
        "share_identical": float(np.mean([identical[p] == k for p in declined])),
        "cases": [
            {
                "case_id": inputs.ids[p],
                "position": p,
                "first_same": first_same[p],
                "identical": identical[p],
            }
            for p in declined
        ],
    }


def _codes(reasons: CaseReasons) -> tuple[str, ...]:
    """A case's status, then its reason families in order."""
    return (reasons.status, *(r.family for r in reasons.reasons))


#: how reasons are computed, by what ranks them (``ranked_by``)
_TEXT_CHOICE = (
    "with the policy's text for the applicant's own value: the text of the applicant's "
    "category, of the value band holding the applicant's number, or of the direction in "
    "which it lies from the reference mean."
)


REASONS_METHOD = {
    "model": (
        "Each family's effect in the model itself, without any surrogate, towards the adverse "
        "outcome, in log-odds of the adverse class under the logit link: the model's output at "
        "the applicant minus its mean output when the family's features take each reference "
        "applicant's values in turn (the applicant's other features kept). Families with a "
        "positive effect ranked, largest first; the ranking does not depend on the explainer's "
        "seed. A family is a reason only when its effect is material: at least the review's "
        "minimum effect and at least two standard errors above zero. Each reason names its "
        "members whose own effect (the member moved alone) pushes towards the adverse outcome "
        "by more than the member tolerance (all its members when they push only together), "
        + _TEXT_CHOICE
        + " A case gets reasons only when its local surrogate is faithful: the model then "
        "behaves close to the surrogate around the applicant. Beside each effect stands the "
        "family's contribution in the surrogate: its members' terms at the applicant against "
        "the reference population, summed (a linear term's slope times the applicant's offset "
        "from the reference, an additive shape's value at the applicant minus its mean over "
        "the reference population)."
    ),
    "surrogate": (
        "Contributions of each case's local surrogate towards the adverse outcome, in log-odds "
        "of the adverse class under the logit link, against the reference population. A "
        "linear surrogate's: numbers as slope per training sd x (applicant's value - "
        "reference mean) / training sd; categories as the slope of having the applicant's "
        "category x (1 - its share in the reference population). An additive surrogate's: "
        "each shape's value at the applicant minus its mean over the reference population "
        "(a pairwise term counts towards a family only when both its features belong to it). "
        "Summed per family; families whose total reaches the review's minimum effect ranked, "
        "largest first. Each reason names its members that push towards the adverse outcome "
        "by more than the member tolerance, " + _TEXT_CHOICE
    ),
}


def reasons_section(review: Review, reasons: list[CaseReasons]) -> dict[str, Any]:
    positions, policy, config = review.positions, review.policy, review.config
    declined = [r for r in reasons if r.declined]
    used: dict[str, int] = {}
    for r in reasons:
        for feature in r.prohibited_used:
            used[feature] = used.get(feature, 0) + 1
    frequency: dict[str, int] = {}
    for r in reasons:
        for reason in r.reasons:
            frequency[reason.family] = frequency.get(reason.family, 0) + 1
    return {
        "method": REASONS_METHOD[config.ranked_by],
        "ranked_by": config.ranked_by,
        "unit": review_unit(config),
        "reference": review.reference.name,
        "materiality": materiality(reasons, policy, str(config.link)),
        "non_actionable": non_actionable_record(review, reasons),
        "policy": {
            "adverse_class": policy.adverse_class,
            "min_fidelity": policy.min_fidelity,
            "min_effect": policy.min_effect,
            "max_reasons": policy.max_reasons,
            "families": [
                {"name": f.name, "features": list(f.features), "text": f.text}
                for f in policy.families
            ],
            "texts": {name: texts.as_dict() for name, texts in sorted(policy.texts.items())},
            "prohibited": list(policy.prohibited),
            "excluded": list(policy.excluded),
            "non_actionable": list(policy.non_actionable),
        },
        "n_cases": len(reasons),
        "n_declined": len(declined),
        "n_with_reasons": sum(r.status == "reasons" for r in declined),
        "n_manual_review": sum(r.status == "manual_review" for r in declined),
        "prohibited_used": [{"feature": f, "n_cases": n} for f, n in sorted(used.items())],
        "family_frequency": [
            {"family": f, "n_cases": n}
            for f, n in sorted(frequency.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "cases": [
            dict(
                r.to_dict(),
                position=p,
                surrogate_order=surrogate_order(r, policy),
                min_effect_points=probability_points(
                    r.adverse_score, policy.min_effect, str(config.link)
                ),
            )
            for r, p in zip(reasons, positions, strict=True)
        ],
    }


#: why members below :data:`MEMBER_TOLERANCE` go unnamed, as the report states it
MEMBER_TOLERANCE_WHY = (
    "absolute, in the explanation's scale: a member that leaves the model's output unchanged "
    "measures float64 rounding (about 1e-16 over the reference rows), far below this, and "
    "every effect a reader could be told is far above it"
)


def probability_points(score: float, effect: float, link: str) -> float:
    """What ``effect`` in the explanation's scale is in probability at an applicant whose
    adverse probability is ``score``: ``score`` minus the probability ``effect`` lower."""
    if link != "logit":
        return float(effect)  # the scale is the probability itself
    p = min(max(score, 1e-12), 1 - 1e-12)
    lowered = np.log(p / (1 - p)) - effect
    return float(p - 1 / (1 + np.exp(-lowered)))


def materiality(reasons: list[CaseReasons], policy: ReasonPolicy, link: str) -> dict[str, Any]:
    """The rule that makes a family a reason and a member named, and what it left out: the
    families pushing towards the adverse outcome that are not material, the members with a
    nil effect, and the declined cases that rest on no material family (manual review)."""
    declined = [r for r in reasons if r.declined]
    points = [probability_points(r.adverse_score, policy.min_effect, link) for r in declined]
    return {
        "min_effect": policy.min_effect,
        "min_standard_errors": MIN_STANDARD_ERRORS,
        "member_tolerance": MEMBER_TOLERANCE,
        "member_tolerance_why": MEMBER_TOLERANCE_WHY,
        "min_effect_points": (
            {"lowest": min(points), "highest": max(points)} if points else None
        ),
        "n_families_dropped": sum(len(r.dropped) for r in declined),
        "n_members_dropped": sum(len(r.members_dropped) for r in declined),
        "n_cases_no_material_family": sum(
            r.status == "manual_review" and bool(r.dropped) for r in declined
        ),
    }


def non_actionable_record(review: Review, reasons: list[CaseReasons]) -> dict[str, Any]:
    """The non-actionable features (never reasons, still measured): which, why, and in how
    many declined cases one has a material effect larger than the principal reason's."""
    dates = [f.name for f in review.explainer.schema.features if f.is_datetime]
    declined = [r for r in reasons if r.declined]
    return {
        "features": list(review.policy.non_actionable),
        "dates": [f for f in review.policy.non_actionable if f in dates],
        "n_declined": len(declined),
        "n_cases_outranking": sum(any(e.outranks for e in r.non_actionable) for r in declined),
    }
