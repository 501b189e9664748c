"""Build a model-risk review: measure everything into one JSON-able document, then write it.

:func:`build_report` returns a :class:`ReportBundle` whose ``report`` dict is
exactly what ``report.json`` holds; :func:`surrogate.report.html.render_report_html`
renders the HTML *from that dict*, so every number a reader sees is one of the
document's. :func:`write_report` writes the output folder:

* ``report.html`` -- self-contained (no script, no external request);
* ``report.json`` -- every number;
* ``explanations.jsonl`` -- the local explanations of the chosen cases, lossless;
* ``reason_codes.csv`` -- reasons per declined case, neutralised against formula injection
  (not written for a regression review, which has no decision rule: :mod:`.regression`);
* ``review.toml`` -- the effective configuration, to rerun the review exactly;
* ``report.pdf`` -- when asked for and Chromium is installed.

Examples
--------
>>> from surrogate.report import ReviewConfig, build_report, write_report  # doctest: +SKIP
>>> bundle = build_report(ReviewConfig(max_cases=5, n_samples=500))       # doctest: +SKIP
>>> write_report(bundle)                                                   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import _version
from ..errors import ParameterError
from ..explain import TabularExplainer
from ..explain.tabular import REFERENCE
from ..explanation import Explanation
from ..schema import format_value
from ..surrogates.base import AdditiveContent
from ..surrogates.contributions import with_reference
from . import analysis, findings, heldout
from .config import ReviewConfig
from .model_check import CaseEffects, case_effects, model_check, reason_families, reference_sample
from .problem import Problem, load_problem
from .reason_codes import (
    CaseReasons,
    ModelEffects,
    ReasonPolicy,
    Reference,
    adverse_score,
    case_reasons,
    default_policy,
    load_families,
    load_texts,
    reason_codes_csv,
)

#: 1.2 adds the reasons' check against the model (reason_codes.model_check, each reason's
#: model_effect) and its finding; 1.3 ranks reasons by the model's effects by default
#: (reason_codes.ranked_by) and gives each reason's surrogate_contribution
REPORT_SCHEMA_VERSION = "1.3"
#: what ``write_report`` writes (the PDF only when asked for)
ARTEFACTS = (
    "report.html",
    "report.json",
    "explanations.jsonl",
    "reason_codes.csv",
    "review.toml",
    "report.pdf",
)
#: seed-sequence purposes derived from the review seed, besides split/model/explainer
_SAMPLE_PURPOSE, _SURVEY_PURPOSE, _REASON_SEEDS_PURPOSE = 1, 2, 3
_VERSIONED = (
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "jinja2",
    "matplotlib",
    "graphviz",
    "skops",
)

LIMITATIONS = (
    "Surrogates approximate the model: a local or global surrogate is a simpler model fitted to the "
    "black box's outputs, and its fidelity figures say how closely it follows them. Where fidelity is "
    "low, the surrogate's terms or rules may not be what drives the model.",
    "Association, not cause: the weights and rules describe how the model's output moves with its "
    "inputs; they do not say that changing an applicant's circumstances would change the real-world "
    "outcome, nor why the data look the way they do.",
    "Unreliable outside the data's range: sampled neighbourhoods stay inside the training data's "
    "bounds, and a model extrapolating beyond them is explained on rows it never learned from.",
    "Reason codes need compliance review before use in adverse-action notices: families, wording, "
    "the reference population and the list of prohibited bases are policy choices, and cases flagged "
    "for manual review have no automatic reasons at all. A family's effect in the model moves only "
    "that family's features to reference applicants' values, so it also scores combinations the "
    "data may rarely hold, and where families interact their effects do not add up to the "
    "applicant's whole gap to the reference population.",
    "Results depend on the sample: the split, the sampling seed, the kernel width and the number of "
    "samples all change the explanations somewhat; the stability and sensitivity sections show how much.",
    "Held-out performance is honest only if the model never saw the held-out rows; for a model loaded "
    "from a file this cannot be checked here.",
)
#: the last limitation, for a loaded model, by how the held-out rows were obtained
HELD_OUT_CAVEATS = {
    "random": (
        "Held-out figures may be contaminated: the model was loaded from a file, and it may have "
        "been trained on some of the rows this review's random split holds out, which would make "
        "its held-out performance look better than it is; this cannot be checked here. Give the rows "
        "the model never saw with --test-data or --split-column."
    ),
    "given": (
        "Held-out performance is honest only if the model never saw the held-out rows: they are the "
        "rows the reviewer gave as held out ({how}), and the review relies on that statement."
    ),
}


@dataclass(frozen=True)
class ReportBundle:
    """A built review: the JSON-able document and the artefacts written next to it."""

    report: dict[str, Any]
    explanations: list[Explanation]
    reasons: list[CaseReasons]
    config: ReviewConfig


# ---- orchestration ----------------------------------------------------------------------------------
def build_report(config: ReviewConfig, *, command_line: str | None = None) -> ReportBundle:
    """Run the whole review (module doc) and return it, without writing anything."""
    config = config.resolved()
    problem = load_problem(config)
    if config.model is not None:  # the loaded model decides the task (checked against --task)
        config = config.for_task(problem.task)
    if config.task == "regression":
        from .regression import build_regression_report

        return build_regression_report(config, problem, command_line=command_line)
    heldout.check_labels(
        problem.y_train, problem.y_test, config.adverse, heldout.labels_source(problem.split)
    )
    explainer = make_explainer(problem, config)
    adverse = _adverse_output(explainer, config)
    scores_test = explainer.blackbox.predict(problem.X_test)[:, adverse]
    scores_train = explainer.blackbox.predict(problem.X_train)[:, adverse]
    unexplained = heldout.unexplained_rows(explainer.schema, problem.X_test)
    problem = replace(problem, split={**problem.split, "not_explained": unexplained.record})
    positions = select_cases(scores_test, config, unexplained)
    policy = make_policy(config, explainer.schema)
    reference = make_reference(config, explainer, problem, scores_train)

    survey = survey_positions(len(problem.X_test), config, unexplained.explainable)
    explained = explain_positions(explainer, problem, sorted(set(positions) | set(survey)), config)
    ids = _case_ids(problem)
    population = reference_frame(config, problem, scores_train)
    sample = reference_sample(population, config.seed)
    # declined as the reasons decide it: from each explanation's own model output
    declined = [
        p for p in positions if adverse_score(explained[p], policy.adverse_class) >= config.cutoff
    ]
    effects = model_effects(explainer, adverse, config, problem.X_test, declined, sample, policy)
    reasoning = ReasonInputs(
        problem=problem,
        config=config,
        policy=policy,
        reference=reference,
        rows=explainer.schema.encode(population),
        features=explainer.schema.features,
        ids=ids,
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
    report = {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "scope": scope_section(config, problem, explainer, scores_test, positions),
        "findings": {},  # filled last, from the figures below
        "data": data_section(problem, explainer, policy),
        "performance": performance_section(problem, explainer, config, scores_test, scores_train),
        "global": global_section(explainer, problem, config),
        "local": local_section(case_exps, positions, ids, config),
        "fidelity": fidelity_section(explained, survey, ids, scores_test, config),
        "sensitivity": sensitivity_section(problem, case_exps, positions, ids, config),
        "reason_codes": {
            **reasons_section(reasons, positions, policy, reference, config),
            "seed_stability": reason_seed_stability(reasoning, explainer, positions, reasons),
            "model_check": checked,
        },
        "subgroups": subgroups_section(problem, explainer, policy, scores_test, config),
        "limitations": limitations(config, problem),
        # the rerun compares explanations as fitted, before any restatement
        "reproducibility": reproducibility_section(
            problem, config, [explained[p] for p in positions], positions, command_line
        ),
    }
    items = findings.findings(to_jsonable(report), config.finding_cutoffs())
    report["findings"] = {
        "items": items,
        "cutoffs": findings.cutoffs_text(config.finding_cutoffs(), [i["kind"] for i in items]),
    }
    return ReportBundle(
        report=to_jsonable(report), explanations=case_exps, reasons=reasons, config=config
    )


def make_explainer(problem: Problem, config: ReviewConfig, **changes: Any) -> TabularExplainer:
    """The review's explainer (``changes`` override kernel_width / n_samples for sensitivity)."""
    options = {
        "n_samples": config.n_samples,
        "kernel_width": config.kernel_width,
        "threshold": config.threshold,  # none for a regression: it has no decision rule
        "random_state": config.seed,
        "sampler_options": {"number_change": config.number_change},
        **changes,
    }
    return TabularExplainer(
        problem.model,
        problem.X_train,
        target=config.adverse_class,
        link=config.link,
        torch_output=config.torch_output,  # type: ignore[arg-type]  # validated: TORCH_OUTPUTS
        **options,
    )


