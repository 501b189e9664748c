"""No connection beyond loopback anywhere in the library (DESIGN invariant 6).

An audit hook on ``socket.connect`` (and ``socket.getaddrinfo``) refuses any
non-loopback address; the whole workflow then runs in a subprocess, since audit
hooks cannot be removed once installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import ipaddress, socket, sys

    contacted = []

    def is_loopback(host):
        if host in ("localhost", "", None):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def hook(event, args):
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and not is_loopback(address[0]):
                contacted.append(address)
                raise ConnectionRefusedError(f"non-loopback connection attempted: {address}")
        if event == "socket.getaddrinfo" and not is_loopback(args[0]):
            contacted.append(args[0])
            raise ConnectionRefusedError(f"name lookup attempted: {args[0]}")

    sys.addaudithook(hook)

    import surrogate as sg
    from surrogate.demo import german_credit_model
    X, y = sg.datasets.load_german_credit()
    X, y = X.iloc[:400], y.iloc[:400]
    model = german_credit_model(X, y)
    explainer = sg.TabularExplainer(model, X, target="bad", n_samples=300)
    explainer.explain(X.iloc[0])
    explainer.explain_many(X.iloc[:4], "tree", max_depth=2)
    explainer.explain_many(X.iloc[:2], "rules", max_rules=3)
    explainer.explain_global(X, "tree", max_depth=2)
    if REPORT_DIR:
        from surrogate.cli import main
        config = REPORT_DIR + "/small.toml"
        open(config, "w").write(SMALL)
        assert main(["report", "--config", config, "--out", REPORT_DIR + "/review"]) == 0
    {extra}
    print("contacted:", contacted)
    """
)


SMALL_REVIEW = """
[cases]
max_cases = 2
[explanation]
n_samples = 300
[analysis]
fidelity_survey = 10
sensitivity_cases = 1
sensitivity_widths = [2.0]
sensitivity_n_samples = [200]
global_augment = 0
"""


def run_workflow(extra: str = "", report_dir: str = "") -> subprocess.CompletedProcess:
    prelude = f"REPORT_DIR = {report_dir!r}\nSMALL = {SMALL_REVIEW!r}\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + SCRIPT.replace("{extra}", extra)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_hook_catches_a_real_attempt():
    """The audit hook is live: a deliberate outside connection is caught."""
    result = run_workflow(
        "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=0.1)\nexcept OSError:\n    pass"
    )
    assert result.returncode == 0, result.stderr
    assert "192.0.2.1" in result.stdout


def test_workflow_contacts_nothing_beyond_loopback(tmp_path):
    result = run_workflow(report_dir=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "contacted: []" in result.stdout
    assert (tmp_path / "review" / "report.html").is_file()
