"""Evaluate an additive surrogate's shapes on rows, and its contributions against a reference.

Everything here is a pure function of an :class:`~.base.AdditiveContent` and rows
in the library's *values* view (numbers in their units, NaN for missing; category
codes, ``-1`` for missing), with the schema's features to read the codes. No model
is called: the shapes stored in the explanation are enough to evaluate the
surrogate anywhere, so its contributions can be restated against another reference
sample (a training population, for reason codes) long after it was fitted.

>>> import numpy as np
>>> from surrogate.schema import Feature
>>> from surrogate.surrogates.base import AdditiveContent, AdditiveTerm, NumberShape
>>> shape = NumberShape(edges=(24.0,), heights=(-0.5, 0.5), slope=0.0, origin=36.0,
...                     low=6.0, high=60.0)
>>> content = AdditiveContent("additive", 1.0, "neighbourhood",
...                           (AdditiveTerm("duration", 36.0, 0.5, shape),))
>>> features = (Feature(name="duration", kind="integer", dtype="int64"),)
>>> predict(content, np.array([[12.0], [48.0]]), features).tolist()
[0.5, 1.5]
>>> again = with_reference(content, np.array([[48.0]]), features, reference="applicant 7")
>>> again.intercept, again.terms[0].contribution
(1.5, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..errors import DataError, ParameterError
from ..schema import Feature, number_value
from .base import (
    GLOBAL_REFERENCE,
    AdditiveContent,
    AdditiveTerm,
    CategoryShape,
    Content,
    LocalProblem,
    NumberShape,
    PairAxis,
    PairTerm,
)


def term_values(
    content: AdditiveContent, values: np.ndarray, features: Sequence[Feature]
) -> np.ndarray:
    """Every term's value on every row: shape (n, terms + pairs), main terms first, in order."""
    values = _check_values(values, features)
    column = {f.name: j for j, f in enumerate(features)}
    out = np.empty((len(values), len(content.terms) + len(content.pairs)))
    for t, term in enumerate(content.terms):
        out[:, t] = _shape_values(term, values[:, _column(column, term.feature)], features)
    for p, pair in enumerate(content.pairs):
        levels = [
            _axis_levels(axis, values[:, _column(column, axis.feature)], value, features)
            for axis, value in zip(pair.axes, pair.values, strict=True)
        ]
        out[:, len(content.terms) + p] = np.asarray(pair.heights)[levels[0], levels[1]]
    return out


def predict(
    content: AdditiveContent, values: np.ndarray, features: Sequence[Feature]
) -> np.ndarray:
    """The surrogate's prediction on every row (in the explained scale)."""
    return content.intercept + term_values(content, values, features).sum(axis=1)


def with_reference(
    content: AdditiveContent,
    values: np.ndarray,
    features: Sequence[Feature],
    *,
    weights: np.ndarray | None = None,
    reference: str = "reference sample",
) -> AdditiveContent:
    """The same surrogate with contributions measured against another reference sample.

    Each term is re-centred on its (weighted) mean over ``values``; ``intercept``
    becomes the surrogate's mean prediction there. The surrogate itself, and so its
    prediction at the query (intercept plus contributions), is unchanged.

    Parameters
    ----------
    content : AdditiveContent
    values : array (n, features)
        The reference rows, encoded (``explainer.schema.encode(X_train)``).
    features : the schema's features (``explainer.schema.features``)
    weights : array (n,), optional
        Row weights; equal by default.
    reference : str
        What the reference is, recorded in the content (e.g. "training population").
    """
    terms = term_values(content, values, features)
    w = _check_weights(weights, len(terms))
    means = w @ terms / w.sum()
    n_main = len(content.terms)
    main = tuple(_recentred_term(term, float(means[t])) for t, term in enumerate(content.terms))
    pairs = tuple(
        _recentred_pair(pair, float(means[n_main + p])) for p, pair in enumerate(content.pairs)
    )
    order = sorted(range(len(main)), key=lambda t: (-abs(main[t].contribution), main[t].feature))
    return replace(
        content,
        intercept=float(content.intercept + means.sum()),
        reference=reference,
        terms=tuple(main[t] for t in order),
        pairs=pairs,
    )


def restated(content: Content, values: np.ndarray, features: Sequence[Feature], name: str) -> Content:
    """An additive surrogate's contributions restated against another population
    (:func:`with_reference`); other families' are measured against the reference their
    fit was given, and come back as they are."""
    if not isinstance(content, AdditiveContent):
        return content
    return with_reference(content, values, features, reference=name)


def over_data_set(content: Content, problem: LocalProblem, features: Sequence[Feature]) -> Content:
    """A surrogate fitted over a data set, stated as such: it has no query, so no rule
    fires, no term shows a query value, and additive shapes carry no contribution and come
    largest spread over the fitting rows first (weighted standard deviation of the term)."""
    if not isinstance(content, AdditiveContent):
        return content.without_query()
    values = term_values(content, problem.values_fit, features)
    w = problem.w_fit / problem.w_fit.sum()
    spread = np.sqrt(w @ (values - w @ values) ** 2)
    n = len(content.terms)
    order = sorted(range(n), key=lambda t: (-spread[t], content.terms[t].feature))
    pairs = sorted(range(len(content.pairs)), key=lambda p: -spread[n + p])
    return replace(
        content,
        reference=GLOBAL_REFERENCE,
        terms=tuple(replace(content.terms[t], value=None, contribution=0.0) for t in order),
        pairs=tuple(
            replace(content.pairs[p], values=(None, None), contribution=0.0) for p in pairs
        ),
    )


