"""class_names= of the text and image explainers: the names replace the outputs' names in the
explanation (target, outputs, every rendering, the JSON), and bad names are refused."""

import numpy as np
import pytest

from surrogate import ImageExplainer, TextExplainer
from surrogate.blackbox import CallableBlackBox
from surrogate.errors import ParameterError
from surrogate.explanation import ImageExplanation, TextExplanation

SENTENCE = "a good film with a dull plot"


def sentiment(texts):
    p = np.array([0.9 if "good" in t.split() else 0.2 for t in texts])
    return np.column_stack([1 - p, p])


def bright_corner(images):
    """Three classes from the top-left corner's brightness."""
    corner = np.asarray(images)[:, :4, :4].reshape(len(images), -1).mean(axis=1)
    logits = np.column_stack([np.zeros_like(corner), 4 * corner - 2, 2 - 4 * corner])
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


IMAGE = np.random.default_rng(0).random((8, 8))


def test_names_replace_the_output_names_everywhere():
    exp = TextExplainer(sentiment, n_samples=150, class_names=["negative", "positive"]).explain(
        SENTENCE
    )
    assert exp.meta.target == "positive"  # a binary classifier's default: its second output
    assert list(exp.outputs) == ["negative", "positive"]
    assert exp.outputs["positive"] == pytest.approx(0.9)
    assert "log-odds of 'positive'" in exp.to_text()
    assert "Explanation of positive" in exp.to_markdown()
    assert "&#x27;positive&#x27;: probability 0.900 · linear surrogate" in exp.to_html()
    again = TextExplanation.from_json(exp.to_json())
    assert again == exp and again.meta.target == "positive" and again.to_text() == exp.to_text()


def test_without_names_the_outputs_keep_their_positions():
    exp = TextExplainer(sentiment, n_samples=150).explain(SENTENCE)
    assert exp.meta.target == "1" and list(exp.outputs) == ["0", "1"]


def test_a_mapping_names_outputs_by_label_and_target_takes_a_name_or_a_position():
    by_label = {0: "negative", "1": "positive"}
    named = TextExplainer(sentiment, n_samples=150, class_names=by_label, target="negative")
    assert named.explain(SENTENCE).meta.target == "negative"
    by_position = TextExplainer(sentiment, n_samples=150, class_names=by_label, target=0)
    assert by_position.explain(SENTENCE).outputs == named.explain(SENTENCE).outputs
    with pytest.raises(ParameterError, match="not one of the model's outputs"):
        TextExplainer(sentiment, n_samples=150, class_names=by_label, target="1")


def test_image_names_reach_the_picture_and_the_json():
    names = ["dark", "bright", "dim"]
    explainer = ImageExplainer(
        bright_corner, n_samples=200, baseline="zeros", class_names=names, target="bright"
    )
    exp = explainer.explain(IMAGE)
    assert exp.meta.target == "bright" and set(exp.outputs) == set(names)
    assert "Explanation of 'bright'" in exp.to_text()
    assert ImageExplanation.from_json(exp.to_json()) == exp


def test_names_do_not_change_what_is_explained():
    plain = ImageExplainer(bright_corner, n_samples=200, baseline="zeros", target=1).explain(IMAGE)
    named = ImageExplainer(
        bright_corner, n_samples=200, baseline="zeros", target=1, class_names=["a", "b", "c"]
    ).explain(IMAGE)
    assert named.explanation.content == plain.explanation.content
    assert named.fidelity == plain.fidelity
    assert named.meta.model_fingerprint == plain.meta.model_fingerprint


def test_the_users_adapter_keeps_its_names():
    adapter = CallableBlackBox(
        sentiment, mode="classification", row_budget=100, probe_rows=["a", "good"]
    )
    exp = TextExplainer(adapter, n_samples=150, class_names=["negative", "positive"]).explain(
        SENTENCE
    )
    assert exp.meta.target == "positive" and adapter.output_names == ("0", "1")


@pytest.mark.parametrize(
    ("class_names", "match"),
    [
        ("positive", "sequence of names"),
        (3, "sequence of names"),
        ([], "at least one"),
        (["negative", ""], "non-empty strings"),
        ([0, 1], "non-empty strings"),
        (["same", "same"], "distinct"),
        ({0: "same", 1: "same"}, "distinct"),
        ({0: "a", "0": "b"}, "twice"),
    ],
)
def test_bad_names_are_refused_when_the_explainer_is_built(class_names, match):
    with pytest.raises(ParameterError, match=f"class_names.*{match}|{match}.*class_names"):
        TextExplainer(sentiment, n_samples=150, class_names=class_names)


@pytest.mark.parametrize(
    ("class_names", "match"),
    [
        (["only one"], r"1 name\(s\) \['only one'\] but the model has 2 outputs \['0', '1'\]"),
        (["a", "b", "c"], "3 name"),
        ({0: "negative"}, r"leaves out \['1'\]"),
        ({0: "a", 1: "b", 2: "c"}, r"does not have: \['2'\]"),
    ],
)
def test_names_that_do_not_fit_the_outputs_are_refused(class_names, match):
    with pytest.raises(ParameterError, match=match):
        TextExplainer(sentiment, n_samples=150, class_names=class_names)


def test_image_names_are_checked_against_the_outputs_at_the_first_query():
    explainer = ImageExplainer(bright_corner, n_samples=200, baseline="zeros", class_names=["a"])
    with pytest.raises(ParameterError, match="3 outputs"):
        explainer.explain(IMAGE)


def test_a_regression_has_no_classes_to_name():
    def brightness(images):
        return np.asarray(images).reshape(len(images), -1).mean(axis=1)

    explainer = ImageExplainer(
        brightness, mode="regression", n_samples=200, baseline="zeros", class_names=["bright"]
    )
    with pytest.raises(ParameterError, match="regression"):
        explainer.explain(IMAGE)
