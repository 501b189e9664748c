"""Tabular samplers: domain constraints, frozen features, z at the query, seeds, registry;
the ``lime`` scheme against the lime package, qmc variance."""

from __future__ import annotations

import inspect
import json
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import surrogate as sg
from surrogate.errors import ParameterError, UnknownOptionError
from surrogate.sampling import (
    SAMPLERS,
    GaussianSampler,
    LimeSampler,
    QMCSampler,
    make_sampler,
    needs_training_values,
)
from surrogate.sampling.tabular import LIME_WIDTH_FACTOR
from surrogate.schema import MISSING_CODE, FeatureSchema

_LABELS = ["a", "b", "c", "d"]
#: samplers that draw around the query from the schema alone (lime also needs training values)
LOCAL_SAMPLERS = ["gaussian", "qmc"]


@st.composite
def worlds(draw):
    """A random training frame, its schema (some features immutable), and a query row index."""
    n = draw(st.integers(min_value=3, max_value=30))
    n_cols = draw(st.integers(min_value=1, max_value=6))
    columns = {}
    for c in range(n_cols):
        kind = draw(st.sampled_from(["float", "int", "cat", "const", "bool"]))
        missing = draw(st.booleans()) and kind in ("float", "cat")
        present = draw(st.lists(st.booleans(), min_size=n, max_size=n)) if missing else [True] * n
        present[0] = True
        if kind == "float":
            scale = draw(st.sampled_from([1e-3, 1.0, 1e4]))
            vals = draw(st.lists(st.floats(-100, 100, allow_nan=False), min_size=n, max_size=n))
            col = [v * scale if p else np.nan for v, p in zip(vals, present, strict=True)]
        elif kind == "int":
            col = draw(st.lists(st.integers(-20, 20), min_size=n, max_size=n))
        elif kind == "const":
            col = [draw(st.sampled_from([3.5, 7.0]))] * n
        elif kind == "bool":
            col = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        else:
            vals = draw(st.lists(st.sampled_from(_LABELS), min_size=n, max_size=n))
            col = pd.Series(
                [v if p else None for v, p in zip(vals, present, strict=True)], dtype="str"
            )
        columns[f"{kind}{c}"] = col
    frame = pd.DataFrame(columns)
    immutable = [name for name in frame.columns if draw(st.booleans()) and draw(st.booleans())]
    schema = FeatureSchema.infer(frame, immutable_features=immutable)
    row = draw(st.integers(min_value=0, max_value=n - 1))
    return frame, schema, row


def _check_neighbourhood(schema, query, hood, n, sampler):
    values, z = hood.values, hood.z
    p = len(schema)
    # one z column per feature, then one per point mass of a movable number
    flags = [
        (schema.names.index(f.name), v)
        for f in schema.features
        if f.is_numeric and not f.frozen
        for v in f.points
    ]
    assert values.shape == (n, p) and z.shape == (n, p + len(flags))
    assert sampler.z_names == schema.names + tuple(
        f"{schema.names[j]} is {int(v) if v.is_integer() else format(v, '.6g')}" for j, v in flags
    )
    for k, (j, v) in enumerate(flags):
        np.testing.assert_array_equal(
            z[:, p + k], -((values[:, j] == v) != (query[j] == v)).astype(float)
        )
    assert hood.distance.shape == (n,) and (hood.distance >= 0).all()
    for j, feature in enumerate(schema.features):
        col = values[:, j]
        if feature.frozen or (feature.is_numeric and np.isnan(query[j])):
            # immutable, constant and missing-at-the-query numbers never move
            np.testing.assert_array_equal(col, np.full(n, query[j]))
            assert (z[:, j] == 0).all()
            continue
        if feature.is_numeric:
            assert not np.isnan(col).any()
            assert (col >= feature.lower).all() and (col <= feature.upper).all()
            if feature.kind == "integer":
                np.testing.assert_array_equal(col, np.round(col))
            np.testing.assert_allclose(
                z[:, j], (col - query[j]) / feature.scale, rtol=1e-12, atol=1e-12
            )
        else:
            codes = set(np.unique(col).tolist())
            allowed = set(range(len(feature.categories)))
            if feature.allow_missing:
                allowed.add(MISSING_CODE)
            assert codes <= allowed
            np.testing.assert_array_equal(z[:, j], -(col != query[j]).astype(float))
        # z is 0 exactly where the row equals the query
        assert ((z[:, j] == 0) == (col == query[j])).all()


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
@given(world=worlds(), n=st.integers(min_value=1, max_value=70))
def test_samples_respect_the_schema(name, world, n):
    frame, schema, row = world
    query = schema.encode(frame)[row]
    sampler = make_sampler(name, schema)
    hood = sampler.sample(query, n, np.random.SeedSequence(7))
    _check_neighbourhood(schema, query, hood, n, sampler)


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
@given(world=worlds())
def test_same_seed_gives_identical_samples(name, world):
    frame, schema, row = world
    query = schema.encode(frame)[row]
    sampler = make_sampler(name, schema)
    a = sampler.sample(query, 40, np.random.SeedSequence(123))
    b = make_sampler(name, schema).sample(query, 40, np.random.SeedSequence(123))
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.distance, b.distance)


