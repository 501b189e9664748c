"""The deletion check of text and image explanations: deletion and insertion along the
explanation's own ranking against random rankings, scored in one stacked call per chunk."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from surrogate import ImageExplainer, TabularExplainer, TextExplainer
from surrogate.errors import ParameterError
from surrogate.explain import faithfulness as check
from surrogate.explanation import Explanation, ImageExplanation
from surrogate.surrogates.auto import CHECKED_LADDER
from surrogate.surrogates.base import LinearContent, LinearTerm

#: the patch the model reads: pixels (2..3, 5..6) of an 8 x 8 image, per-pixel segments 21, 22, 29, 30
PATCH = (slice(2, 4), slice(5, 7))
PATCH_SEGMENTS = {21, 22, 29, 30}
DIGIT = np.random.default_rng(0).random((8, 8)) * 0.5 + 0.5


class PatchModel:
    """P(class 1) rises with the brightness of one 2 x 2 patch; counts its calls."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.sizes.append(len(images))
        x = np.asarray(images, dtype=np.float64)
        p = 1 / (1 + np.exp(-(6 * x[:, PATCH[0], PATCH[1]].mean(axis=(1, 2)) - 3)))
        return np.stack([1 - p, p], axis=1)


def patch_explainer(model=None, **options):
    return ImageExplainer(model or PatchModel(), target=1, n_samples=600, **options)


@pytest.fixture(scope="module")
def patch_explanation():
    return patch_explainer().explain(DIGIT)


def test_the_patch_comes_first_and_its_deletion_beats_random(patch_explanation):
    exp = patch_explanation
    assert set(exp.top_features(4)) == PATCH_SEGMENTS
    figure = exp.faithfulness
    # the four patch pixels are the first 1/16 of 64 components: deletion falls to 0 at once
    assert figure.deletion_curve[:2] == (1.0, 0.0) and figure.deletion == pytest.approx(1 / 32)
    assert figure.insertion == pytest.approx(1 - 1 / 32)
    assert figure.deletion <= figure.random - check.WARNING_MARGIN
    assert not any("Deletion check" in w for w in exp.warnings)
    assert figure.n_rows == check.check_rows() == 61 and figure.steps == check.STEPS


def test_a_random_weight_ranking_does_not_beat_random():
    """The same rows measured along the ranking of random weights: the warning is given."""
    model = PatchModel()
    names = [f"segment {k}" for k in range(64)]
    weights = np.random.default_rng(5).normal(size=64)
    content = LinearContent(
        family="linear",
        intercept=0.0,
        terms=tuple(LinearTerm(n, "present", float(w), None) for n, w in zip(names, weights, strict=True)),
    )
    plan = check.plan(content, names, np.random.SeedSequence(1))
    assert set(plan.order[:4].tolist()).isdisjoint(PATCH_SEGMENTS)
    keep = plan.rows.astype(bool)[:, np.arange(64).reshape(8, 8)]
    outputs = model(np.where(keep, DIGIT[None], 0.0))[:, 1]
    figure, warnings = check.DeletionCheck().measure(float(model(DIGIT[None])[0, 1]), outputs)
    assert figure.deletion > figure.random - check.WARNING_MARGIN
    assert warnings and "Deletion check" in warnings[0]


@pytest.mark.parametrize("family", ["tree", "rules", "additive"])
def test_every_family_ranks_the_patch_by_its_signed_effect(family):
    exp = patch_explainer().explain(DIGIT, family)
    first = check.ranking(exp.content, [f"segment {k}" for k in range(64)])[:1]
    assert set(first.tolist()) <= PATCH_SEGMENTS
    assert exp.faithfulness.deletion <= exp.faithfulness.random - check.WARNING_MARGIN


def test_the_figure_round_trips_through_json(patch_explanation):
    exp = patch_explanation
    again = ImageExplanation.from_json(exp.to_json())
    assert again.faithfulness == exp.faithfulness and again.to_json() == exp.to_json()
    assert Explanation.from_json(exp.to_json()).faithfulness == exp.faithfulness
    assert json.loads(exp.to_json())["schema_version"] == "1.2"


def test_a_schema_1_1_document_reads_without_the_figure(patch_explanation):
    document = json.loads(patch_explanation.to_json())
    document["schema_version"] = "1.1"
    del document["explanation"]["faithfulness"]
    assert ImageExplanation.from_json(json.dumps(document)).faithfulness is None


def test_the_figure_is_shown_beside_r2(patch_explanation):
    assert "Faithfulness: deletion AUC 0.031 (lower is better)" in patch_explanation.to_text()
    markdown = patch_explanation.to_markdown()
    assert "- Faithfulness: deletion AUC 0\\.031" in markdown and "random rankings" in markdown


