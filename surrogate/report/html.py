"""Render ``report.html`` from the report document (the dict written to ``report.json``).

The template is rendered with ``autoescape=True`` and ``StrictUndefined``. Every
number is written through :meth:`Numbers.num`, which looks the value up in the
document by its dotted key and emits
``<span class="num" data-key="local.cases.0.fidelity.r2" data-digits="3">0.412</span>``:
the page can only show numbers the JSON holds, rounded for display, and a test can
check each one. Drawings are derived from the same document (plots from its
numbers, Graphviz drawings from the global surrogates' stored content) and enter the
page only through :func:`surrogate.render.html.sanitize_svg`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from ..errors import ParameterError, SurrogateError, require

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def lookup(document: Any, key: str) -> Any:
    """The value at a dotted key (list positions as integers): ``"local.cases.0.prediction"``."""
    node = document
    for part in key.split("."):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ParameterError(
                    f"Report key {key!r}: {part!r} is not a position in a list of {len(node)}."
                )
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                raise ParameterError(f"Report key {key!r}: no {part!r} among {sorted(node)}.")
            node = node[part]
        else:
            raise ParameterError(f"Report key {key!r}: cannot look up {part!r} in {node!r}.")
    return node


#: display formats: fixed decimals, scientific, or "value" (fixed, but whole numbers without decimals)
FORMATS = ("f", "e", "v")


def display(value: Any, digits: int, fmt: str = "f") -> str:
    """A number as the page shows it: integers as they are, floats rounded, None as n/a."""
    if fmt not in FORMATS:
        raise ParameterError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}.")
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"display() takes a number, got {value!r}.")
    if isinstance(value, int) or (fmt == "v" and float(value).is_integer() and abs(value) < 1e15):
        return str(int(value))
    return f"{value:.{digits}{'e' if fmt == 'e' else 'f'}}"


class Numbers:
    """Template helpers bound to one report document."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report

    def num(self, key: str, digits: int = 3, fmt: str = "f") -> Markup:
        """A number of the document, rounded, in a tagged span."""
        text = display(lookup(self.report, key), digits, fmt)
        return Markup(
            '<span class="num" data-key="{}" data-digits="{}" data-format="{}">{}</span>'
        ).format(key, digits, fmt, text)

    def val(self, key: str, digits: int = 3) -> Markup:
        """A value that may be a number (tagged) or text (escaped)."""
        value = lookup(self.report, key)
        if isinstance(value, bool) or isinstance(value, str):
            return escape(str(value))
        if value is None:
            return Markup("missing")
        return self.num(key, digits, "v")


# ---- drawings -------------------------------------------------------------------------------------
#: global surrogates the review fits, each shown with its held-out fidelity
GLOBAL_FAMILIES = ("tree", "rules", "additive")


def drawings(report: dict[str, Any]) -> dict[str, Any]:
    """Every drawing of the page, as sanitised inline SVG (or None with the reason in ``notes``)."""
    from ..render import plots
    from ..render.html import sanitize_svg

    out: dict[str, Any] = {"notes": {}}
    held_out = report["performance"]["held_out"]
    if held_out.get("calibration"):
        bins = held_out["calibration"]
        svg = plots.calibration_svg(
            [b["mean_predicted"] for b in bins],
            [b["observed"] for b in bins],
            [b["count"] for b in bins],
        )
        out["calibration"] = Markup(sanitize_svg(svg, id_prefix="cal-"))
    values = [r["r2"] for r in report["fidelity"]["rows"] if r["r2"] is not None]
    svg = plots.histogram_svg(
        values,
        threshold=report["fidelity"]["min_fidelity"],
        xlabel="local held-out R\u00b2",
        threshold_label=(
            "minimum fidelity"  # a regression review gives no reasons
            if held_out.get("task") == "regression"
            else "minimum fidelity for automatic reasons"
        ),
    )
    out["fidelity"] = Markup(sanitize_svg(svg, id_prefix="fid-"))
    settings = report["sensitivity"]["settings"]
    if report["sensitivity"]["n_cases"]:
        svg = plots.sensitivity_svg(
            [s["label"] for s in settings],
            [s["mean_r2"] for s in settings],
            [s["mean_jaccard_vs_default"] for s in settings],
        )
        out["sensitivity"] = Markup(sanitize_svg(svg, id_prefix="sens-"))
    for family in GLOBAL_FAMILIES:
        out[family], out["notes"][family] = _global_drawing(
            report["global"][family], prefix=f"g{family}-", unit=report["scope"].get("unit")
        )
    out["cases"] = [
        _waterfall(case, prefix=f"wf{i}-") for i, case in enumerate(report["local"]["cases"])
    ]
    out["shapes"] = [
        [_shape(shape, prefix=f"sh{i}-{j}-") for j, shape in enumerate(case.get("shapes", ()))]
        for i, case in enumerate(report["local"]["cases"])
    ]
    return out


