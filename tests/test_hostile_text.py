"""Hostile text stays inert: deep JSON, terminal escapes, formulas behind a separator, and
data files that pandas would silently reshape."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate.errors import DataError, ExplanationFormatError
from surrogate.report.reason_csv import FORMULA_PREFIXES, neutralise_cell


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
    from surrogate.report.tables import read_table

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


# ---- integrity round 3 --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cell, expected",
    [
        (" =1+1", " '=1+1"),
        ("\xa0=1+1", "\xa0'=1+1"),
        ("\u2003@SUM(A1)", "\u2003'@SUM(A1)"),
        ("income\n=HYPERLINK(1)", "income\n'=HYPERLINK(1)"),
        ("income\r\n +1", "income\r\n '+1"),
    ],
)
def test_a_formula_behind_white_space_or_a_line_break_is_neutralised(cell, expected):
    assert neutralise_cell(cell) == expected
    for line in neutralise_cell(cell).splitlines():
        assert not line.strip().startswith(FORMULA_PREFIXES)


@pytest.mark.parametrize(
    "text, match",
    [
        ("{value:>300000000}", "at most 100"),
        ("{value:.2f}", "cannot be filled in"),
        ("{value:{feature}}", "may not hold braces"),
    ],
)
def test_a_policy_text_spec_is_bounded(text, match):
    from surrogate.errors import ParameterError
    from surrogate.report.reason_texts import texts_from_tables

    with pytest.raises(ParameterError, match=match):
        texts_from_tables({"income": {"above": text}}, "policy.toml")
    assert texts_from_tables({"income": {"above": "{value:>12}"}}, "p")["income"].above


def _explanation_json() -> str:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    explainer = sg.TabularExplainer(
        lambda rows: rows["a"].to_numpy() - rows["b"].to_numpy(), X, n_samples=200
    )
    return explainer.explain(X.iloc[0]).to_json()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_an_explanation_holding_nan_or_infinity_is_refused(constant):
    text = _explanation_json()
    number = re.search(r'"prediction":(-?[0-9.e+-]+)', text)
    assert number is not None
    with pytest.raises(ExplanationFormatError, match=constant.lstrip("-")):
        sg.Explanation.from_json(text.replace(number.group(0), f'"prediction":{constant}'))


def test_an_explanation_document_with_unknown_keys_is_refused():
    document = json.loads(_explanation_json())
    with pytest.raises(ExplanationFormatError, match=r"Unknown keys \['signed_by'\]"):
        sg.Explanation.from_json(json.dumps({**document, "signed_by": "me"}))
    assert sg.Explanation.from_json(json.dumps(document)).to_json() == _explanation_json()


@pytest.mark.parametrize("text", ['{"schema_version": "1.0"}', "[]", '{"a": NaN}'])
def test_a_malformed_global_explanation_is_a_format_error(text):
    with pytest.raises(ExplanationFormatError):
        sg.GlobalExplanation.from_json(text)


def test_complex_model_outputs_are_refused():
    from surrogate.blackbox import as_blackbox
    from surrogate.errors import ModelOutputError

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    with pytest.raises(ModelOutputError, match="complex numbers"):
        as_blackbox(lambda rows: rows["a"].to_numpy() + 1j, mode="regression", probe_rows=X)


def test_a_control_character_in_a_column_name_is_refused(tmp_path):
    from surrogate.report.tables import read_table

    path = tmp_path / "data.csv"
    path.write_text("inc\x00ome,y\n1,a\n2,b\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"'inc\\x00ome'.*control character '\\x00'"):
        read_table(path)


def test_a_nul_in_a_name_stays_inert_in_dot_and_html():
    from surrogate.render.dot import escape
    from surrogate.report.html import visible_controls

    assert "\x00" not in escape("inc\x00ome") and escape("inc\x00ome") == "inc\\\\x00ome"
    assert escape("a\nb") == "a\\nb"  # a line break in a label still breaks the line
    assert visible_controls("inc\x00ome\u202e") == "inc\\x00ome\\u202e"
    assert visible_controls("two\nlines\tand a tab") == "two\nlines\tand a tab"


def test_a_nul_in_a_column_name_reaches_no_drawing_raw():
    rng = np.random.default_rng(0)
    name = "inc\x00ome"
    X = pd.DataFrame({name: rng.normal(size=300), "b": rng.normal(size=300)})
    explainer = sg.TabularExplainer(
        lambda rows: 2 * rows[name].to_numpy() + rows["b"].to_numpy(), X, n_samples=300
    )
    exp = explainer.explain(X.iloc[0], surrogate="tree", max_depth=2)
    dot = exp.to_dot()
    assert "\x00" not in dot and "inc\\\\x00ome" in dot


def test_global_augmentation_is_bounded_by_its_memory(logistic_world):
    from surrogate.errors import ParameterError

    model, X = logistic_world
    explainer = sg.TabularExplainer(model, X, n_samples=300)
    with pytest.raises(ParameterError, match=r"about [0-9.]+ GiB .* at most [0-9,]+"):
        explainer.explain_global(X.head(200), "tree", augment=100_000)
