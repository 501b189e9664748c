"""A text explanation as highlighted HTML (``TextExplanation.to_html()``).

Colours, as in every picture of the library (:mod:`.maps`): orange marks a word whose
presence raises the explained output and blue one that lowers it, with opacity
proportional to ``|weight| / max |weight|``; trees and rule lists have unsigned
importances, drawn in orange. Words outside the explanation stay plain. The
headline is the pictures' caption (:func:`.captions.caption_lines`): the class by
its name, the output there, and the fidelity figures.

*Every* piece of the input (tokens, the text between them, feature names in
tooltips, class names) goes through :func:`html.escape`, so hostile text such as
``<script>`` shows as text. Image explanations are drawn by :mod:`.pictures`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from .captions import caption_lines
from .maps import BLUE, ORANGE

if TYPE_CHECKING:
    from ..explanation import TextExplanation



def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


POSITIVE = _rgb(ORANGE)  # presence raises the output
NEGATIVE = _rgb(BLUE)  # presence lowers it
UNSIGNED = POSITIVE  # importance of a tree or rule list


# ---- weights ----------------------------------------------------------------------------------
def feature_weights(exp: Any) -> tuple[dict[str, float], bool]:
    """``({feature: weight}, signed)``: linear weights or additive contributions (signed), or
    importances (unsigned)."""
    return exp.content.signed_weights()


def _rgba(weight: float, scale: float, signed: bool) -> tuple[tuple[int, int, int], float]:
    colour = UNSIGNED if not signed else (POSITIVE if weight >= 0 else NEGATIVE)
    alpha = 0.0 if scale <= 0 else min(1.0, abs(weight) / scale)
    return colour, round(0.15 + 0.75 * alpha, 3) if alpha > 0 else 0.0


def _scale(weights: dict[Any, float]) -> float:
    return max((abs(w) for w in weights.values()), default=0.0)


def _headline(exp: Any) -> str:
    return " &middot; ".join(html.escape(line) for line in caption_lines(exp))


# ---- text -------------------------------------------------------------------------------------
def text_to_html(exp: TextExplanation) -> str:
    """The query text with each token's background coloured by its feature's weight."""
    weights, signed = feature_weights(exp)
    scale = _scale(weights)
    text = exp.text
    parts, position = [], 0
    for token in exp.tokens:
        parts.append(html.escape(text[position : token.start]))
        parts.append(
            _token_span(token.text, token.feature, weights.get(token.feature), scale, signed)
        )
        position = token.end
    parts.append(html.escape(text[position:]))
    legend = "orange raises, blue lowers the output" if signed else "orange: importance"
    return (
        '<div class="surrogate-text" style="font-family:sans-serif;line-height:1.9">'
        f'<div style="font-size:85%;color:#555">{_headline(exp)} &middot; {legend}</div>'
        f"<div>{''.join(parts)}</div></div>"
    )


def _token_span(token: str, feature: str, weight: float | None, scale: float, signed: bool) -> str:
    if weight is None:
        return html.escape(token)
    (r, g, b), alpha = _rgba(weight, scale, signed)
    title = html.escape(f"{feature}: {weight:+.4g}", quote=True)
    return (
        f'<span style="background-color:rgba({r},{g},{b},{alpha});border-radius:3px;padding:0 2px" '
        f'title="{title}">{html.escape(token)}</span>'
    )