def _adverse_output(explainer: TabularExplainer, config: ReviewConfig) -> int:
    names = list(explainer.blackbox.output_names)
    if config.adverse in names:
        return names.index(config.adverse)
    raise ParameterError(
        f"--adverse-class {config.adverse!r} is not one of the model's outputs {names}."
    )


def select_cases(
    scores: np.ndarray, config: ReviewConfig, unexplained: heldout.Unexplained | None = None
) -> list[int]:
    """Positions in the held-out split of the cases explained in detail, among the rows a
    local explanation can describe (``unexplained``; all rows when None)."""
    n = len(scores)
    ok = np.ones(n, dtype=bool) if unexplained is None else unexplained.explainable
    if config.select == "declined":
        return [int(i) for i in np.flatnonzero((scores >= config.cutoff) & ok)[: config.max_cases]]
    if config.select == "rows":
        bad = [r for r in config.rows if not 0 <= r < n]
        if bad:
            raise ParameterError(
                f"--rows {bad} are outside the held-out split (positions 0 to {n - 1})."
            )
        indescribable = [r for r in config.rows if not ok[r]]
        if indescribable and unexplained is not None:
            raise ParameterError(
                f"--rows {indescribable} are held-out rows the training data cannot describe, so "
                "no local explanation can be fitted there; the held-out rows of this kind: "
                f"{heldout.describe_unexplained(unexplained.record)}."
            )
        return list(dict.fromkeys(config.rows))
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, _SAMPLE_PURPOSE]))
    return _draw(rng, np.flatnonzero(ok), int(config.sample or 0))


