"""Adverse-action reasons ("reason codes") from local explanations, in the applicant's own terms.

For each declined case the principal reasons are the **reason families** that push
the model's output furthest towards the adverse outcome, measured against a stated
reference population (default: all training applicants), and each reason says what
is true of *this* applicant: the feature, the applicant's value and its direction
("Loan duration of 48 months: longer than the average of all training applicants
(20.9 months)"; "Checking account overdrawn (balance below 0 DM)").

How a contribution is computed, per term of the local linear surrogate that the
model uses at the query (non-zero weight), in the surrogate's scale (log-odds of the
explained class under the logit link):

* a number: ``weight * (query - reference mean) / sd`` -- ``weight`` is per training
  standard deviation ``sd``, so this is the surrogate's change in output between an
  applicant at the reference mean and this applicant;
* a category: ``weight * (1 - share of the applicant's category in the reference
  population)`` -- ``weight`` is the effect of *having* the applicant's category
  rather than another, and an applicant drawn from the reference population already
  has it with that share. Against the training population this is the explanation's
  own ``contribution`` (:attr:`~surrogate.explanation.Explanation.contributions`).

A family that states its own per-term contributions against the training data
(:attr:`~surrogate.explanation.Explanation.contributions`) feeds the same steps; the
linear terms are recomputed so that another reference population can be chosen.
* the point-mass state of a number (``"capital_gain is 0"``, see
  :mod:`surrogate.sampling.tabular`): ``weight`` itself, as for a category -- the effect
  of being where the query is (at the point or not) instead of the other state, drawn
  with its training share. It belongs to its number's family, and is never a reason
  when its number is prohibited or excluded.

Contributions are signed towards the adverse outcome: when the explanation explains
the adverse class they are taken as they are; when it explains the other class of a
binary classifier they are negated. Features are grouped into families (e.g.
"Loan duration and amount" = duration + credit amount + instalment rate) whose
contributions add up; a family is a reason when its total is *material*: at least
``min_effect`` (default 0.05, in log-odds under the logit link) and, where its standard
error is known (the model's effects, below), at least two standard errors above zero.
At most ``max_reasons`` (default 4) families are given, largest first; the families
pushing towards the adverse outcome that are not material are recorded with the case
(``dropped``), and a declined case with no material family goes to manual review. A
reason's text names each member feature that pushes towards the adverse outcome by more
than :data:`MEMBER_TOLERANCE`, largest first, with a
text chosen by the applicant's value (:class:`ValueTexts`): the policy's text for
the applicant's category, or for the value band holding the applicant's number, or
its "above" / "below" text as the number lies above or below the reference mean;
a feature the policy gives no text gets a plain one ("Housing: rent"; "Age of 42:
above the average of all training applicants (35.5)"). No text is ever chosen for a
value the applicant does not have.

Never given as reasons: **prohibited bases** (defaults for German credit:
``personal_status_sex``, ``foreign_worker``, ``age``; for Adult: ``race``, ``sex``,
``native_country``, and also ``marital_status`` and ``relationship`` -- marital status
is a prohibited basis under the US Equal Credit Opportunity Act and ``relationship``
encodes husband/wife -- and ``age``, as for German credit) and *excluded* features
that describe data collection rather than the applicant (Adult's ``fnlwgt``). When
the local surrogate gives them weight, the case is flagged: the model uses them.

A case whose local held-out fidelity (weighted R^2 on the fresh neighbourhood) is
below ``min_fidelity`` (default 0.5 here, 0.7 in the review: the surrogate explains
too little of the model's local variation, so its largest terms may not be the
model's real reasons) gets no automatic reasons, only a flag for manual review.

Families can instead be ranked by the model's own effects (:class:`ModelEffects`,
measured by :mod:`.model_check` without any surrogate: a family's effect is the
model's output at the applicant minus its mean when the family's features take each
reference applicant's values), as the review does by default (``ranked_by =
"model"``). A family's total is then its effect with its features moved together, and
its text names the members whose own effect pushes towards the adverse outcome. Such
reasons do not depend on the explainer's seed; the surrogate still decides whether a
case gets reasons at all (its fidelity), and each reason carries the surrogate's
contribution for its family beside it (``surrogate_contribution``).

Examples
--------
>>> policy = default_policy("german-credit", adverse_class="bad")
>>> policy.max_reasons
4
>>> policy.texts["checking_account"].categories["< 0 DM"]
'Checking account overdrawn (balance below 0 DM)'
>>> neutralise_cell("=HYPERLINK()")
"'=HYPERLINK()"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import ParameterError
from ..schema import number_value, point_flag_feature
from ..surrogates.base import PAIR_SEPARATOR
from .reason_policy import (
    MEMBER_TOLERANCE,
    MIN_STANDARD_ERRORS,
    ReasonPolicy,
    Reference,
)
from .reason_texts import choose_text

Status = Literal["reasons", "manual_review", "not_adverse"]


@dataclass(frozen=True)
class Contribution:
    """One feature's signed contribution towards the adverse outcome."""

    feature: str
    family: str
    value: float | str | None
    weight: float
    contribution: float
    basis: Literal[
        "numeric vs reference mean",
        "category vs reference shares",
        "point state vs training share",
        "stated by the explanation",
        "model effect against the reference population",
    ]
    eligible: bool


