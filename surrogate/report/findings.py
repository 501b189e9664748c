"""Findings: what a validator should look at first, each with a severity and the figure behind it.

Every finding is read from figures the review has already measured (nothing here
calls the model): the gap between training and held-out performance, the global
surrogates' held-out fidelity, the share of local explanations below the minimum
fidelity, the cases whose local explanations give weight to a prohibited basis,
the held-out calibration error, the gaps between groups of each
prohibited-basis feature (:func:`subgroups`, from the held-out predictions), and,
where there are any or the held-out data was given, the held-out rows no local
explanation can describe (categories or missing values the training data never has);
and, where they were measured, the declined cases whose principal reason changes with
the explainer's seed and those whose local surrogate puts first a family that the
model itself clearly does not (:mod:`.model_check`).

Severity follows cut-offs -- :data:`ALL_CUTOFFS` unless the review file's
``[findings]`` section sets others -- stated in the report next to the findings:
``high`` -- act before relying on the model or its explanations; ``medium`` -- look
into it; ``low`` -- within the usual range. A check that could not be performed is not
graded by a figure: it reads "not checked" with the severity ``needs attention``
(prohibited bases when none are declared).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..schema import DATETIME_ORIGIN, column_days

#: fewest held-out rows a group needs before its rates are compared with others'
MIN_GROUP = 20
#: severity cut-offs per finding: (high at or beyond, medium at or beyond, direction)
CUTOFFS: dict[str, tuple[float, float, str]] = {
    "overfitting": (0.10, 0.05, "above"),
    "global_fidelity": (0.5, 0.8, "below"),
    "local_fidelity": (0.5, 0.2, "above"),
    "prohibited_bases": (0.10, 0.0, "above"),
    "calibration": (0.10, 0.05, "above"),
    "subgroup_gap": (0.8, 0.9, "below"),
}
#: cut-offs of findings graded only when they arise: held-out rows no explanation describes
WHEN_PRESENT: dict[str, tuple[float, float, str]] = {
    "unexplained_rows": (0.05, 0.0, "above"),
    "reason_seeds": (0.2, 0.05, "above"),
    "reason_model_check": (0.2, 0.05, "above"),
    "training_overlap": (0.10, 0.01, "above"),
    "reason_safer_category": (0.10, 0.0, "above"),
    "reason_surrogate_disagrees": (0.10, 0.0, "above"),
    "reason_opposite_directions": (0.25, 0.0, "above"),
    "reason_non_actionable": (0.05, 0.0, "above"),
}
#: the default cut-offs of every finding (a review file's [findings] section overrides them)
ALL_CUTOFFS = {**CUTOFFS, **WHEN_PRESENT}
#: the review's minimum local fidelity for automatic reasons unless its file lowers it
REVIEW_MIN_FIDELITY = 0.7
#: cut-offs a review file cannot change, for they grade the review file's own settings:
#: a minimum fidelity lowered below the default is medium, below 0.5 high
FIXED_CUTOFFS: dict[str, tuple[float, float, str]] = {
    "min_fidelity_lowered": (0.5, REVIEW_MIN_FIDELITY, "below"),
}
#: the severity of a check that could not be performed: never "low", for nothing was found
#: because nothing was looked for
NOT_CHECKED = "needs attention"
SEVERITY_ORDER = {"high": 0, NOT_CHECKED: 1, "medium": 2, "low": 3}

Cutoffs = dict[str, tuple[float, float, str]]


def severity(kind: str, value: float, cutoffs: Cutoffs | None = None) -> str:
    """``high``, ``medium`` or ``low`` for a figure, by ``cutoffs`` (default :data:`ALL_CUTOFFS`;
    :data:`FIXED_CUTOFFS` always)."""
    high, medium, direction = {**(cutoffs or ALL_CUTOFFS), **FIXED_CUTOFFS}[kind]
    if direction == "above":
        return "high" if value >= high else "medium" if value > medium else "low"
    return "high" if value < high else "medium" if value < medium else "low"


def cutoffs_text(
    cutoffs: Cutoffs | None = None, graded: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The cut-offs the report used, as it states them: those of :data:`CUTOFFS` always,
    those of :data:`WHEN_PRESENT` when a finding of theirs was ``graded``."""
    cutoffs = cutoffs or ALL_CUTOFFS
    words = {
        "overfitting": "training minus held-out AUC (R\u00b2 for regression)",
        "global_fidelity": "best held-out R\u00b2 of the global surrogates",
        "local_fidelity": "share of surveyed local explanations below the minimum fidelity",
        "prohibited_bases": "share of explained cases whose local explanation uses a prohibited basis",
        "calibration": "expected calibration error on held-out data",
        "subgroup_gap": "lowest approval-rate ratio between groups of a prohibited-basis feature",
        "unexplained_rows": "share of held-out rows no local explanation can describe",
        "reason_seeds": "share of declined cases whose principal reason changes with the "
        "explainer's seed",
        "reason_model_check": "share of cases with reasons whose local surrogate's principal "
        "reason is clearly not the family with the largest effect in the model itself",
        "training_overlap": "share of held-out rows whose feature values are those of a "
        "training row",
        "reason_safer_category": "share of stated reasons naming a category whose adverse rate "
        "is below the reference population's",
        "reason_surrogate_disagrees": "share of stated reasons whose local surrogate "
        "contribution has the opposite sign to the model's effect, or is less than half of it",
        "reason_opposite_directions": "share of the families stated as reasons that are cited "
        "in opposite directions for different applicants",
        "reason_non_actionable": "share of declined cases where a non-actionable feature (a "
        "date, vintage or identifier) has a material effect larger than the principal reason's",
        "min_fidelity_lowered": "the minimum local R\u00b2 for automatic reasons, when set "
        f"below the default {REVIEW_MIN_FIDELITY:g} (cut-offs fixed: a review file cannot "
        "change them)",
    }
    return [
        {"finding": kind, "figure": words[kind], "high": high, "medium": medium, "direction": d}
        for kind, (high, medium, d) in {**cutoffs, **FIXED_CUTOFFS}.items()
        if kind in CUTOFFS or kind in graded
    ]