def survey_positions(
    n_test: int, config: ReviewConfig, explainable: np.ndarray | None = None
) -> list[int]:
    """A seeded sample of held-out rows whose local fidelity is surveyed (all when fewer),
    among the rows a local explanation can describe (all when ``explainable`` is None)."""
    allowed = np.arange(n_test) if explainable is None else np.flatnonzero(explainable)
    if config.fidelity_survey >= len(allowed):
        return [int(i) for i in allowed]
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, _SURVEY_PURPOSE]))
    return _draw(rng, allowed, config.fidelity_survey)


def _draw(rng: np.random.Generator, allowed: np.ndarray, size: int) -> list[int]:
    """``size`` of the ``allowed`` positions without replacement, ascending; drawn by index
    so that when every row is allowed the draw is the one of ``rng.choice(n)``."""
    picked = rng.choice(len(allowed), size=min(size, len(allowed)), replace=False)
    return sorted(int(allowed[i]) for i in picked)


def explain_positions(
    explainer, problem: Problem, positions: list[int], config: ReviewConfig
) -> dict[int, Explanation]:
    if not positions:
        return {}
    family, params = local_family(config)
    explained = explainer.explain_many(problem.X_test.iloc[positions], family, **params)
    return {positions[i]: exp for i, exp in zip(explained.indices, explained, strict=True)}


#: how far above ``min_fidelity`` the family ladder aims on its inner split. A surrogate
#: chosen just at the threshold lands on either side of it on the held-out neighbourhood
#: from seed to seed, and its case flips between reasons and manual review (German credit:
#: linear surrogates chosen at 0.70 measured 0.68 to 0.75 held out, over 10 seeds).
LADDER_MARGIN = 0.05


def ladder_target(config: ReviewConfig) -> float:
    """The inner-split fidelity the family ladder must reach: ``min_fidelity`` plus
    :data:`LADDER_MARGIN`, at most 1."""
    return min(config.min_fidelity + LADDER_MARGIN, 1.0)


def local_family(config: ReviewConfig) -> tuple[str, dict[str, Any]]:
    """How each case is explained: the simplest family clearly reaching ``min_fidelity``.

    "simplest" walks linear (``max_features``), additive, and additive with three pairwise
    terms, and keeps the first whose fidelity on an inner split of the fitting sample
    reaches :func:`ladder_target` (``surrogate="auto"`` with that ladder: one neighbourhood,
    no extra model calls); "linear" always explains with the linear family.
    """
    linear = ("linear", {"max_features": config.max_features})
    if config.local_families == "linear" or not 0 < config.min_fidelity <= 1:
        return linear
    ladder: tuple[tuple[str, dict[str, Any]], ...] = (
        linear,
        ("additive", {}),
        ("additive", {"interactions": 3}),
    )
    return "auto", {"target_fidelity": ladder_target(config), "ladder": ladder}


def stated_against(exp: Explanation, rows: np.ndarray, features: Any, name: str) -> Explanation:
    """An additive explanation with its contributions restated against a reference
    population (encoded ``rows``); other explanations as they are."""
    if not isinstance(exp.content, AdditiveContent):
        return exp
    return replace(exp, content=with_reference(exp.content, rows, features, reference=name))


def make_policy(
    config: ReviewConfig, schema: Any, *, adverse_class: str | None = None
) -> ReasonPolicy:
    """The reason policy; ``adverse_class`` stands for the configuration's (a regression has none)."""
    adverse = config.adverse if adverse_class is None else adverse_class
    overrides: dict[str, Any] = {
        "min_fidelity": config.min_fidelity,
        "max_reasons": config.max_reasons,
    }
    if config.families is not None:
        overrides["families"] = load_families(config.families)
        overrides["texts"] = {
            **default_policy(config.data, adverse_class=adverse).texts,
            **load_texts(config.families),
        }
    if config.prohibited is not None:
        overrides["prohibited"] = tuple(config.prohibited)
    if config.excluded is not None:
        overrides["excluded"] = tuple(config.excluded)
    return default_policy(config.data, adverse_class=adverse, **overrides).check_schema(schema)