@pytest.fixture(scope="module")
def wide_schema():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "x": rng.normal(10, 2, 500),
            "k": rng.integers(0, 50, 500),
            "job": pd.Series(rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2]), dtype="str"),
        }
    )
    return frame, FeatureSchema.infer(frame)


def test_different_seeds_differ(wide_schema):
    frame, schema = wide_schema
    query = schema.encode(frame)[0]
    sampler = make_sampler("gaussian", schema)
    a = sampler.sample(query, 50, np.random.SeedSequence(1))
    b = sampler.sample(query, 50, np.random.SeedSequence(2))
    assert not np.array_equal(a.values, b.values)


def test_qmc_has_the_same_marginals_as_gaussian(wide_schema):
    frame, schema = wide_schema
    query = schema.encode(
        pd.DataFrame({"x": [10.0], "k": [25], "job": ["a"]}).astype(frame.dtypes)
    )[0]
    n = 2048
    g = make_sampler("gaussian", schema).sample(query, n, np.random.SeedSequence(3))
    q = make_sampler("qmc", schema).sample(query, n, np.random.SeedSequence(3))
    for j in range(2):  # numbers: same distribution
        assert stats.ks_2samp(g.values[:, j], q.values[:, j]).pvalue > 1e-3
        sd = schema.features[j].scale * 0.5
        assert abs(q.values[:, j].mean() - query[j]) < 0.1 * sd
        assert q.values[:, j].std() == pytest.approx(g.values[:, j].std(), rel=0.1)
    # categories: changed with probability category_change * P(redraw differs)
    change_g, change_q = -g.z[:, 2].mean(), -q.z[:, 2].mean()
    expected = 0.3 * (1 - schema["job"].frequencies[0])
    assert change_q == pytest.approx(expected, abs=0.01)
    assert change_g == pytest.approx(expected, abs=0.03)


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
@pytest.mark.parametrize("held", ["a", "c"])
def test_a_changed_category_is_redrawn_by_training_frequency(wide_schema, name, held):
    frame, schema = wide_schema
    query = schema.encode(
        pd.DataFrame({"x": [10.0], "k": [25], "job": [held]}).astype(frame.dtypes)
    )[0]
    n = 4096
    hood = make_sampler(name, schema).sample(query, n, np.random.SeedSequence(5))
    job = schema["job"]
    changed = hood.values[hood.z[:, 2] == -1, 2]
    kept = hood.values[hood.z[:, 2] == 0, 2]
    assert (kept == query[2]).all() and (changed != query[2]).all()
    held_share = job.frequencies[int(query[2])]
    assert len(changed) == pytest.approx(0.3 * (1 - held_share) * n, rel=0.1)
    others = [c for c in range(len(job.categories)) if c != query[2]]
    counts = [(changed == c).sum() for c in others]
    expected = np.array([job.frequencies[c] for c in others])
    assert stats.chisquare(counts, expected / expected.sum() * len(changed)).pvalue > 1e-3


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
def test_a_category_never_seen_in_training_is_never_drawn(name):
    # "b" is declared (pandas keeps unused categories) but never seen in training
    frame = pd.DataFrame(
        {"x": np.arange(20.0), "job": pd.Categorical(["a"] * 20, categories=["a", "b"])}
    )
    schema = FeatureSchema.infer(frame)
    query = schema.encode(frame.iloc[:1])[0]
    hood = make_sampler(name, schema).sample(query, 64, np.random.SeedSequence(0))
    assert (hood.values[:, 1] == query[1]).all() and (hood.z[:, 1] == 0).all()


