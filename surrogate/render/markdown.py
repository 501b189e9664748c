"""Markdown rendering; every piece of data is escaped so it cannot become markup."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..surrogates.base import AdditiveContent, LinearContent
from .text import (
    contribution_rows,
    fidelity_line,
    fmt,
    others_label,
    rule_line,
    stability_line,
    surrogate_at_query,
    units,
    value_text,
)

if TYPE_CHECKING:
    from ..explanation import Explanation

#: Markdown punctuation, backslash-escaped; ``&``, ``<`` and ``>`` become HTML entities instead
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=@\"'])")


def escape(text: object) -> str:
    """HTML-escape ``& < >`` (Markdown passes HTML through), then backslash-escape Markdown punctuation.

    The entities are made first and their ``&`` and ``;`` are not Markdown
    punctuation, so ``<script>`` reads ``&lt;script&gt;`` (shown as ``<script>``),
    never a double-escaped ``&amp;lt;``.

    >>> escape("<script>|*x*")
    '&lt;script&gt;\\\\|\\\\*x\\\\*'
    """
    s = str(text).replace("\n", " ").replace("\r", " ")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", s)


def explanation_to_markdown(exp: Explanation) -> str:
    m = exp.meta
    out = [
        f"### Explanation of {escape(m.target)} ({escape(exp.family)} surrogate)",
        "",
        f"- Black-box output at the query: **{exp.prediction:.4f}** (mode {escape(m.mode)}, link {escape(m.link)})",
        f"- Fidelity: {escape(fidelity_line(exp))}",
        f"- Stability: {escape(stability_line(exp))}",
        "",
    ]
    content = exp.content
    if isinstance(content, AdditiveContent):
        out += _additive_table(exp, content)
    elif isinstance(content, LinearContent):
        out += [
            "| feature | value at query | weight (per sd) | weight (per unit) |",
            "|---|---|---|---|",
        ]
        for t in content.terms:
            per_unit = "" if t.weight_per_unit is None else f"{t.weight_per_unit:+.4g}"
            out.append(
                f"| {escape(t.feature)} | {escape(value_text(t.value))} | {t.weight:+.4f} | {per_unit} |"
            )
        out.append(f"\nIntercept: {content.intercept:.4f}")
    else:
        ordered = content.family == "rules"
        out += [
            f"{i + 1}. {escape(rule_line(r, i, ordered=ordered))}"
            for i, r in enumerate(content.rules)
        ]
    if exp.fidelity.note:
        out.append(f"\n> {escape(exp.fidelity.note)}")
    for warning in exp.warnings:
        out.append(f"\n> Warning: {escape(warning)}")
    return "\n".join(out) + "\n"


def _additive_table(exp: Explanation, content: AdditiveContent) -> list[str]:
    shown, others = contribution_rows(content)
    out = [
        f"| feature | value at query | contribution ({escape(units(exp.meta))}) |",
        "|---|---|---|",
    ]
    out += [f"| {escape(r.label)} | {escape(r.value)} | {r.contribution:+.4f} |" for r in shown]
    if others:
        total = sum(r.contribution for r in others)
        out.append(f"| {escape(others_label(others))} |  | {total:+.4f} |")
    out.append(
        f"\nMean over the {escape(content.reference)}: {content.intercept:+.4f}; "
        f"surrogate at the query: {surrogate_at_query(content):+.4f}"
    )
    return out


__all__ = ["escape", "explanation_to_markdown", "fmt"]
