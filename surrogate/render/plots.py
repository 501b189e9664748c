"""Small plots for reports and notebooks, drawn with matplotlib (no pyplot, no GUI backend).

Every function takes plain numbers (never an explanation object) and returns SVG
text (``*_svg``) or a matplotlib Figure (``*_figure``, what ``exp.plot()`` returns). Output is deterministic: figures are built without pyplot (no global figure
state), ``svg.hashsalt`` is fixed so element ids do not change between runs, and the
date metadata is removed. Text is drawn as glyph paths (``svg.fonttype = "path"``),
so no label from data ever reaches the SVG as markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ..errors import ParameterError, require

#: fixed salt for matplotlib's SVG ids, so the same plot gives byte-identical SVG
HASH_SALT = "surrogate-report"
_RC = {
    "svg.hashsalt": HASH_SALT,
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_BLUE = "#2f5d8a"
_ORANGE = "#d0743c"


def _figure(width: float = 4.6, height: float = 3.2):
    require("matplotlib.figure", "report")
    from .notebook import ExplanationFigure

    return ExplanationFigure(figsize=(width, height), dpi=100)


def _to_svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def _draw(draw, *args, width: float = 4.6, height: float = 3.2, **options) -> str:
    """Run ``draw(ax, *args, **options)`` on a fresh figure under the fixed rc settings;
    return SVG."""
    matplotlib = require("matplotlib", "report")
    with matplotlib.rc_context(_RC):
        return _to_svg(_drawn(draw, *args, width=width, height=height, **options))


def _drawn(draw, *args, width: float, height: float, **options):
    """A fresh figure with ``draw(ax, *args, **options)`` done on it (under the caller's rc
    settings)."""
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    draw(ax, *args, **options)
    fig.tight_layout()
    return fig


def _as_figure(draw, *args, width: float, height: float, ax: Any = None, **options):
    """A matplotlib Figure (no pyplot: nothing global) under the fixed rc settings; with
    ``ax``, the drawing is made into those axes (of any figure) and the axes returned."""
    matplotlib = require("matplotlib", "report")
    with matplotlib.rc_context(_RC):
        if ax is None:
            return _drawn(draw, *args, width=width, height=height, **options)
        draw(check_axes(ax), *args, **options)
        return ax


def drawn_figure(draw, *, width: float, height: float, ax: Any = None):
    """``draw(ax)`` on a fresh matplotlib Figure (returned), or into ``ax`` (returned), under
    the fixed rc settings."""
    return _as_figure(draw, width=width, height=height, ax=ax)


def figure_svg(fig) -> str:
    """A figure as SVG under the fixed rc settings: byte-identical for identical drawings."""
    matplotlib = require("matplotlib", "report")
    with matplotlib.rc_context(_RC):
        return _to_svg(fig)


def figure_png(fig, dpi: int = 100) -> bytes:
    """A figure as PNG bytes (no date or software version written, so identical drawings give
    identical bytes on one matplotlib)."""
    matplotlib = require("matplotlib", "report")
    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def check_axes(ax: Any) -> Any:
    """``ax`` when it is a matplotlib Axes; refused otherwise."""
    axes_module = require("matplotlib.axes", "report")
    if not isinstance(ax, axes_module.Axes):
        raise ParameterError(
            f"ax must be a matplotlib Axes (e.g. from plt.subplots()), got {type(ax).__name__}."
        )
    return ax


# ---- contributions ------------------------------------------------------------------------------
def _waterfall(
    ax,
    labels: Sequence[str],
    contributions: Sequence[float],
    baseline: float,
    *,
    scale: str,
    reference: str,
    black_box: float | None,
) -> None:
    """Bars from the reference to the surrogate at the query, largest contribution on top.

    The bottom bar starts at ``baseline``; each bar adds its contribution to the running
    total, so the top bar ends at ``baseline + sum(contributions)``.
    """
    order = sorted(range(len(labels)), key=lambda i: (abs(contributions[i]), -i))  # bottom up
    start = baseline
    ends = [baseline]
    for row, i in enumerate(order):
        c = contributions[i]
        ax.barh(row, c, left=start, height=0.6, color=_ORANGE if c > 0 else _BLUE)
        ax.text(
            start + c, row, f" {c:+.3g} ", va="center", ha="left" if c >= 0 else "right", fontsize=8
        )
        start += c
        ends.append(start)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([_short(labels[i]) for i in order])
    ax.axvline(
        baseline,
        color="#777777",
        linestyle="--",
        linewidth=1,
        label=f"reference {baseline:.3g} ({reference})",
    )
    ax.axvline(start, color="#222222", linewidth=1, label=f"surrogate at the query {start:.3g}")
    if black_box is not None:
        ends.append(black_box)
        ax.plot(
            [black_box],
            [len(order) - 0.4],
            marker="v",
            color="#222222",
            linestyle="none",
            label=f"black box at the query {black_box:.3g}",
        )
    low, high = min(ends), max(ends)
    pad = 0.25 * (high - low or 1.0)  # room for the values written beside the bars
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(-0.6, len(order) - 0.1)
    ax.set_xlabel(f"{scale}: orange raises it, blue lowers it", fontsize=8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False, fontsize=7, ncol=1)


def _short(label: str, width: int = 48) -> str:
    return label if len(label) <= width else label[: width - 1] + "\u2026"


def waterfall_svg(
    labels: Sequence[str],
    contributions: Sequence[float],
    baseline: float,
    *,
    scale: str,
    reference: str,
    black_box: float | None = None,
) -> str:
    """Waterfall of a linear explanation's contributions, from the reference to the query (SVG)."""
    return _draw(
        _waterfall,
        labels,
        contributions,
        baseline,
        **_waterfall_options(labels, scale=scale, reference=reference, black_box=black_box),
    )


