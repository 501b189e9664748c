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
    cls = _family_class(spec)
    _refuse_other_families_parameters(spec, params)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ParameterError(f"Invalid parameters for surrogate {spec!r}: {exc}") from exc


def _family_class(name: str) -> Any:
    module, cls_name = SURROGATES[name]
    return getattr(importlib.import_module(module), cls_name)


def family_parameters(name: str) -> tuple[str, ...]:
    """The keyword parameters the family ``name`` takes, in the order it declares them."""
    import inspect

    signature = inspect.signature(_family_class(name).__init__)
    return tuple(p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY)


def _refuse_other_families_parameters(spec: str, params: dict[str, Any]) -> None:
    """A parameter the family does not take is refused naming what it takes, and which
    families take the one given (``max_features`` is the linear and additive families')."""
    accepted = family_parameters(spec)
    unknown = [name for name in params if name not in accepted]
    if not unknown:
        return
    name = unknown[0]
    others = [f"surrogate={f!r}" for f in SURROGATES if f != spec and name in family_parameters(f)]
    listed = (
        ", ".join(others[:-1]) + (" and " if len(others) > 1 else "") + others[-1] if others else ""
    )
    where = f"it is a parameter of {listed}" if others else "no family takes it"
    raise ParameterError(
        f"Invalid parameters for surrogate {spec!r}: surrogate={spec!r} does not take {name}: "
        f"{where}. surrogate={spec!r} takes {', '.join(accepted)}{SIZE_HINTS.get(spec, '')}."
    )


#: how each family's size is chosen, said when a parameter of another family is given
SIZE_HINTS = {
    "tree": " (its size is set by max_depth: at most 2**max_depth leaves)",
    "rules": " (its size is set by max_rules, max_conditions per rule and max_features)",
}


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
