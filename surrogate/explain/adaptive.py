"""Adaptive sample size, ``n_samples="auto"``.

Each query is explained at
``start_samples`` rows, then at twice as many, and so on, until the bootstrap
top-k Jaccard of its explanation reaches ``stability_target`` or the size reaches
``max_samples``. Every round draws a fresh sample: round 0 uses the query's own
seed streams (so it equals a fixed-size run at that size), round ``r`` the streams
of ``SeedSequence(entropy=<the query's entropy>, spawn_key=(*root key, ROUND_KEY, r))``.
A round depends only on the query and its number, so a row stops at the same size,
with the same explanation, alone or in any batch. The queries of a block that are
not yet stable go on together to the next round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..explanation import Explanation
from ..fidelity import Stability
from .seeding import QuerySeeds

#: ``n_samples="auto"``: a query stops once its bootstrap top-k Jaccard reaches this
DEFAULT_STABILITY_TARGET = 0.95
#: ``n_samples="auto"``: largest size tried (a fixed-shape model's row budget if smaller)
DEFAULT_MAX_SAMPLES = 16_000
#: spawn-key element marking the seed streams of the later rounds of ``n_samples="auto"``
#: (the bytes of "auto"); a query's own streams use the keys 0, 1, 2 at that position
ROUND_KEY = 0x6175746F


@dataclass(frozen=True)
class AdaptiveSampling:
    """``n_samples="auto"``: the sizes each query may be explained at, and when it stops.

    Sizes double from ``start`` and end at ``max_samples``; a query stops at the first
    size whose explanation has a bootstrap top-k Jaccard of at least ``stability_target``.
    """

    start: int
    stability_target: float
    max_samples: int

    def sizes(self) -> tuple[int, ...]:
        """Every size a query may be explained at, smallest first."""
        sizes = [self.start]
        while sizes[-1] < self.max_samples:
            sizes.append(min(2 * sizes[-1], self.max_samples))
        return tuple(sizes)

    def params(self) -> dict[str, Any]:
        return {
            "n_samples": "auto",
            "start_samples": self.start,
            "stability_target": self.stability_target,
            "max_samples": self.max_samples,
        }


def round_seeds(seeds: QuerySeeds, root: np.random.SeedSequence, round_: int) -> QuerySeeds:
    """The query's streams for a later round of ``n_samples="auto"``, independent of round 0's."""
    base = np.random.SeedSequence(
        entropy=seeds.fit.entropy, spawn_key=(*root.spawn_key, ROUND_KEY, round_)
    )
    fit, holdout, bootstrap = base.spawn(3)
    return QuerySeeds(fit=fit, holdout=holdout, bootstrap=bootstrap, digest=seeds.digest)


def is_stable(exp: Explanation, family: Any, plan: AdaptiveSampling) -> bool:
    jaccard = exp.stability.top_k_jaccard
    if jaccard is None:
        raise ParameterError(
            "n_samples='auto' stops on the bootstrap top-k Jaccard of each explanation, but the "
            f"{family.name!r} surrogate reported none (no bootstrap refits); give it "
            "n_bootstrap >= 2 or choose a fixed n_samples."
        )
    return jaccard >= plan.stability_target


def rounds_note(plan: AdaptiveSampling, history: list[tuple[int, Stability]]) -> str:
    """The rounds one query went through, in words, for ``Explanation.notes``."""
    sizes = " -> ".join(str(n) for n, _ in history)
    ks = [st.k for _, st in history]
    label = f"top-{ks[0]}" if len(set(ks)) == 1 else f"top-k (k = {', '.join(map(str, ks))})"
    scores = ", ".join(f"{st.top_k_jaccard:.3f}" for _, st in history)
    note = (
        f"n_samples='auto': {sizes} rows; {label} bootstrap Jaccard {scores} "
        f"(target {plan.stability_target:g}, cap {plan.max_samples})"
    )
    last = history[-1][1].top_k_jaccard
    if last is not None and last < plan.stability_target:
        note += "; the cap was reached before the target, so it is less stable than asked"
    return note + "."
