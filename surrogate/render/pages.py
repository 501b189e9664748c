"""Stand-alone HTML pages of one text or image explanation (``surrogate explain-text --html``,
``explain-digit --html``): the picture first, then every figure of the explanation
(:func:`.html.explanation_to_html`).

A page needs nothing else to open: the image explanation's figure is embedded as a PNG
``data:`` URI, the text is highlighted inline, and there is no script. Everything from
data is escaped.
"""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING, Any

from .highlight import text_to_html
from .html import explanation_to_html
from .pictures import image_png

if TYPE_CHECKING:
    from ..explanation import ImageExplanation, TextExplanation

_STYLE = (
    "body{font-family:sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left}"
    "img{max-width:100%}"
)


def standalone_page(title: str, body: str) -> str:
    """``body`` (HTML already escaped) in a complete UTF-8 page titled ``title`` (escaped here)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def image_page(exp: ImageExplanation, image: Any = None) -> str:
    """The figure of ``exp.plot(image=image)`` as an embedded PNG, then the explanation."""
    return picture_page(exp, image_png(exp, image))


def picture_page(exp: ImageExplanation, png: bytes) -> str:
    """:func:`image_page` with its figure already drawn (``png``: ``exp.to_png(image)``)."""
    data = base64.b64encode(png).decode("ascii")
    alt = f"Segments of the image tinted by their weight for {exp.meta.target}"
    picture = f'<p><img alt="{escape(alt, quote=True)}" src="data:image/png;base64,{data}"></p>'
    return standalone_page(
        f"Explanation of {exp.meta.target}", picture + explanation_to_html(exp.explanation)
    )


def text_page(exp: TextExplanation) -> str:
    """The text with its words highlighted by weight, then the explanation."""
    return standalone_page(
        f"Explanation of {exp.meta.target}",
        text_to_html(exp) + explanation_to_html(exp.explanation),
    )


__all__ = ["image_page", "picture_page", "standalone_page", "text_page"]
