"""Tables from polars and pyarrow: read as the pandas frames they came from, explained alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surrogate import TabularExplainer
from surrogate.errors import DataTypeError
from surrogate.frames import as_pandas

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")


def _frame(n: int = 240) -> pd.DataFrame:
    """Every kind a user holds: numbers, a nullable integer with missing values, a
    category, a date, a flag and text."""
    rng = np.random.default_rng(3)
    children = pd.array(rng.integers(0, 4, n), dtype="Int64")
    children[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "children": children,
            "housing": pd.Categorical(rng.choice(["own", "rent", "free"], n)),
            "opened": pd.Timestamp("2015-01-01")
            + pd.to_timedelta(rng.integers(0, 3000, n), unit="D"),
            "owner": rng.random(n) < 0.4,
            "job": pd.Series(rng.choice(["clerk", "chef", "pilot"], n), dtype="str"),
        }
    )


def _model(rows: pd.DataFrame) -> np.ndarray:
    housing = rows["housing"].astype(str).map({"own": 0.6, "rent": -0.4, "free": 0.0})
    years = (rows["opened"] - pd.Timestamp("2015-01-01")).dt.days.to_numpy(dtype=float) / 365
    score = (
        0.05 * (rows["income"].to_numpy(dtype=float) - 50)
        - 0.3 * rows["children"].astype("Float64").fillna(1.0).to_numpy(dtype=float)
        + housing.to_numpy(dtype=float)
        + 0.1 * years
        + 0.5 * rows["owner"].to_numpy(dtype=float)
        + (rows["job"] == "pilot").to_numpy(dtype=float)
    )
    p = 1 / (1 + np.exp(-score))
    return np.column_stack([1 - p, p])


FRAME = _frame()


def test_polars_and_arrow_tables_are_read_as_the_pandas_frame_they_came_from():
    for table in (pl.from_pandas(FRAME), pa.Table.from_pandas(FRAME, preserve_index=False)):
        back = as_pandas(table)
        pd.testing.assert_frame_equal(back, FRAME)
        assert back["children"].dtype == "Int64" and back["housing"].dtype == "category"
    # a date column (polars Date, Arrow date32) becomes datetime64, not datetime.date objects
    dates = as_pandas(pl.DataFrame({"d": [pd.Timestamp("2020-01-02").date()]}))
    assert pd.api.types.is_datetime64_dtype(dates["d"])


def test_a_polars_round_trip_explains_byte_for_byte_as_pandas():
    """A polars frame was refused: "The query must be a DataFrame, ..., got DataFrame"."""
    polars_frame = pl.from_pandas(FRAME)
    from_pandas = TabularExplainer(_model, FRAME, n_samples=300)
    from_polars = TabularExplainer(_model, polars_frame, n_samples=300)
    assert from_polars.schema == from_pandas.schema
    assert from_polars.model_fingerprint == from_pandas.model_fingerprint
    for family, params in (("linear", {"max_features": 4}), ("tree", {"max_depth": 2})):
        pandas_exp = from_pandas.explain(FRAME.iloc[[5]], family, **params)
        polars_exp = from_polars.explain(polars_frame[5], family, **params)
        assert polars_exp.to_json() == pandas_exp.to_json()
    many = from_polars.explain_many(polars_frame[:3], progress=False)
    assert [e.to_json() for e in many] == [
        e.to_json() for e in from_pandas.explain_many(FRAME.iloc[:3], progress=False)
    ]
    glob = from_polars.explain_global(polars_frame[:160], "tree", max_depth=2)
    assert (
        glob.to_json()
        == from_pandas.explain_global(FRAME.iloc[:160], "tree", max_depth=2).to_json()
    )
    arrow = pa.Table.from_pandas(FRAME.iloc[[5]], preserve_index=False)
    assert from_polars.explain(arrow).to_json() == from_pandas.explain(FRAME.iloc[[5]]).to_json()


def test_a_lazy_polars_frame_is_refused_naming_collect():
    with pytest.raises(DataTypeError, match=r"lazy polars frame.*X.collect\(\)"):
        TabularExplainer(_model, pl.from_pandas(FRAME).lazy(), n_samples=300)


def test_category_levels_are_sorted_unless_they_have_an_order():
    """polars keeps a Categorical's levels in the order met; pandas sorts them; an Enum's
    order, or an ordered category's, is the user's and is kept."""
    met = pl.DataFrame({"c": ["rent", "own", "rent", "free"]}).cast({"c": pl.Categorical})
    assert list(as_pandas(met)["c"].cat.categories) == ["free", "own", "rent"]
    enum = pl.DataFrame({"c": ["rent", "own"]}).cast({"c": pl.Enum(["rent", "own", "free"])})
    assert list(as_pandas(enum)["c"].cat.categories) == ["rent", "own", "free"]
    assert as_pandas(enum)["c"].cat.ordered
    ordered = pd.DataFrame({"c": pd.Categorical(["b", "a"], categories=["b", "a"], ordered=True)})
    back = as_pandas(pa.Table.from_pandas(ordered))
    assert list(back["c"].cat.categories) == ["b", "a"] and back["c"].cat.ordered