def test_unknown_sampler_lists_valid_names(wide_schema):
    _, schema = wide_schema
    with pytest.raises(UnknownOptionError) as info:
        make_sampler("uniform-ish", schema)
    message = str(info.value)
    assert "'uniform-ish'" in message
    for name in SAMPLERS:
        assert repr(name) in message


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
@given(world=worlds(), n=st.integers(min_value=1, max_value=70))
def test_numbers_redrawn_from_training_respect_the_schema(name, world, n):
    frame, schema, row = world
    values = schema.encode(frame)
    sampler = make_sampler(name, schema, number_change=0.5, training_values=values)
    hood = sampler.sample(values[row], n, np.random.SeedSequence(7))
    _check_neighbourhood(schema, values[row], hood, n, sampler)


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
@given(world=worlds(), n=st.integers(min_value=1, max_value=70), m=st.integers(0, 40))
def test_streams_drawn_in_one_pass_are_the_streams_drawn_apart(name, world, n, m):
    """sample_streams (a query's fitting and held-out rows at once) gives byte for byte
    the rows of one sample call per stream."""
    frame, schema, row = world
    values = schema.encode(frame)
    sampler = make_sampler(name, schema, number_change=0.5, training_values=values)
    query = values[row]
    together = sampler.sample_streams(
        query, [(n, np.random.SeedSequence(1)), (m, np.random.SeedSequence(2))]
    )
    apart = [
        sampler.sample(query, n, np.random.SeedSequence(1)),
        sampler.sample(query, m, np.random.SeedSequence(2)),
    ]
    for one, other in zip(together, apart, strict=True):
        for field in ("values", "z", "distance"):
            np.testing.assert_array_equal(getattr(one, field), getattr(other, field))


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
def test_no_number_change_draws_the_rows_drawn_before_it_existed(name, wide_schema):
    frame, schema = wide_schema
    query = schema.encode(frame)[0]
    plain = make_sampler(name, schema).sample(query, 300, np.random.SeedSequence(5))
    zero = make_sampler(name, schema, number_change=0.0).sample(
        query, 300, np.random.SeedSequence(5)
    )
    np.testing.assert_array_equal(plain.values, zero.values)
    assert "number_change" not in make_sampler(name, schema, number_change=0.0).params()


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
def test_a_changed_number_is_redrawn_from_its_training_values(name):
    # training x is 0 or 10 (one in four at 10); the query sits at 0 with a tiny local scale,
    # so every row at 10 is a redraw: number_change x the training share of 10
    x = np.array([0.0] * 3000 + [10.0] * 1000)
    frame = pd.DataFrame({"x": x, "y": np.tile([0.0, 1.0], 2000)})
    schema = FeatureSchema.infer(frame)
    values = schema.encode(frame)
    sampler = make_sampler(name, schema, scale=1e-6, number_change=0.4, training_values=values)
    hood = sampler.sample(np.array([0.0, 0.0]), 8192, np.random.SeedSequence(3))
    at_ten = hood.values[:, 0] == 10.0
    assert abs(at_ten.mean() - 0.4 * 0.25) < 4 * np.sqrt(0.1 * 0.9 / 8192)
    assert (np.abs(hood.values[~at_ten, 0]) < 1e-3).all()  # the rest drawn around the query
    np.testing.assert_allclose(hood.z[:, 0], hood.values[:, 0] / schema.features[0].scale)
    params = sampler.params()
    assert params["number_change"] == 0.4 and len(params["training_numbers_fingerprint"]) == 64


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
def test_a_redrawn_number_counts_in_the_distance_as_a_replaced_category(name):
    # a redraw lands anywhere in the training range; as a replaced category counts 1 in the
    # squared distance, so does a redrawn number at most: far-out training values keep
    # some kernel weight, so the surrogate learns the model there too
    x = np.array([0.0] * 3000 + [10.0] * 1000)
    frame = pd.DataFrame({"x": x, "c": np.tile(["a", "b"], 2000)})
    schema = FeatureSchema.infer(frame)
    values = schema.encode(frame)
    sampler = make_sampler(name, schema, scale=1e-6, number_change=0.4, training_values=values)
    query = values[0]
    hood = sampler.sample(query, 4096, np.random.SeedSequence(3))
    at_ten = hood.values[:, 0] == 10.0
    assert at_ten.any() and (hood.z[at_ten, 0] > 2).all()  # the offset itself is kept
    x_part = np.where(at_ten, 1.0, hood.z[:, 0] ** 2)
    np.testing.assert_allclose(hood.distance, np.sqrt((x_part + hood.z[:, 1] ** 2) / 2))


