"""Point masses: learned by the schema, kept by the samplers, described by the surrogates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import surrogate as sg
from surrogate.errors import DataError, ParameterError
from surrogate.report.reason_codes import case_reasons, contributions
from surrogate.report.reason_policy import ReasonFamily, ReasonPolicy, Reference
from surrogate.sampling import GaussianSampler, QMCSampler, make_sampler
from surrogate.sampling.tabular import truncated_normal_ppf, truncated_normal_ppf_pieces
from surrogate.schema import FeatureSchema, point_flag_feature
from surrogate.surrogates.base import LinearContent, LinearTerm

ZERO_SHARE = 0.7  # share of training rows with gain == 0
N_TRAIN = 3000


def _zero_inflated(n: int = N_TRAIN, seed: int = 0) -> pd.DataFrame:
    """``gain``: 0 for about 70% of rows, else a rounded log-normal amount; ``hours``: an
    integer with a spike at 40; ``x``: a plain normal."""
    rng = np.random.default_rng(seed)
    gain = np.where(rng.random(n) < ZERO_SHARE, 0, np.round(rng.lognormal(8, 1, n)))
    hours = np.where(rng.random(n) < 0.45, 40, np.round(rng.normal(40, 12, n))).clip(1, 99)
    return pd.DataFrame(
        {
            "gain": gain.astype(np.int64),
            "hours": hours.astype(np.int64),
            "x": rng.normal(size=n),
        }
    )


@pytest.fixture(scope="module")
def world():
    frame = _zero_inflated()
    return frame, FeatureSchema.infer(frame)


def _query(schema, gain: int, hours: int = 30, x: float = 0.0) -> np.ndarray:
    return schema.encode(pd.DataFrame({"gain": [gain], "hours": [hours], "x": [x]}))[0]


# ---- schema -------------------------------------------------------------------------------------
def test_schema_learns_the_training_shares(world):
    frame, schema = world
    zero = float((frame["gain"] == 0).mean())
    forty = float((frame["hours"] == 40).mean())
    assert schema["gain"].point_masses == ((0.0, zero),)
    assert schema["hours"].point_masses == ((40.0, forty),)
    assert schema["x"].point_masses == ()  # continuous values never repeat
    assert schema.point_masses() == {"gain": ((0.0, zero),), "hours": ((40.0, forty),)}
    assert schema["gain"].point_flag_names() == ("gain is 0",)


def test_shares_are_among_the_rows_where_the_number_is_present():
    values = np.array([0.0] * 30 + [np.nan] * 50 + list(np.linspace(1.0, 100.0, 20)))
    schema = FeatureSchema.infer(pd.DataFrame({"v": values}))
    assert schema["v"].point_masses == ((0.0, 0.6),)


def test_regular_clusters_are_not_point_masses():
    # loan durations in months cluster on multiples of 6, none dominating: German credit
    rng = np.random.default_rng(5)
    months = rng.choice([6, 12, 18, 24, 36, 48], 3000, p=[0.1, 0.25, 0.15, 0.25, 0.15, 0.1])
    other = rng.integers(4, 72, 3000)
    duration = np.where(rng.random(3000) < 0.8, months, other)
    assert FeatureSchema.infer(pd.DataFrame({"duration": duration})).point_masses() == {}


def test_a_smooth_mode_is_not_a_point_mass():
    # an integer age-like number: its most frequent value is hardly above its neighbours
    rng = np.random.default_rng(3)
    age = np.round(rng.normal(35, 3, 4000)).astype(np.int64)
    schema = FeatureSchema.infer(pd.DataFrame({"age": age}))
    top = pd.Series(age).value_counts(normalize=True).iloc[0]
    assert top >= 0.05 and age.max() - age.min() > 20  # the share alone would make it one
    assert schema["age"].point_masses == ()


def test_an_integer_with_few_levels_has_no_point_mass():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "rate": rng.choice(
                [1, 2, 3, 4], 1000, p=[0.1, 0.2, 0.2, 0.5]
            ),  # German installment_rate
            "liable": rng.choice([1, 2], 1000, p=[0.85, 0.15]),
        }
    )
    schema = FeatureSchema.infer(frame)
    assert schema.point_masses() == {}
    # a real number with few levels keeps a dominant one: its perturbation never lands on it
    real = FeatureSchema.infer(frame.astype(float))
    assert real["liable"].points == (1.0,) and real["rate"].points == (4.0,)


def test_point_mass_share_is_the_threshold(world):
    frame, _ = world
    assert FeatureSchema.infer(frame, point_mass_share=0.8).point_masses() == {}
    assert set(FeatureSchema.infer(frame, point_mass_share=0.5).point_masses()) == {"gain"}
    assert FeatureSchema.infer(frame, point_mass_share=None).point_masses() == {}


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, True, "5%", float("nan")])
def test_point_mass_share_is_validated(world, bad):
    frame, _ = world
    with pytest.raises(ParameterError, match="point_mass_share"):
        FeatureSchema.infer(frame, point_mass_share=bad)


def test_point_masses_are_in_the_fingerprint(world):
    frame, schema = world
    none = FeatureSchema.infer(frame, point_mass_share=None)
    assert schema.fingerprint() != none.fingerprint()
    assert FeatureSchema.infer(frame, point_mass_share=0.5).fingerprint() not in (
        schema.fingerprint(),
        none.fingerprint(),
    )
    # a table without point masses keeps the fingerprint it had before they were learned
    plain = pd.DataFrame({"x": np.random.default_rng(0).normal(size=50)})
    assert (
        FeatureSchema.infer(plain).fingerprint()
        == FeatureSchema.infer(plain, point_mass_share=None).fingerprint()
    )


def test_flag_names_lead_back_to_their_feature():
    names = ["gain", "gain_total", "x"]
    assert point_flag_feature("gain is 0", names) == "gain"
    assert point_flag_feature("gain_total is 2.5", names) == "gain_total"
    assert point_flag_feature("gain is zero", names) is None
    assert point_flag_feature("x", names) is None


# ---- samplers -----------------------------------------------------------------------------------
def _binomial_ok(k: int, n: int, p: float) -> bool:
    """Two-sided exact binomial test at level 1e-4: ``k`` of ``n`` rows is a plausible count."""
    return stats.binomtest(k, n, p).pvalue > 1e-4


@pytest.mark.parametrize("gain", [0, 5000])
def test_share_at_the_point_is_the_training_share(world, gain):
    _, schema = world
    share = schema["gain"].point_masses[0][1]
    query = _query(schema, gain)
    n = 4096
    for seed in range(3):
        hood = GaussianSampler(schema).sample(query, n, np.random.SeedSequence(seed))
        assert _binomial_ok(int((hood.values[:, 0] == 0).sum()), n, share)
        # qmc: the decision has a Sobol dimension of its own, balanced in blocks of 2^m
        hood = QMCSampler(schema).sample(query, n, np.random.SeedSequence(seed))
        assert abs((hood.values[:, 0] == 0).sum() - n * share) <= 1


def test_an_integer_spike_keeps_its_share_exactly(world):
    # the continuous part avoids the spike's rounding cell, so rows at 40 come from the
    # point mass alone, whether the query is at 40 or next to it
    _, schema = world
    share = schema["hours"].point_masses[0][1]
    n = 4096
    for hours in (40, 41, 30):
        hood = GaussianSampler(schema).sample(
            _query(schema, 0, hours), n, np.random.SeedSequence(1)
        )
        col = hood.values[:, 1]
        assert _binomial_ok(int((col == 40).sum()), n, share)
        assert {39.0, 41.0} <= set(col.tolist())  # the neighbours of the spike are still drawn
        assert np.array_equal(col, np.round(col))


def test_a_query_at_the_point_always_has_rows_at_it(world):
    _, schema = world
    query = _query(schema, 0, 40)
    for seed in range(40):
        hood = QMCSampler(schema).sample(query, 64, np.random.SeedSequence(seed))
        assert (hood.values[:, 0] == 0).sum() >= np.floor(64 * ZERO_SHARE) - 2
        assert (hood.values[:, 1] == 40).any()
    big = GaussianSampler(schema).sample(query, 2000, np.random.SeedSequence(0))
    assert (big.values[:, 0] == 0).any() and (big.values[:, 1] == 40).any()


def test_flag_columns_mark_a_changed_state(world):
    _, schema = world
    sampler = make_sampler("qmc", schema)
    assert sampler.z_names == ("gain", "hours", "x", "gain is 0", "hours is 40")
    assert sampler.z_offsets == (True, True, True, False, False)
    for gain in (0, 5000):
        query = _query(schema, gain)
        hood = sampler.sample(query, 512, np.random.SeedSequence(2))
        at_zero = hood.values[:, 0] == 0
        expected = -(at_zero != (gain == 0)).astype(float)
        np.testing.assert_array_equal(hood.z[:, 3], expected)
        np.testing.assert_allclose(hood.z[:, 0], (hood.values[:, 0] - gain) / schema["gain"].scale)
        # the distance is taken on the features' columns only
        np.testing.assert_allclose(hood.distance, np.sqrt((hood.z[:, :3] ** 2).sum(axis=1) / 3))


@pytest.mark.parametrize("name", ["gaussian", "qmc"])
def test_same_seed_same_rows_and_off_equals_no_point_masses(world, name):
    frame, schema = world
    query = _query(schema, 0, 40)
    a = make_sampler(name, schema).sample(query, 300, np.random.SeedSequence(9))
    b = make_sampler(name, schema).sample(query, 300, np.random.SeedSequence(9))
    c = make_sampler(name, schema).sample(query, 300, np.random.SeedSequence(10))
    assert np.array_equal(a.values, b.values) and np.array_equal(a.z, b.z)
    assert not np.array_equal(a.values, c.values)
    # switched off, the sampler draws exactly the rows of a schema without point masses
    off = make_sampler(name, schema, point_masses=False)
    plain = make_sampler(name, FeatureSchema.infer(frame, point_mass_share=None))
    assert off.z_names == schema.names and "point_masses" not in plain.params()
    assert off.params()["point_masses"] is False and a.z.shape[1] == 5
    d, e = (s.sample(query, 300, np.random.SeedSequence(9)) for s in (off, plain))
    assert np.array_equal(d.values, e.values) and np.array_equal(d.z, e.z)
    assert (d.values[:, 0] == 0).mean() < 0.05  # without them the point is (almost) lost


def test_immutable_numbers_get_no_flag(world):
    frame, _ = world
    schema = FeatureSchema.infer(frame, immutable_features=["gain"])
    sampler = make_sampler("gaussian", schema)
    assert sampler.z_names == ("gain", "hours", "x", "hours is 40")
    hood = sampler.sample(_query(schema, 5000), 200, np.random.SeedSequence(0))
    assert (hood.values[:, 0] == 5000).all()


def test_sampler_option_and_name_clash_are_refused(world):
    frame, schema = world
    with pytest.raises(ParameterError, match="point_masses"):
        make_sampler("gaussian", schema, point_masses="yes")
    clash = frame.assign(**{"gain is 0": frame["x"]})
    with pytest.raises(DataError, match="'gain is 0'"):
        make_sampler("qmc", FeatureSchema.infer(clash))


def test_point_mass_notes_say_it_in_words(world):
    _, schema = world
    sampler = make_sampler("qmc", schema)
    at, away = sampler.point_mass_notes(_query(schema, 0, 41))
    share = schema["gain"].point_masses[0][1]
    assert at.startswith(f"gain is 0 for {share:.1%} of training rows and for this query")
    assert away.startswith("hours is 40 for") and "but not for this query (41)" in away
    assert make_sampler("qmc", schema, point_masses=False).point_mass_notes(_query(schema, 0)) == ()


def test_truncated_normal_on_pieces():
    u = np.linspace(0.0005, 0.9995, 2000)
    # one piece: the plain truncated normal
    np.testing.assert_allclose(
        truncated_normal_ppf_pieces(u, [(-1.0, 2.0)]), truncated_normal_ppf(u, -1.0, 2.0)
    )
    pieces = [(-np.inf, -0.5), (0.5, 3.0), (40.0, 41.0)]
    t = truncated_normal_ppf_pieces(u, pieces)
    assert np.all(np.diff(t) >= 0)  # monotone in u: balanced points stay balanced
    assert not np.any((t > -0.5) & (t < 0.5))
    # each piece receives its share of the normal mass (the far piece none, but no NaN)
    mass = special.ndtr(-0.5), special.ndtr(3.0) - special.ndtr(0.5)
    assert np.mean(t <= -0.5) == pytest.approx(mass[0] / sum(mass), abs=1e-3)
    assert np.isfinite(t).all() and (t < 40).all()
    far = truncated_normal_ppf_pieces(u, [(40.0, 41.0), (50.0, 51.0)])  # only tails left
    assert np.isfinite(far).all() and (far <= 41.0).all() and (far >= 40.0).all()


# ---- explanations -------------------------------------------------------------------------------
def _jump(frame: pd.DataFrame) -> np.ndarray:
    """A black box that jumps by 3 where gain is 0, and is linear in x."""
    return 3.0 * (frame["gain"].to_numpy() == 0) + 0.5 * frame["x"].to_numpy()


@pytest.fixture(scope="module")
def jump_explainer(world):
    frame, _ = world
    return sg.TabularExplainer(_jump, frame, mode="regression", n_samples=2000, random_state=0)


@pytest.mark.parametrize("gain, sign", [(0, 1.0), (5000, -1.0)])
def test_a_jump_at_the_point_is_explained_by_its_flag(jump_explainer, world, gain, sign):
    _, schema = world
    row = pd.DataFrame({"gain": [gain], "hours": [30], "x": [0.0]})
    exp = jump_explainer.explain(row, max_features=3)
    weights = {t.feature: t for t in exp.content.terms}
    # z is -1 where the state differs from the query's: the weight is the effect of
    # being where the query is, +3 at the point, -3 away from it
    assert weights["gain is 0"].weight == pytest.approx(sign * 3.0, abs=1e-6)
    assert weights["gain is 0"].value == ("yes" if gain == 0 else "no")
    assert weights["gain is 0"].weight_per_unit is None
    assert weights["x"].weight_per_unit == pytest.approx(0.5, abs=1e-6)
    assert "gain" not in weights or abs(weights["gain"].weight) < 1e-6
    assert exp.fidelity.r2 == pytest.approx(1.0, abs=1e-9)
    assert exp.top_features(1) == ["gain is 0"]


def test_without_point_masses_the_jump_is_invisible_at_the_point(world):
    frame, _ = world
    explainer = sg.TabularExplainer(
        _jump,
        frame,
        mode="regression",
        n_samples=2000,
        sampler_options={"point_masses": False},
    )
    exp = explainer.explain(pd.DataFrame({"gain": [0], "hours": [30], "x": [0.0]}), max_features=3)
    assert "gain is 0" not in exp.top_features()
    assert exp.meta.sampler["point_masses"] is False


def test_explanations_with_a_flag_round_trip_and_render(jump_explainer):
    row = pd.DataFrame({"gain": [0], "hours": [40], "x": [0.3]})
    exp = jump_explainer.explain(row, max_features=3)
    again = sg.Explanation.from_json(exp.to_json())
    assert again == exp and again.to_json() == exp.to_json()
    assert "gain is 0 = yes" in exp.to_text()
    assert "gain is 0" in exp.to_markdown() and "gain is 0" in exp.to_dot()
    assert exp.meta.sampler["point_masses"] is True


def test_explanations_are_deterministic(world):
    frame, _ = world
    rows = frame.iloc[:4]

    def run():
        explainer = sg.TabularExplainer(_jump, frame, mode="regression", n_samples=600)
        return [e.to_json() for e in explainer.explain_many(rows, max_features=3)]

    assert run() == run()


def test_tree_and_rules_describe_the_point_in_the_data_units(jump_explainer):
    row = pd.DataFrame({"gain": [0], "hours": [30], "x": [0.0]})
    exp = jump_explainer.explain(row, "tree", max_depth=1)
    splits = {(c.feature, c.op) for r in exp.content.rules for c in r.conditions}
    assert splits == {("gain", "<="), ("gain", ">")}
    threshold = exp.content.rules[0].conditions[0].value
    assert 0 <= float(threshold) < 100  # between the point and the nearest drawn amounts
    assert exp.fidelity.r2 > 0.9


def test_control_variates_leave_the_flag_weight_where_it_was(world):
    # a step in gain away from the point is a main effect of gain: removing it must not
    # move the weight of gain's own point column
    frame, _ = world

    def stepped(f):
        return _jump(f) + 2.0 * (f["gain"].to_numpy() > 3000)

    weights = {}
    for cv in (True, False):
        explainer = sg.TabularExplainer(stepped, frame, mode="regression", n_samples=4000)
        exp = explainer.explain(
            pd.DataFrame({"gain": [0], "hours": [30], "x": [0.0]}),
            max_features=3,
            control_variates=cv,
        )
        weights[cv] = {t.feature: t.weight for t in exp.content.terms}
    assert set(weights[True]) == set(weights[False])
    assert weights[True]["gain is 0"] == pytest.approx(weights[False]["gain is 0"], abs=0.15)


def test_global_linear_surrogate_with_point_masses(jump_explainer, world):
    frame, _ = world
    glob = jump_explainer.explain_global(frame.iloc[:400], "linear", max_features=2)
    assert set(glob.top_features(2)) <= {"gain", "hours", "x"}


# ---- reason codes -------------------------------------------------------------------------------
def test_a_flag_belongs_to_its_feature_family_and_prohibition(jump_explainer):
    exp = jump_explainer.explain(pd.DataFrame({"gain": [0], "hours": [30], "x": [0.0]}))
    terms = (
        LinearTerm("gain is 0", "yes", 0.8, None),
        LinearTerm("hours is 40", "no", 0.5, None),
        LinearTerm("x", 1.0, 0.2, 0.2),
    )
    exp = dataclasses.replace(
        exp,
        content=LinearContent(family="linear", intercept=0.0, terms=terms),
        outputs={"bad": 0.9, "good": 0.1},
        meta=dataclasses.replace(exp.meta, target="bad"),
        fidelity=dataclasses.replace(exp.fidelity, r2=0.9),
    )
    reference = Reference(
        name="training",
        means={"gain": 1000.0, "hours": 40.0, "x": 0.0},
        scales={"gain": 2000.0, "hours": 10.0, "x": 1.0},
    )
    policy = ReasonPolicy(
        adverse_class="bad",
        families=(ReasonFamily("Capital", ("gain",), "Capital income"),),
        prohibited=("hours",),
    )
    parts = {c.feature: c for c in contributions(exp, policy, reference)}
    assert parts["gain is 0"].family == "Capital"
    assert parts["gain is 0"].contribution == pytest.approx(0.8)  # its weight, as a category's
    assert parts["gain is 0"].basis == "point state vs training share"
    assert not parts["hours is 40"].eligible
    case = case_reasons(exp, policy, reference, case_id="1", threshold=0.5)
    assert case.prohibited_used == ("hours",)
    assert [r.family for r in case.reasons] == ["Capital", "x"]
