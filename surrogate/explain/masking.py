"""Text and images: explainers that mask parts of the query and hand it to the one pipeline.

Both explainers prepare their queries for the pipeline of :mod:`.pipeline`, the
same one tables use: per query, seeds come from ``(random_state, the query's own
content)`` — the text, or a SHA-256 of the image's layout, shape and pixels —
and one block of ``n_samples`` rows is scored::

    [query, n_fit - 1 masked rows | n_holdout held-out rows | query again]

The held-out rows come from an independent seed stream and give the fidelity;
the query is scored twice to detect a non-deterministic model.

Queries share model calls: whole queries' rows (of the same input shape) are
stacked in calls of at most ``row_budget`` rows (by default
:func:`~surrogate.blackbox.default_shared_budget`: for a model scored in calls of a
fixed shape, room for :data:`~surrogate.blackbox.QUERIES_PER_CALL` queries on a GPU and
one on the CPU, where larger calls do not pay; fewer rows for large images). The rows of the deletion checks, scored
after fitting, share their calls the same way, as many checks per call as queries. A model that may round differently
per batch shape (torch modules, functions returning float32) gets calls of exactly
``row_budget`` rows, the last one filled up with copies of a row whose outputs are
dropped: a query meets the model in calls of the same shape alone or in any
company, so its explanation is byte-identical alone or in ``explain_many``, as long
as the model computes each row from that row alone (the rule, and what was
measured, are in :meth:`~surrogate.blackbox.BlackBox.predict_blocks`; a text model's
``to_tensor`` must not let the other texts change how a text is read). Each query has its
own components (words, segments), hence its own features, and the surrogate
family (linear, tree, rules) is fitted per query.

The interpretable features are presence indicators (see
:mod:`surrogate.sampling.text`): a linear weight is the effect of the word or
segment being present; trees and rule lists read ``not in {present}`` /
``good in {present}`` over the categories ``("absent", "present")``.

Results are :class:`~surrogate.explanation.TextExplanation` and
:class:`~surrogate.explanation.ImageExplanation`: the core explanation plus the
query's layout (tokens, segment labels) that renderers need.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .. import _version
from .._validation import Interval, check
from ..blackbox import DEFAULT_ROW_BUDGET, Target, as_blackbox, default_shared_budget
from ..errors import DataTypeError, ParameterError, SurrogateError
from ..explanation import Explanation, ExplanationSet, Failure
from ..explanation.masking import ImageExplanation, TextExplanation
from ..kernels import check_kernel
from ..sampling import image as img
from ..sampling import text as txt
from ..schema import FeatureSchema
from ..surrogates import make_surrogate
from ..surrogates.base import Content
from .class_names import check_class_names, with_class_names
from .faithfulness import DeletionCheck
from .pipeline import (
    DEFAULT_HOLDOUT_SHARE,
    HOLDOUT_SHARE,
    MAX_SAMPLES,
    MIN_SAMPLES,
    ON_ERROR,
    ROW_BUDGET,
    Query,
    Run,
    Scorer,
    Size,
    explain_queries,
    resolve_link,
)
from .seeding import Reseedable, entropy_of, root_sequence

#: texts the model is probed with (output names, fingerprint) when probe_texts is not given
DEFAULT_PROBE_TEXTS = ("a", "a short probe text")
#: an image explanation's default n_samples: on 20 demo digits (64 one-pixel segments, zero
#: baseline, every segment weighed) 1,000 and 2,000 rows gave the same FaithfulnessCorrelation
#: (0.80) and deletion curve; 2,000 leaves 15 fitting rows per segment at the auto
#: segmentation's largest count (100 pixels), where 1,000 would leave 7
DEFAULT_IMAGE_SAMPLES = 2000
#: surrogate parameters text and image explanations default to, per family: a linear map
#: gives every word or segment its weight (max_features=None), so the explanation's
#: ranking covers all of them and the deletion check follows it to the end
MASKING_DEFAULTS: dict[str, dict[str, Any]] = {"linear": {"max_features": None}}


# ---- one query, ready for the pipeline ---------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    """A query cut into components, with how to turn keep-masks into model inputs."""

    readable: dict[str, float | str | None]
    names: tuple[str, ...]
    render: Callable[[np.ndarray], Any]  # keep masks (n, d) -> rows the model eats
    layout: Any  # TextLayout, or (ImageQuery, segments, resolved segmentation record)
    adapter_key: Any


class _MaskingExplainer(Reseedable, ABC):
    """What text and image explainers share: options, adapters, and their hooks of the pipeline."""

    modality = "masking"
    #: the pipeline's hook after fitting: deletion and insertion along the ranking
    faithfulness_check = DeletionCheck()

    def __init__(
        self,
        model: Any,
        *,
        mode: Any,
        target: Any,
        n_samples: int,
        keep_probability: float,
        kernel: str,
        kernel_width: float | None,
        link: str | None,
        holdout_share: float,
        row_budget: int | None,
        random_state: Any,
        torch_output: Any,
        to_tensor: Any,
        allow_training_mode: bool,
        class_names: Any,
    ) -> None:
        self.model = model
        self.mode = mode
        self.target_spec = target
        self.sampler = txt.KeepMaskSampler(keep_probability=keep_probability)
        self.kernel, self.kernel_width = check_kernel(kernel, kernel_width)
        self.link_name = link
        self.holdout_share = check("holdout_share", holdout_share, HOLDOUT_SHARE)
        self.n_samples = check("n_samples", n_samples, self._sample_limits())
        self.size = Size.of(
            self.n_samples, self.holdout_share, n_check=self.faithfulness_check.rows()
        )
        self.n_holdout, self.n_fit = self.size.n_holdout, self.size.n_fit
        self.row_budget = check("row_budget", row_budget, ROW_BUDGET, None)
        self.root = root_sequence(random_state)
        self.torch_output = torch_output
        self.to_tensor = to_tensor
        self.allow_training_mode = allow_training_mode
        self.class_names = check_class_names(class_names)

    def _sample_limits(self) -> Interval:
        """n_samples must leave MIN_SAMPLES rows besides the deletion check's."""
        return Interval(int, MIN_SAMPLES + self.faithfulness_check.rows(), MAX_SAMPLES)

    # ---- modality hooks ----------------------------------------------------------------------
    @abstractmethod
    def _prepare(self, query: Any) -> _Prepared:
        """Modality hook (text, image)."""

    @abstractmethod
    def _scorer(self, prepared: _Prepared) -> Scorer:
        """Modality hook (text, image)."""

    @abstractmethod
    def _wrap(self, explanation: Explanation, layout: Any) -> Any:
        """Modality hook (text, image)."""

    @abstractmethod
    def _queries(self, queries: Any) -> list[Any]:
        """Modality hook (text, image)."""

    def sampler_params(self) -> dict[str, Any]:
        return self.sampler.params()

    def identity(self) -> dict[str, Any]:
        """What fixes this explainer's explanations, besides the query, its model adapter
        (one per input shape) and the surrogate; each explanation's provenance reads it."""
        return {
            "library_version": _version.__version__,
            "modality": self.modality,
            "sampler": self.sampler_params(),
            "kernel": {"name": self.kernel, "width": self.kernel_width},
            "link": self.link_name,
            "holdout_share": self.holdout_share,
            "sampling": {"n_samples": self.n_samples},
            "random_state_entropy": entropy_of(self.root),
            "random_state_spawn_key": [int(k) for k in self.root.spawn_key],
        }

    # ---- what masking adds to the pipeline -----------------------------------------------------
    def finish_content(self, content: Content) -> Content:
        return content

    def share_outside(self, values: np.ndarray) -> float:
        return 0.0  # masking only removes parts of the query: nothing leaves a training range

    def query_notes(self, query: Query) -> tuple[str, ...]:
        return ()

    def query_warnings(self, query: Query, size: Size) -> tuple[str, ...]:
        n_components = len(query.z_names)
        if n_components * 4 > size.n_fit:
            return (
                f"The query has {n_components} components but only {size.n_fit} fitting rows "
                "(fewer than 4 per component): raise n_samples, or use fewer components "
                "(representation='bag', a coarser segmentation).",
            )
        return ()

    # ---- public API ------------------------------------------------------------------------
    def explain_many(
        self,
        queries: Any,
        surrogate: Any = "linear",
        *,
        on_error: Literal["raise", "record"] = "raise",
        **params: Any,
    ) -> ExplanationSet:
        """Explain every query; each gets the explanation it would get alone.

        The neighbourhoods of queries that share a model adapter are scored in shared
        calls. ``on_error="record"`` goes on past a query that cannot be explained and
        lists it in ``.failures``; the default raises.
        """
        check("on_error", on_error, ON_ERROR)
        family = make_surrogate(surrogate, **_with_masking_defaults(surrogate, params))
        prepared, failures = self._prepare_all(self._queries(queries), on_error)
        done, failed = explain_queries(self, prepared, self._size_for(family), Run(family, on_error))
        layouts = {q.index: q.layout for q in prepared}
        done.sort(key=lambda pair: pair[0])
        return ExplanationSet(
            [self._wrap(e, layouts[i]) for i, e in done],
            indices=[i for i, _ in done],
            failures=sorted(failures + failed, key=lambda f: f.index),
        )

    # ---- steps ------------------------------------------------------------------------------
    def _size_for(self, family: Any) -> Size:
        """The rows' split for ``family``: ``auto`` checks each of its candidates, every
        check's rows taken out of ``n_samples``."""
        ladder = getattr(family, "checked_ladder", None)
        if ladder is None:
            return self.size
        n_check = len(ladder()) * self.faithfulness_check.rows()
        size = Size.of(self.n_samples, self.holdout_share, n_check=n_check)
        if size.n_fit < MIN_SAMPLES:
            raise ParameterError(
                f"n_samples={self.n_samples} leaves {size.n_fit} fitting rows once auto's "
                f"{len(ladder())} deletion checks ({n_check} rows) are taken out; expected at "
                f"least {MIN_SAMPLES}: raise n_samples to {self.n_samples + MIN_SAMPLES - size.n_fit}."
            )
        return size

    def _prepare_all(self, queries: list[Any], on_error: str) -> tuple[list[Query], list[Failure]]:
        # scorers are built once per call and input shape, and never stored on the explainer
        scorers: dict[Any, Scorer] = {}
        prepared: list[Query] = []
        failures: list[Failure] = []
        for i, query in enumerate(queries):
            try:
                prepared.append(self._pipeline_query(i, query, scorers))
            except SurrogateError as exc:
                if on_error == "raise":
                    raise
                failures.append(Failure.from_exception(i, exc))
        return prepared, failures

    def _pipeline_query(self, index: int, query: Any, scorers: dict[Any, Scorer]) -> Query:
        prepared = self._prepare(query)
        if prepared.adapter_key not in scorers:
            scorers[prepared.adapter_key] = self._scorer(prepared)
        features = txt.presence_features(prepared.names, self.sampler.keep_probability)
        render = prepared.render
        return Query(
            index=index,
            row=np.ones(len(prepared.names)),
            readable=prepared.readable,
            scorer=scorers[prepared.adapter_key],
            render=lambda keep: render(keep.astype(bool)),
            features=features,
            z_names=prepared.names,
            schema_fingerprint=FeatureSchema(features=features).fingerprint(),
            layout=prepared.layout,
        )

    def _build_scorer(
        self, probe: Any, to_tensor: Any, values_per_row: int | None = None
    ) -> Scorer:
        adapter = as_blackbox(
            self.model,
            mode=self.mode,
            row_budget=self.row_budget or DEFAULT_ROW_BUDGET,
            probe_rows=probe,
            torch_output=self.torch_output,
            to_tensor=to_tensor,
            allow_training_mode=self.allow_training_mode,
        )
        if self.row_budget is None and adapter is not self.model:  # never edit a user's adapter
            adapter.row_budget = default_shared_budget(
                adapter, self.size.first_block, values_per_row
            )
        blackbox = with_class_names(adapter, self.class_names)
        return Scorer(
            blackbox=blackbox,
            target=Target.resolve(self.target_spec, blackbox),
            link=resolve_link(self.link_name, blackbox),
            fingerprint=blackbox.fingerprint(probe),
            shared_calls=True,
        )


