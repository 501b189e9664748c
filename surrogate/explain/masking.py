"""Text and images: explainers that mask parts of the query and hand it to the one pipeline.

Both explainers prepare their queries for the pipeline of :mod:`.pipeline`, the
same one tables use: per query, seeds come from ``(random_state, the query's own
content)`` — the text, or a SHA-256 of the image's layout, shape and pixels —
and one block of ``n_samples`` rows is scored::

    [query, n_fit - 1 masked rows | n_holdout held-out rows | query again]

The held-out rows come from an independent seed stream and give the fidelity;
the query is scored twice to detect a non-deterministic model.

Queries share model calls: whole queries' rows (of the same input shape) are
stacked in calls of at most ``row_budget`` rows, by default room for
:data:`~surrogate.blackbox.QUERIES_PER_CALL` queries (fewer for large images, see
:func:`~surrogate.blackbox.shared_row_budget`). A model that may round differently
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
from .._validation import check
from ..blackbox import Target, as_blackbox, shared_row_budget
from ..errors import DataTypeError, ParameterError, SurrogateError
from ..explanation import Explanation, ExplanationSet, Failure
from ..explanation.masking import ImageExplanation, TextExplanation
from ..kernels import check_kernel
from ..sampling import image as img
from ..sampling import text as txt
from ..schema import FeatureSchema
from ..surrogates import make_surrogate
from ..surrogates.base import Content
from .pipeline import (
    DEFAULT_HOLDOUT_SHARE,
    HOLDOUT_SHARE,
    N_SAMPLES,
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


# ---- one query, ready for the pipeline ---------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    """A query cut into components, with how to turn keep-masks into model inputs."""

    readable: dict[str, float | str | None]
    names: tuple[str, ...]
    render: Callable[[np.ndarray], Any]  # keep masks (n, d) -> rows the model eats
    layout: Any  # TextLayout or (ImageQuery, segments)
    adapter_key: Any


class _MaskingExplainer(Reseedable, ABC):
    """What text and image explainers share: options, adapters, and their hooks of the pipeline."""

    modality = "masking"

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
    ) -> None:
        self.model = model
        self.mode = mode
        self.target_spec = target
        self.sampler = txt.KeepMaskSampler(keep_probability=keep_probability)
        self.kernel, self.kernel_width = check_kernel(kernel, kernel_width)
        self.link_name = link
        self.holdout_share = check("holdout_share", holdout_share, HOLDOUT_SHARE)
        self.n_samples = check("n_samples", n_samples, N_SAMPLES)
        self.size = Size.of(self.n_samples, self.holdout_share)
        self.n_holdout, self.n_fit = self.size.n_holdout, self.size.n_fit
        self.row_budget = check("row_budget", row_budget, ROW_BUDGET, None)
        self.root = root_sequence(random_state)
        self.torch_output = torch_output
        self.to_tensor = to_tensor
        self.allow_training_mode = allow_training_mode

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
        family = make_surrogate(surrogate, **params)
        prepared, failures = self._prepare_all(self._queries(queries), on_error)
        done, failed = explain_queries(self, prepared, self.size, Run(family, on_error))
        layouts = {q.index: q.layout for q in prepared}
        done.sort(key=lambda pair: pair[0])
        return ExplanationSet(
            [self._wrap(e, layouts[i]) for i, e in done],
            indices=[i for i, _ in done],
            failures=sorted(failures + failed, key=lambda f: f.index),
        )

    # ---- steps ------------------------------------------------------------------------------
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

    def _build_scorer(self, probe: Any, to_tensor: Any, values_per_row: int | None = None) -> Scorer:
        row_budget = self.row_budget or shared_row_budget(self.n_samples, values_per_row)
        blackbox = as_blackbox(
            self.model,
            mode=self.mode,
            row_budget=row_budget,
            probe_rows=probe,
            torch_output=self.torch_output,
            to_tensor=to_tensor,
            allow_training_mode=self.allow_training_mode,
        )
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
        Every text the model scores for one query, held-out ones included.
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
        Most texts per model call; default room for
        :data:`~surrogate.blackbox.QUERIES_PER_CALL` queries of ``n_samples`` texts.
    probe_texts : sequence of str, optional
        Texts the model is probed with once (output names, fingerprint).
    torch_output : {"logits", "probabilities", "regression"}
        For torch modules: what ``forward`` returns.
    to_tensor : callable ``(texts, device, dtype) -> tensor``
        Required for torch modules: turns a list of strings into the module's input,
        on ``device`` (the module's own).

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
    segmentation : {"grid", "slic"} or callable, default "grid"
        See :mod:`surrogate.sampling.image`. ``"slic"`` needs scikit-image.
    grid_size : (rows, cols), optional
        Only for ``"grid"``; default (4, 4), segments numbered row-major from the top-left.
    segmentation_options : dict, optional
        Keyword arguments of the segmentation (e.g. ``n_segments`` for SLIC).
    baseline : {"mean", "blur", "zeros"} or number, default "mean"
        What a masked segment shows.
    blur_sigma : float, optional
        Only for ``baseline="blur"``.
    n_samples : int, default 500
        Every image the model scores for one query, held-out ones included.
    row_budget : int, optional
        Most images per model call; default room for
        :data:`~surrogate.blackbox.QUERIES_PER_CALL` queries of ``n_samples`` images, as
        long as a call holds at most :data:`~surrogate.blackbox.VALUES_PER_CALL` numbers
        (:func:`~surrogate.blackbox.shared_row_budget`).
    mode, target, keep_probability, kernel, kernel_width, link, holdout_share, random_state,
    torch_output, allow_training_mode
        As for :class:`TextExplainer`.

    Examples
    --------
    >>> import numpy as np
    >>> def model(images):  # looks at the top-left corner only
    ...     return images[:, :4, :4].mean(axis=(1, 2))
    >>> image = np.random.default_rng(0).random((16, 16))
    >>> exp = ImageExplainer(model, n_samples=200, baseline="zeros").explain(image)
    >>> exp.top_features(1), exp.segments.shape
    ([0], (16, 16))
    """

    modality = "image"

    def __init__(
        self,
        model: Any,
        *,
        segmentation: Any = "grid",
        grid_size: tuple[int, int] | None = None,
        segmentation_options: dict[str, Any] | None = None,
        baseline: Any = "mean",
        blur_sigma: float | None = None,
        mode: Literal["classification", "regression"] | None = None,
        target: Any = None,
        n_samples: int = 500,
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
        segments = img.segment(query.pixels, self.segmentation, self.segmentation_options)
        background = img.baseline_image(query.pixels, segments, self.baseline, self.blur_sigma)
        _check_masking_removes(query.pixels, background, self.baseline, int(segments.max()) + 1)
        names = img.segment_names(int(segments.max()) + 1)

        def render(keep: np.ndarray) -> np.ndarray:
            return img.masked_images(query, background, segments, keep)

        shape = "x".join(map(str, query.shape))
        return _Prepared(
            readable={"image_sha256": query.digest(), "shape": shape, "layout": query.layout},
            names=names,
            render=render,
            layout=(query, segments),
            adapter_key=(query.layout, query.shape, query.dtype),
        )

    def _scorer(self, prepared: _Prepared) -> Scorer:
        query, _ = prepared.layout
        to_tensor = self.to_tensor or (
            img.ChannelsFirst(query.layout) if _is_torch_module(self.model) else None
        )
        return self._build_scorer(img.probe_images(query), to_tensor, query.pixels.size)

    def sampler_params(self) -> dict[str, Any]:
        segmentation = (
            self.segmentation
            if isinstance(self.segmentation, str)
            else _callable_name(self.segmentation)
        )
        return {
            **self.sampler.params(),
            "segmentation": segmentation,
            "segmentation_options": {
                k: _plain(v) for k, v in sorted(self.segmentation_options.items())
            },
            "baseline": self.baseline,
            "blur_sigma": self.blur_sigma,
        }

    def _wrap(self, explanation: Explanation, layout: Any) -> ImageExplanation:
        return ImageExplanation(explanation=explanation, segments=layout[1])


# ---- small helpers ----------------------------------------------------------------------------
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
