"""HTML rendering: explanation fragments for notebooks, and safe inline SVG for reports.

Everything that comes from data is escaped with :func:`html.escape`; nothing here
emits script. :func:`sanitize_svg` is the only way a drawing (matplotlib or
Graphviz output) enters an HTML page: it drops scripts, event handlers, foreign
content and external references, and gives each drawing its own id prefix so that
several inline SVGs on one page cannot collide.

:func:`explanation_repr_html`, :func:`explanation_set_repr_html` and
:func:`global_repr_html` are what ``Explanation._repr_html_``,
``ExplanationSet._repr_html_`` and ``GlobalExplanation._repr_html_`` show in notebooks;
each shows the explanation's notes and warnings.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import singledispatch
from html import escape
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError
from ..schema import number_value
from ..surrogates.base import (
    AdditiveContent,
    AdditiveTerm,
    CategoryShape,
    LinearContent,
    NumberShape,
    PairTerm,
    RuleContent,
)
from .shapes import (
    axes_text,
    category_shape_svg,
    category_span,
    number_shape_range,
    number_shape_svg,
    pair_shape_svg,
)
from .text import (
    baseline_lines,
    contribution_rows,
    explained_scale,
    fidelity_line,
    fmt,
    mean_over,
    others_label,
    output_line,
    per_unit_text,
    rule_line,
    scale_label,
    scope_lines,
    slope_basis,
    stability_line,
)

if TYPE_CHECKING:
    from ..explanation import Explanation, ExplanationSet, GlobalExplanation

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
#: elements that can run code, embed other documents or fetch resources
_DROPPED_ELEMENTS = frozenset(
    {
        "script",
        "foreignObject",
        "iframe",
        "object",
        "embed",
        "image",
        "audio",
        "video",
        "a",
        "animate",
        "set",
        "animateMotion",
        "animateTransform",
        "handler",
        "listener",
    }
)
_XML_PREAMBLE = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>\[]*(\[[^\]]*\])?\s*>", re.IGNORECASE)
_URL_REF = re.compile(r"url\(\s*#([^)\s]+)\s*\)")
_UNSAFE_CSS = re.compile(r"@import|expression\s*\(|url\(\s*(?!#)|javascript:", re.IGNORECASE)


# ---- SVG ----------------------------------------------------------------------------------------
def sanitize_svg(svg: str | bytes, *, id_prefix: str) -> str:
    """An SVG document made safe to inline in HTML, as one ``<svg>`` element.

    The result is meant for an HTML page, where inline ``<svg>`` needs no ``xmlns``
    (none is written, so the page references no URL at all).

    Drops scripts, foreign objects, links, images and animations; event-handler
    attributes; references to anything outside the drawing; CSS that imports or
    fetches. Ids are prefixed with ``id_prefix`` (references follow). A document
    that declares entities is refused.

    Examples
    --------
    >>> sanitize_svg('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script><g id="a"/></svg>',
    ...              id_prefix="p-")
    '<svg><g id="p-a" /></svg>'
    """
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    if "<!ENTITY" in text.upper():
        raise ParameterError("sanitize_svg refuses an SVG that declares entities.")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", id_prefix):
        raise ParameterError(f"id_prefix must be letters, digits, '-' or '_', got {id_prefix!r}.")
    try:
        root = ET.fromstring(_XML_PREAMBLE.sub("", text).strip())
    except ET.ParseError as exc:
        raise ParameterError(f"sanitize_svg could not parse the drawing: {exc}") from exc
    if _local(root.tag) != "svg":
        raise ParameterError(f"sanitize_svg expects an <svg> document, got <{_local(root.tag)}>.")
    _clean(root, id_prefix)
    return _serialise(root)


def _serialise(element: ET.Element) -> str:
    """XML text of a cleaned tree: local names only (the namespace is on the root), all escaped."""
    name = _local(element.tag)
    attributes = "".join(
        f' {_local(k)}="{escape(v, quote=True)}"' for k, v in element.attrib.items()
    )
    inner = escape(element.text or "", quote=False) + "".join(
        _serialise(child) for child in element
    )
    tail = escape(element.tail or "", quote=False)
    if not inner:
        return f"<{name}{attributes} />{tail}"
    return f"<{name}{attributes}>{inner}</{name}>{tail}"


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _clean(element: ET.Element, prefix: str) -> None:
    for child in list(element):
        name = _local(child.tag)
        if (
            not isinstance(child.tag, str)
            or name in _DROPPED_ELEMENTS
            or not child.tag.startswith("{" + SVG_NS)
        ):
            element.remove(child)
        elif name == "style" and _UNSAFE_CSS.search(child.text or ""):
            element.remove(child)
        else:
            _clean(child, prefix)
    _clean_attributes(element, prefix)


def _clean_attributes(element: ET.Element, prefix: str) -> None:
    for key in list(element.attrib):
        value = element.attrib.pop(key)
        name = _local(key)
        if name.lower().startswith("on") or "javascript:" in value.lower():
            continue
        if key.startswith("{") and not key.startswith("{" + XLINK_NS):
            continue  # foreign-namespace attributes (xml:space and the like: not needed inline)
        if name == "href":
            if value.startswith("#"):
                # SVG 2 plain href: no xlink namespace needed inline
                element.set("href", "#" + prefix + value[1:])
            continue
        if name == "id":
            element.set("id", prefix + value)
            continue
        if name == "style" and _UNSAFE_CSS.search(value):
            continue
        element.set(key, _URL_REF.sub(lambda m: f"url(#{prefix}{m.group(1)})", value))


# ---- explanations --------------------------------------------------------------------------------
def _number(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _value(value: Any) -> str:
    if value is None:
        return "missing"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _right(text: str) -> str:
    return f'<td style="text-align:right">{text}</td>'


@singledispatch
def content_html(content: Any, exp: Explanation, scale: str) -> str:
    """The surrogate itself as an HTML fragment (one renderer per family)."""
    raise ParameterError(f"No HTML rendering for {type(content).__name__}.")


@singledispatch
def global_content_html(content: Any, scale: str, link: str) -> str:
    """A global surrogate itself as an HTML fragment: its rules (tree, rule list)."""
    return _rule_list(content, scale, link)


@singledispatch
def global_picture(content: Any, scale: str) -> str | None:
    """An HTML picture of a global surrogate that is not drawn as a graph (additive
    shapes); None for the families drawn as a graph."""
    return None


@content_html.register(LinearContent)
def _local_linear(content: LinearContent, exp: Explanation, scale: str) -> str:
    return _linear_table(content, scale)


@content_html.register(RuleContent)
def _local_rules(content: RuleContent, exp: Explanation, scale: str) -> str:
    return _rule_list(content, scale, exp.meta.link)


@content_html.register(AdditiveContent)
def _local_additive(content: AdditiveContent, exp: Explanation, scale: str) -> str:
    return _additive_table(exp, content)


@global_content_html.register(LinearContent)
def _global_slopes(content: LinearContent, scale: str, link: str) -> str:
    slopes = "".join(
        f"<tr><td>{escape(t.feature)}</td>{_right(f'{t.weight:+.4f}')}</tr>" for t in content.terms
    )
    return (
        f"<p>Intercept {content.intercept:.4f}; slopes in {escape(scale)}, per training "
        "standard deviation of a number, or for a category other than the most frequent one.</p>"
        f"<table><thead><tr><th>feature</th><th>slope</th></tr></thead><tbody>{slopes}</tbody></table>"
    )


@global_content_html.register(AdditiveContent)
def _global_additive(content: AdditiveContent, scale: str, link: str) -> str:
    return global_shapes(content, scale)


@global_picture.register(AdditiveContent)
def _global_additive_picture(content: AdditiveContent, scale: str) -> str:
    return global_shapes(content, scale)


def _linear_table(content: LinearContent, scale: str) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{escape(t.feature)}</td><td>{escape(_value(t.value))}</td>"
        + _right("" if t.contribution is None else f"{t.contribution:+.4f}")
        + _right(f"{t.weight:+.4f}")
        + _right(escape(per_unit_text(t)))
        + "</tr>"
        for t in content.terms
    )
    lines = "".join(f"<p>{escape(line)}</p>" for line in baseline_lines(content, scale))
    return (
        f"{lines}<table><thead><tr><th>feature</th><th>value at query</th>"
        f"<th>contribution ({escape(scale)})</th><th>slope ({escape(slope_basis(content.terms))})</th>"
        f"<th>slope per unit</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _rule_list(content: RuleContent, scale: str, link: str) -> str:
    ordered = content.ordered
    bold = ' style="font-weight:bold"'
    items = "".join(
        f"<li{bold if rule.fires else ''}>{escape(rule_line(rule, i, ordered=ordered, link=link))}</li>"
        for i, rule in enumerate(content.rules)
    )
    return f"<p>Rule predictions in {escape(scale)}:</p><ol>{items}</ol>"


def _remarks(notes: Any, warnings: Any = (), fidelity_note: str | None = None) -> str:
    """Fidelity note, notes and warnings, each in its own paragraph."""
    out = "" if not fidelity_note else f"<p><em>{escape(fidelity_note)}</em></p>"
    out += "".join(f"<p><em>Note: {escape(n)}</em></p>" for n in notes)
    return out + "".join(f"<p><em>Warning: {escape(w)}</em></p>" for w in warnings)


def _additive_table(exp: Explanation, content: AdditiveContent) -> str:
    """Contributions, largest first, each with its shape drawn and the query marked."""
    shown, others = contribution_rows(content)
    rows = "".join(
        "<tr>"
        f"<td>{escape(r.label)}</td><td>{escape(r.value)}</td>"
        f'<td style="text-align:right">{r.contribution:+.4f}</td>'
        f"<td>{sanitize_svg(shape_svg(r.term), id_prefix=f'shape{i}-')}</td>"
        "</tr>"
        for i, r in enumerate(shown)
    )
    if others:
        total = sum(r.contribution for r in others)
        rows += (
            f"<tr><td>{escape(others_label(others))}</td><td></td>"
            f'<td style="text-align:right">{total:+.4f}</td><td></td></tr>'
        )
    return (
        "<table><thead><tr><th>feature</th><th>value at query</th>"
        f"<th>contribution ({escape(explained_scale(exp))})</th><th>shape (query marked)</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        f"<p>The surrogate's {escape(mean_over(content.reference))}: {content.intercept:+.4f}; "
        f"surrogate at the query: {content.at_query:+.4f}</p>"
    )


def global_shapes(content: AdditiveContent, scale: str) -> str:
    """A global additive surrogate: each shape over the data set, largest spread first, with
    what its axes span beside it (the drawing itself holds no text)."""
    rows = "".join(
        f"<tr><td>{escape(t.feature)}</td><td>{sanitize_svg(shape_svg(t), id_prefix=f'g{i}-')}</td>"
        f"<td>{escape(shape_axes(t))}</td></tr>"
        for i, t in enumerate(content.terms)
    )
    return (
        f"<p>Mean over the data {content.intercept:+.4f} ({escape(scale)}); each shape is a "
        f"feature's effect in {escape(scale)}, centred on the data; the grey line is zero.</p>"
        "<table><thead><tr><th>feature</th><th>shape</th><th>axes</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def shape_axes(term: AdditiveTerm) -> str:
    """What a shape's drawing spans: its feature's values left to right (a number's range,
    or its categories in the order of the bars) and its effect bottom to top."""
    shape = term.shape
    if isinstance(shape, NumberShape):
        span = number_shape_range(
            shape.edges, shape.heights, shape.slope, shape.origin, shape.low, shape.high
        )
        return axes_text(f"{term.feature} from {shape.low:g} to {shape.high:g}", span)
    heights = [*shape.heights, *([] if shape.other_height is None else [shape.other_height])]
    labels = [*shape.categories, *([] if shape.other_height is None else ["other"])]
    return axes_text("bars: " + ", ".join(labels), category_span(heights))


def shape_svg(term: AdditiveTerm | PairTerm) -> str:
    """The drawing of one additive term (see :mod:`surrogate.render.shapes`)."""
    if isinstance(term, PairTerm):
        return pair_shape_svg(term.heights, _query_cell(term))
    shape = term.shape
    if isinstance(shape, NumberShape):
        query = None if term.value is None else number_value(term.value)
        return number_shape_svg(
            shape.edges,
            shape.heights,
            shape.slope,
            shape.origin,
            shape.low,
            shape.high,
            query,
            shape.missing,
        )
    return _category_svg(term, shape)


def _category_svg(term: AdditiveTerm, shape: CategoryShape) -> str:
    label = "missing" if term.value is None else str(term.value)
    index = shape.categories.index(label) if label in shape.categories else None
    heights = list(shape.heights) + ([] if shape.other_height is None else [shape.other_height])
    return category_shape_svg(heights, index)


def _query_cell(pair: PairTerm) -> tuple[int, int]:
    """The grid cell holding the query's two values."""
    cell = []
    for axis, value in zip(pair.axes, pair.values, strict=True):
        if axis.kind == "number":
            if value is None:
                cell.append(len(axis.edges) + 1)
            else:
                cell.append(sum(1 for e in axis.edges if e <= number_value(value)))
        else:
            label = "missing" if value is None else str(value)
            cell.append(next(g for g, labels in enumerate(axis.groups) if label in labels))
    return cell[0], cell[1]


