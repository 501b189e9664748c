"""The `surrogate report` command end to end, and the report's promises.

Every number the HTML shows is report.json's; no script and no URL in the page; reason
codes are few and never name a prohibited basis; hostile names stay inert in HTML, DOT,
Markdown and CSV; the saved configuration reruns the review exactly; untrusted model
files are refused.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from surrogate.errors import DependencyError, ModelError, ParameterError
from surrogate.report import ReviewConfig, build_report, render_report_html
from surrogate.report.html import CSP, lookup
from surrogate.report.problem import load_model
from surrogate.report.reason_csv import FORMULA_PREFIXES

#: review settings that keep an end-to-end run to seconds
SMALL_REVIEW = """
[cases]
max_cases = 4

[explanation]
n_samples = 300

[analysis]
fidelity_survey = 24
sensitivity_cases = 2
sensitivity_widths = [2.0]
sensitivity_n_samples = [200]
global_augment = 1
"""


def run_cli(argv: list[str]) -> None:
    """Run ``surrogate report ...`` through the command's own entry point."""
    from surrogate import cli

    assert cli.main(argv) == 0


@pytest.fixture(scope="module")
def german_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("review")
    config = folder / "small.toml"
    config.write_text(SMALL_REVIEW, encoding="utf-8")
    out = folder / "german"
    run_cli(
        [
            "report",
            "--data",
            "german-credit",
            "--train",
            "gbm",
            "--adverse-class",
            "bad",
            "--threshold",
            "0.1667",
            "--declined",
            "--config",
            str(config),
            "--out",
            str(out),
        ]
    )
    return out


