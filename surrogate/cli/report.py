"""The ``surrogate report`` subcommand: a model-risk review of a model on a data set.

Every flag defaults to "not given" (None), so a ``--config review.toml`` supplies
the values and only the flags typed on the command line override it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from .._validation import Interval, Options
from ..report.config import SETTINGS, setting_help, threshold_argument
from .rows import parse_rows

#: command-line destination -> review setting, for flags that map one to one
_DIRECT = (
    "data",
    "target",
    "test_data",
    "split_column",
    "train",
    "model",
    "trust_model_file",
    "trust_model_sha256",
    "model_factory",
    "torch_output",
    "task",
    "adverse_class",
    "threshold",
    "out",
    "pdf",
    "n_samples",
    "seed",
    "max_cases",
    "model_id",
    "intended_use",
    "families",
    "min_fidelity",
    "min_effect",
    "prohibited",
    "non_actionable",
)


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``subparsers``; returns its parser."""
    p = subparsers.add_parser(
        "report",
        help="write a model-risk review (HTML, JSON, reason codes) of a model",
        description=(
            "Write a model-risk review: held-out performance, global and local surrogates with their "
            "fidelity and stability, sensitivity, reason codes for declined cases, reproducibility record."
        ),
    )
    p.add_argument("--config", help="review.toml holding any of these settings (flags override it)")
    p.add_argument("--data", help="german-credit, adult, or a .csv / .parquet file")
    p.add_argument("--target", help="label column of a data file")
    # --test-data and --split-column exclude each other: the review settings refuse both in
    # one line, also when one comes from the review file
    p.add_argument(
        "--test-data",
        metavar="FILE",
        help="held-out (e.g. out-of-time) .csv / .parquet file with the data's columns and target: "
        "all of --data is then training data (no random split)",
    )
    p.add_argument(
        "--split-column",
        metavar="NAME",
        help="column of --data holding 'train' or 'test' for each row (not a feature)",
    )
    _setting(p, "--train", "train", "demo model to train")
    p.add_argument(
        "--model",
        help="a fitted model file: .skops; .onnx (run by ONNX Runtime, no trust needed); "
        ".joblib or a torch.export .pt2 (both unpickle: --trust-model-file); a torch state "
        "dict .pt with --model-factory",
    )
    p.add_argument(
        "--model-factory",
        help="module:function building the torch module whose state dict --model holds "
        "(loaded with weights_only=True); it runs code, so a review file cannot name it, and "
        "the current folder is searched for the module only when it is on PYTHONPATH",
    )
    _setting(
        p,
        "--torch-output",
        "torch_output",
        "what a torch model's forward returns (regression: one number per row, the review's task)",
    )
    p.add_argument(
        "--trust-model-file",
        action="store_true",
        default=None,
        help="load a model file even though loading it may run code from it",
    )
    p.add_argument(
        "--trust-model-sha256",
        metavar="SHA256",
        help="load a model file that unpickles only if its SHA-256 is this digest "
        "(trusts that exact file); a review file cannot grant this",
    )
    _setting(
        p,
        "--task",
        "task",
        "what the model's output is: a class probability with a decline rule, or a number "
        "(e.g. a loss given default); unset: the loaded model's, classification for a "
        "trained demo model",
    )
    p.add_argument("--adverse-class", help="the label of the adverse outcome (German credit: bad)")
    _setting(
        p,
        "--threshold",
        "threshold",
        "decline when P(adverse) >= this; unset: the data set's (German credit: 1/6, the "
        "cost-matrix cut-off; otherwise 0.5)",
        type=threshold_argument,
    )
    cases = p.add_mutually_exclusive_group()
    cases.add_argument(
        "--declined",
        action="store_true",
        default=None,
        help="explain the first declined held-out applicants (default for a classifier; "
        "a regression review has no decline rule and explains a --sample by default)",
    )
    cases.add_argument(
        "--rows", help="explain these positions of the held-out split: '0,3,7' or ranges '0-9'"
    )
    _setting(cases, "--sample", "sample", "explain a seeded random sample of N held-out rows")
    _setting(p, "--max-cases", "max_cases", "most cases explained in detail")
    _setting(p, "--n-samples", "n_samples", "model calls per explanation")
    _setting(p, "--seed", "seed", "seed of the split, the demo model and the explanations")
    p.add_argument(
        "--families", help="reason families mapping (.csv or .toml: family, features, text)"
    )
    _setting(
        p,
        "--min-fidelity",
        "min_fidelity",
        "lowest local R^2 for automatic reasons; one below the default is reported as a finding",
    )
    _setting(
        p,
        "--min-effect",
        "min_effect",
        "smallest model effect towards the adverse outcome (log-odds under the logit link) that "
        "makes a family a reason; it must also be 2 standard errors above zero",
    )
    p.add_argument(
        "--prohibited",
        metavar="COL,COL",
        type=column_names,
        help="prohibited bases: columns never given as reasons, whose use by the model is "
        "checked and graded as a finding (default: the bundled data set's list; none for a "
        "data file, and the finding then reads 'not checked')",
    )
    p.add_argument(
        "--non-actionable",
        metavar="COL,COL",
        type=column_names,
        help="columns an applicant cannot act on (vintages, identifiers), besides the data's "
        "dates, which always are: never given as reasons, their effects still measured",
    )
    p.add_argument("--model-id", help="model identifier shown in the report")
    p.add_argument("--intended-use", help="intended use shown in the report")
    p.add_argument("--out", help="output folder (default reports/<data>-<model>/)")
    p.add_argument(
        "--pdf",
        action="store_true",
        default=None,
        help="also print report.pdf with headless Chromium",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print no line per stage on stderr (each stage and its elapsed time otherwise)",
    )
    return p