def reference_frame(config: ReviewConfig, problem: Problem, scores_train: np.ndarray):
    """The reference population: all training applicants, or those the model approves."""
    if config.reference == "training":
        return problem.X_train
    return problem.X_train[scores_train < config.cutoff]


def model_effects(
    explainer, adverse: int, config: ReviewConfig, applicants, positions, sample, policy
) -> dict[int, CaseEffects]:
    """The model's own effects (:mod:`.model_check`) at the held-out ``applicants`` at
    ``positions``, over the reference ``sample``, in the explanation's scale; each
    member's of a family too when they rank the reasons."""
    from ..explain.pipeline import apply_link

    def score(frame):
        return apply_link(explainer.blackbox.predict(frame)[:, adverse], str(config.link))

    families = reason_families(policy, list(applicants.columns))
    members = config.ranked_by == "model"
    return {
        p: case_effects(score, applicants.iloc[[p]], sample, families, members=members)
        for p in positions
    }


def make_reference(
    config: ReviewConfig, explainer, problem: Problem, scores_train: np.ndarray
) -> Reference:
    if config.reference == "training":
        return Reference.from_schema(explainer.schema)
    approved = reference_frame(config, problem, scores_train)
    if len(approved) == 0:
        raise ParameterError(
            f"reference = 'approved' needs training applicants the model approves, but at the "
            f"cut-off {config.cutoff:g} it declines all of them; use reference = 'training' or a "
            "higher threshold."
        )
    return Reference.from_frame(
        approved, explainer.schema, "training applicants the model approves"
    )


def _case_ids(problem: Problem) -> list[str]:
    return [str(label) for label in problem.X_test.index]


# ---- sections ----------------------------------------------------------------------------------------------
def model_scope(config: ReviewConfig, problem: Problem, explainer) -> dict[str, Any]:
    """The scope's opening lines, for every task: what is reviewed, for what, and where the
    model came from."""
    return {
        "title": config.title,
        "model_id": config.model_id,
        "intended_use": config.intended_use,
        "model_source": problem.model_source,
        "model_parameters": _trainer_parameters(config),
        "model_description": explainer.blackbox.description(),
        "mode": explainer.blackbox.mode,
    }


def review_stamp() -> dict[str, Any]:
    """When and by which version the review was made, and who signs it off."""
    return {
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "library_version": _version.__version__,
        "sign_off": [
            {"role": "Model owner"},
            {"role": "Independent validator"},
            {"role": "Compliance"},
        ],
    }


def scope_section(
    config: ReviewConfig, problem: Problem, explainer, scores_test: np.ndarray, positions
) -> dict[str, Any]:
    return {
        **model_scope(config, problem, explainer),
        "data_source": problem.data_source,
        "adverse_class": config.adverse,
        "threshold": config.cutoff,
        "threshold_rationale": config.threshold_rationale,
        **review_stamp(),
        "not_performed": not_performed(
            config, scores_test, positions, problem.split.get("not_explained")
        ),
    }


def limitations(config: ReviewConfig, problem: Problem) -> list[str]:
    """The limitations; the last one says how far the held-out figures can be trusted,
    which depends on where the model and the held-out rows came from."""
    *general, trained_here = LIMITATIONS
    kind = problem.split.get("kind", "random")
    if config.model is None:
        return [*general, trained_here]
    if kind == "random":
        return [*general, HELD_OUT_CAVEATS["random"]]
    how = (
        f"the file {problem.split['file']}"
        if kind == "file"
        else f"the rows marked 'test' in the column {problem.split['column']}"
    )
    return [*general, HELD_OUT_CAVEATS["given"].format(how=how)]


def _trainer_parameters(config: ReviewConfig) -> list[dict[str, Any]]:
    """The demo trainer's hyper-parameters (none for a loaded model), as name/value pairs."""
    if config.model is not None:
        return []
    from ..demo import trainer_parameters

    return [
        {"name": k, "value": v if v is None or isinstance(v, bool | int | float) else str(v)}
        for k, v in sorted(
            trainer_parameters(
                config.train, config.seed, task=config.task or "classification"
            ).items()
        )
    ]


