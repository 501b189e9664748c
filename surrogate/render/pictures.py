"""Figures of image and text explanations: what ``plot()``, ``to_png()`` and ``to_svg()`` give.

This module reads explanations and hands plain numbers to :mod:`.maps`, which draws
them; one drawing serves the Figure, the PNG and the SVG, so the three always agree.
Their captions come from :func:`.captions.caption_lines`.

An image explanation does not hold the image (only its digest and its segments), so
the image is passed again to draw it in grey under the weights; without it the
weights are drawn on white.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError
from . import plots
from .captions import caption_lines, weight_unit
from .maps import draw_segment_map, draw_word_bars

if TYPE_CHECKING:
    from ..explanation import ImageExplanation, TextExplanation

#: the text shown above a text explanation's bars is cut after this many characters
SHOWN_CHARACTERS = 280


# ---- weights ----------------------------------------------------------------------------------
def segment_weights(exp: ImageExplanation) -> tuple[dict[int, float], bool]:
    """``({segment label: weight}, signed)``: linear slopes or additive contributions
    (signed), or tree and rule-list importances (unsigned)."""
    from ..sampling.image import segment_label

    weights, signed = exp.content.signed_weights()
    return {segment_label(name): w for name, w in weights.items()}, signed


def segment_heatmap(exp: ImageExplanation) -> np.ndarray:
    """``(H, W)`` float array: each pixel carries its segment's weight (0 outside the explanation)."""
    weights, _ = segment_weights(exp)
    table = np.zeros(int(exp.segments.max()) + 1)
    for label, weight in weights.items():
        table[label] = weight
    return table[exp.segments]


def grey_image(image: Any, shape: tuple[int, int]) -> np.ndarray | None:
    """The image as ``(H, W)`` grey levels stretched to [0, 1], or None when no image is given."""
    if image is None:
        return None
    from ..sampling.image import as_image

    pixels = as_image(image).pixels
    if pixels.shape[:2] != shape:
        raise DataError(
            f"image has shape {pixels.shape[:2]} but the explanation's segments have shape "
            f"{shape}; pass the image that was explained."
        )
    grey = pixels.mean(axis=2)
    low, high = grey.min(), grey.max()
    return (grey - low) / (high - low) if high > low else np.zeros_like(grey)


# ---- images -----------------------------------------------------------------------------------
def image_figure(exp: ImageExplanation, image: Any = None, ax: Any = None):
    """The segment map (:func:`.maps.draw_segment_map`) as a matplotlib Figure, or drawn into
    ``ax`` (returned) when given."""
    weights, signed = segment_weights(exp)
    grey = grey_image(image, exp.segments.shape)
    h, w = exp.segments.shape
    return plots.drawn_figure(
        lambda axes: draw_segment_map(
            axes,
            segments=exp.segments,
            weights=weights,
            signed=signed,
            grey=grey,
            unit=weight_unit(exp, "segment"),
            title=caption_lines(exp),
        ),
        width=5.6,
        height=min(8.0, max(3.0, 4.2 * h / w + 0.8)),
        ax=ax,
    )


def image_png(exp: ImageExplanation, image: Any = None) -> bytes:
    """The figure of :func:`image_figure` as PNG bytes."""
    return plots.figure_png(image_figure(exp, image))


def image_svg(exp: ImageExplanation, image: Any = None) -> str:
    """The figure of :func:`image_figure` as SVG text."""
    return plots.figure_svg(image_figure(exp, image))


# ---- text ---------------------------------------------------------------------------------------
def text_figure(exp: TextExplanation, ax: Any = None):
    """Every word of the explanation as a bar, most important on top, under the caption and
    the text itself; a matplotlib Figure, or drawn into ``ax`` (returned) when given."""
    weights, signed = exp.content.signed_weights()
    words = [name for name in exp.top_features() if name in weights]
    return plots.drawn_figure(
        lambda axes: draw_word_bars(
            axes,
            words=words,
            weights=[weights[name] for name in words],
            signed=signed,
            unit=weight_unit(exp, "word"),
            title=[*caption_lines(exp), *shown_text(exp.text)],
        ),
        width=6.0,
        height=2.2 + 0.3 * max(len(words), 1),
        ax=ax,
    )


def shown_text(text: str, width: int = 80) -> list[str]:
    """The text in quotes, wrapped; cut after :data:`SHOWN_CHARACTERS`, with a line saying
    how long it was."""
    shown = " ".join(text.split())
    if len(shown) <= SHOWN_CHARACTERS:
        return textwrap.wrap(f"\u201c{shown}\u201d", width) or ["\u201c\u201d"]
    cut = f"\u201c{shown[:SHOWN_CHARACTERS]}\u2026\u201d"
    return [
        *textwrap.wrap(cut, width),
        f"(the first {SHOWN_CHARACTERS} of {len(shown)} characters)",
    ]


__all__ = [
    "grey_image",
    "image_figure",
    "image_png",
    "image_svg",
    "segment_heatmap",
    "segment_weights",
    "shown_text",
    "text_figure",
]
