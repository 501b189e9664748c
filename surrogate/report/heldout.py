"""Held-out data the reviewer gives: a file of held-out rows, or a column naming each row's side.

By default a review splits the data at random (:func:`.problem.split_data`). A model
trained elsewhere may have been trained on some of those rows, so its held-out figures
could be optimistic; a validator who knows which rows the model never saw gives them:

* ``--test-data FILE`` (``test_data``): every row of ``--data`` is a training row and the
  file's rows are the held-out rows (an out-of-time sample, say). The file is read with
  the same checks as the data and must have the same columns, each of the same kind
  (number, text, true/false);
* ``--split-column NAME`` (``split_column``): a column of ``--data`` whose values,
  ``train`` or ``test`` (any case, surrounding spaces ignored), say where each row
  belongs; the column is not a feature.

Held-out rows that the training data cannot describe -- a category no training row
has, or a missing value in a feature never missing in training -- stay in the
performance and subgroup figures (the model scores every held-out row), but no local
explanation can be fitted at them: :func:`unexplained_rows` lists them, and the report
states their number, columns and values and grades them as a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from .config import ReviewConfig
from .tables import MIN_ROWS, file_sha256, read_table

#: the values of a split column, compared after stripping spaces and lower-casing
SPLIT_VALUES = ("train", "test")
#: most (column, value) pairs of unexplained rows listed one by one in the report
MAX_LISTED = 50

Parts = tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, dict[str, Any]]


# ---- --test-data ---------------------------------------------------------------------------------
def file_split(X: pd.DataFrame, y: pd.Series, config: ReviewConfig) -> Parts:
    """All of the data for training, the rows of ``config.test_data`` held out."""
    path = Path(str(config.test_data))
    if not path.is_file():
        raise ParameterError(f"--test-data file {str(path)!r} does not exist.")
    frame = read_table(path)
    check_columns(X, y.name, frame, path.name)
    target = frame[y.name]
    if target.isna().any():
        raise DataError(
            f"The target column {y.name!r} of the held-out file {path.name!r} has "
            f"{int(target.isna().sum())} missing values; drop or fill them first."
        )
    X_test = with_training_categories(X, frame[list(X.columns)])
    y_test = target.astype(str).rename(y.name)
    _check_size(len(X), len(X_test))
    split = {
        "kind": "file",
        "method": (
            f"the rows of the held-out file {path.name} (--test-data); every row of the data is a "
            "training row, and a held-out case is named by its row number in that file"
        ),
        "file": path.name,
        "sha256": file_sha256(path),
        "n_train": len(X),
        "n_test": len(X_test),
    }
    return X, X_test, y, y_test, split


def check_columns(X: pd.DataFrame, target: Any, frame: pd.DataFrame, name: str) -> None:
    """Refuse a held-out frame whose columns, or the kind of a column, differ from the data's."""
    expected = [*X.columns, target]
    missing = [str(c) for c in expected if c not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in expected]
    if missing or extra:
        raise DataError(
            f"The held-out file {name!r} must have the data's columns: missing {missing}, "
            f"extra {extra}."
        )
    differ = [
        f"{str(c)!r} is {column_kind(X[c])} in the data but {column_kind(frame[c])} in the file"
        for c in X.columns
        if not frame[c].isna().all() and column_kind(X[c]) != column_kind(frame[c])
    ]
    if differ:
        raise DataError(
            f"The held-out file {name!r} has columns of another kind than the data's: "
            f"{'; '.join(differ)}."
        )


