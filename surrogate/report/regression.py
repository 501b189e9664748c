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

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..explain.tabular import REFERENCE
from . import analysis, findings, heldout
from .builder import (
    REPORT_SCHEMA_VERSION,
    ReportBundle,
    _case_ids,
    data_section,
    explain_positions,
    global_families,
    limitations,
    local_settings,
    make_explainer,
    make_policy,
    model_scope,
    reference_frame,
    reproducibility_section,
    review_stamp,
    select_cases,
    sensitivity_section,
    stated_against,
    survey_positions,
    to_jsonable,
)
from .config import ReviewConfig
from .problem import Problem, check_magnitude
from .reason_codes import ReasonPolicy, Reference, prohibited_used

#: why a regression review gives no reason codes (stated in the document and by the CLI)
NO_REASON_CODES = (
    "Reason codes state why an applicant was declined, so they need a decision rule (an "
    "adverse class and a cut-off); a regression model's output is a number with no decline "
    "rule, so no reason codes are produced and reason_codes.csv is not written."
)


def build_regression_report(
    config: ReviewConfig, problem: Problem, *, command_line: str | None = None
) -> ReportBundle:
    """Run a regression review (module doc) of a resolved configuration for that task."""
    explainer = make_explainer(problem, config)
    _check_one_output(explainer)
    unit = output_unit(problem)
    pred_test = explainer.blackbox.predict(problem.X_test)[:, explainer.target.index]
    pred_train = explainer.blackbox.predict(problem.X_train)[:, explainer.target.index]
    for rows, predictions in (("held-out", pred_test), ("training", pred_train)):
        check_magnitude(predictions, f"The model's prediction on the {rows} rows")
    unexplained = heldout.unexplained_rows(explainer.schema, problem.X_test)
    problem = replace(problem, split={**problem.split, "not_explained": unexplained.record})
    positions = select_cases(pred_test, config, unexplained)
    # the explained output stands where a classifier's adverse class does, so the policy's
    # contributions read as "raises the prediction"
    policy = make_policy(config, explainer.schema, adverse_class=explainer.target.name)
    reference = Reference.from_schema(explainer.schema)

    survey = survey_positions(len(problem.X_test), config, unexplained.explainable)
    explained = explain_positions(explainer, problem, sorted(set(positions) | set(survey)), config)
    rows = explainer.schema.encode(reference_frame(config, problem, pred_train))
    case_exps = [
        stated_against(explained[p], rows, explainer.schema.features, REFERENCE) for p in positions
    ]
    ids = _case_ids(problem)
    report = {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "scope": scope_section(config, problem, explainer, unit, positions),
        "findings": {},  # filled last, from the figures below
        "data": regression_data_section(problem, explainer, policy),
        "performance": {
            "held_out": analysis.regression_performance(pred_test, _actual(problem.y_test)),
            "training": analysis.regression_performance(pred_train, _actual(problem.y_train)),
        },
        "global": global_section(explainer, problem, config, unit),
        "local": local_section(case_exps, positions, ids, config, unit, policy, reference),
        "fidelity": fidelity_section(explained, survey, ids, config),
        "sensitivity": sensitivity_section(problem, case_exps, positions, ids, config),
        "reason_codes": {"performed": False, "why": NO_REASON_CODES, "n_cases": 0},
        "subgroups": subgroups_section(problem, policy, pred_test),
        "limitations": regression_limitations(config, problem),
        "reproducibility": reproducibility_section(
            problem, config, [explained[p] for p in positions], positions, command_line
        ),
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


def regression_limitations(config: ReviewConfig, problem: Problem) -> list[str]:
    """The review's limitations, less the one about reason codes (a regression has none)."""
    return [item for item in limitations(config, problem) if not item.startswith("Reason codes")]


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
def scope_section(
    config: ReviewConfig, problem: Problem, explainer: Any, unit: str, positions: list[int]
) -> dict[str, Any]:


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
        **model_scope(config, problem, explainer),
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


def regression_data_section(
    problem: Problem, explainer: Any, policy: ReasonPolicy
) -> dict[str, Any]:
    """The data section, with the target summarised as a number instead of class counts."""
    section = data_section(problem, explainer, policy)
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


def global_section(
    explainer: Any, problem: Problem, config: ReviewConfig, unit: str
) -> dict[str, Any]:
    return {
        "data": "the training split, split again into fitting and held-out parts by explain_global",
        "scale": f"{unit} (the explainer's link: {config.link})",
        **analysis.global_surrogates(
            explainer, problem.X_train, global_families(config), augment=config.global_augment
        ),
    }


def local_section(
    case_exps: list[Any],
    positions: list[int],
    ids: list[str],
    config: ReviewConfig,
    unit: str,
    policy: ReasonPolicy,
    reference: Reference,
) -> dict[str, Any]:
    """The chosen cases' explanations in the model's unit, each with the prohibited bases it uses."""
    cases = [
        {
            **analysis.explanation_summary(e, case_id=ids[p], position=p),
            "unit": unit,
            "prohibited_used": list(prohibited_used(e, policy, reference)),
        }
        for e, p in zip(case_exps, positions, strict=True)
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


def fidelity_section(
    explained: dict[int, Any], survey: list[int], ids: list[str], config: ReviewConfig
) -> dict[str, Any]:
    rows = []
    for p in survey:
        row = analysis.survey_row(explained[p], case_id=ids[p], position=p, declined=False)
        del row["declined"]  # no decision rule: nobody is declined
        rows.append(row)
    return analysis.fidelity_distribution(rows, config.min_fidelity)


def subgroups_section(
    problem: Problem, policy: ReasonPolicy, pred_test: np.ndarray
) -> dict[str, Any]:
    """Mean prediction, mean actual value and MAE per group of each prohibited-basis feature."""
    return {
        "data": "the held-out split, scored once for the performance section",
        "measures": "mean prediction, mean actual value and mean absolute error per group",
        "min_group": findings.MIN_GROUP,
        "features": findings.regression_subgroups(
            problem.X_test,
            _actual(problem.y_test),
            np.asarray(pred_test, dtype=float),
            features=policy.prohibited,
            X_train=problem.X_train,
        ),
        "note": None,
    }
