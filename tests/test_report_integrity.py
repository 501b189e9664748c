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

from surrogate.errors import ModelError, ParameterError
from surrogate.report import ReviewConfig, build_report, builder, problem, write_report
from surrogate.report.problem import load_model

#: a review small enough to build in seconds
SMALL = dict(
    train="logreg",
    n_samples=300,
    max_cases=3,
    fidelity_survey=8,
    sensitivity_cases=1,
    sensitivity_widths=[2.0],
    sensitivity_n_samples=[200],
    global_augment=0,
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("integrity") / "review"
    return build_report(ReviewConfig(**SMALL, out=str(out)))


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
    with pytest.raises(ParameterError, match="strictly between 0 and 1"):
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
    return builder.ReportBundle(report, bundle.explanations, bundle.reasons, bundle.config)


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


def test_the_html_states_the_digest_of_its_json(bundle, tmp_path):
    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    html = write_report(builder.ReportBundle(bundle.report, [], [], config))
    digest = hashlib.sha256((html.parent / "report.json").read_bytes()).hexdigest()
    text = html.read_text(encoding="utf-8")
    assert f'<meta name="report-json-sha256" content="{digest}">' in text
    assert f'<td class="mono">{digest}</td>' in text


def test_a_failure_while_rendering_leaves_the_previous_report(bundle, tmp_path, monkeypatch):
    config = bundle.config.with_overrides(out=str(tmp_path / "r"))
    first = builder.ReportBundle(bundle.report, bundle.explanations, bundle.reasons, config)
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
    first = builder.ReportBundle(bundle.report, bundle.explanations, bundle.reasons, config)
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
    first = builder.ReportBundle(bundle.report, bundle.explanations, bundle.reasons, config)
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
        write_report(builder.ReportBundle(bundle.report, [], [], config))
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
    html = write_report(builder.ReportBundle(bundle.report, [], [], config))
    code = (
        "import sys; from pathlib import Path; from surrogate.report.pdf import html_to_pdf; "
        "html_to_pdf(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    out = tmp_path / "report.pdf"
    attempts = _attempts([sys.executable, "-c", code, str(html), str(out)], tmp_path)
    assert out.read_bytes().startswith(b"%PDF")
    assert attempts == [], f"{pdf.find_browser()} attempted: {attempts[:5]}"
