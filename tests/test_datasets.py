"""Tests for the shipped data sets and their loaders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from surrogate import datasets
from surrogate.datasets import load_adult, load_german_credit, load_sentiment
from surrogate.errors import DataError, ParameterError

REPO_DATA = Path(__file__).resolve().parents[1] / "datasets"

GERMAN_COLUMNS = [
    "checking_account",
    "duration",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment_since",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
]
GERMAN_NUMERIC = [
    "duration",
    "credit_amount",
    "installment_rate",
    "residence_since",
    "age",
    "existing_credits",
    "people_liable",
]
ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
]
ADULT_NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


@pytest.fixture(scope="module")
def german():
    return load_german_credit()


@pytest.fixture(scope="module")
def adult():
    return load_adult()


# ---------------------------------------------------------------- German credit


def test_german_shape_and_columns(german):
    X, y = german
    assert X.shape == (1000, 20)
    assert list(X.columns) == GERMAN_COLUMNS
    assert len(y) == 1000
    assert y.name == "credit_risk"


def test_german_dtypes(german):
    X, _ = german
    for col in GERMAN_COLUMNS:
        if col in GERMAN_NUMERIC:
            assert X[col].dtype == "int64", col
        else:
            assert isinstance(X[col].dtype, pd.CategoricalDtype), col
    assert len(X.select_dtypes("category").columns) == 13


def test_german_decoding_first_rows(german):
    X, y = german
    first = X.iloc[0]
    assert first["checking_account"] == "< 0 DM"
    assert first["duration"] == 6
    assert first["credit_amount"] == 1169
    assert first["age"] == 67
    assert first["purpose"] == "radio/television"
    assert first["savings"] == "unknown / no savings account"
    assert first["personal_status_sex"] == "male: single"
    assert first["foreign_worker"] == "yes"
    assert y.iloc[0] == "good"
    assert X.iloc[1]["checking_account"] == "0 <= ... < 200 DM"
    assert y.iloc[1] == "bad"
    assert X.iloc[2]["checking_account"] == "no checking account"


def test_german_categories_are_documented_labels(german):
    X, _ = german
    cats = X["checking_account"].cat.categories
    assert list(cats) == [
        "< 0 DM",
        "0 <= ... < 200 DM",
        ">= 200 DM / salary assignments for at least 1 year",
        "no checking account",
    ]
    purpose = list(X["purpose"].cat.categories)
    assert len(purpose) == 11
    assert "vacation" in purpose
    assert "vacation" not in set(X["purpose"])
    for col in X.select_dtypes("category").columns:
        values = X[col]
        assert not values.isna().any(), col
        assert not any(
            str(v).startswith("A") and str(v)[1:].isdigit() for v in values.cat.categories
        )


def test_german_target(german):
    _, y = german
    assert y.value_counts().to_dict() == {"good": 700, "bad": 300}
    assert pd.api.types.is_string_dtype(y)


def test_german_returns_fresh_objects():
    X1, y1 = load_german_credit()
    X1.loc[0, "duration"] = -1
    y1.iloc[0] = "bad"
    X2, y2 = load_german_credit()
    assert X2.loc[0, "duration"] == 6
    assert y2.iloc[0] == "good"


# ---------------------------------------------------------------------- Adult


def test_adult_shape_and_columns(adult):
    X, y = adult
    assert X.shape == (32561, 14)
    assert list(X.columns) == ADULT_COLUMNS
    assert y.name == "income"
    assert len(y) == 32561


def test_adult_dtypes(adult):
    X, _ = adult
    for col in ADULT_COLUMNS:
        if col in ADULT_NUMERIC:
            assert X[col].dtype == "int64", col
        else:
            dtype = X[col].dtype
            assert isinstance(dtype, pd.CategoricalDtype), col
            cats = [str(c) for c in dtype.categories]
            assert cats == sorted(cats), col


def test_adult_missing_values_are_nan(adult):
    X, _ = adult
    missing = X.isna().sum()
    assert missing["workclass"] == 1836
    assert missing["occupation"] == 1843
    assert missing["native_country"] == 583
    assert missing[ADULT_NUMERIC].sum() == 0
    for col in X.select_dtypes("category").columns:
        cats = [str(c) for c in X[col].cat.categories]
        assert "?" not in cats, col
        assert all(c == c.strip() for c in cats), col


def test_adult_no_question_mark_anywhere(adult):
    X, y = adult
    as_text = X.astype(object).astype(str)
    assert not (as_text == "?").to_numpy().any()
    assert not as_text.apply(lambda c: c.str.startswith(" ")).to_numpy().any()
    assert "?" not in set(y)


def test_adult_values_and_target(adult):
    X, y = adult
    assert X.loc[0, "age"] == 39
    assert X.loc[0, "workclass"] == "State-gov"
    assert X.loc[0, "native_country"] == "United-States"
    assert y.value_counts().to_dict() == {"<=50K": 24720, ">50K": 7841}
    assert pd.api.types.is_string_dtype(y)



# ------------------------------------------------------------------ Sentiment


@pytest.mark.parametrize("source", ["imdb", "yelp"])
def test_sentiment_single_source(source):
    texts, y = load_sentiment(source)
    assert len(texts) == 1000
    assert len(y) == 1000
    assert y.name == "sentiment"
    assert set(y.unique()) == {0, 1}
    assert y.value_counts().to_dict() == {0: 500, 1: 500}
    assert pd.api.types.is_integer_dtype(y)
    assert all(isinstance(t, str) and t for t in texts)
    assert not any("\t" in t for t in texts)


def test_sentiment_all_concatenates_sources():
    texts, y = load_sentiment()
    imdb_texts, imdb_y = load_sentiment("imdb")
    yelp_texts, yelp_y = load_sentiment("yelp")
    assert len(texts) == 2000
    assert len(y) == 2000
    assert set(y.unique()) == {0, 1}
    assert texts == imdb_texts + yelp_texts
    assert y.tolist() == imdb_y.tolist() + yelp_y.tolist()
    assert list(y.index) == list(range(2000))


def test_sentiment_keeps_quotes_and_known_lines():
    texts, y = load_sentiment("yelp")
    assert texts[0] == "Wow... Loved this place."
    assert y.iloc[0] == 1
    assert texts[1] == "Crust is not good."
    assert y.iloc[1] == 0
    imdb_texts, _ = load_sentiment("imdb")
    assert any('"' in t for t in imdb_texts)


def test_sentiment_unknown_source():
    with pytest.raises(ParameterError) as info:
        load_sentiment("amazon")
    message = str(info.value)
    assert "source" in message
    assert "'imdb'" in message and "'yelp'" in message and "'all'" in message
    assert "'amazon'" in message
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------- file resolution


def test_data_path_falls_back_to_repo_folder(monkeypatch):
    monkeypatch.setattr(datasets, "_package_dir", lambda: None)
    path = datasets._data_path("german.data")
    assert Path(str(path)) == REPO_DATA / "german.data"
    nested = datasets._data_path("sentiment/yelp_labelled.txt")
    assert Path(str(nested)) == REPO_DATA / "sentiment" / "yelp_labelled.txt"


def test_data_path_prefers_package_then_falls_back(monkeypatch, tmp_path):
    (tmp_path / "german.data").write_text("packaged copy\n")
    monkeypatch.setattr(datasets, "_package_dir", lambda: tmp_path)
    assert Path(str(datasets._data_path("german.data"))) == tmp_path / "german.data"
    # A file the package lacks is taken from the repository folder.
    assert Path(str(datasets._data_path("adult.data.gz"))) == REPO_DATA / "adult.data.gz"


def test_data_path_missing_file_names_both_places(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "_package_dir", lambda: tmp_path)
    with pytest.raises(DataError) as info:
        datasets._data_path("no_such_file.csv")
    message = str(info.value)
    assert "no_such_file.csv" in message
    assert "surrogate._data" in message
    assert str(tmp_path) in message
    assert str(REPO_DATA) in message


def test_shipped_files_present():
    for name in [
        "german.data",
        "german.doc",
        "adult.data.gz",
        "README.md",
        "__init__.py",
        "sentiment/imdb_labelled.txt",
        "sentiment/yelp_labelled.txt",
        "sentiment/readme.txt",
    ]:
        assert (REPO_DATA / name).is_file(), name
