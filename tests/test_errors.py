"""The bad-input matrix: refused cases raise a surrogate.errors exception naming the feature
or argument (invariant 4); handled cases say how they were handled in the explanation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression

import surrogate as sg
from surrogate import TabularExplainer
from surrogate.errors import (
    DataError,
    DataTypeError,
    ModelError,
    ModelOutputError,
    ParameterError,
    SurrogateError,
    UnknownOptionError,
)


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["income", "debt", "age"])
    X["job"] = pd.Series(rng.choice(["clerk", "chef", "pilot"], 200), dtype="str")
    return X


def linear(rows: pd.DataFrame) -> np.ndarray:
    return rows["income"].to_numpy() - 2.0 * rows["debt"].to_numpy()


@pytest.fixture(scope="module")
def explainer(world):
    return TabularExplainer(linear, world, n_samples=100)


def raises(kind: type[SurrogateError], *fragments: str):
    """pytest.raises for ``kind`` that also checks the message names every fragment."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(kind)
            self.info = self._ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self._ctx.__exit__(*exc)
            message = str(self.info.value)
            assert isinstance(self.info.value, SurrogateError)
            for fragment in fragments:
                assert fragment in message, f"{fragment!r} not in {message!r}"
            return suppressed

    return _Check()


# --------------------------------------------------------------------------- queries


def test_query_missing_a_column(explainer, world):
    with raises(DataError, "missing ['debt']"):
        explainer.explain(world.iloc[0].drop("debt"))


def test_query_with_an_extra_column(explainer, world):
    query = world.iloc[[0]].assign(bonus=1.0)
    with raises(DataError, "unexpected ['bonus']"):
        explainer.explain_many(query)


def test_nan_where_the_schema_does_not_allow_it(explainer, world):
    query = world.iloc[0].copy()
    query["debt"] = np.nan
    with raises(DataError, "'debt'", "never missing"):
        explainer.explain(query)


def test_unseen_category(explainer, world):
    query = world.iloc[0].copy()
    query["job"] = "astronaut"
    with raises(DataError, "'job'", "'astronaut'", "'chef'"):
        explainer.explain(query)


def test_text_in_a_numeric_feature(explainer, world):
    query = world.iloc[0].copy().astype(object)
    query["age"] = "forty"
    with raises(DataError, "'age'", "'forty'", "numeric"):
        explainer.explain(query)


def test_infinite_query_value(explainer, world):
    query = world.iloc[0].copy()
    query["income"] = np.inf
    with raises(DataError, "'income'", "infinite"):
        explainer.explain(query)


@pytest.mark.parametrize("empty", ["frame", "array", "list"])
def test_empty_query_set(explainer, world, empty):
    queries = {"frame": world.iloc[:0], "array": np.empty((0, 4)), "list": []}[empty]
    with raises(DataError, "empty"):
        explainer.explain_many(queries)


def test_explain_takes_one_row(explainer, world):
    with raises(DataError, "one row", "got 2"):
        explainer.explain(world.iloc[:2])


def test_query_of_an_unsupported_type(explainer):
    with raises(DataTypeError, "query", "str"):
        explainer.explain("income=3")


# ------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    "kwargs, name, valid",
    [
        ({"sampler": "lhs"}, "'lhs'", ["'gaussian'", "'qmc'"]),
        ({"kernel": "gaussian"}, "'gaussian'", ["'exponential'", "'uniform'"]),
        ({"link": "probit"}, "'probit'", ["'identity'", "'logit'"]),
        ({"mode": "ranking"}, "'ranking'", ["'classification'", "'regression'"]),
    ],
)
def test_unknown_option_lists_valid_names(world, kwargs, name, valid):
    with raises(UnknownOptionError, name, *valid):
        TabularExplainer(linear, world, **kwargs)


def test_unknown_surrogate_lists_valid_names(explainer, world):
    with raises(UnknownOptionError, "'forest'", "'linear'"):
        explainer.explain(world.iloc[0], surrogate="forest")


