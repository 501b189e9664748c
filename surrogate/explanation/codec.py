"""The JSON codec of explanations: canonical bytes, typed reading, schema versions.

Documents carry ``schema_version`` "MAJOR.MINOR". A reader takes every document
of the same MAJOR version whose MINOR is not newer than this library's (fields
added by later minors get their defaults when older documents are read); anything
else is refused with :class:`~surrogate.errors.ExplanationFormatError` rather than
read approximately.

Minor versions: 1.1 added ``meta.threshold`` (the decision threshold of agreement and
rule precision), and to linear terms their ``contribution`` at the query with the
content's ``baseline`` and ``reference`` (see :class:`~surrogate.surrogates.base.LinearContent`).
1.2 added the explanation's ``scope`` (the question it answers: the reference of its
contributions, and its neighbourhood's scale and redraws), the population-scope
fidelity (``fidelity.r2_population``, ``mae_population``, ``n_population``) and
``meta.n_population``; older documents read them as not stated and not checked.
Also in 1.2: ``faithfulness``, the deletion check of text and image explanations (see
:class:`~surrogate.fidelity.Faithfulness`; null for tables and in older documents).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from typing import Any

import numpy as np

from ..errors import ExplanationFormatError

SCHEMA_VERSION = "1.2"


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


def load_json(text: str | bytes) -> Any:
    """JSON text as Python values, refusing ``NaN`` and ``Infinity`` (which :func:`canonical_json`
    never writes, so a document holding them was not written by this library)."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ExplanationFormatError(
        f"Not a JSON explanation: it holds {name}, which is not JSON and which no explanation "
        "holds (numbers are finite)."
    )


def check_document_keys(document: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
    """Refuse keys of an explanation document other than ``allowed``."""
    unknown = sorted(set(document) - set(allowed))
    if unknown:
        raise ExplanationFormatError(
            f"Unknown keys {unknown} in the explanation document; expected {sorted(allowed)}."
        )


def too_deep() -> ExplanationFormatError:
    """The refusal of a document nested deeper than the interpreter can read."""
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
def to_data(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_data(v) for v in obj]
    if isinstance(obj, np.generic):
        return to_data(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        raise ExplanationFormatError(f"Cannot serialise the non-finite number {obj!r}.")
    return obj


def from_data(hint: Any, data: Any, where: str) -> Any:
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
            return tuple(from_data(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        _expect(len(data) == len(args), where, f"{len(args)} items", data)
        return tuple(
            from_data(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if origin is list:
        _expect(isinstance(data, list), where, "a list", data)
        return [
            from_data(args[0] if args else Any, v, f"{where}[{i}]") for i, v in enumerate(data)
        ]
    if origin is dict:
        _expect(isinstance(data, dict), where, "an object", data)
        return {k: from_data(args[1] if args else Any, v, f"{where}.{k}") for k, v in data.items()}
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
            return from_data(arg, data, where)
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
            kwargs[name] = from_data(hints[name], data[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ExplanationFormatError(f"{where}: missing field {name!r} of {cls.__name__}.")
    return cls(**kwargs)


def _expect(ok: bool, where: str, expected: str, data: Any) -> None:
    if not ok:
        raise ExplanationFormatError(f"{where}: expected {expected}, got {data!r}.")
