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
    _refuse_explainer_options(params)
    module, cls_name = SURROGATES[spec]
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ParameterError(f"Invalid parameters for surrogate {spec!r}: {exc}") from exc


#: options of the explainer, not of a surrogate: a common slip is to pass them to explain()
EXPLAINER_OPTIONS = (
    "n_samples",
    "threshold",
    "sampler",
    "kernel",
    "kernel_width",
    "link",
    "holdout_share",
    "random_state",
    "mode",
    "target",
    "row_budget",
)


def _refuse_explainer_options(params: dict[str, Any]) -> None:
    given = [name for name in EXPLAINER_OPTIONS if name in params]
    if given:
        shown = ", ".join(f"{name}=..." for name in given)
        raise ParameterError(
            f"{', '.join(given)} {'is an explainer option' if len(given) == 1 else 'are explainer options'}"
            f", not a surrogate parameter: give {'it' if len(given) == 1 else 'them'} when building "
            f"the explainer, e.g. TabularExplainer(model, X_train, {shown}), and call explain() "
            "with surrogate parameters only (max_features=..., max_depth=..., max_rules=...)."
        )


__all__ = [
    "EXPLAINER_OPTIONS",
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
