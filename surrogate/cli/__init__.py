"""The ``surrogate`` command (also ``python -m surrogate``), one module per subcommand.

  report         (:mod:`.report`) the model-risk review: report.html, report.json, reason codes
  explain        (:mod:`.explain`) explain rows of a bundled data set with a demo model
  explain-text   (:mod:`.deep`) explain a sentence with the demo GRU sentiment model
  explain-digit  (:mod:`.deep`) explain one of scikit-learn's digits with the demo CNN

Row positions are read by one grammar (:mod:`.rows`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..demo import TRAINERS
from ..errors import SurrogateError
from .deep import FORMATS, run_digit, run_text
from .explain import DATASETS, run_explain
from .report import add_report_parser, run_report


class Parser(argparse.ArgumentParser):
    """argparse, but a mistyped argument is said in one line with a pointer to ``--help``
    (argparse prints the whole usage first, a dozen lines before the one that matters)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            2,
            f"{self.prog}: error: {message}\nSee '{self.prog} --help' for the arguments it takes.\n",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="surrogate", description="Explain black-box models with surrogates.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

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
    explain.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="decision threshold (a probability) where agreement and rule precision are measured",
    )
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
    text.add_argument(
        "--html", metavar="FILE", help="also write a page with the highlighted sentence to FILE"
    )

    digit = sub.add_parser("explain-digit", help="explain a digit with the demo CNN")
    digit.add_argument("index", type=int)
    digit.add_argument("--format", choices=FORMATS, default="text")
    digit.add_argument(
        "--png", metavar="FILE", help="also write the digit's picture (exp.plot()) to FILE"
    )
    digit.add_argument("--html", metavar="FILE", help="also write a page with the picture to FILE")
    return parser


COMMANDS = {
    "report": run_report,
    "explain": run_explain,
    "explain-text": run_text,
    "explain-digit": run_digit,
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
