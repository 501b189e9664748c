"""Progress bars over queries: shown on a terminal or in a notebook, quiet otherwise.

``progress=None`` (automatic) shows a bar over more than one query when someone
is watching: stderr is a terminal, or the code runs in a Jupyter kernel (where
``tqdm.auto`` draws a notebook widget; ipywidgets comes with the ``notebook``
extra). ``True`` always shows one, ``False`` never. The bar advances per block
of queries scored together.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import require


@contextmanager
def progress_bar(progress: bool | None, n_rows: int | None) -> Iterator[Any]:
    """A bar over ``n_rows`` queries, or an object that ignores updates."""
    if not shows_progress(progress, n_rows):
        yield NoBar()
        return
    tqdm = require("tqdm.auto", "report").tqdm
    with tqdm(total=n_rows, unit="query", desc="explaining", file=sys.stderr) as bar:
        yield bar


def shows_progress(progress: bool | None, n_rows: int | None) -> bool:
    if progress is not None:
        return progress
    if n_rows is not None and n_rows <= 1:
        return False
    if not (stderr_is_terminal() or in_notebook()):
        return False
    return importlib.util.find_spec("tqdm") is not None  # automatic: quiet without tqdm


def row_count(X: Any) -> int | None:
    """Rows in a query input, for a progress total; None when counting would compute (dask)."""
    if type(X).__module__.startswith("dask"):
        return None
    shape = getattr(X, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) == 2 else 1
    if isinstance(X, Mapping):
        return 1
    try:
        return len(X)
    except TypeError:
        return None


def stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def in_notebook() -> bool:
    """True inside a Jupyter kernel (checked without importing IPython)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class NoBar:
    """Stands in for a progress bar that is not shown."""

    def update(self, n: int = 1) -> None:
        return None