def not_performed(
    config: ReviewConfig, scores_test: np.ndarray, positions, unexplained=None
) -> list[dict[str, str]]:
    """The parts of the review that could not be performed, and why (none in a usual review)."""
    if positions:
        return []
    declined = len(scores_test) and float(np.max(scores_test)) >= config.cutoff
    if config.select == "declined" and declined and unexplained and unexplained["n"]:
        why = (
            f"every held-out applicant declined at the cut-off {config.cutoff:g} is a row the "
            "training data cannot describe (see the data section)"
        )
    elif config.select == "declined":
        highest = float(np.max(scores_test)) if len(scores_test) else float("nan")
        why = (
            f"no held-out applicant is declined at the cut-off {config.cutoff:g}: the model's "
            f"highest {config.adverse!r} probability on the held-out split is {highest:.4g}"
        )
    else:
        why = f"no case was chosen (selection {config.select!r})"
    parts = (
        "local explanations of chosen cases",
        "sensitivity to settings",
        "reason codes",
        "rerun check",
    )
    return [{"what": what, "why": why} for what in parts]


def data_section(problem: Problem, explainer, policy: ReasonPolicy) -> dict[str, Any]:
    y = pd.concat([problem.y_train, problem.y_test])
    counts = y.value_counts().sort_index()
    features = [_feature_summary(f, problem, policy) for f in explainer.schema.features]
    return {
        "n_rows": len(problem.X_train) + len(problem.X_test),
        "n_features": len(features),
        "labels": [
            {"label": str(k), "count": int(v), "share": float(v) / len(y)}
            for k, v in counts.items()
        ]
        if len(counts) <= 20
        else [],
        "split": problem.split,
        "features": features,
        "statistics_from": "the training split",
    }


def _feature_summary(f, problem: Problem, policy: ReasonPolicy) -> dict[str, Any]:
    column = problem.X_train[f.name]
    return {
        "name": f.name,
        "kind": f.kind,
        "missing_share": float(column.isna().mean()),
        "mean": f.mean if f.is_numeric else None,
        "sd": f.scale if f.is_numeric else None,
        "min": f.lower if f.is_numeric else None,
        "max": f.upper if f.is_numeric else None,
        "n_categories": None if f.is_numeric else len(f.categories),
        "family": policy.family_of(f.name).name,
        "prohibited": f.name in policy.prohibited,
        "excluded": f.name in policy.excluded,
        # a date's statistics are days since its origin, on its timezone's wall clock; the
        # page shows its mean, minimum and maximum as dates
        **(
            {
                "origin": f.origin,
                "unit": f.unit,
                "timezone": f.timezone,
                "dates": {
                    k: format_value(f, v)
                    for k, v in (("mean", f.mean), ("min", f.lower), ("max", f.upper))
                },
            }
            if f.is_datetime
            else {}
        ),
    }


def performance_section(
    problem: Problem, explainer, config: ReviewConfig, scores_test, scores_train
) -> dict[str, Any]:
    mode = explainer.blackbox.mode
    test = analysis.performance(
        scores_test,
        problem.y_test,
        mode=mode,
        adverse=config.adverse,
        threshold=config.cutoff,
    )
    train = analysis.performance(
        scores_train,
        problem.y_train,
        mode=mode,
        adverse=config.adverse,
        threshold=config.cutoff,
    )
    train.pop("calibration", None)
    return {"held_out": test, "training": train}


def _scale(config: ReviewConfig) -> str:
    """The unit of every surrogate number in the review: "log-odds of 'bad'"."""
    from ..render.text import scale_label

    link = str(config.link)  # set for every resolved task
    return scale_label(config.adverse, link, probability=link == "identity")


def global_section(explainer, problem: Problem, config: ReviewConfig) -> dict[str, Any]:
    return {
        "data": "the training split, split again into fitting and held-out parts by explain_global",
        "scale": f"{_scale(config)} (the explainer's link: {config.link})",
        **analysis.global_surrogates(
            explainer, problem.X_train, global_families(config), augment=config.global_augment
        ),
    }


def global_families(config: ReviewConfig) -> dict[str, dict[str, Any]]:
    """The review's global surrogate families and their parameters."""
    return {
        "tree": {"max_depth": config.global_max_depth},
        "rules": {"max_rules": config.global_max_rules},
        "additive": {},
    }


def local_section(case_exps, positions, ids, config: ReviewConfig) -> dict[str, Any]:
    return {
        "selection": config.select,
        "settings": {**local_settings(config), "threshold": config.cutoff},
        "cases": [
            analysis.explanation_summary(e, case_id=ids[p], position=p)
            for e, p in zip(case_exps, positions, strict=True)
        ],
    }


