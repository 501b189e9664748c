"""Plain-text rendering of an explanation, for terminals and logs.

Names and labels come from the user's data, so every line is made inert before it is
returned: control characters (ANSI escape sequences, carriage returns, embedded
newlines) and bidirectional-override characters are written as visible escapes
(``\\x1b``, ``\\u202e``), so a feature name can neither restyle a terminal nor forge a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..surrogates.base import AdditiveContent, AdditiveTerm, LinearContent, PairTerm, Rule

if TYPE_CHECKING:
    from ..explanation import Explanation


#: additive surrogates: terms listed by name; the others are summed on one line
SHOWN_TERMS = 8
#: C0 and C1 controls, DEL, and the bidirectional marks, embeddings, overrides and isolates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """``text`` with every control or bidirectional character written as a visible escape."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _lines(lines: list[str]) -> str:
    return "\n".join(inert(line) for line in lines)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number as shown to readers; None as 'n/a'."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def fidelity_line(exp: Explanation) -> str:
    f = exp.fidelity
    parts = [
        f"held-out R^2 {fmt(f.r2)}",
        f"in-sample R^2 {fmt(f.r2_in_sample)}",
        f"MAE {fmt(f.mae)}",
    ]
    if f.agreement is not None:
        parts.append(f"agreement {fmt(f.agreement)}")
    parts.append(f"gap at query {fmt(f.query_gap)}")
    return ", ".join(parts)


def stability_line(exp: Explanation) -> str:
    s = exp.stability
    if not s.n_resamples:
        return "not measured (no bootstrap refits)"
    text = f"top-{s.k} Jaccard {fmt(s.top_k_jaccard)} over {s.n_resamples} bootstrap refits"
    if s.sign_agreement is not None:
        text += f", sign agreement {fmt(s.sign_agreement)}"
    return text


def rule_line(rule: Rule, position: int, *, ordered: bool) -> str:
    keyword = "IF" if position == 0 or not ordered else "ELSE IF"
    conditions = " AND ".join(str(c) for c in rule.conditions)
    head = f"{keyword} {conditions}" if rule.conditions else "ELSE"
    quality = "" if rule.precision is None else f", precision {fmt(rule.precision)}"
    quality += "" if rule.error is None else f", error {fmt(rule.error)}"
    mark = "  <- applies to the query" if rule.fires else ""
    return f"{head} THEN {rule.prediction:.4g}  (coverage {fmt(rule.coverage)}{quality}){mark}"


def explanation_to_text(exp: Explanation) -> str:
    m = exp.meta
    lines = [
        f"Explanation of {m.target!r} ({m.mode}, {exp.family} surrogate, link {m.link})",
        f"Black-box output at the query: {exp.prediction:.4f}",
        f"Fidelity: {fidelity_line(exp)}",
    ]
    if exp.fidelity.note:
        lines.append(f"  note: {exp.fidelity.note}")
    lines.append(f"Stability: {stability_line(exp)}")
    content = exp.content
    if isinstance(content, AdditiveContent):
        lines += additive_lines(exp)
    elif isinstance(content, LinearContent):
        lines.append(f"Intercept (surrogate at the query): {content.intercept:.4f}")
        for term in content.terms:
            per_unit = (
                "" if term.weight_per_unit is None else f" ({term.weight_per_unit:+.4g} per unit)"
            )
            lines.append(
                f"  {term.feature} = {value_text(term.value)}: {term.weight:+.4f}{per_unit}"
            )
    else:
        ordered = content.family == "rules"
        for i, rule in enumerate(content.rules):
            lines.append("  " + rule_line(rule, i, ordered=ordered))
    for warning in exp.warnings:
        lines.append(f"Warning: {warning}")
    return _lines(lines)


def units(meta) -> str:
    """What the surrogate's numbers are in: "log-odds of bad", "probability of bad", "price"."""
    if meta.link == "logit":
        return f"log-odds of {meta.target}"
    if meta.mode == "classification":
        return f"probability of {meta.target}"
    return str(meta.target)


@dataclass(frozen=True)
class ContributionRow:
    """One line of an additive explanation: a feature (or pair), its value at the query,
    its contribution."""

    label: str
    value: str
    contribution: float
    term: AdditiveTerm | PairTerm


def contribution_rows(
    content: AdditiveContent, shown: int = SHOWN_TERMS
) -> tuple[list[ContributionRow], list[ContributionRow]]:
    """The ``shown`` largest contributions (features and pairs together), then the rest."""
    rows = [
        ContributionRow(t.feature, value_text(t.value), t.contribution, t) for t in content.terms
    ]
    rows += [
        ContributionRow(
            " \u00d7 ".join(p.features),
            ", ".join(value_text(v) for v in p.values),
            p.contribution,
            p,
        )
        for p in content.pairs
    ]
    rows.sort(key=lambda r: (-abs(r.contribution), r.label))
    return rows[:shown], rows[shown:]


def others_label(others: list[ContributionRow]) -> str:
    """ "12 other features" (or "terms", when pairs are among them)."""
    pairs = any(isinstance(r.term, PairTerm) for r in others)
    noun = "term" if pairs else "feature"
    return f"{len(others)} other {noun}{'s' if len(others) != 1 else ''}"


def surrogate_at_query(content: AdditiveContent) -> float:
    return (
        content.intercept
        + sum(t.contribution for t in content.terms)
        + sum(p.contribution for p in content.pairs)
    )


def additive_lines(exp: Explanation) -> list[str]:
    content = exp.content
    if not isinstance(content, AdditiveContent):
        return []
    shown, others = contribution_rows(content)
    lines = [
        f"Surrogate at the query: {surrogate_at_query(content):+.4f} {units(exp.meta)} = "
        f"mean over the {content.reference} {content.intercept:+.4f}, plus:"
    ]
    lines += [f"  {r.label} = {r.value}: {r.contribution:+.4f}" for r in shown]
    if others:
        lines.append(f"  {others_label(others)}: {sum(r.contribution for r in others):+.4f}")
    return lines


def value_text(value: float | str | None) -> str:
    """A feature's value at the query as shown to readers; a missing value reads 'missing'."""
    if value is None:
        return "missing"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def global_to_text(glob) -> str:
    """Plain text of a global surrogate: held-out fidelity, complexity, rules or terms."""
    f = glob.fidelity
    lines = [
        f"Global {glob.family} surrogate of {glob.meta['target']!r} (link {glob.meta['link']})",
        f"Held-out fidelity on {f.n_test} rows: R^2 {fmt(f.r2)}, MAE {fmt(f.mae)}"
        + ("" if f.agreement is None else f", agreement {fmt(f.agreement)}"),
        f"In-sample R^2 on {f.n_train} rows: {fmt(f.r2_in_sample)}",
    ]
    lines += [
        f"  agreement where the {label}: {fmt(v)}"
        for label, v in sorted(f.agreement_by_class.items())
    ]
    lines.append("Complexity: " + ", ".join(f"{k} {v}" for k, v in sorted(glob.complexity.items())))
    content = glob.content
    if isinstance(content, LinearContent):
        lines.append(f"Intercept: {content.intercept:.4f}")
        lines += [f"  {t.feature}: {t.weight:+.4f}" for t in content.terms]
    else:
        lines += [
            "  " + rule_line(r, i, ordered=content.family == "rules")
            for i, r in enumerate(content.rules)
        ]
    lines += [f"Note: {note}" for note in glob.notes]
    if f.note:
        lines.append(f"Note: {f.note}")
    return _lines(lines)
