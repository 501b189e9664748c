"""Text explanations: known answers for every family, tokens and masks, invariance, HTML, torch plumbing."""

import json
import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import html_tags

from surrogate import TextExplainer
from surrogate.errors import (
    DataError,
    DataTypeError,
    ModelOutputError,
    ParameterError,
    UnknownOptionError,
)
from surrogate.explanation import Explanation, TextExplanation
from surrogate.sampling.text import (
    KeepMaskSampler,
    check_tokenizer,
    perturbed_texts,
    text_layout,
)

FAMILIES = ["linear", "tree", "rules", "additive"]
SENTENCE = "The plot was not good, but the acting was great."


def one_word_model(word: str = "good"):
    """Positive-class probability 0.85 when ``word`` is in the text, 0.1 otherwise."""

    def model(texts):
        p = np.array([0.85 if word in re.findall(r"\w+", t) else 0.1 for t in texts])
        return np.column_stack([1 - p, p])

    return model


@pytest.mark.parametrize("family", FAMILIES)
def test_one_word_model_puts_that_word_first(family):
    exp = TextExplainer(one_word_model("great"), n_samples=300).explain(SENTENCE, family)
    assert exp.top_features(1) == ["great"]
    assert exp.fidelity.r2 == pytest.approx(1.0)
    assert exp.prediction == pytest.approx(0.85)


def test_linear_weight_is_the_effect_of_presence():
    exp = TextExplainer(one_word_model("not"), n_samples=300, link="identity").explain(
        SENTENCE, max_features=3
    )
    term = exp.content.terms[0]
    assert (term.feature, term.value) == ("not", "present")
    assert term.weight == pytest.approx(0.75)
    assert exp.content.intercept == pytest.approx(0.85)


def test_rules_read_as_presence():
    exp = TextExplainer(one_word_model("great"), n_samples=300).explain(SENTENCE, "tree")
    conditions = {str(c) for rule in exp.content.rules for c in rule.conditions}
    assert conditions <= {
        "great in {present}",
        "great in {absent}",
        "great not in {present}",
        "great not in {absent}",
    }


def test_sklearn_pipeline_signs_follow_its_coefficients():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["good film", "bad film", "good plot", "bad plot", "great film", "awful plot"] * 5
    labels = [1, 0, 1, 0, 1, 0] * 5
    pipeline = make_pipeline(CountVectorizer(), LogisticRegression()).fit(texts, labels)
    exp = TextExplainer(pipeline, n_samples=200).explain("a good film with a bad plot")
    weights = {t.feature: t.weight for t in exp.content.terms}
    assert weights["good"] > 0 > weights["bad"]
    assert set(exp.top_features(2)) == {"good", "bad"}


# ---- tokens, components and masks ----------------------------------------------------------------
def test_default_tokens_keep_inner_apostrophes_and_skip_punctuation():
    layout = text_layout("I don't like it, really!", check_tokenizer(None), "bag")
    assert [t.text for t in layout.tokens] == ["I", "don't", "like", "it", "really"]


def test_bag_groups_repeated_words_and_position_does_not():
    bag = text_layout("good good bad", check_tokenizer(None), "bag")
    position = text_layout("good good bad", check_tokenizer(None), "position")
    assert bag.names == ("good", "bad") and bag.component_of == (0, 0, 1)
    assert position.names == ("good@0", "good@1", "bad@2")


def test_removal_takes_the_following_space_and_replacement_keeps_it():
    layout = text_layout("This is not good.", check_tokenizer(None), "position")
    keep = np.array([[1, 1, 0, 1], [1, 1, 1, 0]], dtype=bool)
    assert perturbed_texts(layout, keep, "remove") == ["This is good.", "This is not ."]
    assert perturbed_texts(layout, keep, "[UNK]") == ["This is [UNK] good.", "This is not [UNK]."]


