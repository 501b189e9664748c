"""Text and image explanations: mask parts of the query, score the black box, fit a surrogate.

Both explainers share one orchestration (:class:`_MaskingExplainer`), the same
as for tables: per query, seeds come from ``(random_state, the query's own
content)`` — the text, or a SHA-256 of the image's layout, shape and pixels —
and one block of ``n_samples`` rows is scored::

    [query, n_fit - 1 masked rows | n_holdout held-out rows | query again]

The held-out rows come from an independent seed stream and give the fidelity;
the query is scored twice to detect a non-deterministic model. A query's rows
are scored in calls of at most ``row_budget`` rows that start at the query's
first row and never hold another query's rows, so an explanation is the same
alone or in ``explain_many``, for float32 torch models too. Each query has its
own components (words, segments), hence its own features, and the surrogate
family (linear, tree, rules) is fitted per query.

The interpretable features are presence indicators (see
:mod:`surrogate.sampling.text`): a linear weight is the effect of the word or
segment being present; trees and rule lists read ``not in {present}`` /
``good in {present}`` over the categories ``("absent", "present")``.

Results are :class:`TextExplanation` and :class:`ImageExplanation`: thin frozen
wrappers holding the :class:`~surrogate.explanation.Explanation` (owned by the
tabular core and left untouched) plus the query's layout — the tokens with their
character spans, or the ``(H, W)`` segment labels — which renderers need. Every
attribute of the inner explanation is readable on the wrapper (``exp.fidelity``,
``exp.meta``...); ``to_json`` adds the layout under its own top-level key, so
``Explanation.from_json`` still reads the core of the document.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from . import _version
from .blackbox import DEFAULT_ROW_BUDGET, BlackBox, Target, as_blackbox
from .errors import (
    DataTypeError,
    ExplanationFormatError,
    ModelOutputError,
    ParameterError,
    SurrogateError,
    UnknownOptionError,
)
from .explainer import (
    DEFAULT_HOLDOUT_SHARE,
    DETERMINISM_TOLERANCE,
    LOGIT_EPS,
    MAX_SAMPLES,
    _check_link,
    _check_share,
)
from .explanation import (
    Explanation,
    ExplanationSet,
    Failure,
    NeighbourhoodSummary,
    Provenance,
    canonical_json,
)
from .fidelity import effective_sample_size
from .kernels import check_kernel, kernel_weights
from .sampling import image as img
from .sampling import text as txt
from .schema import Feature, FeatureSchema
from .seeding import QuerySeeds, entropy_of, query_seeds, root_sequence
from .surrogates import make_surrogate
from .surrogates.base import LocalFit, LocalProblem, local_fidelity

#: fewest rows per query: a surrogate and a held-out check need some room
MIN_SAMPLES = 50
#: texts the model is probed with (output names, fingerprint) when probe_texts is not given
DEFAULT_PROBE_TEXTS = ("a", "a short probe text")
DEFAULT_IMAGE_ROW_BUDGET = 256


# ---- results -------------------------------------------------------------------------------
class _Wrapped(ABC):
    """Attribute passthrough to the inner :class:`Explanation` and a JSON document with one extra key."""

    explanation: Explanation
    _layout_key: str = ""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "explanation":  # no recursion while (un)pickling
            raise AttributeError(name)
        return getattr(self.explanation, name)

    @abstractmethod
    def _layout_data(self) -> Any:
        """Modality hook (text, image)."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.explanation.to_dict(), self._layout_key: self._layout_data()}

    def to_json(self, *, indent: int | None = None) -> str:
        """Canonical JSON (sorted keys, exact floats): the explanation plus the query's layout."""
        return canonical_json(self.to_dict(), indent=indent)

    @classmethod
    def _document(cls, text: str | bytes) -> tuple[Explanation, Any]:
        try:
            document = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ExplanationFormatError(f"Not a JSON explanation: {exc}") from exc
        explanation = Explanation.from_dict(document)
        if cls._layout_key not in document:
            raise ExplanationFormatError(
                f"This document has no {cls._layout_key!r} key: it is not a {cls.__name__}; "
                "read it with Explanation.from_json."
            )
        return explanation, document[cls._layout_key]

    def __str__(self) -> str:
        return self.explanation.to_text()


