"""The sections of a review document, each measured from the review's problem,
explainer and cases: scope, data, performance, global and local surrogates, fidelity,
sensitivity, subgroups, limitations and reproducibility."""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import _version
from ..schema import format_value
from . import analysis, findings
from .cases import Review, explain_positions, local_family, make_explainer
from .config import ReviewConfig
from .problem import Problem
from .reason_policy import ReasonPolicy

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


# ---- sections ----------------------------------------------------------------------------------------------
def model_scope(review: Review) -> dict[str, Any]:
    """The scope's opening lines, for every task: what is reviewed, for what, and where the
    model came from."""
    config, problem, explainer = review.config, review.problem, review.explainer
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


def scope_section(review: Review) -> dict[str, Any]:
    config, problem = review.config, review.problem
    return {
        **model_scope(review),
        "data_source": problem.data_source,
        "adverse_class": config.adverse,
        "threshold": config.cutoff,
        "threshold_rationale": config.threshold_rationale,
        **review_stamp(),
        "not_performed": not_performed(
            config, review.scores_test, review.positions, problem.split.get("not_explained")
        ),
    }


def limitations(review: Review) -> list[str]:
    """The limitations; the last one says how far the held-out figures can be trusted,
    which depends on where the model and the held-out rows came from."""
    config, problem = review.config, review.problem
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


def data_section(review: Review) -> dict[str, Any]:
    problem, explainer, policy = review.problem, review.explainer, review.policy
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


def performance_section(review: Review) -> dict[str, Any]:
    problem, config = review.problem, review.config
    mode = review.explainer.blackbox.mode
    test = analysis.performance(
        review.scores_test,
        problem.y_test,
        mode=mode,
        adverse=config.adverse,
        threshold=config.cutoff,
    )
    train = analysis.performance(
        review.scores_train,
        problem.y_train,
        mode=mode,
        adverse=config.adverse,
        threshold=config.cutoff,
    )
    train.pop("calibration", None)
    return {"held_out": test, "training": train}


def review_unit(config: ReviewConfig) -> str:
    """The unit of every surrogate number in the review: "log-odds of 'bad'"."""
    from ..render.text import scale_label

    link = str(config.link)  # set for every resolved task
    return scale_label(config.adverse, link, probability=link == "identity")


def global_section(review: Review, unit: str | None = None) -> dict[str, Any]:
    """The global surrogates over the training split, in ``unit`` (default: the review's)."""
    config = review.config
    return {
        "data": "the training split, split again into fitting and held-out parts by explain_global",
        "scale": f"{unit or review_unit(config)} (the explainer's link: {config.link})",
        **analysis.global_surrogates(
            review.explainer,
            review.problem.X_train,
            global_families(config),
            augment=config.global_augment,
        ),
    }


def global_families(config: ReviewConfig) -> dict[str, dict[str, Any]]:
    """The review's global surrogate families and their parameters."""
    return {
        "tree": {"max_depth": config.global_max_depth},
        "rules": {"max_rules": config.global_max_rules},
        "additive": {},
    }


def local_section(review: Review, case_exps) -> dict[str, Any]:
    config = review.config
    return {
        "selection": config.select,
        "settings": {**local_settings(config), "threshold": config.cutoff},
        "cases": [
            analysis.explanation_summary(e, case_id=review.ids[p], position=p)
            for e, p in zip(case_exps, review.positions, strict=True)
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


def fidelity_section(review: Review, explained, survey) -> dict[str, Any]:
    config = review.config
    rows = [
        analysis.survey_row(
            explained[p],
            case_id=review.ids[p],
            position=p,
            declined=bool(review.scores_test[p] >= config.cutoff),
        )
        for p in survey
    ]
    return analysis.fidelity_distribution(rows, config.min_fidelity)


def sensitivity_section(review: Review, case_exps) -> dict[str, Any]:
    problem, config, ids = review.problem, review.config, review.ids
    chosen = review.positions[: config.sensitivity_cases]
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


def subgroups_section(review: Review) -> dict[str, Any]:
    """Decline rate and AUC per group of each prohibited-basis feature, on held-out rows."""
    problem, config = review.problem, review.config
    common = {
        "data": "the held-out split, scored once for the performance section",
        "threshold": config.cutoff,
        "min_group": findings.MIN_GROUP,
    }
    if review.explainer.blackbox.mode != "classification":
        return {**common, "features": [], "note": "Decline rates need a classifier."}
    is_adverse = (problem.y_test.astype(str) == str(config.adverse)).to_numpy()
    return {
        **common,
        "features": findings.subgroups(
            problem.X_test,
            is_adverse,
            np.asarray(review.scores_test, dtype=float),
            features=review.policy.prohibited,
            threshold=config.cutoff,
            X_train=problem.X_train,
        ),
        "note": None,
    }


def reproducibility_section(review: Review, fitted, command_line) -> dict[str, Any]:
    """Versions, seeds, digests and the rerun check; ``fitted`` are the chosen cases'
    explanations as fitted (before any restatement), which the rerun compares."""
    problem, config = review.problem, review.config
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
        "rerun_check": rerun_check(problem, config, fitted, review.positions),
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
