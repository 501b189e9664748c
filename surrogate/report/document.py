"""The review as one JSON document: what ``report.json`` holds, its schema version, and
the bundle a built review returns (the document and the artefacts written beside it)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..explanation import Explanation
from .config import ReviewConfig
from .reason_codes import (
    CaseReasons,
)

#: 1.2 adds the reasons' check against the model (reason_codes.model_check, each reason's
#: model_effect) and its finding; 1.3 ranks reasons by the model's effects by default
#: (reason_codes.ranked_by) and gives each reason's surrogate_contribution; 1.4 makes a
#: family a reason only when material (reason_codes.materiality, policy.min_effect, each
#: case's dropped families and members), gives each reason's model_standard_error, grades a
#: check not performed as "needs attention" with no value, and reason_codes.csv holds
#: model_effect, its standard error and surrogate_contribution under their own names, without
#: the former contribution column
REPORT_SCHEMA_VERSION = "1.4"


@dataclass(frozen=True)
class ReportBundle:
    """A built review: the JSON-able document and the artefacts written next to it."""

    report: dict[str, Any]
    explanations: list[Explanation]
    reasons: list[CaseReasons]
    config: ReviewConfig


# ---- JSON ---------------------------------------------------------------------------------------------------
def to_jsonable(obj: Any, where: str = "report") -> Any:
    """Plain JSON types only (numpy scalars converted); a non-finite number is an error."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, f"{where}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ParameterError(f"The report value {where} is not a finite number ({obj!r}).")
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise ParameterError(f"The report value {where} has the non-JSON type {type(obj).__name__}.")


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def report_json_sha256(report: dict[str, Any]) -> str:
    """SHA-256 of the ``report.json`` text of a report document."""
    return hashlib.sha256(report_json(report).encode("utf-8")).hexdigest()
