"""Image explanations: known answers, segments and baselines, invariance, JSON, pictures, torch plumbing."""

import io
import random
import sys
from xml.etree import ElementTree

import numpy as np
import pytest

from surrogate import ImageExplainer
from surrogate.errors import (
    DataError,
    DataTypeError,
    DependencyError,
    ExplanationFormatError,
    ParameterError,
    UnknownOptionError,
)
from surrogate.explanation import Explanation, ImageExplanation
from surrogate.sampling.image import (
    as_image,
    baseline_image,
    compose,
    grid_segments,
    masked_images,
    relabel,
    segment,
    to_layout,
)

FAMILIES = ["linear", "tree", "rules", "additive"]
IMAGE = np.random.default_rng(0).random((16, 16))


def corner_model(images):
    """Mean brightness of the top-left 4 x 4 pixels of (n, H, W) or (n, H, W, C) images."""
    return images[:, :4, :4].reshape(len(images), -1).mean(axis=1)


def corner_explainer(**options):
    """The corner model explained as the regression it is (one number in [0, 1] per image
    could also be a probability, so the mode is stated), on a 4 x 4 grid unless told."""
    return ImageExplainer(corner_model, mode="regression", **{"segmentation": "grid", **options})


@pytest.mark.parametrize("family", FAMILIES)
def test_corner_model_puts_the_corner_segment_first(family):
    exp = corner_explainer(n_samples=200, segmentation="grid").explain(IMAGE, family)
    assert exp.top_features(1) == [0]  # grid cell (0, 0): the top-left 4 x 4 pixels
    assert exp.top_feature_names(1) == ["segment 0"]
    assert exp.fidelity.r2 == pytest.approx(1.0)
    assert exp.segments.shape == (16, 16)


def test_slic_segment_of_the_corner_comes_first():
    pytest.importorskip("skimage")
    image = np.zeros((24, 24, 3))
    image[:8, :8] = [1.0, 0.2, 0.2]  # a red square in the corner, its own superpixel
    exp = ImageExplainer(
        lambda x: x[:, :8, :8, 0].mean(axis=(1, 2)),
        mode="regression",
        segmentation="slic",
        n_samples=150,
        baseline="zeros",
        segmentation_options={"n_segments": 9},
    ).explain(image)
    top = exp.top_features(1)[0]
    assert (exp.segments == top)[:8, :8].mean() > 0.9


def test_grid_is_numbered_row_major_from_the_top_left():
    labels = grid_segments(np.zeros((4, 6, 1)), grid_size=(2, 3))
    np.testing.assert_array_equal(labels, [[0, 0, 1, 1, 2, 2]] * 2 + [[3, 3, 4, 4, 5, 5]] * 2)
    uneven = grid_segments(np.zeros((5, 5, 1)), grid_size=(2, 2))
    assert sorted(np.bincount(uneven.ravel())) == [4, 6, 6, 9]


def test_relabel_numbers_segments_by_first_pixel():
    np.testing.assert_array_equal(relabel(np.array([[7, 7, 3], [9, 3, 3]])), [[0, 0, 1], [2, 1, 1]])


def test_baselines():
    pixels = np.arange(16.0).reshape(4, 4, 1)
    labels = grid_segments(pixels, grid_size=(2, 2))
    mean = baseline_image(pixels, labels, "mean", None)
    assert mean[0, 0, 0] == pytest.approx(np.mean([0, 1, 4, 5]))
    assert np.all(baseline_image(pixels, labels, "zeros", None) == 0)
    assert np.all(baseline_image(pixels, labels, 0.5, None) == 0.5)
    blurred = baseline_image(pixels, labels, "blur", 1.0)
    assert blurred.shape == pixels.shape and blurred.std() < pixels.std()
    kept = compose(pixels, mean, labels, np.array([[True, False, False, True]]))[0]
    assert kept[0, 0, 0] == 0.0 and kept[0, 3, 0] == mean[0, 3, 0] and kept[3, 3, 0] == 15.0


