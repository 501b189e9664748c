"""Regression reviews: a model whose output is a number (a loss given default), not a class.

A CSV whose target is an LGD built from German credit columns by a known formula plus
noise, a scikit-learn regressor saved with skops: the review is complete (performance
as R², MAE and RMSE, local and global surrogates with fidelity in the model's unit,
findings without decline ones, subgroups by mean prediction, actual value and MAE, no
reason codes); the trained demo regressor; every decision setting refused in one line.
"""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surrogate import cli
from surrogate.errors import ParameterError
from surrogate.report import ReviewConfig
from surrogate.report.findings import REGRESSION_FINDINGS
from surrogate.report.html import display, lookup

#: settings that keep a regression review to seconds
FAST = """
[cases]
max_cases = 2

[explanation]
n_samples = 300

[reasons]
prohibited = ["age"]

[analysis]
fidelity_survey = 8
sensitivity_cases = 1
sensitivity_widths = [2.0]
sensitivity_n_samples = [200]
global_augment = 0
"""
FEATURES = ["checking_account", "duration", "credit_amount", "property", "age", "savings"]


def lgd_frame() -> pd.DataFrame:
    """German credit columns and an LGD in [0, 1]: a known formula plus noise."""
    from surrogate.datasets import load_german_credit

    X, _ = load_german_credit()
    frame = X[FEATURES].copy()
    rng = np.random.default_rng(0)
    lgd = (
        0.25
        + 0.2 * (frame["checking_account"] == "< 0 DM")
        + 0.25 * frame["duration"] / 72
        - 0.15 * (frame["property"] == "real estate")
        + 0.05 * (frame["age"] < 25)
        + rng.normal(0, 0.05, len(frame))
    )
    frame["lgd"] = np.clip(lgd.to_numpy(dtype=float), 0.0, 1.0).round(4)
    return frame


