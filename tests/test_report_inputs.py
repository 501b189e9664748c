"""Data and model files a bank has: each refused in one line naming the problem, through the CLI."""

from __future__ import annotations

import re
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


# ---------------------------------------------------------------- separators, arguments, models
def test_a_semicolon_csv_with_decimal_commas_is_read_as_the_comma_csv(tmp_path):
    """Saved where the comma is the decimal mark: it was refused with advice about
    identifier columns, the whole line read as one column."""
    from surrogate.report.tables import read_table

    frame = _frame(300)
    commas, semicolons = tmp_path / "commas.csv", tmp_path / "semicolons.csv"
    frame.to_csv(commas, index=False)
    frame.to_csv(semicolons, index=False, sep=";", decimal=",")
    assert re.search(r"\d,\d+;", semicolons.read_text())  # decimal commas
    read = read_table(semicolons)
    pd.testing.assert_frame_equal(read, read_table(commas))
    assert read["income"].dtype == float and list(read.columns) == list(frame.columns)


def test_a_file_whose_lines_disagree_on_the_separator_is_refused_naming_it(tmp_path, capsys):
    path = tmp_path / "mixed.csv"
    path.write_text("income;region;default\n" + "".join(f"{40 + i},north,yes\n" for i in range(30)))
    code, err = _run(
        ["report", "--data", str(path), "--target", "default", "--adverse-class", "yes"], capsys
    )
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:") and "mixed.csv" in line
    assert "single column when split at ','" in line and "header holds ';'" in line


def test_decimals_written_both_ways_are_refused_naming_the_separator(tmp_path):
    from surrogate.errors import DataError
    from surrogate.report.tables import read_table

    path = tmp_path / "both.csv"
    path.write_text("income;default\n41,5;yes\n42.5;no\n" + "40,0;yes\n" * 30)
    with pytest.raises(DataError, match=r"separated by ';' and writes decimals both with a comma "
                       r"\('41,5'\) and with a point \('42.5'\)"):
        read_table(path)


@pytest.mark.parametrize(
    "argv, command, says",
    [
        (["report", "--threshold", "40"], "surrogate report", "argument --threshold:"),
        (["report", "--no-such-flag"], "surrogate", "unrecognized arguments: --no-such-flag"),
        (
            ["explain", "--n-samples", "many"],
            "surrogate explain",
            "argument --n-samples: invalid int value: 'many'",
        ),
    ],
)
def test_an_argument_error_is_one_line_and_a_pointer_to_help(argv, command, says, capsys):
    """--threshold 40 printed a clear last line after 13 lines of usage."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    error, pointer = _error_lines(capsys.readouterr().err)
    assert info.value.code == 2 and error.startswith(f"{command}: error: ") and says in error
    assert pointer == f"See '{command} --help' for the arguments it takes."


def test_a_model_that_needs_numbers_where_the_file_has_words_names_column_and_row(
    tmp_path, capsys
):
    """"The black box raised ValueError while scoring 64 rows: could not convert string
    to float: 'mildly'" named neither the column nor the row, and "64 rows" is internal."""
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = _frame(300)
    coded = frame.assign(region=frame["region"].map({"north": 0, "south": 1, "east": 2}))
    model = make_pipeline(StandardScaler(), LogisticRegression())
    skops_io.dump(model.fit(coded[["income", "region"]], coded["default"]), tmp_path / "m.skops")
    frame["region"] = coded["region"].astype(str)  # numbers written as text, words among them
    frame.loc[::10, "region"] = "mildly"
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    argv = ["report", "--data", str(data), "--target", "default", "--adverse-class", "yes"]
    code, err = _run([*argv, "--model", str(tmp_path / "m.skops")], capsys)
    (line,) = _error_lines(err)
    assert code == 2 and line.startswith("surrogate: error:")
    assert "raised ValueError on the column 'region', value 'mildly' (training data row " in line
    row = int(re.search(r"training data row (\d+)\)", line).group(1))
    assert frame.loc[row, "region"] == "mildly"  # the data file's row, counted from 0
    assert "64 rows" not in line