# ---- layouts and the model's input ------------------------------------------------------------
def test_callable_gets_batches_in_the_query_layout():
    shapes = []

    def model(images):
        shapes.append(images.shape)
        return corner_model(images)

    rgb = np.random.default_rng(1).random((8, 8, 3)).astype(np.float32)
    exp = ImageExplainer(
        model, mode="regression", n_samples=160, segmentation="grid", grid_size=(2, 2), row_budget=25
    ).explain(rgb)
    assert {s[1:] for s in shapes} == {(8, 8, 3)}
    # one query's 160 rows: 99 sampled and scored first, then the deletion check's 61 after
    # fitting, each from its start in calls of exactly 25 (float32 outputs: a fixed shape),
    # the last call of each filled up
    assert [s[0] for s in shapes[-7:]] == [25] * 7
    assert exp.query["layout"] == "hwc" and exp.query["shape"] == "8x8x3"


def test_image_readers_and_layouts():
    q = as_image(np.ones((3, 5), dtype=np.uint8))
    assert (q.layout, q.pixels.shape, q.dtype) == ("hw", (3, 5, 1), "float64")
    batch = np.zeros((2, 3, 5, 1))
    assert to_layout(batch, "hw", "float32").shape == (2, 3, 5)
    with pytest.raises(DataError, match="NaN"):
        as_image(np.full((4, 4), np.nan))
    with pytest.raises(DataTypeError, match="numpy array"):
        as_image([[1, 2], [3, 4]])


# ---- invariance and round trips ---------------------------------------------------------------
def test_same_explanation_alone_and_in_any_company():
    explainer = corner_explainer(n_samples=200, baseline="mean")
    rng = np.random.default_rng(2)
    images = rng.random((3, 12, 12))
    alone = [explainer.explain(im).to_json() for im in images]
    stacked = [e.to_json() for e in explainer.explain_many(images)]
    reversed_ = [e.to_json() for e in explainer.explain_many(list(images[::-1]))][::-1]
    assert alone == stacked == reversed_


def test_seed_decides():
    first = corner_explainer(n_samples=200, random_state=3).explain(IMAGE).to_json()
    again = corner_explainer(n_samples=200, random_state=3).explain(IMAGE).to_json()
    other = corner_explainer(n_samples=200, random_state=4).explain(IMAGE).to_json()
    assert first == again != other


@pytest.mark.parametrize("family", FAMILIES)
def test_json_round_trip_keeps_segments(family):
    exp = corner_explainer(n_samples=200).explain(IMAGE, family)
    back = ImageExplanation.from_json(exp.to_json())
    assert back == exp and back.to_json() == exp.to_json()
    np.testing.assert_array_equal(back.segments, exp.segments)
    assert Explanation.from_json(exp.to_json()) == exp.explanation
    with pytest.raises(ExplanationFormatError, match="segments"):
        ImageExplanation.from_json(exp.explanation.to_json())


def test_segments_cannot_be_changed_in_place():
    exp = corner_explainer(n_samples=200).explain(IMAGE)
    with pytest.raises(ValueError):
        exp.segments[0, 0] = 5


def test_provenance_records_the_image_set_up():
    exp = corner_explainer(n_samples=200, baseline="blur", blur_sigma=2.0).explain(
        IMAGE
    )
    assert exp.meta.modality == "image" and exp.meta.n_samples == 200
    assert exp.meta.sampler["baseline"] == "blur" and exp.meta.sampler["segmentation_options"] == {
        "grid_size": [4, 4]
    }
    assert len(exp.query["image_sha256"]) == 64


def test_no_global_random_state_is_touched():
    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()
    corner_explainer(n_samples=200).explain(IMAGE)
    assert random.getstate() == py_state and np.array_equal(np.random.get_state()[1], np_state)


# ---- pictures -------------------------------------------------------------------------------
def figure_class():
    return pytest.importorskip("matplotlib.figure").Figure


