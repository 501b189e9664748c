"""The review under faults: trust only from the command line, atomic output folders, the
model only sees copies, reviews with nobody declined, and a PDF step that contacts no host."""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL_REVIEW

from surrogate.errors import DataError, ModelError, ParameterError
from surrogate.report import (
    ReportBundle,
    ReviewConfig,
    build_report,
    problem,
    publish,
    sections,
    write_report,
)
from surrogate.report.problem import load_model

#: a review small enough to build in seconds
SMALL = SMALL_REVIEW


@pytest.fixture
def bundle(small_review):
    """The test run's shared small review (tests/conftest.py), never changed here."""
    return small_review


# ---- trust in a model file: from the command line only -------------------------------------------
class _Payload:
    """Unpickling this runs code: it creates the file it names."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def malicious(tmp_path):
    import joblib

    marker = tmp_path / "the-pickle-ran"
    path = tmp_path / "model.joblib"
    joblib.dump(_Payload(marker), path)
    return path, marker


def test_a_review_file_cannot_grant_trust(malicious, tmp_path):
    path, marker = malicious
    review = tmp_path / "review.toml"
    review.write_text(f'[model]\npath = "{path.name}"\ntrust_model_file = true\n', encoding="utf-8")
    config = ReviewConfig.from_toml(review)
    assert config.trust_model_file is False and "not a grant" in config.trusted_by
    with pytest.raises(ModelError, match="cannot grant it"):
        build_report(config.with_overrides(out=str(tmp_path / "out")))
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_the_command_line_refuses_a_review_file_granting_trust(malicious, tmp_path):
    from surrogate.cli import main

    path, marker = malicious
    review = tmp_path / "review.toml"
    review.write_text(f'[model]\npath = "{path.name}"\ntrust_model_file = true\n', encoding="utf-8")
    assert main(["report", "--config", str(review), "--out", str(tmp_path / "out")]) == 2
    assert not marker.exists()


@pytest.mark.parametrize("key", ["trust_model_sha256", "trust_model_file_sha256"])
def test_a_review_file_naming_a_digest_grant_is_refused(tmp_path, key):
    review = tmp_path / "review.toml"
    review.write_text(f'[model]\n{key} = "{"0" * 64}"\n', encoding="utf-8")
    with pytest.raises(ParameterError, match=key):
        ReviewConfig.from_toml(review)


def test_a_pinned_digest_trusts_that_file_only(malicious, tmp_path):
    import joblib
    from sklearn.linear_model import LogisticRegression

    path, marker = malicious
    with pytest.raises(ModelError, match="not the file that was trusted"):
        load_model(path, trust=False, sha256="0" * 64)
    assert not marker.exists()
    good = tmp_path / "good.joblib"
    joblib.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), good)
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    assert load_model(good, trust=False, sha256=digest.upper()).predict([[1.0]])[0] == 1
    with pytest.raises(ModelError, match=f"--trust-model-sha256 {digest}"):
        load_model(good, trust=False)  # the refusal says how to pin this very file


def test_the_saved_review_records_trust_without_granting_it(tmp_path):
    config = ReviewConfig(
        model=str(tmp_path / "m.joblib"), trust_model_sha256="ab" * 32, out=str(tmp_path / "o")
    ).resolved()
    text = config.to_toml()
    assert "trust_model_file" not in text and "trust_model_sha256" not in text
    assert f'trusted_by = "--trust-model-sha256 {"ab" * 32} (this exact file only)"' in text
    (tmp_path / "review.toml").write_text(text, encoding="utf-8")
    again = ReviewConfig.from_toml(tmp_path / "review.toml")
    assert again.trust_model_file is False and again.trust_model_sha256 is None
    assert again.resolved().trust_granted() is None


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0" * 63])
def test_a_malformed_digest_is_refused(tmp_path, bad):
    with pytest.raises(ParameterError, match="64 hexadecimal digits"):
        ReviewConfig(model=str(tmp_path / "m.joblib"), trust_model_sha256=bad).resolved()


# ---- thresholds and reviews where nobody (or everybody) is declined ---------------------------
@pytest.mark.parametrize("threshold", [-1.0, 0.0, 1.0, 1.5, float("nan"), float("inf")])
def test_a_threshold_outside_zero_one_is_refused(threshold):
    with pytest.raises(ParameterError, match=r"threshold must be None or a number in \(0, 1\)"):
        ReviewConfig(threshold=threshold).resolved()


@pytest.mark.parametrize("text", ["-1", "0", "1", "2.5", "nan", "many"])
def test_the_command_line_threshold_is_refused_when_parsed(text):
    import argparse

    from surrogate.report.config import threshold_argument

    with pytest.raises(argparse.ArgumentTypeError):
        threshold_argument(text)
    assert threshold_argument("0.25") == 0.25


def test_a_review_where_nobody_is_declined_says_what_was_not_performed(tmp_path):
    bundle = build_report(ReviewConfig(**SMALL, threshold=0.999, out=str(tmp_path / "r")))
    report = bundle.report
    missing = {n["what"] for n in report["scope"]["not_performed"]}
    assert missing == {
        "local explanations of chosen cases",
        "sensitivity to settings",
        "reason codes",
        "rerun check",
    }
    assert (
        "no held-out applicant is declined at the cut-off 0.999"
        in (report["scope"]["not_performed"][0]["why"])
    )
    assert report["sensitivity"] == {
        "performed": False,
        "n_cases": 0,
        "top_k": 5,
        "settings": [],
    }
    assert report["reason_codes"]["n_declined"] == 0 and not report["local"]["cases"]
    html = write_report(bundle).read_text(encoding="utf-8")
    assert "Not performed: local explanations of chosen cases, sensitivity to settings" in html


def test_a_review_where_everybody_is_declined(tmp_path):
    config = ReviewConfig(**SMALL, threshold=0.001, out=str(tmp_path / "r"))
    report = build_report(config).report
    assert report["performance"]["held_out"]["decline_rate"] == 1.0
    assert report["scope"]["not_performed"] == [] and report["sensitivity"]["performed"]
    with pytest.raises(ParameterError, match="declines all of them"):
        build_report(config.with_overrides(reference="approved"))


# ---- the model only sees copies ----------------------------------------------------------------
class _EditingModel:
    """Scores like the model it wraps, then overwrites the rows it was given."""

    def __init__(self, model) -> None:
        self.model = model
        self.classes_ = model.classes_

    def fit(self, X, y):  # pragma: no cover - never refitted
        return self

    def predict_proba(self, X):
        out = self.model.predict_proba(X)
        for column in X.columns:
            if str(X[column].dtype) != "category":
                X[column] = 0
        return out


def test_a_model_editing_its_input_changes_nothing_shown(bundle, tmp_path, monkeypatch):
    trained = problem.train_model
    monkeypatch.setattr(problem, "train_model", lambda *args: _EditingModel(trained(*args)))
    edited = build_report(ReviewConfig(**SMALL, out=str(tmp_path / "r"))).report
    clean = copy.deepcopy(bundle.report)
    for report in (clean, edited):  # the wrapper is another object: its fingerprint differs
        for family in ("tree", "rules", "additive"):
            report["global"][family]["explanation"]["global_explanation"]["meta"].pop(
                "model_fingerprint"
            )
    shown = ("data", "performance", "global", "local", "fidelity", "sensitivity", "reason_codes")
    assert {k: edited[k] for k in shown} == {k: clean[k] for k in shown}


def test_the_adapter_hands_the_model_a_copy():
    import pandas as pd

    from surrogate.blackbox import as_blackbox

    seen = []

    def model(rows):
        seen.append(rows)
        rows.iloc[:, 0] = -1.0
        return np.ones(len(rows))

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    box = as_blackbox(model, mode="regression", probe_rows=frame)
    box.predict(frame)
    assert frame["a"].tolist() == [1.0, 2.0] and all(s is not frame for s in seen)


# ---- the report folder is written atomically ----------------------------------------------------
def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _newer(bundle):
    """The same review with a different title: another complete report."""
    report = copy.deepcopy(bundle.report)
    report["scope"]["title"] = "A newer review"
    return ReportBundle(report, bundle.explanations, bundle.reasons, bundle.config)


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


def test_the_html_states_the_digest_of_its_json(bundle, tmp_path):
    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    html = write_report(ReportBundle(bundle.report, [], [], config))
    digest = hashlib.sha256((html.parent / "report.json").read_bytes()).hexdigest()
    text = html.read_text(encoding="utf-8")
    assert f'<meta name="report-json-sha256" content="{digest}">' in text
    assert f'<td class="mono">{digest}</td>' in text


def test_a_failure_while_rendering_leaves_the_previous_report(bundle, tmp_path, monkeypatch):
    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    first = ReportBundle(bundle.report, bundle.explanations, bundle.reasons, config)
    write_report(first)
    before = _files(tmp_path / "r")
    import surrogate.report.html as html_module

    def broken(report):
        raise RuntimeError("stopped while rendering the page")

    monkeypatch.setattr(html_module, "render_report_html", broken)
    with pytest.raises(RuntimeError, match="stopped while rendering"):
        write_report(_newer(first))
    assert _files(tmp_path / "r") == before and _siblings(tmp_path / "r") == []


def test_a_full_disk_leaves_the_previous_report(bundle, tmp_path, monkeypatch):
    from surrogate import store

    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    first = ReportBundle(bundle.report, bundle.explanations, bundle.reasons, config)
    write_report(first)
    before = _files(tmp_path / "r")
    real = store.atomic_write

    def full(path, data):
        if path.name == "report.html":
            real(path, data[: len(data) // 2])  # what fits, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(store, "atomic_write", full)
    with pytest.raises(OSError, match="No space left"):
        write_report(_newer(first))
    assert _files(tmp_path / "r") == before and _siblings(tmp_path / "r") == []


KILLER = textwrap.dedent(
    """
    import os, pickle, signal, sys
    from surrogate import store
    from surrogate.report import write_report

    bundle = pickle.loads(open(sys.argv[1], "rb").read())
    real, calls = store.atomic_write, [0]

    def killing(path, data):
        calls[0] += 1
        if calls[0] == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        real(path, data)

    store.atomic_write = killing
    write_report(bundle)
    """
)


@pytest.mark.parametrize("kill_at", [1, 3, 5])
def test_a_kill_while_writing_leaves_the_previous_or_the_new_report(bundle, tmp_path, kill_at):
    config = bundle.config.with_overrides(out=str(tmp_path / "reports" / "r"))
    first = ReportBundle(bundle.report, bundle.explanations, bundle.reasons, config)
    write_report(first)
    before = _files(tmp_path / "reports" / "r")
    saved = tmp_path / "newer.pickle"
    saved.write_bytes(pickle.dumps(_newer(first)))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(saved), str(kill_at)], env=env, timeout=300
    )
    out = tmp_path / "reports" / "r"
    assert done.returncode == -signal.SIGKILL
    assert _files(out) == before  # the previous complete report, untouched
    assert any(name.startswith(".r.tmp-") for name in _siblings(out))
    write_report(_newer(first))  # the next run clears what the killed one left
    after = _files(out)
    assert json.loads(after["report.json"])["scope"]["title"] == "A newer review"
    assert _siblings(out) == []


def test_a_folder_holding_other_files_is_refused(bundle, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    config = bundle.config.with_overrides(out=str(out))
    with pytest.raises(ParameterError, match="notes.txt"):
        write_report(ReportBundle(bundle.report, [], [], config))
    assert _files(out) == {"notes.txt": b"mine"}


# ---- the PDF step contacts no host ---------------------------------------------------------------
#: network system calls, and a destination outside loopback in their arguments
_NETWORK_CALL = re.compile(r"\b(connect|sendto|sendmsg|sendmmsg)\(")
_INET = re.compile(r"sa_family=AF_INET6?\b")
_LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|"::ffff:127\.')


def _attempts(command: list[str], tmp_path: Path) -> list[str]:
    """Every connection attempt (TCP or UDP, any process started) outside loopback."""
    trace = tmp_path / "trace.txt"
    calls = "trace=connect,sendto,sendmsg,sendmmsg"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", calls, "-o", str(trace), *command],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = trace.read_text(encoding="utf-8", errors="replace").splitlines()
    return [
        line
        for line in lines
        if _NETWORK_CALL.search(line) and _INET.search(line) and not _LOOPBACK.search(line)
    ]


needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


@needs_strace
def test_the_recorder_sees_an_attempt(tmp_path):
    # a UDP "connection" to a documentation address: recorded, though no packet is sent
    code = (
        "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect(('192.0.2.1', 9))"
    )
    assert len(_attempts([sys.executable, "-c", code], tmp_path)) == 1


@needs_strace
@pytest.mark.browser
def test_printing_the_pdf_makes_no_connection_attempt(bundle, tmp_path):
    from surrogate.report import pdf

    if pdf.find_browser() is None:
        pytest.skip("no Chromium installed")
    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    html = write_report(ReportBundle(bundle.report, [], [], config))
    code = (
        "import sys; from pathlib import Path; from surrogate.report.pdf import html_to_pdf; "
        "html_to_pdf(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    out = tmp_path / "report.pdf"
    attempts = _attempts([sys.executable, "-c", code, str(html), str(out)], tmp_path)
    assert out.read_bytes().startswith(b"%PDF")
    assert attempts == [], f"{pdf.find_browser()} attempted: {attempts[:5]}"


# ---- round 3: a review file runs no code -------------------------------------------------------------
def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links as their target's text), to show nothing changed."""
    return {
        str(p.relative_to(folder)): (os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


#: a module that leaves a mark when it is imported, so a test can see whether it ran
MARKING_MODULE = "from pathlib import Path\nPath(__file__).with_name('it-ran').touch()\n"


def _small_csv(path: Path, labels=("good", "bad"), n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    import pandas as pd

    frame = pd.DataFrame({"income": rng.normal(50, 10, n).round(1), "age": rng.integers(20, 70, n)})
    frame["risk"] = np.where(frame["income"] + rng.normal(0, 5, n) < 50, labels[1], labels[0])
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("factory", ["mod:build", "this:x"])
def test_a_review_file_naming_a_model_factory_is_refused(tmp_path, monkeypatch, capsys, factory):
    from surrogate.cli import main

    (tmp_path / "mod.py").write_text(MARKING_MODULE, encoding="utf-8")
    (tmp_path / "net.pt").write_bytes(b"not read")
    review = tmp_path / "review.toml"
    review.write_text(
        f'[model]\npath = "net.pt"\nmodel_factory = "{factory}"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # even where the folder is on the path
    before = _tree(tmp_path)
    assert main(["report", "--config", str(review), "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "--model-factory" in lines[0] and "review file" in lines[0]
    assert "Zen of Python" not in out and "mod" not in sys.modules
    assert _tree(tmp_path) == before  # no mark, no output folder


def _cli_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), **extra)


def test_python_m_never_imports_a_module_from_the_current_folder(tmp_path):
    data = _small_csv(tmp_path / "data.csv")
    (tmp_path / "mod.py").write_text(MARKING_MODULE, encoding="utf-8")
    (tmp_path / "net.pt").write_bytes(b"not read")
    argv = [sys.executable, "-m", "surrogate", "report", "--data", str(data), "--target", "risk"]
    argv += ["--model", "net.pt", "--model-factory", "mod:build", "--out", "out"]
    done = subprocess.run(
        argv, cwd=tmp_path, env=_cli_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert "only in the current folder" in done.stderr and "PYTHONPATH" in done.stderr
    assert not (tmp_path / "it-ran").exists() and not (tmp_path / "out").exists()
    # named on PYTHONPATH, the folder is the reviewer's choice: the module is imported
    env = _cli_env()
    env["PYTHONPATH"] += os.pathsep + str(tmp_path)
    again = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "has no function 'build'" in again.stderr
    assert (tmp_path / "it-ran").exists()


def test_a_factory_review_is_rerun_with_the_flag(tmp_path):
    config = ReviewConfig(
        model=str(tmp_path / "net.pt"), model_factory="loan_net:build", out=str(tmp_path / "o")
    ).resolved()
    text = config.to_toml()
    assert "model_factory =" not in text
    assert "#   surrogate report --config <this file> --model-factory loan_net:build" in text
    (tmp_path / "review.toml").write_text(text, encoding="utf-8")
    assert ReviewConfig.from_toml(tmp_path / "review.toml").model_factory is None
    rerun = sections.rerun_command(config, problem=None)
    assert rerun.endswith("review.toml --model-factory loan_net:build")


@pytest.mark.parametrize("bad", ["mod", "mod:", ":fn", "a b:fn", "mod:fn\n[data]"])
def test_a_malformed_model_factory_is_refused(tmp_path, bad):
    config = ReviewConfig(model=str(tmp_path / "net.pt"), model_factory=bad)
    with pytest.raises(ParameterError, match="module:function"):
        config.resolved()


# ---- round 3: cleanup removes only what the review made -------------------------------------------
def test_cleanup_spares_folders_the_review_did_not_make(bundle, tmp_path):
    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    mine = {
        ".r.backup-2024": "the user's backup",
        ".r.tmp-999": "a user folder named like a staging folder",
        ".r.old-12x": "not a pid",
    }
    for name, text in mine.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text(text)
    stale = tmp_path / ".r.tmp-998"  # a killed run's staging folder: it holds the marker
    stale.mkdir()
    (stale / publish.STAGING_MARKER).write_bytes(publish.STAGING_MARK)
    write_report(ReportBundle(bundle.report, [], [], config))
    assert not stale.exists()
    for name, text in mine.items():
        assert (tmp_path / name / "notes.txt").read_text() == text
    assert publish.STAGING_MARKER not in {p.name for p in (tmp_path / "r").iterdir()}


def test_a_staging_name_taken_by_another_folder_is_refused(bundle, tmp_path):
    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    taken = tmp_path / f".r.tmp-{os.getpid()}"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="not made by this run"):
        write_report(ReportBundle(bundle.report, [], [], config))
    assert _tree(taken) == {"notes.txt": b"mine"} and not (tmp_path / "r").exists()


# ---- round 3: locks and temporaries follow no link -------------------------------------------------
@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_a_report_lock_that_is_a_link_is_refused(bundle, tmp_path, link):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = tmp_path / "out" / ".r.lock"
    lock.parent.mkdir()
    lock.symlink_to(victim) if link == "symbolic" else os.link(victim, lock)
    config = bundle.config.with_overrides(out=str(tmp_path / "out" / "r"))
    before = _tree(tmp_path)
    with pytest.raises(ParameterError, match="cannot be locked"):
        write_report(ReportBundle(bundle.report, [], [], config))
    assert victim.read_text() == "precious\n" and _tree(tmp_path) == before


def test_a_store_lock_that_is_a_symlink_is_refused(tmp_path):
    from surrogate import store

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / store.LOCK_NAME).symlink_to(victim)
    with pytest.raises(ParameterError, match="symbolic link"):
        with store.lock_folder(folder):
            pass
    assert victim.read_text() == "precious\n"


def test_a_temporary_name_that_is_a_symlink_is_never_written_through(tmp_path):
    from surrogate import store

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / f".part-00000.jsonl.tmp-{os.getpid()}").symlink_to(victim)
    with pytest.raises(ParameterError, match="already exists"):
        store.atomic_write(tmp_path / "part-00000.jsonl", b"new")
    assert victim.read_text() == "precious\n" and not (tmp_path / "part-00000.jsonl").exists()
    assert (tmp_path / f".part-00000.jsonl.tmp-{os.getpid()}").is_symlink()  # left as found


# ---- round 3: held-out labels -------------------------------------------------------------------
def _held_out_review(tmp_path: Path, test_labels, **settings) -> ReviewConfig:
    data = _small_csv(tmp_path / "data.csv")
    test = _small_csv(tmp_path / "later.csv", labels=test_labels)
    return ReviewConfig(
        **{**SMALL, **settings},
        data=str(data),
        target="risk",
        adverse_class="bad",
        test_data=str(test),
        out=str(tmp_path / "out"),
    )


def test_held_out_labels_the_training_data_never_has_are_refused(tmp_path):
    config = _held_out_review(tmp_path, ("Good", "Bad"))
    with pytest.raises(DataError, match=r"include 'Good' \(34 rows\), 'Bad' \(26 rows\)"):
        build_report(config)
    assert not (tmp_path / "out").exists()


def test_held_out_rows_without_the_adverse_class_are_refused(tmp_path):
    config = _held_out_review(tmp_path, ("good", "good"))
    with pytest.raises(DataError, match="adverse class 'bad' never occurs"):
        build_report(config)
    assert not (tmp_path / "out").exists()


# ---- round 3: settings with a bound, and lowered safeguards said as findings ----------------------
@pytest.mark.parametrize("seed", [-1, 2**63 - 1, 2**32])
def test_a_seed_outside_the_split_s_range_is_refused(seed):
    with pytest.raises(ParameterError, match=r"seed must be an integer in \[0, 4294967295\]"):
        ReviewConfig(**SMALL, seed=seed).resolved()


def test_the_command_line_seed_is_refused_in_one_line(tmp_path, capsys):
    from surrogate.cli import main

    assert main(["report", "--seed", "-1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "seed must be an integer" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [-5.0, 1.5, float("nan")])
def test_a_min_fidelity_outside_zero_one_is_refused(value):
    with pytest.raises(ParameterError, match="min_fidelity"):
        ReviewConfig(**SMALL, min_fidelity=value).resolved()


@pytest.mark.parametrize("value, severity", [(0.3, "high"), (0.6, "medium"), (0.7, None)])
def test_a_lowered_min_fidelity_is_a_finding(bundle, value, severity):
    from surrogate.report import findings

    report = copy.deepcopy(bundle.report)
    report["fidelity"]["min_fidelity"] = value
    found = {f["kind"]: f for f in findings.findings(report, bundle.config.finding_cutoffs())}
    if severity is None:
        assert "min_fidelity_lowered" not in found
        return
    finding = found["min_fidelity_lowered"]
    assert finding["severity"] == severity and "safeguard" in finding["text"]
    # a review file's [findings] section cannot soften it: its cut-offs are fixed
    softened = {**bundle.config.finding_cutoffs(), "min_fidelity_lowered": (0.0, 0.0, "below")}
    again = {f["kind"]: f for f in findings.findings(report, softened)}
    assert again["min_fidelity_lowered"]["severity"] == severity


def test_held_out_rows_that_are_training_rows_are_counted_and_graded(bundle, tmp_path):
    from surrogate.report import findings

    data = _small_csv(tmp_path / "data.csv")
    config = ReviewConfig(
        **SMALL, data=str(data), target="risk", adverse_class="bad", test_data=str(data)
    ).resolved()
    loaded = problem.load_problem(config)
    overlap = loaded.split["training_overlap"]
    assert overlap["n"] == 60 and overlap["share"] == 1.0
    report = copy.deepcopy(bundle.report)
    report["data"]["split"] = {**loaded.split, "not_explained": None}
    (finding,) = [f for f in findings.findings(report) if f["kind"] == "training_overlap"]
    assert finding["severity"] == "high" and "60 of the 60 held-out rows" in finding["text"]
    # the demo's random split of German credit repeats no training row: no finding
    assert bundle.report["data"]["split"]["training_overlap"]["n"] == 0
    assert "training_overlap" not in {f["kind"] for f in bundle.report["findings"]["items"]}


def test_a_regression_target_too_large_to_square_is_refused(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["loss"] = 1e300 * (1 + frame["a"].abs())
    frame.to_csv(tmp_path / "d.csv", index=False)
    config = ReviewConfig(
        **SMALL, data=str(tmp_path / "d.csv"), target="loss", task="regression"
    ).with_overrides(train="logreg")
    with pytest.raises(DataError, match=r"beyond ±1e\+100 .*Rescale"):
        build_report(config.with_overrides(out=str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataError, match="prediction"):
        problem.check_magnitude(np.array([1.0, -2e100]), "The model's prediction")
