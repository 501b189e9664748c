"""Tabular samplers: domain constraints, frozen features, z at the query, seeds, registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from surrogate.errors import ParameterError, UnknownOptionError
from surrogate.sampling import SAMPLERS, make_sampler
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


def test_sampler_options_are_checked(wide_schema):
    _, schema = wide_schema
    with pytest.raises(ParameterError, match="scale"):
        make_sampler("gaussian", schema, scale=0)
    with pytest.raises(ParameterError, match="category_change"):
        make_sampler("qmc", schema, category_change=1.5)
    with pytest.raises(ParameterError, match="'gaussian'"):
        make_sampler("gaussian", schema, nonsense=1)