def test_plot_draws_the_grey_image_the_overlay_the_borders_and_a_colour_bar():
    from surrogate.render.pictures import segment_weights

    exp = corner_explainer(n_samples=200, baseline="zeros").explain(IMAGE, max_features=3)
    fig = exp.plot(image=IMAGE)
    assert isinstance(fig, figure_class())
    ax, bar = fig.axes
    grey, overlay = ax.get_images()
    stretched = (IMAGE - IMAGE.min()) / (IMAGE.max() - IMAGE.min())
    assert np.allclose(grey.get_array(), 0.25 + 0.7 * stretched)  # the image itself, in grey
    tints = np.asarray(overlay.get_array())
    assert tints.shape == (16, 16, 4)
    weights, signed = segment_weights(exp)
    assert signed and weights[0] > 0
    top_left = tints[0, 0]
    assert top_left[0] > top_left[2] and top_left[3] > 0.8  # orange: presence raises the output
    outside = exp.segments == next(label for label in range(16) if label not in weights)
    assert np.all(tints[outside][:, 3] == 0)  # not in the explanation: the image shows through
    # every segment's border: three vertical and three horizontal grid lines, each one run
    halo, border = ax.patches  # one path each, a light line under a dark one
    for lines in (halo.get_path(), border.get_path()):
        assert len(lines.vertices) == 12 and set(lines.vertices[:, 0]) >= {3.5, 7.5, 11.5}
    low, high = bar.get_ylim()
    assert low == pytest.approx(-high) and high == pytest.approx(max(abs(w) for w in weights.values()))
    assert bar.get_ylabel() == "effect of the segment being present (output 'output')"
    title = ax.get_title(loc="left")
    assert "'output': output" in title and "held-out R\u00b2" in title and "Jaccard" in title
    figure = exp.faithfulness
    assert f"deletion AUC {figure.deletion:.3f} vs random {figure.random:.3f}" in title


def test_without_the_image_the_weights_are_drawn_opaque_on_white():
    exp = corner_explainer(n_samples=200, baseline="zeros").explain(IMAGE, max_features=3)
    (overlay,) = exp.plot().axes[0].get_images()
    alphas = np.asarray(overlay.get_array())[..., 3]
    assert set(np.unique(alphas)) == {0.0, 1.0}


def test_plot_draws_into_given_axes_and_checks_the_image_shape():
    plt = pytest.importorskip("matplotlib.pyplot")
    exp = corner_explainer(n_samples=200, baseline="zeros").explain(IMAGE)
    fig, (left, right) = plt.subplots(1, 2)
    try:
        assert exp.plot(ax=left, image=IMAGE) is left and len(left.get_images()) == 2
        assert not right.get_images()
    finally:
        plt.close(fig)
    with pytest.raises(DataError, match="shape"):
        exp.plot(image=np.zeros((5, 5)))
    with pytest.raises(ParameterError, match="ax must be a matplotlib Axes"):
        exp.plot(ax="left")


def test_a_tree_is_drawn_by_importance_from_zero():
    exp = corner_explainer(n_samples=200, baseline="zeros").explain(IMAGE, "tree", max_depth=2)
    ax, bar = exp.plot(image=IMAGE).axes
    assert bar.get_ylim()[0] == 0 and bar.get_ylabel() == "importance in the surrogate"