def test_number_change_is_checked_and_needs_the_training_values(wide_schema):
    frame, schema = wide_schema
    with pytest.raises(ParameterError, match="number_change"):
        make_sampler("qmc", schema, number_change=-0.1)
    with pytest.raises(ParameterError, match="number_change learns from the training data"):
        make_sampler("qmc", schema, number_change=0.3)
    missing = schema.encode(frame)
    missing[:, 0] = np.nan
    with pytest.raises(ParameterError, match=r"holds none for \['x'\]"):
        make_sampler("qmc", schema, number_change=0.3, training_values=missing)
    assert needs_training_values("qmc", {"number_change": 0.3})
    assert not needs_training_values("qmc", {"number_change": 0.0})
    assert needs_training_values("lime")


@pytest.mark.parametrize("name", LOCAL_SAMPLERS)
@given(world=worlds(), n=st.integers(min_value=1, max_value=5))
def test_rows_around_many_queries_are_each_query_s_neighbourhood(name, world, n):
    frame, schema, _ = world
    values = schema.encode(frame)[:6]
    sampler = make_sampler(name, schema)
    rows = sampler.sample_around(values, n, np.random.SeedSequence(4))
    assert rows.shape == (len(values) * n, len(schema))
    np.testing.assert_array_equal(rows, sampler.sample_around(values, n, np.random.SeedSequence(4)))
    for i, query in enumerate(values):
        block = rows[i * n : (i + 1) * n]
        for j, feature in enumerate(schema.features):
            if feature.frozen or (feature.is_numeric and np.isnan(query[j])):
                np.testing.assert_array_equal(block[:, j], np.full(n, query[j]))
            elif feature.is_numeric:
                assert (block[:, j] >= min(feature.lower, query[j])).all()
                assert (block[:, j] <= max(feature.upper, query[j])).all()


def test_sampler_options_are_checked(wide_schema):
    _, schema = wide_schema
    with pytest.raises(ParameterError, match="scale"):
        make_sampler("gaussian", schema, scale=0)
    with pytest.raises(ParameterError, match="category_change"):
        make_sampler("qmc", schema, category_change=1.5)
    with pytest.raises(ParameterError, match="'gaussian'"):
        make_sampler("gaussian", schema, nonsense=1)


# ---- the lime scheme, qmc variance, constraints ------------------------------------------------
N_DRAWS = 4000
CONTINUOUS = ["normal", "skewed", "uniform"]
CATEGORICAL = ["colour", "grade"]


@pytest.fixture(scope="module")
def mixed_training():
    """Three continuous numbers, one integer and two integer-coded categories."""
    rng = np.random.default_rng(11)
    n = 800
    return pd.DataFrame(
        {
            "normal": rng.normal(5.0, 2.0, n),
            "skewed": rng.exponential(3.0, n),
            "uniform": rng.uniform(-1.0, 1.0, n),
            "count": rng.poisson(10, n),
            "colour": rng.choice(3, n, p=[0.6, 0.3, 0.1]),
            "grade": rng.choice(4, n, p=[0.1, 0.2, 0.3, 0.4]),
        }
    )


def lime_sampler(frame: pd.DataFrame, **kwargs) -> tuple[LimeSampler, FeatureSchema]:
    schema = FeatureSchema.infer(frame, **kwargs)
    return LimeSampler(schema, training_values=schema.encode(frame)), schema


