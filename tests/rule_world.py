"""A small synthetic world, in the schema's words, shared by the tree and rule-list tests.

Five features (an integer, a number that may be missing, two categories, one with
missing values, and a boolean), a depth-3 tree black box with eight leaves on them,
ways to build local problems from it, and a validator's way to evaluate printed
conditions by label.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from surrogate.schema import Feature
from surrogate.surrogates.base import Condition, LocalProblem, RuleContent

FEATURES = (
    Feature("duration", "integer", "int64", lower=4, upper=72),
    Feature("amount", "numeric", "float64", lower=0, upper=20000, allow_missing=True),
    Feature(
        "purpose",
        "categorical",
        "object",
        categories=("business", "car (new)", "car (used)", "education", "radio/TV"),
    ),
    Feature(
        "housing", "categorical", "object", categories=("free", "own", "rent"), allow_missing=True
    ),
    Feature("foreign", "boolean", "bool", categories=(False, True)),
)
NAMES = [f.name for f in FEATURES]


def sample_values(rng: np.random.Generator, n: int, missing_amount: float = 0.0) -> np.ndarray:
    values = np.column_stack(
        [
            rng.integers(4, 73, n),
            rng.uniform(0, 20000, n),
            rng.integers(0, 5, n),
            rng.integers(-1, 3, n),  # -1: housing missing
            rng.integers(0, 2, n),
        ]
    ).astype(np.float64)
    values[rng.random(n) < missing_amount, 1] = np.nan
    return values


def tree_black_box(values: np.ndarray) -> np.ndarray:
    """A depth-3 decision tree (eight leaves) on numbers, categories (with missing) and a boolean."""
    d, a, p, h, f = values.T
    return np.where(
        d <= 24,
        np.where(np.isin(p, [0, 3]), np.where(a <= 5000, 0.05, 0.2), np.where(h == -1, 0.45, 0.6)),
        np.where(a > 8000, np.where(f == 1, 0.98, 0.9), np.where(h == 1, 0.65, 0.8)),
    )


def make_problem(
    seed: int,
    n_fit: int,
    n_hold: int,
    *,
    target=tree_black_box,
    threshold: float | None = 0.5,
    missing_amount: float = 0.0,
) -> LocalProblem:
    rng = np.random.default_rng(seed)
    fit = sample_values(rng, n_fit, missing_amount)
    hold = sample_values(rng, n_hold, missing_amount)
    return LocalProblem(
        z_fit=fit.copy(),
        values_fit=fit,
        y_fit=target(fit),
        w_fit=rng.uniform(0.2, 1.0, n_fit),
        z_hold=hold.copy(),
        values_hold=hold,
        y_hold=target(hold),
        w_hold=rng.uniform(0.2, 1.0, n_hold),
        threshold=threshold,
    )


def condition_holds(condition: Condition, values: np.ndarray) -> np.ndarray:
    """Evaluate a printed condition on value rows the way a validator would: by label."""
    j = NAMES.index(condition.feature)
    feature, x = FEATURES[j], values[:, j]
    if condition.op == "<=":
        return x <= condition.value
    if condition.op == ">":
        return x > condition.value
    if condition.op == "is missing":
        return np.isnan(x)
    if condition.op == "is not missing":
        return ~np.isnan(x)
    labels = np.array([feature.label(v) for v in x], dtype=object)
    inside = np.isin(labels, list(condition.value))
    return inside if condition.op == "in" else ~inside


def rule_holds(conditions, values: np.ndarray) -> np.ndarray:
    mask = np.ones(len(values), dtype=bool)
    for condition in conditions:
        mask &= condition_holds(condition, values)
    return mask


def assert_conditions_valid(content: RuleContent) -> None:
    for rule in content.rules:
        seen = set()
        for c in rule.conditions:
            assert c.feature in NAMES
            assert (c.feature, c.op) not in seen, f"{c.feature} {c.op} twice in {rule}"
            seen.add((c.feature, c.op))
            feature = FEATURES[NAMES.index(c.feature)]
            if c.op in ("in", "not in"):
                valid = {feature.label(code) for code in range(-1, len(feature.categories))}
                assert set(c.value) <= valid and c.value
                assert list(c.value) == sorted(c.value)
            elif c.op in ("<=", ">"):
                assert feature.is_numeric and np.isfinite(c.value)


def recount(problem: LocalProblem, conditions, prediction: float, covered: np.ndarray):
    n = int(covered.sum())
    if n == 0:
        return 0.0, 0, None, None
    y = problem.y_hold[covered]
    if problem.threshold is not None:
        same = (y >= problem.threshold) == (prediction >= problem.threshold)
        return n / len(covered), n, float(same.mean()), None
    return n / len(covered), n, None, float(np.abs(y - prediction).mean())


problem_cases = st.builds(
    dict,
    seed=st.integers(0, 2**16),
    n_fit=st.integers(2, 60),
    n_hold=st.integers(0, 40),
    classification=st.booleans(),
    missing_amount=st.sampled_from([0.0, 0.3]),
    noise=st.booleans(),
)


def problem_from(case: dict) -> LocalProblem:
    noise_rng = np.random.default_rng(case["seed"] + 1)

    def target(values):
        y = tree_black_box(np.nan_to_num(values, nan=0.0))
        return y + (noise_rng.normal(0, 0.2, len(y)) if case["noise"] else 0.0)

    return make_problem(
        case["seed"],
        case["n_fit"],
        case["n_hold"],
        target=target,
        threshold=0.5 if case["classification"] else None,
        missing_amount=case["missing_amount"],
    )
