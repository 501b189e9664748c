"""Held-out data a reviewer gives (--test-data, --split-column) and the severity cut-offs of
the review file's [findings] section, through the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surrogate import cli
from surrogate.errors import ParameterError
from surrogate.report import ReviewConfig

#: review settings that keep an end-to-end run to seconds
SMALL_REVIEW = """
[cases]
max_cases = 3

[explanation]
n_samples = 300
local_families = "linear"

[analysis]
fidelity_survey = 12
sensitivity_cases = 1
sensitivity_widths = [2.0]
sensitivity_n_samples = [200]
global_augment = 0
"""
BASE = ["--target", "default", "--adverse-class", "yes", "--train", "logreg"]


def _frame(n: int, seed: int = 0, regions=("north", "south", "east")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, n).round(1)
    region = rng.choice(list(regions), n)
    logit = -(income - 50) / 8 + (region == "south") * 0.8
    default = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"income": income, "region": region, "default": default})


def _run(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()  # this run's output only, not an earlier review's stage lines
    code = cli.main(argv)
    return code, capsys.readouterr().err


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def _json(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A training file, an out-of-time file, a small review file, and a loaded model."""
    folder = tmp_path_factory.mktemp("split")
    _frame(240).to_csv(folder / "train.csv", index=False)
    _frame(90, seed=1).to_csv(folder / "later.csv", index=False)
    (folder / "small.toml").write_text(SMALL_REVIEW, encoding="utf-8")
    return folder