# ---- subgroups ------------------------------------------------------------------------------------
def subgroups(
    X_test: pd.DataFrame,
    is_adverse: np.ndarray,
    scores: np.ndarray,
    *,
    features: Sequence[str],
    threshold: float,
    X_train: pd.DataFrame,
) -> list[dict[str, Any]]:
    """Decline rate, adverse rate and AUC per group of each feature, on held-out rows.

    A category is a group (missing values one of their own); a number is cut at its
    training quartiles. Groups under :data:`MIN_GROUP` rows are listed but left out
    of the gaps; AUC needs both outcomes in the group.
    """
    tables = []
    for name in features:
        if name not in X_test.columns:
            continue
        labels, order = _groups(X_test[name], X_train[name])
        rows = [
            _group_row(g, labels == g, is_adverse[labels == g], scores[labels == g], threshold)
            for g in order
        ]
        compared = [r for r in rows if r["n"] >= MIN_GROUP]
        approval = [1.0 - r["decline_rate"] for r in compared]
        aucs = [r["auc"] for r in compared if r["auc"] is not None]
        tables.append(
            {
                "feature": name,
                "groups": rows,
                "n_compared": len(compared),
                "decline_rate_gap": _spread([r["decline_rate"] for r in compared]),
                "approval_ratio": (
                    min(approval) / max(approval)
                    if len(approval) >= 2 and max(approval) > 0
                    else None
                ),
                "auc_gap": _spread(aucs),
            }
        )
    return tables


