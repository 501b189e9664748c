"""TabularExplainer: known answers, real data through pipelines, and the invariants of DESIGN.md."""

from __future__ import annotations

import json
import math
import pickle
import random

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import surrogate as sg
from surrogate import TabularExplainer
from surrogate.errors import DataError, ModelError, ParameterError
from surrogate.schema import point_flag_owner

SIGNS = {"f1": 1.0, "f4": -1.0, "f7": 1.0}


# ------------------------------------------------------------------------------ helpers


def assert_same_explanation(a: sg.Explanation, b: sg.Explanation, tol: float = 1e-9) -> None:
    """Same features, rules, signs and strings; numbers equal to ``tol`` (invariant 1)."""
    if a.to_json() == b.to_json():
        return
    _close(json.loads(a.to_json()), json.loads(b.to_json()), tol, "explanation")


def _close(x, y, tol, where):
    assert type(x) is type(y), where
    if isinstance(x, dict):
        assert sorted(x) == sorted(y), where
        for key in x:
            _close(x[key], y[key], tol, f"{where}.{key}")
    elif isinstance(x, list):
        assert len(x) == len(y), where
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _close(u, v, tol, f"{where}[{i}]")
    elif isinstance(x, float):
        assert math.isclose(x, y, rel_tol=tol, abs_tol=tol), f"{where}: {x} != {y}"
    else:
        assert x == y, where


def is_finite_explanation(exp: sg.Explanation) -> bool:
    numbers = [exp.prediction, exp.content.intercept, exp.fidelity.mae, exp.fidelity.query_gap]
    numbers += [t.weight for t in exp.content.terms]
    numbers += [v for v in (exp.fidelity.r2, exp.fidelity.r2_in_sample) if v is not None]
    return bool(np.isfinite(numbers).all())


def tabular_pipeline(X: pd.DataFrame):
    """What a user would build: impute + one-hot the text/category columns, boosted trees on top."""
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    columns = ColumnTransformer(
        [("categories", encode, categorical), ("numbers", "passthrough", numeric)],
        sparse_threshold=0,
    )
    # GradientBoosting rather than HistGradientBoosting: no OpenMP, so small calls stay fast
    return make_pipeline(columns, GradientBoostingClassifier(n_estimators=60, random_state=0))


