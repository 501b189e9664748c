"""A regression review: the model's output is a number (a loss given default, an exposure
at default), not a class probability.

The review measures what a classification review does, less what needs a decision rule
(an adverse class and a cut-off):

* performance: R\u00b2, MAE and RMSE on the training and held-out splits;
* local explanations of a seeded sample of held-out rows (or ``--rows``), fitted with
  the identity link, so every surrogate number is in the model's own unit ("predicted
  lgd"), with the same simplest-family ladder, fidelity survey and sensitivity;
* global tree, rule-list and additive surrogates with their held-out R\u00b2 and MAE;
* findings: overfitting, global and local fidelity, prohibited bases used; calibration and
  approval-rate findings do not apply (the document says why);
* subgroups of each prohibited-basis feature: mean prediction, mean actual value and MAE;
* no reason codes: they explain a decline, and there is none (``reason_codes.csv`` is not
  written).

:func:`build_regression_report` is reached through :func:`.builder.build_report` once the
task is known; it returns the same :class:`.builder.ReportBundle`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..explain.tabular import REFERENCE
from . import analysis, findings, heldout
from .cases import (
    Review,
    case_ids,
    explain_positions,
    make_explainer,
    make_policy,
    reference_frame,
    select_cases,
    stated_against,
    survey_positions,
)
from .config import ReviewConfig
from .document import REPORT_SCHEMA_VERSION, ReportBundle, to_jsonable
from .problem import Problem, check_magnitude
from .reason_codes import prohibited_used
from .reason_policy import Reference
from .sections import (
    data_section,
    global_section,
    limitations,
    local_settings,
    model_scope,
    reproducibility_section,
    review_stamp,
    sensitivity_section,
)

#: why a regression review gives no reason codes (stated in the document and by the CLI)
NO_REASON_CODES = (
    "Reason codes state why an applicant was declined, so they need a decision rule (an "
    "adverse class and a cut-off); a regression model's output is a number with no decline "
    "rule, so no reason codes are produced and reason_codes.csv is not written."
)


def build_regression_report(
    config: ReviewConfig,
    problem: Problem,
    *,
    command_line: str | None = None,
    stage: Callable[[str], None] | None = None,
) -> ReportBundle:
    """Run a regression review (module doc) of a resolved configuration for that task;
    ``stage`` is told each stage as it ends (:class:`.builder.Stages`)."""
    stage = stage or (lambda _: None)
    explainer = make_explainer(problem, config)
    _check_one_output(explainer)
    unit = output_unit(problem)
    pred_test = explainer.blackbox.predict(problem.X_test)[:, explainer.target.index]
    pred_train = explainer.blackbox.predict(problem.X_train)[:, explainer.target.index]
    for split_name, predictions in (("held-out", pred_test), ("training", pred_train)):
        check_magnitude(predictions, f"The model's prediction on the {split_name} rows")
    unexplained = heldout.unexplained_rows(explainer.schema, problem.X_test)
    problem = replace(problem, split={**problem.split, "not_explained": unexplained.record})
    positions = select_cases(pred_test, config, unexplained)
    review = Review(
        config=config,
        problem=problem,
        explainer=explainer,
        scores_test=pred_test,
        scores_train=pred_train,
        positions=positions,
        ids=case_ids(problem),
        # the explained output stands where a classifier's adverse class does, so the
        # policy's contributions read as "raises the prediction"
        policy=make_policy(config, explainer.schema, adverse_class=explainer.target.name),
        reference=Reference.from_schema(explainer.schema),
    )
    stage("data and model loaded")  # after every refusal: a refused review says one line

    survey = survey_positions(len(problem.X_test), config, unexplained.explainable)
    explained = explain_positions(explainer, problem, sorted(set(positions) | set(survey)), config)
    rows = explainer.schema.encode(reference_frame(config, problem, pred_train))
    case_exps = [
        stated_against(explained[p], rows, explainer.schema.features, REFERENCE) for p in positions
    ]
    stage(f"{len(explained)} held-out rows explained (cases and fidelity survey)")
    global_surrogates = global_section(review, unit)
    stage("global surrogates fitted")
    sensitivity = sensitivity_section(review, case_exps)
    stage("sensitivity to settings measured")
    reproducibility = reproducibility_section(
        review, [explained[p] for p in positions], command_line
    )
    stage("rerun check done")
    report = {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "scope": scope_section(review, unit),
        "findings": {},  # filled last, from the figures below
        "data": regression_data_section(review),
        "performance": {
            "held_out": analysis.regression_performance(pred_test, _actual(problem.y_test)),
            "training": analysis.regression_performance(pred_train, _actual(problem.y_train)),
        },
        "global": global_surrogates,
        "local": local_section(review, case_exps, unit),
        "fidelity": fidelity_section(review, explained, survey),
        "sensitivity": sensitivity,
        "reason_codes": {"performed": False, "why": NO_REASON_CODES, "n_cases": 0},
        "subgroups": subgroups_section(review),
        "limitations": regression_limitations(review),
        "reproducibility": reproducibility,
    }
    items = findings.regression_findings(to_jsonable(report), config.finding_cutoffs())
    graded = [i["kind"] for i in items]
    report["findings"] = {
        "items": items,
        "cutoffs": [
            c
            for c in findings.cutoffs_text(config.finding_cutoffs(), graded)
            if c["finding"] in findings.REGRESSION_FINDINGS or c["finding"] in graded
        ],
        "not_applicable": [dict(item) for item in findings.NOT_APPLICABLE_TO_REGRESSION],
    }
    return ReportBundle(
        report=to_jsonable(report), explanations=case_exps, reasons=[], config=config
    )


def regression_limitations(review: Review) -> list[str]:
    """The review's limitations, less the one about reason codes (a regression has none)."""
    return [item for item in limitations(review) if not item.startswith("Reason codes")]


