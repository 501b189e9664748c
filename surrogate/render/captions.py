"""What the pictures of text and image explanations say in words: their caption lines and
the unit of their colours.

Every picture (the image map, the text's bars, the highlighted HTML) takes its caption
from :func:`caption_lines`, one line per figure of merit, so a figure added to the
explanation is shown everywhere by adding its line here.
"""

from __future__ import annotations

from typing import Any

from .text import explained_scale, fmt, outputs_are_probabilities

#: what a content's signed weights are, by its family's ``weight_kind``, for one component
WEIGHT_MEANINGS = {
    "slope": "effect of the {component} being present",
    "contribution": "contribution of the {component}",
    "importance": "importance in the surrogate",
}


def caption_lines(exp: Any) -> list[str]:
    """The explained class with the model's output there, then the fidelity figures, then
    the deletion check when the explanation has one."""
    check = deletion_caption(exp)
    return [outcome_line(exp), fidelity_caption(exp)] + ([check] if check else [])


def outcome_line(exp: Any) -> str:
    """ "'positive': probability 0.031 · linear surrogate"."""
    value = (
        f"probability {exp.prediction:.3f}"
        if outputs_are_probabilities(exp)
        else f"output {exp.prediction:.4g}"
    )
    return f"{str(exp.meta.target)!r}: {value} \u00b7 {exp.family} surrogate"


def fidelity_caption(exp: Any) -> str:
    """Held-out R² and stability, each said as "not measured" when it was not."""
    s = exp.stability
    stability = f"top-{s.k} Jaccard {fmt(s.top_k_jaccard)}" if s.n_resamples else "not measured"
    return f"held-out R\u00b2 {fmt(exp.fidelity.r2)} \u00b7 stability: {stability}"


def deletion_caption(exp: Any) -> str | None:
    """ "deletion AUC 0.071 vs random 0.476 (lower is better)", or why it was not checked;
    None for an explanation without the check (tables)."""
    check = getattr(exp, "faithfulness", None)
    if check is None:
        return None
    if check.deletion is None:
        return "deletion check: not checked"
    return f"deletion AUC {fmt(check.deletion)} vs random {fmt(check.random)} (lower is better)"


def weight_unit(exp: Any, component: str) -> str:
    """What a colour or bar measures, in the explained unit: "effect of the segment being
    present (log-odds of 'digit 3')"."""
    meaning = WEIGHT_MEANINGS[exp.content.weight_kind].format(component=component)
    if exp.content.weight_kind == "importance":
        return meaning
    return f"{meaning} ({explained_scale(exp)})"


__all__ = ["caption_lines", "deletion_caption", "fidelity_caption", "outcome_line", "weight_unit"]