def _as_str(X: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    X = X.copy()
    for c in columns:
        X[c] = X[c].astype(object).where(X[c].notna(), None).astype("str")
    return X


@pytest.fixture(scope="module")
def german_model(german_credit):
    X, y = german_credit
    X = _as_str(X, ["purpose", "savings", "job", "housing"])  # str and category columns
    return tabular_pipeline(X).fit(X, y), X


@pytest.fixture(scope="module")
def adult_model():
    X, y = sg.datasets.load_adult()
    rows = np.random.default_rng(0).choice(len(X), 3000, replace=False)
    X, y = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    X = _as_str(X, ["occupation", "education"])  # occupation keeps its missing values as str NaN
    assert X["occupation"].isna().any() and X["workclass"].isna().any()
    return tabular_pipeline(X).fit(X, y), X


@pytest.fixture(scope="module")
def logistic_explainer(logistic_world):
    model, X = logistic_world
    return TabularExplainer(model, X, n_samples=600)


# ------------------------------------------------------------------- (1) known answers


def _assert_top3(exp: sg.Explanation) -> None:
    assert set(exp.top_features(3)) == set(SIGNS)
    weights = {t.feature: t.weight for t in exp.content.terms}
    for name, sign in SIGNS.items():
        assert np.sign(weights[name]) == sign, (name, weights[name])


def test_logistic_world_top3_and_signs_identity_link(logistic_world):
    model, X = logistic_world
    explainer = TabularExplainer(model, X, n_samples=1000, link="identity")
    many = explainer.explain_many(X.iloc[:10], max_features=5)
    assert len(many) == 10 and not many.failures
    for exp in many:
        _assert_top3(exp)
        assert exp.meta.link == "identity"


def test_default_link_is_log_odds_for_probabilities_only(logistic_world):
    model, X = logistic_world
    assert TabularExplainer(model, X, n_samples=300).link == "logit"
    regressor = TabularExplainer(lambda rows: rows["f1"].to_numpy(), X, n_samples=300)
    assert regressor.link == "identity"


def test_logistic_world_top3_signs_and_fidelity_logit_link(logistic_world):
    model, X = logistic_world
    explainer = TabularExplainer(model, X, n_samples=1000, link="logit")
    for exp in explainer.explain_many(X.iloc[:10], max_features=3):
        _assert_top3(exp)
        assert exp.fidelity.r2 >= 0.99
        assert exp.fidelity.agreement is not None and exp.fidelity.agreement >= 0.95


def test_logit_link_recovers_the_coefficients_exactly(logistic_world):
    model, X = logistic_world
    explainer = TabularExplainer(model, X, n_samples=600, link="logit")
    for exp in explainer.explain_many(X.iloc[:3], max_features=10):
        assert exp.fidelity.r2 == pytest.approx(1.0, abs=1e-9)
        per_unit = {t.feature: t.weight_per_unit for t in exp.content.terms}
        for j, name in enumerate(X.columns):
            assert per_unit[name] == pytest.approx(model.coef_[0, j], rel=1e-6, abs=1e-8)


def test_linear_regression_black_box_is_recovered(logistic_world):
    _, X = logistic_world
    target = 3.0 * X["f0"] - 2.0 * X["f2"] + 0.5 * X["f9"] + 7.0
    model = LinearRegression().fit(X, target)
    exp_many = TabularExplainer(model, X, n_samples=500).explain_many(X.iloc[:4])
    for exp in exp_many:
        assert exp.fidelity.r2 >= 0.999
        assert exp.top_features() == ["f0", "f2", "f9"]  # the other features explain nothing
        per_unit = {t.feature: t.weight_per_unit for t in exp.content.terms}
        assert per_unit == pytest.approx({"f0": 3.0, "f2": -2.0, "f9": 0.5}, rel=1e-6)
        assert exp.content.intercept == pytest.approx(exp.prediction, rel=1e-9)


@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_callable_linear_black_box_is_recovered(logistic_world, offset):
    """A large offset with small slopes must not drown the slopes (response is centred)."""
    _, X = logistic_world

    def model(rows: pd.DataFrame) -> np.ndarray:
        return offset + 1e-2 * rows["f3"].to_numpy() + 1e-3 * rows["f5"].to_numpy()

    exp = TabularExplainer(model, X, n_samples=500).explain(X.iloc[0], max_features=3)
    assert exp.fidelity.r2 >= 0.999
    assert exp.top_features() == ["f3", "f5"]
    assert exp.content.terms[0].weight_per_unit == pytest.approx(1e-2, rel=1e-6)


# ----------------------------------------------------------- (3) real data, pipelines


def _check_real(explainer, X, n_queries):
    many = explainer.explain_many(X.iloc[:n_queries])
    assert len(many) == n_queries and not many.failures
    for exp in many:
        assert is_finite_explanation(exp)
        assert exp.fidelity.r2 is not None and exp.fidelity.r2_in_sample is not None
        assert exp.fidelity.agreement is not None
        top = exp.top_features(3)
        # a column, or the point-mass state of one ("capital_gain is 0")
        assert top and set(top) <= set(explainer.sampler.z_names)
        assert set(explainer.sampler.z_names[: X.shape[1]]) == set(X.columns)
        assert set(exp.query) == set(X.columns)
    frame = many.to_frame()
    assert len(frame) == n_queries and frame["r2"].notna().all()
    return float(np.median([e.fidelity.r2 for e in many]))


@pytest.mark.slow
def test_german_credit_through_a_pipeline(german_model):
    model, X = german_model
    explainer = TabularExplainer(model, X, n_samples=800)
    assert explainer.target.name == "good"
    _check_real(explainer, X, 8)


@pytest.mark.slow
def test_adult_with_missing_values_through_a_pipeline(adult_model):
    model, X = adult_model
    explainer = TabularExplainer(model, X, n_samples=800)
    missing_rows = X.index[X["occupation"].isna()][:2]
    queries = pd.concat([X.iloc[:6], X.loc[missing_rows]]).reset_index(drop=True)
    _check_real(explainer, queries, 8)
    exp = explainer.explain(X.loc[missing_rows[0]])
    assert exp.query["occupation"] == "missing"


# --------------------------------------------- (4) explain is explain_many of one row


def test_explain_is_explain_many_of_one_row_mixed_types(german_model):
    model, X = german_model
    explainer = TabularExplainer(model, X, n_samples=300)
    queries = X.iloc[[3, 14, 15, 92]]
    batch = [e.to_json() for e in explainer.explain_many(queries)]
    alone = [explainer.explain(queries.iloc[i]).to_json() for i in range(len(queries))]
    reverse = [e.to_json() for e in explainer.explain_many(queries.iloc[::-1])][::-1]
    tiny = TabularExplainer(model, X, n_samples=300, row_budget=70)  # queries split across calls
    tight = [e.to_json() for e in tiny.explain_many(queries)]
    assert batch == alone == reverse == tight  # a tree model: byte-identical


def test_explain_is_explain_many_of_one_row_float_model(logistic_explainer, logistic_world):
    model, X = logistic_world
    queries = X.iloc[:5]
    batch = list(logistic_explainer.explain_many(queries))
    alone = [logistic_explainer.explain(queries.iloc[i]) for i in range(5)]
    reverse = list(logistic_explainer.explain_many(queries.iloc[::-1]))[::-1]
    tight = list(TabularExplainer(model, X, n_samples=600, row_budget=50).explain_many(queries))
    dicts = [logistic_explainer.explain(dict(queries.iloc[i])) for i in range(5)]
    for group in (alone, reverse, tight, dicts):
        for a, b in zip(batch, group, strict=True):
            assert_same_explanation(a, b)


def test_row_budget_bounds_every_model_call(logistic_world):
    _, X = logistic_world
    calls: list[int] = []

    def model(rows):
        calls.append(len(rows))
        return rows["f1"].to_numpy()

    explainer = TabularExplainer(model, X, n_samples=300, row_budget=100)
    calls.clear()
    explainer.explain_many(X.iloc[:3])
    assert max(calls) <= 100
    assert sum(calls) == 3 * 300  # n_samples counts every scored row, held-out included


# ------------------------------------------------------------- (5) no global RNG touched


def test_no_global_rng_is_touched(logistic_explainer, logistic_world):
    torch = pytest.importorskip("torch")
    _, X = logistic_world
    np.random.seed(11)
    random.seed(11)
    torch.manual_seed(11)
    numpy_state, python_state, torch_state = (
        np.random.get_state(),
        random.getstate(),
        torch.random.get_rng_state(),
    )
    logistic_explainer.explain_many(X.iloc[:3])
    after = np.random.get_state()
    assert numpy_state[0] == after[0] and np.array_equal(numpy_state[1], after[1])
    assert numpy_state[2:] == after[2:]
    assert random.getstate() == python_state
    assert torch.equal(torch.random.get_rng_state(), torch_state)


# ---------------------------------------------------------------------- (6) provenance


def test_provenance_is_recorded(logistic_explainer, logistic_world):
    _, X = logistic_world
    exp = logistic_explainer.explain(X.iloc[0], max_features=4)
    meta = exp.meta
    assert meta.library_version == sg.__version__
    fingerprint = meta.sampler.pop("training_numbers_fingerprint")
    assert len(fingerprint) == 64  # numbers redrawn from their training values (the default)
    assert meta.sampler == {
        "name": "qmc",
        "scale": 0.5,
        "category_change": 0.3,
        "number_change": 0.5,
    }
    assert meta.kernel == {"name": "exponential", "width": 1.0}
    assert meta.surrogate == {
        "family": "linear",
        "max_features": 4,
        "n_bootstrap": 20,
        "control_variates": True,
    }
    assert meta.random_state_entropy == 0 and meta.random_state_spawn_key == []
    assert len(meta.query_digest) == 32
    assert meta.n_samples == 600 and meta.n_fit + meta.n_holdout + meta.n_population + 1 == 600
    assert meta.n_population == 60 and exp.fidelity.n_population == 60
    assert meta.schema_fingerprint == logistic_explainer.schema.fingerprint()
    assert len(meta.schema_fingerprint) == 64 and len(meta.model_fingerprint) == 64
    assert "LogisticRegression" in meta.model
    assert meta.target == "True" and meta.mode == "classification"
    assert exp.fidelity.n_fit == meta.n_fit and exp.fidelity.n_holdout == meta.n_holdout


# ------------------------------------------------------------ (7) random_state=None


def test_fresh_entropy_is_recorded_and_reproducible(logistic_world):
    model, X = logistic_world
    first = TabularExplainer(model, X, n_samples=300, random_state=None).explain(X.iloc[1])
    second = TabularExplainer(model, X, n_samples=300, random_state=None).explain(X.iloc[1])
    assert first.meta.random_state_entropy != second.meta.random_state_entropy
    seed = np.random.SeedSequence(first.meta.random_state_entropy)
    again = TabularExplainer(model, X, n_samples=300, random_state=seed).explain(X.iloc[1])
    assert again.to_json() == first.to_json()


def test_a_generator_is_refused_as_random_state(logistic_world):
    model, X = logistic_world
    with pytest.raises(ParameterError, match="random_state.*Generator"):
        TabularExplainer(model, X, random_state=np.random.default_rng(0))


# -------------------------------------------- (8) explainer and model are not modified


def test_explain_modifies_neither_explainer_nor_model(logistic_world):
    model, X = logistic_world
    explainer = TabularExplainer(model, X, n_samples=300)
    queries = X.iloc[:4].copy()
    model_bytes = pickle.dumps(model)
    state = {k: pickle.dumps(v) for k, v in vars(explainer).items()}
    explainer.explain_many(queries)
    explainer.explain(queries.iloc[0])
    assert pickle.dumps(model) == model_bytes
    assert {k: pickle.dumps(v) for k, v in vars(explainer).items()} == state
    pd.testing.assert_frame_equal(queries, X.iloc[:4])


# ------------------------------------------------------------- (9) on_error="record"


def test_on_error_record_lists_bad_rows_and_explains_the_others(logistic_world):
    model, X = logistic_world
    explainer = TabularExplainer(model, X, n_samples=300)
    queries = X.iloc[:5].copy()
    queries.iloc[2, 3] = np.nan
    many = explainer.explain_many(queries, on_error="record")
    assert many.indices == [0, 1, 3, 4]
    assert [f.index for f in many.failures] == [2]
    assert many.failures[0].error == "DataError" and "'f3'" in many.failures[0].message
    alone = explainer.explain(queries.iloc[0])
    assert many[0].to_json() == alone.to_json()
    with pytest.raises(DataError, match="'f3'") as raised:
        explainer.explain_many(queries)
    # the recorded failure names the row as the raised error does: its row in the input
    assert "query row 2" in str(raised.value) and "query row 2" in many.failures[0].message


def test_on_error_record_isolates_a_model_failure(logistic_world):
    _, X = logistic_world

    def model(rows):
        values = rows["f0"].to_numpy()
        if (np.abs(values) > 50).any():
            raise ValueError("cannot score f0 beyond 50")
        return values

    explainer = TabularExplainer(model, X, n_samples=300)
    queries = X.iloc[:3].copy()
    queries.iloc[1, 0] = 60.0  # outside the training range: only the query rows reach 60
    many = explainer.explain_many(queries, on_error="record")
    assert many.indices == [0, 2]
    failure = many.failures[0]
    assert failure.index == 1 and failure.error == "ModelError" and "beyond 50" in failure.message
    with pytest.raises(ModelError, match="beyond 50"):
        explainer.explain_many(queries)


# ---------------------------------------------------------- (10) constant black box


def test_constant_black_box_has_no_r2_and_says_why(logistic_world):
    _, X = logistic_world
    explainer = TabularExplainer(
        lambda rows: np.full(len(rows), 0.25), X, mode="regression", n_samples=300
    )
    exp = explainer.explain(X.iloc[0])
    assert exp.fidelity.r2 is None and exp.fidelity.r2_in_sample is None
    assert "constant" in exp.fidelity.note and "R^2" in exp.fidelity.note
    assert exp.fidelity.mae == pytest.approx(0.0, abs=1e-12)
    assert exp.top_features() == []  # no feature is credited with rounding noise
    assert exp.content.intercept == pytest.approx(0.25)
    assert exp.fidelity.note in exp.to_text()
    assert sg.Explanation.from_json(exp.to_json()) == exp


# ------------------------------------------------------------ decision threshold


def _agreement_by_hand(explainer, exp, row, threshold):
    """Agreement on the held-out neighbourhood, recomputed from the explanation's own terms."""
    from surrogate.explain.pipeline import apply_link, held_out_rows
    from surrogate.kernels import kernel_weights

    values = explainer.schema.encode(row)[0]
    hood = held_out_rows(explainer, values, explainer.schema.readable(values), exp.meta.n_holdout)
    column = list(explainer.blackbox.output_names).index(exp.meta.target)
    y = apply_link(
        explainer.blackbox.predict_rows(hood.values, explainer.schema.decode)[:, column], "logit"
    )
    names = list(explainer.sampler.z_names)
    pred = exp.content.intercept + sum(
        t.weight * hood.z[:, names.index(t.feature)] for t in exp.content.terms
    )
    w = kernel_weights(explainer.kernel, hood.distance, explainer.kernel_width)
    return float(np.dot(w, (y >= threshold) == (pred >= threshold)) / w.sum())


def test_agreement_is_measured_at_the_threshold_in_the_explained_scale(logistic_world):
    model, X = logistic_world
    row = X.iloc[[3]]
    for cutoff in (None, 0.2, 0.7):
        explainer = sg.TabularExplainer(model, X, n_samples=600, threshold=cutoff)
        exp = explainer.explain(row, max_features=1)  # one of three features: not exact
        t = 0.5 if cutoff is None else cutoff
        assert exp.meta.threshold == t and explainer.identity()["threshold"] == t
        assert explainer.scorer.threshold == pytest.approx(np.log(t / (1 - t)), abs=1e-12)
        assert exp.fidelity.agreement == pytest.approx(
            _agreement_by_hand(explainer, exp, row, np.log(t / (1 - t))), abs=1e-12
        )
    identity = sg.TabularExplainer(model, X, n_samples=600, threshold=0.2, link="identity")
    assert identity.scorer.threshold == 0.2


def test_the_default_threshold_is_the_class_boundary(logistic_world):
    model, X = logistic_world
    default = sg.TabularExplainer(model, X, n_samples=400).explain(X.iloc[0])
    explicit = sg.TabularExplainer(model, X, n_samples=400, threshold=0.5).explain(X.iloc[0])
    assert default.to_json() == explicit.to_json()


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1, float("nan"), "0.2", True])
def test_a_threshold_outside_the_probabilities_is_refused(logistic_world, bad):
    model, X = logistic_world
    with pytest.raises(ParameterError, match="threshold"):
        sg.TabularExplainer(model, X, n_samples=400, threshold=bad)