@dataclass(frozen=True, eq=False)
class TextExplanation(_Wrapped):
    """A text query's explanation plus its tokens (text, character span, feature).

    ``top_features(k)`` gives words (``"bag"``) or ``word@position`` names.
    """

    explanation: Explanation
    tokens: tuple[txt.Token, ...]
    _layout_key = "tokens"

    @property
    def text(self) -> str:
        return str(self.explanation.query["text"])

    def _layout_data(self) -> list[dict[str, Any]]:
        return [
            {"text": t.text, "start": t.start, "end": t.end, "feature": t.feature}
            for t in self.tokens
        ]

    @classmethod
    def from_json(cls, text: str | bytes) -> TextExplanation:
        explanation, data = cls._document(text)
        return cls(explanation=explanation, tokens=_tokens_from(data))

    def to_html(self) -> str:
        """Every token highlighted by its weight (escaped HTML; see :mod:`surrogate.render.highlight`)."""
        from .render.highlight import text_to_html

        return text_to_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextExplanation) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TextExplanation({self.text[:40]!r}, {self.family}, top={self.top_features(3)})"


def _tokens_from(data: Any) -> tuple[txt.Token, ...]:
    try:
        return tuple(
            txt.Token(
                text=str(d["text"]),
                start=int(d["start"]),
                end=int(d["end"]),
                feature=str(d["feature"]),
            )
            for d in data
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise ExplanationFormatError(
            f"'tokens' must be a list of {{text, start, end, feature}} objects: {exc}"
        ) from exc


@dataclass(frozen=True, eq=False)
class ImageExplanation(_Wrapped):
    """An image query's explanation plus ``segments``, the ``(H, W)`` label array.

    ``top_features(k)`` gives segment *labels* (ints, as in ``segments``); the
    feature names behind them read ``"segment 5"`` (``top_feature_names``).
    """

    explanation: Explanation
    segments: np.ndarray
    _layout_key = "segments"

    def __post_init__(self) -> None:
        labels = np.array(self.segments, dtype=np.int64)  # a private, read-only copy
        labels.setflags(write=False)
        object.__setattr__(self, "segments", labels)

    def top_features(self, k: int | None = None) -> list[int]:
        """Segment labels, most important first."""
        return [img.segment_label(name) for name in self.explanation.top_features(k)]

    def top_feature_names(self, k: int | None = None) -> list[str]:
        return self.explanation.top_features(k)

    def heatmap(self) -> np.ndarray:
        """``(H, W)`` array: each pixel carries its segment's weight (linear) or importance."""
        from .render.highlight import segment_heatmap

        return segment_heatmap(self)

    def _layout_data(self) -> list[list[int]]:
        return self.segments.tolist()

    @classmethod
    def from_json(cls, text: str | bytes) -> ImageExplanation:
        explanation, data = cls._document(text)
        try:
            segments = np.array(data, dtype=np.int64)
        except (TypeError, ValueError) as exc:
            raise ExplanationFormatError(
                f"'segments' must be a 2-D list of integers: {exc}"
            ) from exc
        if segments.ndim != 2:
            raise ExplanationFormatError(
                f"'segments' must be a 2-D list of integers, got {segments.ndim} axes."
            )
        return cls(explanation=explanation, segments=segments)

    def to_png(self, image: Any = None) -> bytes:
        """PNG heatmap, over ``image`` (grey) when given."""
        from .render.highlight import image_to_png

        return image_to_png(self, image)

    def to_svg(self, image: Any = None) -> str:
        """SVG heatmap overlay: one shape per segment, titled with its weight."""
        from .render.highlight import image_to_svg

        return image_to_svg(self, image)

    def _repr_html_(self) -> str:
        return self.to_svg()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageExplanation) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ImageExplanation(segments {self.segments.shape}, {self.family}, top={self.top_features(3)})"


