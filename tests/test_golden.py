"""Outputs a change of structure must not move: every golden file is recomputed and compared.

On the machine that recorded them the files come back byte for byte. Elsewhere a BLAS
built for another processor may round the last bits differently, so the test holds
every string, key and integer exactly and every float to 1e-9 (relative), the
tolerance the library promises across company (shared/DESIGN.md, invariant 1). A
deliberate change of outputs reruns ``python tests/golden/record.py`` in the same
commit and says in its message which files moved and why.
"""

from __future__ import annotations

import importlib.util
import json
import math
import platform
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


def _documents(text: str) -> list:
    """One indented document (report.json) or one per line (explanations)."""
    if text.startswith("{\n"):
        return [json.loads(text)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _same(a, b, where: str = "") -> list[str]:
    """Where two JSON values differ: exactly, except floats to 1e-9 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _same(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        ok = isinstance(a, int | float) and isinstance(b, int | float)
        return (
            []
            if ok and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            else [f"{where}: {a!r} vs {b!r}"]
        )
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def _differences(stem: str, computed: str) -> list[str]:
    """Where a recomputed golden file moved (none when byte-identical)."""
    expected = (GOLDEN / stem).read_text()
    if computed == expected:
        return []
    return _same(_documents(expected), _documents(computed))


@pytest.mark.slow
@pytest.mark.parametrize("stem", sorted(CASES))
def test_golden_output_is_unchanged(stem):
    moved = _differences(f"{stem}.json", CASES[stem]())
    assert moved == [], f"{stem}.json moved (rerun tests/golden/record.py if meant): {moved[:5]}"


@pytest.mark.slow
def test_golden_review_is_unchanged_on_another_machine(tmp_path, monkeypatch):
    # the corpus was recorded elsewhere: a foreign kernel and processor must not move it
    monkeypatch.setattr(platform, "platform", lambda *args, **kwargs: "Plan9-4-mips-elsewhere")
    monkeypatch.setattr(platform, "processor", lambda: "a processor never seen before")
    moved = _differences("report.json", RECORDER.report_json(tmp_path / "review"))
    assert moved == [], f"report.json moved (rerun tests/golden/record.py if meant): {moved[:5]}"


def _golden_review() -> dict:
    return json.loads((GOLDEN / "report.json").read_text())


def _as_recorded(document: dict) -> str:
    RECORDER._hold_machine_facts_by_shape(document["reproducibility"])
    return json.dumps(document, sort_keys=True, indent=1) + "\n"


def test_machine_facts_are_held_by_shape():
    document = _golden_review()
    document["reproducibility"]["platform"] = "Linux-9.9.9-other-build-x86_64-with-musl"
    for entry in document["reproducibility"]["versions"]:
        if entry["name"] != "surrogate":
            entry["version"] = "0.0.0+local.build"
    assert _differences("report.json", _as_recorded(document)) == []


@pytest.mark.parametrize(
    "move",
    [
        pytest.param(lambda d: d["reproducibility"].update(platform=""), id="platform-missing"),
        pytest.param(lambda d: d["reproducibility"].update(seed=1), id="seed"),
        pytest.param(lambda d: d["reproducibility"]["versions"][1].update(version="9.9"),
                     id="library-version"),
        pytest.param(lambda d: d["reproducibility"]["rerun_check"].update(
            max_abs_difference=1e-6), id="a-float"),
    ],
)
def test_a_moved_output_still_fails_the_golden_check(move):
    document = _golden_review()
    move(document)
    assert _differences("report.json", _as_recorded(document)) != []
