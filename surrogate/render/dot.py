"""Graphviz DOT drawings of an explanation's content, and their rendering to SVG or PNG.

:func:`to_dot` writes DOT source (plain text, no dependency): a tree as boxes joined by
yes / no edges with the query's leaf and path highlighted, a rule list as a chain of
IF / ELSE IF boxes with the query's rule highlighted, a linear surrogate as a record
of terms, weights and bars, an additive one as a record of its contributions. :func:`render` runs Graphviz's ``dot`` program through the
``graphviz`` Python package.

Every piece of text that comes from data (feature names, category labels, the title,
query values) goes through :func:`escape`, so names such as ``a"b``, ``{x}``,
``<script>`` or ``x|y`` are drawn literally; non-ASCII text is kept as UTF-8. The
output depends only on the content (no dict or set iteration order leaks into it),
so the same explanation always gives byte-identical DOT.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from functools import singledispatch
from typing import Any

from ..errors import DependencyError, ParameterError, require
from ..surrogates.base import AdditiveContent, LinearContent, Rule, RuleContent, TreeNode
from .text import UNSAFE_CHARACTERS, mean_over

#: fill of the box that decides the query
HIGHLIGHT = "#ffd966"
#: DOT's line break that left-aligns the line before it
LEFT = "\\l"
#: longest bar of a linear term, in block characters
BAR_WIDTH = 12

# characters with a meaning in DOT strings, record labels or Graphviz's entity handling
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "{": "\\{",
    "}": "\\}",
    "<": "\\<",
    ">": "\\>",
    "|": "\\|",
    "&": "&amp;",
    "\n": "\\n",
    "\r": "",
}


def escape(text: str) -> str:
    r"""Text made safe inside a double-quoted DOT label (plain or record shape).

    Examples
    --------
    >>> print(escape('say "hi" {to} <b>|me & you'))
    say \"hi\" \{to\} \<b\>\|me &amp; you
    >>> print(escape("nul\x00"))
    nul\\x00
    """
    return "".join(_ESCAPES[ch] if ch in _ESCAPES else _visible(ch) for ch in text)


def _visible(ch: str) -> str:
    """A control or bidirectional character as a visible escape (Graphviz cannot read a
    NUL, and the others would hide or reorder text), else the character itself."""
    if not UNSAFE_CHARACTERS.fullmatch(ch):
        return ch
    return "\\\\" + ch.encode("unicode_escape").decode("ascii")[1:]


def _label(lines: Iterable[str], *, justify: str = "\\n") -> str:
    """Escaped lines joined by a DOT line break (``\\n`` centred, ``\\l`` left-aligned)."""
    body = justify.join(escape(line) for line in lines)
    return body + (justify if justify == LEFT else "")


def _attrs(**attributes: str) -> str:
    """Attributes in a fixed order; values are already escaped where they hold text."""
    return ", ".join(f'{key}="{value}"' for key, value in attributes.items())


def _number(value: float) -> str:
    return f"{value:.4g}"


def _prediction(value: float, link: str) -> str:
    """A leaf's or rule's prediction, with its probability when the scale is log-odds."""
    from .text import probability_of

    p = probability_of(value, link)
    return _number(value) if p is None else f"{_number(value)} (probability {p:.3f})"


def _value(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.6g}"
    return str(value)


# ---- entry point ---------------------------------------------------------------------------
def to_dot(
    content: RuleContent | LinearContent | AdditiveContent,
    *,
    title: str,
    query: Mapping[str, Any] | None = None,
    link: str = "identity",
) -> str:
    """DOT source for an explanation's content.

    Parameters
    ----------
    content : RuleContent, LinearContent or AdditiveContent
        A tree, a rule list, a linear or an additive surrogate.
    title : str
        Drawn above the graph.
    query : mapping, optional
        The query's values by feature; the features the content uses are listed in a
        note, in the order the content first mentions them.
    link : {"identity", "logit"}, optional
        The scale of the predictions: under "logit" each leaf and rule also shows its
        prediction as a probability.

    Examples
    --------
    >>> from surrogate.surrogates.base import Condition, Rule, RuleContent
    >>> rule = Rule((Condition("age", ">", 30.0),), 0.8, 0.5, 10, 0.9, None, True)
    >>> content = RuleContent("rules", (rule, Rule((), 0.2, 0.5, 10, 1.0, None, False)), {"age": 1.0})
    >>> print(to_dot(content, title="why").splitlines()[0])
    digraph surrogate {
    """
    body, used = _body(content, link)
    lines = [
        "digraph surrogate {",
        f"  graph [{_attrs(label=escape(title), labelloc='t', fontname='Helvetica', charset='UTF-8')}];",
        f"  node [{_attrs(shape='box', style='rounded', fontname='Helvetica', fontsize='11')}];",
        f"  edge [{_attrs(fontname='Helvetica', fontsize='10')}];",
        *body,
    ]
    if query is not None:
        lines.extend(_query_note(query, used))
    lines.append("}")
    return "\n".join(lines) + "\n"


@singledispatch
def _body(content: Any, link: str) -> tuple[list[str], list[str]]:
    """The graph's statements and the features they use, in order (one drawing per family)."""
    raise ParameterError(
        "content must be a RuleContent (family 'tree' or 'rules'), a LinearContent or an "
        f"AdditiveContent, got {type(content).__name__}."
    )


@_body.register(LinearContent)
def _linear_graph(content: LinearContent, link: str) -> tuple[list[str], list[str]]:
    return _linear_body(content), [term.feature for term in content.terms]


@_body.register(AdditiveContent)
def _additive_graph(content: AdditiveContent, link: str) -> tuple[list[str], list[str]]:
    return _additive_body(content), [term.feature for term in content.terms]


@_body.register(RuleContent)
def _rule_graph(content: RuleContent, link: str) -> tuple[list[str], list[str]]:
    body = _rules_body(content, link) if content.ordered else _tree_body(content, link)
    return body, _features_of(content.rules)


def _features_of(rules: Sequence[Rule]) -> list[str]:
    seen: dict[str, None] = {}
    for rule in rules:
        for condition in rule.conditions:
            seen.setdefault(condition.feature, None)
    return list(seen)


def _query_note(query: Mapping[str, Any], used: Sequence[str]) -> list[str]:
    shown = [f"{name} = {_value(query[name])}" for name in used if name in query]
    if not shown:
        return []
    label = _label(["query", *shown], justify=LEFT)
    return [f"  query [{_attrs(shape='note', style='solid', label=label)}];"]


# ---- trees ---------------------------------------------------------------------------------
def _tree_body(content: RuleContent, link: str = "identity") -> list[str]:
    nodes = {node.id: node for node in content.nodes}
    leaves = [node for node in content.nodes if node.yes is None]
    # rules are the leaves in the order of ``nodes`` (see TreeSurrogate)
    rule_of = dict(zip((leaf.id for leaf in leaves), content.rules, strict=False))
    fired = next((leaf_id for leaf_id, rule in rule_of.items() if rule.fires), None)
    on_path = _path_to(nodes, fired)
    lines = []
    for node in content.nodes:
        lines.append(_tree_node(node, rule_of.get(node.id), node.id == fired, link))
    for node in content.nodes:
        for child, word in ((node.yes, "yes"), (node.no, "no")):
            if child is None:
                continue
            style = {"penwidth": "2"} if node.id in on_path and child in on_path else {}
            lines.append(f"  n{node.id} -> n{child} [{_attrs(label=word, **style)}];")
    return lines


def _path_to(nodes: Mapping[int, TreeNode], target: int | None) -> set[int]:
    """Ids on the path from the root to ``target`` (empty when there is none)."""
    if target is None:
        return set()
    parent = {}
    for node in nodes.values():
        for child in (node.yes, node.no):
            if child is not None:
                parent[child] = node.id
    path = {target}
    while target in parent:
        target = parent[target]
        path.add(target)
    return path


def _tree_node(node: TreeNode, rule: Rule | None, fired: bool, link: str = "identity") -> str:
    if node.condition is not None:
        label = _label([str(node.condition), f"{100 * node.weight:.1f}% of weight"])
        return f"  n{node.id} [{_attrs(label=label)}];"
    lines = [f"predict {_prediction(node.prediction, link)}", f"{100 * node.weight:.1f}% of weight"]
    if rule is not None:
        lines.extend(_held_out_lines(rule))
    style = {"style": "rounded,filled,bold", "fillcolor": HIGHLIGHT} if fired else {}
    return f"  n{node.id} [{_attrs(label=_label(lines), **style)}];"


def _held_out_lines(rule: Rule) -> list[str]:
    lines = [f"held-out: {rule.n_covered} rows ({100 * rule.coverage:.1f}%)"]
    if rule.precision is not None:
        lines.append(f"precision {rule.precision:.3f}")
    if rule.error is not None:
        lines.append(f"mean abs. error {_number(rule.error)}")
    return lines


# ---- rule lists ----------------------------------------------------------------------------
def _rules_body(content: RuleContent, link: str = "identity") -> list[str]:
    lines = []
    for i, rule in enumerate(content.rules):
        text = [*_rule_head(rule, i, link), *_held_out_lines(rule)]
        style = {"style": "rounded,filled,bold", "fillcolor": HIGHLIGHT} if rule.fires else {}
        label = _label(text, justify=LEFT)
        lines.append(f"  r{i} [{_attrs(label=label, **style)}];")
    for i in range(len(content.rules) - 1):
        lines.append(f"  r{i} -> r{i + 1} [{_attrs(label='else')}];")
    return lines


def _rule_head(rule: Rule, position: int, link: str = "identity") -> list[str]:
    if not rule.conditions:
        return [f"ELSE predict {_prediction(rule.prediction, link)}"]
    keyword = "IF" if position == 0 else "ELSE IF"
    head = [f"{keyword} {rule.conditions[0]}"]
    head.extend(f"  AND {c}" for c in rule.conditions[1:])
    head.append(f"THEN predict {_prediction(rule.prediction, link)}")
    return head


# ---- linear --------------------------------------------------------------------------------
def _linear_body(content: LinearContent) -> list[str]:
    terms = sorted(content.terms, key=lambda t: (-abs(t.weight), t.feature))
    largest = max((abs(t.weight) for t in terms), default=0.0)
    names = ["term", "intercept"] + [f"{t.feature} = {_value(t.value)}" for t in terms]
    weights = ["weight", f"{content.intercept:+.4g}"] + [f"{t.weight:+.4g}" for t in terms]
    bars = ["", ""] + [_bar(t.weight, largest) for t in terms]
    columns = [
        "{" + "|".join(escape(cell) for cell in column) + "}" for column in (names, weights, bars)
    ]
    return [f"  terms [{_attrs(shape='record', style='solid', label='|'.join(columns))}];"]


def _additive_body(content: AdditiveContent) -> list[str]:
    """The mean over the reference, then every term's contribution, largest first."""
    rows = [(t.feature + " = " + _value(t.value), t.contribution) for t in content.terms]
    rows += [
        (
            p.name + " = " + ", ".join(_value(v) for v in p.values),
            p.contribution,
        )
        for p in content.pairs
    ]
    rows.sort(key=lambda row: (-abs(row[1]), row[0]))
    largest = max((abs(c) for _, c in rows), default=0.0)
    names = ["term", mean_over(content.reference)] + [name for name, _ in rows]
    values = ["contribution", f"{content.intercept:+.4g}"] + [f"{c:+.4g}" for _, c in rows]
    bars = ["", ""] + [_bar(c, largest) for _, c in rows]
    columns = [
        "{" + "|".join(escape(cell) for cell in column) + "}" for column in (names, values, bars)
    ]
    return [f"  terms [{_attrs(shape='record', style='solid', label='|'.join(columns))}];"]


def _bar(weight: float, largest: float) -> str:
    if largest <= 0:
        return ""
    length = max(1, round(BAR_WIDTH * abs(weight) / largest)) if weight else 0
    return ("+" if weight > 0 else "-") + "\u2588" * length if length else ""


# ---- rendering -----------------------------------------------------------------------------
def render(dot_source: str, fmt: str = "svg") -> bytes:
    """Run Graphviz's ``dot`` on DOT source; returns the drawing in format ``fmt``.

    Raises
    ------
    DependencyError
        When the ``dot`` program or the ``graphviz`` Python package is missing.
    ParameterError
        When ``fmt`` is not a Graphviz output format, or ``dot`` rejects the source.
    """
    if shutil.which("dot") is None:
        raise DependencyError(
            "Rendering DOT needs Graphviz's 'dot' program, which is not on PATH; "
            "install the 'dot' program: apt-get install graphviz (or brew install graphviz)."
        )
    graphviz = require("graphviz", "report")
    if fmt not in graphviz.FORMATS:
        raise ParameterError(
            f"fmt must be a Graphviz output format such as 'svg' or 'png', got {fmt!r}."
        )
    try:
        return graphviz.pipe("dot", fmt, dot_source.encode("utf-8"))
    except graphviz.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip() if exc.stderr else str(exc)
        raise ParameterError(f"dot could not render the source: {message}") from exc
