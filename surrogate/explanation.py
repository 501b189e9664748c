"""Explanations are data: frozen, typed records with a lossless JSON round trip.

JSON schema versioning: documents carry ``schema_version`` "MAJOR.MINOR".
:meth:`Explanation.from_json` reads every document of the same MAJOR version
whose MINOR is not newer than this library's (fields added by later minors get
their defaults when older documents are read); anything else is refused with
:class:`~surrogate.errors.ExplanationFormatError` rather than read approximately.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ExplanationFormatError, ParameterError
from .fidelity import Fidelity, Stability
from .surrogates.base import Content, LinearContent, RuleContent

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Provenance:
    """What produced an explanation: enough to reproduce it exactly."""

    library_version: str
    modality: str
    mode: str
    target: str
    link: str
    sampler: dict[str, Any]
    kernel: dict[str, Any]
    surrogate: dict[str, Any]
    random_state_entropy: int | list[int]
    random_state_spawn_key: list[int]
    query_digest: str
    n_samples: int
    n_fit: int
    n_holdout: int
    schema_fingerprint: str
    model_fingerprint: str
    model: str


@dataclass(frozen=True)
class NeighbourhoodSummary:
    """Kish's effective sample size of the kernel weights, and extrapolation share."""

    effective_sample_size: float
    share_outside_training_range: float