def _json(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


class _Spans(HTMLParser):
    """Collects <span class="num"> elements (key, digits, format, text) and all tag names."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[dict] = []
        self.tags: set[str] = set()
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "span" and attrs.get("class") == "num":
            self._open = {
                "key": attrs["data-key"],
                "digits": int(attrs["data-digits"]),
                "format": attrs["data-format"],
                "text": "",
            }

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open is not None:
            self.spans.append(self._open)
            self._open = None


def _spans(html: str) -> _Spans:
    parser = _Spans()
    parser.feed(html)
    return parser


def _matches(span: dict, value) -> bool:
    """The shown text is the JSON value rounded as the span says (checked numerically)."""
    if value is None:
        return span["text"] == "n/a"
    assert isinstance(value, int | float) and not isinstance(value, bool), (span, value)
    shown = float(span["text"])
    if span["format"] == "e":
        return math.isclose(shown, value, rel_tol=10 ** -span["digits"], abs_tol=1e-300)
    if isinstance(value, int) or (span["format"] == "v" and float(value).is_integer()):
        return shown == value
    return abs(shown - round(value, span["digits"])) <= 0.5 * 10 ** -span["digits"] + 1e-12 * abs(
        value
    )


# ---- end to end --------------------------------------------------------------------------------------------
def test_cli_writes_every_artefact(german_report):
    for name in (
        "report.html",
        "report.json",
        "explanations.jsonl",
        "reason_codes.csv",
        "review.toml",
    ):
        assert (german_report / name).is_file(), name
    report = _json(german_report)
    assert report["scope"]["adverse_class"] == "bad"
    assert report["scope"]["threshold"] == pytest.approx(0.1667)
    assert report["performance"]["held_out"]["task"] == "classification"
    assert 0.5 < report["performance"]["held_out"]["auc"] <= 1
    assert len(report["local"]["cases"]) == 4
    assert all(case["prediction"] >= 0.1667 for case in report["local"]["cases"])
    lines = (german_report / "explanations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    from surrogate.explanation import Explanation

    assert Explanation.from_json(lines[0]).prediction == report["local"]["cases"][0]["prediction"]


def test_every_number_shown_is_the_json_value(german_report):
    report = _json(german_report)
    parsed = _spans((german_report / "report.html").read_text(encoding="utf-8"))
    assert len(parsed.spans) > 150
    wrong = [
        (s["key"], s["text"], lookup(report, s["key"]))
        for s in parsed.spans
        if not _matches(s, lookup(report, s["key"]))
    ]
    assert not wrong, wrong[:5]
    keys = {s["key"] for s in parsed.spans}
    for key in (
        "performance.held_out.auc",
        "performance.held_out.brier",
        "global.tree.fidelity.r2",
        "local.cases.0.fidelity.r2",
        "local.cases.0.stability.top_k_jaccard",
        "fidelity.share_below_min",
        "sensitivity.settings.1.mean_jaccard_vs_default",
        "reproducibility.rerun_check.tolerance",
    ):
        assert key in keys, key


def test_html_is_self_contained_without_script(german_report):
    html = (german_report / "report.html").read_text(encoding="utf-8")
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html.replace(
        "&#39;", "'"
    )
    parsed = _spans(html)
    assert "script" not in parsed.tags and "<script" not in html.lower()
    assert not re.search(r"(https?:)?//[a-z0-9]", html, re.IGNORECASE), "the page references a URL"
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), "event handler attribute"
    assert "svg" in parsed.tags  # plots and drawings are inline


def test_report_sections_and_reproducibility_record(german_report):
    report = _json(german_report)
    for section in (
        "scope",
        "data",
        "performance",
        "global",
        "local",
        "fidelity",
        "sensitivity",
        "reason_codes",
        "limitations",
        "reproducibility",
    ):
        assert section in report
    repro = report["reproducibility"]
    assert repro["rerun_check"]["passed"] is True and repro["rerun_check"]["tolerance"] == 1e-9
    assert re.fullmatch(r"[0-9a-f]{64}", repro["sha256"]["data"])
    assert re.fullmatch(r"[0-9a-f]{64}", repro["sha256"]["model"])
    assert re.fullmatch(r"[0-9a-f]{64}", repro["sha256"]["config"])
    assert repro["git_commit"] == "not available" or re.fullmatch(
        r"[0-9a-f]{40}", repro["git_commit"]
    )
    assert "--threshold 0.1667" in repro["command_line"] or repro["command_line"].startswith(
        "surrogate"
    )
    assert [s["label"] for s in report["sensitivity"]["settings"]][1:] == ["width 2", "n 200"]
    assert report["fidelity"]["n"] == 24
    limitations = " ".join(report["limitations"]).lower()
    for phrase in ("approximate", "association", "outside the data", "compliance review"):
        assert phrase in limitations


def test_scope_prints_the_demo_trainer_hyper_parameters(german_report):
    scope = _json(german_report)["scope"]
    parameters = {p["name"]: p["value"] for p in scope["model_parameters"]}
    assert parameters["max_leaf_nodes"] == 8 and parameters["early_stopping"] is True
    html = (german_report / "report.html").read_text(encoding="utf-8")
    assert "Hyper-parameters" in html and "l2_regularization" in html


def test_reason_codes_are_few_and_never_prohibited(german_report):
    report = _json(german_report)
    rc = report["reason_codes"]
    prohibited = set(rc["policy"]["prohibited"])
    assert {"personal_status_sex", "foreign_worker", "age"} <= prohibited
    for case in rc["cases"]:
        assert len(case["reasons"]) <= 4
        assert [r["rank"] for r in case["reasons"]] == list(range(1, len(case["reasons"]) + 1))
        for reason in case["reasons"]:
            assert reason["contribution"] > 0
            assert not prohibited & set(reason["features"]) and reason["family"] not in prohibited
        if case["fidelity_r2"] is None or case["fidelity_r2"] < 0.5:
            assert case["status"] == "manual_review" and case["reasons"] == []
    with open(german_report / "reason_codes.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["case_id"] for r in rows} == {c["case_id"] for c in rc["cases"]}
    assert all(int(r["rank"]) <= 4 for r in rows if r["rank"])


def test_local_cases_state_contributions_that_add_up_in_log_odds(german_report):
    report = _json(german_report)
    assert report["reason_codes"]["unit"] == "log-odds of 'bad'"
    assert report["local"]["settings"]["threshold"] == pytest.approx(0.1667)
    for case in report["local"]["cases"]:
        assert case["unit"] == "log-odds of 'bad'"
        assert case["reference"].startswith("the training data")
        total = case["baseline"] + sum(t["contribution"] for t in case["terms"])
        assert total == pytest.approx(case["intercept"], abs=1e-9)
        p = case["prediction"]
        assert case["prediction_in_scale"] == pytest.approx(math.log(p / (1 - p)))
        assert abs(case["intercept"] - case["prediction_in_scale"]) == pytest.approx(
            case["fidelity"]["query_gap"], abs=1e-9
        )


def test_findings_are_the_reports_own_figures(german_report):
    from surrogate.report.findings import CUTOFFS, expected_calibration_error, severity

    report = _json(german_report)
    perf, items = report["performance"], report["findings"]["items"]
    by_kind = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(item)
        assert item["severity"] == severity(item["kind"], item["value"])
    # reasons recomputed under other seeds, and checked against the model itself
    assert set(by_kind) == set(CUTOFFS) | {
        "reason_seeds",
        "reason_model_check",
        "reason_safer_category",
        "reason_surrogate_disagrees",
        "reason_opposite_directions",
    }
    order = [{"high": 0, "needs attention": 1, "medium": 2, "low": 3}[i["severity"]] for i in items]
    assert order == sorted(order)
    (over,) = by_kind["overfitting"]
    assert over["value"] == pytest.approx(perf["training"]["auc"] - perf["held_out"]["auc"])
    (calibration,) = by_kind["calibration"]
    bins = perf["held_out"]["calibration"]
    assert calibration["value"] == pytest.approx(expected_calibration_error(bins))
    (local,) = by_kind["local_fidelity"]
    assert local["value"] == report["fidelity"]["share_below_min"]
    (best,) = by_kind["global_fidelity"]
    families = ("tree", "rules", "additive")
    assert best["value"] == max(report["global"][f]["fidelity"]["r2"] for f in families)
    (prohibited,) = by_kind["prohibited_bases"]
    rc = report["reason_codes"]
    using = sum(1 for c in rc["cases"] if c["prohibited_used"])
    assert prohibited["value"] == pytest.approx(using / rc["n_cases"])
    gaps = {t["feature"]: t for t in report["subgroups"]["features"]}
    for item in by_kind["subgroup_gap"]:
        table = report["subgroups"]["features"][item["table"]]
        assert item["value"] == table["approval_ratio"]
    assert set(gaps) == set(rc["policy"]["prohibited"])


def test_subgroup_tables_add_up_to_the_held_out_figures(german_report):
    report = _json(german_report)
    held = report["performance"]["held_out"]
    for table in report["subgroups"]["features"]:
        groups = table["groups"]
        assert sum(g["n"] for g in groups) == held["n"]
        declined = sum(g["n"] * g["decline_rate"] for g in groups) / held["n"]
        adverse = sum(g["n"] * g["adverse_rate"] for g in groups) / held["n"]
        assert declined == pytest.approx(held["decline_rate"])
        assert adverse == pytest.approx(held["base_rate"])
        compared = [g for g in groups if g["n"] >= report["subgroups"]["min_group"]]
        if len(compared) >= 2:
            approval = [1 - g["decline_rate"] for g in compared]
            assert table["approval_ratio"] == pytest.approx(min(approval) / max(approval))
    ages = next(t for t in report["subgroups"]["features"] if t["feature"] == "age")
    assert [g["group"] for g in ages["groups"]][0].startswith("age <= ")


def test_saved_configuration_reruns_the_review_exactly(german_report, tmp_path):
    saved = ReviewConfig.from_toml(german_report / "review.toml")
    assert saved.threshold == 0.1667 and saved.n_samples == 300 and saved.max_cases == 4
    rerun = tmp_path / "rerun"
    run_cli(["report", "--config", str(german_report / "review.toml"), "--out", str(rerun)])
    first, second = _json(german_report), _json(rerun)
    for report in (first, second):
        report["scope"].pop("generated_at")
        report["reproducibility"].pop("command_line")
        report["reproducibility"].pop("rerun_command")
        report["reproducibility"]["sha256"].pop("config")  # the output folder differs
    assert first == second
    assert (german_report / "explanations.jsonl").read_bytes() == (
        rerun / "explanations.jsonl"
    ).read_bytes()
    assert (german_report / "reason_codes.csv").read_bytes() == (
        rerun / "reason_codes.csv"
    ).read_bytes()


def test_html_is_rendered_from_the_json_alone(german_report):
    report = _json(german_report)
    again = render_report_html(report)
    strip = re.compile(r"Generated [^<]*")
    html = (german_report / "report.html").read_text(encoding="utf-8")
    assert strip.sub("", again) == strip.sub("", html)


# ---- configuration --------------------------------------------------------------------------------------------
def test_config_round_trips_through_toml(tmp_path):
    config = ReviewConfig(
        data="german-credit",
        threshold=0.2,
        rows=[1, 2],
        select="rows",
        intended_use='quotes " and \\ and \x7f',
        sensitivity_widths=[0.25],
    )
    path = tmp_path / "review.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    assert ReviewConfig.from_toml(path) == config


def test_config_errors_name_the_setting(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[explanation]\nn_samples = 'many'\n")
    with pytest.raises(ParameterError, match="n_samples"):
        ReviewConfig.from_toml(path)
    path.write_text("[explanation]\nsamples = 3\n")
    with pytest.raises(ParameterError, match="samples"):
        ReviewConfig.from_toml(path)
    with pytest.raises(ParameterError, match="--adverse-class"):
        ReviewConfig(data=str(tmp_path / "x.csv"), target="y").resolved()
    with pytest.raises(ParameterError, match="--target"):
        ReviewConfig(data=str(tmp_path / "x.csv"), adverse_class="1").resolved()


def test_rows_outside_the_split_are_refused(tmp_path):
    config = ReviewConfig(select="rows", rows=[10_000], n_samples=100, out=str(tmp_path / "r"))
    with pytest.raises(ParameterError, match="outside the held-out split"):
        build_report(config)


# ---- model files ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model():
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    return LogisticRegression().fit(X, [0, 0, 1, 1])


def test_joblib_needs_trust(tiny_model, tmp_path):
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(tiny_model, path)
    with pytest.raises(ModelError, match="--trust-model-file"):
        load_model(path, trust=False)
    assert load_model(path, trust=True).predict([[3.0]])[0] == 1


def test_skops_refuses_untrusted_types(tiny_model, tmp_path):
    import operator

    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    plain = tmp_path / "plain.skops"
    sio.dump(tiny_model, plain)
    assert load_model(plain, trust=False).predict([[3.0]])[0] == 1
    risky = tmp_path / "risky.skops"
    # operator.pos is outside skops' default trusted set: the file must be refused untrusted
    identity = FunctionTransformer(operator.pos)
    fitted = Pipeline([("f", identity), ("m", tiny_model)]).fit(np.array([[0.0], [3.0]]), [0, 1])
    sio.dump(fitted, risky)
    assert sio.get_untrusted_types(file=risky) == ["_operator.pos"]
    with pytest.raises(ModelError, match="_operator.pos.*--trust-model-file"):
        load_model(risky, trust=False)
    assert load_model(risky, trust=True).predict(np.array([[3.0]]))[0] == 1


def test_other_model_files_are_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"x")
    with pytest.raises(ParameterError, match=r"\.skops, \.joblib, \.pt2"):
        load_model(path, trust=True)


def test_pdf_without_chromium_says_so(monkeypatch, tmp_path):
    from surrogate.report import pdf

    monkeypatch.setattr(pdf, "find_browser", lambda: None)
    html = tmp_path / "report.html"
    html.write_text("<p>x</p>")
    with pytest.raises(DependencyError, match="Chromium"):
        pdf.html_to_pdf(html, tmp_path / "report.pdf")


# ---- hostile data --------------------------------------------------------------------------------------------------
HOSTILE_NUMBER = "<script>alert(1)</script>"
HOSTILE_FORMULA = '=HYPERLINK("http://x")'
HOSTILE_TEMPLATE = "{{ 7*7 }} {% raw %}"
HOSTILE_CATEGORY_COLUMN = "quote\"s 'and' @at"
HOSTILE_VALUES = ("+cat", "-dog", "@bird", "<b onmouseover=x>b</b>", "=1+1", "{{ 6*7 }}")


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 500
    frame = pd.DataFrame(
        {
            HOSTILE_NUMBER: rng.normal(size=n),
            HOSTILE_FORMULA: rng.normal(size=n),
            HOSTILE_TEMPLATE: rng.normal(size=n),
            HOSTILE_CATEGORY_COLUMN: rng.choice(HOSTILE_VALUES, n),
        }
    )
    logit = (
        2.5 * frame[HOSTILE_NUMBER]
        - 2.0 * frame[HOSTILE_FORMULA]
        + 1.5 * (frame[HOSTILE_CATEGORY_COLUMN] == "=1+1")
    )
    frame["label"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "<bad>", "good")
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "hostile.csv"
    frame.to_csv(data, index=False)
    families = folder / "families.csv"
    families.write_text(
        "family,features,text\n"
        f'"@Risky <i>family</i>","{HOSTILE_NUMBER};{HOSTILE_FORMULA.replace(chr(34), chr(34) * 2)}","-Score {{{{ x }}}}"\n',
        encoding="utf-8",
    )
    config = ReviewConfig(
        data=str(data),
        target="label",
        train="logreg",
        adverse_class="<bad>",
        threshold=0.5,
        families=str(families),
        prohibited=[HOSTILE_TEMPLATE],
        max_cases=5,
        n_samples=300,
        fidelity_survey=10,
        sensitivity_cases=1,
        sensitivity_widths=[2.0],
        sensitivity_n_samples=[200],
        global_augment=0,
        out=str(folder / "out"),
        model_id="<script>id</script>",
        intended_use="{{ '%s' % 1 }} & <img src=x>",
    )
    from surrogate.report import write_report

    bundle = build_report(config)
    write_report(bundle)
    return folder / "out", bundle


def test_hostile_names_are_escaped_in_html(hostile_report):
    folder, _ = hostile_report
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert (
        "<script" not in html.lower() and "<img" not in html.lower() and "<b " not in html.lower()
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert (
        "&lt;b onmouseover=x&gt;" in html
        or "&lt;b onmouseover=x&gt;b&lt;/b&gt;" in html.replace("&#34;", '"')
    )
    assert "{{ 7*7 }}" in html and "{% raw %}" in html  # shown literally, never evaluated
    assert "&lt;script&gt;id&lt;/script&gt;" in html
    parsed = _spans(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "i" not in parsed.tags
    report = _json(folder)
    assert all(_matches(s, lookup(report, s["key"])) for s in parsed.spans)


def test_hostile_names_reach_reasons_and_csv_is_neutralised(hostile_report):
    folder, bundle = hostile_report
    with_reasons = [c for c in bundle.reasons if c.reasons]
    assert with_reasons, (
        "the hostile logistic model should be explained well enough to give reasons"
    )
    assert any(r.family == "@Risky <i>family</i>" for c in with_reasons for r in c.reasons)
    for case in bundle.reasons:
        assert all(HOSTILE_TEMPLATE not in r.features for r in case.reasons)
    text = (folder / "reason_codes.csv").read_text(encoding="utf-8")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not any(cell.startswith(FORMULA_PREFIXES) for cell in cells)
    assert "'@Risky <i>family</i>" in cells
    # a reason's text names the hostile feature and the applicant's value: neutralised too
    assert any(cell.startswith('\'=HYPERLINK("http://x") of ') for cell in cells)


def test_hostile_names_are_escaped_in_dot_and_svg(hostile_report):
    from surrogate import GlobalExplanation
    from surrogate.render.dot import render
    from surrogate.render.html import sanitize_svg

    folder, _ = hostile_report
    report = _json(folder)
    tree = report["global"]["tree"]
    assert tree["available"], tree.get("error")
    dot = GlobalExplanation.from_json(json.dumps(tree["explanation"])).to_dot()
    assert "<script>" not in dot and "\\<script\\>" in dot
    svg = sanitize_svg(render(dot, "svg"), id_prefix="t-")
    assert "<script" not in svg.lower()
    assert "&lt;script&gt;" in svg


def test_hostile_names_are_escaped_in_markdown(hostile_report):
    _, bundle = hostile_report
    text = bundle.explanations[0].to_markdown()
    assert "<script>" not in text and "<b " not in text
    assert "{{" not in text  # Markdown-escaped braces


def test_sanitize_svg_drops_active_content():
    from surrogate.render.html import sanitize_svg

    svg = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'onload="x()"><script>alert(1)</script><foreignObject><p>x</p></foreignObject>'
        '<a xlink:href="javascript:x()"><text>t</text></a><image href="http://evil/x.png"/>'
        '<style>@import url(http://evil/x.css);</style><g id="g1" style="fill:url(#p)"><use xlink:href="#g1"/>'
        '<use href="http://evil/#x"/></g></svg>'
    )
    out = sanitize_svg(svg, id_prefix="d0-")
    for bad in (
        "script",
        "foreignObject",
        "javascript",
        "onload",
        "http",
        "@import",
        "<a",
        "<image",
    ):
        assert bad not in out, bad
    assert 'id="d0-g1"' in out and 'href="#d0-g1"' in out and "url(#d0-p)" in out
    with pytest.raises(ParameterError):
        sanitize_svg(
            '<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>',
            id_prefix="x",
        )


def test_plots_are_deterministic():
    from surrogate.render.plots import calibration_svg, histogram_svg

    assert calibration_svg([0.1, 0.6], [0.2, 0.5], [3, 4]) == calibration_svg(
        [0.1, 0.6], [0.2, 0.5], [3, 4]
    )
    first = histogram_svg([0.1, 0.5, 0.9], threshold=0.5, xlabel="R2")
    assert first == histogram_svg([0.1, 0.5, 0.9], threshold=0.5, xlabel="R2")
    assert "<dc:date>" not in first


def test_explanation_html_fragment_escapes(hostile_report):
    from surrogate.explanation import ExplanationSet
    from surrogate.render.html import explanation_repr_html, explanation_set_repr_html

    _, bundle = hostile_report
    fragment = explanation_repr_html(bundle.explanations[0])
    assert "<script" not in fragment.lower() and fragment.startswith("<div")
    many = ExplanationSet(
        bundle.explanations, indices=list(range(len(bundle.explanations))), failures=[]
    )
    table = explanation_set_repr_html(many)
    assert "<script" not in table.lower() and "<table>" in table


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [(0, 10, (0.0, 0.2775)), (5, 10, (0.2366, 0.7634)), (30, 100, (0.2189, 0.3958))],
)
def test_wilson_interval_known_values(successes, n, expected):
    from surrogate.report.findings import wilson_interval

    assert wilson_interval(successes, n) == pytest.approx(expected, abs=5e-5)
    assert wilson_interval(0, 0) is None


def test_subgroups_and_severities_known_answers():
    from surrogate.report.findings import severity, subgroups

    X = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40 + ["c"] * 5, "x": np.arange(85.0)})
    scores = np.r_[np.full(40, 0.9), np.r_[np.full(30, 0.1), np.full(10, 0.6)], np.full(5, 0.9)]
    adverse = np.r_[np.arange(40) % 2 == 0, np.arange(40) < 10, np.ones(5, dtype=bool)]
    (g, x) = subgroups(X, adverse, scores, features=["g", "x"], threshold=0.5, X_train=X)
    assert [r["group"] for r in g["groups"]] == ["a", "b", "c"]
    assert [r["decline_rate"] for r in g["groups"]] == [1.0, 0.25, 1.0]
    intervals = [r["decline_rate_interval"] for r in g["groups"]]
    assert intervals[0][1] == 1.0 and intervals[2][1] == 1.0  # all declined: up to 1 exactly
    assert intervals[2][0] < intervals[0][0] < 1.0  # 5 rows say less than 40
    assert intervals[1][0] < 0.25 < intervals[1][1]
    assert g["n_compared"] == 2 and g["approval_ratio"] == 0.0  # c has 5 rows: not compared
    # b: its 10 adverse rows score 0.1, tied with 20 others and below 10: AUC (20 / 2) / 30
    assert g["decline_rate_gap"] == 0.75 and g["groups"][1]["auc"] == pytest.approx(1 / 3)
    assert [r["group"] for r in x["groups"]] == [
        "x <= 21",
        "21 < x <= 42",
        "42 < x <= 63",
        "x > 63",
    ]
    assert [r["n"] for r in x["groups"]] == [22, 21, 21, 21]
    assert severity("overfitting", 0.10) == "high" and severity("overfitting", 0.05) == "low"
    assert (
        severity("prohibited_bases", 0.0) == "low"
        and severity("prohibited_bases", 0.01) == "medium"
    )
    assert severity("subgroup_gap", 0.79) == "high" and severity("subgroup_gap", 0.85) == "medium"
    assert severity("global_fidelity", 0.9) == "low"


def test_declined_cases_reasons_are_recomputed_under_other_seeds(german_report):
    report = _json(german_report)
    rc = report["reason_codes"]
    stability = rc["seed_stability"]
    assert stability["performed"] and stability["n_seeds"] == 4
    assert stability["n_cases"] == rc["n_declined"] == len(stability["cases"])
    for case in stability["cases"]:
        assert 0 <= case["identical"] <= case["first_same"] <= stability["n_seeds"]
    k = stability["n_seeds"]
    assert stability["share_first_same"] == pytest.approx(
        np.mean([c["first_same"] == k for c in stability["cases"]])
    )
    assert stability["share_identical"] <= stability["share_first_same"]
    (finding,) = [f for f in report["findings"]["items"] if f["kind"] == "reason_seeds"]
    assert finding["value"] == pytest.approx(1 - stability["share_first_same"])
    assert "reason_seeds" in {c["finding"] for c in report["findings"]["cutoffs"]}


def _surrogate_ranking(case, max_reasons: int, min_effect: float = 0.0) -> list[str]:
    """The families the case's local surrogate ranks: positive totals (at least
    ``min_effect``), largest first."""
    totals: dict[str, float] = {}
    for c in case["contributions"]:
        if c["eligible"]:
            totals[c["family"]] = totals.get(c["family"], 0.0) + c["contribution"]
    kept = [f for f in totals if totals[f] > 0 and totals[f] >= min_effect]
    return sorted(kept, key=lambda f: (-totals[f], f))[:max_reasons]


def test_reasons_are_the_models_own_effects_and_the_surrogate_is_checked_against_them(
    german_report,
):
    report = _json(german_report)
    rc = report["reason_codes"]
    assert rc["ranked_by"] == "model"
    html = (german_report / "report.html").read_text(encoding="utf-8")
    assert "own principal reason (its families ranked by their contributions)" in html
    check = rc["model_check"]
    with_reasons = [c for c in rc["cases"] if c["status"] == "reasons"]
    assert check["performed"] and check["n_cases"] == len(with_reasons) > 0
    assert check["n_reference_rows"] == check["n_population"] == 700  # all training applicants
    by_id = {c["case_id"]: c for c in check["cases"]}
    minimum = rc["policy"]["min_effect"]
    for case in with_reasons:
        measured = by_id[case["case_id"]]["effects"]
        effects = {e["family"]: e["effect"] for e in measured}
        errors = {e["family"]: e["standard_error"] for e in measured}
        assert not set(effects) & {"personal_status_sex", "foreign_worker", "age"}
        # material: at least the minimum effect and two standard errors above zero
        material = [f for f in effects if effects[f] >= max(minimum, 2 * errors[f])]
        ranked = sorted(material, key=lambda f: (-effects[f], f))
        assert [r["family"] for r in case["reasons"]] == ranked[: rc["policy"]["max_reasons"]]
        for reason in case["reasons"]:
            assert reason["contribution"] == reason["model_effect"] == effects[reason["family"]]
            assert reason["model_standard_error"] == errors[reason["family"]]
        dropped = {d["family"] for d in case["dropped"]}
        assert dropped == {f for f in effects if 0 < effects[f] and f not in material}
        checked = by_id[case["case_id"]]
        surrogate = _surrogate_ranking(case, rc["policy"]["max_reasons"])
        assert checked["principal"] == (surrogate[0] if surrogate else None)
        assert checked["agrees"] == (checked["principal"] == checked["largest"] == ranked[0])
        by_effect = sorted(surrogate, key=lambda f: (-effects[f], f))
        assert checked["same_order"] == (surrogate == by_effect)
    assert check["share_agrees"] == pytest.approx(np.mean([c["agrees"] for c in check["cases"]]))
    (finding,) = [f for f in report["findings"]["items"] if f["kind"] == "reason_model_check"]
    clearly = sum(not c["agrees"] and not c["near_tie"] for c in check["cases"])
    assert finding["value"] == pytest.approx(clearly / check["n_cases"])
    # ranked by the model, a case's reasons can change with the seed only with its status
    for case in rc["seed_stability"]["cases"]:
        assert case["identical"] == case["first_same"]
    with open(german_report / "reason_codes.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["rank"]]
    # each figure under its own name; no column holds one figure under the other's word
    assert "contribution" not in (reader.fieldnames or ())
    for column, key in (
        ("model_effect", "model_effect"),
        ("model_effect_standard_error", "model_standard_error"),
        ("surrogate_contribution", "surrogate_contribution"),
    ):
        stated = {(c["case_id"], r["rank"]): r[key] for c in with_reasons for r in c["reasons"]}
        assert {(r["case_id"], int(r["rank"])): float(r[column]) for r in rows} == stated


def test_reasons_ranked_by_the_surrogate_are_its_own_ranking_checked_against_the_model(
    tmp_path,
):
    config = ReviewConfig(
        ranked_by="surrogate",
        n_samples=300,
        max_cases=4,
        fidelity_survey=8,
        sensitivity_cases=1,
        sensitivity_widths=[2.0],
        sensitivity_n_samples=[200],
        reason_seeds=0,
        global_augment=0,
        out=str(tmp_path / "out"),
    )
    report = build_report(config).report
    rc = report["reason_codes"]
    assert rc["ranked_by"] == "surrogate" and rc["method"].startswith("Contributions")
    html = render_report_html(report)
    assert "Against the model itself" in html and "The principal reason is the family" in html
    by_id = {c["case_id"]: c for c in rc["model_check"]["cases"]}
    with_reasons = [c for c in rc["cases"] if c["status"] == "reasons"]
    assert with_reasons and set(by_id) == {c["case_id"] for c in with_reasons}
    for case in with_reasons:
        ranking = _surrogate_ranking(
            case, rc["policy"]["max_reasons"], rc["policy"]["min_effect"]
        )
        assert [r["family"] for r in case["reasons"]] == ranking
        for reason in case["reasons"]:
            assert reason["contribution"] == pytest.approx(reason["surrogate_contribution"])
        checked = by_id[case["case_id"]]
        effects = {e["family"]: e["effect"] for e in checked["effects"]}
        assert [r["model_effect"] for r in case["reasons"]] == [
            effects[r["family"]] for r in case["reasons"]
        ]
        assert checked["agrees"] == (case["reasons"][0]["family"] == checked["largest"])


def test_the_surrogate_check_finding_says_what_kind_each_disagreement_is():
    from surrogate.report import findings

    def case(principal, largest, near_tie=False):
        return {"principal": principal, "agrees": principal == largest, "near_tie": near_tie}

    cases = [
        case("a", "a"),
        case("b", "a", near_tie=True),
        case(None, "a"),
        case("c", "a"),
        case("d", "a"),
    ]
    check = {"performed": True, "n_cases": 5, "n_near_ties": 1, "share_agrees": 0.2}
    rc = {"ranked_by": "model", "model_check": {**check, "cases": cases}}
    item = findings._reason_model_check({"reason_codes": rc})
    assert item["value"] == pytest.approx(3 / 5)  # near ties are not counted against it
    assert item["title"].startswith("Local explanations'")
    assert "local surrogate's principal reason" in item["text"]
    assert "Of the 4 where it is not, 1 is a near tie" in item["text"]
    assert "in 1 the surrogate puts no family" in item["text"]
    assert "2 put first a family the model does not" in item["text"]
    by_surrogate = findings._reason_model_check({"reason_codes": {**rc, "ranked_by": "surrogate"}})
    assert by_surrogate["title"] == "Principal reasons against the model itself"
    assert "ranked by those effects" not in by_surrogate["text"]
    stability = {"performed": True, "n_seeds": 4, "n_cases": 5}
    stability.update(share_first_same=0.8, share_identical=0.8)
    for ranked_by, why in (("model", "only when its status does"), ("surrogate", "sampling noise")):
        seeds = {"ranked_by": ranked_by, "seed_stability": stability}
        assert why in findings._reason_seeds({"reason_codes": seeds})["text"]


def test_prohibited_bases_none_declared_read_not_checked_never_low():
    from surrogate.report import findings

    def report(prohibited, used=()):
        cases = [{"prohibited_used": list(used)}, {"prohibited_used": []}]
        rc = {
            "n_cases": 2,
            "cases": cases,
            "policy": {"prohibited": prohibited},
            "prohibited_used": [{"feature": f, "n_cases": 1} for f in used],
        }
        return {"reason_codes": rc}

    item = findings._prohibited(report([]))
    assert item["severity"] == findings.NOT_CHECKED == "needs attention"
    assert item["value"] is None and item["text"].startswith("Not checked: none declared")
    assert "--prohibited" in item["text"]
    graded = findings._graded([item, findings._prohibited(report(["age"], ["age"]))], None)
    assert [g["severity"] for g in graded] == ["high", "needs attention"]
    declared = findings._prohibited(report(["age"]))
    assert findings._graded([declared], None)[0]["severity"] == "low"
    assert "No local explanation gives weight" in declared["text"]


def test_a_not_checked_finding_is_shown_with_its_severity_and_no_figure(small_review):
    import copy

    report = copy.deepcopy(small_review.report)
    from surrogate.report import findings

    report["reason_codes"]["policy"]["prohibited"] = []
    report["findings"]["items"] = findings.findings(report)
    html = render_report_html(report)
    assert '<span class="sev-needs-attention">needs attention</span>' in html
    assert "Not checked: none declared" in html


def test_the_table_of_contents_matches_the_numbered_headings(small_review):
    html = render_report_html(small_review.report)
    nav = html[html.index("<nav>") : html.index("</nav>")]
    listed = re.findall(r'<li><a href="#([a-z]+)">([^<]+)</a></li>', nav)
    headings = re.findall(r'<h2 id="([a-z]+)">(\d+)\. ([^<]+)</h2>', html)
    assert len(listed) == 11
    assert [(key, int(n), title) for key, n, title in headings] == [
        (key, i + 1, title) for i, (key, title) in enumerate(listed)
    ]
    reasons = 1 + [key for key, _ in listed].index("reasons")
    assert f"Reason codes (section {reasons})" in html


def test_rules_wrap_between_words_not_inside_them(small_review):
    html = render_report_html(small_review.report)
    style = html[html.index("<style>") : html.index("</style>")]
    assert "break-all" not in style  # it broke "AND" into "AN D"
    assert re.search(r"\.mono \{[^}]*overflow-wrap: anywhere", style)


def test_the_case_panel_shows_the_models_effects_beside_the_surrogates(small_review):
    report = small_review.report
    html = render_report_html(report)
    panels = html.split('<div class="case">')[1:]
    rc = report["reason_codes"]
    assert len(panels) == len(rc["cases"])
    for panel, case, local in zip(panels, rc["cases"], report["local"]["cases"], strict=True):
        panel = panel.split("<h2 ")[0]  # the last case's panel ends where section 6 begins
        assert "{}" not in panel  # notes say the chosen family's settings in words
        assert f"Method: {escape(local['method'])}" in panel
        terms = panel[panel.index('<table class="terms">') :]
        terms = terms[: terms.index("</table>")]
        if local["family"] != "linear":  # no slope columns, so none full of n/a
            assert "Slope" not in terms and "n/a" not in terms
        # an additive case draws its top features' shapes, the applicant's value marked
        shapes = local["shapes"]
        assert (len(shapes) > 0) == (local["family"] == "additive")
        sizes = [abs(sh["contribution"]) for sh in shapes]
        assert sizes == sorted(sizes, reverse=True)
        by_feature = {t["feature"]: t["contribution"] for t in local["terms"]}
        assert all(sh["contribution"] == by_feature[sh["feature"]] for sh in shapes)
        if shapes:
            drawn = panel[panel.index('<table class="shapes">') :]
            drawn = drawn[: drawn.index("</table>")]
            assert drawn.count("<svg") == len(shapes) == drawn.count("across: ")
            assert drawn.count("<circle") + drawn.count('fill="#d0743c"') >= len(shapes)
        if not case["effects"]:
            continue
        assert "What decided the reasons" in panel
        effects = [e["model_effect"] for e in case["effects"]]
        assert effects == sorted(effects, reverse=True)  # ordered by the model
        ranks = {e["family"]: e["reason_rank"] for e in case["effects"]}
        assert {r["family"]: r["rank"] for r in case["reasons"]} == {
            f: r for f, r in ranks.items() if r is not None
        }
        for e in case["effects"]:
            if e["members"]:
                own = [m["model_effect"] for m in e["members"]]
                assert own == sorted(own, reverse=True)
        model_order = [r["family"] for r in case["reasons"]]
        assert ("The surrogate's order differs" in panel) == (case["surrogate_order"] != model_order)
        policy = rc["policy"]
        ranked = _surrogate_ranking(case, policy["max_reasons"], policy["min_effect"])
        assert case["surrogate_order"] == ranked


def test_survey_and_sensitivity_name_the_families_used(small_review):
    report = small_review.report
    html = render_report_html(report)
    assert "Local linear explanations" not in html
    families = report["fidelity"]["families"]
    assert sum(f["n"] for f in families) == report["fidelity"]["n"]
    assert {f["family"] for f in families} == {r["family"] for r in report["fidelity"]["rows"]}
    for setting in report["sensitivity"]["settings"]:
        assert sum(f["n"] for f in setting["families"]) == report["sensitivity"]["n_cases"]


def test_a_note_names_the_chosen_familys_settings_in_words():
    from surrogate.report.analysis import readable_note

    assert readable_note("auto chose additive {} with inner-validation R^2 0.830 (x)") == (
        "auto chose additive with inner-validation R^2 0.830 (x)"
    )
    assert readable_note("auto chose additive {'interactions': 3} with R^2 0.9") == (
        "auto chose additive (with interactions = 3) with R^2 0.9"
    )
    assert readable_note("kept point mass {0}") == "kept point mass {0}"


def test_each_stage_is_told_with_its_elapsed_time(capsys):
    from surrogate.cli import build_parser
    from surrogate.cli.report import stage_line
    from surrogate.report.builder import Stages

    told: list[str] = []
    stage = Stages(told.append)
    stage("data and model loaded")
    stage("global surrogates fitted")
    assert [re.fullmatch(r"(.+): \d+\.\d s \(elapsed \d+\.\d s\)", t).group(1) for t in told] == [
        "data and model loaded",
        "global surrogates fitted",
    ]
    Stages(None)("nothing told")  # no progress given: silent
    stage_line("rerun check done: 1.0 s (elapsed 9.0 s)")
    out, err = capsys.readouterr()
    assert out == "" and err == "surrogate report: rerun check done: 1.0 s (elapsed 9.0 s)\n"
    assert build_parser().parse_args(["report", "-q"]).quiet
    assert not build_parser().parse_args(["report"]).quiet


def test_the_family_ladder_aims_a_margin_above_the_minimum_fidelity(german_report):
    from surrogate.report.cases import LADDER_MARGIN, local_family

    family, params = local_family(ReviewConfig(min_fidelity=0.7))
    assert family == "auto" and params["target_fidelity"] == pytest.approx(0.7 + LADDER_MARGIN)
    assert local_family(ReviewConfig(min_fidelity=0.98))[1]["target_fidelity"] == 1.0
    settings = _json(german_report)["local"]["settings"]
    assert settings["ladder_target"] == pytest.approx(0.7 + LADDER_MARGIN)
    html = (german_report / "report.html").read_text(encoding="utf-8")
    assert "a margin above the minimum for reasons" in html


def test_a_review_refuses_an_unknown_ranking():
    with pytest.raises(ParameterError, match="ranked_by"):
        ReviewConfig(ranked_by="shap").validate()


def test_reason_seed_finding_grades_the_share_whose_principal_reason_moves():
    from surrogate.report import findings

    def finding(share_first_same, performed=True):
        stability = {
            "performed": performed,
            "n_seeds": 4,
            "n_cases": 10,
            "share_first_same": share_first_same,
            "share_identical": 0.5,
        }
        return findings._reason_seeds({"reason_codes": {"seed_stability": stability}})

    assert [
        findings.severity("reason_seeds", finding(share)["value"]) for share in (1.0, 0.9, 0.7)
    ] == ["low", "medium", "high"]
    assert finding(None, performed=False) is None
    assert findings._reason_seeds({"reason_codes": {"performed": False}}) is None  # regression


def test_the_review_redraws_numbers_from_the_training_values(german_report):
    report = _json(german_report)
    assert report["local"]["settings"]["number_change"] == 0.3
    page = (german_report / "report.html").read_text(encoding="utf-8")
    assert "redrawn from the training values" in page
    with pytest.raises(ParameterError, match=r"number_change must be a number in \[0, 1\]"):
        ReviewConfig(number_change=1.5).resolved()


def test_reason_seeds_outside_its_range_is_refused():
    with pytest.raises(ParameterError, match=r"reason_seeds must be an integer in \[0, 20\]"):
        ReviewConfig(reason_seeds=21).resolved()
