"""From code space to the schema's words, shared by trees and rule lists.

Coded tests become typed :class:`~.base.Condition` objects with category labels;
held-out coverage and precision are recounted per rule; importances, rankings and
the bootstrap stability of a rule-based surrogate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..fidelity import Stability, summarise_bootstrap
from ..schema import MISSING_CODE, Feature, format_date
from .base import (
    Condition,
    LocalProblem,
    bootstrap_counts,
)
from .cart import CodedTest, category_codes


# ---- from code space to the schema's words (shared with rules.py) ---------------------------
def categorical_mask(features: Sequence[Feature]) -> np.ndarray:
    return np.array([not f.is_numeric for f in features], dtype=bool)


def check_problems(
    problems: Sequence[LocalProblem], features: Sequence[Feature], seeds: Sequence[Any]
) -> None:
    """Shapes and category codes of every problem agree with the features and seeds."""
    if len(seeds) != len(problems):
        raise ParameterError(
            f"seeds must hold one seed per problem ({len(problems)}), got {len(seeds)}."
        )
    p = len(features)
    for i, problem in enumerate(problems):
        for part in ("fit", "hold"):
            values = getattr(problem, f"values_{part}")
            n = len(getattr(problem, f"y_{part}"))
            if (
                values.ndim != 2
                or values.shape != (n, p)
                or getattr(problem, f"w_{part}").shape != (n,)
            ):
                raise ParameterError(
                    f"Problem {i}: values_{part} must have shape ({n}, {p}) to match y_{part}, w_{part} "
                    f"and the {p} features; got values {values.shape}, weights "
                    f"{getattr(problem, f'w_{part}').shape}."
                )
            _check_codes(values, features, f"problem {i} values_{part}")
        if len(problem.y_fit) == 0:
            raise ParameterError(
                f"Problem {i} has an empty fitting sample; row 0 must be the query."
            )


def _check_codes(values: np.ndarray, features: Sequence[Feature], where: str) -> None:
    """Every categorical column holds codes -1..n_categories-1; the first bad value (by
    feature, then row) is named. All columns are checked at once: a loop per feature cost
    more than the check."""
    columns = [j for j, feature in enumerate(features) if not feature.is_numeric]
    if not columns:
        return
    block = values[:, columns]
    codes = np.where(np.isnan(block), MISSING_CODE, block)
    n_categories = np.array([len(features[j].categories) for j in columns])
    bad = (codes != np.round(codes)) | (codes < MISSING_CODE) | (codes >= n_categories)
    if bad.any():
        k = int(np.flatnonzero(bad.any(axis=0))[0])
        feature, row = features[columns[k]], np.flatnonzero(bad[:, k])[0]
        raise ParameterError(
            f"Feature {feature.name!r} in {where} must hold category codes -1..{len(feature.categories) - 1}, "
            f"got {block[row, k]!r}."
        )


def nullable_mask(problem: LocalProblem, categorical: np.ndarray) -> np.ndarray:
    """Numeric columns with a missing value anywhere in this problem (fit or held-out rows)."""
    both = np.vstack([problem.values_fit, problem.values_hold])
    return np.isnan(both).any(axis=0) & ~categorical


def category_domain(feature: Feature, column: int, problem: LocalProblem) -> frozenset[int]:
    """Every code the feature can take here: its categories, and missing when it can be missing."""
    codes = set(range(len(feature.categories)))
    seen = np.concatenate([problem.values_fit[:, column], problem.values_hold[:, column]])
    if feature.allow_missing or (category_codes(seen) == MISSING_CODE).any():
        codes.add(MISSING_CODE)
    return frozenset(codes)


def to_condition(test: CodedTest, feature: Feature, domain: frozenset[int]) -> Condition | None:
    """A test in the schema's words; a category set is written in its shorter form.

    ``in S`` and ``not in (domain - S)`` select the same rows, so the form with fewer
    labels is printed (``in`` on a tie). None when the test excludes nothing.
    """
    if test.op in ("<=", ">"):
        threshold = float(test.value)  # type: ignore[arg-type]
        if feature.is_datetime:
            return Condition(feature.name, test.op, _date_threshold(feature, threshold))
        return Condition(feature.name, test.op, threshold)
    if test.op in ("is missing", "is not missing"):
        return Condition(feature.name, test.op)
    codes: frozenset[int] = test.value  # type: ignore[assignment]
    allowed = codes & domain if test.op == "in" else domain - codes
    excluded = domain - allowed
    if not excluded:
        return None
    if len(excluded) < len(allowed):
        return Condition(feature.name, "not in", _labels(feature, excluded))
    return Condition(feature.name, "in", _labels(feature, allowed))


def _date_threshold(feature: Feature, threshold: float) -> str:
    """A threshold on a date as ISO text. Dates are whole days, so ``<= t`` and ``> t`` select
    the same rows as ``<=`` and ``>`` the last day at or before ``t``, which is shown."""
    return format_date(feature, np.floor(threshold) if feature.dates_only else threshold)


def _labels(feature: Feature, codes: frozenset[int]) -> tuple[str, ...]:
    return tuple(sorted(feature.label(float(c)) for c in codes))


def to_conditions(
    tests: Sequence[CodedTest], features: Sequence[Feature], domains: dict[int, frozenset[int]]
) -> tuple[Condition, ...]:
    conditions = (
        to_condition(t, features[t.column], domains.get(t.column, frozenset())) for t in tests
    )
    return tuple(c for c in conditions if c is not None)


def domains_of(problem: LocalProblem, features: Sequence[Feature]) -> dict[int, frozenset[int]]:
    return {j: category_domain(f, j, problem) for j, f in enumerate(features) if not f.is_numeric}


@dataclass(frozen=True)
class HeldOut:
    """What a rule does on the held-out rows it decides."""

    coverage: float
    n_covered: int
    precision: float | None
    error: float | None


def held_out_record(covered: np.ndarray, prediction: float, problem: LocalProblem) -> HeldOut:
    """Coverage, count and precision (classification) or mean absolute error (regression).

    Counts are unweighted so a validator can recount them from the rows and the rule.
    """
    n_covered = int(covered.sum())
    coverage = n_covered / len(covered) if len(covered) else 0.0
    if n_covered == 0:
        return HeldOut(coverage, 0, None, None)
    y = problem.y_hold[covered]
    if problem.threshold is not None:
        same = (y >= problem.threshold) == (prediction >= problem.threshold)
        return HeldOut(coverage, n_covered, float(same.mean()), None)
    return HeldOut(coverage, n_covered, None, float(np.abs(y - prediction).mean()))


def capped_columns(used: Sequence[int], gains: np.ndarray, cap: int | None) -> list[int] | None:
    """The columns a tree or rule list is fitted again on when it tests more than ``cap``:
    the ``cap`` whose splits lowered its error most (ties by column); None when within it."""
    if cap is None or len(used) <= cap:
        return None
    return sorted(sorted(used, key=lambda j: (-gains[j], j))[:cap])


def importance_dict(names: Sequence[str], importances: np.ndarray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(names, importances, strict=True)}


def ranking_of(importances: dict[str, float]) -> tuple[str, ...]:
    """Features with positive importance, most important first, ties by name."""
    used = [(-v, name) for name, v in importances.items() if v > 0]
    return tuple(name for _, name in sorted(used))


def bootstrap_stability(
    refit: Callable[[np.ndarray], np.ndarray],
    problem: LocalProblem,
    seed: np.random.SeedSequence,
    n_bootstrap: int,
    names: Sequence[str],
    ranking: Sequence[str],
) -> Stability:
    """Refit on multinomial bootstrap resamples (weights x counts) and summarise the importances.

    ``refit(weights)`` returns the importances of a surrogate fitted with those weights.
    The counts come from ``np.random.default_rng(seed)`` only.
    """
    n = len(problem.y_fit)
    counts = bootstrap_counts(seed, n, n_bootstrap)
    rows = []
    for c in counts:
        weights = problem.w_fit * c
        rows.append(refit(weights) if (weights > 0).any() else np.zeros(len(names)))
    resampled = np.array(rows).reshape(n_bootstrap, len(names))
    k = min(5, len(ranking))
    return summarise_bootstrap(
        names=names,
        top=ranking[:k],
        resampled_weights=resampled,
        k=k,
        reference=None,
        method="bootstrap of the fitting sample, refitted",
    )