# ------------------------------------------------------------ contributions


def _surrogate_over_training(explainer, exp, query, X_train) -> float:
    """The linear surrogate's mean over the training rows, each row's z computed by hand."""
    schema, sampler = explainer.schema, explainer.sampler
    q = schema.encode(query)[0]
    train = schema.encode(X_train)
    bins = getattr(sampler, "_bins", {})
    total = np.full(len(train), exp.content.intercept)
    for term in exp.content.terms:
        owner = point_flag_owner(term.feature, schema.features)
        if owner is not None:  # a point-mass state: -1 where a row's state differs from the query's
            j, point = schema.names.index(owner.name), float(term.feature.split(" is ")[-1])
            total += term.weight * -((train[:, j] == point) != (q[j] == point)).astype(float)
            continue
        j = schema.names.index(term.feature)
        feature = schema.features[j]
        if feature.is_numeric and j in bins:  # lime: -1 where the quartile bin differs
            z = -(bins[j].index(train[:, j]) != bins[j].index(q[j : j + 1])).astype(float)
        elif feature.is_numeric:
            z = (train[:, j] - q[j]) / feature.scale
        else:  # a category, missing being one: -1 where it differs
            z = -(train[:, j] != q[j]).astype(float)
        total += term.weight * z
    return float(total.mean())