def test_custom_tokenizers():
    assert [t.text for t in text_layout("a-b c", check_tokenizer(r"[^ ]+"), "bag").tokens] == [
        "a-b",
        "c",
    ]
    assert [
        t.text for t in text_layout("a-b c", check_tokenizer(lambda s: s.split("-")), "bag").tokens
    ] == ["a", "b c"]
    with pytest.raises(DataError, match="does not occur"):
        text_layout("a b", check_tokenizer(lambda s: ["b", "a"]), "bag")


def test_sampler_keeps_half_and_z_is_zero_at_the_query():
    hood = KeepMaskSampler().sample(np.ones(8), 4000, np.random.SeedSequence(1))
    assert hood.values.mean() == pytest.approx(0.5, abs=0.02)
    np.testing.assert_array_equal(hood.z, hood.values - 1)
    np.testing.assert_allclose(hood.distance, np.sqrt(1 - hood.values.mean(axis=1)))


def test_position_explanation_and_replacement_reach_the_model():
    seen = []

    def model(texts):
        seen.extend(texts)
        return one_word_model("good")(texts)

    exp = TextExplainer(
        model, n_samples=200, representation="position", mask="[MASK]", probe_texts=["x y z"]
    ).explain("good good bad")
    assert exp.top_features(1)[0] in {"good@0", "good@1"}
    assert any("[MASK]" in t for t in seen) and all(len(t.split()) == 3 for t in seen)
    assert exp.meta.sampler["mask"] == "[MASK]" and exp.meta.sampler["representation"] == "position"


# ---- invariance and round trips -----------------------------------------------------------------
def test_same_explanation_alone_and_in_any_company():
    explainer = TextExplainer(one_word_model("good"), n_samples=200)
    texts = ["a good day", SENTENCE, "nothing good here at all"]
    alone = [explainer.explain(t).to_json() for t in texts]
    together = [e.to_json() for e in explainer.explain_many(texts)]
    reversed_ = [e.to_json() for e in explainer.explain_many(texts[::-1])][::-1]
    assert alone == together == reversed_


def test_seed_decides_and_chunking_does_not():
    model = one_word_model("not")
    first = TextExplainer(model, n_samples=200, random_state=4).explain(SENTENCE).to_json()
    again = (
        TextExplainer(model, n_samples=200, random_state=4, row_budget=7)
        .explain(SENTENCE)
        .to_json()
    )
    other = TextExplainer(model, n_samples=200, random_state=5).explain(SENTENCE).to_json()
    assert first == again
    assert (
        json.loads(first)["explanation"]["meta"]["query_digest"]
        == json.loads(other)["explanation"]["meta"]["query_digest"]
    )
    assert first != other


def test_same_json_in_another_process():
    code = (
        "import numpy as np\nfrom surrogate import TextExplainer\n"
        "m = lambda t: np.array([[0.2 + 0.5 * ('good' in s)] for s in t])\n"
        "print(TextExplainer(m, mode='regression', n_samples=200).explain('not a good film').to_json())\n"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1] and outputs[0].startswith("{")


@pytest.mark.parametrize("family", FAMILIES)
def test_json_round_trip(family):
    exp = TextExplainer(one_word_model("good"), n_samples=150).explain('so good & "fine"', family)
    back = TextExplanation.from_json(exp.to_json())
    assert back == exp and back.to_json() == exp.to_json()
    assert back.tokens == exp.tokens
    assert Explanation.from_json(exp.to_json()) == exp.explanation  # the core reads on its own


def test_record_explains_the_rest_and_lists_failures():
    many = TextExplainer(one_word_model(), n_samples=200).explain_many(
        ["good one", "...", "bad"], on_error="record"
    )
    assert many.indices == [0, 2]
    assert [(f.index, f.error) for f in many.failures] == [(1, "DataError")]
    assert list(many.to_frame()["feature_1"])[0] == "good"


def test_no_global_random_state_is_touched():
    np_state, py_state = np.random.get_state(), random.getstate()
    TextExplainer(one_word_model(), n_samples=200).explain("good stuff")
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert (
        np_state[0] == after[0]
        and np.array_equal(np_state[1], after[1])
        and np_state[2:] == after[2:]
    )


