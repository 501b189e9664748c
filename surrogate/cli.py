"""The ``surrogate`` command (also ``python -m surrogate``).

Subcommands:
  report         the model-risk review: report.html, report.json, explanations, reason codes
  explain        explain a few rows of a bundled data set with a bundled demo model
  explain-text   explain a sentence with the demo GRU sentiment model
  explain-digit  explain one of scikit-learn's digits with the demo CNN
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import cast

from .errors import ParameterError, SurrogateError
from .explanation import ExplanationSet

DATASETS = ("german-credit", "adult")
TRAINERS = ("gbm", "mlp", "logreg")
FORMATS = ("text", "markdown", "json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surrogate", description="Explain black-box models with surrogates."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    from .report_cli import add_report_parser

    add_report_parser(sub)

    explain = sub.add_parser("explain", help="explain rows of a bundled data set with a demo model")
    explain.add_argument("--data", choices=DATASETS, default="german-credit")
    explain.add_argument("--train", choices=TRAINERS, default="gbm", help="demo model to train")
    explain.add_argument(
        "--rows",
        default="0",
        help="row positions of the test split: '0,3,7', a range '0-99', or 'all'",
    )
    explain.add_argument("--surrogate", default="linear", help="linear, tree, rules or auto")
    explain.add_argument("--n-samples", type=int, default=5000)
    explain.add_argument("--seed", type=int, default=0)
    explain.add_argument("--format", choices=FORMATS, default="text")
    explain.add_argument(
        "--out",
        help="write explanations to this folder as JSONL part files (atomic) instead of printing",
    )
    explain.add_argument("--part-rows", type=int, default=100, help="rows per part file with --out")
    explain.add_argument(
        "--resume",
        action="store_true",
        help="with --out: continue a stopped run, keeping its finished parts",
    )

    text = sub.add_parser(
        "explain-text", help="explain a sentence with the demo GRU sentiment model"
    )
    text.add_argument("sentence")
    text.add_argument("--format", choices=FORMATS, default="text")

    digit = sub.add_parser("explain-digit", help="explain a digit with the demo CNN")
    digit.add_argument("index", type=int)
    digit.add_argument("--format", choices=FORMATS, default="text")
    return parser


def _render(exp, fmt: str) -> str:
    return {"text": exp.to_text, "markdown": exp.to_markdown, "json": exp.to_json}[fmt]()


def _rows(spec: str, n_rows: int) -> list[int]:
    if spec.strip() == "all":
        return list(range(n_rows))
    rows: list[int] = []
    try:
        for item in (r.strip() for r in spec.split(",") if r.strip()):
            first, _, last = item.partition("-")
            rows += list(range(int(first), int(last) + 1)) if last else [int(first)]
    except ValueError as exc:
        raise ParameterError(
            f"--rows must be integers, ranges like 0-99 or 'all', separated by commas; got {spec!r}."
        ) from exc
    return rows


def _run_explain(args) -> str:
    from .demo import load_demo_problem

    model, X_train, X_test, target = load_demo_problem(args.data, args.train, seed=args.seed)
    from .explainer import TabularExplainer

    explainer = TabularExplainer(
        model, X_train, target=target, n_samples=args.n_samples, random_state=args.seed
    )
    rows = _rows(args.rows, len(X_test))
    bad = [r for r in rows if not 0 <= r < len(X_test)]
    if bad:
        raise ParameterError(
            f"--rows {bad[:5]} are outside the test split (0 to {len(X_test) - 1})."
        )
    if args.out:
        from .distributed import explain_many_to

        written = explain_many_to(
            explainer,
            X_test.iloc[rows],
            args.surrogate,
            output=args.out,
            partition_rows=args.part_rows,
            resume=args.resume,
            on_error="record",
        )
        return (
            f"Wrote {written.n_explained} explanations of {written.n_rows} rows in {len(written.parts)} "
            f"parts to {written.output} ({len(written.failures)} failures)."
        )
    if args.resume:
        raise ParameterError("--resume needs --out (the folder of the run to continue).")
    explanations = cast(ExplanationSet, explainer.explain_many(X_test.iloc[rows], args.surrogate))
    return "\n\n".join(_render(e, args.format) for e in explanations)


def _run_text(args) -> str:
    from .demo_models import explain_sentence_demo

    return _render(explain_sentence_demo(args.sentence), args.format)


def _run_digit(args) -> str:
    from .demo_models import explain_digit_demo

    return _render(explain_digit_demo(args.index), args.format)


def _run_report(args) -> str:
    from .report_cli import run_report

    return run_report(args, argv=args.argv)


COMMANDS = {
    "report": _run_report,
    "explain": _run_explain,
    "explain-text": _run_text,
    "explain-digit": _run_digit,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        print(COMMANDS[args.command](args))
    except SurrogateError as exc:
        print(f"surrogate: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader (e.g. `head`) stopped early: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