def lime_package_draws(frame: pd.DataFrame, query: np.ndarray, n: int):
    """(binary data, values) of n rows drawn by the lime package (its first row, the query, dropped)."""
    from lime.lime_tabular import LimeTabularExplainer

    explainer = LimeTabularExplainer(
        frame.to_numpy(dtype=np.float64),
        feature_names=list(frame.columns),
        categorical_features=[frame.columns.get_loc(c) for c in CATEGORICAL],
        discretize_continuous=True,
        discretizer="quartile",
        random_state=0,
    )
    data_inverse = explainer._LimeTabularExplainer__data_inverse
    # lime 0.2.0.1 takes (data_row, num_samples); later versions add sampling_method
    extra = (
        {"sampling_method": "gaussian"}
        if "sampling_method" in inspect.signature(data_inverse).parameters
        else {}
    )
    data, inverse = data_inverse(query, n + 1, **extra)
    return data[1:], inverse[1:]


def quartile_bin(train_column: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.percentile(train_column, [25, 50, 75]), x, side="left")


def assert_within_sampling_error(a: np.ndarray, b: np.ndarray, levels) -> None:
    """Frequencies of each level in two samples agree within 4 standard errors."""
    for level in levels:
        pa, pb = np.mean(a == level), np.mean(b == level)
        pooled = (pa * len(a) + pb * len(b)) / (len(a) + len(b))
        se = np.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
        assert abs(pa - pb) <= 4 * se + 1e-12, (level, pa, pb, se)


# ---- lime: statistics match the lime package ----------------------------------------------------
@pytest.fixture(scope="module")
def both_neighbourhoods(mixed_training):
    sampler, schema = lime_sampler(mixed_training, categorical_features=CATEGORICAL)
    query_row = mixed_training.iloc[[7]]
    ours = sampler.sample(schema.encode(query_row)[0], N_DRAWS, np.random.SeedSequence(0))
    binary, values = lime_package_draws(mixed_training, query_row.to_numpy(np.float64)[0], N_DRAWS)
    return mixed_training, query_row, sampler, ours, binary, values


def test_lime_bin_frequencies_match_the_lime_package(both_neighbourhoods):
    train, _, _, ours, _, theirs = both_neighbourhoods
    for j, name in enumerate(train.columns):
        if name in CATEGORICAL:
            a, b, levels = ours.values[:, j], theirs[:, j], np.unique(train[name])
        else:
            column = train[name].to_numpy(np.float64)
            a, b, levels = (
                quartile_bin(column, ours.values[:, j]),
                quartile_bin(column, theirs[:, j]),
                range(4),
            )
        assert_within_sampling_error(a, b, levels)


def test_lime_same_bin_indicators_match_the_lime_package(both_neighbourhoods):
    train, _, _, ours, binary, _ = both_neighbourhoods
    # lime's binary data is 1 where the row is in the query's bin; our z is that minus one
    for j in range(len(train.columns)):
        assert_within_sampling_error(1 + ours.z[:, j], binary[:, j], [0, 1])


def test_lime_values_inside_bins_match_the_lime_package(both_neighbourhoods):
    train, _, _, ours, _, theirs = both_neighbourhoods
    for name in CONTINUOUS:
        j = train.columns.get_loc(name)
        column = train[name].to_numpy(np.float64)
        for b in range(4):
            a = ours.values[quartile_bin(column, ours.values[:, j]) == b, j]
            c = theirs[quartile_bin(column, theirs[:, j]) == b, j]
            se = np.sqrt(np.var(a) / len(a) + np.var(c) / len(c))
            assert abs(a.mean() - c.mean()) <= 4 * se, (name, b)
            assert a.min() >= column.min() and a.max() <= column.max()


