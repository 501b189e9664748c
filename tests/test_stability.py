"""Stability with every explanation: reproducible, free of extra model calls, sane."""

import json

import numpy as np
import pytest

import surrogate as sg
from surrogate.sampling import GaussianSampler, Neighborhood

N_SAMPLES = 400


class CountingModel:
    """A callable black box that counts the rows it scores."""

    def __init__(self, model):
        self.model = model
        self.rows = 0
        self.calls = 0

    def __call__(self, rows):
        self.rows += len(rows)
        self.calls += 1
        return self.model.predict_proba(rows)


def counted_explainer(logistic_world, **kwargs):
    model, X = logistic_world
    counter = CountingModel(model)
    explainer = sg.TabularExplainer(counter, X, n_samples=N_SAMPLES, **kwargs)
    counter.rows = counter.calls = 0  # construction probes the model; explaining is what we count
    return explainer, counter, X


@pytest.mark.parametrize("n_bootstrap", [20, 0])
def test_stability_needs_no_extra_model_calls(logistic_world, n_bootstrap):
    explainer, counter, X = counted_explainer(logistic_world)
    many = explainer.explain_many(X.iloc[:4], max_features=3, n_bootstrap=n_bootstrap)
    assert counter.rows == N_SAMPLES * 4
    assert all(e.meta.n_samples == N_SAMPLES for e in many)
    assert all(e.stability.n_resamples == n_bootstrap for e in many)


def test_bootstrap_changes_only_the_stability_record(logistic_world):
    explainer, _, X = counted_explainer(logistic_world)
    on = json.loads(explainer.explain(X.iloc[1], max_features=3, n_bootstrap=20).to_json())
    off = json.loads(explainer.explain(X.iloc[1], max_features=3, n_bootstrap=0).to_json())
    for part in ("content", "fidelity", "neighbourhood", "prediction", "query"):
        assert on["explanation"][part] == off["explanation"][part]
    assert off["explanation"]["stability"]["n_resamples"] == 0
    assert off["explanation"]["stability"]["top_k_jaccard"] is None


def test_stability_is_reproducible_under_the_seed(logistic_world):
    model, X = logistic_world
    runs = [
        sg.TabularExplainer(model, X, n_samples=N_SAMPLES, random_state=seed).explain(
            X.iloc[2], max_features=5, n_bootstrap=20
        )
        for seed in (7, 7, 8)
    ]
    assert runs[0].to_json() == runs[1].to_json()
    assert runs[0].stability == runs[1].stability
    assert runs[0].stability.intervals != runs[2].stability.intervals


def test_stability_fields_are_sane(logistic_world):
    model, X = logistic_world
    explainer = sg.TabularExplainer(model, X, n_samples=N_SAMPLES)
    for exp in explainer.explain_many(X.iloc[:5], max_features=5, n_bootstrap=20):
        s = exp.stability
        assert s.k == 5 and s.n_resamples == 20
        assert 0.0 <= s.top_k_jaccard <= 1.0
        assert 0.0 <= s.sign_agreement <= 1.0
        assert set(s.selection_frequency) == set(exp.top_features())
        assert all(0.0 <= v <= 1.0 for v in s.selection_frequency.values())
        assert all(lo <= hi for lo, hi in s.intervals.values())


def test_intervals_contain_a_well_determined_estimate(logistic_world):
    model, X = logistic_world
    explainer = sg.TabularExplainer(model, X, n_samples=2000, link="logit")
    for exp in explainer.explain_many(X.iloc[:5], max_features=3, n_bootstrap=20):
        s = exp.stability
        assert sorted(exp.top_features()) == ["f1", "f4", "f7"]
        assert s.top_k_jaccard == 1.0 and s.sign_agreement == 1.0
        assert s.selection_frequency == {"f1": 1.0, "f4": 1.0, "f7": 1.0}
        for term in exp.content.terms:
            lo, hi = s.intervals[term.feature]
            slack = 1e-9 * max(1.0, abs(term.weight))
            assert lo - slack <= term.weight <= hi + slack