def test_unknown_surrogate_parameter(explainer, world):
    with raises(ParameterError, "'linear'", "max_rules"):
        explainer.explain(world.iloc[0], max_rules=3)


def test_on_error_must_be_known(explainer, world):
    with raises(UnknownOptionError, "on_error", "'skip'"):
        explainer.explain_many(world.iloc[:2], on_error="skip")


def test_logit_link_needs_probabilities(world):
    with raises(ParameterError, "link='logit'", "probabilities"):
        TabularExplainer(linear, world, link="logit")


def test_n_samples_too_small_for_the_features(world):
    wide = pd.concat([world.drop(columns="job")] * 1, axis=1)
    for j in range(20):
        wide[f"extra{j}"] = wide["income"] * (j + 1)
    with raises(ParameterError, "n_samples=60", "23 features", "at least 96"):
        TabularExplainer(lambda rows: rows["income"].to_numpy(), wide, n_samples=60)


@pytest.mark.parametrize("value", [1.5, "100", True])
def test_n_samples_must_be_an_integer(world, value):
    with raises(ParameterError, "n_samples", repr(value)):
        TabularExplainer(linear, world, n_samples=value)


@pytest.mark.parametrize("width", [0, -1.0, float("nan"), float("inf")])
def test_kernel_width_must_be_positive(world, width):
    with raises(ParameterError, "kernel_width", repr(width)):
        TabularExplainer(linear, world, kernel_width=width)


def test_max_features_must_be_positive(explainer, world):
    with raises(ParameterError, "max_features", "0"):
        explainer.explain(world.iloc[0], max_features=0)


def test_holdout_share_range(world):
    with raises(ParameterError, "holdout_share", "0.9"):
        TabularExplainer(linear, world, holdout_share=0.9)


def test_target_must_be_an_output(world):
    with raises(ParameterError, "target", "'default'", "['output']"):
        TabularExplainer(linear, world, target="default")


def test_row_budget_must_be_positive(world):
    with raises(ParameterError, "row_budget", "0"):
        TabularExplainer(linear, world, row_budget=0)


# --------------------------------------------------------------------- the black box


def test_model_returning_the_wrong_shape(world):
    with raises(ModelOutputError, "shape", "(64, 2, 2)"):
        TabularExplainer(lambda rows: np.zeros((len(rows), 2, 2)), world)
    with raises(ModelOutputError, "shape", "for 64 rows"):
        TabularExplainer(lambda rows: np.zeros(len(rows) + 1), world)


def test_model_returning_the_wrong_number_of_rows_later(world):
    def model(rows):
        out = linear(rows)
        return out if len(rows) <= 64 else out[:-1]

    explainer = TabularExplainer(model, world, n_samples=100)
    with raises(ModelOutputError, "shape", "for 100 rows"):
        explainer.explain(world.iloc[0])


def test_model_returning_nan(world):
    def model(rows):
        out = linear(rows)
        if len(rows) > 64:
            out[7] = np.nan
        return out

    explainer = TabularExplainer(model, world, n_samples=100)
    with raises(ModelOutputError, "NaN"):
        explainer.explain(world.iloc[0])


class UnnormalisedClassifier(ClassifierMixin, BaseEstimator):
    """A fitted-looking classifier whose 'probabilities' do not sum to 1."""

    def fit(self, X, y):
        self.classes_ = np.array(["bad", "good"])
        return self

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-np.asarray(X["income"], dtype=float)))
        return np.column_stack([p, p])


def test_probabilities_that_do_not_sum_to_one(world):
    model = UnnormalisedClassifier().fit(world, None)
    with raises(ModelOutputError, "probabilities", "sum to 1"):
        TabularExplainer(model, world)


def test_non_deterministic_black_box_is_detected(world):
    noise = np.random.default_rng(0)  # a model with its own unseeded randomness

    def model(rows):
        return linear(rows) + noise.normal(size=len(rows))

    with raises(ModelOutputError, "not deterministic"):  # found when the model is probed
        TabularExplainer(model, world, n_samples=100).explain(world.iloc[0])


