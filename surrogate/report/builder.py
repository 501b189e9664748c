"""Build a model-risk review: measure everything into one JSON-able document, then write it.

:func:`build_report` returns a :class:`ReportBundle` whose ``report`` dict is
exactly what ``report.json`` holds; :func:`surrogate.report.html.render_report_html`
renders the HTML *from that dict*, so every number a reader sees is one of the
document's. :func:`.publish.write_report` writes the output folder.

This module only orchestrates: which cases (:mod:`.cases`), the sections
(:mod:`.sections`), the reason codes (:mod:`.reasons`), the document (:mod:`.document`).

Examples
--------
>>> from surrogate.report import ReviewConfig, build_report, write_report  # doctest: +SKIP
>>> bundle = build_report(ReviewConfig(max_cases=5, n_samples=500))       # doctest: +SKIP
>>> write_report(bundle)                                                   # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from . import findings, heldout
from .cases import (
    Review,
    adverse_output,
    case_ids,
    explain_positions,
    make_explainer,
    make_policy,
    make_reference,
    model_effects,
    reference_frame,
    select_cases,
    survey_positions,
)
from .config import ReviewConfig
from .document import REPORT_SCHEMA_VERSION, ReportBundle, to_jsonable
from .model_check import model_check, reference_sample
from .problem import load_problem
from .reason_codes import (
    adverse_score,
)
from .reason_flags import flag_reasons
from .reasons import ReasonInputs, reason_seed_stability, reasons_section
from .sections import (
    data_section,
    fidelity_section,
    global_section,
    limitations,
    local_section,
    performance_section,
    reproducibility_section,
    scope_section,
    sensitivity_section,
    subgroups_section,
)


# ---- orchestration ----------------------------------------------------------------------------------
class Stages:
    """Tells ``progress`` (when given) that a stage of the review has ended, with the seconds
    it took and the seconds since the review began: a review takes minutes, and a reader
    waiting on it should see where it is."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self._progress = progress
        self._start = self._last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        if self._progress is not None:
            self._progress(
                f"{stage}: {now - self._last:.1f} s (elapsed {now - self._start:.1f} s)"
            )
        self._last = now


def build_report(
    config: ReviewConfig,
    *,
    command_line: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReportBundle:
    """Run the whole review (module doc) and return it, without writing anything.
    ``progress`` is told each stage as it ends, with its elapsed time (:class:`Stages`)."""
    stage = Stages(progress)
    config = config.resolved()
    problem = load_problem(config)
    if config.model is not None:  # the loaded model decides the task (checked against --task)
        config = config.for_task(problem.task)
    if config.task == "regression":
        from .regression import build_regression_report

        return build_regression_report(config, problem, command_line=command_line, stage=stage)
    heldout.check_labels(
        problem.y_train, problem.y_test, config.adverse, heldout.labels_source(problem.split)
    )
    explainer = make_explainer(problem, config)
    adverse = adverse_output(explainer, config)
    scores_test = explainer.blackbox.predict(problem.X_test)[:, adverse]
    scores_train = explainer.blackbox.predict(problem.X_train)[:, adverse]
    unexplained = heldout.unexplained_rows(explainer.schema, problem.X_test)
    problem = replace(problem, split={**problem.split, "not_explained": unexplained.record})
    positions = select_cases(scores_test, config, unexplained)
    policy = make_policy(config, explainer.schema)
    stage("data and model loaded")  # after every refusal: a refused review says one line
    review = Review(
        config=config,
        problem=problem,
        explainer=explainer,
        scores_test=scores_test,
        scores_train=scores_train,
        positions=positions,
        ids=case_ids(problem),
        policy=policy,
        reference=make_reference(config, explainer, problem, scores_train),
    )

    survey = survey_positions(len(problem.X_test), config, unexplained.explainable)
    explained = explain_positions(explainer, problem, sorted(set(positions) | set(survey)), config)
    stage(f"{len(explained)} held-out rows explained (cases and fidelity survey)")
    population = reference_frame(config, problem, scores_train)
    sample = reference_sample(population, config.seed)
    # declined as the reasons decide it: from each explanation's own model output
    declined = [
        p for p in positions if adverse_score(explained[p], policy.adverse_class) >= config.cutoff
    ]
    effects = model_effects(explainer, adverse, config, problem.X_test, declined, sample, policy)
    stage(f"model effects measured at {len(declined)} declined applicants")
    reasoning = ReasonInputs(
        problem=problem,
        config=config,
        policy=policy,
        reference=review.reference,
        rows=explainer.schema.encode(population),
        features=explainer.schema.features,
        ids=review.ids,
        effects=(
            {p: e.towards_adverse() for p, e in effects.items()}
            if config.ranked_by == "model"
            else None
        ),
    )
    case_exps = [reasoning.stated(explained[p]) for p in positions]
    reasons = [reasoning.reasons(exp, p) for exp, p in zip(case_exps, positions, strict=True)]
    checked, reasons = model_check(
        reasons,
        [effects.get(p) for p in positions],
        policy,
        n_reference_rows=len(sample),
        n_population=len(population),
    )
    reasons, flagged = flag_reasons(reasons, review.reference)
    stage("reason codes computed and checked against the model")
    global_surrogates = global_section(review)
    stage("global surrogates fitted")
    sensitivity = sensitivity_section(review, case_exps)
    stage("sensitivity to settings measured")
    seed_stability = reason_seed_stability(reasoning, explainer, positions, reasons)
    stage("reasons recomputed under other seeds")
    # the rerun compares explanations as fitted, before any restatement
    reproducibility = reproducibility_section(
        review, [explained[p] for p in positions], command_line
    )
    stage("rerun check done")
    report = {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "scope": scope_section(review),
        "findings": {},  # filled last, from the figures below
        "data": data_section(review),
        "performance": performance_section(review),
        "global": global_surrogates,
        "local": local_section(review, case_exps),
        "fidelity": fidelity_section(review, explained, survey),
        "sensitivity": sensitivity,
        "reason_codes": {
            **reasons_section(review, reasons),
            "seed_stability": seed_stability,
            "model_check": checked,
            "flags": flagged,
        },
        "subgroups": subgroups_section(review),
        "limitations": limitations(review),
        "reproducibility": reproducibility,
    }
    items = findings.findings(to_jsonable(report), config.finding_cutoffs())
    report["findings"] = {
        "items": items,
        "cutoffs": findings.cutoffs_text(config.finding_cutoffs(), [i["kind"] for i in items]),
    }
    return ReportBundle(
        report=to_jsonable(report), explanations=case_exps, reasons=reasons, config=config
    )