def waterfall_figure(
    labels: Sequence[str],
    contributions: Sequence[float],
    baseline: float,
    *,
    scale: str,
    reference: str,
    black_box: float | None = None,
    ax: Any = None,
):
    """The waterfall of :func:`waterfall_svg` as a matplotlib Figure (drawn into ``ax``,
    and ``ax`` returned, when given)."""
    return _as_figure(
        _waterfall,
        labels,
        contributions,
        baseline,
        ax=ax,
        **_waterfall_options(labels, scale=scale, reference=reference, black_box=black_box),
    )


def _waterfall_options(labels: Sequence[str], **options: Any) -> dict[str, Any]:
    """The waterfall's options and its size: one row per label."""
    return {**options, "width": 6.4, "height": 1.9 + 0.32 * len(labels)}


def _bars(ax, labels: Sequence[str], values: Sequence[float], *, xlabel: str, signed: bool) -> None:
    """Horizontal bars, the first label on top."""
    rows = list(range(len(labels)))[::-1]
    colours = [(_ORANGE if v > 0 else _BLUE) if signed else _BLUE for v in values]
    ax.barh(rows, values, height=0.6, color=colours)
    ax.set_yticks(rows)
    ax.set_yticklabels([_short(label) for label in labels])
    ax.axvline(0, color="#555555", linewidth=0.6)
    ax.set_xlabel(xlabel, fontsize=8)


def bars_figure(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    xlabel: str,
    signed: bool = False,
    ax: Any = None,
):
    """Horizontal bars (first label on top) as a matplotlib Figure: importances or slopes
    (drawn into ``ax``, and ``ax`` returned, when given)."""
    return _as_figure(
        lambda axes: _bars(axes, labels, values, xlabel=xlabel, signed=signed),
        width=6.0,
        height=1.0 + 0.3 * len(labels),
        ax=ax,
    )


def calibration_svg(
    mean_predicted: Sequence[float], observed: Sequence[float], counts: Sequence[int]
) -> str:
    """Reliability diagram: observed rate against mean predicted probability, per bin."""

    def draw(ax):
        ax.plot(
            [0, 1],
            [0, 1],
            color="#999999",
            linestyle="--",
            linewidth=1,
            label="perfect calibration",
        )
        sizes = [12 + 60 * c / max(max(counts, default=1), 1) for c in counts]
        ax.plot(mean_predicted, observed, color=_BLUE, linewidth=1.2)
        ax.scatter(
            mean_predicted, observed, s=sizes, color=_BLUE, zorder=3, label="bins (area ~ rows)"
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability of the adverse class")
        ax.set_ylabel("observed share of the adverse class")
        ax.legend(loc="upper left", frameon=False)

    return _draw(draw)


def histogram_svg(
    values: Sequence[float],
    *,
    threshold: float | None,
    xlabel: str,
    threshold_label: str = "threshold",
    bins: int = 20,
) -> str:
    """Histogram of values with an optional vertical threshold line."""

    def draw(ax):
        if values:
            low = min(min(values), threshold if threshold is not None else min(values), 0.0)
            ax.hist(values, bins=bins, range=(low, 1.0), color=_BLUE, edgecolor="white")
        if threshold is not None:
            ax.axvline(threshold, color=_ORANGE, linewidth=1.5, label=threshold_label)
            ax.legend(loc="upper left", frameon=False)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("cases")

    return _draw(draw)


def sensitivity_svg(
    labels: Sequence[str], mean_r2: Sequence[float | None], mean_jaccard: Sequence[float]
) -> str:
    """Grouped bars: mean held-out R^2 and mean top-k Jaccard against the default, per setting."""

    def draw(ax):
        positions = list(range(len(labels)))
        r2 = [0.0 if v is None else v for v in mean_r2]
        ax.bar(
            [p - 0.2 for p in positions], r2, width=0.4, color=_BLUE, label="mean held-out R\u00b2"
        )
        ax.bar(
            [p + 0.2 for p in positions],
            mean_jaccard,
            width=0.4,
            color=_ORANGE,
            label="mean top-5 Jaccard vs default",
        )
        ax.set_xticks(positions)
        ax.set_xticklabels(labels, rotation=20, ha="right")
        ax.set_ylim(min(0.0, *r2) if r2 else 0.0, 1.05)
        ax.axhline(0, color="#555555", linewidth=0.6)
        # above the axes: inside them it covered the bars it names
        ax.legend(
            loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=8
        )

    return _draw(draw, width=5.4, height=3.4)


__all__ = [
    "HASH_SALT",
    "bars_figure",
    "calibration_svg",
    "check_axes",
    "drawn_figure",
    "figure_png",
    "figure_svg",
    "histogram_svg",
    "sensitivity_svg",
    "waterfall_figure",
    "waterfall_svg",
]