def _review(files: Path, out: Path, *extra: str) -> list[str]:
    return [
        "report",
        "--data",
        str(files / "train.csv"),
        *BASE,
        "--config",
        str(files / "small.toml"),
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def file_review(files):
    out = files / "file-review"
    assert cli.main(_review(files, out, "--test-data", str(files / "later.csv"))) == 0
    return out


# ---- --test-data ------------------------------------------------------------------------------------
def test_test_data_rows_are_the_held_out_rows(file_review, files):
    report = _json(file_review)
    split = report["data"]["split"]
    assert split["kind"] == "file" and split["file"] == "later.csv"
    assert split["n_test"] == 90 and split["n_train"] == 240
    digest = hashlib.sha256((files / "later.csv").read_bytes()).hexdigest()
    assert split["sha256"] == digest
    assert "later.csv" in split["method"] and "test_share" not in split
    assert report["performance"]["held_out"]["n"] == 90
    assert report["performance"]["training"]["n"] == 240
    assert split["not_explained"]["n"] == 0
    html = (file_review / "report.html").read_text(encoding="utf-8")
    assert digest in html and "later.csv" in html
    # a demo model trained here: the general caveat, not the loaded-model one
    assert not any("contaminated" in line for line in report["limitations"])


def test_effective_review_file_round_trips_test_data(file_review, files, tmp_path):
    saved = ReviewConfig.from_toml(file_review / "review.toml")
    assert saved.test_data == str((files / "later.csv").resolve())
    assert saved.split_column is None
    text = (file_review / "review.toml").read_text(encoding="utf-8")
    assert "[findings]" in text and "overfitting_high = 0.1" in text
    rerun = tmp_path / "rerun"
    assert (
        cli.main(["report", "--config", str(file_review / "review.toml"), "--out", str(rerun)]) == 0
    )
    first, second = _json(file_review), _json(rerun)
    assert first["data"]["split"] == second["data"]["split"]
    assert first["findings"] == second["findings"]


def test_held_out_file_with_other_columns_is_refused_in_one_line(files, tmp_path, capsys):
    other = _frame(50, seed=2).rename(columns={"region": "area"}).assign(zip="12345")
    other.to_csv(tmp_path / "other.csv", index=False)
    code, err = _run(
        _review(files, tmp_path / "r", "--test-data", str(tmp_path / "other.csv")), capsys
    )
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "other.csv" in line and "missing ['region']" in line and "extra ['area', 'zip']" in line


def test_held_out_column_of_another_kind_is_refused_in_one_line(files, tmp_path, capsys):
    other = _frame(50, seed=2).assign(income=lambda f: f["income"].map(lambda v: f"{v:.0f}k"))
    other.to_csv(tmp_path / "kinds.csv", index=False)
    code, err = _run(
        _review(files, tmp_path / "r", "--test-data", str(tmp_path / "kinds.csv")), capsys
    )
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "'income' is a number in the data but text in the file" in line


def test_unseen_categories_are_scored_but_not_explained(files, tmp_path, capsys):
    later = _frame(80, seed=3)
    later.loc[[2, 5, 7, 11], "region"] = "west"
    later.loc[[20], "region"] = "far north"
    later.loc[[30], "income"] = np.nan  # never missing in the training data
    later.to_csv(tmp_path / "new_regions.csv", index=False)
    out = tmp_path / "unseen"
    argv = _review(files, out, "--test-data", str(tmp_path / "new_regions.csv"), "--sample", "80")
    assert cli.main(argv) == 0
    report = _json(out)
    record = report["data"]["split"]["not_explained"]
    assert record["n"] == 6 and record["share"] == pytest.approx(6 / 80)
    assert [(v["column"], v["value"], v["n_rows"]) for v in record["values"]] == [
        ("income", None, 1),
        ("region", "far north", 1),
        ("region", "west", 4),
    ]
    assert record["case_ids"] == ["2", "5", "7", "11", "20", "30"]
    # every row is scored: performance and subgroups count all 80
    assert report["performance"]["held_out"]["n"] == 80
    # no case, survey row or reason code comes from an unexplained row
    excluded = set(record["case_ids"])
    cases = {c["case_id"] for c in report["local"]["cases"]}
    assert len(cases) == 74 and not cases & excluded
    surveyed = {r["case_id"] for r in report["fidelity"]["rows"]}
    assert surveyed and not surveyed & excluded
    (finding,) = [f for f in report["findings"]["items"] if f["kind"] == "unexplained_rows"]
    assert finding["value"] == pytest.approx(6 / 80) and finding["severity"] == "high"
    assert "income missing (1 row)" in finding["text"]
    assert "region = 'west' (4 rows)" in finding["text"]
    assert "unexplained_rows" in {c["finding"] for c in report["findings"]["cutoffs"]}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "far north" in html and "a category no training row has" in html
    # asking for such a row by position is refused, naming the values
    code, err = _run(
        _review(files, tmp_path / "r", "--test-data", str(tmp_path / "new_regions.csv"))
        + ["--rows", "0,5"],
        capsys,
    )
    (line,) = _error_lines(err)
    assert code == 2 and "--rows [5]" in line and "region = 'west'" in line


# ---- --split-column ---------------------------------------------------------------------------------
def _with_split_column(n: int, n_test: int, values=("Train", " test ")) -> pd.DataFrame:
    frame = _frame(n, seed=4)
    frame.insert(1, "sample", [values[0]] * (n - n_test) + [values[1]] * n_test)
    return frame


def test_split_column_says_which_rows_are_held_out(tmp_path, files):
    frame = _with_split_column(200, 70)
    frame.loc[3, "sample"] = "TRAIN"
    frame.to_csv(tmp_path / "marked.csv", index=False)
    out = tmp_path / "marked"
    argv = ["report", "--data", str(tmp_path / "marked.csv"), *BASE]
    argv += ["--config", str(files / "small.toml"), "--split-column", "sample", "--out", str(out)]
    assert cli.main(argv) == 0
    report = _json(out)
    split = report["data"]["split"]
    assert split["kind"] == "column" and split["column"] == "sample"
    assert (split["n_train"], split["n_test"]) == (130, 70)
    assert report["performance"]["held_out"]["n"] == 70
    assert "sample" not in {f["name"] for f in report["data"]["features"]}
    # held-out case ids are the data's own row numbers, all from the rows marked test
    assert all(int(c["case_id"]) >= 130 for c in report["local"]["cases"])
    saved = ReviewConfig.from_toml(out / "review.toml")
    assert saved.split_column == "sample" and saved.test_data is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("train", "validation"), "'validation' (30 rows)"),
        (("train", None), "missing (30 rows)"),
        (("train", "train"), "marks no row 'test'"),
    ],
)
def test_bad_split_values_are_refused_in_one_line(tmp_path, capsys, values, expected):
    _with_split_column(100, 30, values).to_csv(tmp_path / "bad.csv", index=False)
    argv = ["report", "--data", str(tmp_path / "bad.csv"), *BASE, "--split-column", "sample"]
    code, err = _run(argv + ["--out", str(tmp_path / "r")], capsys)
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "--split-column 'sample'" in line and expected in line


def test_test_data_and_split_column_exclude_each_other(files, tmp_path, capsys):
    later = str(files / "later.csv")
    code, err = _run(
        _review(files, tmp_path / "r", "--test-data", later, "--split-column", "region"), capsys
    )
    (line,) = _error_lines(err)
    assert code == 2 and "--test-data" in line and "--split-column" in line
    # one from the review file, the other from a flag
    review = tmp_path / "held.toml"
    review.write_text(SMALL_REVIEW + f"\n[data]\ntest_data = {json.dumps(later)}\n")
    argv = ["report", "--data", str(files / "train.csv"), *BASE, "--config", str(review)]
    code, err = _run(argv + ["--split-column", "region", "--out", str(tmp_path / "r")], capsys)
    (line,) = _error_lines(err)
    assert code == 2 and "--test-data" in line and "--split-column" in line


