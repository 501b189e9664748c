"""Small public data sets shipped with the library, read without any network.

Three tabular and text data sets from the UCI Machine Learning Repository, all
under the Creative Commons Attribution 4.0 licence (CC BY 4.0):

* Statlog (German Credit Data) -- Hofmann, H. (1994). UCI Machine Learning
  Repository. :func:`load_german_credit`.
* Adult (Census Income) -- Becker, B. and Kohavi, R. (1996). UCI Machine
  Learning Repository. :func:`load_adult`.
* Sentiment Labelled Sentences -- Kotzias, D., Denil, M., de Freitas, N. and
  Smyth, P. (2015). "From Group to Individual Labels using Deep Features",
  KDD 2015. :func:`load_sentiment`.

The files live in the repository's ``datasets/`` folder, which the wheel
installs as the package ``surrogate._data``. Each loader parses its file on
every call and returns fresh objects, so callers may modify what they get.
"""

from __future__ import annotations

import gzip
import io
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pandas as pd

from surrogate.errors import DataError, ParameterError

__all__ = ["load_adult", "load_german_credit", "load_sentiment"]

_PACKAGE = "surrogate._data"
_REPO_DATA_DIR = Path(__file__).resolve().parents[1] / "datasets"

# --------------------------------------------------------------------------
# German credit
# --------------------------------------------------------------------------

#: Feature columns of ``german.data`` in file order; the 21st column is the target.
_GERMAN_COLUMNS: tuple[str, ...] = (
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
)

#: Meaning of every symbolic code, typed out from ``german.doc`` (attribute
#: descriptions, section 7). Dict order is code order and becomes the order of
#: the categories. A47 (vacation) is documented but never occurs in the data.
_GERMAN_CODES: dict[str, dict[str, str]] = {
    "checking_account": {
        "A11": "< 0 DM",
        "A12": "0 <= ... < 200 DM",
        "A13": ">= 200 DM / salary assignments for at least 1 year",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits taken / all credits paid back duly",
        "A31": "all credits at this bank paid back duly",
        "A32": "existing credits paid back duly till now",
        "A33": "delay in paying off in the past",
        "A34": "critical account / other credits existing (not at this bank)",
    },
    "purpose": {
        "A40": "car (new)",
        "A41": "car (used)",
        "A42": "furniture/equipment",
        "A43": "radio/television",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        "A47": "vacation",
        "A48": "retraining",
        "A49": "business",
        "A410": "others",
    },
    "savings": {
        "A61": "< 100 DM",
        "A62": "100 <= ... < 500 DM",
        "A63": "500 <= ... < 1000 DM",
        "A64": ">= 1000 DM",
        "A65": "unknown / no savings account",
    },
    "employment_since": {
        "A71": "unemployed",
        "A72": "< 1 year",
        "A73": "1 <= ... < 4 years",
        "A74": "4 <= ... < 7 years",
        "A75": ">= 7 years",
    },
    "personal_status_sex": {
        "A91": "male: divorced/separated",
        "A92": "female: divorced/separated/married",
        "A93": "male: single",
        "A94": "male: married/widowed",
        "A95": "female: single",
    },
    "other_debtors": {
        "A101": "none",
        "A102": "co-applicant",
        "A103": "guarantor",
    },
    "property": {
        "A121": "real estate",
        "A122": "building society savings agreement / life insurance",
        "A123": "car or other",
        "A124": "unknown / no property",
    },
    "other_installment_plans": {
        "A141": "bank",
        "A142": "stores",
        "A143": "none",
    },
    "housing": {
        "A151": "rent",
        "A152": "own",
        "A153": "for free",
    },
    "job": {
        "A171": "unemployed / unskilled - non-resident",
        "A172": "unskilled - resident",
        "A173": "skilled employee / official",
        "A174": "management / self-employed / highly qualified employee / officer",
    },
    "telephone": {
        "A191": "none",
        "A192": "yes, registered under the customer's name",
    },
    "foreign_worker": {
        "A201": "yes",
        "A202": "no",
    },
}

