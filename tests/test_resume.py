"""A long CLI run killed with SIGKILL resumes without recomputing or duplicating rows."""

from __future__ import annotations

import filecmp
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The model kills its own process on its N-th call: a deterministic point in the run,
# set by the test through the model it hands over, with no hook in the library.
RUNNER = textwrap.dedent(
    """
    import os, signal, sys
    import surrogate.demo as demo
    from surrogate.cli import main

    kill_at = int(sys.argv[1])
    original = demo.german_credit_model

    def killing_model(*args, **kwargs):
        model = original(*args, **kwargs)
        predict, calls = model.predict_proba, [0]

        def predict_proba(rows):
            calls[0] += 1
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return predict(rows)

        model.predict_proba = predict_proba
        return model

    demo.german_credit_model = killing_model
    raise SystemExit(main(sys.argv[2:]))
    """
)
ARGS = ["explain", "--train", "logreg", "--rows", "0-24", "--n-samples", "300", "--part-rows", "10"]


def run(out: Path, kill_at: int, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(kill_at), *ARGS, "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run(whole, kill_at=0).returncode == 0
    # calls: 1..3 = model fingerprint (rows, reversed, first alone), 4..6 = parts 0..2;
    # die while scoring part 2
    first = run(killed, kill_at=6)
    assert first.returncode == -signal.SIGKILL
    assert sorted(p.name for p in killed.glob("part-*.jsonl")) == [
        "part-00000.jsonl",
        "part-00001.jsonl",
    ]
    assert not (killed / "manifest.json").exists()
    finished = {p.name: p.stat().st_mtime_ns for p in killed.glob("part-*.jsonl")}

    # the resumed run scores only the missing part: 3 fingerprint calls + 1 part call
    resumed = run(
        killed, 5, "--resume"
    )  # a fifth call would kill it: proves parts 0, 1 are not redone
    assert resumed.returncode == 0, resumed.stderr
    assert {p.name: p.stat().st_mtime_ns for p in killed.glob("part-0000[01].jsonl")} == finished
    for name in ("part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl", "manifest.json"):
        assert filecmp.cmp(whole / name, killed / name, shallow=False), name
    lines = [
        json.loads(line)
        for p in sorted(killed.glob("part-*.jsonl"))
        for line in p.read_text().splitlines()
    ]
    assert len(lines) == 25


def test_resume_refuses_a_different_run(tmp_path):
    out = tmp_path / "run"
    assert run(out, 0).returncode == 0
    other = subprocess.run(
        [
            sys.executable,
            "-m",
            "surrogate",
            *ARGS[:-4],
            "--n-samples",
            "400",
            "--part-rows",
            "10",
            "--out",
            str(out),
            "--resume",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert other.returncode == 2
    assert "differs in ['sampling']" in other.stderr
