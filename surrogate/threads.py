"""Native thread pools (BLAS, OpenMP) held to one thread, their libraries found once per process.

``threadpoolctl.threadpool_limits`` looks for the loaded libraries on every call, which
takes milliseconds: paid per fit, that was a visible share of a single explanation. A
process's libraries are found once here (numpy's BLAS and the rest are loaded by the
time anything is fitted) and every limit reuses them.
"""

from __future__ import annotations

import functools
from typing import Any


def one_thread(user_api: str | None = None) -> Any:
    """A context holding the loaded native thread pools (or only ``user_api``'s, such as
    "blas") to one thread."""
    return _controller().limit(limits=1, user_api=user_api)


@functools.cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
