"""Record the golden corpus: canonical outputs that a change of structure must not move.

    python tests/golden/record.py            # rewrite tests/golden/*.json
    python tests/golden/record.py --report   # also report.json of the German credit review

``tests/test_golden.py`` recomputes every explanation file and compares bytes; a
change that moves any of them must say why in its own commit, and rerun this.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = (0, 7, 21)  # held-out rows explained in every tabular case


@functools.cache
def _tabular(data: str):
    from surrogate import TabularExplainer
    from surrogate.demo import load_demo_problem

    model, X_train, X_test, target = load_demo_problem(data, "gbm")
    explainer = TabularExplainer(model, X_train, target=target, n_samples=2000, random_state=0)
    return explainer, X_test


def _local_cases(data: str) -> dict[str, Callable[[], str]]:
    families = {
        "linear": {"max_features": 5},
        "tree": {"max_depth": 3},
        "rules": {"max_rules": 5},
        "auto": {},
    }

    def case(family: str, params: dict) -> Callable[[], str]:
        def make() -> str:
            explainer, X_test = _tabular(data)
            many = explainer.explain_many(X_test.iloc[list(ROWS)], family, n_jobs=1, **params)
            return "\n".join(e.to_json() for e in many) + "\n"

        return make

    return {f"{data}-{family}": case(family, params) for family, params in families.items()}


def _global_case() -> str:
    explainer, X_test = _tabular("german-credit")
    return "\n".join(
        explainer.explain_global(X_test, surrogate).to_json() for surrogate in ("tree", "rules")
    ) + "\n"


def _text_case() -> str:
    from surrogate.demo.deep import one_thread, sentence_explainer

    with one_thread():
        exp = sentence_explainer(0, n_samples=600).explain("The food was not good at all.")
    return exp.to_json() + "\n"


def _image_case() -> str:
    from surrogate.demo.deep import _digits_model, digit_explainer, one_thread

    _, helpers = _digits_model(0)
    with one_thread():
        exp = digit_explainer(0).explain(helpers.images[3])  # its defaults
    return exp.to_json() + "\n"


def cases() -> dict[str, Callable[[], str]]:
    """File stem -> a function computing its canonical text."""
    return {
        **_local_cases("german-credit"),
        **_local_cases("adult"),
        "german-credit-global": _global_case,
        "sentence": _text_case,
        "digit": _image_case,
    }


#: what differs between two runs of the same review: when, from which commit, into which folder
VARYING = ("generated_at", "git_commit", "command_line")

#: stands for a machine fact (platform string, a package's version) in the golden report: such
#: facts are held by shape, a non-empty string, never byte for byte (shared/DESIGN.md, invariant 8)
MACHINE_FACT = "<machine fact: a non-empty string>"


def report_json(out: Path) -> str:
    """report.json of the German credit review (``make demo``), less what varies by run.

    The review is configured by the command's own parser and defaults and built as the
    command builds it; only report.json's text is made (the page, its figures and the
    other files are not part of the corpus, and other tests render them).
    """
    from surrogate.cli import build_parser
    from surrogate.cli.report import config_from_args
    from surrogate.report import build_report
    from surrogate.report.document import report_json as report_text

    argv = ["report", "--data", "german-credit", "--out", str(out)]
    args = build_parser().parse_args(argv)
    args.argv = argv
    bundle = build_report(config_from_args(args), command_line="surrogate " + " ".join(argv))
    # the output folder appears in rerun commands: name it the same on every machine
    text = report_text(bundle.report).replace(json.dumps(str(out))[1:-1], "<out>")
    document = json.loads(text)
    for key in VARYING:
        _drop_key(document, key)
    # the review file names the output folder, so its digest differs with the folder
    document["reproducibility"]["sha256"].pop("config", None)
    _hold_machine_facts_by_shape(document["reproducibility"])
    return json.dumps(document, sort_keys=True, indent=1) + "\n"


def _hold_machine_facts_by_shape(reproducibility: dict) -> None:
    """Replace the platform and the installed versions by their shape: the same review on
    another kernel or Python patch release must compare equal, a missing fact must not.
    The library's own version is an output, so it stays exact."""
    reproducibility["platform"] = _shape(reproducibility["platform"])
    for entry in reproducibility["versions"]:
        if entry["name"] != "surrogate":
            entry["version"] = _shape(entry["version"])


def _shape(fact):
    return MACHINE_FACT if isinstance(fact, str) and fact.strip() else fact


def _drop_key(node, key: str) -> None:
    if isinstance(node, dict):
        node.pop(key, None)
        for value in node.values():
            _drop_key(value, key)
    elif isinstance(node, list):
        for value in node:
            _drop_key(value, key)


def main(argv: list[str]) -> None:
    for stem, make in cases().items():
        (HERE / f"{stem}.json").write_text(make())
        print("recorded", stem, flush=True)
    if "--report" in argv:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            (HERE / "report.json").write_text(report_json(Path(tmp) / "review"))
        print("recorded report.json")


if __name__ == "__main__":
    main(sys.argv[1:])
