"""Explanations are data: frozen, typed records with a lossless JSON round trip.

:mod:`.local` (one query, and sets of them), :mod:`.masking` (text and image
queries, with their layout), :mod:`.global_` (one surrogate over a data set),
:mod:`.codec` (canonical JSON and schema versions).
"""

from ..surrogates.base import AdditiveContent, LinearContent, RuleContent, pair_name
from .codec import SCHEMA_VERSION, canonical_json, check_schema_version
from .global_ import GlobalExplanation, GlobalFidelity
from .local import (
    Explanation,
    ExplanationSet,
    Failure,
    NeighbourhoodSummary,
    Provenance,
    Scope,
    contributions,
    top_features,
)
from .masking import ImageExplanation, MaskedExplanation, TextExplanation

__all__ = [
    "Explanation",
    "ExplanationSet",
    "Failure",
    "Provenance",
    "NeighbourhoodSummary",
    "Scope",
    "GlobalExplanation",
    "GlobalFidelity",
    "MaskedExplanation",
    "TextExplanation",
    "ImageExplanation",
    "AdditiveContent",
    "LinearContent",
    "RuleContent",
    "SCHEMA_VERSION",
    "canonical_json",
    "check_schema_version",
    "contributions",
    "pair_name",
    "top_features",
]