@dataclass(frozen=True)
class Explanation:
    """One query's surrogate explanation, with its fidelity, stability and provenance.

    ``prediction`` is the black box's output for ``target`` at the query (a
    probability for classifiers); the surrogate is fitted in the ``link`` scale.
    """

    query: dict[str, float | str | None]
    prediction: float
    outputs: dict[str, float]
    content: Content
    fidelity: Fidelity
    stability: Stability
    neighbourhood: NeighbourhoodSummary
    meta: Provenance
    warnings: tuple[str, ...] = ()
    notes: tuple[
        str, ...
    ] = ()  # facts about how it was made, said in words (e.g. what "auto" chose)

    # ---- reading -------------------------------------------------------------------
    @property
    def family(self) -> str:
        return self.content.family

    def top_features(self, k: int | None = None) -> list[str]:
        """Feature names, most important first (linear: |weight|; tree, rules: importance)."""
        return top_features(self.content, k)

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "explanation": _to_data(self)}

    def to_json(self, *, indent: int | None = None) -> str:
        """Canonical JSON: sorted keys, exact floats; byte-identical for identical inputs."""
        return canonical_json(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Explanation:
        try:
            document = json.loads(text)
        except RecursionError:
            raise _too_deep() from None
        except (TypeError, ValueError) as exc:
            raise ExplanationFormatError(f"Not a JSON explanation: {exc}") from exc
        try:
            return cls.from_dict(document)
        except RecursionError:
            raise _too_deep() from None

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Explanation:
        if (
            not isinstance(document, dict)
            or "schema_version" not in document
            or "explanation" not in document
        ):
            raise ExplanationFormatError(
                "An explanation document needs 'schema_version' and 'explanation' keys."
            )
        check_schema_version(str(document["schema_version"]))
        return _from_data(cls, document["explanation"], "explanation")

    # ---- rendering (at the edge) -------------------------------------------------------
    def to_text(self) -> str:
        from .render.text import explanation_to_text

        return explanation_to_text(self)

    def to_markdown(self) -> str:
        from .render.markdown import explanation_to_markdown

        return explanation_to_markdown(self)

    def to_dot(self) -> str:
        from .render.dot import to_dot

        return to_dot(
            self.content, title=f"{self.meta.target}: {self.prediction:.4g}", query=self.query
        )

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from .render.html import explanation_repr_html

        return explanation_repr_html(self)


@dataclass(frozen=True)
class Failure:
    """A query that could not be explained, and why."""

    index: int
    error: str
    message: str

    @classmethod
    def from_exception(cls, index: int, exc: Exception) -> Failure:
        return cls(index=int(index), error=type(exc).__name__, message=str(exc))


class ExplanationSet(Sequence):
    """Explanations of many queries, in query order, plus the queries that failed.

    ``indices[i]`` is the position, in the input, of the query ``self[i]`` explains.
    """

    def __init__(
        self, explanations: list[Explanation], *, indices: list[int], failures: list[Failure]
    ) -> None:
        self._explanations = list(explanations)
        self.indices = list(indices)
        self.failures = list(failures)

    def __getitem__(self, i):  # type: ignore[override]
        return self._explanations[i]

    def __len__(self) -> int:
        return len(self._explanations)

    def to_frame(self, k: int = 5):
        """One row per explained query: prediction, fidelity, stability, rows used and top-k features.

        ``n_samples`` is the size of the sample the explanation was fitted and checked on
        (with ``n_samples="auto"``, the size it stopped at; its note lists the earlier,
        smaller rounds the black box also scored).
        """
        import pandas as pd

        rows = []
        for index, exp in zip(self.indices, self._explanations, strict=True):
            top = exp.top_features(k)
            row = {
                "query_index": index,
                "target": exp.meta.target,
                "prediction": exp.prediction,
                "family": exp.family,
                "r2": exp.fidelity.r2,
                "r2_in_sample": exp.fidelity.r2_in_sample,
                "mae": exp.fidelity.mae,
                "agreement": exp.fidelity.agreement,
                "query_gap": exp.fidelity.query_gap,
                "top_k_jaccard": exp.stability.top_k_jaccard,
                "n_samples": exp.meta.n_samples,
                "warnings": len(exp.warnings),
            }
            row.update({f"feature_{r + 1}": top[r] if r < len(top) else None for r in range(k)})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_jsonl(self, path=None) -> str | None:
        """One canonical JSON explanation per line; written to ``path`` when given."""
        text = "".join(exp.to_json() + "\n" for exp in self._explanations)
        if path is None:
            return text
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return None

    def to_parquet(self, path) -> None:
        """The summary frame plus each explanation's JSON, as one Parquet file."""
        frame = self.to_frame()
        frame["explanation_json"] = [exp.to_json() for exp in self._explanations]
        frame.to_parquet(path, index=False)

    def _repr_html_(self) -> str:
        from .render.html import explanation_set_repr_html

        return explanation_set_repr_html(self)

    def __repr__(self) -> str:
        return f"ExplanationSet({len(self)} explanations, {len(self.failures)} failures)"


def top_features(content: Content, k: int | None = None) -> list[str]:
    """Features of a surrogate, most important first (linear: |weight|; tree, rules: importance)."""
    if isinstance(content, LinearContent):
        ranking = [t.feature for t in content.terms]
    else:
        imp = content.importances
        ranking = sorted((f for f in imp if imp[f] > 0), key=lambda f: (-imp[f], f))
    if k is None:
        return ranking
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ParameterError(f"k must be a non-negative integer, got {k!r}.")
    return ranking[:k]


def canonical_json(document: Any, *, indent: int | None = None) -> str:
    """Sorted keys, exact floats, no NaN: identical inputs give identical bytes."""
    return json.dumps(
        document,
        sort_keys=True,
        indent=indent,
        allow_nan=False,
        separators=(",", ":") if indent is None else (",", ": "),
        ensure_ascii=False,
    )


def _too_deep() -> ExplanationFormatError:
    return ExplanationFormatError(
        "Not a JSON explanation: it is nested deeper than Python can read "
        f"(recursion limit {sys.getrecursionlimit()}); no explanation is nested that deep."
    )


def check_schema_version(version: str) -> None:
    try:
        major, minor = (int(p) for p in version.split("."))
    except ValueError as exc:
        raise ExplanationFormatError(
            f"schema_version must look like '1.0', got {version!r}."
        ) from exc
    cur_major, cur_minor = (int(p) for p in SCHEMA_VERSION.split("."))
    if major != cur_major or minor > cur_minor:
        raise ExplanationFormatError(
            f"This library reads explanation schema {cur_major}.0 to {SCHEMA_VERSION}; "
            f"the document is version {version}. Upgrade surrogate to read it."
        )


# ---- generic dataclass <-> JSON data ----------------------------------------------------
def _to_data(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _to_data(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_to_data(v) for v in obj]
    if isinstance(obj, np.generic):
        return _to_data(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        raise ExplanationFormatError(f"Cannot serialise the non-finite number {obj!r}.")
    return obj


def _from_data(hint: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return data
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_from(hint, data, where)
    if origin in (typing.Union, types.UnionType):
        return _union_from(args, data, where)
    if origin is typing.Literal:
        if data not in args:
            raise ExplanationFormatError(f"{where}: expected one of {list(args)}, got {data!r}.")
        return data
    if origin is tuple:
        _expect(isinstance(data, list), where, "a list", data)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_data(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        _expect(len(data) == len(args), where, f"{len(args)} items", data)
        return tuple(
            _from_data(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if origin is list:
        _expect(isinstance(data, list), where, "a list", data)
        return [
            _from_data(args[0] if args else Any, v, f"{where}[{i}]") for i, v in enumerate(data)
        ]
    if origin is dict:
        _expect(isinstance(data, dict), where, "an object", data)
        return {k: _from_data(args[1] if args else Any, v, f"{where}.{k}") for k, v in data.items()}
    if hint is float:
        _expect(
            isinstance(data, int | float) and not isinstance(data, bool), where, "a number", data
        )
        return float(data)
    if hint is int:
        _expect(isinstance(data, int) and not isinstance(data, bool), where, "an integer", data)
        return data
    if hint is bool:
        _expect(isinstance(data, bool), where, "true or false", data)
        return data
    if hint is str:
        _expect(isinstance(data, str), where, "a string", data)
        return data
    if hint is type(None):
        _expect(data is None, where, "null", data)
        return None
    raise ExplanationFormatError(f"{where}: cannot read a value of type {hint!r}.")


def _union_from(args: tuple, data: Any, where: str) -> Any:
    errors = []
    for arg in sorted(args, key=_union_priority):
        try:
            return _from_data(arg, data, where)
        except ExplanationFormatError as exc:
            errors.append(str(exc))
    raise ExplanationFormatError(
        f"{where}: {data!r} matches none of the accepted types ({'; '.join(errors)})."
    )


def _union_priority(arg: Any) -> int:
    # int before float, so integers stay integers in `int | list[int]`-style fields
    return {type(None): 0, int: 1, float: 2, str: 3}.get(arg, 4)


def _dataclass_from(cls: type, data: Any, where: str) -> Any:
    _expect(isinstance(data, dict), where, "an object", data)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ExplanationFormatError(f"{where}: unknown fields {unknown} for {cls.__name__}.")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _from_data(hints[name], data[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ExplanationFormatError(f"{where}: missing field {name!r} of {cls.__name__}.")
    return cls(**kwargs)


def _expect(ok: bool, where: str, expected: str, data: Any) -> None:
    if not ok:
        raise ExplanationFormatError(f"{where}: expected {expected}, got {data!r}.")


__all__ = [
    "Explanation",
    "ExplanationSet",
    "Failure",
    "Provenance",
    "NeighbourhoodSummary",
    "LinearContent",
    "RuleContent",
    "SCHEMA_VERSION",
]
