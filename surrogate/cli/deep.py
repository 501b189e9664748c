"""``surrogate explain-text`` and ``explain-digit``: the two deep-learning demos."""

from __future__ import annotations

from typing import Any

FORMATS = ("text", "markdown", "json")


def render(exp: Any, fmt: str) -> str:
    """One explanation in the ``--format`` asked for."""
    return {"text": exp.to_text, "markdown": exp.to_markdown, "json": exp.to_json}[fmt]()


def run_text(args: Any) -> str:
    """``surrogate explain-text``."""
    from ..demo.deep import explain_sentence_demo

    return render(explain_sentence_demo(args.sentence), args.format)


def run_digit(args: Any) -> str:
    """``surrogate explain-digit``."""
    from ..demo.deep import explain_digit_demo

    return render(explain_digit_demo(args.index), args.format)
