"""Markdown rendering; every piece of data is escaped so it cannot become markup."""

from __future__ import annotations

import re
from functools import singledispatch
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError
from ..surrogates.base import AdditiveContent, LinearContent, RuleContent
from .text import (
    baseline_lines,
    contribution_rows,
    explained_scale,
    faithfulness_line,
    fidelity_line,
    fmt,
    mean_over,
    others_label,
    output_line,
    per_unit_text,
    rule_line,
    scope_lines,
    slope_basis,
    stability_line,
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
    scale = explained_scale(exp)
    out = [
        f"### Explanation of {escape(m.target)} ({escape(exp.family)} surrogate)",
        "",
        f"- {escape(output_line(exp))} (mode {escape(m.mode)}, fitted in {escape(scale)})",
        *[f"- {escape(line)}" for line in scope_lines(exp)],
        f"- Fidelity: {escape(fidelity_line(exp))}",
    ]
    faithfulness = faithfulness_line(exp)
    if faithfulness is not None:
        out.append(f"- Faithfulness: {escape(faithfulness)}")
    out.append(f"- Stability: {escape(stability_line(exp))}")
    out += content_markdown(exp.content, exp, scale)
    if exp.fidelity.note:
        out.append(f"\n> {escape(exp.fidelity.note)}")
    for note in exp.notes:
        out.append(f"\n> Note: {escape(note)}")
    for warning in exp.warnings:
        out.append(f"\n> Warning: {escape(warning)}")
    return "\n".join(out) + "\n"


@singledispatch
def content_markdown(content: Any, exp: Explanation, scale: str) -> list[str]:
    """The surrogate itself, in Markdown lines (one renderer per family)."""
    raise ParameterError(f"No Markdown rendering for {type(content).__name__}.")


@content_markdown.register(LinearContent)
def _linear_table(content: LinearContent, exp: Explanation, scale: str) -> list[str]:
    out = [f"- {escape(line)}" for line in baseline_lines(content, scale)]
    out += [
        "",
        f"| feature | value at query | contribution ({escape(scale)}) "
        f"| slope ({slope_basis(content.terms)}) | slope per unit |",
        "|---|---|---|---|---|",
    ]
    for t in content.terms:
        contribution = "" if t.contribution is None else f"{t.contribution:+.4f}"
        out.append(
            f"| {escape(t.feature)} | {escape(value_text(t.value))} | {contribution} "
            f"| {t.weight:+.4f} | {per_unit_text(t)} |"
        )
    return out


@content_markdown.register(RuleContent)
def _rule_list(content: RuleContent, exp: Explanation, scale: str) -> list[str]:
    return ["", f"Rule predictions in {escape(scale)}:", ""] + [
        f"{i + 1}. {escape(rule_line(r, i, ordered=content.ordered, link=exp.meta.link))}"
        for i, r in enumerate(content.rules)
    ]


@content_markdown.register(AdditiveContent)
def _additive_table(content: AdditiveContent, exp: Explanation, scale: str) -> list[str]:
    shown, others = contribution_rows(content)
    out = [
        "",
        f"| feature | value at query | contribution ({escape(scale)}) |",
        "|---|---|---|",
    ]
    out += [f"| {escape(r.label)} | {escape(r.value)} | {r.contribution:+.4f} |" for r in shown]
    if others:
        total = sum(r.contribution for r in others)
        out.append(f"| {escape(others_label(others))} |  | {total:+.4f} |")
    out.append(
        f"\nThe surrogate's {escape(mean_over(content.reference))}: {content.intercept:+.4f}; "
        f"surrogate at the query: {content.at_query:+.4f}"
    )
    return out


__all__ = ["escape", "explanation_to_markdown", "fmt"]