def test_effective_sample_size_is_recorded(logistic_world):
    model, X = logistic_world
    uniform = sg.TabularExplainer(model, X, n_samples=N_SAMPLES, kernel="uniform")
    exp = uniform.explain(X.iloc[0], n_bootstrap=0)
    assert exp.neighbourhood.effective_sample_size == pytest.approx(exp.meta.n_fit)
    narrow = sg.TabularExplainer(model, X, n_samples=N_SAMPLES, kernel_width=0.3)
    ess = narrow.explain(X.iloc[0], n_bootstrap=0).neighbourhood.effective_sample_size
    assert 1.0 <= ess < 0.9 * exp.meta.n_fit  # a narrow kernel concentrates the weight
    assert exp.neighbourhood.share_outside_training_range == 0.0  # gaussian rows stay in bounds


class Extrapolating:
    """Moves every other sampled row's first feature far beyond the training range."""

    name = "extrapolating"

    def __init__(self, schema):
        self.inner = GaussianSampler(schema)
        self.z_names = self.inner.z_names

    def params(self):
        return {"name": self.name}

    def sample(self, query, n, seed):
        hood = self.inner.sample(query, n, seed)
        values = hood.values.copy()
        values[::2, 0] = 1e3
        return Neighborhood(values=values, z=hood.z, distance=hood.distance)


def test_share_outside_training_range_is_recorded(logistic_world):
    model, X = logistic_world
    schema = sg.TabularExplainer(model, X, n_samples=N_SAMPLES).schema
    explainer = sg.TabularExplainer(model, X, n_samples=N_SAMPLES, sampler=Extrapolating(schema))
    exp = explainer.explain(X.iloc[0], n_bootstrap=0)
    n_rows = exp.meta.n_fit - 1 + exp.meta.n_holdout
    expected = (
        int(np.ceil((exp.meta.n_fit - 1) / 2)) + int(np.ceil(exp.meta.n_holdout / 2))
    ) / n_rows
    assert exp.neighbourhood.share_outside_training_range == pytest.approx(expected)


# ---- every component kept: the one-step bootstrap -------------------------------------------
def test_one_step_bootstrap_reads_as_refits_when_every_component_is_kept():
    """Text and image maps keep every component, so nothing is selected: each resample's
    refit is one Newton step from the full fit. Its figures read as the refits' do."""
    from surrogate.fidelity import summarise_bootstrap
    from surrogate.sampling.text import presence_features
    from surrogate.surrogates.base import LocalProblem, bootstrap_counts, ridged
    from surrogate.surrogates.linear import LinearSurrogate

    rng = np.random.default_rng(4)
    names = tuple(f"segment {j}" for j in range(30))
    keep = rng.random((1500, 30)) < 0.5
    keep[0] = True  # the query keeps everything
    effect = np.where(np.arange(30) < 6, np.linspace(2.0, 0.5, 30), 0.02)
    y = keep @ effect + rng.normal(0, 0.3, len(keep))
    z = keep.astype(np.float64) - 1.0  # -1 where masked
    w = np.exp(-((1 - keep.mean(axis=1)) ** 2))
    problem = LocalProblem(
        z_fit=z, values_fit=keep.astype(np.float64), y_fit=y, w_fit=w,
        z_hold=z[:100], values_hold=keep[:100].astype(np.float64), y_hold=y[:100],
        w_hold=w[:100], threshold=None,
    )  # fmt: skip
    seed = np.random.SeedSequence(9)
    features = presence_features(names, 0.5)
    fit = LinearSurrogate(max_features=None).fit_local([problem], features, names, [seed])[0]
    one_step = fit.stability
    assert one_step.method.startswith("one-step bootstrap")
    # the refits of the same resamples, every column kept
    a = np.column_stack([np.ones(len(y)), z])
    refits = np.zeros((20, 30))
    for b, counts in enumerate(bootstrap_counts(seed, len(y), 20)):
        wb = w * counts
        refits[b] = np.linalg.solve(ridged((a * wb[:, None]).T @ a), a.T @ (wb * y))[1:]
    reference = np.array([{t.feature: t.weight for t in fit.content.terms}[n] for n in names])
    exact = summarise_bootstrap(
        names=names, top=fit.ranking[: one_step.k], resampled_weights=refits,
        k=one_step.k, reference=reference, method="refits",
    )  # fmt: skip
    assert one_step.top_k_jaccard == pytest.approx(exact.top_k_jaccard, abs=0.05)
    assert one_step.sign_agreement == exact.sign_agreement
    for name, (lo, hi) in exact.intervals.items():
        one_lo, one_hi = one_step.intervals[name]
        assert abs((one_hi - one_lo) / (hi - lo) - 1) < 0.2
        assert abs((one_lo + one_hi) / 2 - (lo + hi) / 2) < 0.1 * (hi - lo) + 1e-3
