"""Text neighbourhoods: split a text into tokens and mask some of them.

Tokens
    By default a token is a run of word characters with inner apostrophes
    (regular expression :data:`TOKEN_PATTERN`, ``\\w+(?:['’]\\w+)*``): ``"don't"``
    is one token, punctuation and spaces are not tokens and are never masked.
    A custom ``tokenizer`` is another regular expression (each match is a token),
    or a callable returning the text's tokens in order; each token must occur in
    the text after the previous one, so its position is known.

Interpretable components
    ``"bag"`` (default): one component per distinct token (case-sensitive);
    masking a component masks every occurrence of the word. Its feature name is
    the word itself (``not``). ``"position"``: one component per token occurrence,
    named ``word@i`` with ``i`` the token's 0-based position (``good@7``).

Masking
    Every sampled row keeps each component independently with probability
    ``keep_probability`` (1/2 by default, so every subset of components is
    equally likely). A masked token is removed together with the whitespace that
    follows it (``"not good"`` without ``not`` reads ``"good"``), or, when a
    replacement token is given, replaced by it (whitespace kept).

Views of a row (shared with images, see :class:`KeepMaskSampler`)
    ``values``: 1 where the component is present, 0 where it is masked (the
    category codes of a boolean feature with categories ``("absent", "present")``,
    so trees and rule lists read ``good in {present}``); ``z = values - 1``: 0 at
    the query, -1 for a masked component, so a linear weight is the effect of the
    component being *present*; ``distance``: the square root of the share of
    components masked (a root-mean-square of ``z``, as for tables).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import Interval, check
from ..errors import DataError, DataTypeError, ParameterError, UnknownOptionError
from ..schema import Feature
from .base import Neighborhood

#: default token: word characters, with inner apostrophes kept (``don't``, ``l’été``)
TOKEN_PATTERN = r"\w+(?:['’]\w+)*"
REPRESENTATIONS = ("bag", "position")
REMOVE = "remove"
#: category labels of every presence feature: code 0 = absent, code 1 = present
PRESENCE_CATEGORIES = ("absent", "present")

Tokenizer = str | re.Pattern | Callable[[str], Sequence[str]] | None


# ---- components and the sampler shared by every masking modality -------------------------
def presence_features(names: Sequence[str], keep_probability: float) -> tuple[Feature, ...]:
    """One boolean feature per component, with categories ``("absent", "present")``."""
    return tuple(
        Feature(
            name=name,
            kind="boolean",
            dtype="bool",
            categories=PRESENCE_CATEGORIES,
            frequencies=(1.0 - keep_probability, keep_probability),
        )
        for name in names
    )


def check_keep_probability(p: Any) -> float:
    return check("keep_probability", p, Interval(float, 0, 1, "neither"))


class KeepMaskSampler:
    """Rows that keep each of ``d`` components with probability ``keep_probability``.

    ``sample(query, n, seed)`` takes the query's presence vector (all ones) and
    returns ``n`` rows in the three views described in the module docstring.
    """

    name = "keep-mask"

    def __init__(self, *, keep_probability: float = 0.5) -> None:
        self.keep_probability = check_keep_probability(keep_probability)

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "keep_probability": self.keep_probability}

    def sample(self, query: np.ndarray, n: int, seed: np.random.SeedSequence) -> Neighborhood:
        d = len(query)
        keep = np.random.default_rng(seed).random((n, d)) < self.keep_probability
        values = keep.astype(np.float64)
        z = values - 1.0
        distance = np.sqrt((z**2).mean(axis=1)) if d else np.zeros(n)
        return Neighborhood(values=values, z=z, distance=distance)


# ---- tokens -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One token of the query: its text, character span and the feature it belongs to."""

    text: str
    start: int
    end: int
    feature: str


@dataclass(frozen=True)
class TextLayout:
    """A query text cut into tokens, and the components the sampler masks.

    ``component_of[t]`` is the component (feature column) of token ``t``;
    ``names[c]`` is component ``c``'s feature name.
    """

    text: str
    tokens: tuple[Token, ...]
    names: tuple[str, ...]
    component_of: tuple[int, ...]
    representation: str


def check_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """A compiled pattern or callable; a pattern string is compiled here (errors named)."""
    if tokenizer is None:
        return re.compile(TOKEN_PATTERN)
    if isinstance(tokenizer, str):
        try:
            return re.compile(tokenizer)
        except re.error as exc:
            raise ParameterError(
                f"tokenizer {tokenizer!r} is not a valid regular expression: {exc}."
            ) from exc
    if isinstance(tokenizer, re.Pattern) or callable(tokenizer):
        return tokenizer
    raise ParameterError(
        "tokenizer must be None (the default word pattern), a regular expression (str or compiled) "
        f"or a callable text -> tokens, got {type(tokenizer).__name__}."
    )