@pytest.mark.parametrize("sampler", ["qmc", "lime"])
def test_contributions_add_up_from_the_training_mean_to_the_surrogate_at_the_query(
    adult_model, sampler
):
    model, X = adult_model
    explainer = sg.TabularExplainer(model, X, n_samples=800, sampler=sampler)
    many = explainer.explain_many(X.iloc[[0, 5, 11]], max_features=6)
    for i, exp in zip([0, 5, 11], many, strict=True):
        assert exp.content.reference.startswith("the training data")
        assert len(exp.contributions) == len(exp.content.terms) > 0
        total = exp.baseline + sum(exp.contributions.values())
        assert total == pytest.approx(exp.content.intercept, abs=1e-12)
        # the surrogate at the query is the intercept (z is 0 there): the black box minus the gap
        logit = np.log(exp.prediction / (1 - exp.prediction))
        assert abs(total - logit) == pytest.approx(exp.fidelity.query_gap, abs=1e-9)
        # the baseline is the surrogate's mean over the training rows
        query = X.iloc[[i]]
        assert exp.baseline == pytest.approx(_surrogate_over_training(explainer, exp, query, X))
        for term in exp.content.terms:
            if term.weight_per_unit is not None:  # a number: slope per sd x sds from the mean
                feature = explainer.schema[term.feature]
                expected = term.weight * (term.value - feature.mean) / feature.scale
                assert term.contribution == pytest.approx(expected, abs=1e-12)


def test_global_linear_terms_have_no_contribution(logistic_world):
    model, X = logistic_world
    glob = sg.TabularExplainer(model, X, n_samples=400).explain_global(X, "linear")
    assert glob.content.baseline is None
    assert all(t.contribution is None and t.value is None for t in glob.content.terms)
