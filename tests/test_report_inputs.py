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


def _error_lines(err: str) -> list[str]:
    """The lines written to stderr (one, for a refusal said in one line)."""
    return [line for line in err.splitlines() if line.strip()]


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
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "empty.csv" in line and "empty" in line


def test_a_latin1_csv_is_refused_in_one_line(tmp_path, capsys):
    frame = _frame()
    frame.loc[3, "region"] = "südost"
    path = tmp_path / "latin1.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    code, err = _run(
        ["report", "--data", str(path), "--target", "default", "--adverse-class", "yes"], capsys
    )
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "latin1.csv" in line and "UTF-8" in line


def test_a_timestamp_column_with_thousands_of_levels_is_refused(tmp_path, capsys):
    # ISO 8601 timestamps are read as dates (tests/test_datetime.py); others stay text
    frame = _frame(3000)
    frame["opened"] = pd.date_range("2020-01-01", periods=3000, freq="h").strftime("%d/%m/%Y %H:%M")
    path = tmp_path / "stamps.csv"
    frame.to_csv(path, index=False)
    code, err = _run(
        ["report", "--data", str(path), "--target", "default", "--adverse-class", "yes"], capsys
    )
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "'opened'" in line and "3000 distinct values" in line


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
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "model.joblib" in line and "'bank_models'" in line
