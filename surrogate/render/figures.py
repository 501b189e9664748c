"""Figures of explanations: what ``exp.plot()`` and ``ExplanationSet.plot()`` return.

This module reads explanations and hands plain numbers to :mod:`.plots`, which
draws them. A linear explanation with contributions is drawn as a waterfall from
the reference (the surrogate's mean over the reference population) to the
surrogate at the query, with the black box at the query marked; one without
contributions (an explanation of schema 1.0) as its slopes; a tree or rule list
as its features' importances. An additive explanation is drawn as a waterfall of
its terms' contributions from its intercept (the mean over its reference).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from functools import singledispatch
from typing import Any

from ..errors import ParameterError
from ..links import link_value
from ..surrogates.base import AdditiveContent, LinearContent
from . import plots
from .text import (
    explained_scale,
    fmt,
    mean_over,
    neighbourhood_text,
    reference_text,
    slope_basis,
    value_text,
)


def explanation_figure(exp: Any, ax: Any = None):
    """A matplotlib Figure of one explanation (module doc); drawn into ``ax`` (and ``ax``
    returned) when given. Its title states the question: what contributions are against,
    and the fidelity near the query and at the population scope."""
    drawn = _figure(exp.content, exp, explained_scale(exp), ax)
    caption = scope_caption(exp)
    if caption:
        axes = drawn if ax is not None else drawn.axes[0]
        axes.set_title(caption, fontsize=7, loc="left")
    return drawn


def scope_caption(exp: Any) -> str:
    """Two short lines: the reference and the neighbourhood, then both fidelity figures
    (empty for an explanation that states no scope)."""
    scope = exp.scope
    if scope is None:
        return ""
    f = exp.fidelity
    population = (
        f"population-scope R\u00b2 {fmt(f.r2_population)}"
        if f.n_population
        else "population scope not checked"
    )
    against = reference_text(scope).split(" (")[0]  # its name, without the parenthesis
    question = textwrap.wrap(f"Against {against}; {neighbourhood_text(scope)}", CAPTION_WIDTH)
    return "\n".join([*question, f"held-out R\u00b2 {fmt(f.r2)} near the query, {population}"])


#: characters per line of a figure's caption: it stays within the axes it stands over
CAPTION_WIDTH = 70


@singledispatch
def _figure(content: Any, exp: Any, scale: str, ax: Any = None):
    """Trees and rule lists: their features' importances."""
    names = exp.top_features()
    return plots.bars_figure(
        names,
        [content.importances[n] for n in names],
        xlabel="importance in the surrogate",
        ax=ax,
    )


@_figure.register(LinearContent)
def _linear_figure(content: LinearContent, exp: Any, scale: str, ax: Any = None):
    """A waterfall from the reference's value; bare slopes when there is no reference."""
    if content.baseline is not None:
        return plots.waterfall_figure(
            [f"{t.feature} = {value_text(t.value)}" for t in content.terms],
            [float(t.contribution or 0.0) for t in content.terms],
            content.baseline,
            scale=scale,
            reference=mean_over(content.reference, short=True),
            black_box=link_value(exp.prediction, exp.meta.link),
            ax=ax,
        )
    return plots.bars_figure(
        [f"{t.feature} = {value_text(t.value)}" for t in content.terms],
        [t.weight for t in content.terms],
        xlabel=f"slope ({scale}; {slope_basis(content.terms)})",
        signed=True,
        ax=ax,
    )


@_figure.register(AdditiveContent)
def _additive_figure(content: AdditiveContent, exp: Any, scale: str, ax: Any = None):
    """A waterfall of every term, pairs included, from the intercept."""
    rows = [(name, c) for name, c in exp.contributions.items()]
    return plots.waterfall_figure(
        [
            f"{name} = {value_text(exp.query.get(name))}" if name in exp.query else name
            for name, _ in rows
        ],
        [c for _, c in rows],
        content.intercept,
        scale=scale,
        reference=mean_over(content.reference, short=True),
        black_box=link_value(exp.prediction, exp.meta.link),
        ax=ax,
    )


def importance_figure(explanations: Sequence[Any], k: int = 10, ax: Any = None):
    """Mean importance of each feature over many explanations, as a matplotlib Figure.

    A linear explanation counts each term's |contribution| (its |slope| when it has no
    contribution), a tree or rule list its importances; a feature an explanation does
    not use counts 0. The ``k`` largest means are drawn (into ``ax``, returned, when given).
    """
    _check_k(k)
    if not explanations:
        raise ParameterError("There is nothing to plot: the set holds no explanation.")
    totals: dict[str, float] = {}
    kinds = set()
    for exp in explanations:
        for name, value in exp.content.magnitudes().items():
            totals[name] = totals.get(name, 0.0) + value
        kinds.add(exp.content.magnitude_kind)
    means = {name: total / len(explanations) for name, total in totals.items()}
    top = sorted(means, key=lambda n: (-means[n], n))[:k]
    what = " / ".join(sorted(kinds))
    scale = explained_scale(explanations[0])
    return plots.bars_figure(
        top,
        [means[n] for n in top],
        xlabel=f"mean {what} over {len(explanations)} explanations ({scale})",
        ax=ax,
    )


def global_figure(glob: Any, k: int = 10, ax: Any = None):
    """A global surrogate's ``k`` weightiest features as bars (what its content measures:
    importance of a tree or rule list, |slope| or |contribution| of a linear or additive
    one), as a matplotlib Figure (drawn into ``ax``, returned, when given)."""
    _check_k(k)
    magnitudes = glob.content.magnitudes()
    top = sorted(magnitudes, key=lambda n: (-magnitudes[n], n))[:k]
    link = glob.meta.get("link", "identity")
    return plots.bars_figure(
        top,
        [magnitudes[n] for n in top],
        xlabel=f"{glob.content.magnitude_kind} in the global {glob.family} surrogate "
        f"({'log-odds' if link == 'logit' else 'output'})",
        ax=ax,
    )


def _check_k(k: Any) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ParameterError(f"k must be a positive integer, got {k!r}.")


__all__ = ["explanation_figure", "global_figure", "importance_figure"]