# ---- text -----------------------------------------------------------------------------------
class TextExplainer(_MaskingExplainer):
    """Explain a text model by removing (or replacing) words and fitting a surrogate.

    Parameters
    ----------
    model : callable, scikit-learn text pipeline or torch ``nn.Module``
        Called on lists of strings (through ``to_tensor`` for torch).
    mode : {"classification", "regression"}, optional
        Inferred from the model when not given.
    target : class label or output index, optional
        Default: the positive class of a binary classifier, the single output of a
        regressor, the class predicted at each query otherwise.
    n_samples : int, default 1000
        Every text the model scores for one query: the fitting sample, the held-out
        texts, the query twice and the 61 texts of the deletion check
        (:class:`~surrogate.fidelity.Faithfulness`, ``exp.faithfulness``). At least 111.
    mask : "remove" or str, default "remove"
        A masked token is removed (with the whitespace after it), or replaced by this token.
    tokenizer : regular expression or callable, optional
        Default :data:`surrogate.sampling.text.TOKEN_PATTERN` (words with inner apostrophes).
    representation : {"bag", "position"}, default "bag"
        Features are distinct words (``not``), or token positions (``good@7``).
    keep_probability : float, default 0.5
        Chance that a sampled text keeps each component.
    kernel, kernel_width, link, holdout_share, random_state
        As for :class:`~surrogate.TabularExplainer`; distances are the square root of
        the share of components masked.
    row_budget : int, optional
        Most texts per model call; default :func:`~surrogate.blackbox.default_shared_budget`
        (one query per call for a torch module on the CPU, four on a GPU, and as many as
        100,000 rows hold for other models).
    probe_texts : sequence of str, optional
        Texts the model is probed with once (output names, fingerprint).
    torch_output : {"logits", "probabilities", "regression"}
        For torch modules: what ``forward`` returns.
    to_tensor : callable ``(texts, device, dtype) -> tensor``
        Required for torch modules: turns a list of strings into the module's input,
        on ``device`` (the module's own).
    class_names : sequence of str or mapping, optional
        Names of a classifier's outputs, in their order (``["negative", "positive"]``),
        or ``{output: name}`` for every output; they name ``meta.target`` and the
        ``outputs`` (see :mod:`surrogate.explain.class_names`).

    Examples
    --------
    >>> import numpy as np
    >>> def model(texts):
    ...     p = np.array([0.9 if "good" in t.split() else 0.2 for t in texts])
    ...     return np.column_stack([1 - p, p])
    >>> exp = TextExplainer(model, n_samples=200).explain("a good film")
    >>> exp.top_features(1)
    ['good']
    """

    modality = "text"

    def __init__(
        self,
        model: Any,
        *,
        mode: Literal["classification", "regression"] | None = None,
        target: Any = None,
        n_samples: int = 1000,
        mask: str = txt.REMOVE,
        tokenizer: txt.Tokenizer = None,
        representation: str = "bag",
        keep_probability: float = 0.5,
        kernel: str = "exponential",
        kernel_width: float | None = None,
        link: str | None = None,
        holdout_share: float = DEFAULT_HOLDOUT_SHARE,
        row_budget: int | None = None,
        random_state: Any = 0,
        probe_texts: Sequence[str] | None = None,
        torch_output: str | None = None,
        to_tensor: Callable[[list[str], Any, Any], Any] | None = None,
        allow_training_mode: bool = False,
        class_names: Sequence[str] | dict[Any, str] | None = None,
    ) -> None:
        super().__init__(
            model,
            mode=mode,
            target=target,
            n_samples=n_samples,
            keep_probability=keep_probability,
            kernel=kernel,
            kernel_width=kernel_width,
            link=link,
            holdout_share=holdout_share,
            row_budget=row_budget,
            random_state=random_state,
            torch_output=torch_output,
            to_tensor=to_tensor,
            allow_training_mode=allow_training_mode,
            class_names=class_names,
        )
        self.mask = txt.check_mask(mask)
        self.tokenizer = txt.check_tokenizer(tokenizer)
        self.representation = txt.check_representation(representation)
        self.probe_texts = _check_probe_texts(probe_texts)
        if _is_torch_module(model) and to_tensor is None:
            raise ParameterError(
                "A torch text model needs to_tensor=, a callable (texts, device, dtype) -> tensor that "
                "tokenises a list of strings into the module's input; got None."
            )
        self._text_scorer = self._build_scorer(self.probe_texts, to_tensor)

    def explain(self, text: str, surrogate: Any = "linear", **params: Any) -> TextExplanation:
        """Explain one text; ``surrogate`` is "linear", "tree" or "rules" (with their parameters)."""
        if not isinstance(text, str):
            raise DataTypeError(
                f"explain() takes one text (str), got {type(text).__name__}; use explain_many() for several."
            )
        return self.explain_many([text], surrogate, **params)[0]

    def _queries(self, texts: Any) -> list[str]:
        if isinstance(texts, str):
            raise DataTypeError(
                "explain_many() takes a list of texts, got one str; use explain() for one text."
            )
        try:
            items = list(texts)
        except TypeError as exc:
            raise DataTypeError(
                f"explain_many() takes a list of texts, got {type(texts).__name__}."
            ) from exc
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise DataTypeError(f"Text {i} must be a str, got {type(item).__name__}.")
        return items

    def _prepare(self, text: str) -> _Prepared:
        layout = txt.text_layout(text, self.tokenizer, self.representation)
        mask = self.mask
        return _Prepared(
            readable={"text": text},
            names=layout.names,
            render=lambda keep: txt.perturbed_texts(layout, keep, mask),
            layout=layout,
            adapter_key="text",
        )

    def _scorer(self, prepared: _Prepared) -> Scorer:
        return self._text_scorer

    def sampler_params(self) -> dict[str, Any]:
        return {
            **self.sampler.params(),
            "mask": self.mask,
            "representation": self.representation,
            "tokenizer": txt.describe_tokenizer(self.tokenizer),
        }

    def _wrap(self, explanation: Explanation, layout: Any) -> TextExplanation:
        return TextExplanation(explanation=explanation, tokens=layout.tokens)


