"""Data and model files a bank has: each refused in one line naming the problem, through the CLI."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from surrogate import cli


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


def _one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("surrogate: error:"), err
    for fragment in fragments:
        assert fragment in lines[0]


def _frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "income": rng.normal(50, 10, n).round(1),
            "region": rng.choice(["north", "south", "east"], n),
            "default": rng.choice(["yes", "no"], n),
        }
    )


def test_an_empty_csv_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    code, err = _run(
        ["report", "--data", str(path), "--target", "default", "--adverse-class", "yes"], capsys
    )
    _one_line_error(code, err, "empty.csv", "empty")


def test_a_latin1_csv_is_refused_in_one_line(tmp_path, capsys):
    frame = _frame()
    frame.loc[3, "region"] = "südost"
    path = tmp_path / "latin1.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    code, err = _run(
        ["report", "--data", str(path), "--target", "default", "--adverse-class", "yes"], capsys
    )
    _one_line_error(code, err, "latin1.csv", "UTF-8")


def test_a_timestamp_column_with_thousands_of_levels_is_refused(tmp_path, capsys):
    frame = _frame(3000)
    frame["opened"] = pd.date_range("2020-01-01", periods=3000, freq="h").astype(str)
    path = tmp_path / "stamps.csv"
    frame.to_csv(path, index=False)
    code, err = _run(
        ["report", "--data", str(path), "--target", "default", "--adverse-class", "yes"], capsys
    )
    _one_line_error(code, err, "'opened'", "3000 distinct values")


def test_a_model_file_needing_the_users_module_is_refused_in_one_line(tmp_path, capsys):
    joblib = pytest.importorskip("joblib")
    module = tmp_path / "bank_models.py"
    module.write_text("class Scorer:\n    def predict_proba(self, X):\n        return X\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import bank_models

        joblib.dump(bank_models.Scorer(), tmp_path / "model.joblib")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("bank_models", None)
    data = tmp_path / "data.csv"
    _frame().to_csv(data, index=False)
    argv = ["report", "--data", str(data), "--target", "default", "--adverse-class", "yes"]
    argv += ["--model", str(tmp_path / "model.joblib"), "--trust-model-file"]
    code, err = _run(argv, capsys)
    _one_line_error(code, err, "model.joblib", "'bank_models'")
