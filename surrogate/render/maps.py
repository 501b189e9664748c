"""Drawings of text and image explanations from plain numbers (never an explanation object).

Text from data (words, class names) is drawn with ``parse_math=False``: a ``$`` in a
review stays a dollar sign rather than starting a formula.

* :func:`draw_segment_map`: the image in grey, each segment tinted by its weight on a
  symmetric diverging scale (blue lowers the output, orange raises it, white is zero,
  as in the waterfall of :mod:`.plots`), the segments' borders, and a colour bar;
  unsigned importances (trees, rule lists) on a white-to-orange scale from zero.
* :func:`draw_word_bars`: one horizontal bar per word, coloured on the same scale.

A segment outside the explanation is left untinted, so the image shows through it;
its borders still show where it lies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import require

BLUE, WHITE, ORANGE = "#2f5d8a", "#ffffff", "#d0743c"
#: opacity of the strongest tint over an image; a tint's opacity grows with |weight|, so
#: weak segments leave the image visible and zero is transparent
TINT_OPACITY = 0.85
#: the grey image is shown in this range of grey levels, so no tint falls on pure black
GREY_RANGE = (0.25, 0.95)
BORDER_COLOUR, HALO_COLOUR = "#262626", "#f2f2f2"


def colour_scale(limit: float, *, signed: bool) -> tuple[Any, Any]:
    """``(cmap, norm)``: blue-white-orange over ``[-limit, limit]``, or white-orange over
    ``[0, limit]``; a zero limit (no weight at all) spans ``[-1, 1]`` or ``[0, 1]``."""
    colors = require("matplotlib.colors", "report")
    span = limit if limit > 0 else 1.0
    if signed:
        cmap = colors.LinearSegmentedColormap.from_list(
            "surrogate-diverging", [BLUE, WHITE, ORANGE]
        )
        return cmap, colors.Normalize(-span, span)
    cmap = colors.LinearSegmentedColormap.from_list("surrogate-importance", [WHITE, ORANGE])
    return cmap, colors.Normalize(0.0, span)


def segment_borders(segments: np.ndarray) -> np.ndarray:
    """``(n, 2, 2)`` line segments along every pixel edge between two segments, in ``imshow``
    coordinates (pixel ``(i, j)`` spans ``j ± 0.5``, ``i ± 0.5``); runs along one edge are
    merged into one line."""
    vertical = segments[:, 1:] != segments[:, :-1]  # between column j and j + 1
    horizontal = segments[1:, :] != segments[:-1, :]  # between row i and i + 1
    lines = [
        [((j + 0.5, a - 0.5), (j + 0.5, b - 0.5)) for a, b in _runs(vertical[:, j])]
        for j in range(vertical.shape[1])
    ] + [
        [((a - 0.5, i + 0.5), (b - 0.5, i + 0.5)) for a, b in _runs(horizontal[i])]
        for i in range(horizontal.shape[0])
    ]
    flat = [line for group in lines for line in group]
    return np.array(flat, dtype=float).reshape(-1, 2, 2)


def border_path(lines: np.ndarray) -> Any:
    """The ``(n, 2, 2)`` lines as one matplotlib Path (one SVG element, not one per line: a
    photograph's few thousand border lines took 700 kB as separate elements)."""
    path = require("matplotlib.path", "report")
    codes = np.tile([path.Path.MOVETO, path.Path.LINETO], len(lines)).astype(np.uint8)
    return path.Path(lines.reshape(-1, 2), codes)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of True in a 1-D boolean array (end exclusive)."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def draw_segment_map(
    ax: Any,
    *,
    segments: np.ndarray,
    weights: dict[int, float],
    signed: bool,
    grey: np.ndarray | None,
    unit: str,
    title: Sequence[str],
) -> None:
    """The segment map of the module doc into ``ax`` (its colour bar beside it)."""
    patches = require("matplotlib.patches", "report")
    cm = require("matplotlib.cm", "report")
    limit = max((abs(w) for w in weights.values()), default=0.0)
    cmap, norm = colour_scale(limit, signed=signed)
    if grey is not None:
        low, high = GREY_RANGE
        ax.imshow(
            low + (high - low) * grey, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest"
        )
    ax.imshow(
        _tints(segments, weights, cmap, norm, limit, opaque=grey is None), interpolation="nearest"
    )
    borders = border_path(segment_borders(segments))
    # a light line under a dark one: a border shows on dark and on light pixels alike
    for colour, width in ((HALO_COLOUR, 1.6), (BORDER_COLOUR, 0.6)):
        ax.add_patch(
            patches.PathPatch(
                borders, fill=False, edgecolor=colour, linewidth=width, alpha=0.85, capstyle="butt"
            )
        )
    h, w = segments.shape
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("\n".join(title), fontsize=8.5, loc="left", parse_math=False)
    bar = ax.figure.colorbar(
        cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046, pad=0.03
    )
    bar.set_label(unit, fontsize=8, parse_math=False)
    bar.ax.tick_params(labelsize=7)


def _tints(
    segments: np.ndarray,
    weights: dict[int, float],
    cmap: Any,
    norm: Any,
    limit: float,
    *,
    opaque: bool,
) -> np.ndarray:
    """``(H, W, 4)`` RGBA: each weighted segment's colour, transparent elsewhere; over an
    image, as opaque as its share of the largest |weight| (of :data:`TINT_OPACITY`)."""
    table = np.zeros((int(segments.max()) + 1, 4))
    for label, weight in weights.items():
        table[label] = cmap(norm(weight))
        share = abs(weight) / limit if limit > 0 else 0.0
        table[label, 3] = 1.0 if opaque else TINT_OPACITY * share
    return table[segments]


def draw_word_bars(
    ax: Any,
    *,
    words: Sequence[str],
    weights: Sequence[float],
    signed: bool,
    unit: str,
    title: Sequence[str],
) -> None:
    """One bar per word, the first on top, coloured on the scale of :func:`colour_scale`."""
    limit = max((abs(w) for w in weights), default=0.0)
    cmap, norm = colour_scale(limit, signed=signed)
    rows = list(range(len(words)))[::-1]
    ax.barh(
        rows,
        weights,
        height=0.6,
        color=[cmap(norm(w)) for w in weights],
        edgecolor=BORDER_COLOUR,
        linewidth=0.5,
    )
    for row, weight in zip(rows, weights, strict=True):
        ax.text(
            weight,
            row,
            f" {weight:+.3g} ",
            va="center",
            ha="left" if weight >= 0 else "right",
            fontsize=7.5,
        )
    ax.set_yticks(rows)
    ax.set_yticklabels(list(words), parse_math=False)
    ax.axvline(0, color="#555555", linewidth=0.6)
    span = limit if limit > 0 else 1.0
    ax.set_xlim(-1.3 * span if signed else -0.05 * span, 1.3 * span)
    ax.set_ylim(-0.7, max(len(words), 1) - 0.3)
    ax.set_xlabel(unit, fontsize=8, parse_math=False)
    ax.set_title("\n".join(title), fontsize=8.5, loc="left", parse_math=False)


__all__ = [
    "border_path",
    "colour_scale",
    "draw_segment_map",
    "draw_word_bars",
    "segment_borders",
]