# ---- images ---------------------------------------------------------------------------------
class ImageExplainer(_MaskingExplainer):
    """Explain an image model by replacing segments with a baseline and fitting a surrogate.

    Parameters
    ----------
    model : callable or torch ``nn.Module``
        A callable gets numpy batches in the query's layout (``(n, H, W)``,
        ``(n, H, W, C)``, or ``(n, C, H, W)`` for a tensor query); a torch module gets
        ``(n, C, H, W)`` tensors on its own device and dtype (or ``to_tensor(batch,
        device, dtype)``), scored under ``inference_mode`` in calls of ``row_budget`` images.
    segmentation : {"auto", "grid", "slic"} or callable, default "auto"
        See :mod:`surrogate.sampling.image`. ``"auto"`` fits the image's size: one
        segment per pixel up to 100 pixels (an 8 x 8 digit: 64 segments), an 8 x 8 grid
        up to 64 x 64 pixels, SLIC superpixels above (needs scikit-image, as
        ``"slic"`` does); each explanation records what it resolved to
        (``meta.sampler["segmentation_resolved"]``).
    grid_size : (rows, cols), optional
        Only for ``"grid"``; default (4, 4), segments numbered row-major from the top-left.
    segmentation_options : dict, optional
        Keyword arguments of the segmentation (e.g. ``n_segments`` for SLIC); not with
        ``"auto"``, which chooses its own.
    baseline : {"zeros", "mean", "blur"} or number, default "zeros"
        What a masked segment shows. ``"zeros"`` removes what the segment held; a
        ``"mean"`` segment keeps its average, so most of the ink of a small segment stays
        (and all of it on one-pixel segments, which is refused).
    blur_sigma : float, optional
        Only for ``baseline="blur"``.
    n_samples : int, default 2000
        Every image the model scores for one query: the fitting sample, the held-out
        neighbourhood, the query twice and the 61 rows of the deletion check
        (:class:`~surrogate.fidelity.Faithfulness`, ``exp.faithfulness``). At least 111.
    row_budget : int, optional
        Most images per model call; default :func:`~surrogate.blackbox.default_shared_budget`
        (one query per call for a torch module on the CPU, four on a GPU, and as many as
        100,000 rows hold for other models), as long as a call holds at most
        :data:`~surrogate.blackbox.VALUES_PER_CALL` numbers.
    mode, target, keep_probability, kernel, kernel_width, link, holdout_share, random_state,
    torch_output, allow_training_mode, class_names
        As for :class:`TextExplainer`.

    Examples
    --------
    >>> import numpy as np
    >>> def model(images):  # looks at the top-left corner only
    ...     return images[:, :4, :4].mean(axis=(1, 2))
    >>> image = np.random.default_rng(0).random((16, 16))
    >>> explainer = ImageExplainer(model, mode="regression", n_samples=300, segmentation="grid")
    >>> exp = explainer.explain(image)
    >>> exp.top_features(1), exp.segments.shape
    ([0], (16, 16))
    >>> exp.faithfulness.deletion < exp.faithfulness.random
    True
    """

    modality = "image"

    def __init__(
        self,
        model: Any,
        *,
        segmentation: Any = "auto",
        grid_size: tuple[int, int] | None = None,
        segmentation_options: dict[str, Any] | None = None,
        baseline: Any = "zeros",
        blur_sigma: float | None = None,
        mode: Literal["classification", "regression"] | None = None,
        target: Any = None,
        n_samples: int = DEFAULT_IMAGE_SAMPLES,
        keep_probability: float = 0.5,
        kernel: str = "exponential",
        kernel_width: float | None = None,
        link: str | None = None,
        holdout_share: float = DEFAULT_HOLDOUT_SHARE,
        row_budget: int | None = None,
        random_state: Any = 0,
        torch_output: str | None = None,
        to_tensor: Callable[[np.ndarray, Any, Any], Any] | None = None,
        allow_training_mode: bool = False,
        class_names: Sequence[str] | dict[Any, str] | None = None,
    ) -> None:
        super().__init__(
            model,
            mode=mode,
            target=target,
            n_samples=n_samples,
            keep_probability=keep_probability,
            kernel=kernel,
            kernel_width=kernel_width,
            link=link,
            holdout_share=holdout_share,
            row_budget=row_budget,
            random_state=random_state,
            torch_output=torch_output,
            to_tensor=to_tensor,
            allow_training_mode=allow_training_mode,
            class_names=class_names,
        )
        self.segmentation = img.check_segmentation(segmentation)
        self.segmentation_options = _segmentation_options(
            self.segmentation, grid_size, segmentation_options
        )
        self.baseline = img.check_baseline(baseline, blur_sigma)
        self.blur_sigma = blur_sigma
        _check_torch_model(model, torch_output, allow_training_mode)

    def explain(self, image: Any, surrogate: Any = "linear", **params: Any) -> ImageExplanation:
        """Explain one image (``(H, W)`` / ``(H, W, C)`` array or ``(C, H, W)`` tensor)."""
        return self.explain_many([image], surrogate, **params)[0]

    def _queries(self, images: Any) -> list[Any]:
        """A list of images, or an array / tensor whose first axis indexes images."""
        if (
            isinstance(images, list | tuple)
            or isinstance(images, np.ndarray)
            or img._is_tensor(images)
        ):
            return list(images)
        raise DataTypeError(
            "explain_many() takes a list of images, or an array / tensor whose first axis indexes "
            f"images; got {type(images).__name__}."
        )

    def _prepare(self, image: Any) -> _Prepared:
        query = img.as_image(image)
        method, options = img.resolved_segmentation(
            self.segmentation, self.segmentation_options, query.pixels
        )
        segments = img.segment(query.pixels, method, options)
        background = img.baseline_image(query.pixels, segments, self.baseline, self.blur_sigma)
        n_segments = int(segments.max()) + 1
        _check_masking_removes(query.pixels, background, self.baseline, n_segments)
        names = img.segment_names(n_segments)

        def render(keep: np.ndarray) -> np.ndarray:
            return img.masked_images(query, background, segments, keep)

        shape = "x".join(map(str, query.shape))
        return _Prepared(
            readable={"image_sha256": query.digest(), "shape": shape, "layout": query.layout},
            names=names,
            render=render,
            layout=(query, segments, _resolved_record(method, options, n_segments)),
            adapter_key=(query.layout, query.shape, query.dtype),
        )

    def _scorer(self, prepared: _Prepared) -> Scorer:
        query = prepared.layout[0]
        to_tensor = self.to_tensor or (
            img.ChannelsFirst(query.layout) if _is_torch_module(self.model) else None
        )
        return self._build_scorer(img.probe_images(query), to_tensor, query.pixels.size)

    def sampler_params(self) -> dict[str, Any]:
        segmentation, options = _segmentation_record(self.segmentation, self.segmentation_options)
        return {
            **self.sampler.params(),
            "segmentation": segmentation,
            "segmentation_options": options,
            "baseline": self.baseline,
            "blur_sigma": self.blur_sigma,
        }

    def query_sampler(self, query: Query) -> dict[str, Any]:
        """What this query's segmentation resolved to (recorded in its provenance)."""
        return {"segmentation_resolved": query.layout[2]}

    def _wrap(self, explanation: Explanation, layout: Any) -> ImageExplanation:
        return ImageExplanation(explanation=explanation, segments=layout[1])