def local_settings(config: ReviewConfig) -> dict[str, Any]:
    """How every case is explained: the family ladder, sample, kernel, sampler and seed."""
    family, params = local_family(config)
    return {
        "surrogate": family,
        "families": (
            ["linear"] if family == "linear" else ["linear", "additive", "additive with 3 pairs"]
        ),
        "ladder_target": params.get("target_fidelity"),
        "max_features": config.max_features,
        "n_samples": config.n_samples,
        "kernel_width": config.kernel_width,
        "number_change": config.number_change,
        "link": config.link,
        "random_state": config.seed,
    }


def fidelity_section(explained, survey, ids, scores_test, config: ReviewConfig) -> dict[str, Any]:
    rows = [
        analysis.survey_row(
            explained[p],
            case_id=ids[p],
            position=p,
            declined=bool(scores_test[p] >= config.cutoff),
        )
        for p in survey
    ]
    return analysis.fidelity_distribution(rows, config.min_fidelity)


def sensitivity_section(
    problem: Problem, case_exps, positions, ids, config: ReviewConfig
) -> dict[str, Any]:
    chosen = positions[: config.sensitivity_cases]
    if not chosen:
        return {
            "performed": False,
            "n_cases": 0,
            "top_k": analysis.SENSITIVITY_TOP_K,
            "settings": [],
        }
    defaults = case_exps[: len(chosen)]
    case_ids = [ids[p] for p in chosen]
    settings = [
        analysis.sensitivity_setting(
            f"default: width {config.kernel_width:g}, n {config.n_samples}",
            config.kernel_width,
            config.n_samples,
            defaults,
            defaults,
            case_ids,
        )
    ]
    variants = [("kernel_width", w) for w in config.sensitivity_widths] + [
        ("n_samples", n) for n in config.sensitivity_n_samples
    ]
    for name, value in variants:
        explainer = make_explainer(problem, config, **{name: value})
        explained = explain_positions(explainer, problem, chosen, config)
        label = f"width {value:g}" if name == "kernel_width" else f"n {value}"
        settings.append(
            analysis.sensitivity_setting(
                label,
                explainer.kernel_width,
                explainer.n_samples,
                [explained[p] for p in chosen],
                defaults,
                case_ids,
            )
        )
    return {
        "performed": True,
        "n_cases": len(chosen),
        "top_k": analysis.SENSITIVITY_TOP_K,
        "settings": settings,
    }


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
    from ..interop import reseeded

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
        again = reseeded(explainer, seed)
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
        "seed. Each reason names its members whose own effect (the member moved alone) pushes "
        "towards the adverse outcome (all its members when they push only together), "
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
        "Summed per family; families with a positive total ranked, largest first. Each "
        "reason names its members that push towards the adverse outcome, " + _TEXT_CHOICE
    ),
}


def reasons_section(
    reasons: list[CaseReasons], positions, policy: ReasonPolicy, reference: Reference, config
) -> dict[str, Any]:
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
        "unit": _scale(config),
        "reference": reference.name,
        "policy": {
            "adverse_class": policy.adverse_class,
            "min_fidelity": policy.min_fidelity,
            "max_reasons": policy.max_reasons,
            "families": [
                {"name": f.name, "features": list(f.features), "text": f.text}
                for f in policy.families
            ],
            "texts": {name: texts.as_dict() for name, texts in sorted(policy.texts.items())},
            "prohibited": list(policy.prohibited),
            "excluded": list(policy.excluded),
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
        "cases": [dict(r.to_dict(), position=p) for r, p in zip(reasons, positions, strict=True)],
    }


def subgroups_section(
    problem: Problem, explainer, policy: ReasonPolicy, scores_test, config: ReviewConfig
) -> dict[str, Any]:
    """Decline rate and AUC per group of each prohibited-basis feature, on held-out rows."""
    common = {
        "data": "the held-out split, scored once for the performance section",
        "threshold": config.cutoff,
        "min_group": findings.MIN_GROUP,
    }
    if explainer.blackbox.mode != "classification":
        return {**common, "features": [], "note": "Decline rates need a classifier."}
    is_adverse = (problem.y_test.astype(str) == str(config.adverse)).to_numpy()
    return {
        **common,
        "features": findings.subgroups(
            problem.X_test,
            is_adverse,
            np.asarray(scores_test, dtype=float),
            features=policy.prohibited,
            threshold=config.cutoff,
            X_train=problem.X_train,
        ),
        "note": None,
    }


