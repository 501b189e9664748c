"""The sparse weighted linear surrogate on hand-built local problems (known answers)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from surrogate.errors import ParameterError
from surrogate.schema import Feature
from surrogate.surrogates.base import LocalProblem, bootstrap_counts, ridged
from surrogate.surrogates.linear import LinearSurrogate, forward_select

# Three numbers in their own units (z = offset / scale) and one category (z = -1 where the
# row's category differs from the query's "green").
FEATURES = (
    Feature("age", "numeric", "float64", lower=18, upper=90, mean=40.0, scale=12.0),
    Feature("debt", "numeric", "float64", lower=0, upper=50, mean=5.0, scale=0.5),
    Feature("months", "integer", "int64", lower=1, upper=72, mean=24.0, scale=4.0),
    Feature("colour", "categorical", "object", categories=("red", "green", "blue")),
)
NAMES = tuple(f.name for f in FEATURES)
QUERY = np.array([35.0, 2.0, 12.0, 1.0])  # colour code 1: "green"


def _neighbourhood(rng: np.random.Generator, n: int, query_first: bool) -> tuple:
    """(z, values): standardised offsets and category-change indicators, and the same rows in units."""
    z = np.column_stack([rng.normal(size=(n, 3)), -(rng.random(n) < 0.5).astype(float)])
    if query_first:
        z[0] = 0.0
    values = QUERY + np.column_stack([z[:, :3] * [f.scale for f in FEATURES[:3]], np.zeros(n)])
    other = rng.choice([0.0, 2.0], size=n)  # the category that replaced "green"
    values[:, 3] = np.where(z[:, 3] == -1, other, QUERY[3])
    return z, values


def make_problem(response, *, seed=0, n_fit=400, n_hold=200, weights=None) -> LocalProblem:
    """A local problem whose black box is ``response(z)``; row 0 of the fitting sample is the query."""
    rng = np.random.default_rng(seed)
    z_fit, values_fit = _neighbourhood(rng, n_fit, True)
    z_hold, values_hold = _neighbourhood(rng, n_hold, False)
    w_fit = rng.uniform(0.3, 1.0, n_fit) if weights is None else weights
    return LocalProblem(
        z_fit=z_fit,
        values_fit=values_fit,
        y_fit=response(z_fit),
        w_fit=w_fit,
        z_hold=z_hold,
        values_hold=values_hold,
        y_hold=response(z_hold),
        w_hold=rng.uniform(0.3, 1.0, n_hold),
        threshold=None,
    )


def fit_one(problem, seed=0, features=FEATURES, names=NAMES, **params):
    (fit,) = LinearSurrogate(**params).fit_local(
        [problem], features, names, [np.random.SeedSequence(seed)]
    )
    return fit


def weights_of(fit) -> dict[str, float]:
    return {t.feature: t.weight for t in fit.content.terms}


def linear(intercept, slopes):
    slopes = np.asarray(slopes, dtype=float)
    return lambda z: intercept + z @ slopes


# ---- exact recovery ------------------------------------------------------------------------------
@pytest.mark.parametrize("control_variates", [False, True])
def test_a_linear_black_box_is_recovered_exactly(control_variates):
    problem = make_problem(linear(3.0, [2.0, -1.0, 0.5, 0.8]))
    fit = fit_one(problem, max_features=4, control_variates=control_variates)
    content = fit.content
    assert content.intercept == pytest.approx(3.0, abs=1e-9)
    assert weights_of(fit) == pytest.approx(
        {"age": 2.0, "debt": -1.0, "months": 0.5, "colour": 0.8}, abs=1e-9
    )
    # terms (and the ranking) by |weight|; weights are per z unit, per-unit weights per original unit
    assert [t.feature for t in content.terms] == ["age", "debt", "colour", "months"]
    assert fit.ranking == ("age", "debt", "colour", "months")
    per_unit = {t.feature: t.weight_per_unit for t in content.terms}
    assert per_unit["age"] == pytest.approx(2.0 / 12.0)
    assert per_unit["debt"] == pytest.approx(-1.0 / 0.5)
    assert per_unit["months"] == pytest.approx(0.5 / 4.0)
    assert per_unit["colour"] is None  # a category has no unit
    # each term shows the query's value, categories by label
    assert {t.feature: t.value for t in content.terms} == {
        "age": 35.0,
        "debt": 2.0,
        "months": 12.0,
        "colour": "green",
    }
    np.testing.assert_allclose(fit.pred_hold, problem.y_hold, atol=1e-9)
    np.testing.assert_allclose(fit.pred_fit, problem.y_fit, atol=1e-9)


def test_weights_are_the_weighted_least_squares_solution():
    """With noise, the weights are those of WLS on [1, z] with the fitting weights."""
    noise = np.random.default_rng(5).normal(scale=0.3, size=400)
    problem = make_problem(linear(1.0, [1.5, -0.7, 0.2, 0.9]))
    problem = replace(problem, y_fit=problem.y_fit + noise)
    fit = fit_one(problem, max_features=4, control_variates=False, n_bootstrap=0)
    design = np.column_stack([np.ones(len(problem.z_fit)), problem.z_fit])
    root_w = np.sqrt(problem.w_fit)
    coef = np.linalg.lstsq(design * root_w[:, None], problem.y_fit * root_w, rcond=None)[0]
    assert fit.content.intercept == pytest.approx(coef[0], abs=1e-9)
    assert weights_of(fit) == pytest.approx(dict(zip(NAMES, coef[1:], strict=True)), abs=1e-9)


# ---- forward selection ---------------------------------------------------------------------------
# Strengths (slope x standard deviation of z): age 4, colour 6 x 0.5 = 3, debt 2, months 1.
STRENGTHS = linear(0.0, [4.0, 2.0, 1.0, 6.0])
BY_STRENGTH = ["age", "colour", "debt", "months"]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_forward_selection_takes_the_strongest_features_first(k):
    fit = fit_one(make_problem(STRENGTHS), max_features=k)
    assert sorted(fit.ranking) == sorted(BY_STRENGTH[:k])
    assert len(fit.content.terms) == k  # max_features respected


def test_max_features_above_the_feature_count_keeps_every_feature_once():
    fit = fit_one(make_problem(STRENGTHS), max_features=10)
    assert sorted(fit.ranking) == sorted(NAMES)


def test_irrelevant_features_are_not_added():
    """Selection stops when no candidate lowers the residual sum of squares beyond rounding."""
    fit = fit_one(make_problem(linear(1.0, [0.0, 2.0, 0.0, -1.0])), max_features=4)
    assert sorted(fit.ranking) == ["colour", "debt"]


def test_a_frozen_feature_is_never_selected():
    """A column that never moves (an immutable feature) cannot be chosen, even to fill k."""
    problem = make_problem(STRENGTHS)
    frozen = problem.z_fit.copy()
    frozen[:, 0] = 0.0  # age frozen: the response still moves with its (now unseen) slope 0
    problem = replace(problem, z_fit=frozen, y_fit=STRENGTHS(frozen))
    fit = fit_one(problem, max_features=4)
    assert "age" not in fit.ranking
    assert sorted(fit.ranking) == ["colour", "debt", "months"]


def selection_by_solves(gram, cross, total, movable, name_rank, k, floor):
    """Forward selection as first written: every candidate's ridged least-squares system
    solved at every step (one problem at a time; the reference the sweeps must match)."""
    min_gain, tie = 1e-9, 1e-9
    chosen = []
    for g, c, t, mov, lowest in zip(gram, cross, total, movable, floor, strict=True):
        base = max(t - c[0] ** 2 / g[0, 0], 0.0)
        need = np.inf if base <= lowest else min_gain * base
        picked, previous = [], base
        for _ in range(min(k, len(mov))):
            rss = {}
            for j in np.flatnonzero(mov):
                if j in picked:
                    continue
                idx = [0] + [p + 1 for p in picked] + [j + 1]
                sub, rhs = ridged(g[np.ix_(idx, idx)]), c[idx]
                rss[j] = t - rhs @ np.linalg.solve(sub, rhs)
            if not rss:
                break
            best = min(rss.values())
            tied = [j for j, r in rss.items() if r <= best + tie * max(base, 1e-300)]
            j = min(tied, key=lambda j: name_rank[j])
            if not previous > best + need:
                break
            picked.append(int(j))
            previous = best
        chosen.append(picked)
    return chosen


def bootstrap_problems(seed: int):
    """Resampled Gram matrices of a random design with binary, continuous, duplicated and
    frozen columns, as the bootstrap forms them."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 400))
    binary = -(rng.random((n, 6)) < 0.5).astype(float)
    normal = rng.normal(size=(n, 4)) * rng.uniform(0.1, 10.0, size=4)
    z = np.column_stack([binary, normal, binary[:, 0], np.zeros(n), normal[:, 1] * binary[:, 2]])
    y = z @ (rng.normal(size=z.shape[1]) * (rng.random(z.shape[1]) < 0.6)) + rng.normal(size=n)
    design = np.column_stack([np.ones(n), z])
    weights = rng.random(n) * bootstrap_counts(np.random.SeedSequence(seed), n, 8)
    gram = np.einsum("bn,ni,nj->bij", weights, design, design)
    cross = (weights * y) @ design
    total = weights @ y**2
    movable = np.broadcast_to(np.any(z != 0, axis=0), (len(weights), z.shape[1])).copy()
    name_rank = rng.permutation(z.shape[1])
    floor = np.where(rng.random(len(weights)) < 0.2, np.inf, 0.0)
    return gram, cross, total, movable, name_rank, floor


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [1, 3, 13])
def test_sweeps_select_what_solving_every_candidate_selects(seed, k):
    """The bootstrap's refits (and the fit) select by sweeps of one factorisation; they
    choose exactly the features that solving each candidate's system chose (a column
    that duplicates another ties with it, and the tie goes to the first name)."""
    gram, cross, total, movable, name_rank, floor = bootstrap_problems(seed)
    swept = forward_select(gram, cross, total, movable, name_rank, k, floor=floor)
    assert swept == selection_by_solves(gram, cross, total, movable, name_rank, k, floor)