def column_kind(series: pd.Series) -> str:
    """What a column holds, in words: a number, text, true/false or a date/time."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "true/false"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "a number"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "a date/time"
    return "text"


# ---- --split-column ------------------------------------------------------------------------------
def column_split(X: pd.DataFrame, y: pd.Series, config: ReviewConfig) -> Parts:
    """Rows marked ``train`` for training, rows marked ``test`` held out; the column dropped."""
    name = str(config.split_column)
    if name not in X.columns:
        raise DataError(
            f"--split-column {name!r} is not a column of the data; columns are "
            f"{[str(c) for c in X.columns]}."
        )
    is_test = held_out_mask(X[name])
    features = X.drop(columns=[name])
    X_train = observed_categories(features[~is_test])
    X_test = with_training_categories(X_train, features[is_test])
    _check_size(len(X_train), len(X_test))
    split = {
        "kind": "column",
        "method": (
            f"the column {name} of the data: rows marked 'test' held out, rows marked 'train' "
            "for training (--split-column; the column is not a feature)"
        ),
        "column": name,
        "n_train": len(X_train),
        "n_test": len(X_test),
    }
    return X_train, X_test, y[~is_test], y[is_test], split


def held_out_mask(column: pd.Series) -> np.ndarray:
    """True where a split column says ``test``; any value but train/test refused, naming them."""
    text = column.astype("string").str.strip().str.lower()
    known = text.isin(SPLIT_VALUES).fillna(False).to_numpy(dtype=bool)
    if not known.all():
        counts = column[~known].astype("string").fillna("<missing>").value_counts()
        found = ", ".join(
            f"{v!r} ({n} rows)" if v != "<missing>" else f"missing ({n} rows)"
            for v, n in counts.head(10).items()
        )
        more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
        raise DataError(
            f"--split-column {str(column.name)!r} must hold 'train' or 'test' in every row (any "
            f"case); it also holds {found}{more}."
        )
    is_test = text.to_numpy(dtype=object) == "test"
    for side, rows in (("train", ~is_test), ("test", is_test)):
        if not rows.any():
            raise DataError(
                f"--split-column {str(column.name)!r} marks no row {side!r}: a review needs "
                "training rows and held-out rows."
            )
    return is_test


# ---- categories ------------------------------------------------------------------------------------
def observed_categories(X: pd.DataFrame) -> pd.DataFrame:
    """Training rows whose category columns list only the categories they hold."""
    X = X.copy()
    for column in X.columns:
        if isinstance(X[column].dtype, pd.CategoricalDtype):
            X[column] = X[column].cat.remove_unused_categories()
    return X


def with_training_categories(X_train: pd.DataFrame, X_test: pd.DataFrame) -> pd.DataFrame:
    """Held-out rows whose category columns code the training categories as training does,
    with categories the training data never has appended (kept, never turned missing)."""
    X_test = X_test.copy()
    for column in X_train.columns:
        train = X_train[column].dtype
        if not isinstance(train, pd.CategoricalDtype):
            continue
        values = X_test[column].dropna().unique()
        unseen = sorted({v for v in values if v not in set(train.categories)}, key=str)
        dtype = pd.CategoricalDtype([*train.categories, *unseen], ordered=train.ordered)
        X_test[column] = X_test[column].astype(object).astype(dtype)
    return X_test


def _check_size(n_train: int, n_test: int) -> None:
    if n_train + n_test < MIN_ROWS:
        raise DataError(
            f"A review needs at least {MIN_ROWS} labelled rows; the training and held-out data "
            f"have {n_train} and {n_test}."
        )


# ---- held-out rows no explanation can describe ------------------------------------------------------
@dataclass(frozen=True)
class Unexplained:
    """Which held-out rows a local explanation can be fitted at, and the record of the others."""

    explainable: np.ndarray
    record: dict[str, Any]


def unexplained_rows(schema: Any, X_test: pd.DataFrame) -> Unexplained:
    """Held-out rows the training schema cannot describe (module doc), by column and value.

    The rules are the schema's own (:meth:`surrogate.schema.FeatureSchema.encode`): a
    category must occur in the training data, and a value may be missing only where
    training values are.
    """
    n = len(X_test)
    bad = np.zeros(n, dtype=bool)
    listed: list[dict[str, Any]] = []
    for feature in schema.features:
        column = X_test[feature.name]
        missing = column.isna().to_numpy()
        if missing.any() and not feature.allow_missing:
            bad |= missing
            listed.append(_entry(feature.name, None, int(missing.sum()), "missing"))
        if feature.is_numeric:
            continue
        known = set(feature.categories)
        values = pd.Series(column.to_numpy(dtype=object))
        seen = np.array([_plain(v) in known for v in values], dtype=bool)
        unseen = ~missing & ~seen
        bad |= unseen
        for value, count in values[unseen].map(str).value_counts().sort_index().items():
            listed.append(_entry(feature.name, value, int(count), "category"))
    record = {
        "n": int(bad.sum()),
        "share": float(bad.mean()) if n else 0.0,
        "rule": (
            "a held-out row is explained only where the training data describes it: every "
            "category occurs in the training data, and a value is missing only in a feature "
            "that is missing in some training row; the model still scores every held-out row"
        ),
        "values": listed[:MAX_LISTED],
        "n_values_not_listed": max(0, len(listed) - MAX_LISTED),
        "case_ids": [str(label) for label in X_test.index[bad][:MAX_LISTED]],
    }
    return Unexplained(explainable=~bad, record=record)


def _entry(column: str, value: str | None, n_rows: int, why: str) -> dict[str, Any]:
    return {
        "column": column,
        "value": value,
        "n_rows": n_rows,
        "why": (
            "missing, and never missing in the training data"
            if why == "missing"
            else "a category no training row has"
        ),
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# ---- held-out rows that are training rows, and held-out labels -------------------------------------
def training_overlap(X_train: pd.DataFrame, X_test: pd.DataFrame) -> dict[str, Any]:
    """How many held-out rows have every feature value of some training row.

    Such rows are not held out from a model trained on the training data: its held-out
    figures are optimistic by as much as they weigh. Numbers are compared as numbers
    (``1`` equals ``1.0``), anything else by its text; missing equals missing.
    """
    train = set(_row_keys(X_train))
    repeated = np.array([key in train for key in _row_keys(X_test)], dtype=bool)
    n = len(X_test)
    return {
        "n": int(repeated.sum()),
        "share": float(repeated.mean()) if n else 0.0,
        "rule": (
            "a held-out row counts when every one of its feature values equals those of some "
            "training row (the label is not compared)"
        ),
        "case_ids": [str(label) for label in X_test.index[repeated][:MAX_LISTED]],
    }


def _row_keys(X: pd.DataFrame) -> pd.Series:
    """A 64-bit digest per row of its values, alike for equal rows of either frame."""
    columns = {}
    for name in X.columns:
        column = X[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            columns[name] = column.astype("float64")
        else:
            columns[name] = column.astype(object).where(column.notna(), "\x00missing").map(str)
    frame = pd.DataFrame(columns, index=X.index)
    return pd.util.hash_pandas_object(frame, index=False)


def check_labels(y_train: pd.Series, y_test: pd.Series, adverse: str, source: str) -> None:
    """Refuse held-out labels the training labels never hold, named with their counts, and
    held-out rows where the adverse class never occurs (nothing adverse to measure)."""
    known = sorted(set(map(str, y_train.unique())))
    held_out = y_test.astype(str)
    unknown = held_out[~held_out.isin(known)].value_counts()
    if len(unknown):
        found = ", ".join(f"{label!r} ({n} rows)" for label, n in unknown.head(10).items())
        raise DataError(
            f"The held-out labels of {source} include {found}, which the training labels "
            f"never hold; the training labels are {known}. Write the held-out labels as the "
            "data does (case and spelling included)."
        )
    if not (held_out == str(adverse)).any():
        raise DataError(
            f"The adverse class {str(adverse)!r} never occurs in the {len(held_out)} held-out "
            f"rows of {source} (their labels: {sorted(set(held_out))}): held-out performance "
            "and decline rates cannot be measured. Give held-out rows that hold adverse outcomes."
        )


def labels_source(split: dict[str, Any]) -> str:
    """Where the held-out labels come from, in words."""
    if split.get("kind") == "file":
        return f"the held-out file {split['file']!r}"
    if split.get("kind") == "column":
        return f"the rows marked 'test' in the column {split['column']!r}"
    return "the random held-out split"


def select(config: ReviewConfig, X: pd.DataFrame, y: pd.Series) -> Parts | None:
    """The split the reviewer gave (file or column), or None for the random split."""
    if config.test_data is not None:
        return file_split(X, y, config)
    if config.split_column is not None:
        return column_split(X, y, config)
    return None