# ---- one query, ready to sample ---------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    """A query cut into components, with how to turn keep-masks into model inputs."""

    readable: dict[str, float | str | None]
    names: tuple[str, ...]
    render: Callable[[np.ndarray], Any]  # keep masks (n, d) -> rows the model eats
    layout: Any  # TextLayout or (ImageQuery, segments)
    adapter_key: Any


@dataclass(frozen=True)
class _Adapter:
    blackbox: BlackBox
    target: Target
    link: str
    fingerprint: str


@dataclass(frozen=True)
class _Sample:
    seeds: QuerySeeds
    keep: np.ndarray  # (n_samples, d) bool, the full scored block
    z_fit: np.ndarray
    d_fit: np.ndarray
    z_hold: np.ndarray
    d_hold: np.ndarray


class _MaskingExplainer(ABC):
    """What text and image explainers share: validation, sampling, scoring, fitting, records."""

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
        row_budget: int,
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
        self.holdout_share = _check_share(holdout_share)
        self.n_samples = _check_n_samples(n_samples)
        self.n_holdout = max(1, int(round(self.holdout_share * self.n_samples)))
        self.n_fit = self.n_samples - self.n_holdout - 1
        self.row_budget = _check_row_budget(row_budget)
        self.root = root_sequence(random_state)
        self.torch_output = torch_output
        self.to_tensor = to_tensor
        self.allow_training_mode = allow_training_mode

    # ---- modality hooks ----------------------------------------------------------------------
    @abstractmethod
    def _prepare(self, query: Any) -> _Prepared:
        """Modality hook (text, image)."""

    @abstractmethod
    def _adapter(self, prepared: _Prepared) -> _Adapter:
        """Modality hook (text, image)."""

    def _sampler_params(self) -> dict[str, Any]:
        return self.sampler.params()

    @abstractmethod
    def _wrap(self, explanation: Explanation, prepared: _Prepared) -> Any:
        """Modality hook (text, image)."""

    @abstractmethod
    def _queries(self, queries: Any) -> list[Any]:
        """Modality hook (text, image)."""

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

        ``on_error="record"`` goes on past a query that cannot be explained and lists
        it in ``.failures``; the default raises.
        """
        if on_error not in ("raise", "record"):
            raise UnknownOptionError(f"on_error must be 'raise' or 'record', got {on_error!r}.")
        family = make_surrogate(surrogate, **params)
        adapters: dict[Any, _Adapter] = {}
        done: list[tuple[int, Any]] = []
        failures: list[Failure] = []
        for i, query in enumerate(self._queries(queries)):
            try:
                done.append((i, self._explain_one(query, family, adapters)))
            except SurrogateError as exc:
                if on_error == "raise":
                    raise
                failures.append(Failure.from_exception(i, exc))
        return ExplanationSet([e for _, e in done], indices=[i for i, _ in done], failures=failures)

    # ---- steps ------------------------------------------------------------------------------
    def _explain_one(self, query: Any, family: Any, adapters: dict[Any, _Adapter]) -> Any:
        prepared = self._prepare(query)
        # adapters are built once per call and input shape, and never stored on the explainer
        if prepared.adapter_key not in adapters:
            adapters[prepared.adapter_key] = self._adapter(prepared)
        adapter = adapters[prepared.adapter_key]
        sample = self._sample(prepared)
        outputs = self._score(adapter.blackbox, prepared, sample.keep)
        _check_deterministic(outputs[0], outputs[-1])
        target = (
            adapter.target.index if adapter.target.index is not None else int(np.argmax(outputs[0]))
        )
        problem = self._problem(sample, _apply_link(outputs[:-1, target], adapter.link), adapter)
        features = txt.presence_features(prepared.names, self.sampler.keep_probability)
        fit = family.fit_local([problem], features, prepared.names, [sample.seeds.bootstrap])[0]
        explanation = self._assemble(
            prepared, adapter, sample, problem, fit, features, family, outputs[0], target
        )
        return self._wrap(explanation, prepared)

    def _sample(self, prepared: _Prepared) -> _Sample:
        seeds = query_seeds(self.root, prepared.readable)
        present = np.ones(len(prepared.names))
        fit = self.sampler.sample(present, self.n_fit - 1, seeds.fit)
        hold = self.sampler.sample(present, self.n_holdout, seeds.holdout)
        keep = np.concatenate([present[None], fit.values, hold.values, present[None]]).astype(bool)
        return _Sample(
            seeds=seeds,
            keep=keep,
            z_fit=np.concatenate([np.zeros((1, len(present))), fit.z]),
            d_fit=np.concatenate([[0.0], fit.distance]),
            z_hold=hold.z,
            d_hold=hold.distance,
        )

    def _score(self, blackbox: BlackBox, prepared: _Prepared, keep: np.ndarray) -> np.ndarray:
        """Score one query's block in calls of at most ``row_budget`` rows, aligned to its first row."""
        step = self.row_budget
        return np.concatenate(
            [
                blackbox.predict(prepared.render(keep[a : a + step]))
                for a in range(0, len(keep), step)
            ]
        )

    def _problem(self, sample: _Sample, y: np.ndarray, adapter: _Adapter) -> LocalProblem:
        n_fit = self.n_fit
        return LocalProblem(
            z_fit=sample.z_fit,
            values_fit=sample.keep[:n_fit].astype(np.float64),
            y_fit=y[:n_fit],
            w_fit=kernel_weights(self.kernel, sample.d_fit, self.kernel_width),
            z_hold=sample.z_hold,
            values_hold=sample.keep[n_fit:-1].astype(np.float64),
            y_hold=y[n_fit:],
            w_hold=kernel_weights(self.kernel, sample.d_hold, self.kernel_width),
            threshold=_decision_threshold(adapter.blackbox, adapter.link),
        )

    def _assemble(
        self,
        prepared: _Prepared,
        adapter: _Adapter,
        sample: _Sample,
        problem: LocalProblem,
        fit: LocalFit,
        features: tuple[Feature, ...],
        family: Any,
        outputs_query: np.ndarray,
        target: int,
    ) -> Explanation:
        fidelity = local_fidelity(problem, fit)
        names = adapter.blackbox.output_names
        return Explanation(
            query=prepared.readable,
            prediction=float(outputs_query[target]),
            outputs={names[k]: float(v) for k, v in enumerate(outputs_query)},
            content=fit.content,
            fidelity=fidelity,
            stability=fit.stability,
            # masking only removes parts of the query: nothing leaves a training range
            neighbourhood=NeighbourhoodSummary(
                effective_sample_size=effective_sample_size(problem.w_fit),
                share_outside_training_range=0.0,
            ),
            meta=self._provenance(sample, adapter, family, features, target),
            warnings=self._warnings(len(prepared.names)),
        )

    def _provenance(
        self, sample: _Sample, adapter: _Adapter, family: Any, features, target: int
    ) -> Provenance:
        return Provenance(
            library_version=_version.__version__,
            modality=self.modality,
            mode=adapter.blackbox.mode,
            target=adapter.blackbox.output_names[target],
            link=adapter.link,
            sampler=self._sampler_params(),
            kernel={"name": self.kernel, "width": self.kernel_width},
            surrogate={"family": family.name, **family.params()},
            random_state_entropy=entropy_of(self.root),
            random_state_spawn_key=[int(k) for k in self.root.spawn_key],
            query_digest=f"{sample.seeds.digest:032x}",
            n_samples=self.n_samples,
            n_fit=self.n_fit,
            n_holdout=self.n_holdout,
            schema_fingerprint=FeatureSchema(features=features).fingerprint(),
            model_fingerprint=adapter.fingerprint,
            model=adapter.blackbox.description(),
        )

    def _warnings(self, n_components: int) -> tuple[str, ...]:
        if n_components * 4 > self.n_fit:
            return (
                f"The query has {n_components} components but only {self.n_fit} fitting rows "
                "(fewer than 4 per component): raise n_samples, or use fewer components "
                "(representation='bag', a coarser segmentation).",
            )
        return ()

    def _build_adapter(self, probe: Any, to_tensor: Any) -> _Adapter:
        blackbox = as_blackbox(
            self.model,
            mode=self.mode,
            row_budget=self.row_budget,
            probe_rows=probe,
            torch_output=self.torch_output,
            to_tensor=to_tensor,
            allow_training_mode=self.allow_training_mode,
        )
        return _Adapter(
            blackbox=blackbox,
            target=Target.resolve(self.target_spec, blackbox),
            link=_check_link(self.link_name, blackbox),
            fingerprint=blackbox.fingerprint(probe),
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
    row_budget : int
        Most texts per model call.
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
        row_budget: int = DEFAULT_ROW_BUDGET,
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
        self._text_adapter = self._build_adapter(self.probe_texts, to_tensor)

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

    def _adapter(self, prepared: _Prepared) -> _Adapter:
        return self._text_adapter

    def _sampler_params(self) -> dict[str, Any]:
        return {
            **self.sampler.params(),
            "mask": self.mask,
            "representation": self.representation,
            "tokenizer": txt.describe_tokenizer(self.tokenizer),
        }

    def _wrap(self, explanation: Explanation, prepared: _Prepared) -> TextExplanation:
        return TextExplanation(explanation=explanation, tokens=prepared.layout.tokens)


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
        row_budget: int = DEFAULT_IMAGE_ROW_BUDGET,
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
        names = img.segment_names(int(segments.max()) + 1)

        def render(keep: np.ndarray) -> np.ndarray:
            return img.to_layout(
                img.compose(query.pixels, background, segments, keep), query.layout, query.dtype
            )

        shape = "x".join(map(str, query.shape))
        return _Prepared(
            readable={"image_sha256": query.digest(), "shape": shape, "layout": query.layout},
            names=names,
            render=render,
            layout=(query, segments),
            adapter_key=(query.layout, query.shape, query.dtype),
        )

    def _adapter(self, prepared: _Prepared) -> _Adapter:
        query, _ = prepared.layout
        to_tensor = self.to_tensor or (
            img.ChannelsFirst(query.layout) if _is_torch_module(self.model) else None
        )
        return self._build_adapter(img.probe_images(query), to_tensor)

    def _sampler_params(self) -> dict[str, Any]:
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

    def _wrap(self, explanation: Explanation, prepared: _Prepared) -> ImageExplanation:
        return ImageExplanation(explanation=explanation, segments=prepared.layout[1])


# ---- small helpers ----------------------------------------------------------------------------
def _check_n_samples(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ParameterError(f"n_samples must be an integer, got {n!r} ({type(n).__name__}).")
    if not MIN_SAMPLES <= n <= MAX_SAMPLES:
        raise ParameterError(
            f"n_samples must be between {MIN_SAMPLES} and {MAX_SAMPLES} rows per query, got {n}."
        )
    return int(n)


def _check_row_budget(row_budget: Any) -> int:
    if (
        isinstance(row_budget, bool)
        or not isinstance(row_budget, int | np.integer)
        or row_budget < 1
    ):
        raise ParameterError(
            f"row_budget must be a positive integer (rows per model call), got {row_budget!r}."
        )
    return int(row_budget)


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
        from .blackbox import TorchBlackBox

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


def _check_deterministic(first: np.ndarray, again: np.ndarray) -> None:
    if np.max(np.abs(first - again)) > DETERMINISM_TOLERANCE * max(
        1.0, float(np.max(np.abs(first)))
    ):
        raise ModelOutputError(
            "The black box gave two different outputs for the same query "
            f"({first.tolist()} then {again.tolist()}): it is not deterministic, so no surrogate "
            "of it can be trusted. Fix its randomness (seed, eval mode) first."
        )


def _apply_link(p: np.ndarray, link: str) -> np.ndarray:
    if link == "identity":
        return p
    q = np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS)
    return np.log(q) - np.log1p(-q)


def _decision_threshold(blackbox: BlackBox, link: str) -> float | None:
    if blackbox.mode != "classification":
        return None
    if not blackbox.outputs_probabilities or link == "logit":
        return 0.0
    return 0.5


__all__ = ["TextExplainer", "ImageExplainer", "TextExplanation", "ImageExplanation"]
