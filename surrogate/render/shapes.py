"""Small inline SVG drawings of additive shape functions, with the query marked.

Every function takes plain numbers (never an explanation object) and returns an SVG
document with no text, no ids and no reference to anything outside it, so it can be
inlined in a report whose content security policy forbids every request (it still
goes through :func:`surrogate.render.html.sanitize_svg`, like every drawing). Output
is deterministic: coordinates are rounded to 0.1 px.

- :func:`number_shape_svg`: the step curve (a line inside each bin) over the sampled
  range; the query is a dot, a missing value's height a separate square on the right.
- :func:`category_shape_svg`: one bar per category from zero, the query's filled.
- :func:`pair_shape_svg`: the grid of heights as shaded cells (blue above zero,
  orange below), the query's cell outlined.
"""

from __future__ import annotations

from collections.abc import Sequence

WIDTH = 160
HEIGHT = 48
PAD = 4
BLUE = "#2f5d8a"
ORANGE = "#d0743c"
GREY = "#999999"


def number_shape_svg(
    edges: Sequence[float],
    heights: Sequence[float],
    slope: float,
    origin: float,
    low: float,
    high: float,
    query: float | None,
    missing: float | None = None,
) -> str:
    """A number's shape: ``heights[b] + slope * (x - origin)`` on each bin, from ``low`` to ``high``."""
    segments = _segments(edges, heights, slope, origin, low, high)
    query_point = (
        None if query is None else (query, _shape_at(edges, heights, slope, origin, query))
    )
    plot_right = WIDTH - PAD - (14 if missing is not None else 0)
    to_x = _scale(low, high, PAD, plot_right)
    bottom, top = number_shape_range(edges, heights, slope, origin, low, high, query, missing)
    to_y = _scale(bottom, top, HEIGHT - PAD, PAD)
    parts = [_zero_line(to_y, PAD, plot_right)]
    for segment in segments:
        points = " ".join(f"{_c(to_x(x))},{_c(to_y(y))}" for x, y in segment)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{BLUE}" stroke-width="1.5"/>'
        )
    for left, right in zip(segments[:-1], segments[1:], strict=True):  # the jumps, dotted
        (x0, y0), (x1, y1) = left[-1], right[0]
        parts.append(
            f'<line x1="{_c(to_x(x0))}" y1="{_c(to_y(y0))}" x2="{_c(to_x(x1))}" y2="{_c(to_y(y1))}" '
            f'stroke="{BLUE}" stroke-width="0.6" stroke-dasharray="1,1"/>'
        )
    if missing is not None:
        fill = ORANGE if query is None else "white"
        parts.append(
            f'<rect x="{WIDTH - PAD - 6}" y="{_c(to_y(missing) - 3)}" width="6" height="6" '
            f'fill="{fill}" stroke="{ORANGE}"/>'
        )
    if query_point is not None:
        parts.append(_dot(to_x(query_point[0]), to_y(query_point[1])))
    return _svg(parts)


def category_shape_svg(heights: Sequence[float], query_index: int | None) -> str:
    """One bar per category (in order), from zero to its height; the query's filled."""
    n = max(1, len(heights))
    to_y = _scale(*category_span(heights), HEIGHT - PAD, PAD)
    slot = (WIDTH - 2 * PAD) / n
    zero = to_y(0.0)
    parts = [_zero_line(to_y, PAD, WIDTH - PAD)]
    for i, h in enumerate(heights):
        top, bottom = sorted((to_y(h), zero))
        fill = ORANGE if i == query_index else BLUE
        parts.append(
            f'<rect x="{_c(PAD + i * slot + 0.15 * slot)}" y="{_c(top)}" width="{_c(0.7 * slot)}" '
            f'height="{_c(max(bottom - top, 0.5))}" fill="{fill}"/>'
        )
    return _svg(parts)