def reproducibility_section(
    problem: Problem, config: ReviewConfig, case_exps, positions, command_line
) -> dict[str, Any]:
    config_text = config.to_toml()
    return {
        "versions": [
            {"name": "python", "version": platform.python_version()},
            {"name": "surrogate", "version": _version.__version__},
            *[{"name": n, "version": _package_version(n)} for n in _VERSIONED],
        ],
        "platform": platform.platform(),
        "seed": config.seed,
        "seed_used_for": (
            "the train/test split, the demo model's training and every explanation's random_state"
            if problem.split.get("kind", "random") == "random"
            else "the demo model's training and every explanation's random_state (the held-out "
            "rows were given, not drawn)"
        ),
        "sha256": {
            "data": problem.data_sha256,
            "data_file": problem.data_file_sha256,
            "model": problem.model_sha256,
            "config": hashlib.sha256(config_text.encode("utf-8")).hexdigest(),
        },
        "model_source": problem.model_source,
        "command_line": command_line
        if command_line is not None
        else shlex.join(["surrogate", *sys.argv[1:]]),
        "rerun_command": rerun_command(config, problem),
        "git_commit": git_commit(),
        "rerun_check": rerun_check(problem, config, case_exps, positions),
    }


def rerun_command(config: ReviewConfig, problem: Problem) -> str:
    """The command that reruns the review; trust in a model file is pinned to its digest,
    and a model factory named again, for the saved review file can hold neither."""
    command = ["surrogate", "report", "--config", str(config.out_path / "review.toml")]
    command += config.code_flags()  # a review file cannot name code to import
    if config.trust_granted() is not None:
        command += ["--trust-model-sha256", problem.model_sha256]
    return shlex.join(command)


def rerun_check(problem: Problem, config: ReviewConfig, case_exps, positions) -> dict[str, Any]:
    """Re-explain the first case with a freshly built explainer and compare every number."""
    if not positions:
        return {
            "performed": False,
            "tolerance": analysis.RERUN_TOLERANCE,
            "passed": None,
            "max_abs_difference": None,
            "case_id": None,
        }
    fresh = make_explainer(problem, config)
    again = explain_positions(fresh, problem, [positions[0]], config)[positions[0]]
    diff, same = analysis.rerun_difference(case_exps[0], again)
    return {
        "performed": True,
        "case_id": str(problem.X_test.index[positions[0]]),
        "tolerance": analysis.RERUN_TOLERANCE,
        "max_abs_difference": diff,
        "same_features": same,
        "passed": bool(same and diff <= analysis.RERUN_TOLERANCE),
    }


def git_commit() -> str:
    """The commit of the checkout this library runs from, or "not available"."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "not available"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else "not available"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


# ---- JSON ---------------------------------------------------------------------------------------------------
def to_jsonable(obj: Any, where: str = "report") -> Any:
    """Plain JSON types only (numpy scalars converted); a non-finite number is an error."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, f"{where}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ParameterError(f"The report value {where} is not a finite number ({obj!r}).")
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise ParameterError(f"The report value {where} has the non-JSON type {type(obj).__name__}.")


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# ---- writing ------------------------------------------------------------------------------------------------
def write_report(bundle: ReportBundle, *, pdf: bool | None = None) -> Path:
    """Write the output folder ``bundle.config.out`` (module doc); returns the path of ``report.html``.

    ``pdf`` overrides the configuration's ``pdf`` setting. Every file is rendered in memory,
    written to a temporary folder beside the output folder, flushed to disk, and the folder
    is then swapped into place: a run stopped at any point leaves either the previous
    complete report or the new one, never a mixture or a cut-off page. The output folder
    must be new or hold only a previous report's files. If Chromium cannot print the PDF,
    the report is written without it and the error is raised afterwards.
    """
    from ..store import atomic_write

    folder = bundle.config.out_path
    with publishing(folder) as staging:
        for name, data in render_files(bundle).items():
            atomic_write(staging / name, data)
        failure = None
        if bundle.config.pdf if pdf is None else pdf:
            failure = _print_pdf(staging)
    if failure is not None:
        raise type(failure)(f"{failure} The report was written to {folder} without report.pdf.")
    return folder / "report.html"


def render_files(bundle: ReportBundle) -> dict[str, bytes]:
    """Every file of the report folder but the PDF, rendered in memory.

    ``report.html`` states the SHA-256 of ``report.json`` (it is rendered from that very
    text), so a page can be matched with the document its numbers come from.
    """
    from .html import render_report_html

    document = report_json(bundle.report)
    files = {
        "report.json": document.encode("utf-8"),
        "explanations.jsonl": "".join(e.to_json() + "\n" for e in bundle.explanations).encode(
            "utf-8"
        ),
        "reason_codes.csv": reason_codes_csv(bundle.reasons).encode("utf-8"),
        "review.toml": bundle.config.to_toml().encode("utf-8"),
        "report.html": render_report_html(bundle.report).encode("utf-8"),
    }
    if bundle.config.task == "regression":  # no decision rule, so no reasons: no file
        del files["reason_codes.csv"]
    return files


