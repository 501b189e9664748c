"""Tests for the DOT drawings of tree, rule-list and linear content."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surrogate.errors import DependencyError, ParameterError
from surrogate.render import dot
from surrogate.render.dot import escape, render, to_dot
from surrogate.schema import Feature
from surrogate.surrogates.base import (
    Condition,
    LinearContent,
    LinearTerm,
    LocalProblem,
    Rule,
    RuleContent,
)
from surrogate.surrogates.rules import RuleListSurrogate
from surrogate.surrogates.tree import TreeSurrogate

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's 'dot' program is not installed"
)
SVG_TEXT = "{http://www.w3.org/2000/svg}text"

# names and labels that break DOT, records, HTML or ASCII if not escaped
NASTY = (
    Feature('dur"ation\\', "integer", "int64", lower=0, upper=100),
    Feature("amount {EUR} <script>alert(1)</script>", "numeric", "float64", lower=0, upper=1),
    Feature(
        "pur|pose",
        "categorical",
        "object",
        categories=('a"b', "{x}", "<b>bold</b>", "größe ✓", "back\\slash & amp;"),
    ),
)
NAMES = [f.name for f in NASTY]


def nasty_problem(seed: int = 0) -> LocalProblem:
    rng = np.random.default_rng(seed)

    def values(n):
        return np.column_stack(
            [rng.integers(0, 101, n), rng.uniform(0, 1, n), rng.integers(0, 5, n)]
        ).astype(float)

    def target(v):
        return (
            np.where(v[:, 0] <= 40, 0.2, 0.7)
            + np.where(np.isin(v[:, 2], [0, 2]), 0.2, 0.0)
            - 0.15 * (v[:, 1] > 0.5)
        )

    fit, hold = values(600), values(200)
    return LocalProblem(
        fit, fit, target(fit), np.ones(600), hold, hold, target(hold), np.ones(200), 0.5
    )


def fitted(family) -> RuleContent:
    (fit,) = family.fit_local([nasty_problem()], NASTY, (), [np.random.SeedSequence(0)])
    return fit.content


def svg_texts(source: str) -> list[str]:
    root = ET.fromstring(render(source, "svg"))  # must be well-formed XML
    return [element.text or "" for element in root.iter(SVG_TEXT)]


QUERY = {NAMES[2]: "größe ✓", NAMES[0]: 30, NAMES[1]: 0.25, "unused": 1}


def linear_content() -> LinearContent:
    return LinearContent(
        family="linear",
        intercept=0.1,
        terms=(
            LinearTerm(NAMES[0], 30.0, -0.25, -0.01),
            LinearTerm(NAMES[2], "<b>bold</b>", 0.5, None),
            LinearTerm(NAMES[1], None, 0.0, 0.0),
        ),
    )


# ---- structure and determinism (no Graphviz needed) ---------------------------------------------
def test_tree_drawing_has_every_node_and_labelled_edges():
    content = fitted(TreeSurrogate(max_depth=2))
    source = to_dot(content, title="Why?", query=QUERY)
    assert source.startswith("digraph surrogate {") and source.endswith("}\n")
    for node in content.nodes:
        assert re.search(rf"^  n{node.id} \[", source, re.M)
        if node.yes is not None:
            assert f'n{node.id} -> n{node.yes} [label="yes"' in source
            assert f'n{node.id} -> n{node.no} [label="no"' in source
    assert source.count('fillcolor="#ffd966"') == 1
    fired = [
        leaf
        for leaf, rule in zip(
            [n for n in content.nodes if n.yes is None], content.rules, strict=True
        )
        if rule.fires
    ]
    assert re.search(rf'^  n{fired[0].id} \[.*fillcolor="#ffd966"', source, re.M)
    assert "unused" not in source  # the query note lists only the features the content uses


def test_rule_list_drawing_is_a_chain():
    content = fitted(RuleListSurrogate(max_rules=4))
    source = to_dot(content, title="rules")
    n = len(content.rules)
    assert all(f'r{i} -> r{i + 1} [label="else"]' in source for i in range(n - 1))
    assert "ELSE predict" in source and "IF " in source
    assert source.count('fillcolor="#ffd966"') == 1


@pytest.mark.parametrize("surrogate", [TreeSurrogate(max_depth=2), RuleListSurrogate(max_rules=3)])
def test_predictions_in_log_odds_are_also_drawn_as_probabilities(surrogate):
    content = fitted(surrogate)
    plain = to_dot(content, title="t")
    logit = to_dot(content, title="t", link="logit")
    assert "probability" not in plain
    for rule in content.rules:
        p = 1 / (1 + np.exp(-rule.prediction))
        assert f"predict {dot._number(rule.prediction)} (probability {p:.3f})" in logit


def test_output_is_deterministic_and_independent_of_query_order():
    content = fitted(TreeSurrogate())
    reordered = dict(reversed(list(QUERY.items())))
    assert to_dot(content, title="t", query=QUERY) == to_dot(content, title="t", query=reordered)
    assert to_dot(linear_content(), title="t") == to_dot(linear_content(), title="t")


def test_raw_specials_never_reach_the_source():
    source = to_dot(fitted(TreeSurrogate()), title='a "title" <i>', query=QUERY)
    for raw in ("<script>", "<b>", "{x}", 'a"b', "pur|pose"):
        assert raw not in source
    assert "größe ✓" in source  # non-ASCII is kept as UTF-8


def test_linear_drawing_orders_terms_by_weight():
    source = to_dot(linear_content(), title="linear")
    assert 'shape="record"' in source
    bold, duration = (
        source.index(escape(f"{NAMES[2]} = <b>bold</b>")),
        source.index(escape(f"{NAMES[0]} = 30")),
    )
    assert bold < duration
    assert "+0.5" in source and "-0.25" in source and "intercept" in source


def test_unknown_content_is_refused():
    with pytest.raises(ParameterError, match="content"):
        to_dot("not content", title="x")  # type: ignore[arg-type]


# ---- rendering with Graphviz ------------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize(
    "family", [TreeSurrogate(max_depth=3), RuleListSurrogate(max_rules=5)], ids=["tree", "rules"]
)
def test_nasty_names_render_literally(family):
    content = fitted(family)
    texts = svg_texts(to_dot(content, title="Ünïcödé <title> & {more}", query=QUERY))
    joined = "\n".join(texts)
    assert "Ünïcödé <title> & {more}" in texts
    if content.family == "tree":
        drawn = [node.condition for node in content.nodes if node.condition is not None]
    else:
        drawn = [condition for rule in content.rules for condition in rule.conditions]
    assert drawn and all(str(condition) in joined for condition in drawn)
    assert any(NAMES[2] in str(condition) for condition in drawn)
    assert f"{NAMES[2]} = größe ✓" in texts


@needs_dot
def test_svg_does_not_carry_raw_markup():
    svg = render(to_dot(fitted(TreeSurrogate()), title="<script>x</script>", query=QUERY))
    assert b"<script>" not in svg and b"<b>" not in svg
    assert "größe ✓".encode() in svg


@needs_dot
def test_linear_record_renders():
    texts = svg_texts(to_dot(linear_content(), title="linear", query=QUERY))
    assert f"{NAMES[2]} = <b>bold</b>" in texts
    assert f"{NAMES[1]} = missing" in texts


@needs_dot
@settings(deadline=None, max_examples=15)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.sampled_from(list('"\\{}<>|&;#[]=-') + ["é", "✓", "日", "ß"]),
            st.characters(codec="utf-8", categories=["L", "N", "P", "S"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_label_round_trips_through_dot(text):
    source = 'digraph G { a [shape="box", label="' + escape(text) + '"]; }'
    assert svg_texts(source) == [text]


@needs_dot
def test_png_renders_too():
    assert render(to_dot(linear_content(), title="x"), "png").startswith(b"\x89PNG")


def test_render_explains_a_missing_dot_program(monkeypatch):
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    with pytest.raises(DependencyError, match="apt-get install graphviz"):
        render("digraph G {}")


@needs_dot
def test_render_rejects_bad_format_and_bad_source():
    with pytest.raises(ParameterError, match="fmt"):
        render("digraph G {}", "docx")
    with pytest.raises(ParameterError, match="dot could not render"):
        render("digraph G { a -> }")


def test_handmade_content_with_no_fired_rule():
    rules = (
        Rule((Condition("x", "in", ("a", "b")),), 0.7, 0.5, 5, None, 0.1, False),
        Rule((), 0.2, 0.5, 5, None, 0.2, False),
    )
    source = to_dot(RuleContent("rules", rules, {"x": 1.0}), title="t")
    assert "fillcolor" not in source and "mean abs. error 0.1" in source