# ---- one term ------------------------------------------------------------------------------
def _shape_values(term: AdditiveTerm, x: np.ndarray, features: Sequence[Feature]) -> np.ndarray:
    shape = term.shape
    if isinstance(shape, NumberShape):
        return number_shape_values(shape, x)
    labels = _labels(features, term.feature, x)
    return category_shape_values(shape, labels, _query_label(term.value))


def number_shape_values(shape: NumberShape, x: np.ndarray) -> np.ndarray:
    """A number's shape at values ``x`` (NaN: missing)."""
    heights = np.asarray(shape.heights)
    edges = np.asarray(shape.edges)
    missing = np.isnan(x)
    present = np.where(missing, shape.origin, x)
    out = heights[np.searchsorted(edges, present, side="right")] + shape.slope * (
        present - shape.origin
    )
    if missing.any():
        fallback = heights[np.searchsorted(edges, shape.origin, side="right")]
        out[missing] = fallback if shape.missing is None else shape.missing
    return out


def category_shape_values(shape: CategoryShape, labels: np.ndarray, query: str) -> np.ndarray:
    """A category's shape at category ``labels`` (strings); ``query`` is the query's label."""
    height = dict(zip(shape.categories, shape.heights, strict=True))
    rest = height[query] if shape.other_height is None else shape.other_height
    unique, inverse = np.unique(labels, return_inverse=True)
    return np.array([height.get(str(u), rest) for u in unique], dtype=np.float64)[inverse]


def _axis_levels(
    axis: PairAxis, x: np.ndarray, query: float | str | None, features: Sequence[Feature]
) -> np.ndarray:
    """The coarse level of every row on one side of a pairwise term."""
    if axis.kind == "number":
        edges = np.asarray(axis.edges)
        missing = np.isnan(x)
        levels = np.searchsorted(edges, np.where(missing, 0.0, x), side="right")
        if missing.any():
            if axis.missing:
                own = len(edges) + 1
            elif query is None:  # pragma: no cover - a missing query always has a missing level
                own = 0
            else:
                own = int(np.searchsorted(edges, number_value(query), side="right"))
            levels[missing] = own
        return levels
    labels = _labels(features, axis.feature, x)
    group = {label: g for g, labels_ in enumerate(axis.groups) for label in labels_}
    query_group = group[_query_label(query)]
    rest = len(axis.groups) - 1 if axis.other else query_group
    unique, inverse = np.unique(labels, return_inverse=True)
    return np.array([group.get(str(u), rest) for u in unique], dtype=np.int64)[inverse]


def _recentred_term(term: AdditiveTerm, mean: float) -> AdditiveTerm:
    shape = term.shape
    if isinstance(shape, NumberShape):
        moved: NumberShape | CategoryShape = replace(
            shape,
            heights=tuple(h - mean for h in shape.heights),
            missing=None if shape.missing is None else shape.missing - mean,
        )
    else:
        moved = replace(
            shape,
            heights=tuple(h - mean for h in shape.heights),
            other_height=None if shape.other_height is None else shape.other_height - mean,
        )
    return replace(term, shape=moved, contribution=term.contribution - mean)


def _recentred_pair(pair: PairTerm, mean: float) -> PairTerm:
    return replace(
        pair,
        heights=tuple(tuple(h - mean for h in row) for row in pair.heights),
        contribution=pair.contribution - mean,
    )


# ---- checks and lookups ------------------------------------------------------------------------
def _check_values(values: np.ndarray, features: Sequence[Feature]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(features):
        raise DataError(
            f"values must be a 2-D array with one column per feature ({len(features)}), "
            f"got shape {array.shape}; encode rows with explainer.schema.encode()."
        )
    return array


def _check_weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    if n == 0:
        raise DataError("The reference sample is empty: there is nothing to average over.")
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ParameterError(
            f"weights must be {n} finite non-negative numbers with a positive sum, "
            f"got shape {w.shape}."
        )
    return w


def _column(column: dict[str, int], name: str) -> int:
    if name not in column:
        raise ParameterError(
            f"The surrogate has a term for feature {name!r}, which the features given lack; "
            f"expected the explainer's schema (features {sorted(column)})."
        )
    return column[name]


def _labels(features: Sequence[Feature], name: str, codes: np.ndarray) -> np.ndarray:
    feature = next(f for f in features if f.name == name)
    unique, inverse = np.unique(codes, return_inverse=True)
    return np.array([feature.label(c) for c in unique], dtype=object)[inverse]


def _query_label(value: float | str | None) -> str:
    return "missing" if value is None else str(value)


__all__ = [
    "category_shape_values",
    "number_shape_values",
    "predict",
    "term_values",
    "with_reference",
]