_GERMAN_TARGET = {1: "good", 2: "bad"}

# --------------------------------------------------------------------------
# Adult
# --------------------------------------------------------------------------

_ADULT_COLUMNS: tuple[str, ...] = (
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
)
_ADULT_NUMERIC: tuple[str, ...] = (
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
)
_ADULT_TARGET_VALUES = frozenset({"<=50K", ">50K"})

# --------------------------------------------------------------------------
# Sentiment
# --------------------------------------------------------------------------

_SENTIMENT_FILES: dict[str, tuple[str, ...]] = {
    "imdb": ("sentiment/imdb_labelled.txt",),
    "yelp": ("sentiment/yelp_labelled.txt",),
    "all": ("sentiment/imdb_labelled.txt", "sentiment/yelp_labelled.txt"),
}


# --------------------------------------------------------------------------
# File resolution
# --------------------------------------------------------------------------


def _package_dir() -> Traversable | None:
    """Root of the installed data package, or ``None`` when it is not installed."""
    try:
        return resources.files(_PACKAGE)
    except (ModuleNotFoundError, TypeError):
        return None


def _data_path(name: str) -> Traversable:
    """Locate a shipped data file.

    Parameters
    ----------
    name : str
        Path of the file relative to the data folder, with ``/`` as separator
        (e.g. ``"german.data"`` or ``"sentiment/yelp_labelled.txt"``).

    Returns
    -------
    importlib.resources.abc.Traversable
        The file inside the installed package ``surrogate._data`` when it is
        there, otherwise the file in the repository's ``datasets/`` folder (a
        :class:`pathlib.Path`).

    Raises
    ------
    DataError
        If the file is in neither place.
    """
    parts = [part for part in name.split("/") if part]
    root = _package_dir()
    if root is not None:
        candidate = root.joinpath(*parts)
        if candidate.is_file():
            return candidate
    fallback = _REPO_DATA_DIR.joinpath(*parts)
    if fallback.is_file():
        return fallback
    packaged = (
        f"the installed package '{_PACKAGE}' ({root})"
        if root is not None
        else f"the installed package '{_PACKAGE}' (not installed)"
    )
    raise DataError(
        f"Data file '{name}' was not found. Looked in {packaged} and in the "
        f"repository folder '{_REPO_DATA_DIR}'. Reinstall the package or restore the file."
    )


def _read_bytes(name: str) -> bytes:
    return _data_path(name).read_bytes()


# --------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------


