"""The reviewer's data files read as tables: CSV or Parquet, text columns as categories or
ISO dates, refused in one line naming the column when they cannot be read faithfully."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..schema import iso_dates

#: fewest labelled rows a review will split
MIN_ROWS = 20


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame; text columns become categories, and dates when
    every present value is an ISO 8601 date or timestamp (``2021-03-01``, ``2021-03-01T10:30Z``).

    Refused with a :class:`DataError` naming the column: a name given to two columns
    (pandas would silently rename the second ``name.1``), a name holding a control
    character, and infinite numbers.
    """
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = _read_csv(path)
    _check_column_names(frame, path)
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            dates = iso_dates(frame[column], f"data file {path.name!r}")
            frame[column] = frame[column].astype("category") if dates is None else dates
    _check_finite(frame, path)
    _check_cardinality(frame, path)
    return frame


#: a text column with more distinct values than this share of its rows (and at least
#: MANY_LEVELS of them) is an identifier or a free-text field, not a category
ID_LIKE_SHARE = 0.5
MANY_LEVELS = 100


def _read_csv(path: Path) -> pd.DataFrame:
    """A UTF-8 CSV file, refused in one line when it is empty or in another encoding."""
    if path.stat().st_size == 0:
        raise DataError(f"The data file {path.name!r} is empty: expected a header and rows.")
    try:
        separator, decimal = csv_dialect(path)
        _check_csv_header(path, separator)
        frame = pd.read_csv(path, encoding="utf-8", sep=separator, decimal=decimal)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"The data file {path.name!r} is not UTF-8 (byte {exc.start}: {exc.reason}); save it "
            "as UTF-8 (e.g. from Latin-1: iconv -f latin1 -t utf-8)."
        ) from exc
    except pd.errors.ParserError as exc:
        raise DataError(
            f"The data file {path.name!r} is not a readable CSV separated by "
            f"{_NAMES[separator]}: {exc}"
        ) from exc
    if len(frame) == 0:
        raise DataError(f"The data file {path.name!r} has a header but no rows.")
    return frame


#: separators a data file may use: the comma, and the semicolon and tab of spreadsheets
#: saved where the comma is the decimal mark
SEPARATORS = ",;\t"
_NAMES = {",": "','", ";": "';'", "\t": "tab"}
#: lines read to recognise the separator and the decimal mark
SNIFF_LINES = 50
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_POINT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")


def csv_dialect(path: Path) -> tuple[str, str]:
    """The separator and decimal mark of a CSV file, recognised (:class:`csv.Sniffer`) on
    its first lines: ``(",", ".")`` for a plain CSV, ``(";", ",")`` for one saved where the
    comma is the decimal mark.

    Refused with a :class:`DataError` naming the separator when the lines do not agree
    on one (the header is one column split at the separator the lines share, yet holds
    another), or when a file separated by ';' or tab writes decimals both ways.
    """
    import csv
    from itertools import islice

    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        lines = [line for line in islice(fh, SNIFF_LINES) if line.strip()]
    sample = "".join(lines)
    try:
        separator = csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        separator = ","
    rows = list(csv.reader(lines, delimiter=separator))
    header = rows[0] if rows else []
    others = [s for s in SEPARATORS if s != separator and any(s in name for name in header)]
    if len(header) == 1 and others:
        raise DataError(
            f"The data file {path.name!r} has a single column when split at "
            f"{_NAMES[separator]}, but its header holds {_NAMES[others[0]]}: its lines do not "
            f"agree on a separator. Save it with one separator (',', ';' or tab) on every line."
        )
    return separator, _decimal_mark(rows[1:], separator, path)


def _decimal_mark(rows: list[list[str]], separator: str, path: Path) -> str:
    """',' when a file not separated by commas writes its decimals with commas."""
    if separator == ",":
        return "."
    cells = [cell.strip() for row in rows for cell in row]
    comma = next((c for c in cells if _COMMA_DECIMAL.match(c)), None)
    point = next((c for c in cells if _POINT_DECIMAL.match(c)), None)
    if comma is not None and point is not None:
        raise DataError(
            f"The data file {path.name!r} is separated by {_NAMES[separator]} and writes "
            f"decimals both with a comma ({comma!r}) and with a point ({point!r}); save it "
            "with one decimal mark."
        )
    return "," if comma is not None else "."


def _check_column_names(frame: pd.DataFrame, path: Path) -> None:
    """Refuse column names holding control characters (NUL, escapes, line breaks): they
    would be written into the report, its drawings and its CSV."""
    import unicodedata

    for column in frame.columns:
        name = str(column)
        controls = sorted({ch for ch in name if unicodedata.category(ch) == "Cc"})
        if controls:
            shown = ", ".join(repr(ch) for ch in controls)
            raise DataError(
                f"The data file {path.name!r} has a column named {name!r}, which holds the "
                f"control character{'s' if len(controls) > 1 else ''} {shown}; rename the column "
                "to printable text."
            )


def _check_cardinality(frame: pd.DataFrame, path: Path) -> None:
    """Refuse text columns that are identifiers or timestamps rather than categories, and
    say so when such a column is numbers spoiled by a few texts."""
    many = [
        column
        for column in frame.columns
        if isinstance(frame[column].dtype, pd.CategoricalDtype)
        and frame[column].nunique() >= MANY_LEVELS
        and frame[column].nunique() > ID_LIKE_SHARE * len(frame)
    ]
    for column in many:
        _check_stray_texts(frame[column], path)
    id_like = [
        f"{column!r} ({frame[column].nunique()} distinct values in {len(frame)} rows)"
        for column in many
    ]
    if id_like:
        raise DataError(
            f"The data file {path.name!r} has text columns that look like identifiers, free text or "
            f"timestamps, not categories: {', '.join(id_like)}. Drop them, or write dates as "
            "ISO 8601 (2021-03-01, 2021-03-01T10:30:00), which are read as dates, before the review."
        )


#: a column whose present values are numbers but for at most this share is a number
#: column with stray texts (e.g. "unknown"), not an identifier
STRAY_TEXT_SHARE = 0.05


def _check_stray_texts(column: pd.Series, path: Path) -> None:
    present = column.dropna().astype(str)
    numbers = pd.to_numeric(present, errors="coerce")
    texts = present[numbers.isna()]
    if 0 < len(texts) <= STRAY_TEXT_SHARE * len(present):
        shown = ", ".join(repr(v) for v in sorted(set(texts))[:5])
        raise DataError(
            f"The data file {path.name!r} has a column of numbers, {column.name!r}, with "
            f"{len(texts)} value{'s' if len(texts) > 1 else ''} that {'are' if len(texts) > 1 else 'is'} "
            f"not a number: {shown} (the first in data row {column.index.get_loc(texts.index[0])}, "
            "counting from 0). Fix them, or leave them empty to mark them missing."
        )


def _check_csv_header(path: Path, separator: str) -> None:
    import csv

    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        header = next(csv.reader(fh, delimiter=separator), [])
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
    repeated = sorted(name for name, count in seen.items() if count > 1)
    if repeated:
        raise DataError(
            f"The data file {path.name!r} names several columns {repeated}; every column needs "
            "its own name (pandas would rename the second one silently)."
        )


def _check_finite(frame: pd.DataFrame, path: Path) -> None:
    import numpy as np

    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        infinite = np.isinf(series.to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise DataError(
                f"Column {str(column)!r} of {path.name!r} is infinite in data row {row} "
                f"({float(series.iloc[row])}); expected finite numbers or missing values."
            )


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