# ---- small helpers ----------------------------------------------------------------------------
def _segmentation_record(method: Any, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A segmentation as provenance records it: its name, and its options in plain values."""
    name = method if isinstance(method, str) else _callable_name(method)
    return name, {k: _plain(v) for k, v in sorted(options.items())}


def _resolved_record(method: Any, options: dict[str, Any], n_segments: int) -> dict[str, Any]:
    name, plain = _segmentation_record(method, options)
    return {"method": name, "options": plain, "n_segments": n_segments}


def _check_masking_removes(
    pixels: np.ndarray, background: np.ndarray, baseline: Any, n_segments: int
) -> None:
    """Refuse a baseline that equals the image: masking would change nothing the model sees,
    every sampled row would score the same, and the explanation would be empty."""
    if np.array_equal(pixels, background):
        raise ParameterError(
            f"The baseline {baseline!r} leaves this image exactly as it is ({n_segments} segments; "
            "a 'mean' baseline fills each segment with its own mean, which is the pixel itself when "
            "segments are single pixels or flat), so masking changes nothing the model sees and "
            "nothing can be explained. Choose baseline='zeros' or 'blur', or larger segments."
        )


def _with_masking_defaults(surrogate: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The family's parameters, with the defaults of text and images under those given."""
    defaults = MASKING_DEFAULTS.get(surrogate, {}) if isinstance(surrogate, str) else {}
    return {**defaults, **params}


def _check_probe_texts(texts: Sequence[str] | None) -> list[str]:
    if texts is None:
        return list(DEFAULT_PROBE_TEXTS)
    if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
        raise ParameterError(f"probe_texts must be a non-empty list of str, got {texts!r}.")
    return list(texts)


def _segmentation_options(
    segmentation: Any, grid_size: Any, options: dict[str, Any] | None
) -> dict[str, Any]:
    options = dict(options or {})
    if segmentation == "auto" and options:
        raise ParameterError(
            f"segmentation='auto' chooses its own options; got segmentation_options={options!r}. "
            "Name the segmentation ('grid', 'slic' or a callable) to give options."
        )
    if segmentation == "grid":
        if "grid_size" in options:
            raise ParameterError("Pass grid_size= directly, not inside segmentation_options.")
        options["grid_size"] = img.check_grid_size(
            grid_size if grid_size is not None else img.DEFAULT_GRID
        )
    elif grid_size is not None:
        raise ParameterError(
            f"grid_size is only used with segmentation='grid', got segmentation={segmentation!r}."
        )
    return options


def _check_torch_model(model: Any, torch_output: Any, allow_training_mode: bool) -> None:
    """Refuse a badly configured torch model when the explainer is built (no model call)."""
    if _is_torch_module(model):
        from ..blackbox import TorchBlackBox

        TorchBlackBox(
            model, output=torch_output, row_budget=1, allow_training_mode=allow_training_mode
        )


def _is_torch_module(model: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _callable_name(fn: Any) -> str:
    return f"callable:{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


__all__ = ["TextExplainer", "ImageExplainer", "TextExplanation", "ImageExplanation"]