def test_png_and_svg_are_the_figure_of_plot():
    from surrogate.render.plots import figure_png

    exp = corner_explainer(n_samples=200, baseline="zeros").explain(IMAGE)
    png = exp.to_png(IMAGE)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == exp.to_png(IMAGE) == figure_png(exp.plot(image=IMAGE))
    pil = pytest.importorskip("PIL.Image")
    width, height = pil.open(io.BytesIO(png)).size
    assert width > 400 and height > 300
    svg = exp.to_svg(IMAGE)
    assert svg == exp.to_svg(IMAGE)  # no date, fixed ids
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    # the map (grey image and overlay, composited into one) and the colour bar's gradient
    assert len(root.findall(".//{http://www.w3.org/2000/svg}image")) == 2
    plain = exp._repr_html_()  # the notebook shows the weights alone, on white
    assert plain.startswith("<?xml") and plain != svg
    assert exp.heatmap().shape == (16, 16) and exp.heatmap()[0, 0] > 0
    with pytest.raises(DataError, match="shape"):
        exp.to_png(np.zeros((5, 5)))


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"segmentation": "quickshift"}, UnknownOptionError, "segmentation"),
        ({"segmentation": "slic", "grid_size": (2, 2)}, ParameterError, "grid_size"),
        ({"grid_size": (0, 2)}, ParameterError, "grid_size"),
        ({"baseline": "noise"}, UnknownOptionError, "baseline"),
        ({"blur_sigma": 1.0}, ParameterError, "blur_sigma"),
        ({"row_budget": 0}, ParameterError, "row_budget"),
    ],
)
def test_bad_options_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        corner_explainer(**kwargs)


def test_grid_larger_than_the_image_is_refused():
    with pytest.raises(ParameterError, match="grid_size"):
        corner_explainer(grid_size=(8, 8), n_samples=200).explain(np.zeros((4, 4)))


def test_slic_without_scikit_image_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.segmentation", None)
    with pytest.raises(DependencyError, match=r"scikit-image.*surrogate\[images\]"):
        segment(np.zeros((8, 8, 1)), "slic", {})
    with pytest.raises(DependencyError, match="segmentation='auto' above 64 x 64"):
        segment(np.zeros((65, 65, 1)), "auto", {})


# ---- torch (optional dependency) ---------------------------------------------------------------
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


def corner_cnn(dtype):
    """A fixed (n, C, H, W) -> 2 logits model reading the top-left 4 x 4 pixels; records its inputs."""

    class CornerCNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(4.0, dtype=dtype))
            self.seen = []

        def forward(self, x):
            self.seen.append((x.device.type, x.dtype, tuple(x.shape[1:])))
            score = self.weight * x[:, :, :4, :4].mean(dim=(1, 2, 3)) - 2.0
            return torch.stack([torch.zeros_like(score), score], dim=1)

    return CornerCNN()


@needs_torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_inputs_arrive_on_the_model_device_and_dtype(device, dtype):
    module = corner_cnn(getattr(torch, dtype)).to(device).eval()
    before = module.weight.detach().clone()
    image = torch.rand((3, 16, 16), generator=torch.Generator().manual_seed(0)).to(device)
    exp = ImageExplainer(module, torch_output="logits", n_samples=200, segmentation="grid").explain(
        image
    )
    assert exp.top_features(1) == [0] and exp.query["layout"] == "chw"
    assert set(module.seen) == {(torch.device(device).type, getattr(torch, dtype), (3, 16, 16))}
    assert module.weight.device.type == torch.device(device).type and torch.equal(
        module.weight.detach(), before
    )


@needs_torch
def test_torch_channels_last_query_is_fed_channels_first():
    module = corner_cnn(torch.float32).eval()
    ImageExplainer(module, torch_output="logits", n_samples=160).explain(
        np.random.default_rng(0).random((12, 12, 2))
    )
    assert {s[2] for s in module.seen} == {(2, 12, 12)}


@needs_torch
def test_torch_float32_model_same_alone_and_together():
    explainer = ImageExplainer(
        corner_cnn(torch.float32).eval(), torch_output="logits", n_samples=200, row_budget=30
    )
    images = torch.rand((3, 1, 8, 8), generator=torch.Generator().manual_seed(1))
    assert [explainer.explain(im).to_json() for im in images] == [
        e.to_json() for e in explainer.explain_many(images)
    ]