def test_non_deterministic_model_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ModelOutputError, match="not deterministic"):
        TextExplainer(lambda t: rng.random(len(t)), mode="regression", n_samples=200).explain("any text")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"representation": "chars"}, UnknownOptionError, "representation"),
        ({"mask": " "}, ParameterError, "mask"),
        ({"tokenizer": "("}, ParameterError, "tokenizer"),
        ({"n_samples": 10}, ParameterError, "n_samples"),
        ({"keep_probability": 1.0}, ParameterError, "keep_probability"),
        ({"probe_texts": "one"}, ParameterError, "probe_texts"),
    ],
)
def test_bad_options_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        TextExplainer(one_word_model(), **kwargs)


def test_bad_queries_are_named():
    explainer = TextExplainer(one_word_model(), n_samples=200)
    with pytest.raises(DataTypeError, match="str"):
        explainer.explain(["a list"])
    with pytest.raises(DataTypeError, match="list of texts"):
        explainer.explain_many("one text")
    with pytest.raises(DataError, match="no tokens"):
        explainer.explain("?!")


# ---- HTML ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["linear", "rules"])
def test_hostile_text_is_escaped(family):
    hostile = "<script>alert(1)</script> \"quoted\" & 'single' <b>bold</b>"
    exp = TextExplainer(one_word_model("alert"), n_samples=150).explain(hostile, family)
    page = exp._repr_html_()
    assert "<script" not in page and "<b>" not in page
    assert html_tags(page) == {"div", "span"}
    assert "&lt;script&gt;" in page and "&amp;" in page and "&quot;quoted&quot;" in page
    assert 'title="alert: ' in page


def test_html_escapes_feature_names_in_titles():
    exp = TextExplainer(one_word_model("a"), n_samples=200, tokenizer=r"\S+").explain('a"<x> b')
    page = exp.to_html()
    assert "<x>" not in page and "&lt;x&gt;" in page and 'a"' not in page.split("title=")[1][:10]


# ---- figure --------------------------------------------------------------------------------------
def test_plot_draws_a_bar_per_word_under_the_caption_and_the_text():
    figure = pytest.importorskip("matplotlib.figure")
    explainer = TextExplainer(
        one_word_model("great"), n_samples=300, class_names=["negative", "positive"]
    )
    exp = explainer.explain(SENTENCE, max_features=3)
    fig = exp.plot()
    assert isinstance(fig, figure.Figure)
    (ax,) = fig.axes
    words = [label.get_text() for label in ax.get_yticklabels()]
    assert words == exp.top_features() and words[0] == "great"
    bars = {word: bar for word, bar in zip(words, reversed(ax.patches), strict=True)}
    great = bars["great"]
    assert great.get_width() == pytest.approx(exp.content.signed_weights()[0]["great"])
    red, _, blue, _ = great.get_facecolor()
    assert red > blue  # orange: "great" raises the positive class
    title = ax.get_title(loc="left")
    assert "'positive': probability 0.850" in title and "held-out R\u00b2" in title
    assert SENTENCE in title.replace("\n", " ")
    assert ax.get_xlabel() == "effect of the word being present (log-odds of 'positive')"


def test_tables_state_slopes_for_presence_not_per_sd():
    pytest.importorskip("matplotlib")
    from surrogate.render.html import explanation_to_html

    exp = TextExplainer(one_word_model("great"), n_samples=200).explain(SENTENCE)
    for page in (exp.to_markdown(), explanation_to_html(exp.explanation)):
        assert "slope (for being present rather than masked out)" in page and "per sd" not in page
    bars = exp.explanation.plot().axes[0]  # the core explanation's slopes
    assert bars.get_xlabel().endswith("; for being present rather than masked out)")


def test_plot_shows_dollars_as_text_and_cuts_long_texts():
    pytest.importorskip("matplotlib")
    text = "It costs $5 and $10, " + "which is a good price " * 30
    exp = TextExplainer(one_word_model("good"), n_samples=200).explain(text, max_features=2)
    fig = exp.plot()
    assert fig._repr_png_().startswith(b"\x89PNG")  # "$5 and $" is not read as a formula
    title = fig.axes[0].get_title(loc="left")
    assert "$5 and $10" in title
    assert title.endswith(f"\u2026\u201d\n(the first 280 of {len(text.strip())} characters)")


