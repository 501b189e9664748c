"""Plain-text rendering of an explanation, for terminals and logs.

Every number says its unit: a linear surrogate's slopes and contributions are in
the explained scale (:func:`scale_label`: "log-odds of 'bad'" under the logit
link), and a rule's prediction is also shown as a probability when the scale is
log-odds.

Names and labels come from the user's data, so every line is made inert before it is
returned: control characters (ANSI escape sequences, carriage returns, embedded
newlines) and bidirectional-override characters are written as visible escapes
(``\\x1b``, ``\\u202e``), so a feature name can neither restyle a terminal nor forge a line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import singledispatch
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError
from ..links import inverse_link, link_value
from ..surrogates.base import (
    AdditiveContent,
    AdditiveTerm,
    LinearContent,
    LinearTerm,
    PairTerm,
    Rule,
    RuleContent,
)

if TYPE_CHECKING:
    from ..explanation import Explanation, Scope
    from ..fidelity import Fidelity


#: additive surrogates: terms listed by name; the others are summed on one line
SHOWN_TERMS = 8
#: C0 and C1 controls, DEL, and the bidirectional marks, embeddings, overrides and isolates
UNSAFE_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """``text`` with every control or bidirectional character written as a visible escape."""
    return UNSAFE_CHARACTERS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _lines(lines: list[str]) -> str:
    return "\n".join(inert(line) for line in lines)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number as shown to readers; None as 'n/a'."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def scale_label(target: Any, link: str, *, probability: bool | None = None) -> str:
    """The unit a surrogate is fitted in: "log-odds of 'bad'", "probability of 'bad'"...

    ``probability`` says whether an identity-link classifier's output is a probability
    (None: not known, the output is named as such).
    """
    if link == "logit":
        return f"log-odds of {str(target)!r}"
    if probability:
        return f"probability of {str(target)!r}"
    return f"output {str(target)!r}"


def explained_scale(exp: Explanation) -> str:
    """:func:`scale_label` of an explanation."""
    return scale_label(exp.meta.target, exp.meta.link, probability=outputs_are_probabilities(exp))


def outputs_are_probabilities(exp: Explanation) -> bool:
    """Whether a classifier's outputs at the query read as probabilities (in [0, 1], summing to 1)."""
    outputs = list(exp.outputs.values())
    return (
        exp.meta.mode == "classification"
        and all(0.0 <= v <= 1.0 for v in outputs)
        and math.isclose(sum(outputs), 1.0, abs_tol=1e-6)
    )


def probability_of(value: float, link: str) -> float | None:
    """A log-odds value as a probability (None in any other scale)."""
    return inverse_link(value, link) if link == "logit" else None


def fidelity_line(exp: Explanation) -> str:
    f = exp.fidelity
    parts = [
        f"held-out R^2 {fmt(f.r2)}",
        f"in-sample R^2 {fmt(f.r2_in_sample)}",
        *([] if exp.scope is None else [population_fidelity_text(f, exp.scope)]),
        f"MAE {fmt(f.mae)}",
    ]
    if f.agreement is not None:
        at = "" if exp.meta.threshold is None else f" at threshold {exp.meta.threshold:.4g}"
        parts.append(f"agreement {fmt(f.agreement)}{at}")
    parts.append(f"gap at query {fmt(f.query_gap)}")
    return ", ".join(parts)


def population_fidelity_text(f: Fidelity, scope: Scope) -> str:
    """The population-scope R^2, or why it was not checked."""
    if f.n_population:
        return (
            f"population-scope R^2 {fmt(f.r2_population)} (on {f.n_population} rows taking "
            "features from training rows)"
        )
    why = (
        "contributions against the neighbourhood"
        if not scope.population_checked
        else "the sampler cannot state rows from the population"
    )
    return f"population-scope R^2 not checked ({why})"


def reference_text(scope: Scope) -> str:
    """What contributions are measured against, in words."""
    if scope.population_checked:
        return "the training data (numbers at their mean, categories at their training frequencies)"
    return "the fitting neighbourhood (its kernel-weighted mean)"


def neighbourhood_text(scope: Scope) -> str:
    """How the neighbourhood was drawn: its numbers' scale and the redraws from the population."""
    parts = []
    if scope.number_change >= 1.0:
        parts.append("every number drawn from its training distribution")
    elif scope.scale is not None:
        around = f"numbers drawn around the query (sd {scope.scale:g} training sd)"
        if scope.number_change > 0:
            around += (
                f", each redrawn from its training values in {scope.number_change:.0%} of rows"
            )
        parts.append(around)
    if scope.category_change is not None:
        if scope.category_change >= 1.0:
            parts.append("every category drawn from its training frequencies")
        else:
            parts.append(
                f"categories redrawn from their training frequencies in "
                f"{scope.category_change:.0%} of rows"
            )
    return f"{scope.sampler} sampler" + (": " + "; ".join(parts) if parts else "")


