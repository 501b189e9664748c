"""Seeds derived per query and per purpose, never from position, never from a global RNG.

A query's seed is ``SeedSequence(entropy=(root entropy, digest of the query))``
where the digest is SHA-256 over a canonical encoding of the query's normalised
values (floats as exact hex, category labels as text). Python's salted ``hash()``
is never used, so the same query gets the same seed in any process, batch or order.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from ..errors import ParameterError

#: a query's seed streams, spawned in this order: a purpose added later comes last, so
#: the streams of the earlier ones stay what they were ("population": the held-out rows
#: of the population-scope check; "faithfulness": the random rankings of the deletion
#: check of text and images)
PURPOSES = ("fit", "holdout", "bootstrap", "population", "faithfulness")


def root_sequence(random_state: Any) -> np.random.SeedSequence:
    """``random_state`` as a SeedSequence; None draws fresh entropy (recorded by the caller)."""
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if random_state is None:
        return np.random.SeedSequence()
    if (
        isinstance(random_state, int | np.integer)
        and not isinstance(random_state, bool)
        and random_state >= 0
    ):
        return np.random.SeedSequence(int(random_state))
    raise ParameterError(
        "random_state must be a non-negative int, a numpy.random.SeedSequence or None, "
        f"got {random_state!r} ({type(random_state).__name__}); a Generator is refused because "
        "a consumed stream makes two calls differ."
    )


class Reseedable:
    """Explainers whose learned statistics do not depend on their seed: reseeding one is
    building a copy that differs only in its root seed, with nothing learned again."""

    root: np.random.SeedSequence

    def with_random_state(self, random_state: Any) -> Self:
        """A new explainer equal to this one built with ``random_state`` instead; this one
        is unchanged (explainers are immutable).

        It shares every learned statistic (schema, sampler, model adapter, fingerprints)
        with this explainer, and explains exactly as an explainer built from the same
        arguments with ``random_state`` does.
        """
        clone = copy.copy(self)
        clone.root = root_sequence(random_state)
        return clone


def entropy_of(seq: np.random.SeedSequence) -> int | list[int]:
    """The recorded entropy that recreates ``seq``."""
    entropy = seq.entropy
    if isinstance(entropy, int | np.integer):
        return int(entropy)
    if entropy is None:  # numpy fills it in on construction; None would be a numpy change
        raise TypeError("SeedSequence without entropy")
    return [int(e) for e in entropy]


def query_digest(readable_row: dict[str, Any]) -> int:
    """128-bit integer digest of a query's normalised values."""
    canonical = [[name, _canonical_value(v)] for name, v in readable_row.items()]
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")


def _canonical_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return float(v).hex()
    return str(v)


@dataclass(frozen=True)
class QuerySeeds:
    """Independent streams for one query: fitting sample, held-out sample, bootstrap, and
    the held-out rows of the population-scope check, and the random rankings of the
    faithfulness check."""

    fit: np.random.SeedSequence
    holdout: np.random.SeedSequence
    bootstrap: np.random.SeedSequence
    digest: int
    population: np.random.SeedSequence
    faithfulness: np.random.SeedSequence


def query_seeds(root: np.random.SeedSequence, readable_row: dict[str, Any]) -> QuerySeeds:
    digest = query_digest(readable_row)
    root_entropy = root.entropy if isinstance(root.entropy, list | tuple) else [root.entropy]
    base = np.random.SeedSequence(
        entropy=[*map(int, root_entropy), digest], spawn_key=tuple(root.spawn_key)
    )
    return _streams(base, digest)


def _streams(base: np.random.SeedSequence, digest: int) -> QuerySeeds:
    # spawn keys are sequential: a child added later leaves the earlier ones as they were
    fit, holdout, bootstrap, population, faithfulness = base.spawn(len(PURPOSES))
    return QuerySeeds(
        fit=fit,
        holdout=holdout,
        bootstrap=bootstrap,
        digest=digest,
        population=population,
        faithfulness=faithfulness,
    )


#: spawn-key element marking the seed streams of the later rounds of ``n_samples="auto"``
#: (the bytes of "auto"); a query's own streams use the keys 0 to 4 at that position
ROUND_KEY = 0x6175746F


def round_seeds(seeds: QuerySeeds, root: np.random.SeedSequence, round_: int) -> QuerySeeds:
    """The query's streams for a later round of ``n_samples="auto"``, independent of round 0's."""
    base = np.random.SeedSequence(
        entropy=seeds.fit.entropy, spawn_key=(*root.spawn_key, ROUND_KEY, round_)
    )
    return _streams(base, seeds.digest)