def test_plot_draws_into_given_axes():
    plt = pytest.importorskip("matplotlib.pyplot")
    exp = TextExplainer(one_word_model("great"), n_samples=200).explain(SENTENCE, "tree")
    fig, ax = plt.subplots()
    try:
        assert exp.plot(ax=ax) is ax and ax.get_xlabel() == "importance in the surrogate"
    finally:
        plt.close(fig)


# ---- torch (optional dependency) ------------------------------------------------------------------
try:
    import torch
except ImportError:  # pragma: no cover - torch is an optional extra
    torch = None  # type: ignore[assignment]

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(
            torch is None or not torch.cuda.is_available(), reason="no CUDA device"
        ),
    ),
]


def word_counter(dtype):
    """Logits from the count of word id 2 ("good"); records the device and dtype of what it gets."""

    class WordCounter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(3.0, dtype=dtype))
            self.seen = []

        def forward(self, ids):
            self.seen.append((ids.device.type, ids.dtype))
            count = (ids == 2).sum(dim=1).to(self.scale.dtype)
            return torch.stack([torch.zeros_like(count), self.scale * count - 1.0], dim=1)

    return WordCounter()


def encode(texts, device, dtype):
    ids = [[2 if w == "good" else 3 for w in t.split()] or [0] for t in texts]
    width = max(len(r) for r in ids)
    return torch.tensor([r + [0] * (width - len(r)) for r in ids], device=device)


@needs_torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_inputs_arrive_on_the_model_device_and_parameters_stay(device, dtype):
    module = word_counter(getattr(torch, dtype)).to(device).eval()
    before = module.scale.detach().clone()
    exp = TextExplainer(module, torch_output="logits", to_tensor=encode, n_samples=200).explain(
        "a good good film"
    )
    assert exp.top_features(1) == ["good"]
    assert set(module.seen) == {(torch.device(device).type, torch.long)}
    assert module.scale.device.type == torch.device(device).type and module.scale.dtype == getattr(
        torch, dtype
    )
    assert torch.equal(module.scale.detach(), before)


@needs_torch
def test_torch_text_model_needs_to_tensor():
    with pytest.raises(ParameterError, match="to_tensor"):
        TextExplainer(word_counter(torch.float32).eval(), torch_output="logits")


@needs_torch
def test_demo_gru_smoke():
    from surrogate.demo import deep as demo_models

    state = torch.random.get_rng_state().clone()
    model, helpers = demo_models.train_sentiment_gru(seed=0, epochs=1)
    assert torch.equal(state, torch.random.get_rng_state())
    assert not model.training
    assert helpers.test_accuracy > 0.6  # one epoch already beats chance (0.5) on held-out sentences
    with demo_models.one_thread():
        exp = TextExplainer(
            model, torch_output="logits", to_tensor=helpers.to_tensor, n_samples=200
        ).explain("The food was not good at all.")
    assert exp.meta.modality == "text" and exp.fidelity.r2 is not None
    with torch.inference_mode():
        logits = model(helpers.to_tensor(["The food was not good at all."]))
    # the explained output is the model's own probability of the positive class at the query
    assert exp.prediction == pytest.approx(torch.softmax(logits, dim=1)[0, 1].item(), abs=1e-6)
    assert model(helpers.to_tensor([""])).shape == (1, 2)  # an empty text is one padding token


@needs_torch
def test_sentence_demo_renders_in_every_cli_format():
    from surrogate.demo.deep import explain_sentence_demo

    exp = explain_sentence_demo("The food was not good at all.", n_bootstrap=5)
    assert exp.meta.link == "logit" and exp.meta.target == "positive"
    assert set(exp.outputs) == {"negative", "positive"}
    assert "not" in exp.to_text() and exp.to_markdown()
    assert TextExplanation.from_json(exp.to_json()) == exp