def _groups(column: pd.Series, train: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's group, and the groups in reading order (bands ascending, missing last)."""
    missing = column.isna().to_numpy()
    dates = pd.api.types.is_datetime64_any_dtype(column)
    if dates or (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        values, train_values = (
            column_days(c) if dates else c.to_numpy(dtype=float) for c in (column, train)
        )
        edges = np.nanquantile(train_values, [0.25, 0.5, 0.75])
        if dates and np.all(np.mod(train_values[~np.isnan(train_values)], 1) == 0):
            edges = np.floor(edges)  # whole days: "<= 91.25" holds the same days as "<= 91"
        edges = np.unique(edges)
        shown = [_iso_day(e) if dates else f"{e:g}" for e in edges]
        names = _band_names(shown, str(column.name))
        index = np.searchsorted(edges, values, side="left")
        labels = np.array([names[min(k, len(names) - 1)] for k in index], dtype=object)
        order = [n for n in names if (labels[~missing] == n).any()]
    else:
        labels = np.array([str(v) for v in column], dtype=object)
        order = sorted(set(labels[~missing].tolist()))
    labels[missing] = "missing"
    return labels, order + (["missing"] if missing.any() else [])


def _iso_day(days: float) -> str:
    stamp = pd.Timestamp(DATETIME_ORIGIN) + pd.Timedelta(days=float(days))
    return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()


def _band_names(shown: Sequence[str], name: str) -> list[str]:
    """``age <= 27``, ``27 < age <= 33``, ..., ``age > 42`` from the edges as shown: value
    ``v`` is in band ``searchsorted(edges, v, side="left")``."""
    return (
        [f"{name} <= {shown[0]}"]
        + [f"{lo} < {name} <= {hi}" for lo, hi in zip(shown[:-1], shown[1:], strict=True)]
        + [f"{name} > {shown[-1]}"]
    )


def _group_row(
    label: str, mask: np.ndarray, adverse: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    n = int(mask.sum())
    both = 0 < adverse.sum() < len(adverse)
    declined = int(np.sum(scores >= threshold))
    return {
        "group": label,
        "n": n,
        "share": float(n / len(mask)) if len(mask) else 0.0,
        "decline_rate": declined / n if n else 0.0,
        "decline_rate_interval": wilson_interval(declined, n),
        "adverse_rate": float(np.mean(adverse)) if n else 0.0,
        "mean_score": float(np.mean(scores)) if n else 0.0,
        "auc": float(roc_auc_score(adverse, scores)) if both else None,
    }


#: normal quantile of the two-sided 95% intervals on group rates
_Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = _Z95) -> list[float] | None:
    """Wilson score interval of a proportion (95% by default); None for an empty group.

    Unlike the normal approximation it stays inside [0, 1] and is honest for the small
    groups subgroup tables are full of (Wilson, JASA 1927; Brown, Cai & DasGupta 2001).

    >>> [round(v, 4) for v in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else float(max(0.0, centre - half))
    high = 1.0 if successes == n else float(min(1.0, centre + half))
    return [low, high]


def _spread(values: Sequence[float]) -> float | None:
    """Largest minus smallest; None unless there are two values to compare."""
    return float(max(values) - min(values)) if len(values) >= 2 else None


# ---- findings -----------------------------------------------------------------------------------------
def expected_calibration_error(bins: Sequence[dict[str, Any]]) -> float | None:
    """Row-weighted mean |observed - mean predicted| over the calibration bins."""
    n = sum(b["count"] for b in bins)
    if not n:
        return None
    return float(sum(b["count"] * abs(b["observed"] - b["mean_predicted"]) for b in bins) / n)


def findings(report: dict[str, Any], cutoffs: Cutoffs | None = None) -> list[dict[str, Any]]:
    """Every finding of a report document, most severe first, graded by ``cutoffs``
    (default :data:`ALL_CUTOFFS`; module doc)."""
    found = [
        f
        for f in (
            _overfitting(report),
            _global_fidelity(report),
            _local_fidelity(report),
            _prohibited(report),
            _calibration(report),
            *_subgroup_findings(report),
            _unexplained(report),
            _training_overlap(report),
            _min_fidelity_lowered(report),
            _reason_seeds(report),
            _reason_model_check(report),
            *_reason_flags(report),
            _reason_non_actionable(report),
        )
        if f is not None
    ]
    return _graded(found, cutoffs)


def _graded(found: Sequence[dict[str, Any]], cutoffs: Cutoffs | None) -> list[dict[str, Any]]:
    """Each finding with its severity (a check not performed keeps its own), most severe first."""
    graded = [
        {**f, "severity": f["severity"] or severity(f["kind"], f["value"], cutoffs)} for f in found
    ]
    return sorted(graded, key=lambda f: SEVERITY_ORDER[f["severity"]])


def _finding(kind: str, title: str, value: float, label: str, text: str, section: str):
    return {
        "kind": kind,
        "title": title,
        "severity": "",  # graded in findings(), by the review's cut-offs
        "value": float(value),
        "label": label,
        "text": text,
        "section": section,
    }


def _not_checked(kind: str, title: str, label: str, text: str, section: str):
    """A finding whose check could not be performed: no figure, and never graded "low"."""
    return {
        "kind": kind,
        "title": title,
        "severity": NOT_CHECKED,
        "value": None,
        "label": label,
        "text": text,
        "section": section,
    }


def _reason_seeds(report):
    stability = report.get("reason_codes", {}).get("seed_stability")
    if not stability or not stability["performed"] or not stability["n_cases"]:
        return None
    n, k = stability["n_cases"], stability["n_seeds"]
    why = (
        "Ranked by the model's own effects, a case's reasons change with the seed only when "
        "its status does: its local fidelity falls on the other side of the minimum."
        if report["reason_codes"].get("ranked_by") == "model"
        else "Reasons that change with the seed rest on contributions closer together than the "
        "sampling noise."
    )
    return _finding(
        "reason_seeds",
        "Reason codes across explainer seeds",
        1.0 - stability["share_first_same"],
        "share of declined cases whose principal reason changes with the seed",
        f"Under {k} other explainer seeds, the principal reason stays the same for "
        f"{stability['share_first_same']:.0%} of {n} declined cases, and every reason, in order, "
        f"for {stability['share_identical']:.0%}. " + why,
        "reasons",
    )


def _reason_model_check(report):
    rc = report.get("reason_codes", {})
    check = rc.get("model_check")
    if not check or not check["performed"]:
        return None
    n, ties = check["n_cases"], check["n_near_ties"]
    differ = sum(not c["agrees"] for c in check["cases"])
    silent = sum(c["principal"] is None for c in check["cases"])
    by_model = rc.get("ranked_by") == "model"
    whose = "the local surrogate's principal reason" if by_model else "the principal reason"
    text = (
        f"For {check['share_agrees']:.0%} of {n} cases with reasons, {whose} is the family with "
        "the largest effect in the model itself, measured without any surrogate."
    )
    if by_model:
        text += " The reasons themselves are ranked by those effects."
    if differ:
        clear = differ - ties - silent
        kinds = (
            (
                ties,
                f"{ties} {'is a near tie' if ties == 1 else 'are near ties'} in the model "
                "(the two effects within two standard errors)",
            ),
            (silent, f"in {silent} the surrogate puts no family towards the adverse outcome"),
            (clear, f"{clear} {'puts' if clear == 1 else 'put'} first a family the model does not"),
        )
        said = "; ".join(words for count, words in kinds if count)
        text += f" Of the {differ} where it is not, {said}."
    title = "principal reasons against the model itself"
    return _finding(
        "reason_model_check",
        f"Local explanations' {title}" if by_model else title.capitalize(),
        (differ - ties) / n,
        f"share of cases with reasons where {whose} is clearly not the model's largest "
        "family effect",
        text,
        "reasons",
    )


def _reason_flags(report):
    """The reasons' flags (:mod:`.reason_flags`), one finding per kind of flag."""
    record = report.get("reason_codes", {}).get("flags")
    if not record or not record["n_reasons"]:
        return []
    n, counts = record["n_reasons"], record["counts"]
    safer = counts["safer_category"]
    disagree = counts["surrogate_opposite_sign"] + counts["surrogate_smaller"]
    opposed, cited = record["n_families_opposite"], record["n_families_cited"]
    named = sorted({o["family"] for o in record["opposite_directions"]})
    return [
        _finding(
            "reason_safer_category",
            "Reasons naming a category safer than average",
            safer / n,
            f"share of the {n} stated reasons",
            f"{safer} of {n} reasons name a category whose observed adverse rate is below the "
            "reference population's: it is a reason only against the mix of other categories, "
            "which an adverse-action notice may not be able to defend.",
            "reasons",
        ),
        _finding(
            "reason_surrogate_disagrees",
            "Reasons the local explanation does not carry",
            disagree / n,
            f"share of the {n} stated reasons",
            f"For {counts['surrogate_opposite_sign']} of {n} reasons the local surrogate's "
            f"contribution has the opposite sign to the model's effect, and for "
            f"{counts['surrogate_smaller']} it is less than {record['smaller_share']:g} of it: "
            "the explanation shown beside these reasons does not support them.",
            "reasons",
        ),
        _finding(
            "reason_opposite_directions",
            "Families cited in opposite directions",
            opposed / cited,
            f"share of the {cited} families stated as reasons",
            (
                f"Cited in opposite directions for different applicants: {', '.join(named)}."
                if named
                else "No family is cited in opposite directions for different applicants."
            ),
            "reasons",
        ),
    ]


def _reason_non_actionable(report):
    record = report.get("reason_codes", {}).get("non_actionable")
    if not record or not record["features"] or not record["n_declined"]:
        return None
    n, outranking = record["n_declined"], record["n_cases_outranking"]
    return _finding(
        "reason_non_actionable",
        "Non-actionable features driving declines",
        outranking / n,
        f"share of the {n} declined cases",
        f"Never given as reasons, but measured: {', '.join(record['features'])}. In "
        f"{outranking} of {n} declined cases one has a material effect larger than the "
        "principal reason's: the decline rests on something the applicant cannot change.",
        "reasons",
    )


def _overfitting(report):
    perf = report["performance"]
    measure = "auc" if perf["held_out"]["task"] == "classification" else "r2"
    train, held = perf["training"].get(measure), perf["held_out"].get(measure)
    if train is None or held is None:
        return None
    name = "AUC" if measure == "auc" else "R\u00b2"
    return _finding(
        "overfitting",
        "Training versus held-out performance",
        train - held,
        f"training minus held-out {name}",
        f"{name} is {train:.3f} on the training split and {held:.3f} on held-out rows.",
        "performance",
    )


def _global_fidelity(report):
    fitted = {
        family: g["fidelity"]["r2"]
        for family, g in report["global"].items()
        if isinstance(g, dict) and g.get("available") and g["fidelity"]["r2"] is not None
    }
    if not fitted:
        return None
    best = max(fitted, key=lambda f: fitted[f])
    return _finding(
        "global_fidelity",
        "Global surrogate fidelity",
        fitted[best],
        f"best held-out R\u00b2 (global {best})",
        "The most faithful global surrogate explains this share of the model's held-out "
        "variation; below it, global rules describe the model only roughly.",
        "global",
    )


def _local_fidelity(report):
    share = report["fidelity"]["share_below_min"]
    if share is None:
        return None
    return _finding(
        "local_fidelity",
        "Local explanations below the minimum fidelity",
        share,
        f"share of {report['fidelity']['n']} surveyed rows with held-out R\u00b2 below "
        f"{report['fidelity']['min_fidelity']:g}",
        "These applicants would get no automatic reasons, only a manual review.",
        "fidelity",
    )


#: what a review without declared prohibited bases says of them
PROHIBITED_NOT_CHECKED = (
    "Not checked: none declared. No prohibited basis is listed (--prohibited col,col, or the "
    "review file's [reasons] prohibited), so the review cannot say whether the model uses one, "
    "nor keep one out of the reasons, nor compare groups."
)


def _prohibited_not_checked(section: str):
    return _not_checked(
        "prohibited_bases",
        "Prohibited bases used by the model",
        "prohibited bases declared: none",
        PROHIBITED_NOT_CHECKED,
        section,
    )


def _prohibited(report):
    rc = report["reason_codes"]
    if not rc["n_cases"]:
        return None
    if not rc["policy"]["prohibited"]:
        return _prohibited_not_checked("reasons")
    n_using = sum(1 for c in rc["cases"] if c["prohibited_used"])
    used = ", ".join(f"{p['feature']} ({p['n_cases']})" for p in rc["prohibited_used"])
    return _finding(
        "prohibited_bases",
        "Prohibited bases used by the model",
        n_using / rc["n_cases"],
        f"share of the {rc['n_cases']} explained cases",
        (
            f"Local explanations give weight to {used}: the model uses them, although they are "
            "never stated as reasons."
            if used
            else "No local explanation gives weight to a prohibited basis."
        ),
        "reasons",
    )


def _calibration(report):
    held = report["performance"]["held_out"]
    if held["task"] != "classification":
        return None
    ece = expected_calibration_error(held.get("calibration") or [])
    if ece is None:
        return None
    return _finding(
        "calibration",
        "Calibration error",
        ece,
        "expected calibration error (held-out, 10 bins)",
        "Row-weighted mean distance between predicted probability and observed rate of the "
        "adverse class; decisions at a probability cut-off assume it is small.",
        "performance",
    )


def _subgroup_findings(report):
    out = []
    for i, table in enumerate(report.get("subgroups", {}).get("features", [])):
        ratio = table["approval_ratio"]
        if ratio is None:
            continue
        auc = "" if table["auc_gap"] is None else f"; AUC differs by up to {table['auc_gap']:.3f}"
        out.append(
            {
                **_finding(
                    "subgroup_gap",
                    f"Groups of {table['feature']}",
                    ratio,
                    "lowest approval-rate ratio between groups (four-fifths rule: 0.8)",
                    f"Decline rates differ by up to {table['decline_rate_gap']:.3f} between the "
                    f"{table['n_compared']} groups with at least {MIN_GROUP} held-out rows{auc}.",
                    "subgroups",
                ),
                "table": i,
            }
        )
    return out


def _unexplained(report):
    record = _held_out_record(report, "not_explained")
    if record is None:
        return None
    text = (
        f"The model scores these rows and they count in the performance and subgroup figures, "
        f"but no case, fidelity survey or reason code is drawn from them: "
        f"{describe_unexplained(record)}."
        if record["n"]
        else "Every held-out row has only categories the training data has, and is missing only "
        "where training values are: each could be explained."
    )
    title = "Held-out rows the training data cannot describe"
    return _held_out_share(report, "unexplained_rows", title, record, text)


def _training_overlap(report):
    record = _held_out_record(report, "training_overlap")
    if record is None:
        return None
    text = (
        f"{record['n']} of the {report['data']['split']['n_test']} held-out rows have every "
        "feature value of a training row: for a model trained on the training data they are "
        "not held out, so the held-out figures are optimistic by as much as these rows weigh."
        if record["n"]
        else "No held-out row has every feature value of a training row."
    )
    title = "Held-out rows that are also training rows"
    return _held_out_share(report, "training_overlap", title, record, text)


def _held_out_record(report, key: str):
    """The split's record ``key`` of some held-out rows; None when absent, or when it found
    none in a random split (rows the reviewer gave are graded even when all is well)."""
    split = report["data"]["split"]
    record = split.get(key)
    if record is None or (record["n"] == 0 and split.get("kind", "random") == "random"):
        return None
    return record


def _held_out_share(report, kind: str, title: str, record, text: str):
    n_test = report["data"]["split"]["n_test"]
    measure = f"share of the {n_test} held-out rows ({record['n']} rows)"
    return _finding(kind, title, record["share"], measure, text, "data")


def _min_fidelity_lowered(report):
    minimum = report["fidelity"].get("min_fidelity")
    if minimum is None or minimum >= REVIEW_MIN_FIDELITY:
        return None
    return _finding(
        "min_fidelity_lowered",
        "Minimum fidelity for automatic reasons lowered",
        minimum,
        f"the review's minimum local R\u00b2 (default {REVIEW_MIN_FIDELITY:g})",
        f"The review gives automatic reasons to cases whose local surrogate reaches a held-out "
        f"R\u00b2 of {minimum:g}, below the default {REVIEW_MIN_FIDELITY:g}: the safeguard that "
        "sends cases the surrogate follows poorly to manual review was lowered, so reasons may "
        "rest on explanations that follow the model only roughly.",
        "fidelity",
    )


# ---- regression reviews ------------------------------------------------------------------------------
#: the findings of a regression review: there is no decision rule, so no calibration of a
#: probability and no decline rates between groups
REGRESSION_FINDINGS = ("overfitting", "global_fidelity", "local_fidelity", "prohibited_bases")
#: why the other findings are left out of a regression review
NOT_APPLICABLE_TO_REGRESSION = (
    {
        "finding": "calibration",
        "title": "Calibration error",
        "why": "Calibration compares predicted probabilities of a class with observed rates; "
        "a regression's output is a number, whose errors the performance section measures "
        "(MAE, RMSE).",
    },
    {
        "finding": "subgroup_gap",
        "title": "Approval-rate gaps between groups",
        "why": "Approval-rate ratios need a decline rule (an adverse class and a cut-off), "
        "which a regression review does not have; the subgroups section compares mean "
        "prediction, mean actual value and MAE per group instead.",
    },
)


def regression_subgroups(
    X_test: pd.DataFrame,
    y: np.ndarray,
    predictions: np.ndarray,
    *,
    features: Sequence[str],
    X_train: pd.DataFrame,
) -> list[dict[str, Any]]:
    """Mean prediction, mean actual value and MAE per group of each feature, on held-out rows
    (groups as in :func:`subgroups`; gaps over groups of at least :data:`MIN_GROUP` rows)."""
    tables = []
    for name in features:
        if name not in X_test.columns:
            continue
        labels, order = _groups(X_test[name], X_train[name])
        rows = [_regression_group_row(g, labels == g, y, predictions) for g in order]
        compared = [r for r in rows if r["n"] >= MIN_GROUP]
        tables.append(
            {
                "feature": name,
                "groups": rows,
                "n_compared": len(compared),
                "mean_prediction_gap": _spread([r["mean_prediction"] for r in compared]),
                "mean_actual_gap": _spread([r["mean_actual"] for r in compared]),
                "mae_gap": _spread([r["mae"] for r in compared]),
            }
        )
    return tables


def _regression_group_row(
    label: str, mask: np.ndarray, y: np.ndarray, predictions: np.ndarray
) -> dict[str, Any]:
    n = int(mask.sum())  # at least one: only groups holding rows are listed
    return {
        "group": label,
        "n": n,
        "share": float(n / len(mask)),
        "mean_prediction": float(np.mean(predictions[mask])),
        "mean_actual": float(np.mean(y[mask])),
        "mae": float(np.mean(np.abs(y[mask] - predictions[mask]))),
    }


def regression_findings(
    report: dict[str, Any], cutoffs: Cutoffs | None = None
) -> list[dict[str, Any]]:
    """The findings of a regression review (:data:`REGRESSION_FINDINGS`, and held-out rows
    the training data cannot describe), most severe first, graded as :func:`findings` does."""
    local = _local_fidelity(report)
    if local is not None:
        local["text"] = (
            "For these rows the local surrogate follows the model's output only roughly; read "
            "their explanations with care."
        )
    found = [
        f
        for f in (
            _overfitting(report),
            _global_fidelity(report),
            local,
            _regression_prohibited(report),
            _unexplained(report),
            _training_overlap(report),
            _min_fidelity_lowered(report),
        )
        if f is not None
    ]
    return _graded(found, cutoffs)


def _regression_prohibited(report):
    local = report["local"]
    if not local["cases"]:
        return None
    if not local["prohibited"]:
        return _prohibited_not_checked("local")
    used = ", ".join(f"{p['feature']} ({p['n_cases']})" for p in local["prohibited_used"])
    n_using = sum(1 for c in local["cases"] if c["prohibited_used"])
    return _finding(
        "prohibited_bases",
        "Prohibited bases used by the model",
        n_using / len(local["cases"]),
        f"share of the {len(local['cases'])} explained cases",
        (
            f"Local explanations give weight to {used}: the model's output moves with them."
            if used
            else "No local explanation gives weight to a prohibited basis."
        ),
        "local",
    )



def describe_unexplained(record: dict[str, Any], *, limit: int = 5) -> str:
    """The unexplained rows' columns and values in one phrase: "region = 'west' (12 rows)"."""
    parts = [
        (f"{e['column']} = {e['value']!r}" if e["value"] is not None else f"{e['column']} missing")
        + f" ({e['n_rows']} row{'' if e['n_rows'] == 1 else 's'})"
        for e in record["values"][:limit]
    ]
    more = len(record["values"]) - limit + record["n_values_not_listed"]
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


__all__ = [
    "ALL_CUTOFFS",
    "CUTOFFS",
    "NOT_CHECKED",
    "FIXED_CUTOFFS",
    "REVIEW_MIN_FIDELITY",
    "WHEN_PRESENT",
    "MIN_GROUP",
    "cutoffs_text",
    "expected_calibration_error",
    "findings",
    "regression_findings",
    "regression_subgroups",
    "severity",
    "subgroups",
]
