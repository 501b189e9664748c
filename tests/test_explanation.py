"""Explanations as data: JSON round trip, schema versions, text and Markdown rendering."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import surrogate.explanation as explanation_module
import surrogate.explanation.codec as codec
from surrogate import Explanation, ExplanationSet, TabularExplainer
from surrogate.errors import ExplanationFormatError, ParameterError


def _world(names: tuple[str, str, str, str] = ("income", "debt", "job", "owner")) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 300
    job = rng.choice(["clerk", "chef", "pilot"], n).astype(object)
    job[rng.random(n) < 0.1] = None  # missing categories
    return pd.DataFrame(
        {
            names[0]: rng.normal(50, 10, n),
            names[1]: rng.integers(0, 20, n),
            names[2]: pd.Series(job, dtype="str"),
            names[3]: rng.random(n) < 0.4,
        }
    )


def _classifier(names=("income", "debt", "job", "owner")):
    """Probabilities from numbers, a category (missing included) and a boolean."""

    def model(rows: pd.DataFrame) -> np.ndarray:
        job = rows[names[2]].map({"clerk": 0.0, "chef": 0.5, "pilot": 1.5}).fillna(-1.0)
        score = (
            0.08 * (rows[names[0]].to_numpy(dtype=float) - 50)
            - 0.1 * (rows[names[1]].to_numpy(dtype=float) - 10)
            + job.to_numpy(dtype=float)
            + 0.7 * rows[names[3]].to_numpy(dtype=float)
        )
        p = 1 / (1 + np.exp(-score))
        return np.column_stack([1 - p, p])

    return model


WORLD = _world()
MODEL = _classifier()


@pytest.fixture(scope="module")
def explanation() -> Explanation:
    return TabularExplainer(MODEL, WORLD, n_samples=300).explain(WORLD.iloc[0], max_features=3)


# ---------------------------------------------------------------------- JSON round trip


@given(
    sampler=st.sampled_from(["gaussian", "qmc"]),
    kernel=st.sampled_from(["exponential", "uniform"]),
    kernel_width=st.sampled_from([None, 0.3, 2.0]),
    link=st.sampled_from(["identity", "logit"]),
    max_features=st.integers(1, 5),
    n_bootstrap=st.integers(0, 4),
    row=st.integers(0, len(WORLD) - 1),
    random_state=st.integers(0, 2**64),
)
def test_json_round_trip(
    sampler, kernel, kernel_width, link, max_features, n_bootstrap, row, random_state
):
    explainer = TabularExplainer(
        MODEL,
        WORLD,
        n_samples=120,
        sampler=sampler,
        kernel=kernel,
        kernel_width=kernel_width,
        link=link,
        random_state=random_state,
    )
    exp = explainer.explain(WORLD.iloc[row], max_features=max_features, n_bootstrap=n_bootstrap)
    text = exp.to_json()
    back = Explanation.from_json(text)
    assert back == exp
    assert back.to_json() == text
    assert Explanation.from_json(exp.to_json(indent=2)) == exp
    assert Explanation.from_json(text.encode()) == exp


def test_json_is_canonical(explanation):
    text = explanation.to_json()
    document = json.loads(text)
    assert document["schema_version"] == explanation_module.SCHEMA_VERSION
    assert text == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "NaN" not in text and "Infinity" not in text


def test_round_trip_keeps_types(explanation):
    back = Explanation.from_json(explanation.to_json())
    assert isinstance(back.meta.n_samples, int)
    assert isinstance(back.meta.random_state_entropy, int)
    assert isinstance(back.query["income"], float) and back.query["job"] in (
        "clerk",
        "chef",
        "pilot",
        "missing",
    )
    assert all(isinstance(v, tuple) for v in back.stability.intervals.values())
    assert back.top_features() == explanation.top_features()


def test_explanation_is_frozen(explanation):
    with pytest.raises(AttributeError):
        explanation.prediction = 0.5  # type: ignore[misc]


# ---------------------------------------------------------------- schema_version policy


def _with_version(exp: Explanation, version: str) -> str:
    document = json.loads(exp.to_json())
    document["schema_version"] = version
    return json.dumps(document)


@pytest.mark.parametrize("version", ["1.3", "1.10", "2.0", "0.9", "0.0"])
def test_other_schema_versions_are_refused(explanation, version):
    with pytest.raises(ExplanationFormatError) as info:
        Explanation.from_json(_with_version(explanation, version))
    assert version in str(info.value) and explanation_module.SCHEMA_VERSION in str(info.value)


def test_older_minor_of_the_same_major_is_read(explanation, monkeypatch):
    monkeypatch.setattr(codec, "SCHEMA_VERSION", "1.3")
    assert Explanation.from_json(_with_version(explanation, "1.0")) == explanation
    assert Explanation.from_json(_with_version(explanation, "1.3")) == explanation
    with pytest.raises(ExplanationFormatError):
        Explanation.from_json(_with_version(explanation, "1.4"))


def test_a_schema_1_0_document_reads_without_contributions_or_threshold(explanation):
    """Schema 1.1 added contributions, the baseline and its reference, and meta.threshold."""
    document = json.loads(explanation.to_json())
    document["schema_version"] = "1.0"
    body = document["explanation"]
    del body["meta"]["threshold"], body["content"]["baseline"], body["content"]["reference"]
    for term in body["content"]["terms"]:
        del term["contribution"]
    old = Explanation.from_json(json.dumps(document))
    assert old.meta.threshold is None and old.baseline is None and old.contributions == {}
    assert [t.weight for t in old.content.terms] == [t.weight for t in explanation.content.terms]
    assert explanation.meta.threshold == 0.5 and len(explanation.contributions) == 3


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("not json", "Not a JSON explanation"),
        ('{"explanation": {}}', "schema_version"),
        ('{"schema_version": "one", "explanation": {}}', "'one'"),
        ('{"schema_version": "1.0", "explanation": {"prediction": 1}}', "missing field"),
    ],
)
def test_malformed_documents_are_refused(text, fragment):
    with pytest.raises(ExplanationFormatError, match=fragment):
        Explanation.from_json(text)


def test_unknown_and_mistyped_fields_are_refused(explanation):
    document = json.loads(explanation.to_json())
    document["explanation"]["surprise"] = 1
    with pytest.raises(ExplanationFormatError, match="surprise"):
        Explanation.from_json(json.dumps(document))
    document = json.loads(explanation.to_json())
    document["explanation"]["meta"]["n_samples"] = "300"
    with pytest.raises(ExplanationFormatError, match="n_samples"):
        Explanation.from_json(json.dumps(document))


# -------------------------------------------------------------------------- reading


def test_top_features(explanation):
    top = explanation.top_features()
    assert len(top) == 3 and top == [t.feature for t in explanation.content.terms]
    assert explanation.top_features(1) == top[:1]
    for bad in (-1, 1.5, True):
        with pytest.raises(ParameterError, match="k must be"):
            explanation.top_features(bad)


def test_explanation_set_frame_and_jsonl(tmp_path):
    many = TabularExplainer(MODEL, WORLD, n_samples=120).explain_many(
        WORLD.iloc[:3], max_features=2
    )
    assert isinstance(many, ExplanationSet) and len(many) == 3 and many.failures == []
    frame = many.to_frame(k=2)
    assert list(frame["query_index"]) == [0, 1, 2]
    assert list(frame["feature_1"]) == [e.top_features(1)[0] for e in many]
    lines = many.to_jsonl().splitlines()
    assert [Explanation.from_json(line) for line in lines] == list(many)
    path = tmp_path / "explanations.jsonl"
    many.to_jsonl(path)
    assert path.read_text(encoding="utf-8").splitlines() == lines


# -------------------------------------------------------------------------- rendering


def test_text_contains_top_features_and_fidelity(explanation):
    text = explanation.to_text()
    for name in explanation.top_features():
        assert name in text
    assert f"held-out R^2 {explanation.fidelity.r2:.3f}" in text
    assert f"{explanation.prediction:.4f}" in text
    assert "Stability" in text
    assert str(explanation) == text


def test_markdown_contains_top_features_and_fidelity(explanation):
    markdown = explanation.to_markdown()
    for name in explanation.top_features():
        assert f"| {name} |" in markdown
    assert f"held\\-out R^2 {explanation.fidelity.r2:.3f}".replace(".", "\\.") in markdown
    assert "| feature | value at query |" in markdown


def test_markdown_escapes_hostile_feature_names():
    hostile = "<script>|*x*"
    names = (hostile, "debt", "job", "owner")
    world = _world(names)
    exp = TabularExplainer(_classifier(names), world, n_samples=150).explain(world.iloc[0])
    assert hostile in exp.top_features()
    markdown = exp.to_markdown()
    assert "<script>" not in markdown and "*x*" not in markdown
    assert "&amp;lt;" not in markdown  # escaped once, not twice
    assert "&lt;script&gt;\\|\\*x\\*" in markdown
    row = next(line for line in markdown.splitlines() if "script" in line)
    assert row.count("|") - row.count("\\|") == 6  # the name's pipe cannot add a table cell
    assert hostile in exp.to_text()  # plain text shows the name as it is


def test_every_view_labels_contributions_slopes_and_their_unit(explanation):
    unit = "log-odds of '1'"
    html = explanation._repr_html_()
    for view in (explanation.to_text(), explanation.to_markdown().replace("\\", ""), html):
        view = view.replace("&#x27;", "'")
        assert unit in view and "contribution" in view and "slope" in view
        assert "Reference: the surrogate's mean over the training data" in view
    text = explanation.to_text()
    for term in explanation.content.terms:
        line = next(x for x in text.splitlines() if x.startswith(f"  {term.feature} = "))
        assert f"contribution {term.contribution:+.4f}" in line
        assert f"slope {term.weight:+.4f}" in line
    assert f"= reference {explanation.baseline:.4f} + the contributions" in text
    assert f"agreement {explanation.fidelity.agreement:.3f} at threshold 0.5" in text


def test_rule_predictions_are_also_shown_as_probabilities():
    exp = TabularExplainer(MODEL, WORLD, n_samples=300).explain(WORLD.iloc[0], "rules")
    text = exp.to_text()
    assert "Rule predictions in log-odds of '1'" in text
    for rule in exp.content.rules:
        p = 1 / (1 + np.exp(-rule.prediction))
        assert f"THEN {rule.prediction:.4g} (probability {p:.3f})" in text
    frame = exp.to_frame()
    assert list(frame["probability"]) == pytest.approx(1 / (1 + np.exp(-frame["prediction"])))
    assert list(frame["fires"]).count(True) == 1


def test_notes_are_shown_in_every_view():
    exp = TabularExplainer(MODEL, WORLD, n_samples=300).explain(WORLD.iloc[0], "auto")
    (note,) = exp.notes
    assert f"Note: {note}" in exp.to_text()
    assert "Note: auto chose" in exp.to_markdown()
    from html import escape

    assert escape(note) in exp._repr_html_()
    many = ExplanationSet([exp], indices=[0], failures=[])
    assert escape(note) in many._repr_html_()


def test_to_frame_has_one_row_per_term(explanation):
    frame = explanation.to_frame()
    assert list(frame.columns) == ["feature", "value", "contribution", "slope", "slope_per_unit"]
    terms = explanation.content.terms
    assert list(frame["feature"]) == [t.feature for t in terms]
    assert list(frame["contribution"]) == [t.contribution for t in terms]
    assert list(frame["slope"]) == [t.weight for t in terms]


def test_explanation_set_long_frame():
    many = TabularExplainer(MODEL, WORLD, n_samples=150).explain_many(
        WORLD.iloc[[4, 9]], max_features=2
    )
    long = many.to_frame(long=True)
    assert list(long.columns[:2]) == ["row", "feature"]
    assert list(long["row"]) == [0, 0, 1, 1]
    assert list(long["contribution"]) == [t.contribution for e in many for t in e.content.terms]


def test_plot_is_a_waterfall_from_the_reference_to_the_surrogate_at_the_query(explanation):
    from matplotlib.figure import Figure

    figure = explanation.plot()
    assert isinstance(figure, Figure)
    bars = figure.axes[0].patches
    widths = sorted(b.get_width() for b in bars)
    assert widths == pytest.approx(sorted(explanation.contributions.values()))
    lefts = sorted(min(b.get_x(), b.get_x() + b.get_width()) for b in bars)
    rights = [b.get_x() + b.get_width() for b in bars]
    assert min(lefts) <= explanation.baseline <= max(rights) + 1e-12
    # the largest contribution is drawn last (on top) and ends at the surrogate at the query
    assert rights[-1] == pytest.approx(explanation.content.intercept, abs=1e-12)
    rules = TabularExplainer(MODEL, WORLD, n_samples=300).explain(WORLD.iloc[0], "rules")
    assert isinstance(rules.plot(), Figure)


def test_explanation_set_plot_shows_mean_absolute_contributions():
    many = TabularExplainer(MODEL, WORLD, n_samples=150).explain_many(WORLD.iloc[:4])
    bars = many.plot(k=2).axes[0].patches
    names = {n for e in many for n in e.contributions}
    means = {n: np.mean([abs(e.contributions.get(n, 0.0)) for e in many]) for n in names}
    assert [b.get_width() for b in bars] == pytest.approx(sorted(means.values())[::-1][:2])
    with pytest.raises(ParameterError, match="k must be"):
        many.plot(k=0)


def test_plot_shows_in_a_notebook_and_draws_into_given_axes(explanation):
    """A notebook shows what a cell returns through _repr_png_; with ax= two explanations
    (and a set, and a global surrogate) share one figure, each drawn into its own axes."""
    from matplotlib.figure import Figure

    explainer = TabularExplainer(MODEL, WORLD, n_samples=300)
    tree = explainer.explain(WORLD.iloc[1], "tree", max_depth=2)
    many = explainer.explain_many(WORLD.iloc[:3], max_features=2)
    glob = explainer.explain_global(WORLD.iloc[:200], "rules", max_rules=3)
    for result in (explanation.plot(), tree.plot(), many.plot(k=3), glob.plot(k=3)):
        png = result._repr_png_()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
        assert result.ax_ is result.axes[0] and result.figure_ is result
        assert isinstance(result, Figure) and hasattr(result, "savefig")
    shared = Figure(figsize=(12, 8))
    axes = shared.subplots(2, 2).ravel()
    drawn = [
        explanation.plot(ax=axes[0]),
        tree.plot(ax=axes[1]),
        many.plot(k=3, ax=axes[2]),
        glob.plot(k=3, ax=axes[3]),
    ]
    assert drawn == list(axes) and len(shared.axes) == 4
    alone = explanation.plot().axes[0].patches
    assert [b.get_width() for b in axes[0].patches] == [b.get_width() for b in alone]
    assert [t.get_text() for t in axes[1].get_yticklabels()] == tree.top_features()
    magnitudes = glob.content.magnitudes()
    assert sorted(b.get_width() for b in axes[3].patches) == pytest.approx(
        sorted(magnitudes.values())[-3:]
    )
    with pytest.raises(ParameterError, match="ax must be a matplotlib Axes"):
        explanation.plot(ax="left")


def test_surrogate_options_and_explainer_options_are_told_apart(explanation):
    explainer = TabularExplainer(MODEL, WORLD, n_samples=150)
    with pytest.raises(ParameterError, match="n_samples is an explainer option"):
        explainer.explain(WORLD.iloc[0], n_samples=500)
    with pytest.raises(ParameterError, match="kernel_width, threshold|threshold, .*kernel_width"):
        explainer.explain_many(WORLD.iloc[:2], "tree", threshold=0.2, kernel_width=2.0)


def test_another_familys_parameter_is_refused_naming_what_the_family_takes():
    """Parameters given to the wrong family said only "Invalid parameters"."""
    explainer = TabularExplainer(MODEL, WORLD, n_samples=150)
    with pytest.raises(ParameterError) as info:
        explainer.explain(WORLD.iloc[0], surrogate="tree", max_rules=5)
    message = str(info.value)
    assert "surrogate='tree' does not take max_rules: it is a parameter of surrogate='rules'" in (
        message
    )
    assert (
        "surrogate='tree' takes max_depth, min_leaf_weight, n_bootstrap, max_features "
        "(its size is set by max_depth" in message
    )
    with pytest.raises(ParameterError, match="does not take max_depht: no family takes it"):
        explainer.explain(WORLD.iloc[0], surrogate="rules", max_depht=2)


@pytest.mark.parametrize("family", ["tree", "rules"])
def test_max_features_caps_the_features_a_tree_or_rule_list_may_test(family):
    """explain(row, surrogate="tree", max_features=5) was refused as "Invalid parameters"."""
    explainer = TabularExplainer(MODEL, WORLD, n_samples=400)
    size = {"max_depth": 3} if family == "tree" else {"max_rules": 5}
    free = explainer.explain(WORLD.iloc[0], family, **size)

    def features_in_rules(exp) -> set[str]:
        return {c.feature for rule in exp.content.rules for c in rule.conditions}

    assert len(features_in_rules(free)) > 2  # the unrestricted surrogate tests more features than the cap
    capped = explainer.explain(WORLD.iloc[0], family, max_features=2, **size)
    assert features_in_rules(capped) == set(free.top_features(2))  # the two that lowered the error most
    assert {n for n, v in capped.content.importances.items() if v > 0} <= features_in_rules(capped)
    assert capped.meta.surrogate["max_features"] == 2
    assert capped.fidelity.r2 is not None  # measured as every surrogate is
    # no cap, or one the surrogate does not reach, is the surrogate as it was, recorded so
    assert "max_features" not in free.meta.surrogate
    wide = explainer.explain(WORLD.iloc[0], family, max_features=len(WORLD.columns), **size)
    assert wide.content == free.content
    with pytest.raises(ParameterError, match="max_features"):
        explainer.explain(WORLD.iloc[0], family, max_features=0, **size)


def test_global_explanation_prints_in_words_and_as_html():
    explainer = TabularExplainer(MODEL, WORLD, n_samples=150)
    glob = explainer.explain_global(WORLD, "rules")
    assert str(glob) == glob.to_text() and "Rule predictions in log-odds" in str(glob)
    assert repr(glob).startswith("<GlobalExplanation: rules surrogate of '1', held-out R^2")
    html = glob._repr_html_()
    assert (
        "held-out R\u00b2" in html
        and "agreement at threshold 0.5" in html
        and "<script" not in html
    )
