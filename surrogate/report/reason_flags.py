"""Flags a reviewer needs on each reason: what makes a stated reason hard to defend, even
when it is true of the applicant and material in the model.

* ``safer_category`` -- a named category has a *lower* observed adverse rate in the
  reference population than the population as a whole: it is a reason only because of
  the mix of categories it is measured against (German credit's "checking account of
  200 DM or more", safer than average, is a reason when "no checking account", safer
  still, is common).
* ``surrogate_opposite_sign`` / ``surrogate_smaller`` -- the local surrogate's
  contribution for the family has the opposite sign to the model's effect, or is less than
  :data:`SMALLER_SHARE` of it: the explanation shown beside the reason does not carry it.
* ``opposite_directions`` -- the family is cited for other declined applicants in the
  opposite direction: a number above the reference mean for some and below it for others,
  or categories with an adverse rate above the population's for some and below it for
  others ("Telephone registered" and "No telephone"). The flag is on the reasons on the
  counter-intuitive side: a category safer than the population's, or a number on the side
  fewer applicants are cited for (both sides when as many are); every such family is
  listed with the values and cases on each side.

Each flag is stated on its reason and counted in the reason codes' ``flags`` record,
which the findings grade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .reason_codes import CaseReasons, Reason, ReasonFlag, ReasonPart
from .reason_policy import Reference

#: a surrogate contribution below this share of the model's effect does not carry the reason
SMALLER_SHARE = 0.5
#: every per-reason flag, in the order the report counts them
KINDS = ("safer_category", "surrogate_opposite_sign", "surrogate_smaller", "opposite_directions")


def _rate(reference: Reference, part: ReasonPart) -> float | None:
    """The observed adverse rate of the part's category in the reference population."""
    if not isinstance(part.value, str):
        return None
    return reference.adverse_rates.get(part.feature, {}).get(part.value)


def safer_category_flags(reason: Reason, reference: Reference) -> list[ReasonFlag]:
    """A flag for each named category safer than the reference population as a whole."""
    overall = reference.adverse_rate
    flags = []
    for part in reason.parts:
        rate = _rate(reference, part)
        if rate is None or overall is None or rate >= overall:
            continue
        flags.append(
            ReasonFlag(
                "safer_category",
                f"{part.feature} = {part.value}: its adverse rate in {reference.name} is "
                f"{rate:.3f}, below the {overall:.3f} of the whole population; it is a reason "
                "only against the mix of other categories",
            )
        )
    return flags


def surrogate_flags(reason: Reason) -> list[ReasonFlag]:
    """A flag when the surrogate's contribution opposes the model's effect, or is much smaller."""
    effect, surrogate = reason.model_effect, reason.surrogate_contribution
    if effect is None or surrogate is None or effect <= 0:
        return []
    if surrogate < 0:
        return [
            ReasonFlag(
                "surrogate_opposite_sign",
                f"the local surrogate's contribution ({surrogate:+.3f}) has the opposite sign "
                f"to the model's effect ({effect:+.3f})",
            )
        ]
    if surrogate < SMALLER_SHARE * effect:
        return [
            ReasonFlag(
                "surrogate_smaller",
                f"the local surrogate's contribution ({surrogate:+.3f}) is less than "
                f"{SMALLER_SHARE:g} of the model's effect ({effect:+.3f})",
            )
        ]
    return []


def direction(part: ReasonPart, reference: Reference) -> str | None:
    """Which way a named part points: "riskier" or "safer" for a category (its adverse rate
    against the population's), "above" or "below" the reference mean for a number."""
    if isinstance(part.value, str):
        rate, overall = _rate(reference, part), reference.adverse_rate
        if rate is None or overall is None or rate == overall:
            return None
        return "riskier" if rate > overall else "safer"
    mean = reference.means.get(part.feature)
    if not isinstance(part.value, int | float) or mean is None or part.value == mean:
        return None
    return "above" if part.value > mean else "below"


#: the two directions that oppose each other
_OPPOSITE = {"riskier": "safer", "above": "below"}


def opposite_directions(
    cases: Sequence[CaseReasons], reference: Reference
) -> list[dict[str, Any]]:
    """The families cited in opposite directions for different applicants: per feature,
    the values cited each way and the cases citing them."""
    cited: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = {}
    for case in cases:
        for reason in case.reasons:
            for part in reason.parts:
                way = direction(part, reference)
                if way is None:
                    continue
                values = cited.setdefault((reason.family, part.feature), {}).setdefault(way, {})
                values.setdefault(str(part.value), []).append(case.case_id)
    out = []
    for (family, feature), ways in sorted(cited.items()):
        for one, other in _OPPOSITE.items():
            if one in ways and other in ways:
                out.append(
                    {
                        "family": family,
                        "feature": feature,
                        "directions": [
                            {"direction": way, "value": value, "cases": ids}
                            for way in (one, other)
                            for value, ids in sorted(ways[way].items())
                        ],
                    }
                )
    return out


def counter_directions(record: dict[str, Any]) -> set[str]:
    """The side of an opposed feature that its reasons are flagged on: "safer" for
    categories; for numbers the side fewer cases are cited for, or both when as many are."""
    cases: dict[str, int] = {}
    for d in record["directions"]:
        cases[d["direction"]] = cases.get(d["direction"], 0) + len(d["cases"])
    if "safer" in cases:
        return {"safer"}
    fewest = min(cases.values())
    return {way for way, n in cases.items() if n == fewest}


def _opposite_flag(
    reason: Reason, case_id: str, opposed: list[dict[str, Any]], reference: Reference
) -> list[ReasonFlag]:
    flags = []
    ways = {p.feature: direction(p, reference) for p in reason.parts}
    for record in opposed:
        if record["family"] != reason.family:
            continue
        if ways.get(record["feature"]) not in counter_directions(record):
            continue
        others = [
            f"{d['value']} ({', '.join(c for c in d['cases'] if c != case_id) or 'this case'})"
            for d in record["directions"]
        ]
        flags.append(
            ReasonFlag(
                "opposite_directions",
                f"{reason.family} is cited in opposite directions for different applicants: "
                f"{record['feature']} " + " and ".join(others),
            )
        )
    return flags


def flag_reasons(
    cases: Sequence[CaseReasons], reference: Reference
) -> tuple[list[CaseReasons], dict[str, Any]]:
    """The cases with each reason's flags, and the flags counted (module doc)."""
    opposed = opposite_directions(cases, reference)
    flagged = []
    for case in cases:
        reasons = tuple(
            replace(
                r,
                flags=(
                    *safer_category_flags(r, reference),
                    *surrogate_flags(r),
                    *_opposite_flag(r, case.case_id, opposed, reference),
                ),
            )
            for r in case.reasons
        )
        flagged.append(replace(case, reasons=reasons))
    stated = [r for case in flagged for r in case.reasons]
    counts = {kind: sum(any(f.kind == kind for f in r.flags) for r in stated) for kind in KINDS}
    cited = {r.family for r in stated}
    record = {
        "n_reasons": len(stated),
        "n_flagged": sum(bool(r.flags) for r in stated),
        "counts": counts,
        "smaller_share": SMALLER_SHARE,
        "reference_adverse_rate": reference.adverse_rate,
        "n_families_cited": len(cited),
        "n_families_opposite": len({o["family"] for o in opposed}),
        "opposite_directions": opposed,
    }
    return flagged, record

