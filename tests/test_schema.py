"""FeatureSchema: inference from frames and arrays, overrides, and the rows <-> values codec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from surrogate.errors import DataError, ParameterError, SchemaError, SurrogateError
from surrogate.schema import MISSING_CODE, FeatureSchema


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": [1200.5, 3400.0, np.nan, 2100.25, 990.0],
            "age": [25, 37, 51, 44, 29],
            "job": pd.Series(["clerk", "chef", None, "clerk", "pilot"], dtype="str"),
            "city": pd.Series(["Oslo", "Rome", "Oslo", "Oslo", "Rome"], dtype=object),
            "grade": pd.Categorical(["B", "A", "B", None, "C"], categories=["A", "B", "C", "D"]),
            "size": pd.Categorical(
                ["S", "L", "M", "S", "L"], categories=["S", "M", "L"], ordered=True
            ),
            "owner": [True, False, True, True, False],
            "insured": pd.array([True, None, False, True, True], dtype="boolean"),
            "children": pd.array([0, 2, None, 1, 3], dtype="Int64"),
            "weight": np.array([60.5, 72.0, 81.25, 55.0, 90.0], dtype=np.float32),
        }
    )


# ---------------------------------------------------------------- inference from frames


def test_kinds_inferred_from_dtypes(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    kinds = {f.name: f.kind for f in schema.features}
    assert kinds == {
        "income": "numeric",
        "age": "integer",
        "job": "categorical",
        "city": "categorical",
        "grade": "categorical",
        "size": "categorical",
        "owner": "boolean",
        "insured": "boolean",
        "children": "integer",
        "weight": "numeric",
    }
    assert schema.names == tuple(mixed_frame.columns)
    assert schema.input_kind == "frame"
    assert len(schema) == 10


def test_numeric_bounds_and_statistics(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    income = schema["income"]
    assert (income.lower, income.upper) == (990.0, 3400.0)
    observed = mixed_frame["income"].dropna().to_numpy()
    assert income.mean == pytest.approx(observed.mean())
    assert income.scale == pytest.approx(observed.std())
    age = schema["age"]
    assert (age.lower, age.upper) == (25.0, 51.0)
    assert schema["children"].lower == 0.0 and schema["children"].upper == 3.0


def test_categories_and_frequencies(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    assert schema["job"].categories == ("chef", "clerk", "pilot")  # sorted when inferred
    assert schema["job"].frequencies == pytest.approx((0.2, 0.4, 0.2))
    assert schema["job"].missing_rate == pytest.approx(0.2)
    assert schema["city"].categories == ("Oslo", "Rome")
    # a category dtype keeps its declared categories and order, unused ones included
    assert schema["grade"].categories == ("A", "B", "C", "D")
    assert schema["grade"].frequencies == pytest.approx((0.2, 0.4, 0.2, 0.0))
    assert schema["size"].categories == ("S", "M", "L")
    assert schema["size"].ordered is True
    assert schema["owner"].categories == (False, True)


def test_missing_allowed_only_where_the_data_has_it(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    allowed = {f.name for f in schema.features if f.allow_missing}
    assert allowed == {"income", "job", "grade", "insured", "children"}
    for feature in schema.features:
        assert feature.missing_rate == pytest.approx(mixed_frame[feature.name].isna().mean())


def test_constant_features_are_frozen():
    frame = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": ["x", "x", "x"], "c": [1.0, 2.0, 3.0]})
    schema = FeatureSchema.infer(frame)
    assert schema["a"].is_constant and schema["a"].frozen
    assert schema["b"].is_constant and schema["b"].frozen
    assert not schema["c"].frozen


def test_object_column_of_booleans_with_missing_values_is_boolean():
    frame = pd.DataFrame({"flag": pd.Series([True, None, False, True], dtype=object)})
    schema = FeatureSchema.infer(frame)
    assert schema["flag"].kind == "boolean" and schema["flag"].allow_missing
    back = schema.decode(schema.encode(frame))
    assert back["flag"].tolist() == [True, None, False, True]  # not 1/0
    pd.testing.assert_frame_equal(back, frame)


def test_object_column_of_numbers_is_numeric():
    frame = pd.DataFrame(
        {"n": pd.Series([1, 2, 3, None], dtype=object), "s": pd.Series(["1", "x", "2", "3"])}
    )
    schema = FeatureSchema.infer(frame)
    assert schema["n"].kind == "integer"
    assert schema["s"].kind == "categorical"  # text that is not all numbers stays text


# -------------------------------------------------------------------------- overrides


def test_categorical_override_turns_numbers_into_categories():
    frame = pd.DataFrame({"zip": [1000, 2000, 1000, 3000], "x": [0.1, 0.2, 0.3, 0.4]})
    schema = FeatureSchema.infer(frame, categorical_features=["zip"])
    assert schema["zip"].kind == "categorical"
    assert schema["zip"].categories == (1000, 2000, 3000)
    assert schema["x"].kind == "numeric"
    back = schema.decode(schema.encode(frame))
    pd.testing.assert_frame_equal(back, frame)


def test_immutable_override(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame, immutable_features=["age", "job"])
    assert {f.name for f in schema.features if f.immutable} == {"age", "job"}
    assert schema["age"].frozen and not schema["income"].frozen
    assert schema.with_immutable(["city"])["city"].immutable


def test_bounds_override_widens_the_range(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame, bounds={"age": (18, 99)})
    assert (schema["age"].lower, schema["age"].upper) == (18.0, 99.0)


@pytest.mark.parametrize(
    "bounds, fragment",
    [
        ({"age": (30, 99)}, "excludes training values"),
        ({"age": (50, 20)}, "low <= high"),
        ({"age": "wide"}, "pair of numbers"),
        ({"job": (0, 1)}, "bounds apply to numbers only"),
        ({"nope": (0, 1)}, "not in the training data"),
    ],
)
def test_bad_bounds_are_refused(mixed_frame, bounds, fragment):
    with pytest.raises(ParameterError, match=fragment) as info:
        FeatureSchema.infer(mixed_frame, bounds=bounds)
    assert next(iter(bounds)) in str(info.value)


def test_bounds_must_fit_an_integer_dtype():
    frame = pd.DataFrame({"level": np.array([3, 7, 200], dtype=np.uint8)})
    assert FeatureSchema.infer(frame, bounds={"level": (0, 255)})["level"].upper == 255.0
    with pytest.raises(ParameterError, match="'level'.*uint8.*0 to 255"):
        FeatureSchema.infer(frame, bounds={"level": (0, 1000)})


def test_override_names_must_be_columns(mixed_frame):
    with pytest.raises(ParameterError, match="categorical_features.*'salary'"):
        FeatureSchema.infer(mixed_frame, categorical_features=["salary"])
    with pytest.raises(ParameterError, match="immutable_features.*index 12"):
        FeatureSchema.infer(mixed_frame, immutable_features=[12])


# ------------------------------------------------------------------------------ arrays


def test_numpy_array_with_names_and_categorical_indices():
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [rng.normal(size=50), rng.integers(0, 3, 50).astype(float), rng.normal(size=50)]
    )
    schema = FeatureSchema.infer(X, feature_names=["x", "code", "y"], categorical_features=[1])
    assert schema.input_kind == "array"
    assert schema.names == ("x", "code", "y")
    assert schema["code"].kind == "categorical"
    assert schema["code"].categories == (0.0, 1.0, 2.0)
    back = schema.decode(schema.encode(X))
    assert isinstance(back, np.ndarray) and back.dtype == X.dtype
    np.testing.assert_array_equal(back, X)


def test_numpy_array_default_names_and_name_count():
    X = np.arange(12.0).reshape(4, 3)
    assert FeatureSchema.infer(X).names == ("x0", "x1", "x2")
    with pytest.raises(ParameterError, match="feature_names has 2 names.*3 columns"):
        FeatureSchema.infer(X, feature_names=["a", "b"])
    with pytest.raises(ParameterError, match="feature_names is only for arrays"):
        FeatureSchema.infer(pd.DataFrame(X), feature_names=["a", "b", "c"])


# ---------------------------------------------------------------------------- codec


def test_encode_decode_round_trip_keeps_columns_and_dtypes(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    values = schema.encode(mixed_frame)
    assert values.dtype == np.float64 and values.shape == mixed_frame.shape
    back = schema.decode(values)
    assert list(back.columns) == list(mixed_frame.columns)
    assert back.dtypes.to_dict() == mixed_frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, mixed_frame)


def test_codes_and_missing_code(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    values = schema.encode(mixed_frame)
    job = schema.names.index("job")
    assert values[:, job].tolist() == [1.0, 0.0, MISSING_CODE, 1.0, 2.0]
    income = schema.names.index("income")
    assert np.isnan(values[2, income])


def test_encode_checks_columns_by_name_not_position(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    shuffled = mixed_frame[list(reversed(mixed_frame.columns))]
    np.testing.assert_array_equal(schema.encode(shuffled), schema.encode(mixed_frame))


def test_readable_row(mixed_frame):
    schema = FeatureSchema.infer(mixed_frame)
    row = schema.readable(schema.encode(mixed_frame)[2])
    assert row["income"] is None
    assert row["job"] == "missing"
    assert row["age"] == 51.0
    assert row["size"] == "M"
    assert row["owner"] == "True"


def test_fingerprint_is_stable_and_sensitive(mixed_frame):
    a = FeatureSchema.infer(mixed_frame).fingerprint()
    assert a == FeatureSchema.infer(mixed_frame.copy()).fingerprint()
    assert a != FeatureSchema.infer(mixed_frame, immutable_features=["age"]).fingerprint()


def test_empty_training_data_is_refused():
    with pytest.raises(DataError, match="empty"):
        FeatureSchema.infer(pd.DataFrame({"a": []}))
    with pytest.raises(SurrogateError):
        FeatureSchema.infer(np.empty((0, 3)))


def test_schema_error_is_a_data_error():
    assert issubclass(SchemaError, DataError) and issubclass(DataError, ValueError)


# ------------------------------------------------------------- property: random schemas

_LABELS = ["alpha", "beta", "gamma", "delta"]


@st.composite
def frames(draw) -> pd.DataFrame:
    n = draw(st.integers(min_value=2, max_value=12))
    n_cols = draw(st.integers(min_value=1, max_value=5))
    columns = {}
    for c in range(n_cols):
        kind = draw(
            st.sampled_from(
                ["float", "int", "str", "object", "category", "bool", "Int64", "objbool"]
            )
        )
        missing = draw(st.booleans()) and kind not in ("int", "bool")
        present = draw(st.lists(st.booleans(), min_size=n, max_size=n)) if missing else [True] * n
        present[0] = True  # never an all-missing column
        if kind == "float":
            vals = draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=n, max_size=n))
            col = pd.Series(
                [v if p else np.nan for v, p in zip(vals, present, strict=True)], dtype="float64"
            )
        elif kind in ("int", "Int64"):
            vals = draw(st.lists(st.integers(-100, 100), min_size=n, max_size=n))
            col = (
                pd.Series(vals, dtype="int64")
                if kind == "int"
                else pd.Series(
                    [v if p else None for v, p in zip(vals, present, strict=True)], dtype="Int64"
                )
            )
        elif kind == "bool":
            col = pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        elif kind == "objbool":  # booleans with missing values, as pandas stores them
            vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
            col = pd.Series(
                [v if p else None for v, p in zip(vals, present, strict=True)], dtype=object
            )
        else:
            vals = draw(st.lists(st.sampled_from(_LABELS), min_size=n, max_size=n))
            labels = [v if p else None for v, p in zip(vals, present, strict=True)]
            if kind == "category":
                col = pd.Series(pd.Categorical(labels, categories=_LABELS))
            else:
                col = pd.Series(labels, dtype="str" if kind == "str" else object)
        columns[f"c{c}_{kind}"] = col
    return pd.DataFrame(columns)


@given(frames())
def test_random_schemas_round_trip(frame):
    schema = FeatureSchema.infer(frame)
    assert schema.names == tuple(frame.columns)
    values = schema.encode(frame)
    for j, feature in enumerate(schema.features):
        col = frame[feature.name]
        assert feature.allow_missing == bool(col.isna().any())
        if feature.is_numeric:
            observed = col.dropna().astype(float)
            assert feature.lower == observed.min() and feature.upper == observed.max()
            assert feature.kind == ("integer" if "int" in feature.name.lower() else "numeric")
        else:
            assert (feature.kind == "boolean") == ("bool" in feature.name)
            codes = values[:, j]
            assert set(codes[col.isna().to_numpy()]) <= {MISSING_CODE}
            present = codes[~col.isna().to_numpy()]
            assert ((present >= 0) & (present < len(feature.categories))).all()
            assert sum(feature.frequencies) + feature.missing_rate == pytest.approx(1.0)
    pd.testing.assert_frame_equal(schema.decode(values), frame)
