"""The disk store: parts verified on resume and on reading, one writer per folder."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate import store
from surrogate.errors import IntegrityError, ParameterError
from surrogate.store import explain_many_to, read_parts

N_SAMPLES = 200
PART_ROWS = 4
N_ROWS = 14  # parts of 4, 4, 4, 2


@pytest.fixture(scope="module")
def world():
    """A logistic pipeline over numbers and one category, its explainer and the queries."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=[f"f{i}" for i in range(4)])
    X["grade"] = pd.Categorical(rng.choice(["a", "b", "c"], len(X)))
    y = X["f0"] - 2 * X["f2"] + (X["grade"] == "b") > 0
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["grade"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(X, y)
    return model, X, X.iloc[:N_ROWS]


@pytest.fixture(scope="module")
def explainer(world):
    model, X, _ = world
    return sg.TabularExplainer(model, X, n_samples=N_SAMPLES, random_state=5)


@pytest.fixture(scope="module")
def reference(explainer, world, tmp_path_factory):
    """An uninterrupted run: its folder (read-only for the tests) and its explanations."""
    out = tmp_path_factory.mktemp("reference") / "run"
    explain_many_to(explainer, world[2], output=out, partition_rows=PART_ROWS)
    return out, [e.to_json() for e in read_parts(out)]


def _copy(reference, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(reference[0], out)
    return out


def _resume(explainer, world, out):
    return explain_many_to(explainer, world[2], output=out, partition_rows=PART_ROWS, resume=True)


def _stop_after(out, n_finished: int) -> None:
    """What a run killed while writing part ``n_finished`` leaves: that part's file perhaps,
    but not its record, no later part and no manifest."""
    (out / "manifest.json").unlink()
    for path in out.glob("part-*"):
        number = int(path.name[5:10])
        if number > n_finished or (number == n_finished and path.name.endswith(".info.json")):
            path.unlink()


# ---------------------------------------------------------------------------- tampering
def _truncate_mid_line(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _drop_last_line(path):
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


def _empty(path):
    path.write_bytes(b"")


def _swap_with_first(path):
    path.write_bytes((path.parent / "part-00000.jsonl").read_bytes())


def _edit_a_weight(path):
    text = path.read_text(encoding="utf-8")
    edited, n = re.subn(
        r'"weight":(-?)(\d)', lambda m: f'"weight":{m[1]}{(int(m[2]) + 1) % 10}', text, count=1
    )
    assert n == 1
    path.write_text(edited, encoding="utf-8")


TAMPERING = {
    "truncated mid-line": _truncate_mid_line,
    "truncated at a line": _drop_last_line,
    "emptied": _empty,
    "swapped": _swap_with_first,
    "weight edited": _edit_a_weight,
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=list(TAMPERING))
def test_a_damaged_part_is_refused_on_resume(explainer, world, reference, tmp_path, tamper):
    out = _copy(reference, tmp_path)
    _stop_after(out, 3)  # parts 0-2 finished, part 3 not
    tamper(out / "part-00001.jsonl")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(IntegrityError, match="part-00001.jsonl"):
        _resume(explainer, world, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=list(TAMPERING))
def test_a_damaged_part_is_refused_on_reading(reference, tmp_path, tamper):
    out = _copy(reference, tmp_path)
    tamper(out / "part-00001.jsonl")
    seen = []
    with pytest.raises(IntegrityError, match="part-00001.jsonl"):
        for exp in read_parts(out):
            seen.append(exp)
    assert len(seen) == PART_ROWS  # part 0 only: nothing of the damaged part is yielded


def test_swapped_part_and_record_are_refused(explainer, world, reference, tmp_path):
    out = _copy(reference, tmp_path)
    _stop_after(out, 3)
    for suffix in (".jsonl", ".info.json"):
        first, second = out / f"part-00000{suffix}", out / f"part-00001{suffix}"
        a, b = first.read_bytes(), second.read_bytes()
        first.write_bytes(b)
        second.write_bytes(a)
    with pytest.raises(IntegrityError, match="part-00000.info.json does not describe part 0"):
        _resume(explainer, world, out)


def test_a_missing_finished_part_is_refused(explainer, world, reference, tmp_path):
    out = _copy(reference, tmp_path)
    _stop_after(out, 3)
    (out / "part-00002.jsonl").unlink()
    with pytest.raises(IntegrityError, match="part-00002.jsonl is missing"):
        _resume(explainer, world, out)


def test_parts_of_another_run_are_refused(explainer, world, reference, tmp_path):
    model, X, queries = world
    other = tmp_path / "other"
    explain_many_to(
        sg.TabularExplainer(model, X, n_samples=2 * N_SAMPLES, random_state=5),
        queries,
        output=other,
        partition_rows=PART_ROWS,
    )
    out = _copy(reference, tmp_path)
    _stop_after(out, 2)
    for name in ("part-00001.jsonl", "part-00001.info.json"):  # a part of the other run
        (out / name).write_bytes((other / name).read_bytes())
    with pytest.raises(IntegrityError, match="part-00001.info.json belongs to run"):
        _resume(explainer, world, out)


def test_a_record_past_the_finished_parts_is_refused(explainer, world, reference, tmp_path):
    out = _copy(reference, tmp_path)
    _stop_after(out, 3)
    (out / "part-00001.info.json").unlink()  # part 1 unfinished, yet parts 2 lies beyond it
    with pytest.raises(IntegrityError, match="part-00002"):
        _resume(explainer, world, out)


def test_damaged_json_records_are_named(explainer, world, reference, tmp_path):
    out = _copy(reference, tmp_path)
    (out / "manifest.json").write_text('{"parts": [', encoding="utf-8")
    with pytest.raises(IntegrityError, match="manifest.json is not valid JSON"):
        list(read_parts(out))
    (out / "manifest.json").unlink()
    (out / "part-00000.info.json").write_text("{", encoding="utf-8")
    with pytest.raises(IntegrityError, match="part-00000.info.json is not valid JSON"):
        _resume(explainer, world, out)
    (out / "run.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(IntegrityError, match="run.json is not valid JSON"):
        _resume(explainer, world, out)


def test_a_manifest_of_another_run_is_refused(reference, tmp_path):
    out = _copy(reference, tmp_path)
    run = json.loads((out / "run.json").read_text())
    run["n_rows"] += 1  # the run record no longer hashes to its id
    (out / "run.json").write_text(json.dumps(run))
    with pytest.raises(IntegrityError, match="run.json does not match"):
        list(read_parts(out))


# ---------------------------------------------------------------------------- honest resume
def test_resume_after_a_stop_completes_the_run(explainer, world, reference, tmp_path):
    out = _copy(reference, tmp_path)
    _stop_after(out, 2)  # part 2 was being written: its file is there, its record is not
    kept = {n: (out / n).stat().st_mtime_ns for n in ("part-00000.jsonl", "part-00001.jsonl")}
    (out / f".part-00003.jsonl.tmp-{os.getpid() + 1}").write_text("half a part")
    (out / ".notes.txt.tmp-1").write_text("not ours")
    written = _resume(explainer, world, out)
    assert written.n_explained == N_ROWS
    assert {n: (out / n).stat().st_mtime_ns for n in kept} == kept  # not recomputed
    assert [e.to_json() for e in read_parts(out)] == reference[1]
    for name in ("manifest.json", "run.json", *(f"part-0000{i}.jsonl" for i in range(4))):
        assert (out / name).read_bytes() == (reference[0] / name).read_bytes(), name
    # the stale temporary of ours is gone, the stranger's file is left alone, no lock remains
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".notes.txt.tmp-1"]


def test_resume_of_a_finished_run_verifies_it(explainer, world, reference, tmp_path):
    out = _copy(reference, tmp_path)
    assert _resume(explainer, world, out).n_explained == N_ROWS
    _edit_a_weight(out / "part-00003.jsonl")
    with pytest.raises(IntegrityError, match="part-00003.jsonl"):
        _resume(explainer, world, out)


def test_the_manifest_records_digests_and_the_run_id(reference):
    out = reference[0]
    manifest = json.loads((out / "manifest.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert manifest["run_id"] == run["run_id"] and len(run["run_id"]) == 32
    part = manifest["parts"][1]
    import hashlib

    data = (out / part["file"]).read_bytes()
    assert part["sha256"] == hashlib.sha256(data).hexdigest()
    assert part["n_lines"] == data.count(b"\n") == PART_ROWS
    info = json.loads((out / "part-00001.info.json").read_text())
    assert info["run_id"] == run["run_id"] and info["part"] == part
    assert run["model_fingerprint"] and run["surrogate"]["family"] == "linear"


# ---------------------------------------------------------------------------- one writer per folder
class _SecondWriter:
    """A model that, while the first run scores its rows, starts a second run into the folder."""

    def __init__(self, model, attempt):
        self.model, self.attempt, self.calls, self.refusal = model, attempt, None, None
        self.classes_ = model.classes_

    def fit(self, X, y):  # pragma: no cover - never fitted here
        return self

    def predict_proba(self, rows):
        if self.calls is None:  # building the explainer: not counted
            return self.model.predict_proba(rows)
        self.calls += 1
        if self.calls == 2:  # while the second part is explained
            try:
                self.attempt()
            except ParameterError as exc:
                self.refusal = exc
        return self.model.predict_proba(rows)


def test_a_second_writer_is_refused(world, explainer, tmp_path):
    model, X, queries = world
    out = tmp_path / "run"

    def second():
        explain_many_to(explainer, queries, output=out, partition_rows=PART_ROWS, overwrite=True)

    spy = _SecondWriter(model, second)
    first = sg.TabularExplainer(spy, X, n_samples=N_SAMPLES, random_state=5, mode="classification")
    spy.calls = 0  # count the calls of the run, from now on
    written = explain_many_to(first, queries, output=out, partition_rows=PART_ROWS)
    assert spy.calls == 4  # one per part
    assert spy.refusal is not None and "in use by another run" in str(spy.refusal)
    assert f"process {os.getpid()}" in str(spy.refusal)
    assert sum(1 for _ in read_parts(out)) == written.n_explained == N_ROWS
    assert not (out / store.LOCK_NAME).exists()
    second()  # once the first run is over, the folder is free


def test_a_lock_left_by_a_killed_run_does_not_block(explainer, world, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / store.LOCK_NAME).write_text("pid 999999\n")  # the file remains, its lock died
    assert explain_many_to(explainer, world[2].iloc[:2], output=out).n_explained == 2


# ---------------------------------------------------------------------------- calls and bar
def test_each_part_is_explained_by_the_public_explain_many(explainer, world, tmp_path, monkeypatch):
    calls = []
    original = type(explainer).explain_many

    def spy(self, X, surrogate="linear", *, on_error="raise", n_jobs=None, progress=None, **params):
        calls.append({"n_jobs": n_jobs, "progress": progress, "on_error": on_error, **params})
        return original(
            self, X, surrogate, on_error=on_error, n_jobs=n_jobs, progress=progress, **params
        )

    monkeypatch.setattr(type(explainer), "explain_many", spy)
    explain_many_to(
        explainer,
        world[2],
        output=tmp_path / "o",
        partition_rows=PART_ROWS,
        n_jobs=1,
        max_features=3,
    )
    assert calls == [{"n_jobs": 1, "progress": False, "on_error": "raise", "max_features": 3}] * 4


def test_progress_bar_counts_rows_per_part(explainer, world, tmp_path, capsys):
    pytest.importorskip("tqdm")
    explain_many_to(
        explainer, world[2], output=tmp_path / "o", partition_rows=PART_ROWS, progress=True
    )
    assert f"{N_ROWS}/{N_ROWS}" in capsys.readouterr().err


def test_local_options_are_refused_with_a_client(explainer, world, tmp_path):
    with pytest.raises(ParameterError, match="local runs"):
        explain_many_to(explainer, world[2], output=tmp_path / "o", client=object(), n_jobs=2)


# ---------------------------------------------------------------------------- the command line
def test_cli_resume_refuses_an_emptied_part(tmp_path, capsys):
    from surrogate.cli import main

    args = ["explain", "--train", "logreg", "--rows", "0-29", "--n-samples", "300"]
    args += ["--part-rows", "10", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    (tmp_path / "r" / "manifest.json").unlink()
    (tmp_path / "r" / "part-00001.jsonl").write_bytes(b"")
    capsys.readouterr()
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "part-00001.jsonl" in err and "changed since it was written" in err
