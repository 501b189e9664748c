"""Model-risk review reports: one self-contained HTML page plus JSON, JSONL and CSV artefacts.

>>> from surrogate.report import ReviewConfig, build_report, write_report  # doctest: +SKIP
>>> write_report(build_report(ReviewConfig(out="reports/german-credit-gbm")))  # doctest: +SKIP
"""

from .builder import build_report
from .config import ReviewConfig
from .document import REPORT_SCHEMA_VERSION, ReportBundle
from .html import render_report_html
from .publish import write_report

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "ReportBundle",
    "ReviewConfig",
    "build_report",
    "render_report_html",
    "write_report",
]