def report_json_sha256(report: dict[str, Any]) -> str:
    """SHA-256 of the ``report.json`` text of a report document."""
    return hashlib.sha256(report_json(report).encode("utf-8")).hexdigest()


def _print_pdf(staging: Path) -> Exception | None:
    from ..errors import SurrogateError
    from .pdf import html_to_pdf

    try:
        html_to_pdf(staging / "report.html", staging / "report.pdf")
    except SurrogateError as exc:
        (staging / "report.pdf").unlink(missing_ok=True)
        return exc
    return None


#: written inside every staging folder the review creates: cleanup removes only the
#: folders that hold it, under the exact names it gives them
STAGING_MARKER = ".surrogate-staging"
STAGING_MARK = b"A staging folder of a surrogate review; removed when its run ends.\n"


@contextmanager
def publishing(folder: Path) -> Iterator[Path]:
    """A fresh staging folder beside ``folder``, swapped into its place when the block ends.

    A second writer to the same folder is refused while one is at work; staging folders
    left by a killed run (``.<name>.tmp-<pid>`` and ``.<name>.old-<pid>`` holding
    :data:`STAGING_MARKER`) are removed, and nothing else. On an error inside the block
    nothing is published.
    """
    from ..store import hold_lock

    folder = folder.absolute()
    _check_report_folder(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with hold_lock(
        folder.parent / f".{folder.name}.lock", what=f"The report folder {str(folder)!r}"
    ):
        _remove_stale(folder)
        staging = _make_staging(folder.parent / f".{folder.name}.tmp-{os.getpid()}")
        try:
            yield staging
            (staging / STAGING_MARKER).unlink()  # the published folder holds the report only
            _fsync_dir(staging)
            _swap_into_place(staging, folder)
        finally:
            if staging.exists():
                shutil.rmtree(staging)


def _make_staging(path: Path) -> Path:
    """A new folder at ``path`` holding the marker that makes it ours to remove."""
    try:
        path.mkdir()
    except FileExistsError:
        raise ParameterError(
            f"{str(path)!r} already exists and was not made by this run; the review will not "
            "write into it nor remove it. Move it away and run again."
        ) from None
    _mark(path)
    return path


def _mark(path: Path) -> None:
    from ..store import open_new

    with os.fdopen(open_new(path / STAGING_MARKER), "wb") as fh:
        fh.write(STAGING_MARK)


def _check_report_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"--out must be a folder, got the existing file {str(folder)!r}.")
    if not folder.is_dir():
        return
    # a marker is left in the report folder only by a run stopped while replacing it
    others = sorted(
        p.name for p in folder.iterdir() if p.name not in (*ARTEFACTS, STAGING_MARKER)
    )
    if others:
        shown = others[:5] + (["..."] if len(others) > 5 else [])
        raise ParameterError(
            f"--out {str(folder)!r} holds files that are not a report's ({shown}); the report "
            "replaces its folder as a whole, so choose a new folder or a previous report's folder."
        )


def _remove_stale(folder: Path) -> None:
    """Staging and replaced folders of a killed run (the lock is held: none is in use)."""
    for path in folder.parent.iterdir():
        if is_stale_staging(path, folder.name):
            shutil.rmtree(path)


def is_stale_staging(path: Path, name: str) -> bool:
    """Whether ``path`` is a folder this library made beside the report folder ``name``:
    named exactly ``.<name>.tmp-<pid>`` or ``.<name>.old-<pid>``, a folder (not a link)
    holding the marker as a plain file."""
    if not re.fullmatch(re.escape(f".{name}.") + r"(tmp|old)-[0-9]+", path.name):
        return False
    try:
        folder = path.lstat()
        marker = (path / STAGING_MARKER).lstat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    return stat.S_ISDIR(folder.st_mode) and stat.S_ISREG(marker.st_mode)


def _swap_into_place(staging: Path, folder: Path) -> None:
    """Put ``staging`` at ``folder``: a rename when there is none, else an atomic exchange
    (Linux ``renameat2``), else two renames (a stop between them leaves the previous
    report beside, under ``.<name>.old-<pid>``)."""
    if not folder.exists():
        os.replace(staging, folder)
    elif _exchange(staging, folder):
        shutil.rmtree(staging)  # now holds the previous report
    else:  # pragma: no cover - filesystems without an atomic exchange
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        if not (folder / STAGING_MARKER).exists():  # a run stopped here may have left one
            _mark(folder)  # so that a run stopped before the next rename leaves it removable
        os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old)
    _fsync_dir(folder.parent)


#: renameat2 flag: swap the two paths atomically
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then nothing happened)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:  # pragma: no cover - glibc older than 2.28
        return False
    done = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if done == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
        return False
    raise OSError(errno, os.strerror(errno), str(second))


def _fsync_dir(folder: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be opened there
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
