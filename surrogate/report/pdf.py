"""Print a report's HTML to PDF with headless Chromium (no network, throwaway profile)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import DependencyError, SurrogateError

#: browsers tried, in order
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: seconds Chromium may take to print
PDF_TIMEOUT = 120


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


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


def chromium_command(browser: str, html: Path, pdf: Path, profile: str) -> list[str]:
    """The headless print command."""
    return [
        browser,
        "--headless",
        *QUIET_CHROMIUM_FLAGS,
        "--no-pdf-header-footer",
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf}",
        html.resolve().as_uri(),
    ]


def html_to_pdf(html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf``; a clear :class:`DependencyError` when Chromium is missing."""
    browser = find_browser()
    if browser is None:
        raise DependencyError(
            f"--pdf needs Chromium to print the report, and none was found on PATH (tried {list(BROWSERS)}). "
            f"The HTML report was written to {html}; install Chromium (apt-get install chromium) "
            "or print that file from a browser."
        )
    with tempfile.TemporaryDirectory(prefix="surrogate-chromium-") as profile:
        try:
            done = subprocess.run(
                chromium_command(browser, html, pdf, profile),
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