def test_tables_have_no_figure(logistic_world):
    model, X = logistic_world
    exp = TabularExplainer(model, X, n_samples=400).explain(X.iloc[0])
    assert exp.faithfulness is None and "Faithfulness" not in exp.to_text()


def test_an_output_that_masking_cannot_move_is_not_checked():
    def constant(images):
        return np.full(len(images), 0.3)

    exp = ImageExplainer(constant, mode="regression", n_samples=200).explain(DIGIT)
    assert exp.faithfulness.deletion is None and exp.faithfulness.random is None
    assert "Faithfulness: not checked" in exp.to_text()


def test_the_checks_of_several_queries_are_one_stacked_call():
    model = PatchModel()
    explainer = patch_explainer(model, row_budget=5000)
    images = [DIGIT, DIGIT[::-1], DIGIT[:, ::-1]]
    model.sizes.clear()
    together = explainer.explain_many(images)
    # after the probe calls (3 images or fewer): one call for the three neighbourhoods,
    # one for the three deletion checks
    assert [n for n in model.sizes if n > 3] == [3 * (600 - 61), 3 * 61]
    model.sizes.clear()
    alone = [explainer.explain(image) for image in images]
    assert [n for n in model.sizes if n > 3] == [600 - 61, 61] * 3
    assert [e.to_json() for e in together] == [e.to_json() for e in alone]


def test_the_random_rankings_come_from_the_query_seed():
    first = patch_explainer(random_state=3).explain(DIGIT).faithfulness
    again = patch_explainer(random_state=3).explain(DIGIT).faithfulness
    other = patch_explainer(random_state=4).explain(DIGIT).faithfulness
    assert first == again and first.random_curve != other.random_curve


def test_text_explanations_carry_the_figure():
    def model(texts):
        p = np.array([0.9 if "good" in t.split() else 0.2 for t in texts])
        return np.column_stack([1 - p, p])

    exp = TextExplainer(model, n_samples=300).explain(
        "a good film with a plot that moves slowly from one quiet town to another"
    )
    assert exp.top_features(1) == ["good"]
    assert exp.faithfulness.deletion < exp.faithfulness.random - check.WARNING_MARGIN


def test_n_samples_leaves_room_for_the_check():
    with pytest.raises(Exception, match="n_samples"):
        ImageExplainer(PatchModel(), n_samples=100)


def test_default_segmentation_fits_the_image_size():
    tiny = patch_explainer().explain(DIGIT)
    assert tiny.meta.sampler["segmentation_resolved"] == {
        "method": "grid",
        "options": {"grid_size": [8, 8]},
        "n_segments": 64,
    }
    assert tiny.meta.sampler["baseline"] == "zeros"
    pytest.importorskip("skimage")
    from surrogate.sampling.image import auto_segmentation, segment

    method, options = auto_segmentation(224, 224)
    assert method == "slic"
    from sklearn.datasets import load_sample_image

    photo = load_sample_image("china.jpg")[100:324, 200:424].astype(np.float64)
    labels = segment(photo, "auto", {})
    assert labels.shape == (224, 224) and 10 <= labels.max() + 1 <= 100
    assert auto_segmentation(32, 32) == ("grid", {"grid_size": (8, 8)})


# ---- auto for text and images: chosen by the deletion check ----------------------------------
def test_auto_chooses_by_the_deletion_check_in_one_stacked_call():
    model = PatchModel()
    explainer = ImageExplainer(model, target=1, n_samples=600, row_budget=1000)
    exp = explainer.explain(DIGIT, "auto")
    note = exp.notes[0]
    assert note.startswith("auto chose ") and "by the deletion check" in note
    figures = [float(x) for x in re.findall(r" (\d\.\d{3})", note.split("random rankings")[0])]
    assert exp.faithfulness.deletion == pytest.approx(figures[0], abs=5e-4)
    assert exp.faithfulness.deletion <= min(figures[1:]) + 0.005  # the least deletion AUC
    candidates = len(CHECKED_LADDER)
    # after the probes, the sample in one call, then every candidate's check in one more:
    # n_samples rows in all
    assert model.sizes[-1] == candidates * check.check_rows()
    assert model.sizes[-2] + model.sizes[-1] == 600
    assert exp.meta.n_samples == 600 and exp.meta.surrogate["family"] == "auto"


def test_auto_needs_room_for_every_candidate_check():
    with pytest.raises(ParameterError, match="deletion checks"):
        ImageExplainer(PatchModel(), target=1, n_samples=200).explain(DIGIT, "auto")
