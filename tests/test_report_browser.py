"""The report in a real headless browser: renders, no console errors, no requests, not blank.

Uses Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` through selenium
(never a downloaded browser); skipped with the reason when either is missing. The
browser only ever opens a local file.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from surrogate.report.pdf import QUIET_CHROMIUM_FLAGS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's /usr/bin/chromium is not installed"),
    pytest.mark.skipif(
        not CHROMEDRIVER.exists(), reason="Debian's /usr/bin/chromedriver is not installed"
    ),
]

#: schemes of the browser's own pages (its new-tab page loads before ours): not requests of the report
_INTERNAL = ("chrome://", "chrome-untrusted://", "devtools://", "about:", "chrome-extension://")


@pytest.fixture(scope="module")
def report_folder(small_review):
    """The test run's shared small review, as written (tests/conftest.py)."""
    return small_review.config.out_path


@pytest.fixture(scope="module")
def driver():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="surrogate-browser-test-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        *QUIET_CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--window-size=1200,1600",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        # let the browser's own start-up page finish loading (it fetches a data: image),
        # so that a test's request log holds only what the report asks for
        browser.get("about:blank")
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [u for u in urls if not u.startswith(_INTERNAL)]


def _colours(png: bytes) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16)
    return len(colours) if colours is not None else 1 << 16


def test_report_renders_without_errors_or_requests(driver, report_folder):
    page = (report_folder / "report.html").resolve()
    driver.get_log("performance")  # drop what the browser did before opening the report
    driver.get(page.as_uri())
    assert driver.find_element("tag name", "h1").text.startswith("Model-risk review")
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not errors, errors
    assert _requests(driver) == [page.as_uri()]
    assert driver.execute_script("return document.scripts.length") == 0
    assert driver.execute_script("return document.querySelectorAll('svg').length") >= 3
    png = driver.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG") and _colours(png) > 1


def test_findings_and_a_waterfall_per_case_are_rendered(driver, report_folder):
    page = (report_folder / "report.html").resolve()
    report = json.loads((report_folder / "report.json").read_text(encoding="utf-8"))
    driver.get_log("performance")
    driver.get(page.as_uri())
    findings = driver.find_element("id", "findings")
    assert findings.location["y"] < driver.find_element("id", "scope").location["y"]
    rows = findings.find_elements("css selector", "tr.finding")
    assert len(rows) == len(report["findings"]["items"]) >= 5
    for row, item in zip(rows, report["findings"]["items"], strict=True):
        assert row.find_element("css selector", "td span").text == item["severity"]
        assert item["title"] in row.text and row.size["height"] > 0
    cases = driver.find_elements("css selector", "#local ~ .case")
    assert len(cases) == len(report["local"]["cases"]) == 3
    for case in cases:
        (waterfall,) = case.find_elements("css selector", ".waterfall svg")
        assert waterfall.size["width"] > 100 and waterfall.size["height"] > 60
    assert len(driver.find_elements("css selector", "table.subgroup")) == 3
    assert _requests(driver) == [page.as_uri()]  # the CSP still forbids every request
    csp = driver.execute_script(
        "return document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content"
    )
    assert csp.startswith("default-src 'none'")


def test_drawings_have_size(driver, report_folder):
    driver.get((report_folder / "report.html").resolve().as_uri())
    sizes = driver.execute_script(
        "return Array.from(document.querySelectorAll('.drawing svg')).map(s => s.getBoundingClientRect().width)"
    )
    assert sizes and all(width > 100 for width in sizes)
    # an additive case's shapes keep their drawn width in their narrow table cells
    shapes = driver.execute_script(
        "return Array.from(document.querySelectorAll('td.shape svg')).map(s => s.getBoundingClientRect().width)"
    )
    assert all(width >= 150 for width in shapes)


def test_pdf_is_printed(report_folder, tmp_path):
    from surrogate.report.pdf import html_to_pdf

    pdf = html_to_pdf(report_folder / "report.html", tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
