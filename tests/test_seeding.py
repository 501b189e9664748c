"""Seeds per query and per purpose: from random_state and the query's own values only.

That the same query gets the same explanation in two processes with different
``PYTHONHASHSEED`` is checked end to end in ``test_determinism.py``; here the
digest's encoding is pinned, which no process can change.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from surrogate.errors import ParameterError
from surrogate.explain.seeding import (
    PURPOSES,
    QuerySeeds,
    entropy_of,
    query_digest,
    query_seeds,
    root_sequence,
)

ROW = {"amount": 1250.5, "months": 24.0, "purpose": "car", "grade": None}


def state(seq: np.random.SeedSequence) -> list[int]:
    return seq.generate_state(4).tolist()


def streams(seeds: QuerySeeds) -> list[list[int]]:
    return [state(seeds.fit), state(seeds.holdout), state(seeds.bootstrap)]


# ---- random_state -> root ------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 7, 2**40, np.int64(7), np.uint32(7)])
def test_an_int_becomes_the_seed_sequence_of_that_int(value):
    root = root_sequence(value)
    assert isinstance(root, np.random.SeedSequence)
    assert state(root) == state(np.random.SeedSequence(int(value)))
    assert entropy_of(root) == int(value) and type(entropy_of(root)) is int


def test_a_seed_sequence_is_taken_as_it_is():
    seq = np.random.SeedSequence([1, 2, 3])
    assert root_sequence(seq) is seq
    assert entropy_of(seq) == [1, 2, 3]


def test_none_draws_fresh_entropy_that_recreates_the_root():
    first, second = root_sequence(None), root_sequence(None)
    assert state(first) != state(second)
    recorded = entropy_of(first)
    assert state(root_sequence(recorded)) == state(first)


@pytest.mark.parametrize(
    "value", [np.random.default_rng(0), np.random.RandomState(0), -1, True, 1.5, "0", [0]]
)
def test_anything_else_is_refused_by_name(value):
    with pytest.raises(ParameterError, match="random_state must be a non-negative int"):
        root_sequence(value)


def test_the_refusal_of_a_generator_says_why():
    with pytest.raises(ParameterError, match="Generator is refused because a consumed stream"):
        root_sequence(np.random.default_rng(0))


# ---- the query's digest ------------------------------------------------------------------------
def test_the_digest_is_sha256_of_the_documented_canonical_encoding():
    """Floats as exact hex, labels as text, missing as null, in the row's order."""
    canonical = [
        ["amount", (1250.5).hex()],
        ["months", (24.0).hex()],
        ["purpose", "car"],
        ["grade", None],
    ]
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=True)
    expected = int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")
    assert query_digest(ROW) == expected
    # pinned: a change of encoding would move every seed, and every recorded explanation
    assert f"{query_digest(ROW):032x}" == "fa64ede393dcfce4235c10bfb82fb1b8"


def test_the_digest_reads_values_not_object_identity():
    same = {
        "amount": np.float64(1250.5),
        "months": np.float32(24.0),
        "purpose": "car",
        "grade": None,
    }
    assert query_digest(same) == query_digest(dict(ROW))


@pytest.mark.parametrize(
    "change",
    [
        {"amount": np.nextafter(1250.5, 2000.0)},  # one ulp
        {"amount": -1250.5},
        {"purpose": "Car"},
        {"grade": "None"},  # a label spelled None is not a missing value
        {"grade": 0.0},
    ],
)
def test_different_values_give_different_digests_and_seeds(change):
    other = {**ROW, **change}
    assert query_digest(other) != query_digest(ROW)
    root = np.random.SeedSequence(0)
    mine, theirs = streams(query_seeds(root, ROW)), streams(query_seeds(root, other))
    assert all(a != b for a, b in zip(mine, theirs, strict=True))


def test_a_query_with_reordered_columns_gets_its_seeds_from_the_schema_order():
    """Seeds come from the schema's readable row, so a query's column order never matters."""
    import pandas as pd

    from surrogate import FeatureSchema

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    schema = FeatureSchema.infer(X)
    row = schema.readable(schema.encode(X.iloc[[1]])[0])
    swapped = schema.readable(schema.encode(X[["b", "a"]].iloc[[1]])[0])
    assert query_digest(row) == query_digest(swapped)


def test_the_digest_names_the_features():
    """The same numbers under other feature names are another query."""
    assert query_digest({"a": 1.0, "b": 2.0}) != query_digest({"x": 1.0, "y": 2.0})


# ---- per-query, per-purpose streams ----------------------------------------------------------------
def test_query_seeds_are_deterministic_in_the_root_and_the_values():
    a = query_seeds(np.random.SeedSequence(3), dict(ROW))
    b = query_seeds(root_sequence(3), dict(ROW))
    assert streams(a) == streams(b)
    assert a.digest == b.digest == query_digest(ROW)


def test_query_seeds_do_not_consume_the_root():
    """Deriving one query's seeds leaves nothing behind that changes the next derivation."""
    root = np.random.SeedSequence(3)
    first = streams(query_seeds(root, ROW))
    query_seeds(root, {**ROW, "amount": 1.0})
    root.spawn(2)  # even a caller spawning from the root in between
    assert streams(query_seeds(root, ROW)) == first


def test_another_root_gives_other_streams():
    mine = streams(query_seeds(np.random.SeedSequence(0), ROW))
    assert streams(query_seeds(np.random.SeedSequence(1), ROW)) != mine
    child = np.random.SeedSequence(0).spawn(1)[0]  # same entropy, another spawn key
    assert streams(query_seeds(child, ROW)) != mine


def test_the_purposes_get_independent_streams():
    assert PURPOSES == ("fit", "holdout", "bootstrap", "population", "faithfulness")
    seeds = query_seeds(np.random.SeedSequence(0), ROW)
    purposes = (seeds.fit, seeds.holdout, seeds.bootstrap, seeds.population, seeds.faithfulness)
    assert len({tuple(s.generate_state(4)) for s in purposes}) == len(purposes)
    draws = [np.random.default_rng(s).random(1000) for s in purposes]
    for i in range(len(purposes)):
        for j in range(i + 1, len(purposes)):
            assert abs(np.corrcoef(draws[i], draws[j])[0, 1]) < 0.15


def test_the_population_stream_leaves_the_earlier_streams_as_they_were():
    # spawned last, so fit, holdout and bootstrap are the children 0, 1, 2 they always were
    seeds = query_seeds(np.random.SeedSequence(0), ROW)
    base = np.random.SeedSequence(
        entropy=[0, seeds.digest], spawn_key=()
    )
    fit, holdout, bootstrap = base.spawn(3)
    for old, new in ((fit, seeds.fit), (holdout, seeds.holdout), (bootstrap, seeds.bootstrap)):
        assert np.array_equal(old.generate_state(4), new.generate_state(4))


def test_query_seeds_touch_no_global_rng():
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    query_seeds(root_sequence(None), ROW)
    query_seeds(np.random.SeedSequence(5), ROW)
    assert np.array_equal(np.random.random(3), expected)