# ------------------------------------------------------------------- training data


def test_infinite_training_value(world):
    bad = world.copy()
    bad.loc[5, "debt"] = -np.inf
    with raises(DataError, "'debt'", "infinite"):
        TabularExplainer(linear, bad)


@pytest.mark.parametrize("dtype", ["float64", "str", "category"])
def test_all_missing_training_column(world, dtype):
    bad = world.copy()
    bad["notes"] = pd.Series([None] * len(bad), dtype=dtype)
    with raises(DataError, "'notes'", "missing in every training row"):
        TabularExplainer(linear, bad)


def test_training_data_of_an_unsupported_type():
    with raises(DataTypeError, "training data", "dict"):
        TabularExplainer(linear, {"income": [1.0, 2.0]})


def test_duplicated_training_columns(world):
    bad = pd.concat([world, world[["age"]]], axis=1)
    with raises(DataError, "duplicated", "age"):
        TabularExplainer(linear, bad)


# ----------------------------------------------------------------- the error classes


def test_errors_are_also_builtin_exceptions():
    assert issubclass(DataError, ValueError)
    assert issubclass(ParameterError, ValueError)
    assert issubclass(UnknownOptionError, ParameterError)
    assert issubclass(DataTypeError, TypeError)
    assert issubclass(ModelOutputError, ValueError)


# ---- handled cases: the explanation records how -----------------------------------------------
@pytest.fixture(scope="module")
def handled_world():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.uniform(0, 10, size=300),
            "kind": pd.Categorical(rng.choice(["x", "y"], size=300)),
            "flat": np.full(300, 7.0),
        }
    )

    def model(rows):
        return (
            2 * rows["a"].to_numpy() + 0.5 * rows["b"].to_numpy() + (rows["kind"] == "y").to_numpy()
        )

    return model, X


def test_reordered_columns_are_matched_by_name(handled_world):
    model, X = handled_world
    explainer = sg.TabularExplainer(model, X, n_samples=300)
    reordered = X.iloc[[0]][["flat", "kind", "b", "a"]]
    assert explainer.explain(reordered).to_json() == explainer.explain(X.iloc[[0]]).to_json()


def test_constant_feature_is_frozen_and_said(handled_world):
    model, X = handled_world
    exp = sg.TabularExplainer(model, X, n_samples=300).explain(X.iloc[0])
    assert any("constant in the training data" in w and "flat" in w for w in exp.warnings)
    assert "flat" not in exp.top_features()


def test_query_far_outside_the_range_is_explained_with_a_warning(handled_world):
    model, X = handled_world
    query = X.iloc[[0]].assign(a=1e4)
    exp = sg.TabularExplainer(model, X, n_samples=300).explain(query)
    assert any("outside the training data's range" in w and "a=10000" in w for w in exp.warnings)
    assert np.isfinite(exp.prediction) and exp.fidelity.mae >= 0


def test_constant_value_changed_in_the_query_is_extrapolation(handled_world):
    model, X = handled_world
    exp = sg.TabularExplainer(model, X, n_samples=300).explain(X.iloc[[0]].assign(flat=8.0))
    assert any("flat=8" in w for w in exp.warnings)


def test_wrong_dtype_in_a_query_column_is_refused(handled_world):
    model, X = handled_world
    explainer = sg.TabularExplainer(model, X, n_samples=300)
    with pytest.raises(DataError, match="'b' must be numeric"):
        explainer.explain(X.iloc[[0]].assign(b="ten"))


def test_single_class_training_is_refused():
    X = pd.DataFrame({"a": np.arange(20.0)})
    model = DummyClassifier().fit(X, ["yes"] * 20)
    with pytest.raises(ModelError, match="single class"):
        sg.TabularExplainer(model, X, n_samples=100)


