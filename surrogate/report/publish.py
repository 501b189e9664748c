"""Write a built review's output folder, all or nothing.

:func:`write_report` writes:

* ``report.html`` -- self-contained (no script, no external request);
* ``report.json`` -- every number;
* ``explanations.jsonl`` -- the local explanations of the chosen cases, lossless;
* ``reason_codes.csv`` -- reasons per declined case, neutralised against formula injection
  (not written for a regression review, which has no decision rule: :mod:`.regression`);
* ``review.toml`` -- the effective configuration, to rerun the review exactly;
* ``report.pdf`` -- when asked for and Chromium is installed.

Every file is rendered in memory into a staging folder beside the output folder, which is
then swapped into place.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ParameterError
from .document import ReportBundle, report_json
from .reason_csv import reason_codes_csv

#: what ``write_report`` writes (the PDF only when asked for)
ARTEFACTS = (
    "report.html",
    "report.json",
    "explanations.jsonl",
    "reason_codes.csv",
    "review.toml",
    "report.pdf",
)


# ---- writing ------------------------------------------------------------------------------------------------
def write_report(bundle: ReportBundle, *, pdf: bool | None = None) -> Path:
    """Write the output folder ``bundle.config.out`` (module doc); returns the path of ``report.html``.

    ``pdf`` overrides the configuration's ``pdf`` setting. Every file is rendered in memory,
    written to a temporary folder beside the output folder, flushed to disk, and the folder
    is then swapped into place: a run stopped at any point leaves either the previous
    complete report or the new one, never a mixture or a cut-off page. The output folder
    must be new or hold only a previous report's files. If Chromium cannot print the PDF,
    the report is written without it and the error is raised afterwards.
    """
    from ..store import atomic_write

    folder = bundle.config.out_path
    with publishing(folder) as staging:
        for name, data in render_files(bundle).items():
            atomic_write(staging / name, data)
        failure = None
        if bundle.config.pdf if pdf is None else pdf:
            failure = _print_pdf(staging)
    if failure is not None:
        raise type(failure)(f"{failure} The report was written to {folder} without report.pdf.")
    return folder / "report.html"


def render_files(bundle: ReportBundle) -> dict[str, bytes]:
    """Every file of the report folder but the PDF, rendered in memory.

    ``report.html`` states the SHA-256 of ``report.json`` (it is rendered from that very
    text), so a page can be matched with the document its numbers come from.
    """
    from .html import render_report_html

    document = report_json(bundle.report)
    files = {
        "report.json": document.encode("utf-8"),
        "explanations.jsonl": "".join(e.to_json() + "\n" for e in bundle.explanations).encode(
            "utf-8"
        ),
        "reason_codes.csv": reason_codes_csv(bundle.reasons).encode("utf-8"),
        "review.toml": bundle.config.to_toml().encode("utf-8"),
        "report.html": render_report_html(bundle.report).encode("utf-8"),
    }
    if bundle.config.task == "regression":  # no decision rule, so no reasons: no file
        del files["reason_codes.csv"]
    return files


def _print_pdf(staging: Path) -> Exception | None:
    from ..errors import SurrogateError
    from .pdf import html_to_pdf

    try:
        html_to_pdf(staging / "report.html", staging / "report.pdf")
    except SurrogateError as exc:
        (staging / "report.pdf").unlink(missing_ok=True)
        return exc
    return None


#: written inside every staging folder the review creates: cleanup removes only the
#: folders that hold it, under the exact names it gives them
STAGING_MARKER = ".surrogate-staging"
STAGING_MARK = b"A staging folder of a surrogate review; removed when its run ends.\n"


@contextmanager
def publishing(folder: Path) -> Iterator[Path]:
    """A fresh staging folder beside ``folder``, swapped into its place when the block ends.

    A second writer to the same folder is refused while one is at work; staging folders
    left by a killed run (``.<name>.tmp-<pid>`` and ``.<name>.old-<pid>`` holding
    :data:`STAGING_MARKER`) are removed, and nothing else. On an error inside the block
    nothing is published.
    """
    from ..store import hold_lock

    folder = folder.absolute()
    _check_report_folder(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with hold_lock(
        folder.parent / f".{folder.name}.lock", what=f"The report folder {str(folder)!r}"
    ):
        _remove_stale(folder)
        staging = _make_staging(folder.parent / f".{folder.name}.tmp-{os.getpid()}")
        try:
            yield staging
            (staging / STAGING_MARKER).unlink()  # the published folder holds the report only
            _fsync_dir(staging)
            _swap_into_place(staging, folder)
        finally:
            if staging.exists():
                shutil.rmtree(staging)


def _make_staging(path: Path) -> Path:
    """A new folder at ``path`` holding the marker that makes it ours to remove."""
    try:
        path.mkdir()
    except FileExistsError:
        raise ParameterError(
            f"{str(path)!r} already exists and was not made by this run; the review will not "
            "write into it nor remove it. Move it away and run again."
        ) from None
    _mark(path)
    return path


def _mark(path: Path) -> None:
    from ..store import open_new

    with os.fdopen(open_new(path / STAGING_MARKER), "wb") as fh:
        fh.write(STAGING_MARK)


def _check_report_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"--out must be a folder, got the existing file {str(folder)!r}.")
    if not folder.is_dir():
        return
    # a marker is left in the report folder only by a run stopped while replacing it
    others = sorted(
        p.name for p in folder.iterdir() if p.name not in (*ARTEFACTS, STAGING_MARKER)
    )
    if others:
        shown = others[:5] + (["..."] if len(others) > 5 else [])
        raise ParameterError(
            f"--out {str(folder)!r} holds files that are not a report's ({shown}); the report "
            "replaces its folder as a whole, so choose a new folder or a previous report's folder."
        )


def _remove_stale(folder: Path) -> None:
    """Staging and replaced folders of a killed run (the lock is held: none is in use)."""
    for path in folder.parent.iterdir():
        if is_stale_staging(path, folder.name):
            shutil.rmtree(path)


def is_stale_staging(path: Path, name: str) -> bool:
    """Whether ``path`` is a folder this library made beside the report folder ``name``:
    named exactly ``.<name>.tmp-<pid>`` or ``.<name>.old-<pid>``, a folder (not a link)
    holding the marker as a plain file."""
    if not re.fullmatch(re.escape(f".{name}.") + r"(tmp|old)-[0-9]+", path.name):
        return False
    try:
        folder = path.lstat()
        marker = (path / STAGING_MARKER).lstat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    return stat.S_ISDIR(folder.st_mode) and stat.S_ISREG(marker.st_mode)


def _swap_into_place(staging: Path, folder: Path) -> None:
    """Put ``staging`` at ``folder``: a rename when there is none, else an atomic exchange
    (Linux ``renameat2``), else two renames (a stop between them leaves the previous
    report beside, under ``.<name>.old-<pid>``)."""
    if not folder.exists():
        os.replace(staging, folder)
    elif _exchange(staging, folder):
        shutil.rmtree(staging)  # now holds the previous report
    else:  # pragma: no cover - filesystems without an atomic exchange
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        if not (folder / STAGING_MARKER).exists():  # a run stopped here may have left one
            _mark(folder)  # so that a run stopped before the next rename leaves it removable
        os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old)
    _fsync_dir(folder.parent)


#: renameat2 flag: swap the two paths atomically
_RENAME_EXCHANGE = 2


_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then nothing happened)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:  # pragma: no cover - glibc older than 2.28
        return False
    done = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if done == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
        return False
    raise OSError(errno, os.strerror(errno), str(second))


def _fsync_dir(folder: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be opened there
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
