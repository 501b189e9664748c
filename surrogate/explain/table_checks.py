"""What tables add to each query's explanation: warnings about the query, the share of
a neighbourhood outside the training range, weights per original unit, and queries
encoded one by one when some cannot be."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SurrogateError
from ..explanation import Failure
from ..schema import FeatureSchema, format_date
from ..surrogates.base import Content


def encode_each(
    schema: FeatureSchema, frame: Any, on_error: str
) -> tuple[dict[int, np.ndarray], list[Failure]]:
    """Every row of ``frame`` encoded, by position; under ``on_error="record"`` a row that
    cannot be is listed as a failure instead of stopping the others."""
    try:
        encoded = schema.encode(frame)
        return {i: encoded[i] for i in range(len(frame))}, []
    except SurrogateError:
        if on_error == "raise":
            raise
    values, failures = {}, []
    for i in range(len(frame)):
        try:
            values[i] = schema.encode(frame.iloc[[i]], first_row=i)[0]
        except SurrogateError as exc:
            failures.append(Failure.from_exception(i, exc))
    return values, failures


def in_original_units(content: Content, sampler: Any) -> Content:
    """Per-unit weights only exist where the sampler's z is a standardised offset."""
    # a sampler that does not declare its z columns gets no per-unit conversion
    declared = getattr(sampler, "z_offsets", (False,) * len(sampler.z_names))
    return content.in_units_of(dict(zip(sampler.z_names, declared, strict=True)))


def share_outside_range(values: np.ndarray, schema: FeatureSchema) -> float:
    """Share of the rows with a number outside its training range."""
    outside = np.zeros(len(values), dtype=bool)
    for j, f in enumerate(schema.features):
        if f.is_numeric:
            col = values[:, j]
            outside |= (col < f.lower) | (col > f.upper)
    return float(outside.mean()) if len(values) else 0.0


def query_warnings(query: np.ndarray, schema: FeatureSchema) -> tuple[str, ...]:
    """A query outside the training range, and features the training data holds constant."""
    warnings = []
    outside = [
        f"{f.name}={_shown(f, query[j])} (training range {_shown(f, f.lower)} to "
        f"{_shown(f, f.upper)})"
        for j, f in enumerate(schema.features)
        if f.is_numeric and not np.isnan(query[j]) and not f.lower <= query[j] <= f.upper
    ]
    if outside:
        warnings.append(
            "The query lies outside the training data's range, so the black box is extrapolating "
            "and the explanation describes behaviour the model never learned from data: "
            + "; ".join(outside)
        )
    constant = [f.name for f in schema.features if f.is_constant]
    if constant:
        warnings.append(
            f"Features constant in the training data are never varied and cannot be explained: {constant}."
        )
    return tuple(warnings)


def _shown(feature: Any, value: Any) -> str:
    """A number as a warning shows it; a date as an ISO date."""
    return format_date(feature, value) if feature.is_datetime else f"{value:.6g}"