def test_n_samples_too_large_for_a_fixed_shape_budget():
    torch = pytest.importorskip("torch")
    X = pd.DataFrame(np.zeros((10, 2)), columns=["a", "b"])
    module = torch.nn.Linear(2, 1).eval()
    with pytest.raises(ParameterError, match="exceeds row_budget"):
        sg.TabularExplainer(module, X, torch_output="regression", n_samples=600, row_budget=500)


def test_regression_model_through_sklearn_is_recovered(handled_world):
    _, X = handled_world
    y = 3 * X["a"] - X["b"]
    model = LinearRegression().fit(X[["a", "b"]], y)
    explainer = sg.TabularExplainer(lambda rows: model.predict(rows[["a", "b"]]), X, n_samples=300)
    exp = explainer.explain(X.iloc[3])
    assert exp.fidelity.r2 > 0.999
    assert set(exp.top_features(2)) == {"a", "b"}


def test_a_kernel_too_narrow_for_its_sample_is_refused(handled_world):
    model, X = handled_world
    for width in (1e-3, 0.05):
        with pytest.raises(ParameterError, match="kernel_width=.*effective sample sizes"):
            sg.TabularExplainer(model, X, n_samples=300, kernel_width=width).explain(X.iloc[0])


def test_a_narrow_kernel_is_explained_with_a_warning(handled_world):
    model, X = handled_world
    exp = sg.TabularExplainer(model, X, n_samples=300, kernel_width=0.1).explain(X.iloc[0])
    assert any("few effective rows" in w for w in exp.warnings)
    wide = sg.TabularExplainer(model, X, n_samples=300).explain(X.iloc[0])
    assert not any("few effective rows" in w for w in wide.warnings)


# ---- numbers at the edges of float64 and int64 ------------------------------------------------
def test_huge_numbers_keep_a_finite_scale_and_integers_never_wrap():
    from surrogate.schema import FeatureSchema

    X = pd.DataFrame(
        {"a": np.array([0, 2**63 - 1, 5, 7], dtype=np.int64), "b": [1e154, 2e154, 3e154, 4e154]}
    )
    schema = FeatureSchema.infer(X)
    assert np.isfinite(schema.features[1].scale) and schema.features[1].scale > 1e153
    decoded = schema.decode(schema.encode(X))["a"].tolist()
    assert min(decoded) == 0 and max(decoded) > 2**62  # the largest never wraps to -2**63


def test_minus_zero_is_the_same_query_as_zero():
    from surrogate.schema import FeatureSchema

    schema = FeatureSchema.infer(pd.DataFrame({"a": [1.0, -2.0, 3.0]}))
    zero = schema.encode(pd.DataFrame({"a": [0.0]}))
    minus = schema.encode(pd.DataFrame({"a": [-0.0]}))
    assert zero.tobytes() == minus.tobytes()


def test_integer_column_labels_reach_the_model_as_they_were():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)))  # labels 0, 1, 2

    def model(rows):
        p = 1 / (1 + np.exp(-rows[0].to_numpy()))  # indexes by the integer label
        return np.column_stack([1 - p, p])

    exp = TabularExplainer(model, X, n_samples=300).explain(X.iloc[0])
    assert exp.top_features(1) == ["0"]


def test_multi_level_column_labels_are_refused():
    columns = pd.MultiIndex.from_tuples([("a", 1), ("a", 2)])
    X = pd.DataFrame(np.ones((20, 2)), columns=columns)
    with pytest.raises(DataTypeError, match="multi-level column labels"):
        TabularExplainer(linear, X)


@pytest.mark.parametrize("cell", [[1, 2], {"a": 1}, 1 + 2j])
def test_container_and_complex_cells_are_refused_by_name(cell):
    X = pd.DataFrame({"income": [1.0, 2.0, 3.0] * 10, "odd": [cell, 1.0, 2.0] * 10})
    with pytest.raises(DataTypeError, match="'odd'"):
        TabularExplainer(lambda rows: rows["income"].to_numpy(), X, mode="regression")