def test_lime_distance_is_lime_euclidean_over_root_of_movable(both_neighbourhoods):
    train, _, sampler, ours, binary, _ = both_neighbourhoods
    p = len(train.columns)
    lime_squared = ((binary - 1.0) ** 2).sum(axis=1)  # Euclidean to the query's all-ones row
    np.testing.assert_allclose(ours.distance**2 * p, (ours.z**2).sum(axis=1))
    se = np.sqrt(np.var(lime_squared) / len(lime_squared) * 2)
    assert abs(np.mean(ours.distance**2 * p) - lime_squared.mean()) <= 4 * se
    params = sampler.params()
    assert params["lime_kernel_width"] == pytest.approx(LIME_WIDTH_FACTOR * np.sqrt(p))
    assert params["recommended_kernel_width"] == pytest.approx(LIME_WIDTH_FACTOR * np.sqrt(2.0))
    json.dumps(params)  # recorded in every explanation's provenance


def test_lime_integers_stay_integers_in_their_bin(both_neighbourhoods):
    train, _, _, ours, _, theirs = both_neighbourhoods
    j = train.columns.get_loc("count")
    x = ours.values[:, j]
    assert np.array_equal(x, np.round(x))
    column = train["count"].to_numpy(np.float64)
    assert_within_sampling_error(
        quartile_bin(column, x), quartile_bin(column, theirs[:, j]), range(4)
    )


# ---- lime: determinism, constraints, errors -------------------------------------------------------
def test_lime_same_seed_same_sample_and_no_global_rng(mixed_training):
    sampler, schema = lime_sampler(mixed_training, categorical_features=CATEGORICAL)
    query = schema.encode(mixed_training.iloc[[3]])[0]
    np_state, py_state = np.random.get_state(), random.getstate()
    a = sampler.sample(query, 300, np.random.SeedSequence(5))
    b = sampler.sample(query, 300, np.random.SeedSequence(5))
    c = sampler.sample(query, 300, np.random.SeedSequence(6))
    assert np.array_equal(a.values, b.values) and np.array_equal(a.z, b.z)
    assert not np.array_equal(a.values, c.values)
    assert np.array_equal(np.random.get_state()[1], np_state[1]) and random.getstate() == py_state


@given(
    seed=st.integers(0, 2**32 - 1),
    row=st.integers(0, 199),
    immutable=st.sampled_from(["normal", "count", "colour"]),
)
def test_lime_respects_the_schema(seed, row, immutable):
    frame = _small_mixed()
    sampler, schema = lime_sampler(
        frame, categorical_features=CATEGORICAL, immutable_features=[immutable]
    )
    query = schema.encode(frame.iloc[[row]])[0]
    hood = sampler.sample(query, 64, np.random.SeedSequence(seed))
    j_fixed = schema.names.index(immutable)
    assert np.all(hood.values[:, j_fixed] == query[j_fixed]) and np.all(hood.z[:, j_fixed] == 0)
    for j, feature in enumerate(schema.features):
        col = hood.values[:, j]
        if feature.is_numeric:
            assert np.all((col >= feature.lower) & (col <= feature.upper))
            if feature.kind == "integer":
                assert np.array_equal(col, np.round(col))
        else:
            assert set(np.unique(col)) <= set(range(len(feature.categories)))
    assert set(np.unique(hood.z)) <= {-1.0, 0.0}
    np.testing.assert_allclose(hood.distance, np.sqrt((hood.z**2).sum(axis=1) / (len(schema) - 1)))


def _small_mixed() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {
            "normal": rng.normal(size=200),
            "count": rng.integers(0, 6, 200),
            "skewed": rng.exponential(1.0, 200),
            "colour": rng.choice(3, 200),
            "grade": rng.choice(2, 200),
        }
    )


def test_lime_z_is_zero_exactly_in_the_query_bin(mixed_training):
    sampler, schema = lime_sampler(mixed_training, categorical_features=CATEGORICAL)
    query = schema.encode(mixed_training.iloc[[0]])[0]
    hood = sampler.sample(query, 500, np.random.SeedSequence(1))
    for name in ["normal", "count"]:
        j = schema.names.index(name)
        column = mixed_training[name].to_numpy(np.float64)
        same = quartile_bin(column, hood.values[:, j]) == quartile_bin(column, query[j : j + 1])
        assert np.array_equal(hood.z[:, j] == 0, same)


