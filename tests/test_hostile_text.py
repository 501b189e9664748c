"""Hostile text stays inert: deep JSON, terminal escapes, formulas behind a separator, and
data files that pandas would silently reshape."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate.errors import DataError, ExplanationFormatError
from surrogate.report.reason_codes import FORMULA_PREFIXES, neutralise_cell


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"schema_version": "1.0", "explanation": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001,
    ],
)
def test_deeply_nested_json_is_a_format_error(text):
    with pytest.raises(ExplanationFormatError, match="nested deeper"):
        sg.Explanation.from_json(text)


ESCAPE = "\x1b[31m"
NAME = f"{ESCAPE}income\nWarning: forged line"
LABEL = "\x1b]0;owned\x07\u202egood"


def test_terminal_escapes_in_names_and_labels_are_inert():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({NAME: rng.normal(size=300), "grade": rng.choice([LABEL, "plain"], 300)})

    def model(rows):
        z = 2 * rows[NAME].to_numpy(dtype=float) + (rows["grade"] == LABEL).to_numpy()
        p = 1 / (1 + np.exp(-z))
        return np.column_stack([1 - p, p])

    exp = sg.TabularExplainer(model, X, n_samples=300).explain(X[X["grade"] == LABEL].iloc[0])
    text = exp.to_text()
    assert not any(ch in text for ch in ("\x1b", "\x07", "\u202e", "\r"))
    assert "\\x1b[31mincome\\nWarning: forged line" in text and "\\u202egood" in text
    assert not any(line.startswith("Warning: forged") for line in text.splitlines())
    assert str(exp) == text


@pytest.mark.parametrize(
    "cell, expected",
    [
        ('income;=HYPERLINK("http://x")', 'income;\'=HYPERLINK("http://x")'),
        ("a; +1", "a; '+1"),
        ("a|@SUM(A1)", "a|'@SUM(A1)"),
        ("savings;housing", "savings;housing"),
    ],
)
def test_a_formula_after_a_separator_is_neutralised(cell, expected):
    assert neutralise_cell(cell) == expected
    # read with ";" as the separator, as some spreadsheets do: no piece starts a formula
    pieces = next(csv.reader(io.StringIO(neutralise_cell(cell)), delimiter=";"))
    assert not any(p.lstrip(" ").startswith(FORMULA_PREFIXES) for p in pieces)


def test_a_repeated_csv_header_is_refused(tmp_path):
    from surrogate.report.problem import read_table

    path = tmp_path / "data.csv"
    path.write_text("income,age,income,y\n1,2,3,a\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"\['income'\]"):
        read_table(path)


def test_an_infinite_value_in_a_data_file_names_its_column(tmp_path):
    from surrogate.report import ReviewConfig, build_report

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"income": rng.normal(size=60), "age": rng.normal(size=60)})
    frame["y"] = np.where(frame["income"] > 0, "bad", "good")
    frame.loc[57, "income"] = np.inf
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    config = ReviewConfig(data=str(path), target="y", adverse_class="bad", out=str(tmp_path / "r"))
    with pytest.raises(DataError, match="'income' of 'data.csv' is infinite in data row 57"):
        build_report(config)
