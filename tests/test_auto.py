"""``surrogate="auto"``: candidates scored on rows they were not fitted on, work shared once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate.explain.pipeline import Size, local_problem, score
from surrogate.surrogates import make_surrogate
from surrogate.surrogates.additive import AdditiveSurrogate
from surrogate.surrogates.base import ridged
from surrogate.surrogates.linear import forward_select, leave_one_out_r2_by_size


def _box(rows: pd.DataFrame) -> np.ndarray:
    """Additive, with a step, a curve and a pairwise product the main effects miss."""
    a, b, c = (rows[k].to_numpy() for k in ("a", "b", "c"))
    return 1.5 * (a > 0.2) + np.sin(2 * b) + 0.8 * c + 1.2 * a * c


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["a", "b", "c", "d"])
    X["grade"] = pd.Series(rng.choice(list("xyz"), len(X)), dtype="str")
    return X


def _problem(world: pd.DataFrame, n_samples: int):
    explainer = sg.TabularExplainer(_box, world, mode="regression", n_samples=n_samples)
    query = explainer.prepare(world.iloc[:1])
    scored = score(explainer, query, Size.of(n_samples, explainer.holdout_share, explainer.population_share))[0]
    return local_problem(explainer, scored), query[0], scored.seeds.bootstrap


def test_linear_leave_one_out_figures_are_those_of_refits_without_each_row(world):
    problem, _, _ = _problem(world, 300)  # fewer fitting rows than the cap: every row counts
    sizes = [1, 2, 3]
    figures = leave_one_out_r2_by_size(problem, sizes)
    design = np.column_stack([np.ones(len(problem.y_fit)), problem.z_fit])
    w, y = problem.w_fit, problem.y_fit - problem.w_fit @ problem.y_fit / problem.w_fit.sum()
    gram = (design * w[:, None]).T @ design
    cross = design.T @ (w * y)
    movable = np.any(problem.z_fit != 0, axis=0)[None]
    path = forward_select(
        gram[None], cross[None], np.array([w @ y**2]), movable,
        np.arange(problem.z_fit.shape[1]), max(sizes),
    )[0]
    for size in sizes:
        idx = [0] + [j + 1 for j in path[:size]]
        a = design[:, idx]
        refits = np.empty(len(y))
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            g = ridged((a[keep] * w[keep, None]).T @ a[keep])
            refits[i] = a[i] @ np.linalg.solve(g, a[keep].T @ (w[keep] * y[keep]))
        expected = 1 - (w @ (y - refits) ** 2) / (w @ (y - (w @ y) / w.sum()) ** 2)
        assert figures[size] == pytest.approx(expected, abs=1e-9)


def test_additive_leave_one_out_figure_is_that_of_refits_without_each_row(world):
    problem, query, seed = _problem(world, 300)
    family = AdditiveSurrogate(n_bins=6)
    (_, figure, _), = family.fit_stages(problem, query.features, query.z_names, seed, [0])
    q = family._main_effects([problem], query.features, query.z_names)[0]  # its system, by hand
    x = q.x.toarray()[:, q.design.reduced]
    w, y = problem.w_fit, problem.y_fit - q.mean
    gram, unit, _ = q.reduced()
    lhs = gram + q.smoothing * q.row_weight * unit  # the penalised system, before its ridge
    refits = np.empty(len(y))
    for i in range(len(y)):
        one = w[i] * np.outer(x[i], x[i])
        beta = np.linalg.solve(ridged(lhs - one), x.T @ (w * y) - w[i] * x[i] * y[i])
        refits[i] = x[i] @ beta
    expected = 1 - (w @ (y - refits) ** 2) / (w @ (y - (w @ y) / w.sum()) ** 2)
    assert figure == pytest.approx(expected, abs=1e-6)


def test_each_stage_is_the_fit_of_its_own_number_of_pairs(world):
    problem, query, seed = _problem(world, 2000)
    family = AdditiveSurrogate()
    stages = family.fit_stages(problem, query.features, query.z_names, seed, [2, 0])
    for k, _, staged in stages:
        alone = AdditiveSurrogate(interactions=k).fit_local(
            [problem], query.features, query.z_names, [seed]
        )[0]
        fit = staged()
        assert fit.content == alone.content
        assert np.array_equal(fit.pred_hold, alone.pred_hold)
        assert fit.stability == alone.stability


def test_auto_fits_the_additive_model_once_when_it_chooses_it(world, monkeypatch):
    prepared = []
    original = AdditiveSurrogate._prepare

    def counted(self, *args, **kwargs):
        prepared.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AdditiveSurrogate, "_prepare", counted)
    explainer = sg.TabularExplainer(_box, world, mode="regression", n_samples=2000)
    exp = explainer.explain(world.iloc[0], "auto")
    assert "auto chose additive" in exp.notes[0] and "leave-one-out R^2" in exp.notes[0]
    assert len(prepared) == 1  # the main effects serve both additive candidates and the answer
    plain = explainer.explain(world.iloc[0], "additive", interactions=3)
    if "'interactions': 3" in exp.notes[0]:
        assert exp.content == plain.content  # the chosen fit is the plain family's own


def test_auto_with_trees_in_its_ladder_scores_them_on_an_inner_split(world):
    ladder = (("tree", {"max_depth": 2}), ("additive", {}))
    explainer = sg.TabularExplainer(_box, world, mode="regression", n_samples=2000)
    exp = explainer.explain(world.iloc[0], "auto", ladder=ladder, target_fidelity=0.999)
    assert "NO candidate reached" in exp.notes[0]
    assert exp.meta.surrogate["ladder"] == [["tree", {"max_depth": 2}], ["additive", {}]]
    first = make_surrogate("auto", ladder=ladder[:1], target_fidelity=0.999)
    only_tree = explainer.explain(world.iloc[0], first)
    assert "inner-validation R^2" in only_tree.notes[0]


def test_auto_chooses_with_blas_on_one_thread(world, monkeypatch):
    """As inside the linear and additive fits: the same figures as in a one-thread pool
    worker, and no BLAS thread left spinning beside the model's when it scores next."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from surrogate.surrogates import linear

    seen = []
    original = linear.leave_one_out_r2_by_size

    def recorded(*args, **kwargs):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return original(*args, **kwargs)

    monkeypatch.setattr(linear, "leave_one_out_r2_by_size", recorded)
    explainer = sg.TabularExplainer(_box, world, mode="regression", n_samples=2000)
    with threadpool_limits(limits=2, user_api="blas"):
        outside = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
        explainer.explain(world.iloc[0], "auto", n_jobs=1)
    assert outside == {2}  # the check can fail: BLAS had two threads around the call
    assert seen and all(threads == {1} for threads in seen)