def load_german_credit() -> tuple[pd.DataFrame, pd.Series]:
    """Load the Statlog German credit data with every code decoded.

    1,000 loan applicants described by 20 attributes (7 numeric, 13
    categorical). The symbolic codes of ``german.data`` (``A11`` ... ``A202``)
    are replaced by their meaning from ``german.doc``.

    Returns
    -------
    X : pandas.DataFrame
        1,000 rows and 20 columns in file order: ``checking_account``,
        ``duration``, ``credit_history``, ``purpose``, ``credit_amount``,
        ``savings``, ``employment_since``, ``installment_rate``,
        ``personal_status_sex``, ``other_debtors``, ``residence_since``,
        ``property``, ``age``, ``other_installment_plans``, ``housing``,
        ``existing_credits``, ``job``, ``people_liable``, ``telephone``,
        ``foreign_worker``. Numeric columns are ``int64``; categorical columns
        have ``category`` dtype whose categories are all the labels documented
        for that attribute, in code order (including ``"vacation"`` for
        ``purpose``, which never occurs).
    y : pandas.Series
        ``credit_risk``: ``"good"`` (700 rows) or ``"bad"`` (300 rows).

    Raises
    ------
    DataError
        If the file is missing or holds a code that ``german.doc`` does not define.

    Notes
    -----
    ``german.doc`` asks for a cost matrix: predicting "good" for a bad
    customer costs 5, predicting "bad" for a good one costs 1.

    Source: Hofmann, H. (1994). Statlog (German Credit Data). UCI Machine
    Learning Repository. CC BY 4.0.

    Examples
    --------
    >>> from surrogate.datasets import load_german_credit
    >>> X, y = load_german_credit()
    >>> X.shape
    (1000, 20)
    >>> X.loc[0, "checking_account"], int(X.loc[0, "duration"])
    ('< 0 DM', 6)
    >>> y.value_counts().to_dict()
    {'good': 700, 'bad': 300}
    """
    raw = _read_bytes("german.data")
    frame = pd.read_csv(
        io.BytesIO(raw),
        sep=" ",
        header=None,
        names=[*_GERMAN_COLUMNS, "credit_risk"],
        dtype={col: "str" for col in _GERMAN_CODES},
        keep_default_na=False,
        na_values=[],
    )
    columns: dict[str, pd.Series] = {}
    for col in _GERMAN_COLUMNS:
        values = frame[col]
        codes = _GERMAN_CODES.get(col)
        if codes is None:
            columns[col] = values.astype("int64")
            continue
        unknown = sorted(set(values.unique()) - codes.keys())
        if unknown:
            raise DataError(
                f"german.data column '{col}' holds codes {unknown} that german.doc "
                f"does not define; expected one of {list(codes)}."
            )
        columns[col] = pd.Series(
            pd.Categorical(values.map(codes), categories=list(codes.values())),
            name=col,
        )
    X = pd.DataFrame(columns)

    target = frame["credit_risk"].astype("int64")
    bad = sorted(set(target.unique()) - _GERMAN_TARGET.keys())
    if bad:
        raise DataError(
            f"german.data target column holds values {bad}; expected 1 (good) or 2 (bad)."
        )
    y = pd.Series(target.map(_GERMAN_TARGET), name="credit_risk", dtype="str")
    return X, y


def load_adult() -> tuple[pd.DataFrame, pd.Series]:
    """Load the Adult (census income) training data.

    32,561 people from the 1994 US census, described by 14 attributes; the
    task is whether income exceeds 50,000 USD a year.

    Returns
    -------
    X : pandas.DataFrame
        32,561 rows and 14 columns: ``age``, ``workclass``, ``fnlwgt``,
        ``education``, ``education_num``, ``marital_status``, ``occupation``,
        ``relationship``, ``race``, ``sex``, ``capital_gain``,
        ``capital_loss``, ``hours_per_week``, ``native_country``. Numeric
        columns are ``int64``; the others have ``category`` dtype with sorted
        categories. Values marked ``?`` in the file are missing (NaN); they
        occur in ``workclass``, ``occupation`` and ``native_country``.
    y : pandas.Series
        ``income``: ``"<=50K"`` (24,720 rows) or ``">50K"`` (7,841 rows).

    Raises
    ------
    DataError
        If the file is missing or its target holds an unexpected value.

    Notes
    -----
    The file ships gzip-compressed (``adult.data.gz``); its content is
    otherwise the published ``adult.data``.

    Source: Becker, B. and Kohavi, R. (1996). Adult. UCI Machine Learning
    Repository. CC BY 4.0.

    Examples
    --------
    >>> from surrogate.datasets import load_adult
    >>> X, y = load_adult()
    >>> X.shape
    (32561, 14)
    >>> int(X["workclass"].isna().sum())
    1836
    >>> y.value_counts().to_dict()
    {'<=50K': 24720, '>50K': 7841}
    """
    raw = gzip.decompress(_read_bytes("adult.data.gz"))
    frame = pd.read_csv(
        io.BytesIO(raw),
        sep=",",
        header=None,
        names=[*_ADULT_COLUMNS, "income"],
        skipinitialspace=True,
        skip_blank_lines=True,
        keep_default_na=False,
        na_values=["?"],
        dtype={col: "int64" for col in _ADULT_NUMERIC},
    )
    columns: dict[str, pd.Series] = {}
    for col in _ADULT_COLUMNS:
        values = frame[col]
        if col in _ADULT_NUMERIC:
            columns[col] = values.astype("int64")
        else:
            # pd.Categorical sorts the observed values; NaN stays missing.
            columns[col] = pd.Series(pd.Categorical(values.str.strip()), name=col)
    X = pd.DataFrame(columns)

    income = frame["income"].str.strip()
    unexpected = sorted(set(income.dropna().unique()) - _ADULT_TARGET_VALUES)
    if unexpected or income.isna().any():
        raise DataError(
            f"adult.data income column holds unexpected values {unexpected or ['<missing>']}; "
            f"expected '<=50K' or '>50K'."
        )
    y = pd.Series(income.to_numpy(), name="income", dtype="str")
    return X, y


