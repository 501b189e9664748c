"""``reason_codes.csv``: one row per stated reason, every cell neutralised against formula
injection (a cell a spreadsheet would read as a formula is prefixed with a quote)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from .reason_codes import CaseReasons
from .reason_texts import value_words

#: first characters that make a spreadsheet read a cell as a formula
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


#: where a formula could start: the cell's start, after a separator a spreadsheet may
#: split on when importing (``;``, tab, ``|``) or after a line break inside the cell, with
#: any white space in between (a spreadsheet may trim it: a space, a non-breaking space)
_PIECE_START = re.compile(r"(^|[;\t|\r\n])([^\S\t\r\n]*)(?=[=+\-@\t\r])")


#: the columns of ``reason_codes.csv`` (report schema 1.4: ``model_effect`` and
#: ``surrogate_contribution`` under their own names; the ``contribution`` column of earlier
#: versions, which held whichever of the two ranked the reasons, is gone)
CSV_COLUMNS = (
    "case_id",
    "adverse_score",
    "declined",
    "status",
    "rank",
    "family",
    "reason",
    "model_effect",
    "model_effect_standard_error",
    "surrogate_contribution",
    "features",
    "values",
    "fidelity_r2",
    "flags",
    "reason_flags",
)


def neutralise_cell(value: Any) -> str:
    """A cell as text that no spreadsheet runs as a formula (a ``'`` where needed).

    A spreadsheet may split a cell further when it imports the file with ``;`` (or tab
    or ``|``) as the field separator, so every piece that would start a cell then --
    the text after each such separator -- is neutralised too: ``income;=HYPERLINK(..)``
    becomes ``income;'=HYPERLINK(..)``; so is a line after a line break inside the cell,
    and white space before the formula (``" =1+1"`` becomes ``" '=1+1"``) is looked past.
    """
    text = "" if value is None else str(value)
    return _PIECE_START.sub(lambda m: m.group(1) + m.group(2) + "'", text)


def reason_rows(cases: Sequence[CaseReasons]) -> list[dict[str, Any]]:
    """One row per reason; a case without reasons gets one row stating its status."""
    rows: list[dict[str, Any]] = []
    for case in cases:
        base = {
            "case_id": case.case_id,
            "adverse_score": case.adverse_score,
            "declined": case.declined,
            "status": case.status,
            "fidelity_r2": case.fidelity_r2,
            "flags": " | ".join(case.flags),
        }
        if not case.reasons:
            rows.append(
                {
                    **base,
                    "rank": "",
                    "family": "",
                    "reason": "",
                    "model_effect": "",
                    "model_effect_standard_error": "",
                    "surrogate_contribution": "",
                    "features": "",
                    "values": "",
                    "reason_flags": "",
                }
            )
        for r in case.reasons:
            rows.append(
                {
                    **base,
                    "rank": r.rank,
                    "family": r.family,
                    "reason": r.text,
                    "model_effect": _blank_if_none(r.model_effect),
                    "model_effect_standard_error": _blank_if_none(r.model_standard_error),
                    "surrogate_contribution": _blank_if_none(r.surrogate_contribution),
                    "features": ";".join(r.features),
                    "values": ";".join(f"{p.feature}={value_words(p.value)}" for p in r.parts),
                    "reason_flags": " | ".join(f.text for f in r.flags),
                }
            )
    return rows


def reason_codes_csv(cases: Sequence[CaseReasons]) -> str:
    """The reasons as CSV text, every cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in reason_rows(cases):
        writer.writerow([neutralise_cell(_csv_value(row[c])) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _blank_if_none(value: Any) -> Any:
    return "" if value is None else value


def _csv_value(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value
