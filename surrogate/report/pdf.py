"""Print a report's HTML to PDF with headless Chromium, which is started so that it cannot
reach any host.

* The old headless shell (``chromium-headless-shell``) is preferred: it has none of the
  browser's own services (update checks, account lookups, network time), so printing
  a local file makes no request at all.
* Every browser is started with host-resolver rules that map every host name to
  "not found" (nothing can be resolved, so nothing can be fetched), with no proxy
  (no system proxy, PAC script or proxy discovery is consulted), and with a fresh
  throwaway profile.
* Where the system allows unprivileged user and network namespaces (``unshare``), the
  browser runs in a new network namespace holding only a loopback interface: whatever
  it attempts, no packet can leave the machine.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import DependencyError, SurrogateError

#: browsers tried, in order: the headless shell first (module doc)
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
#: seconds Chromium may take to print
PDF_TIMEOUT = 120

#: flags for a quiet headless Chromium: no GPU, no first-run, no background or component traffic
QUIET_CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
)
#: flags that leave the browser no way to a host: no name resolves, no proxy is consulted
OFFLINE_CHROMIUM_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--no-proxy-server",
)
#: runs a command in new user and network namespaces (only a loopback interface inside)
NETWORK_NAMESPACE = ("unshare", "--user", "--map-root-user", "--net")


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_command(browser: str, html: Path, pdf: Path, profile: str) -> list[str]:
    """The headless print command (without the network namespace, see :func:`isolated`)."""
    return [
        browser,
        "--headless",
        *QUIET_CHROMIUM_FLAGS,
        *OFFLINE_CHROMIUM_FLAGS,
        "--no-pdf-header-footer",
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf}",
        html.resolve().as_uri(),
    ]


def isolated(command: list[str]) -> list[str]:
    """``command`` run in a new network namespace where the system allows it, else as it is."""
    return [*NETWORK_NAMESPACE, *command] if network_namespace_available() else command


@functools.lru_cache(maxsize=1)
def network_namespace_available() -> bool:
    """Whether unprivileged user and network namespaces can be created here."""
    if shutil.which(NETWORK_NAMESPACE[0]) is None:
        return False
    try:
        done = subprocess.run(
            [*NETWORK_NAMESPACE, "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def html_to_pdf(html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf``; a clear :class:`DependencyError` when Chromium is missing."""
    browser = find_browser()
    if browser is None:
        raise DependencyError(
            f"--pdf needs Chromium to print the report, and none was found on PATH (tried {list(BROWSERS)}). "
            "Install it (apt-get install chromium-headless-shell, or chromium), or print "
            "report.html from a browser."
        )
    with tempfile.TemporaryDirectory(prefix="surrogate-chromium-") as profile:
        try:
            done = subprocess.run(
                isolated(chromium_command(browser, html, pdf, profile)),
                capture_output=True,
                text=True,
                timeout=PDF_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SurrogateError(
                f"Chromium did not print {html} to PDF within {PDF_TIMEOUT} s."
            ) from exc
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise SurrogateError(
            f"Chromium could not print {html} to PDF (exit code {done.returncode}): {done.stderr.strip()[-800:]}"
        )
    return pdf