def output_unit(problem: Problem) -> str:
    """The unit of the model's output and of every surrogate number: "predicted lgd"."""
    return f"predicted {problem.y_train.name}"


def _check_one_output(explainer: Any) -> None:
    names = list(explainer.blackbox.output_names)
    if explainer.blackbox.mode != "regression" or len(names) != 1:
        raise ModelError(
            f"A regression review explains a model with one numeric output; this one is "
            f"{explainer.blackbox.mode} with outputs {names}."
        )


def _actual(y: pd.Series) -> np.ndarray:
    return y.to_numpy(dtype=float)


# ---- sections ----------------------------------------------------------------------------------------
def scope_section(review: Review, unit: str) -> dict[str, Any]:
    config, problem, positions = review.config, review.problem, review.positions


    not_performed = [{"what": "reason codes", "why": "a regression review has no decision rule"}]
    if not positions:
        why = f"no case was chosen (selection {config.select!r})"
        not_performed += [
            {"what": what, "why": why}
            for what in (
                "local explanations of chosen cases",
                "sensitivity to settings",
                "rerun check",
            )
        ]
    return {
        **model_scope(review),
        "task": "regression",
        "target": str(problem.y_train.name),
        "unit": unit,
        "decision_rule": (
            f"None: the model's output ({unit}) is a number; no applicant is declined by this "
            "review, so no adverse class, cut-off or reason codes apply."
        ),
        "data_source": problem.data_source,
        **review_stamp(),
        "not_performed": not_performed,
    }


def regression_data_section(review: Review) -> dict[str, Any]:
    """The data section, with the target summarised as a number instead of class counts."""
    problem = review.problem
    section = data_section(review)
    y = np.concatenate([_actual(problem.y_train), _actual(problem.y_test)])
    section["labels"] = []
    section["target"] = {
        "name": str(problem.y_train.name),
        "mean": float(np.mean(y)),
        "sd": float(np.std(y, ddof=1)) if len(y) > 1 else 0.0,
        "min": float(np.min(y)),
        "median": float(np.median(y)),
        "max": float(np.max(y)),
    }
    return section


def local_section(review: Review, case_exps: list[Any], unit: str) -> dict[str, Any]:
    """The chosen cases' explanations in the model's unit, each with the prohibited bases it uses."""
    config, ids, policy = review.config, review.ids, review.policy
    cases = [
        {
            **analysis.explanation_summary(e, case_id=ids[p], position=p),
            "unit": unit,
            "prohibited_used": list(prohibited_used(e, policy, review.reference)),
        }
        for e, p in zip(case_exps, review.positions, strict=True)
    ]
    used: dict[str, int] = {}
    for case in cases:
        for feature in case["prohibited_used"]:
            used[feature] = used.get(feature, 0) + 1
    return {
        "selection": config.select,
        "settings": {**local_settings(config), "min_fidelity": config.min_fidelity},
        "unit": unit,
        "prohibited": list(policy.prohibited),
        "prohibited_used": [{"feature": f, "n_cases": n} for f, n in sorted(used.items())],
        "n_cases": len(cases),
        "cases": cases,
    }


def fidelity_section(review: Review, explained: dict[int, Any], survey: list[int]) -> dict[str, Any]:
    rows = []
    for p in survey:
        row = analysis.survey_row(explained[p], case_id=review.ids[p], position=p, declined=False)
        del row["declined"]  # no decision rule: nobody is declined
        rows.append(row)
    return analysis.fidelity_distribution(rows, review.config.min_fidelity)


def subgroups_section(review: Review) -> dict[str, Any]:
    """Mean prediction, mean actual value and MAE per group of each prohibited-basis feature."""
    problem = review.problem
    return {
        "data": "the held-out split, scored once for the performance section",
        "measures": "mean prediction, mean actual value and mean absolute error per group",
        "min_group": findings.MIN_GROUP,
        "features": findings.regression_subgroups(
            problem.X_test,
            _actual(problem.y_test),
            np.asarray(review.scores_test, dtype=float),
            features=review.policy.prohibited,
            X_train=problem.X_train,
        ),
        "note": None,
    }