def test_lime_missing_numbers_form_a_bin():
    rng = np.random.default_rng(4)
    x = rng.normal(size=1000)
    x[rng.random(1000) < 0.25] = np.nan
    frame = pd.DataFrame({"x": x, "y": rng.normal(size=1000)})
    sampler, schema = lime_sampler(frame)
    missing_query = np.array([np.nan, 0.0])
    hood = sampler.sample(missing_query, 4000, np.random.SeedSequence(0))
    share = np.isnan(hood.values[:, 0]).mean()
    assert abs(share - np.isnan(x).mean()) < 4 * np.sqrt(0.25 * 0.75 / 4000)
    assert np.array_equal(hood.z[:, 0] == 0, np.isnan(hood.values[:, 0]))


def test_lime_needs_training_values(mixed_training):
    schema = FeatureSchema.infer(mixed_training)
    with pytest.raises(ParameterError, match="training_values"):
        make_sampler("lime", schema)
    with pytest.raises(ParameterError, match=r"shape \(n_rows, 6\)"):
        make_sampler("lime", schema, training_values=np.zeros((10, 5)))
    assert isinstance(
        make_sampler("lime", schema, training_values=schema.encode(mixed_training)), LimeSampler
    )
    # samplers that learn everything from the schema take no training values
    assert isinstance(
        make_sampler("gaussian", schema, training_values=schema.encode(mixed_training)),
        GaussianSampler,
    )


def test_unknown_sampler_lists_lime(mixed_training):
    with pytest.raises(UnknownOptionError, match="lime"):
        make_sampler("limes", FeatureSchema.infer(mixed_training))
    assert set(SAMPLERS) >= {"gaussian", "qmc", "lime"}


def test_lime_sampler_object_through_the_explainer(logistic_world):
    model, X = logistic_world
    sampler, _ = lime_sampler(X)
    explainer = sg.TabularExplainer(model, X, sampler=sampler, n_samples=1000, link="logit")
    exp = explainer.explain(X.iloc[0], max_features=3)
    assert exp.meta.sampler["name"] == "lime"
    assert exp.neighbourhood.share_outside_training_range == 0.0
    again = sg.TabularExplainer(model, X, sampler=lime_sampler(X)[0], n_samples=1000, link="logit")
    assert again.explain(X.iloc[0], max_features=3).to_json() == exp.to_json()


def test_lime_by_name_through_the_explainer(logistic_world):
    model, X = logistic_world
    exp = sg.TabularExplainer(model, X, sampler="lime", n_samples=1000).explain(X.iloc[0])
    assert exp.meta.sampler["name"] == "lime"


# ---- qmc -------------------------------------------------------------------------------------------
def test_qmc_has_lower_variance_than_gaussian():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(500, 4)), columns=list("abcd"))
    schema = FeatureSchema.infer(frame)
    query = schema.encode(frame.iloc[[0]])[0]

    def smooth_mean(values: np.ndarray) -> float:
        return float(np.mean(np.sin(values).sum(axis=1) + values[:, 0] * values[:, 1]))

    spread = {}
    for cls in (GaussianSampler, QMCSampler):
        sampler = cls(schema)
        estimates = [
            smooth_mean(sampler.sample(query, 256, np.random.SeedSequence(k)).values)
            for k in range(20)
        ]
        spread[cls.name] = np.var(estimates)
    assert spread["qmc"] < spread["gaussian"] / 10


def test_inverse_cdf_counts_as_a_binary_search_does():
    """A few codes are drawn by counting the cdf's values below each uniform, many by a
    binary search: the same codes either way, at the cdf's own values too."""
    from surrogate.sampling.tabular import _cdf, _inverse_cdf

    rng = np.random.default_rng(0)
    for k in (1, 2, 3, 7, 16, 17, 40):
        frequencies = rng.integers(0, 4, k).astype(np.float64) + (np.arange(k) == 0)
        cdf = _cdf(frequencies)
        codes = np.arange(k, dtype=np.float64) - 1
        u = np.concatenate([rng.random(300), cdf, [0.0, np.nextafter(1.0, 0.0)]])
        searched = codes[np.minimum(np.searchsorted(cdf, u, side="right"), k - 1)]
        assert np.array_equal(_inverse_cdf(codes, cdf, u), searched)
