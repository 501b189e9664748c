"""Sample sizes: a fixed ``n_samples`` checked against its limits, or ``n_samples="auto"``.

A fixed size must give a surrogate on every feature and a held-out check room
(:class:`SizeLimits`). With ``"auto"``, each query is explained at
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

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._validation import Interval, check
from ..errors import ParameterError
from ..explanation import Explanation
from ..fidelity import Stability
from .pipeline import MAX_SAMPLES, MIN_SAMPLES, Size, explain_queries

#: ``n_samples="auto"``: a query stops once its bootstrap top-k Jaccard reaches this
DEFAULT_STABILITY_TARGET = 0.95
#: ``n_samples="auto"``: largest size tried (a fixed-shape model's row budget if smaller)
DEFAULT_MAX_SAMPLES = 16_000


#: ``n_samples="auto"``: first size tried (raised to the explainer's fewest rows for wide tables)
DEFAULT_START_SAMPLES = 500


@dataclass(frozen=True)
class SizeLimits:
    """What bounds one query's rows: the table's width, and the model's row budget."""

    n_features: int
    row_budget: int
    fixed_shape: bool

    @classmethod
    def of(cls, n_features: int, blackbox: Any) -> SizeLimits:
        return cls(n_features, blackbox.row_budget, blackbox.fixed_shape)

    @property
    def lowest(self) -> int:
        """4 rows per feature plus intercept, so every feature can enter the surrogate."""
        return max(MIN_SAMPLES, 4 * (self.n_features + 1))

    def check(self, n: Any, argument: str) -> int:
        """A size in rows per query, refused below the fewest rows or past the row budget."""
        n = check(argument, n, Interval(int))
        if n < self.lowest:
            raise ParameterError(
                f"{argument}={n} is too small for {self.n_features} features; expected at least {self.lowest} "
                "(4 rows per feature plus intercept, and a held-out share)."
            )
        if n > MAX_SAMPLES:
            raise ParameterError(
                f"{argument}={n} exceeds the limit of {MAX_SAMPLES} rows per query."
            )
        if self.fixed_shape and n > self.row_budget:
            raise ParameterError(
                f"{argument}={n} exceeds row_budget={self.row_budget}: this model is scored one "
                "query per fixed-shape call, so one query's rows must fit the budget. Raise row_budget "
                f"or lower {argument}."
            )
        return n


def sampling_plan(
    n_samples: Any, start: Any, target: Any, cap: Any, limits: SizeLimits
) -> tuple[int, AdaptiveSampling | None]:
    """The first size of every query, and the ``"auto"`` plan (None for a fixed size)."""
    given = [
        name
        for name, value in (
            ("start_samples", start),
            ("stability_target", target),
            ("max_samples", cap),
        )
        if value is not None
    ]
    if not isinstance(n_samples, str):
        if given:
            raise ParameterError(
                f"{given} apply only with n_samples='auto'; got n_samples={n_samples!r}."
            )
        if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
            raise ParameterError(
                f"n_samples must be an integer or 'auto', got {n_samples!r} "
                f"({type(n_samples).__name__})."
            )
        return limits.check(n_samples, "n_samples"), None
    if n_samples != "auto":
        raise ParameterError(f"n_samples must be an integer or 'auto', got {n_samples!r}.")
    first = limits.check(
        max(DEFAULT_START_SAMPLES, limits.lowest) if start is None else start, "start_samples"
    )
    plan = AdaptiveSampling(
        start=first,
        stability_target=(
            DEFAULT_STABILITY_TARGET
            if target is None
            else check("stability_target", target, Interval(float, 0, 1, "right"))
        ),
        max_samples=_cap(cap, first, limits),
    )
    return first, plan


def _cap(cap: Any, start: int, limits: SizeLimits) -> int:
    if cap is None:
        budget = limits.row_budget if limits.fixed_shape else MAX_SAMPLES
        return max(start, min(DEFAULT_MAX_SAMPLES, budget))
    cap = limits.check(cap, "max_samples")
    if cap < start:
        raise ParameterError(
            f"max_samples={cap} is below start_samples={start}; expected max_samples >= start_samples."
        )
    return cap


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


def is_stable(exp: Explanation, family: Any, plan: AdaptiveSampling) -> bool:
    if exp.fidelity.r2_in_sample is None:  # a constant neighbourhood: more rows change nothing
        return True
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


def explain_in_rounds(
    explainer: Any, queries: list[Any], run: Any, plan: AdaptiveSampling
) -> tuple[list, list]:
    """Rounds of doubling size; a query leaves once stable (see the module doc)."""
    by_index = {q.index: q for q in queries}
    pending = list(queries)
    history: dict[int, list[tuple[int, Any]]] = {q.index: [] for q in queries}
    sizes = plan.sizes()
    done: list = []
    failed: list = []
    for round_, n in enumerate(sizes):
        size = Size.of(n, explainer.holdout_share, explainer.population_share)
        explained, lost = explain_queries(explainer, pending, size, run, round_)
        failed += lost
        pending = []
        for i, exp in explained:
            history[i].append((n, exp.stability))
            if round_ == len(sizes) - 1 or is_stable(exp, run.family, plan):
                note = rounds_note(plan, history[i])
                done.append((i, replace(exp, notes=exp.notes + (note,))))
            else:
                pending.append(by_index[i])
        if not pending:
            break
    return done, failed