def scope_lines(exp: Explanation) -> list[str]:
    """The question the explanation answers: its reference and its neighbourhood (none when
    it states no scope)."""
    scope = exp.scope
    if scope is None:
        return []
    against = (
        f"Contributions against {reference_text(scope)}"
        if exp.content.states_contributions
        else f"Contributions: none (a {exp.family} states rules, not per-feature contributions)"
    )
    return [against, f"Neighbourhood: {neighbourhood_text(scope)}"]


def faithfulness_line(exp: Explanation) -> str | None:
    """The deletion check beside R^2 (text and images); None where the modality has none."""
    check = exp.faithfulness
    if check is None:
        return None
    if check.deletion is None:
        return f"not checked ({check.note})"
    return (
        f"deletion AUC {fmt(check.deletion)} (lower is better), insertion AUC "
        f"{fmt(check.insertion)} (higher is better), random rankings {fmt(check.random)}; "
        f"{check.steps} steps along the explanation's ranking, {check.n_rows} model rows"
    )


def stability_line(exp: Explanation) -> str:
    s = exp.stability
    if not s.n_resamples:
        return "not measured (no bootstrap refits)"
    text = f"top-{s.k} Jaccard {fmt(s.top_k_jaccard)} over {s.n_resamples} bootstrap refits"
    if s.sign_agreement is not None:
        text += f", sign agreement {fmt(s.sign_agreement)}"
    return text


def prediction_text(value: float, link: str) -> str:
    """A rule's or leaf's prediction, with its probability when the scale is log-odds."""
    p = probability_of(value, link)
    return f"{value:.4g}" if p is None else f"{value:.4g} (probability {p:.3f})"


def rule_line(rule: Rule, position: int, *, ordered: bool, link: str = "identity") -> str:
    keyword = "IF" if position == 0 or not ordered else "ELSE IF"
    conditions = " AND ".join(str(c) for c in rule.conditions)
    head = f"{keyword} {conditions}" if rule.conditions else "ELSE"
    quality = "" if rule.precision is None else f", precision {fmt(rule.precision)}"
    quality += "" if rule.error is None else f", error {fmt(rule.error)}"
    mark = "  <- applies to the query" if rule.fires else ""
    return (
        f"{head} THEN {prediction_text(rule.prediction, link)}  "
        f"(coverage {fmt(rule.coverage)}{quality}){mark}"
    )


def slope_basis(terms: Sequence[LinearTerm]) -> str:
    """What a linear surrogate's slopes are per: a number's sd or a category (tables), or a
    component being present (text and images, whose terms all read "present")."""
    if terms and all(t.value == "present" for t in terms):
        return "for being present rather than masked out"
    return "per sd, or for having the category"


def slope_text(term: LinearTerm) -> str:
    """A term's slope with its unit: per sd (and per unit) of a number, or for its category.

    A number shown as text is a date (its unit is a day, see :mod:`surrogate.schema`)."""
    if term.weight_per_unit is not None:
        unit = "day" if isinstance(term.value, str) else "unit"
        return f"slope {term.weight:+.4f} per sd ({term.weight_per_unit:+.4g} per {unit})"
    if term.value == "present":  # a word or image segment: present, or masked out
        return f"slope {term.weight:+.4f} for being present rather than masked out"
    if isinstance(term.value, str):
        return f"slope {term.weight:+.4f} for having this category rather than another"
    return f"slope {term.weight:+.4f} per unit of z"


def per_unit_text(term: LinearTerm) -> str:
    """The slope per unit of a number for a table cell ("+0.01", "+0.01 per day" for a date);
    empty for a category."""
    if term.weight_per_unit is None:
        return ""
    return f"{term.weight_per_unit:+.4g}" + (" per day" if isinstance(term.value, str) else "")


def term_line(term: LinearTerm) -> str:
    """One linear term: its value at the query, contribution and slope, each labelled."""
    head = f"{term.feature} = {value_text(term.value)}"
    if term.contribution is None:
        return f"{head}: {slope_text(term)}"
    return f"{head}: contribution {term.contribution:+.4f}, {slope_text(term)}"


def baseline_lines(content: LinearContent, scale: str) -> list[str]:
    """How the surrogate at the query is made: the reference's value plus the contributions."""
    if content.baseline is None:
        return [f"Surrogate at the query: {content.intercept:.4f} {scale}"]
    return [
        f"Surrogate at the query: {content.intercept:.4f} {scale} = reference "
        f"{content.baseline:.4f} + the contributions below",
        f"Reference: the surrogate's {mean_over(content.reference)}",
    ]


def output_line(exp: Explanation) -> str:
    """The black box at the query, and in the explained scale when that differs."""
    text = f"Black-box output at the query: {exp.prediction:.4f}"
    if exp.meta.link == "logit":
        text += f" ({link_value(exp.prediction, 'logit'):.4f} in log-odds)"
    return text