@needs_torch
def test_torch_model_is_checked_when_the_explainer_is_built():
    from surrogate.errors import ModelError

    with pytest.raises(ModelError, match="training mode"):
        ImageExplainer(corner_cnn(torch.float32).train(), torch_output="logits")
    with pytest.raises(ParameterError, match="torch_output"):
        ImageExplainer(corner_cnn(torch.float32).eval())


@needs_torch
def test_demo_cnn_smoke():
    from surrogate.demo import deep as demo_models

    state = torch.random.get_rng_state().clone()
    model, helpers = demo_models.train_digits_cnn(seed=0, epochs=1)
    assert torch.equal(state, torch.random.get_rng_state()) and not model.training
    with demo_models.one_thread():
        exp = ImageExplainer(model, torch_output="logits", n_samples=200, segmentation="grid").explain(
            helpers.images[0]
        )
    assert exp.segments.shape == (8, 8) and exp.meta.target in {str(d) for d in range(10)}
    assert exp.fidelity.r2 is not None


@needs_torch
def test_digit_demo_and_its_index_check():
    from surrogate.demo.deep import explain_digit_demo

    exp = explain_digit_demo(3, n_bootstrap=5)
    assert exp.segments.shape == (8, 8) and exp.meta.link == "logit"
    assert exp.meta.target == "digit 3" and set(exp.outputs) == {f"digit {d}" for d in range(10)}
    assert exp.to_text() and exp.to_markdown() and ImageExplanation.from_json(exp.to_json()) == exp
    with pytest.raises(ParameterError, match="index"):
        explain_digit_demo(5000)


def test_a_baseline_equal_to_the_image_is_refused():
    def model(images):
        x = np.asarray(images, dtype=float).reshape(len(images), -1)
        p = 1 / (1 + np.exp(-(x[:, :4].sum(axis=1) - 2)))
        return np.stack([1 - p, p], axis=1)

    image = np.random.default_rng(0).random((8, 8))
    explainer = ImageExplainer(model, n_samples=200, segmentation="grid", grid_size=(8, 8), baseline="mean")
    with pytest.raises(ParameterError, match="masking changes nothing the model sees"):
        explainer.explain(image)
    zeros = ImageExplainer(model, n_samples=200, segmentation="grid", grid_size=(8, 8), baseline="zeros")
    assert set(zeros.explain(image).top_features(4)) == {0, 1, 2, 3}


def test_a_constant_neighbourhood_reports_no_stability_figure():
    def constant(images):
        return np.tile([0.3, 0.7], (len(images), 1))

    exp = ImageExplainer(constant, n_samples=200, segmentation="grid", grid_size=(4, 4)).explain(
        np.random.default_rng(1).random((8, 8))
    )
    assert exp.fidelity.r2 is None and exp.stability.top_k_jaccard is None
    assert exp.stability.intervals == {} and "stability is not measured" in exp.notes[-1]
    assert "top-5 Jaccard n/a" in exp.to_text()


@pytest.mark.parametrize(
    ("image", "layout"),
    [
        (np.arange(48.0).reshape(6, 8), "hw"),
        (np.arange(144, dtype=np.float32).reshape(6, 8, 3) / 7, "hwc"),
        (np.arange(144, dtype=np.float16).reshape(6, 8, 3), "hwc"),
        (np.arange(96, dtype=np.uint8).reshape(6, 8, 2), "hwc"),
        ("tensor", "chw"),
    ],
)
def test_masked_images_are_the_composed_images_in_the_query_layout(image, layout):
    if isinstance(image, str):
        torch = pytest.importorskip("torch")
        image = torch.arange(96, dtype=torch.float32).reshape(2, 6, 8) / 3
    query = as_image(image)
    assert query.layout == layout
    segments = np.arange(48).reshape(6, 8) % 5
    background = np.full_like(query.pixels, 0.3)
    keep = np.random.default_rng(0).random((7, 5)) < 0.5
    expected = to_layout(compose(query.pixels, background, segments, keep), layout, query.dtype)
    got = masked_images(query, background, segments, keep)
    assert got.dtype == expected.dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
