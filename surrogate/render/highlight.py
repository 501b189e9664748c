"""Pictures of text and image explanations: highlighted HTML, PNG and SVG heatmaps.

Colours: for a linear surrogate, green marks a word or segment whose presence
raises the explained output and red one that lowers it, with opacity
proportional to ``|weight| / max |weight|``; trees and rule lists have unsigned
importances, drawn in orange. Components outside the explanation stay plain.

Text is rendered as HTML in which *every* piece of the input (tokens, the text
between them, feature names in tooltips) goes through :func:`html.escape`, so
hostile text such as ``<script>`` shows as text. PNGs are encoded here with
:mod:`zlib` (no plotting library needed, and identical inputs give identical
bytes); SVGs draw each segment as rectangles merged from its pixel runs,
titled with the segment's weight, over the image when one is given.
"""

from __future__ import annotations

import base64
import html
import struct
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    from ..explanation import ImageExplanation, TextExplanation

POSITIVE = (26, 150, 65)  # green: presence raises the output
NEGATIVE = (215, 48, 39)  # red: presence lowers it
UNSIGNED = (230, 120, 20)  # orange: importance of a tree or rule list
#: small images are enlarged to at least this many pixels on their longer side
MIN_RENDER_SIZE = 256


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
    r2 = exp.fidelity.r2
    fidelity = "n/a" if r2 is None else f"{r2:.3f}"
    return (
        f"{html.escape(str(exp.meta.target))}: {exp.prediction:.3f} &middot; {html.escape(exp.family)} "
        f"surrogate &middot; held-out R&sup2; {fidelity}"
    )


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
    legend = "green raises, red lowers the output" if signed else "orange: importance"
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


# ---- images -----------------------------------------------------------------------------------
def segment_weights(exp: ImageExplanation) -> tuple[dict[int, float], bool]:
    """``({segment label: weight}, signed)``."""
    from ..sampling.image import segment_label

    weights, signed = feature_weights(exp)
    return {segment_label(name): w for name, w in weights.items()}, signed


def segment_heatmap(exp: ImageExplanation) -> np.ndarray:
    """``(H, W)`` float array: each pixel carries its segment's weight (0 outside the explanation)."""
    weights, _ = segment_weights(exp)
    table = np.zeros(int(exp.segments.max()) + 1)
    for label, weight in weights.items():
        table[label] = weight
    return table[exp.segments]


def _grey(image: Any, shape: tuple[int, int]) -> np.ndarray | None:
    """The image as ``(H, W)`` grey levels in [0, 1], or None when no image is given."""
    if image is None:
        return None
    from ..sampling.image import as_image

    pixels = as_image(image).pixels
    if pixels.shape[:2] != shape:
        raise DataError(
            f"The image has shape {pixels.shape[:2]} but the explanation's segments have shape {shape}."
        )
    grey = pixels.mean(axis=2)
    low, high = grey.min(), grey.max()
    return (grey - low) / (high - low) if high > low else np.zeros_like(grey)


def overlay_rgb(exp: ImageExplanation, image: Any = None) -> np.ndarray:
    """``(H, W, 3)`` uint8: weight colours blended over the grey image (or over white)."""
    weights, signed = segment_weights(exp)
    scale = _scale(weights)
    grey = _grey(image, exp.segments.shape)
    base = np.ones(exp.segments.shape) if grey is None else 0.35 + 0.65 * grey
    rgb = np.repeat(base[:, :, None], 3, axis=2) * 255.0
    for label, weight in weights.items():
        colour, alpha = _rgba(weight, scale, signed)
        inside = exp.segments == label
        rgb[inside] = (1 - alpha) * rgb[inside] + alpha * np.array(colour, dtype=float)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _upscale(rgb: np.ndarray) -> np.ndarray:
    factor = max(1, int(np.ceil(MIN_RENDER_SIZE / max(rgb.shape[:2]))))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an ``(H, W, 3)`` uint8 array as a PNG (8-bit RGB, no filter)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].astype(np.uint8).tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def image_to_png(exp: ImageExplanation, image: Any = None) -> bytes:
    """PNG of the heatmap overlay, enlarged (nearest neighbour) so small images stay visible."""
    return png_bytes(_upscale(overlay_rgb(exp, image)))


def _row_runs(row: np.ndarray) -> set[tuple[int, int, int]]:
    edges = np.flatnonzero(np.diff(row)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(row)]])
    return {(int(row[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)}


def image_to_svg(exp: ImageExplanation, image: Any = None) -> str:
    """SVG: the grey image (embedded PNG) when given, and one titled group of rectangles per segment."""
    segments = exp.segments
    h, w = segments.shape
    size = max(1, int(np.ceil(MIN_RENDER_SIZE / max(h, w))))
    weights, signed = segment_weights(exp)
    scale = _scale(weights)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * size}" height="{h * size}" '
        f'viewBox="0 0 {w} {h}" shape-rendering="crispEdges">'
    ]
    grey = _grey(image, (h, w))
    if grey is not None:
        rgb = np.repeat(np.round(grey * 255).astype(np.uint8)[:, :, None], 3, axis=2)
        data = base64.b64encode(png_bytes(rgb)).decode("ascii")
        parts.append(
            f'<image width="{w}" height="{h}" style="image-rendering:pixelated" '
            f'href="data:image/png;base64,{data}"/>'
        )
    by_label: dict[int, list[str]] = {}
    for label, x, y, rw, rh in _merged_rects(segments):
        by_label.setdefault(label, []).append(f'<rect x="{x}" y="{y}" width="{rw}" height="{rh}"/>')
    for label in sorted(by_label):
        weight = weights.get(label)
        if weight is None:
            fill, opacity, title = "none", 0.0, f"segment {label}: not in the explanation"
        else:
            (r, g, b), opacity = _rgba(weight, scale, signed)
            fill, title = f"rgb({r},{g},{b})", f"segment {label}: {weight:+.4g}"
        parts.append(
            f'<g fill="{fill}" fill-opacity="{opacity}" stroke="#444" stroke-opacity="0.4" '
            f'stroke-width="{1 / size:.4g}"><title>{html.escape(title)}</title>{"".join(by_label[label])}</g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _merged_rects(segments: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """``(label, x, y, width, height)`` rectangles: each row's runs, merged with identical runs below."""
    active: dict[tuple[int, int, int], int] = {}  # run -> first row it appeared in (still open)
    rects: list[tuple[int, int, int, int, int]] = []
    h = segments.shape[0]
    for y in range(h + 1):
        current = _row_runs(segments[y]) if y < h else set()
        for run in sorted(set(active) - current):
            label, x0, x1 = run
            top = active.pop(run)
            rects.append((label, x0, top, x1 - x0, y - top))
        for run in sorted(current - set(active)):
            active[run] = y
    return sorted(rects, key=lambda r: (r[2], r[1]))