@pytest.mark.parametrize("names", [("alpha", "beta"), ("beta", "alpha")])
def test_ties_go_to_the_first_name_whatever_the_column_order(names):
    """Two identical columns explain the response equally well: the first name wins."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(300, 1))
    z[0] = 0.0
    both = np.hstack([z, z])
    features = tuple(
        Feature(name, "numeric", "float64", lower=-5, upper=5, mean=0.0, scale=1.0)
        for name in names
    )
    problem = LocalProblem(
        z_fit=both,
        values_fit=both,
        y_fit=2.0 * z[:, 0],
        w_fit=np.ones(300),
        z_hold=both[:50],
        values_hold=both[:50],
        y_hold=2.0 * z[:50, 0],
        w_hold=np.ones(50),
        threshold=None,
    )
    fit = fit_one(problem, features=features, names=names, max_features=1)
    assert fit.ranking == ("alpha",)


def test_column_order_never_matters():
    problem = make_problem(
        lambda z: 0.5 + z @ [1.0, -1.0, 0.3, 0.6] + 0.4 * np.sin(3 * z[:, 0]), seed=7
    )
    fit = fit_one(problem, max_features=3)
    order = [2, 3, 0, 1]
    permuted = replace(
        problem,
        z_fit=problem.z_fit[:, order],
        values_fit=problem.values_fit[:, order],
        z_hold=problem.z_hold[:, order],
        values_hold=problem.values_hold[:, order],
    )
    fit_p = fit_one(
        permuted,
        features=tuple(FEATURES[j] for j in order),
        names=tuple(NAMES[j] for j in order),
        max_features=3,
    )
    assert fit_p.ranking == fit.ranking
    assert [t.feature for t in fit_p.content.terms] == [t.feature for t in fit.content.terms]
    assert weights_of(fit_p) == pytest.approx(weights_of(fit), abs=1e-10)
    assert fit_p.content.intercept == pytest.approx(fit.content.intercept, abs=1e-10)
    np.testing.assert_allclose(fit_p.pred_hold, fit.pred_hold, atol=1e-10)
    assert fit_p.stability.selection_frequency == fit.stability.selection_frequency


# ---- constant responses ---------------------------------------------------------------------------
@pytest.mark.parametrize("wobble", [0.0, 1e-13])
def test_a_constant_black_box_gets_no_features(wobble):
    """Constant (up to rounding noise far below its magnitude): no term, the constant as intercept."""
    noise = wobble * np.random.default_rng(1).normal(size=400)
    problem = make_problem(lambda z: np.full(len(z), 5.0))
    problem = replace(problem, y_fit=problem.y_fit + noise)
    fit = fit_one(problem, max_features=4)
    assert fit.content.terms == ()
    assert fit.ranking == ()
    assert fit.content.intercept == pytest.approx(5.0, abs=1e-9)
    np.testing.assert_allclose(fit.pred_hold, 5.0, atol=1e-9)


def test_a_large_offset_does_not_drown_the_slopes():
    fit = fit_one(make_problem(linear(1e6, [5.0, 2.0, 0.0, 0.0])), max_features=4)
    assert fit.ranking == ("age", "debt")
    assert weights_of(fit) == pytest.approx({"age": 5.0, "debt": 2.0}, rel=1e-8)
    assert fit.content.intercept == pytest.approx(1e6, rel=1e-12)


def test_a_spread_far_below_the_magnitude_counts_as_constant():
    """Relative spread 1e-9 of a response around 1e6 is what fidelity calls constant: no features."""
    fit = fit_one(make_problem(linear(1e6, [1e-3, 0.0, 0.0, 0.0])), max_features=2)
    assert fit.ranking == ()


# ---- weights --------------------------------------------------------------------------------------
def test_zero_weight_rows_are_ignored():
    """Rows with weight 0 follow another slope entirely; the fit sees only the others."""
    rng = np.random.default_rng(2)
    n = 400
    ignored = np.arange(n) >= 300
    weights = np.where(ignored, 0.0, rng.uniform(0.3, 1.0, n))

    def response(z):
        slope = np.where(np.arange(len(z)) >= 300, -50.0, 2.0)
        return 1.0 + slope * z[:, 0] + 0.5 * z[:, 1]

    problem = make_problem(response, weights=weights)
    fit = fit_one(problem, max_features=4)
    assert sorted(fit.ranking) == ["age", "debt"]
    assert weights_of(fit) == pytest.approx({"age": 2.0, "debt": 0.5}, abs=1e-9)
    assert fit.content.intercept == pytest.approx(1.0, abs=1e-9)

    kept = replace(
        problem,
        z_fit=problem.z_fit[~ignored],
        values_fit=problem.values_fit[~ignored],
        y_fit=problem.y_fit[~ignored],
        w_fit=problem.w_fit[~ignored],
    )
    alone = fit_one(kept, max_features=4, control_variates=False, n_bootstrap=0)
    with_zeros = fit_one(problem, max_features=4, control_variates=False, n_bootstrap=0)
    assert weights_of(with_zeros) == pytest.approx(weights_of(alone), abs=1e-12)
    assert with_zeros.content.intercept == pytest.approx(alone.content.intercept, abs=1e-12)


def test_weights_change_the_fit():
    """Half the rows have slope 1, half slope 3: the weights decide the compromise."""
    n = 400
    half = np.arange(n) % 2 == 0

    def response(z):
        return np.where(np.arange(len(z)) % 2 == 0, 1.0, 3.0) * z[:, 0]

    light = make_problem(response, weights=np.where(half, 1.0, 1e-3))
    heavy = make_problem(response, weights=np.where(half, 1e-3, 1.0))
    slope_light = weights_of(fit_one(light, max_features=1, control_variates=False))["age"]
    slope_heavy = weights_of(fit_one(heavy, max_features=1, control_variates=False))["age"]
    assert slope_light < 1.1 and slope_heavy > 2.9


# ---- batching -------------------------------------------------------------------------------------
def test_fitting_a_batch_equals_fitting_each_alone():
    problems = [
        make_problem(STRENGTHS, seed=1),
        make_problem(lambda z: np.full(len(z), -2.0), seed=2),  # no features: another group
        make_problem(lambda z: np.tanh(z[:, 0]) + z[:, 3] * z[:, 1], seed=3),
        make_problem(linear(1.0, [0.0, 2.0, 0.0, -1.0]), seed=4),
    ]
    seeds = [np.random.SeedSequence(s) for s in (11, 12, 13, 14)]
    family = LinearSurrogate(max_features=3, n_bootstrap=10)
    together = family.fit_local(problems, FEATURES, NAMES, seeds)
    for problem, seed, batched in zip(problems, seeds, together, strict=True):
        (alone,) = family.fit_local([problem], FEATURES, NAMES, [seed])
        assert batched.content == alone.content  # bit-identical weights and intercept
        assert batched.ranking == alone.ranking
        assert batched.stability == alone.stability
        assert batched.notes == alone.notes
        np.testing.assert_array_equal(batched.pred_fit, alone.pred_fit)
        np.testing.assert_array_equal(batched.pred_hold, alone.pred_hold)


def test_no_problems_gives_no_fits():
    assert LinearSurrogate().fit_local([], FEATURES, NAMES, []) == []


# ---- bootstrap stability --------------------------------------------------------------------------
def test_stability_fields():
    noise = np.random.default_rng(4).normal(scale=0.5, size=400)
    problem = make_problem(STRENGTHS)
    problem = replace(problem, y_fit=problem.y_fit + noise)
    fit = fit_one(problem, max_features=2, n_bootstrap=25)
    stability = fit.stability
    assert stability.n_resamples == 25
    assert stability.k == 2
    assert set(stability.selection_frequency) == set(fit.ranking)
    assert all(0.0 <= f <= 1.0 for f in stability.selection_frequency.values())
    assert stability.selection_frequency["age"] == 1.0  # dominant: chosen in every refit
    assert 0.0 <= stability.top_k_jaccard <= 1.0
    assert 0.0 <= stability.sign_agreement <= 1.0
    for name, (low, high) in stability.intervals.items():
        assert low <= weights_of(fit)[name] <= high


def test_stability_depends_on_the_bootstrap_seed_only():
    noise = np.random.default_rng(4).normal(scale=2.0, size=400)
    problem = make_problem(STRENGTHS)
    problem = replace(problem, y_fit=problem.y_fit + noise)
    first = fit_one(problem, seed=1, max_features=3)
    assert fit_one(problem, seed=1, max_features=3).stability == first.stability
    other = fit_one(problem, seed=2, max_features=3)
    assert other.content == first.content  # the fit itself draws nothing
    assert other.stability.intervals != first.stability.intervals


def test_no_bootstrap_gives_an_empty_stability_record():
    fit = fit_one(make_problem(STRENGTHS), max_features=2, n_bootstrap=0)
    assert fit.stability.n_resamples == 0
    assert fit.stability.top_k_jaccard is None
    assert fit.stability.selection_frequency == {}
    assert fit.stability.intervals == {}


# ---- parameters -----------------------------------------------------------------------------------
def test_params_are_recorded_as_given():
    family = LinearSurrogate(max_features=3, n_bootstrap=7, control_variates=False)
    assert family.params() == {"max_features": 3, "n_bootstrap": 7, "control_variates": False}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_features": 0}, r"max_features must be None or an integer >= 1, got 0\."),
        ({"max_features": 2.5}, r"max_features must be None or an integer >= 1, got 2\.5\."),
        ({"max_features": True}, r"max_features must be None or an integer >= 1, got True\."),
        ({"max_features": "3"}, r"max_features must be None or an integer >= 1, got '3'\."),
        ({"n_bootstrap": -1}, r"n_bootstrap must be an integer >= 0, got -1\."),
        ({"n_bootstrap": None}, r"n_bootstrap must be an integer >= 0, got None\."),
        ({"control_variates": "yes"}, r"control_variates must be True or False, got 'yes'\."),
        ({"control_variates": 1}, r"control_variates must be True or False, got 1\."),
    ],
)
def test_bad_parameters_are_refused_by_name(params, message):
    with pytest.raises(ParameterError, match=message):
        fit_one(make_problem(STRENGTHS), **params)
