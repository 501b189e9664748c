"""Query rows cut into parts and put back together: what the part-file writer
(``surrogate.store``) and the Dask runner (``explain.dask``) share, below both."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from typing import Any

from .._validation import Interval, check
from ..explanation import Explanation, ExplanationSet, Failure
from .pipeline import ON_ERROR

PARTITION_ROWS = Interval(int, 1)


def check_on_error(on_error: Any) -> None:
    check("on_error", on_error, ON_ERROR)


def check_partition_rows(size: Any) -> int:
    return int(check("partition_rows", size, PARTITION_ROWS))


def is_dask_frame(X: Any) -> bool:
    return (
        type(X).__module__.startswith("dask") and hasattr(X, "to_delayed") and hasattr(X, "columns")
    )


def rows_sha256(frame: Any) -> str:
    """SHA-256 of rows as the explainer reads them (its schema's columns, CSV text)."""
    text = frame.to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_piece(explainer: Any, frame: Any, chunk_rows: int | None) -> list[tuple[Any, int, str]]:
    """A piece as (rows, row count, rows' digest) parts of ``chunk_rows`` (one part when None)."""
    frame = explainer.schema.to_frame(frame)
    size = chunk_rows or max(1, len(frame))
    chunks = [frame.iloc[s : s + size] for s in range(0, len(frame), size)]
    return [(chunk, len(chunk), rows_sha256(chunk)) for chunk in chunks]


def merge_parts(parts: Iterable[tuple[int, ExplanationSet]]) -> ExplanationSet:
    """One ExplanationSet from partitions given as (first row position, partition result)."""
    explanations: list[Explanation] = []
    indices: list[int] = []
    failures: list[Failure] = []
    for start, part in parts:
        explanations += list(part)
        indices += [start + i for i in part.indices]
        failures += [dataclasses.replace(f, index=start + f.index) for f in part.failures]
    return ExplanationSet(explanations, indices=indices, failures=failures)