def pair_shape_svg(heights: Sequence[Sequence[float]], query_cell: tuple[int, int]) -> str:
    """A grid of heights (rows: the first feature's levels), the query's cell outlined."""
    rows, cols = len(heights), max(1, max((len(r) for r in heights), default=1))
    largest = max((abs(h) for row in heights for h in row), default=0.0) or 1.0
    side = min((HEIGHT - 2 * PAD) / max(rows, 1), (WIDTH - 2 * PAD) / cols)
    parts = []
    for i, row in enumerate(heights):
        for j, h in enumerate(row):
            colour = BLUE if h >= 0 else ORANGE
            parts.append(
                f'<rect x="{_c(PAD + j * side)}" y="{_c(PAD + i * side)}" width="{_c(side)}" '
                f'height="{_c(side)}" fill="{colour}" fill-opacity="{abs(h) / largest:.2f}" '
                f'stroke="{GREY}" stroke-width="0.3"/>'
            )
    qi, qj = query_cell
    parts.append(
        f'<rect x="{_c(PAD + qj * side)}" y="{_c(PAD + qi * side)}" width="{_c(side)}" '
        f'height="{_c(side)}" fill="none" stroke="black" stroke-width="1.5"/>'
    )
    return _svg(parts)


def number_shape_range(
    edges: Sequence[float],
    heights: Sequence[float],
    slope: float,
    origin: float,
    low: float,
    high: float,
    query: float | None = None,
    missing: float | None = None,
) -> tuple[float, float]:
    """The lowest and highest value :func:`number_shape_svg` draws, given the same query and
    missing height: what its vertical axis spans (zero included: its grey line is at zero)."""
    ys = [y for segment in _segments(edges, heights, slope, origin, low, high) for _, y in segment]
    if missing is not None:
        ys.append(missing)
    if query is not None:
        ys.append(_shape_at(edges, heights, slope, origin, query))
    return min([*ys, 0.0]), max([*ys, 0.0])


def category_span(heights: Sequence[float]) -> tuple[float, float]:
    """The lowest and highest value :func:`category_shape_svg` draws (zero included)."""
    return min([*heights, 0.0]), max([*heights, 0.0])


def axes_text(across: str, span: tuple[float, float]) -> str:
    """What a shape's drawing spans, in words (the drawing holds no text)."""
    return f"across: {across}; up: effect from {span[0]:+.3f} to {span[1]:+.3f}"


# ---- helpers ---------------------------------------------------------------------------------
def _segments(edges, heights, slope, origin, low, high) -> list[list[tuple[float, float]]]:
    """The curve inside each bin that meets the sampled range, as (x, y) end points."""
    bounds = [low] + [e for e in edges] + [high]
    out = []
    for b, h in enumerate(heights):
        left, right = max(bounds[b], low), min(bounds[b + 1], high)
        if right < left:
            continue
        out.append([(x, h + slope * (x - origin)) for x in (left, right)])
    return out


def _shape_at(edges, heights, slope, origin, x: float) -> float:
    b = sum(1 for e in edges if e <= x)
    return heights[b] + slope * (x - origin)


def _scale(lo: float, hi: float, out_lo: float, out_hi: float):
    span = hi - lo
    if span <= 0:
        middle = (out_lo + out_hi) / 2
        return lambda v: middle
    return lambda v: out_lo + (v - lo) / span * (out_hi - out_lo)


def _zero_line(to_y, left: float, right: float) -> str:
    y = _c(to_y(0.0))
    return f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="{GREY}" stroke-width="0.5"/>'


def _dot(x: float, y: float) -> str:
    return f'<circle cx="{_c(x)}" cy="{_c(y)}" r="3" fill="{ORANGE}" stroke="white" stroke-width="0.8"/>'


def _c(value: float) -> str:
    return f"{value:.1f}"


def _svg(parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">' + "".join(parts) + "</svg>"
    )


__all__ = [
    "axes_text",
    "category_shape_svg",
    "category_span",
    "number_shape_range",
    "number_shape_svg",
    "pair_shape_svg",
]