def _read_labelled_sentences(name: str) -> tuple[list[str], list[int]]:
    """Parse a ``sentence<TAB>label`` file line by line."""
    text = _read_bytes(name).decode("utf-8")
    sentences: list[str] = []
    labels: list[int] = []
    # Split on "\n" only: str.splitlines would also break at U+0085, which
    # occurs inside some IMDb sentences.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        sentence, tab, label = line.rpartition("\t")
        label = label.strip()
        if not tab or label not in ("0", "1"):
            raise DataError(
                f"{name}, line {number}: expected a sentence, a tab and a label 0 or 1; "
                f"got {line[-40:]!r}."
            )
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, labels


def load_sentiment(source: str = "all") -> tuple[list[str], pd.Series]:
    """Load the Sentiment Labelled Sentences (IMDb and Yelp parts).

    Short review sentences, each labelled positive (1) or negative (0); each
    source holds 500 of each.

    Parameters
    ----------
    source : {"all", "imdb", "yelp"}, default "all"
        Which file to read. ``"all"`` returns the IMDb sentences followed by
        the Yelp sentences.

    Returns
    -------
    texts : list of str
        The sentences, with surrounding whitespace removed (1,000 per source).
    y : pandas.Series
        ``sentiment``: ``int64`` labels, 1 positive and 0 negative, aligned
        with ``texts``.

    Raises
    ------
    ParameterError
        If ``source`` is not one of ``"all"``, ``"imdb"``, ``"yelp"``.
    DataError
        If a file is missing or a line is malformed.

    Notes
    -----
    The files are tab separated and sentences may hold quotes, so each line is
    split at its last tab rather than read by a CSV parser.

    Source: Kotzias, D., Denil, M., de Freitas, N. and Smyth, P. (2015).
    From Group to Individual Labels using Deep Features. KDD 2015. UCI Machine
    Learning Repository. CC BY 4.0.

    Examples
    --------
    >>> from surrogate.datasets import load_sentiment
    >>> texts, y = load_sentiment("yelp")
    >>> len(texts), texts[0], int(y.iloc[0])
    (1000, 'Wow... Loved this place.', 1)
    >>> len(load_sentiment()[0])
    2000
    """
    if not isinstance(source, str) or source not in _SENTIMENT_FILES:
        valid = ", ".join(repr(key) for key in sorted(_SENTIMENT_FILES))
        raise ParameterError(
            f"load_sentiment() argument 'source' must be one of {valid}; got {source!r}."
        )
    texts: list[str] = []
    labels: list[int] = []
    for name in _SENTIMENT_FILES[source]:
        part_texts, part_labels = _read_labelled_sentences(name)
        texts.extend(part_texts)
        labels.extend(part_labels)
    return texts, pd.Series(labels, name="sentiment", dtype="int64")


#: the bundled tables, by the name the command line and review files use
TABLES = {"german-credit": load_german_credit, "adult": load_adult}