def explanation_to_html(exp: Explanation) -> str:
    """One explanation as a self-contained HTML fragment (no script, no external resource)."""
    m = exp.meta
    scale = explained_scale(exp)
    body = content_html(exp.content, exp, scale)
    return (
        '<div class="surrogate-explanation">'
        f"<h4>Explanation of {escape(str(m.target))} ({escape(exp.family)} surrogate, "
        f"fitted in {escape(scale)})</h4>"
        f"<p>{escape(output_line(exp))}</p>"
        + "".join(f"<p>{escape(line)}</p>" for line in scope_lines(exp))
        + f"<p>Fidelity: {escape(fidelity_line(exp))}</p>"
        f"<p>Stability: {escape(stability_line(exp))}</p>"
        f"{body}{_remarks(exp.notes, exp.warnings, exp.fidelity.note)}</div>"
    )


def global_to_html(glob: GlobalExplanation) -> str:
    """A global surrogate as a self-contained HTML fragment: fidelity, complexity, rules or slopes."""
    f = glob.fidelity
    link = glob.meta["link"]
    scale = scale_label(glob.meta["target"], link)
    threshold = glob.meta.get("threshold")
    rows = [
        ("held-out R\u00b2", fmt(f.r2)),
        ("in-sample R\u00b2", fmt(f.r2_in_sample)),
        ("held-out MAE", fmt(f.mae)),
        (
            "agreement" + ("" if threshold is None else f" at threshold {threshold:.4g}"),
            fmt(f.agreement),
        ),
        *((f"agreement ({k})", fmt(v)) for k, v in sorted(f.agreement_by_class.items())),
        ("fitting rows", str(f.n_train)),
        ("held-out rows", str(f.n_test)),
        *((f"complexity: {k}", str(v)) for k, v in sorted(glob.complexity.items())),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th>{_right(escape(v))}</tr>" for k, v in rows)
    body = global_content_html(glob.content, scale, link)
    return (
        '<div class="surrogate-global-explanation">'
        f"<h4>Global {escape(glob.family)} surrogate of {escape(str(glob.meta['target']))} "
        f"(fitted in {escape(scale)})</h4><table><tbody>{table}</tbody></table>"
        f"{body}{_remarks(glob.notes, (), f.note)}</div>"
    )


def explanation_set_to_html(explanations: ExplanationSet, k: int = 5) -> str:
    """A summary table of many explanations (one row per query) plus their failures."""
    head = "".join(
        f"<th>{escape(c)}</th>"
        for c in (
            "query",
            "prediction",
            "held-out R\u00b2",
            "population-scope R\u00b2",
            f"top-{k} Jaccard",
            "top features",
            "notes and warnings",
        )
    )
    rows = "".join(
        "<tr>"
        f"<td>{index}</td><td>{exp.prediction:.4f}</td><td>{_number(exp.fidelity.r2, 3)}</td>"
        f"<td>{_population_cell(exp)}</td>"
        f"<td>{_number(exp.stability.top_k_jaccard, 3)}</td>"
        f"<td>{escape(', '.join(exp.top_features(k)))}</td>"
        f"<td>{'<br>'.join(escape(t) for t in (*exp.notes, *exp.warnings))}</td>"
        "</tr>"
        for index, exp in zip(explanations.indices, explanations, strict=True)
    )
    failures = "".join(
        f"<li>query {f.index}: {escape(f.error)}: {escape(f.message)}</li>"
        for f in explanations.failures
    )
    failed = f"<p>Not explained:</p><ul>{failures}</ul>" if failures else ""
    return (
        '<div class="surrogate-explanation-set">'
        f"<p>{len(explanations)} explanations, {len(explanations.failures)} failures</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{failed}</div>"
    )


def _population_cell(exp: Explanation) -> str:
    """The population-scope R^2 of a summary row; "not checked" where no check was made."""
    if exp.fidelity.n_population:
        return _number(exp.fidelity.r2_population, 3)
    return "not checked"


def explanation_repr_html(exp: Explanation) -> str:
    """``Explanation._repr_html_``: the notebook display."""
    return explanation_to_html(exp)


def explanation_set_repr_html(explanations: ExplanationSet) -> str:
    """``ExplanationSet._repr_html_``: the notebook display."""
    return explanation_set_to_html(explanations)


def global_repr_html(glob: GlobalExplanation) -> str:
    """``GlobalExplanation._repr_html_``: the notebook display."""
    return global_to_html(glob)


__all__ = [
    "explanation_repr_html",
    "explanation_set_repr_html",
    "explanation_set_to_html",
    "explanation_to_html",
    "global_repr_html",
    "global_to_html",
    "sanitize_svg",
]
