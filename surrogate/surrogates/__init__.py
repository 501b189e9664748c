"""Surrogate families, chosen by name from a registry."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ParameterError, UnknownOptionError
from .base import (
    AdditiveContent,
    AdditiveTerm,
    CategoryShape,
    Condition,
    LinearContent,
    LinearTerm,
    LocalFit,
    LocalProblem,
    NumberShape,
    PairAxis,
    PairTerm,
    Rule,
    RuleContent,
    TreeNode,
)

#: name -> (module, class); imported on first use so each family stays in its own room
SURROGATES: dict[str, tuple[str, str]] = {
    "linear": ("surrogate.surrogates.linear", "LinearSurrogate"),
    "tree": ("surrogate.surrogates.tree", "TreeSurrogate"),
    "rules": ("surrogate.surrogates.rules", "RuleListSurrogate"),
    "additive": ("surrogate.surrogates.additive", "AdditiveSurrogate"),
    "auto": ("surrogate.surrogates.auto", "AutoSurrogate"),
}


def make_surrogate(spec: Any, **params: Any):
    """A surrogate family from its registry name and parameters (or a ready family object)."""
    if not isinstance(spec, str):
        if hasattr(spec, "fit_local"):
            if params:
                raise ParameterError(
                    f"Parameters {sorted(params)} given with a ready surrogate object."
                )
            return spec
        raise UnknownOptionError(
            f"surrogate must be one of {sorted(SURROGATES)}, got {type(spec).__name__}."
        )
    if spec not in SURROGATES:
        raise UnknownOptionError(
            f"Unknown surrogate {spec!r}; expected one of {sorted(SURROGATES)}."
        )
    module, cls_name = SURROGATES[spec]
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ParameterError(f"Invalid parameters for surrogate {spec!r}: {exc}") from exc


__all__ = [
    "SURROGATES",
    "make_surrogate",
    "Condition",
    "Rule",
    "TreeNode",
    "LinearContent",
    "LinearTerm",
    "RuleContent",
    "AdditiveContent",
    "AdditiveTerm",
    "NumberShape",
    "CategoryShape",
    "PairAxis",
    "PairTerm",
    "LocalProblem",
    "LocalFit",
]