def _pipeline(frame: pd.DataFrame, learner):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    categories = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    encode = ColumnTransformer(
        [("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categories)],
        remainder="passthrough",
    )
    return Pipeline([("encode", encode), ("model", learner)])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The LGD data file, a regressor and a classifier (both .skops), the fast settings."""
    import skops.io as sio
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.tree import DecisionTreeClassifier

    from surrogate.report.tables import read_table

    folder = tmp_path_factory.mktemp("lgd")
    data = folder / "lgd.csv"
    lgd_frame().to_csv(data, index=False)
    frame = read_table(data)  # the types the review reads
    y = frame.pop("lgd")
    # boosted trees scored on one thread (no OpenMP), so the review stays quick on a busy machine
    regressor = _pipeline(frame, GradientBoostingRegressor(n_estimators=60, random_state=0))
    sio.dump(regressor.fit(frame, y), folder / "lgd.skops")
    classifier = _pipeline(frame, DecisionTreeClassifier(max_depth=3, random_state=0))
    sio.dump(classifier.fit(frame, (y > 0.4).astype(int)), folder / "high.skops")
    config = folder / "fast.toml"
    config.write_text(FAST, encoding="utf-8")
    return {
        "data": data,
        "regressor": folder / "lgd.skops",
        "classifier": folder / "high.skops",
        "config": config,
    }


def _argv(files, *extra: str) -> list[str]:
    return ["report", "--config", str(files["config"]), "--data", str(files["data"]),
            "--target", "lgd", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def review(files, tmp_path_factory):
    """A review of the regressor file (the task inferred from the model), and its summary."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("review") / "lgd"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli.main(
            _argv(
                files, "--model", str(files["regressor"]), "--trust-model-file", "--out", str(out)
            )
        )
    assert code == 0, buffer.getvalue()
    return out, buffer.getvalue()


def _report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def _numbers(node, where="report"):
    """Every number of a JSON document, with where it is."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numbers(v, f"{where}.{i}")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield where, node


# ---- a regressor file --------------------------------------------------------------------------------
def test_a_regressor_file_gets_a_complete_review(review):
    out, _ = review
    report = _report(out)
    for section in ("scope", "findings", "data", "performance", "global", "local", "fidelity",
                    "sensitivity", "reason_codes", "subgroups", "limitations", "reproducibility"):  # fmt: skip
        assert report[section], section
    assert all(math.isfinite(v) for _, v in _numbers(report))
    scope = report["scope"]
    assert (scope["task"], scope["mode"], scope["unit"]) == (
        "regression",
        "regression",
        "predicted lgd",
    )
    assert "adverse_class" not in scope and "threshold" not in scope
    assert report["data"]["target"]["min"] >= 0 and report["data"]["target"]["max"] <= 1


def test_performance_is_r2_mae_rmse_on_both_splits(review, files):
    report = _report(review[0])
    perf = report["performance"]
    for split in ("held_out", "training"):
        assert perf[split]["task"] == "regression"
        assert {"r2", "mae", "rmse"} <= set(perf[split])
        assert perf[split]["rmse"] >= perf[split]["mae"] > 0
    # the LGD is a known formula plus noise of sd 0.05: a boosted model recovers most of it
    assert perf["held_out"]["r2"] > 0.7
    assert perf["held_out"]["rmse"] < 0.08
    assert perf["held_out"]["n"] == report["data"]["split"]["n_test"]


def test_local_explanations_are_in_the_models_unit_with_fidelity(review):
    out, _ = review
    report = _report(out)
    local = report["local"]
    assert local["selection"] == "sample" and local["n_cases"] == 2 == len(local["cases"])
    for case in local["cases"]:
        assert case["unit"] == "predicted lgd"
        assert case["fidelity"]["r2"] is not None and case["fidelity"]["agreement"] is None
        assert case["prediction_in_scale"] == case["prediction"]  # identity link
        assert "declined" not in case
    assert "threshold" not in local["settings"] and local["settings"]["link"] == "identity"
    lines = (out / "explanations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert all(json.loads(line)["explanation"]["meta"]["link"] == "identity" for line in lines)
    survey = report["fidelity"]
    assert survey["n"] == 8 and all("declined" not in r for r in survey["rows"])


def test_global_surrogates_have_held_out_regression_fidelity(review):
    report = _report(review[0])
    assert report["global"]["scale"].startswith("predicted lgd")
    for family in ("tree", "rules", "additive"):
        g = report["global"][family]
        assert g["available"], g["error"]
        assert g["fidelity"]["r2"] is not None and g["fidelity"]["mae"] >= 0
        assert g["fidelity"]["agreement"] is None and g["fidelity"]["agreement_by_class"] == []


def test_findings_leave_out_decline_ones_and_say_why(review):
    report = _report(review[0])
    items = report["findings"]["items"]
    kinds = {f["kind"] for f in items}
    assert kinds <= set(REGRESSION_FINDINGS)
    assert {"overfitting", "global_fidelity", "local_fidelity", "prohibited_bases"} == kinds
    overfitting = next(f for f in items if f["kind"] == "overfitting")
    perf = report["performance"]
    assert overfitting["value"] == pytest.approx(perf["training"]["r2"] - perf["held_out"]["r2"])
    left_out = {n["finding"] for n in report["findings"]["not_applicable"]}
    assert left_out == {"calibration", "subgroup_gap"}
    assert {c["finding"] for c in report["findings"]["cutoffs"]} == set(REGRESSION_FINDINGS)
    # age enters the LGD formula: the local explanations give it weight
    assert report["local"]["prohibited_used"][0]["feature"] == "age"


def test_subgroups_compare_predictions_actuals_and_errors(review):
    report = _report(review[0])
    (table,) = report["subgroups"]["features"]
    assert table["feature"] == "age"
    assert sum(g["n"] for g in table["groups"]) == report["performance"]["held_out"]["n"]
    for group in table["groups"]:
        assert {"mean_prediction", "mean_actual", "mae"} <= set(group)
        assert "decline_rate" not in group
    means = sum(g["n"] * g["mean_actual"] for g in table["groups"]) / sum(
        g["n"] for g in table["groups"]
    )
    assert means == pytest.approx(report["performance"]["held_out"]["mean_actual"])


def test_no_reason_codes_and_the_summary_says_so(review):
    out, summary = review
    report = _report(out)
    assert report["reason_codes"]["performed"] is False
    assert "decision rule" in report["reason_codes"]["why"]
    assert not (out / "reason_codes.csv").exists()
    assert "declined" not in summary and "reason_codes.csv" not in summary.splitlines()[0]
    assert "reason codes: not produced" in summary
    assert {"what": "reason codes", "why": "a regression review has no decision rule"} in report[
        "scope"
    ]["not_performed"]


class _Spans(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[str, int, str, str]] = []
        self._open: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "span" and attrs.get("class") == "num":
            self._open = [attrs["data-key"], int(attrs["data-digits"]), attrs["data-format"], ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[3] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open is not None:
            self.spans.append(tuple(self._open))
            self._open = None


def test_the_html_shows_the_regression_review(review):
    out, _ = review
    report = _report(out)
    html = (out / "report.html").read_text(encoding="utf-8")
    parser = _Spans()
    parser.feed(html)
    wrong = [s for s in parser.spans if display(lookup(report, s[0]), s[1], s[2]) != s[3]]
    assert not wrong, wrong[:5]
    keys = {s[0] for s in parser.spans}
    for key in ("performance.held_out.r2", "performance.held_out.rmse", "performance.training.mae",
                "global.tree.fidelity.r2", "local.cases.0.fidelity.r2", "fidelity.share_below_min",
                "subgroups.features.0.groups.0.mae", "data.target.mean"):  # fmt: skip
        assert key in keys, key
    text = re.sub(r"<[^>]+>", " ", html)
    assert "predicted lgd" in text and "Not produced." in text
    # nothing of a decision rule: no agreement, probabilities, adverse scores or decline rates
    for absent in ("As a probability", "Adverse score", "Decline rate", "Agreement where",
                   "declined cases explained", "agreement n/a"):  # fmt: skip
        assert absent not in text, absent
    # no figure of performance, global surrogates, survey, subgroups or findings is missing
    # (a category's mean or per-unit slope is n/a in a classification review too)
    figures = ("performance.", "global.", "fidelity.", "subgroups.", "findings.", "sensitivity.")
    na = [s for s in parser.spans if s[3] == "n/a" and s[0].startswith(figures)]
    assert not na, na[:5]


def test_the_saved_review_file_reruns_as_a_regression(review):
    saved = ReviewConfig.from_toml(review[0] / "review.toml")
    assert (saved.task, saved.select, saved.sample, saved.link) == (
        "regression",
        "sample",
        2,
        "identity",
    )
    assert saved.adverse_class is None and saved.threshold is None


# ---- the trained demo regressor ---------------------------------------------------------------------------
def test_a_trained_demo_regressor_on_a_numeric_target(files, tmp_path, capsys):
    out = tmp_path / "ridge"
    argv = _argv(
        files, "--task", "regression", "--train", "logreg", "--rows", "0,1", "--out", str(out)
    )
    assert cli.main(argv) == 0
    report = _report(out)
    assert report["scope"]["task"] == "regression"
    assert report["scope"]["model_parameters"] == [{"name": "alpha", "value": 1.0}]
    assert report["local"]["selection"] == "rows" and report["local"]["n_cases"] == 2
    # a ridge on the one-hot encoded columns: the formula is nearly linear in them
    assert report["performance"]["held_out"]["r2"] > 0.7
    assert "declined" not in capsys.readouterr().out
    (prohibited,) = [f for f in report["findings"]["items"] if f["kind"] == "prohibited_bases"]
    assert "age" in prohibited["text"]  # the formula's age term: the ridge gives it weight


def test_without_a_prohibited_list_the_finding_says_none_is_listed():
    from surrogate.report.findings import regression_findings

    report = {
        "performance": {"held_out": {"task": "regression", "r2": None}, "training": {"r2": None}},
        "global": {},
        "fidelity": {"share_below_min": None},
        "data": {"split": {}},
        "local": {"cases": [{"prohibited_used": []}], "prohibited": [], "prohibited_used": []},
    }
    (finding,) = regression_findings(report)
    assert finding["kind"] == "prohibited_bases" and finding["value"] is None
    assert "No prohibited basis is listed" in finding["text"]
    # nothing was looked for, so nothing was found: never graded "low"
    assert finding["severity"] == "needs attention"
    assert finding["text"].startswith("Not checked: none declared")


def test_each_trainer_has_its_regression_counterpart():
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    from surrogate.demo import TRAINERS, learner

    assert learner("gbm", "regression") is HistGradientBoostingRegressor
    assert learner("logreg", "regression") is Ridge
    for trainer in TRAINERS:
        assert learner(trainer, "regression") is not learner(trainer, "classification")
    with pytest.raises(ParameterError, match="trainer must be one of"):
        learner("forest", "regression")


# ---- refusals ------------------------------------------------------------------------------------------
def _refused(argv: list[str], capsys) -> str:
    capsys.readouterr()  # this run's output only, not an earlier review's stage lines
    code = cli.main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("surrogate: error:") and "Traceback" not in err
    return lines[0]


def test_task_regression_with_a_classifier_is_refused(files, tmp_path, capsys):
    line = _refused(
        _argv(files, "--task", "regression", "--model", str(files["classifier"]),
              "--trust-model-file", "--out", str(tmp_path / "o")),
        capsys,
    )  # fmt: skip
    assert "--task regression contradicts" in line and "a classifier" in line


def test_task_classification_with_a_regressor_is_refused(files, tmp_path, capsys):
    line = _refused(
        _argv(files, "--task", "classification", "--model", str(files["regressor"]),
              "--trust-model-file", "--out", str(tmp_path / "o")),
        capsys,
    )  # fmt: skip
    assert "--task classification contradicts" in line and "a regressor" in line


def test_a_non_numeric_target_is_refused_for_regression(tmp_path, capsys):
    line = _refused(
        ["report", "--data", "german-credit", "--task", "regression", "--out", str(tmp_path / "o")],
        capsys,
    )
    assert "needs a numeric target" in line and "'bad'" in line


def test_a_numeric_target_with_a_stray_text_is_refused_naming_the_text(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.choice(["x", "y"], 300)})
    frame["lgd"] = (0.3 + 0.1 * frame["a"]).round(3).astype(object)
    frame.loc[5, "lgd"] = "unknown"
    path = tmp_path / "lgd.csv"
    frame.to_csv(path, index=False)
    line = _refused(
        ["report", "--data", str(path), "--target", "lgd", "--task", "regression", "--out",
         str(tmp_path / "o")],
        capsys,
    )  # fmt: skip
    assert "column of numbers, 'lgd'" in line and "'unknown'" in line and "row 5" in line
    assert "identifiers" not in line


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--adverse-class", "1"], "adverse_class = '1'"),
        (["--threshold", "0.3"], "threshold = 0.3"),
        (["--declined"], "--declined"),
    ],
)
def test_a_decision_rule_is_refused_for_a_regressor(files, tmp_path, capsys, flags, named):
    line = _refused(
        _argv(files, "--model", str(files["regressor"]), "--trust-model-file", "--out",
              str(tmp_path / "o"), *flags),
        capsys,
    )  # fmt: skip
    assert "regression review has no decision rule" in line and named in line


@pytest.mark.parametrize(
    ("review_file", "named"),
    [
        ('[decision]\ntask = "regression"\nthreshold = 0.3\n', "threshold = 0.3"),
        ('[decision]\ntask = "regression"\nadverse_class = "high"\n', "adverse_class = 'high'"),
        ('[decision]\ntask = "regression"\n[cases]\nselect = "declined"\n', "--declined"),
    ],
)
def test_a_decision_rule_from_the_review_file_is_refused(
    files, tmp_path, capsys, review_file, named
):
    config = tmp_path / "review.toml"
    config.write_text(review_file, encoding="utf-8")
    line = _refused(
        ["report", "--config", str(config), "--data", str(files["data"]), "--target", "lgd",
         "--out", str(tmp_path / "o")],
        capsys,
    )  # fmt: skip
    assert "regression review has no decision rule" in line and named in line


def test_config_defaults_follow_the_task():
    classification = ReviewConfig().resolved()
    assert (classification.task, classification.select, classification.link) == (
        "classification",
        "declined",
        "logit",
    )
    regression = ReviewConfig(data="x.csv", target="lgd", task="regression").resolved()
    assert (regression.select, regression.sample, regression.link) == ("sample", 20, "identity")
    assert "predicting lgd" in regression.intended_use
    with pytest.raises(ParameterError, match="link = 'logit'"):
        ReviewConfig(data="x.csv", target="lgd", task="regression", link="logit").resolved()
    with pytest.raises(ParameterError, match="reference = 'approved'"):
        ReviewConfig(data="x.csv", target="lgd", task="regression", reference="approved").resolved()


# ---- held-out rows given by the reviewer ------------------------------------------------------------
def test_held_out_rows_from_a_file_are_scored_as_numbers(files, tmp_path, capsys):
    frame = lgd_frame()
    train, test = tmp_path / "train.csv", tmp_path / "later.csv"
    frame.iloc[:700].to_csv(train, index=False)
    frame.iloc[700:].to_csv(test, index=False)
    out = tmp_path / "later"
    argv = ["report", "--config", str(files["config"]), "--data", str(train), "--target", "lgd",
            "--test-data", str(test), "--task", "regression", "--train", "logreg", "--rows", "0",
            "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    report = _report(out)
    assert report["data"]["split"]["n_test"] == 300 == report["performance"]["held_out"]["n"]
    assert report["performance"]["held_out"]["mean_actual"] == pytest.approx(
        frame["lgd"].iloc[700:].mean()
    )
    # a held-out file whose target is a class label, not a number
    bad = frame.iloc[700:].assign(lgd=np.where(frame["lgd"].iloc[700:] > 0.4, "high", "low"))
    bad.to_csv(test, index=False)
    line = _refused([*argv[:-1], str(tmp_path / "o")], capsys)
    assert "needs a numeric target" in line and "'high'" in line