def describe_tokenizer(tokenizer: Tokenizer) -> str:
    """What provenance records about a tokenizer: its pattern, or the callable's name."""
    if isinstance(tokenizer, re.Pattern):
        return f"regex:{tokenizer.pattern}"
    return f"callable:{getattr(tokenizer, '__module__', '?')}.{getattr(tokenizer, '__qualname__', type(tokenizer).__name__)}"


def check_representation(representation: Any) -> str:
    if representation not in REPRESENTATIONS:
        raise UnknownOptionError(
            f"Unknown representation {representation!r}; expected one of {list(REPRESENTATIONS)}."
        )
    return representation


def check_mask(mask: Any) -> str:
    """``"remove"`` or a non-empty replacement token."""
    if not isinstance(mask, str) or not mask or mask.isspace():
        raise ParameterError(
            f"mask must be 'remove' or a non-blank replacement token such as '[UNK]', got {mask!r}."
        )
    return mask


def token_spans(text: str, tokenizer: Tokenizer) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the tokens of ``text``, in order."""
    if isinstance(tokenizer, re.Pattern):
        return [m.span() for m in tokenizer.finditer(text) if m.end() > m.start()]
    pieces = tokenizer(text)  # type: ignore[misc,operator]
    if isinstance(pieces, str) or not isinstance(pieces, Sequence):
        raise DataTypeError(
            f"The tokenizer must return a list of token strings, got {type(pieces).__name__}."
        )
    spans, position = [], 0
    for piece in pieces:
        if not isinstance(piece, str) or not piece:
            raise DataError(f"The tokenizer returned {piece!r}; expected non-empty token strings.")
        start = text.find(piece, position)
        if start < 0:
            raise DataError(
                f"The tokenizer returned the token {piece!r}, which does not occur in the text after "
                f"character {position}; tokens must be substrings of the text, in order."
            )
        spans.append((start, start + len(piece)))
        position = start + len(piece)
    return spans


def text_layout(text: str, tokenizer: Tokenizer, representation: str) -> TextLayout:
    """Tokens of ``text`` and its components (distinct words, or token positions)."""
    if not isinstance(text, str):
        raise DataTypeError(f"A text query must be a str, got {type(text).__name__}.")
    spans = token_spans(text, tokenizer)
    if not spans:
        raise DataError(
            f"The text {text[:60]!r} has no tokens (tokenizer {describe_tokenizer(tokenizer)}); "
            "there is nothing to mask or explain."
        )
    words = [text[a:b] for a, b in spans]
    if representation == "position":
        names = tuple(f"{w}@{i}" for i, w in enumerate(words))
        component_of = tuple(range(len(words)))
    else:
        names = tuple(dict.fromkeys(words))
        index = {w: c for c, w in enumerate(names)}
        component_of = tuple(index[w] for w in words)
    tokens = tuple(
        Token(text=w, start=a, end=b, feature=names[c])
        for w, (a, b), c in zip(words, spans, component_of, strict=True)
    )
    return TextLayout(
        text=text,
        tokens=tokens,
        names=names,
        component_of=component_of,
        representation=representation,
    )


# ---- perturbed texts ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pieces:
    """The text cut as ``gap_0 unit_0 gap_1 unit_1 ... tail``; a unit is a token and its trailing spaces."""

    gaps: tuple[str, ...]
    units: tuple[str, ...]
    spaces: tuple[str, ...]
    tail: str


def _pieces(layout: TextLayout) -> _Pieces:
    text = layout.text
    gaps, units, spaces = [], [], []
    position = 0
    for token in layout.tokens:
        gaps.append(text[position : token.start])
        after = token.end
        while after < len(text) and text[after].isspace():
            after += 1
        units.append(text[token.start : after])
        spaces.append(text[token.end : after])
        position = after
    return _Pieces(tuple(gaps), tuple(units), tuple(spaces), text[position:])


def perturbed_texts(layout: TextLayout, keep: np.ndarray, mask: str) -> list[str]:
    """One text per row of ``keep`` (rows x components, bool): masked tokens removed or replaced."""
    pieces = _pieces(layout)
    keep_tokens = np.asarray(keep, dtype=bool)[:, list(layout.component_of)]
    if mask == REMOVE:
        dropped = ["" for _ in pieces.units]
    else:
        dropped = [mask + space for space in pieces.spaces]
    texts = []
    for row in keep_tokens:
        parts = []
        for t, kept in enumerate(row):
            parts.append(pieces.gaps[t])
            parts.append(pieces.units[t] if kept else dropped[t])
        parts.append(pieces.tail)
        texts.append("".join(parts))
    return texts