# ---- contamination caveat of a loaded model ------------------------------------------------------------
@pytest.fixture(scope="module")
def loaded_model(files):
    joblib = pytest.importorskip("joblib")
    from surrogate.demo import german_credit_model
    from surrogate.report.tables import read_table

    frame = read_table(files / "train.csv")
    model = german_credit_model(frame.drop(columns=["default"]), frame["default"], trainer="logreg")
    path = files / "model.joblib"
    joblib.dump(model, path)
    return path


def test_contamination_caveat_only_for_a_loaded_model_with_a_random_split(
    files, loaded_model, tmp_path
):
    model = ["--model", str(loaded_model), "--trust-model-file"]
    random_out, given_out = tmp_path / "random", tmp_path / "given"
    assert cli.main(_review(files, random_out, *model)) == 0
    later = str(files / "later.csv")
    assert cli.main(_review(files, given_out, *model, "--test-data", later)) == 0
    random_caveat = _json(random_out)["limitations"][-1]
    given_caveat = _json(given_out)["limitations"][-1]
    assert "contaminated" in random_caveat and "--test-data" in random_caveat
    assert "contaminated" not in given_caveat and "later.csv" in given_caveat
    assert "contaminated" in (random_out / "report.html").read_text(encoding="utf-8")
    assert "contaminated" not in (given_out / "report.html").read_text(encoding="utf-8")


# ---- [findings] cut-offs ------------------------------------------------------------------------------
def test_findings_cut_offs_from_the_review_file_change_a_severity(file_review, files, tmp_path):
    before = _json(file_review)["findings"]
    (calibration,) = [f for f in before["items"] if f["kind"] == "calibration"]
    assert 0.05 < calibration["value"] < 0.10 and calibration["severity"] == "medium"
    high = round(calibration["value"] - 0.01, 2)
    review = tmp_path / "strict.toml"
    review.write_text(SMALL_REVIEW + f"\n[findings]\ncalibration_high = {high}\n")
    out = tmp_path / "strict"
    argv = ["report", "--data", str(files / "train.csv"), *BASE, "--config", str(review)]
    assert cli.main(argv + ["--test-data", str(files / "later.csv"), "--out", str(out)]) == 0
    after = _json(out)["findings"]
    (strict,) = [f for f in after["items"] if f["kind"] == "calibration"]
    assert strict["value"] == calibration["value"] and strict["severity"] == "high"
    (stated,) = [c for c in after["cutoffs"] if c["finding"] == "calibration"]
    assert (stated["high"], stated["medium"]) == (high, 0.05)
    assert ReviewConfig.from_toml(out / "review.toml").calibration_high == high
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "[findings] section" in page


def test_a_high_cut_off_milder_than_the_medium_one_is_refused(files, tmp_path, capsys):
    review = tmp_path / "bad.toml"
    review.write_text("[findings]\noverfitting_high = 0.01\noverfitting_medium = 0.05\n")
    argv = ["report", "--data", str(files / "train.csv"), *BASE, "--config", str(review)]
    code, err = _run(argv + ["--out", str(tmp_path / "r")], capsys)
    (line,) = _error_lines(err)
    assert code == 2 and "overfitting_high (0.01) is below overfitting_medium (0.05)" in line
    review.write_text("[findings]\nsubgroup_gap_high = 1.5\n")
    with pytest.raises(ParameterError, match=r"subgroup_gap_high must be a number in \[0, 1\]"):
        ReviewConfig.from_toml(review).with_overrides(data="german-credit").resolved()


def test_config_round_trips_held_out_settings_and_cut_offs(tmp_path):
    for held_out in ({"test_data": str(tmp_path / "later.parquet")}, {"split_column": "sample"}):
        config = ReviewConfig(
            data=str(tmp_path / "data.csv"),
            target="default",
            calibration_high=0.2,
            calibration_medium=0.1,
            unexplained_rows_high=0.25,
            **held_out,
        )
        path = tmp_path / "review.toml"
        path.write_text(config.to_toml(), encoding="utf-8")
        assert ReviewConfig.from_toml(path) == config


def test_held_out_file_beside_a_bundled_data_set(files, tmp_path, capsys):
    from surrogate.datasets import load_german_credit

    X, y = load_german_credit()
    later = X.iloc[:150].assign(**{str(y.name): y.iloc[:150].to_numpy()})
    later.to_csv(tmp_path / "later.csv", index=False)
    out = tmp_path / "german"
    code, err = _run(
        ["report", "--data", "german-credit", "--test-data", str(tmp_path / "later.csv"),
         "--config", str(files / "small.toml"), "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    split = _json(out)["data"]["split"]
    assert split["kind"] == "file" and split["file"] == "later.csv"
    assert (split["n_train"], split["n_test"]) == (len(X), 150)
    assert split["sha256"] == hashlib.sha256((tmp_path / "later.csv").read_bytes()).hexdigest()
