"""Outputs a change of structure must not move: every golden file is recomputed byte for byte.

A deliberate change of outputs reruns ``python tests/golden/record.py`` in the same
commit and says in its message which files moved and why.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


def _recorder():
    spec = importlib.util.spec_from_file_location("golden_record", GOLDEN / "record.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("golden_record", module)
    spec.loader.exec_module(module)
    return module


RECORDER = _recorder()
CASES = RECORDER.cases()


@pytest.mark.slow
@pytest.mark.parametrize("stem", sorted(CASES))
def test_golden_output_is_unchanged(stem):
    expected = (GOLDEN / f"{stem}.json").read_text()
    assert CASES[stem]() == expected, f"{stem}.json moved; rerun tests/golden/record.py if meant"


@pytest.mark.slow
def test_golden_review_is_unchanged(tmp_path):
    expected = (GOLDEN / "report.json").read_text()
    assert RECORDER.report_json(tmp_path / "review") == expected