def linear_header(scale: str) -> str:
    return (
        f"Terms, in {scale}: contribution = the term at the query minus its mean over the "
        "reference; slope = change per training standard deviation of a number, or for "
        "having the query's category rather than another"
    )


def explanation_to_text(exp: Explanation) -> str:
    m = exp.meta
    scale = explained_scale(exp)
    lines = [
        f"Explanation of {m.target!r} ({m.mode}, {exp.family} surrogate fitted in {scale})",
        output_line(exp),
        *scope_lines(exp),
        f"Fidelity: {fidelity_line(exp)}",
    ]
    if exp.fidelity.note:
        lines.append(f"  note: {exp.fidelity.note}")
    faithfulness = faithfulness_line(exp)
    if faithfulness is not None:
        lines.append(f"Faithfulness: {faithfulness}")
    lines.append(f"Stability: {stability_line(exp)}")
    lines += content_lines(exp.content, exp, scale)
    lines += [f"Note: {note}" for note in exp.notes]
    for warning in exp.warnings:
        lines.append(f"Warning: {warning}")
    return _lines(lines)


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
            p.name,
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


@singledispatch
def content_lines(content: Any, exp: Explanation, scale: str) -> list[str]:
    """The surrogate itself, in lines of text (one renderer per family)."""
    raise ParameterError(f"No text rendering for {type(content).__name__}.")


@content_lines.register(LinearContent)
def _linear_lines(content: LinearContent, exp: Explanation, scale: str) -> list[str]:
    header = linear_header(scale) if content.baseline is not None else f"Terms, in {scale}:"
    return [
        *baseline_lines(content, scale),
        header,
        *[f"  {term_line(term)}" for term in content.terms],
    ]


@content_lines.register(RuleContent)
def _rule_lines(content: RuleContent, exp: Explanation, scale: str) -> list[str]:
    return [f"Rule predictions in {scale}:"] + [
        "  " + rule_line(rule, i, ordered=content.ordered, link=exp.meta.link)
        for i, rule in enumerate(content.rules)
    ]


def mean_over(reference: str | None, *, short: bool = False) -> str:
    """ "mean over the training data (...)": the reference its contributions are measured
    against, with its article (named references begin with one, "neighbourhood" does not);
    ``short`` leaves out the parenthesis."""
    name = reference or "reference"
    if short:
        name = name.split(" (")[0]
    return f"mean over {name if name.startswith('the ') else 'the ' + name}"


@content_lines.register(AdditiveContent)
def _additive_lines(content: AdditiveContent, exp: Explanation, scale: str) -> list[str]:
    shown, others = contribution_rows(content)
    lines = [
        f"Surrogate at the query: {content.at_query:+.4f} {scale} = "
        f"{mean_over(content.reference)} {content.intercept:+.4f}, plus:"
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
    link = glob.meta["link"]
    scale = scale_label(glob.meta["target"], link)
    threshold = glob.meta.get("threshold")
    at = "" if threshold is None else f" at threshold {threshold:.4g}"
    lines = [
        f"Global {glob.family} surrogate of {glob.meta['target']!r} (fitted in {scale})",
        f"Held-out fidelity on {f.n_test} rows: R^2 {fmt(f.r2)}, MAE {fmt(f.mae)}"
        + ("" if f.agreement is None else f", agreement {fmt(f.agreement)}{at}"),
        f"In-sample R^2 on {f.n_train} rows: {fmt(f.r2_in_sample)}",
    ]
    lines += [
        f"  agreement ({label}): {fmt(v)}" for label, v in sorted(f.agreement_by_class.items())
    ]
    lines.append("Complexity: " + ", ".join(f"{k} {v}" for k, v in sorted(glob.complexity.items())))
    lines += global_content_lines(glob.content, scale, link)
    lines += [f"Note: {note}" for note in glob.notes]
    if f.note:
        lines.append(f"Note: {f.note}")
    return _lines(lines)


@singledispatch
def global_content_lines(content: Any, scale: str, link: str) -> list[str]:
    """A global surrogate itself, in lines of text: its rules (tree, rule list)."""
    return [f"Rule predictions in {scale}:"] + [
        "  " + rule_line(r, i, ordered=content.ordered, link=link)
        for i, r in enumerate(content.rules)
    ]


@global_content_lines.register(LinearContent)
def _global_linear_lines(content: LinearContent, scale: str, link: str) -> list[str]:
    return [
        f"Intercept: {content.intercept:.4f} {scale}",
        f"Slopes, in {scale}: per training standard deviation of a number (from its "
        "training mean), or for a category other than the most frequent one",
        *[f"  {t.feature}: slope {t.weight:+.4f}" for t in content.terms],
    ]
