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
    {extra}
    print("contacted:", contacted)
    """
)


def run_workflow(extra: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("{extra}", extra)],
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


def test_workflow_contacts_nothing_beyond_loopback():
    result = run_workflow()
    assert result.returncode == 0, result.stderr
    assert "contacted: []" in result.stdout