def _shape(shape: dict[str, Any], *, prefix: str) -> dict[str, Any]:
    """One additive term's shape with the applicant's value marked, and what its axes span
    (the drawing holds no text)."""
    from ..render.html import sanitize_svg
    from ..render.shapes import (
        axes_text,
        category_shape_svg,
        category_span,
        number_shape_range,
        number_shape_svg,
    )
    from ..schema import number_value

    if shape["kind"] == "number":
        drawn = {k: shape[k] for k in ("edges", "heights", "slope", "origin", "low", "high")}
        drawn["query"] = None if shape["value"] is None else number_value(shape["value"])
        drawn["missing"] = shape["missing"]
        svg = number_shape_svg(**drawn)
        span = number_shape_range(**drawn)  # what that very drawing's vertical axis spans
        across = f"{shape['feature']} from {shape['low']:g} to {shape['high']:g}"
    else:
        heights = list(shape["heights"]) + (
            [] if shape["other_height"] is None else [shape["other_height"]]
        )
        labels = list(shape["categories"]) + ([] if shape["other_height"] is None else ["other"])
        label = "missing" if shape["value"] is None else str(shape["value"])
        svg = category_shape_svg(heights, labels.index(label) if label in labels else None)
        span = category_span(heights)
        across = "bars: " + ", ".join(labels)
    return {
        "svg": Markup(sanitize_svg(svg, id_prefix=prefix)),
        "axes": axes_text(across, span),
    }


def _waterfall(case: dict[str, Any], *, prefix: str) -> Markup | None:
    """A case's contributions from the reference to the surrogate at the case (None without them)."""
    from ..render import plots
    from ..render.html import sanitize_svg
    from ..render.text import mean_over, value_text

    terms = [t for t in case["terms"] if t["contribution"] is not None]
    if case.get("baseline") is None or not terms:
        return None
    svg = plots.waterfall_svg(
        [f"{t['feature']} = {value_text(t['value'])}" for t in terms],
        [t["contribution"] for t in terms],
        case["baseline"],
        scale=case["unit"],
        reference=mean_over(case["reference"], short=True),
        black_box=case["prediction_in_scale"],
    )
    return Markup(sanitize_svg(svg, id_prefix=prefix))


def _global_drawing(
    section: dict[str, Any], *, prefix: str, unit: str | None = None
) -> tuple[Markup | None, str | None]:
    """A global surrogate's drawing; ``unit`` names the output's scale where the document
    states one (a regression review: "predicted lgd")."""
    if not section.get("available"):
        return None, "not fitted"
    from ..explanation import GlobalExplanation
    from ..render.dot import render
    from ..render.html import sanitize_svg

    try:
        glob = GlobalExplanation.from_json(json.dumps(section["explanation"]))
        from ..render.html import global_picture
        from ..render.text import scale_label

        scale = unit or scale_label(glob.meta["target"], glob.meta["link"])
        picture = global_picture(glob.content, scale)  # additive shapes, not a graph
        if picture is not None:
            return Markup(picture), None
        svg = render(glob.to_dot(), "svg")
        return Markup(sanitize_svg(svg, id_prefix=prefix)), None
    except (SurrogateError, ImportError) as exc:
        return None, f"drawing not available: {exc}"


#: control characters a page would carry raw (NUL, escapes, DEL, C1) and the bidirectional
#: marks that reorder text; tab and line breaks are plain white space in HTML
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(value: Any) -> Any:
    """Text written into the page with its control characters as visible escapes
    (``\\x00``); markup the page builds itself (``Markup``) and non-text values as they are."""
    if type(value) is not str:
        return value
    return _HIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


# ---- page -------------------------------------------------------------------------------------------
def render_report_html(report: dict[str, Any]) -> str:
    """The self-contained HTML page of a report document.

    The page states the SHA-256 of the document's ``report.json`` text (in a ``<meta
    name="report-json-sha256">`` tag and in the reproducibility record).
    """
    jinja2 = require("jinja2", "report")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=visible_controls,
    )
    from .document import report_json_sha256

    numbers = Numbers(report)
    template = env.get_template("report.html.j2")
    return template.render(
        report=report,
        num=numbers.num,
        val=numbers.val,
        drawings=drawings(report),
        csp=CSP,
        json_sha256=report_json_sha256(report),
    )