@dataclass(frozen=True)
class ModelEffects:
    """The model's own effects at one applicant, towards the adverse outcome
    (:mod:`.model_check`): each family's (its features moved together) and each eligible
    feature's (moved alone). Reasons ranked by the model use these instead of the
    surrogate's contributions."""

    families: Mapping[str, float]
    features: Mapping[str, float]
    #: each family's standard error (over the reference rows); none: not known
    family_errors: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DroppedFamily:
    """A family pushing towards the adverse outcome, but not materially: not a reason."""

    family: str
    effect: float
    standard_error: float | None
    why: str


@dataclass(frozen=True)
class NonActionableEffect:
    """The model's effect of a non-actionable feature at one applicant: measured and
    reported, never a reason. ``outranks`` says that it is material and larger than the
    principal reason's effect (or that the case has no reason)."""

    feature: str
    effect: float
    standard_error: float
    material: bool
    outranks: bool


@dataclass(frozen=True)
class MemberRow:
    """One member of a family in a case's table of effects: the applicant's value, its own
    effect in the model (moved alone) and its terms' contribution in the local surrogate."""

    feature: str
    value: float | str | None
    model_effect: float
    surrogate_contribution: float


@dataclass(frozen=True)
class FamilyRow:
    """One family in a case's table of effects (what decided its reasons): its effect in the
    model with the standard error, its contribution in the local surrogate, its rank as a
    reason (None: not one), and its members when it has several."""

    family: str
    model_effect: float
    standard_error: float | None
    surrogate_contribution: float
    reason_rank: int | None
    members: tuple[MemberRow, ...] = ()


@dataclass(frozen=True)
class DroppedMember:
    """A member of a reason's family whose own effect is within :data:`MEMBER_TOLERANCE`
    of zero: the reason does not name it."""

    family: str
    feature: str
    effect: float


@dataclass(frozen=True)
class ReasonPart:
    """One feature of a reason: the applicant's value, its contribution and its text.

    ``basis`` says how the text was chosen (:class:`~.reason_texts.ChosenText`):
    the applicant's category, the band holding the applicant's number, or the
    number above / below ``reference`` (the reference mean).
    """

    feature: str
    value: float | str | None
    contribution: float
    text: str
    basis: str
    reference: float | None = None
    band: tuple[float | None, float | None] | None = None


@dataclass(frozen=True)
class ReasonFlag:
    """What makes a stated reason hard to defend (:mod:`.reason_flags`): its kind and words."""

    kind: str
    text: str


@dataclass(frozen=True)
class Reason:
    """A reason family pushing towards the adverse outcome; its text is its parts' texts."""

    rank: int
    family: str
    text: str
    contribution: float
    features: tuple[str, ...]
    parts: tuple[ReasonPart, ...] = ()
    #: the family's effect in the model itself (:mod:`.model_check`), once checked
    model_effect: float | None = None
    #: the standard error of ``model_effect`` over the reference rows
    model_standard_error: float | None = None
    #: the family's contribution in the local surrogate (its eligible members' summed)
    surrogate_contribution: float | None = None
    #: what a reviewer should know before defending it (:mod:`.reason_flags`)
    flags: tuple[ReasonFlag, ...] = ()