def _setting(parser: Any, flag: str, name: str, meaning: str, **options: Any) -> None:
    """A flag for the review setting ``name``: its type or choices, the values it takes and
    its default come from the setting's declaration (``report.config.SETTINGS``) and
    ``ReviewConfig``, so the help cannot disagree with the review. The flag itself defaults
    to "not given", so a review file's value stands unless the flag is typed."""
    declared = next(c for c in SETTINGS[name] if c is not None)
    if isinstance(declared, Options):
        options.setdefault("choices", declared.values)
    elif isinstance(declared, Interval):
        options.setdefault("type", declared.kind)
    parser.add_argument(flag, dest=name, help=setting_help(name, meaning), **options)


def column_names(text: str) -> list[str]:
    """A comma-separated list of column names as typed: ``age,sex`` (blanks dropped)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def config_from_args(args: argparse.Namespace):
    """The review configuration: the --config file (if any), then the flags given."""
    from ..report import ReviewConfig

    config = ReviewConfig.from_toml(args.config) if args.config else ReviewConfig()
    overrides = {
        name: getattr(args, name) for name in _DIRECT if getattr(args, name, None) is not None
    }
    overrides.update(_case_overrides(args))
    return config.with_overrides(**overrides)


def _case_overrides(args: argparse.Namespace) -> dict[str, Any]:
    if args.rows is not None:
        return {"select": "rows", "rows": parse_rows(args.rows)}
    if args.sample is not None:
        return {"select": "sample", "sample": args.sample}
    if args.declined:
        return {"select": "declined"}
    return {}


def run_report(args: argparse.Namespace) -> str:
    """Build and write the review; returns a short summary naming the files written."""
    from ..report import build_report, write_report

    config = config_from_args(args)
    command = shlex.join(["surrogate", *args.argv])
    progress = None if args.quiet else stage_line
    bundle = build_report(config, command_line=command, progress=progress)
    html = write_report(bundle)
    if progress is not None:
        progress("review written")
    return summary(bundle, html)


def stage_line(text: str) -> None:
    """One line per stage of the review, on stderr: stdout keeps the summary alone."""
    print(f"surrogate report: {text}", file=sys.stderr, flush=True)


def summary(bundle: Any, html: Any) -> str:
    rc = bundle.report["reason_codes"]
    rerun = bundle.report["reproducibility"]["rerun_check"]
    folder = html.parent
    written = [
        name
        for name in (
            "report.html",
            "report.json",
            "explanations.jsonl",
            "reason_codes.csv",
            "review.toml",
        )
        if (folder / name).is_file()
    ]
    if (folder / "report.pdf").is_file() and bundle.config.pdf:
        written.append("report.pdf")
    if rc.get("performed", True):
        cases = (
            f"  declined cases explained: {rc['n_declined']}; with reasons: {rc['n_with_reasons']}; "
            f"manual review: {rc['n_manual_review']}"
        )
    else:  # a regression review: no decision rule, so nothing is declined
        local = bundle.report["local"]
        cases = (
            f"  cases explained: {len(local['cases'])} (in {local['unit']}); reason codes: not "
            "produced, a regression review has no decision rule (no reason_codes.csv)"
        )
    return "\n".join(
        [
            f"Review written to {folder}/ ({', '.join(written)})",
            cases,
            f"  rerun check: {'passed' if rerun['passed'] else 'not passed' if rerun['performed'] else 'not performed'}",
        ]
    )
