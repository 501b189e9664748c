"""Text and image explanations: the core :class:`Explanation` plus the query's layout.

The layout — the tokens with their character spans, or the ``(H, W)`` segment
labels — is what renderers need to draw the query. ``to_json`` adds it under its
own top-level key, so :meth:`Explanation.from_json` still reads the core.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ExplanationFormatError
from ..sampling import image as img
from ..sampling import text as txt
from .codec import canonical_json, load_json
from .local import Explanation


# ---- results -------------------------------------------------------------------------------
class MaskedExplanation(ABC):
    """An :class:`Explanation` of a masked query plus the query's layout.

    The core explanation's fields read the same here (``exp.fidelity``, ``exp.meta``...);
    ``to_json`` adds the layout under its own top-level key.
    """

    explanation: Explanation
    _layout_key: str = ""

    # the core's fields, named one by one
    query = property(lambda self: self.explanation.query)
    prediction = property(lambda self: self.explanation.prediction)
    outputs = property(lambda self: self.explanation.outputs)
    content = property(lambda self: self.explanation.content)
    fidelity = property(lambda self: self.explanation.fidelity)
    scope = property(lambda self: self.explanation.scope)
    faithfulness = property(lambda self: self.explanation.faithfulness)
    stability = property(lambda self: self.explanation.stability)
    neighbourhood = property(lambda self: self.explanation.neighbourhood)
    meta = property(lambda self: self.explanation.meta)
    warnings = property(lambda self: self.explanation.warnings)
    notes = property(lambda self: self.explanation.notes)
    family = property(lambda self: self.explanation.family)
    contributions = property(lambda self: self.explanation.contributions)
    baseline = property(lambda self: self.explanation.baseline)

    def top_features(self, k: int | None = None) -> list[Any]:
        return self.explanation.top_features(k)

    def to_text(self) -> str:
        return self.explanation.to_text()

    def to_markdown(self) -> str:
        return self.explanation.to_markdown()

    def to_dot(self) -> str:
        return self.explanation.to_dot()

    def to_frame(self) -> Any:
        return self.explanation.to_frame()

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
            document = load_json(text)
        except ExplanationFormatError:
            raise
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
class TextExplanation(MaskedExplanation):
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
        """Every token highlighted by its weight, under a headline naming the class (escaped
        HTML; see :mod:`surrogate.render.highlight`)."""
        from ..render.highlight import text_to_html

        return text_to_html(self)

    def plot(self, ax: Any = None) -> Any:
        """A matplotlib Figure: one bar per word of the explanation, most important on top,
        under the class, the output, the fidelity figures and the text
        (:func:`surrogate.render.pictures.text_figure`); drawn into ``ax`` (returned) when given."""
        from ..render.pictures import text_figure

        return text_figure(self, ax=ax)

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
class ImageExplanation(MaskedExplanation):
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
        from ..render.pictures import segment_heatmap

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

    def plot(self, ax: Any = None, image: Any = None) -> Any:
        """A matplotlib Figure: ``image`` (the one explained) in grey when given, each segment
        tinted by its weight on a symmetric scale (blue lowers the output, orange raises it,
        white is zero), every segment's border, a colour bar in the explained unit, and a
        title with the class, the output and the fidelity figures
        (:func:`surrogate.render.pictures.image_figure`). The explanation keeps only the
        image's digest, so the image is passed again. Drawn into ``ax`` (returned) when given.
        """
        from ..render.pictures import image_figure

        return image_figure(self, image, ax=ax)

    def to_png(self, image: Any = None) -> bytes:
        """The figure of :meth:`plot` as PNG bytes."""
        from ..render.pictures import image_png

        return image_png(self, image)

    def to_svg(self, image: Any = None) -> str:
        """The figure of :meth:`plot` as SVG text."""
        from ..render.pictures import image_svg

        return image_svg(self, image)

    def _repr_html_(self) -> str:
        return self.to_svg()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageExplanation) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ImageExplanation(segments {self.segments.shape}, {self.family}, top={self.top_features(3)})"


__all__ = ["MaskedExplanation", "TextExplanation", "ImageExplanation"]