@dataclass(frozen=True)
class CaseReasons:
    """The reasons (or the manual-review flag) of one case."""

    case_id: str
    adverse_score: float
    declined: bool
    status: Status
    reasons: tuple[Reason, ...]
    fidelity_r2: float | None
    flags: tuple[str, ...] = ()
    contributions: tuple[Contribution, ...] = ()
    prohibited_used: tuple[str, ...] = field(default=())
    #: families pushing towards the adverse outcome that are not material (never reasons)
    dropped: tuple[DroppedFamily, ...] = ()
    #: members of the reasons' families left unnamed: their own effect is nil
    members_dropped: tuple[DroppedMember, ...] = ()
    #: the model's effects of the non-actionable features, never reasons
    non_actionable: tuple[NonActionableEffect, ...] = ()
    #: every eligible family's model effect beside its surrogate contribution, ordered by
    #: the model (when the model's effects rank the reasons)
    effects: tuple[FamilyRow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


# ---- computing reasons ---------------------------------------------------------------------
def adverse_direction(exp: Any, adverse_class: str) -> float:
    """+1 when the explanation explains the adverse class, -1 when it explains the other
    class of a binary classifier; anything else cannot be read as adverse reasons."""
    target = str(exp.meta.target)
    if target == str(adverse_class):
        return 1.0
    outputs = [str(k) for k in exp.outputs]
    if len(outputs) == 2 and str(adverse_class) in outputs:
        return -1.0
    raise ParameterError(
        f"adverse_class {adverse_class!r} is neither the explained output {target!r} nor the other "
        f"class of a binary classifier (outputs {outputs})."
    )


def adverse_score(exp: Any, adverse_class: str) -> float:
    """The black box's output for the adverse class (its probability for a classifier)."""
    outputs = {str(k): v for k, v in exp.outputs.items()}
    if str(adverse_class) in outputs:
        return float(outputs[str(adverse_class)])
    return float(exp.prediction)


def contributions(exp: Any, policy: ReasonPolicy, reference: Reference) -> tuple[Contribution, ...]:
    """Every used feature's contribution towards the adverse outcome (module doc)."""
    content = exp.content
    sign = adverse_direction(exp, policy.adverse_class)
    slopes = content.linear_terms()
    if slopes is not None:  # a linear surrogate: its slopes, restated against the reference
        return tuple(
            _linear_contribution(term, policy, reference, sign)
            for term in slopes
            if term.weight != 0.0
        )
    stated = getattr(exp, "contributions", {})
    if stated and (reference.training or getattr(content, "reference", None) == reference.name):
        # a family stating its own contributions, against this reference population
        return tuple(_stated_contribution(name, c, exp, policy, sign) for name, c in stated.items())
    raise ParameterError(
        f"Reason codes need per-term contributions: a linear explanation (or one stating its "
        f"contributions against the training data); got a {content.family!r} surrogate. "
        "Explain the case with surrogate='linear'."
    )


def _stated_contribution(name: str, c: float, exp: Any, policy: ReasonPolicy, sign: float):
    """A stated term's contribution. A pairwise term ("a \u00d7 b") counts towards a family
    only when both its features belong to it, and never when either is prohibited."""
    members = name.split(PAIR_SEPARATOR)
    if len(members) == 1:
        return _contribution(
            name, exp.query.get(name), 0.0, c, "stated by the explanation", policy, sign
        )
    families = {policy.family_of(f).name for f in members}
    prohibited = [f for f in members if policy.never_a_reason(f)]
    return Contribution(
        feature=name,
        family=families.pop() if len(families) == 1 else name,
        value=", ".join(str(exp.query.get(f)) for f in members),
        weight=0.0,
        contribution=float(sign * c) + 0.0,
        basis="stated by the explanation",
        eligible=not prohibited and len({policy.family_of(f).name for f in members}) == 1,
    )


def _linear_contribution(term: Any, policy: ReasonPolicy, reference: Reference, sign: float):
    if term.feature in reference.means and term.weight_per_unit is not None:
        scale = reference.scales.get(term.feature, 0.0)
        value = term.value
        offset = (
            0.0
            if not scale or value is None
            else (number_value(value) - reference.means[term.feature]) / scale
        )
        return _contribution(
            term.feature,
            value,
            term.weight,
            term.weight * offset,
            "numeric vs reference mean",
            policy,
            sign,
            reference,
        )
    if isinstance(term.value, str) and term.feature in reference.shares:
        share = reference.shares[term.feature].get(term.value, 0.0)
        return _contribution(
            term.feature,
            term.value,
            term.weight,
            term.weight * (1.0 - share),
            "category vs reference shares",
            policy,
            sign,
            reference,
        )
    if reference.training and term.contribution is not None:  # e.g. a quartile bin
        return _contribution(
            term.feature,
            term.value,
            term.weight,
            term.contribution,
            "stated by the explanation",
            policy,
            sign,
            reference,
        )
    if _base_feature(term.feature, reference) != term.feature:  # a number's point-mass state
        return _contribution(
            term.feature,
            term.value,
            term.weight,
            term.weight,
            "point state vs training share",
            policy,
            sign,
            reference,
        )
    raise ParameterError(
        f"The contribution of {term.feature!r} against {reference.name!r} cannot be computed: the "
        "term is neither a standardised number nor a category (a binned number?). Use the "
        "training population as the reference, or the qmc/gaussian sampler."
    )


def _contribution(
    feature, value, weight, raw, basis, policy: ReasonPolicy, sign: float, reference=None
):
    # a point-mass state belongs to its number: same family, same prohibited status
    base = feature if reference is None else _base_feature(feature, reference)
    return Contribution(
        feature=feature,
        family=policy.family_of(base).name,
        value=value,
        weight=float(weight),
        contribution=float(sign * raw) + 0.0,
        basis=basis,
        eligible=not policy.never_a_reason(base),
    )


def _base_feature(name: str, reference: Reference) -> str:
    """The feature a term is about: itself, or the number whose point-mass state it is."""
    if name in reference.scales:
        return name
    return point_flag_feature(name, reference.scales) or name


def case_reasons(
    exp: Any,
    policy: ReasonPolicy,
    reference: Reference,
    *,
    case_id: str,
    threshold: float,
    effects: ModelEffects | None = None,
) -> CaseReasons:
    """Reasons for one case: ranked families, or a manual-review flag (see module doc).

    ``threshold`` is the decision cut-off: the case is declined when the black box's
    adverse score is at or above it. Cases not declined get no reasons. Families are
    ranked by the surrogate's contributions, or by the model's own ``effects`` when
    given; either way a case gets reasons only when its surrogate is faithful enough.
    """
    score = adverse_score(exp, policy.adverse_class)
    declined = bool(score >= threshold)
    parts = contributions(exp, policy, reference)
    used = _used_features(parts, reference)
    used_prohibited = tuple(sorted(used & set(policy.prohibited)))
    flags = _flags(used, policy, used_prohibited)
    r2 = exp.fidelity.r2
    common = dict(
        case_id=str(case_id),
        adverse_score=score,
        declined=declined,
        fidelity_r2=r2,
        contributions=parts,
        prohibited_used=used_prohibited,
    )
    if not declined:
        return CaseReasons(status="not_adverse", reasons=(), flags=flags, **common)
    if r2 is None or r2 < policy.min_fidelity:
        shown = "undefined" if r2 is None else f"{r2:.3f}"
        flag = f"low fidelity: local held-out R^2 {shown} < {policy.min_fidelity:g}; manual review"
        rows = () if effects is None else effect_rows(parts, reference, effects, exp, policy, ())
        return CaseReasons(
            status="manual_review", reasons=(), flags=(flag, *flags), effects=rows, **common
        )
    surrogate = family_totals(eligible_by_family(parts))
    if effects is None:
        ranked, totals, errors = parts, surrogate, None
    else:
        ranked = model_contributions(exp, policy, effects)
        totals, errors = dict(effects.families), effects.family_errors
    members = eligible_by_family(ranked)
    material, dropped = material_families(
        {f: totals[f] for f in members if f in totals}, errors, policy.min_effect
    )
    reasons = rank_families(ranked, policy, reference, totals=material)
    reasons = tuple(
        replace(
            r,
            surrogate_contribution=surrogate.get(r.family, 0.0),
            model_standard_error=None if errors is None else errors.get(r.family),
        )
        for r in reasons
    )
    common.update(dropped=dropped, members_dropped=unnamed_members(reasons, members))
    if effects is not None:
        common["effects"] = effect_rows(parts, reference, effects, exp, policy, reasons)
    if not reasons:
        flag = _no_reason_flag(dropped, policy.min_effect)
        return CaseReasons(status="manual_review", reasons=(), flags=(flag, *flags), **common)
    return CaseReasons(status="reasons", reasons=reasons, flags=flags, **common)


def effect_rows(
    parts: Sequence[Contribution],
    reference: Reference,
    effects: ModelEffects,
    exp: Any,
    policy: ReasonPolicy,
    reasons: Sequence[Reason],
) -> tuple[FamilyRow, ...]:
    """Each eligible family's model effect beside its surrogate contribution, largest model
    effect first, with the members of families of several (module doc)."""
    surrogate = family_totals(eligible_by_family(parts))
    by_member: dict[str, float] = {}
    for c in parts:
        if c.eligible and PAIR_SEPARATOR not in c.feature:  # a pair belongs to no one member
            base = _base_feature(c.feature, reference)
            by_member[base] = by_member.get(base, 0.0) + c.contribution
    members = eligible_by_family(model_contributions(exp, policy, effects))
    rank = {r.family: r.rank for r in reasons}
    rows = []
    for family, effect in sorted(effects.families.items(), key=lambda kv: (-kv[1], kv[0])):
        own = members.get(family, [])
        rows.append(
            FamilyRow(
                family=family,
                model_effect=float(effect),
                standard_error=effects.family_errors.get(family),
                surrogate_contribution=surrogate.get(family, 0.0),
                reason_rank=rank.get(family),
                members=tuple(
                    MemberRow(c.feature, c.value, c.contribution, by_member.get(c.feature, 0.0))
                    for c in sorted(own, key=lambda c: (-c.contribution, c.feature))
                )
                if len(own) > 1
                else (),
            )
        )
    return tuple(rows)


def surrogate_order(case: CaseReasons, policy: ReasonPolicy) -> list[str]:
    """The families the case's local surrogate would give as reasons, in its own order:
    totals of at least ``min_effect``, largest first (the order of its waterfall)."""
    totals = family_totals(eligible_by_family(case.contributions))
    material, _ = material_families(totals, None, policy.min_effect)
    return ranked_families(material, policy.max_reasons)


def why_immaterial(effect: float, standard_error: float | None, min_effect: float) -> str | None:
    """Why a family's effect towards the adverse outcome is not material, or None when it
    is: at least ``min_effect`` and at least :data:`MIN_STANDARD_ERRORS` standard errors
    above zero (where the standard error is known)."""
    if effect < min_effect:
        return f"effect {effect:.4f} below the minimum {min_effect:g}"
    if standard_error is not None and effect < MIN_STANDARD_ERRORS * standard_error:
        return (
            f"effect {effect:.4f} within {MIN_STANDARD_ERRORS:g} standard errors "
            f"({standard_error:.4f}) of zero"
        )
    return None


def material_families(
    totals: Mapping[str, float], errors: Mapping[str, float] | None, min_effect: float
) -> tuple[dict[str, float], tuple[DroppedFamily, ...]]:
    """The families that can be reasons (module doc) and those pushing towards the adverse
    outcome that are not material, largest first."""
    kept: dict[str, float] = {}
    dropped = []
    for family, effect in totals.items():
        error = None if errors is None else errors.get(family)
        why = why_immaterial(effect, error, min_effect)
        if why is None:
            kept[family] = effect
        elif effect > 0:
            dropped.append(DroppedFamily(family, float(effect), error, why))
    dropped.sort(key=lambda d: (-d.effect, d.family))
    return kept, tuple(dropped)


def unnamed_members(
    reasons: Sequence[Reason], members: Mapping[str, Sequence[Contribution]]
) -> tuple[DroppedMember, ...]:
    """The members of each reason's family that push towards the adverse outcome by no
    more than :data:`MEMBER_TOLERANCE`, and which the reason therefore does not name."""
    out = []
    for reason in reasons:
        named = {p.feature for p in reason.parts}
        for c in members.get(reason.family, ()):
            if c.feature not in named and 0 < c.contribution <= MEMBER_TOLERANCE:
                out.append(DroppedMember(reason.family, c.feature, float(c.contribution)))
    return tuple(out)


def _no_reason_flag(dropped: Sequence[DroppedFamily], min_effect: float) -> str:
    if not dropped:
        return "no eligible factor pushes towards the adverse outcome; manual review"
    largest = dropped[0]
    return (
        f"no material factor: no eligible family's effect towards the adverse outcome is at "
        f"least {min_effect:g} and {MIN_STANDARD_ERRORS:g} standard errors above zero (the "
        f"largest, {largest.family}: {largest.why}); manual review"
    )


def model_contributions(
    exp: Any, policy: ReasonPolicy, effects: ModelEffects
) -> tuple[Contribution, ...]:
    """Each eligible feature's model effect as its contribution, with the applicant's value."""
    return tuple(
        Contribution(
            feature=feature,
            family=policy.family_of(feature).name,
            value=exp.query.get(feature),
            weight=0.0,
            contribution=float(effect),
            basis="model effect against the reference population",
            eligible=True,
        )
        for feature, effect in effects.features.items()
    )


def prohibited_used(exp: Any, policy: ReasonPolicy, reference: Reference) -> tuple[str, ...]:
    """The prohibited bases an explanation gives weight to (as :func:`case_reasons` flags them)."""
    used = _used_features(contributions(exp, policy, reference), reference)
    return tuple(sorted(used & set(policy.prohibited)))


def _used_features(parts: Sequence[Contribution], reference: Reference) -> set[str]:
    """The features the contributions give weight to (each member of a pair counted)."""
    return {
        _base_feature(name, reference) for c in parts for name in c.feature.split(PAIR_SEPARATOR)
    }


def _flags(used: set[str], policy: ReasonPolicy, used_prohibited: Sequence[str]) -> tuple[str, ...]:
    flags = []
    if used_prohibited:
        flags.append(f"model uses prohibited basis: {', '.join(used_prohibited)}")
    excluded = sorted(used & set(policy.excluded))
    if excluded:
        flags.append(f"model uses excluded feature: {', '.join(excluded)}")
    return tuple(flags)


def eligible_by_family(parts: Sequence[Contribution]) -> dict[str, list[Contribution]]:
    """The eligible contributions of each family, in their order."""
    members: dict[str, list[Contribution]] = {}
    for c in parts:
        if c.eligible:
            members.setdefault(c.family, []).append(c)
    return members


def family_totals(members: dict[str, list[Contribution]]) -> dict[str, float]:
    """Each family's contribution: its eligible members' summed."""
    return {family: sum(c.contribution for c in cs) for family, cs in members.items()}


def ranked_families(totals: Mapping[str, float], max_reasons: int) -> list[str]:
    """The families with a positive total, largest first (ties by name), at most ``max_reasons``."""
    positive = sorted((f for f in totals if totals[f] > 0), key=lambda f: (-totals[f], f))
    return positive[:max_reasons]


def rank_families(
    parts: Sequence[Contribution],
    policy: ReasonPolicy,
    reference: Reference | None = None,
    *,
    totals: Mapping[str, float] | None = None,
) -> tuple[Reason, ...]:
    """Eligible contributions summed per family (or the families' given ``totals``, the
    families without one left out); positive totals, largest first, at most max_reasons. Each reason's text names its
    members that push towards the adverse outcome, with texts chosen by the applicant's
    values (:mod:`.reason_texts`)."""
    members = eligible_by_family(parts)
    totals = (
        family_totals(members)
        if totals is None
        else {f: totals[f] for f in members if f in totals}
    )
    reasons = []
    for i, family in enumerate(ranked_families(totals, policy.max_reasons)):
        # members pushing towards the adverse outcome; a family whose members push only
        # together (its given total positive, none of theirs) names them all
        ordered = sorted(members[family], key=lambda c: (-c.contribution, c.feature))
        # a member is named when its own push clears the tolerance: one that leaves the
        # model's output unchanged is not a reason, whatever rounding says
        pushing = [c for c in ordered if c.contribution > MEMBER_TOLERANCE] or [
            c for c in ordered if abs(c.contribution) > MEMBER_TOLERANCE
        ] or ordered
        said = tuple(_part(c, policy, reference) for c in pushing)
        reasons.append(
            Reason(
                rank=i + 1,
                family=family,
                text="; ".join(p.text for p in said),
                contribution=float(totals[family]),
                features=tuple(sorted(c.feature for c in members[family])),
                parts=said,
            )
        )
    return tuple(reasons)


def _part(c: Contribution, policy: ReasonPolicy, reference: Reference | None) -> ReasonPart:
    chosen = choose_text(
        c.feature,
        c.value,
        policy.texts.get(c.feature),
        reference_mean=None if reference is None else reference.means.get(c.feature),
        reference_name="the reference population" if reference is None else reference.name,
    )
    return ReasonPart(
        feature=c.feature,
        value=c.value,
        contribution=c.contribution,
        text=chosen.text,
        basis=chosen.basis,
        reference=chosen.reference,
        band=chosen.band,
    )


__all__ = [
    "CaseReasons",
    "Contribution",
    "Reason",
    "ReasonPart",
    "ReasonFlag",
    "case_reasons",
    "contributions",
    "rank_families",
]
