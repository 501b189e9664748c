"""Dask execution of ``explain_many``, and of the parts of a streamed run.

:func:`explain_many_dask` splits the queries into **partitions by row position** and
runs the ordinary local :meth:`~surrogate.TabularExplainer.explain_many` on each one,
so a partition's explanations are exactly the ones a local run gives (a row's
explanation depends only on ``random_state`` and the row's own values, never on
its company). Results are put back in input order, with ``indices`` and
``failures`` mapped to the rows' positions in the whole input.

Partition sizes
---------------
:func:`explain_many_dask` uses ``partition_rows`` queries per task. The default is
one explainer block (``row_budget // n_samples`` queries: 20 at the defaults, so a
task makes the same batched model calls a local run would), made smaller when
that would leave a worker thread without at least two tasks.

A dask DataFrame given to ``explain_many(X, client=client)`` is explained partition by
partition (:func:`explain_dask_frame`): each partition is computed on the cluster and
explained by a task there, a few in flight at a time, and the explanations come back
in row order. Streamed output (:func:`surrogate.store.explain_many_to` with
``client=``) sends its parts here too (:func:`explain_pieces_remote`) and writes them
in row order as they come back.

The explainer (model included) and the surrogate family travel to the workers by
pickling (cloudpickle), once per call. Dask is imported lazily; without it these
functions raise :class:`~surrogate.errors.DependencyError` naming the ``dask`` extra.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from ..errors import DataTypeError, require
from ..explanation import ExplanationSet
from .parts import (
    check_on_error,
    check_partition_rows,
    merge_parts,
    split_piece,
)

#: one part of a streamed run as explained on a worker: explanations, row count, rows' digest
_PartResult = tuple[ExplanationSet, int, str]


# ---- public API ------------------------------------------------------------------------------
def explain_many_dask(
    explainer: Any,
    frame: Any,
    family: Any,
    *,
    client: Any,
    on_error: Literal["raise", "record"] = "raise",
    partition_rows: int | None = None,
) -> ExplanationSet:
    """Explain every row of ``frame`` on a ``dask.distributed`` cluster.

    Called by ``explainer.explain_many(X, surrogate, client=client)``; the
    explanations equal the local ones, row for row.

    Parameters
    ----------
    explainer : TabularExplainer
        Sent to the workers once (pickled, model included).
    frame : DataFrame
        The queries, already in the explainer's schema order.
    family : surrogate family object
        As returned by ``surrogate.surrogates.make_surrogate``.
    client : distributed.Client
    on_error : {"raise", "record"}
        As in ``explain_many``; a raised error is re-raised here, the other tasks cancelled.
    partition_rows : int, optional
        Queries per task; see the module documentation for the default.

    Returns
    -------
    ExplanationSet
        In input order; ``indices`` and ``failures`` hold positions in ``frame``.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, processes=True) as cluster, Client(cluster) as client:
    ...     many = explainer.explain_many(X_queries, client=client)  # doctest: +SKIP
    """
    require("distributed", "dask")
    check_on_error(on_error)
    check_client(client)
    if partition_rows is None:
        partition_rows = default_partition_rows(explainer, len(frame), _worker_threads(client))
    size = check_partition_rows(partition_rows)
    starts = list(range(0, len(frame), size))
    remote = _send_explainer(client, explainer)
    futures = [
        client.submit(
            _explain_frame, remote, frame.iloc[s : s + size], family, on_error, pure=False
        )
        for s in starts
    ]
    try:
        gathered = client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise
    return merge_parts(list(zip(starts, gathered, strict=True)))


def explain_dask_frame(
    explainer: Any,
    X: Any,
    family: Any,
    *,
    client: Any,
    on_error: Literal["raise", "record"] = "raise",
) -> ExplanationSet:
    """Every row of the dask DataFrame ``X``, each partition explained on the cluster
    where it is computed (never gathered here first); in row order, ``indices`` and
    ``failures`` holding positions in the whole frame. The explanations equal a local
    run's on the computed frame."""
    require("distributed", "dask")
    check_on_error(on_error)
    check_client(client)
    parts: list[tuple[int, ExplanationSet]] = []
    start = 0
    for piece in explain_pieces_remote(
        client, explainer, X.to_delayed(), family, on_error, chunk_rows=None
    ):
        for explained, n_rows, _ in piece or []:
            parts.append((start, explained))
            start += n_rows
    return merge_parts(parts)


def default_partition_rows(explainer: Any, n_rows: int, n_threads: int) -> int:
    """Queries per Dask task: one explainer block, fewer when threads would sit idle."""
    block = max(1, explainer.blackbox.row_budget // explainer.n_samples)
    spread = max(1, -(-n_rows // (2 * max(1, n_threads))))  # at least two tasks per thread
    return min(block, spread)


def explain_pieces_remote(
    client: Any,
    explainer: Any,
    pieces: Iterable[Any],
    family: Any,
    on_error: str,
    chunk_rows: int | None,
) -> Iterator[list[_PartResult] | None]:
    """The parts of each piece (a frame or a dask partition), explained on the workers.

    Yields, in piece order, each piece's parts as (explanations, rows, rows' digest),
    or None for a piece given as None (finished by an earlier run). At most two pieces
    per worker thread are in flight; on an error the rest are cancelled.
    """
    require("distributed", "dask")
    remote = _send_explainer(client, explainer)
    window = 2 * _worker_threads(client)
    pending: deque = deque()
    try:
        for piece in pieces:
            if piece is None:
                pending.append(None)
            else:
                data = client.compute(piece) if hasattr(piece, "compute") else piece
                pending.append(
                    client.submit(
                        _explain_piece, remote, data, family, on_error, chunk_rows, pure=False
                    )
                )
            if len(pending) >= window:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())
    finally:
        futures = [f for f in pending if f is not None]
        if futures:
            client.cancel(futures)


# ---- the work each task does on a worker -----------------------------------------------------
def _explain_frame(explainer: Any, frame: Any, family: Any, on_error: str) -> ExplanationSet:
    return explainer.explain_many(frame, family, on_error=on_error)


def _explain_piece(
    explainer: Any, frame: Any, family: Any, on_error: str, chunk_rows: int | None
) -> list[_PartResult]:
    """One piece's parts of ``chunk_rows`` rows (one part when None), each explained."""
    return [
        (explainer.explain_many(chunk, family, on_error=on_error), n, digest)
        for chunk, n, digest in split_piece(explainer, frame, chunk_rows)
    ]


def _result(future: Any) -> list[_PartResult] | None:
    return None if future is None else future.result()


# ---- checks and Dask helpers ------------------------------------------------------------------------
def check_client(client: Any) -> None:
    if not all(hasattr(client, name) for name in ("submit", "gather", "scatter", "nthreads")):
        raise DataTypeError(
            f"client must be a dask.distributed Client, got {type(client).__name__}."
        )


def _worker_threads(client: Any) -> int:
    return max(1, sum(client.nthreads().values()))


def _send_explainer(client: Any, explainer: Any) -> Any:
    """Pickle the explainer to every worker once, rather than once per task."""
    try:
        return client.scatter(explainer, broadcast=True, hash=False)
    except Exception as exc:  # pickling errors come in many types
        raise DataTypeError(
            f"The explainer could not be sent to the Dask workers ({type(exc).__name__}: {exc}); "
            "its model must be picklable (cloudpickle) to run there. Explain without client= instead."
        ) from exc


__all__ = [
    "explain_many_dask",
    "explain_dask_frame",
    "default_partition_rows",
    "explain_pieces_remote",
    "check_client",
]
