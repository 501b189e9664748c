"""An explanation handed to shap: ``exp.to_shap()`` is a ``shap.Explanation`` of its
contributions, so shap's plots (waterfall, bar, and beeswarm over several rows) draw them.

The values are the explanation's contributions in its explained scale (log-odds under
``link="logit"``), one per feature of the query in the schema's order (0 for a feature
the surrogate does not use), then one per pair term of an additive surrogate; the base
value is the surrogate's mean over the explanation's stated reference, so base value
plus the values is the surrogate at the query, as SHAP's additivity reads. ``data`` holds
the query's values as the explanation shows them (numbers, ISO dates, category names).
Trees and rule lists have no contribution per feature and are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError, require


def to_shap(exp: Any) -> Any:
    """One explanation as a ``shap.Explanation`` (module doc)."""
    return _shap_explanation([exp], one=True)


def set_to_shap(explanations: Sequence[Any]) -> Any:
    """Several explanations of one explainer as one two-dimensional ``shap.Explanation``
    (rows by features), which ``shap.plots.beeswarm`` draws."""
    if not explanations:
        raise ParameterError("There is nothing to hand to shap: the set holds no explanation.")
    return _shap_explanation(list(explanations), one=False)


def _shap_explanation(explanations: list[Any], *, one: bool) -> Any:
    shap = require("shap", "shap")
    names = _columns(explanations)
    values = np.array([[_value(e, n) for n in names] for e in explanations], dtype=float)
    data = np.array([[e.query.get(n, np.nan) for n in names] for e in explanations], dtype=object)
    base = np.array([float(e.baseline) for e in explanations])
    return shap.Explanation(
        values=values[0] if one else values,
        base_values=float(base[0]) if one else base,
        data=data[0] if one else data,
        feature_names=names,
    )


def _columns(explanations: list[Any]) -> list[str]:
    """Every feature of the queries, then the pair terms any explanation holds."""
    for exp in explanations:
        if exp.baseline is None or not exp.contributions:
            raise ParameterError(
                f"A {exp.family} explanation has no contribution per feature to hand to shap; "
                "explain with surrogate='linear' or 'additive' (stated against a reference)."
            )
    names = list(explanations[0].query)
    pairs = sorted({t for e in explanations for t in e.contributions if t not in e.query})
    return names + pairs


def _value(exp: Any, name: str) -> float:
    return float(exp.contributions.get(name, 0.0))


__all__ = ["set_to_shap", "to_shap"]
