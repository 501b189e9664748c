"""Dask execution of ``explain_many``, and explanations streamed to disk part by part.

Both functions split the queries into **partitions by row position** and run the
ordinary local :meth:`~surrogate.TabularExplainer.explain_many` on each one, so a
partition's explanations are exactly the ones a local run gives (a row's
explanation depends only on ``random_state`` and the row's own values, never on
its company). Results are put back in input order, with ``indices`` and
``failures`` mapped to the rows' positions in the whole input.

Partition sizes
---------------
:func:`explain_many_dask` uses ``partition_rows`` queries per task. The default is
one explainer block (``row_budget // n_samples`` queries: 20 at the defaults, so a
task makes the same batched model calls a local run would), made smaller when
that would leave a worker thread without at least two tasks.

:func:`explain_many_to` writes one part file per ``partition_rows`` queries
(default :data:`DEFAULT_STREAM_PARTITION_ROWS`); a Dask DataFrame is read one of
its own partitions at a time, each split further when it holds more than
``partition_rows`` rows.

The explainer (model included) and the surrogate family travel to the workers by
pickling (cloudpickle), once per call. Dask is imported lazily; without it these
functions raise :class:`~surrogate.errors.DependencyError` naming the ``dask`` extra.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import _version
from .errors import DataError, DataTypeError, ParameterError, UnknownOptionError, require
from .explanation import Explanation, ExplanationSet, Failure

#: queries per part file written by :func:`explain_many_to`, unless told otherwise
DEFAULT_STREAM_PARTITION_ROWS = 1000
#: part files are named ``part-00000.jsonl``, ``part-00001.jsonl``, ... in row order
PART_TEMPLATE = "part-{number:05d}.{ext}"
#: written last, once every part is on disk: rows, parts and failures of the whole run
MANIFEST_NAME = "manifest.json"
FORMATS = ("jsonl", "parquet")
ON_ERROR = ("raise", "record")

#: result of one partition: its explanations (positions local to it) and its row count
_PartResult = tuple[ExplanationSet, int]


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
    _check_on_error(on_error)
    _check_client(client)
    if partition_rows is None:
        partition_rows = default_partition_rows(explainer, len(frame), _worker_threads(client))
    size = _check_partition_rows(partition_rows)
    starts = list(range(0, len(frame), size))
    remote = _send_explainer(client, explainer)
    futures = [
        client.submit(
            _explain_piece, remote, frame.iloc[s : s + size], family, on_error, None, pure=False
        )
        for s in starts
    ]
    try:
        gathered = client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise
    return merge_parts(
        [(start, part) for start, parts in zip(starts, gathered, strict=True) for part, _ in parts]
    )


def explain_many_to(
    explainer: Any,
    X: Any,
    surrogate: Any = "linear",
    *,
    output: str | os.PathLike,
    format: Literal["jsonl", "parquet"] = "jsonl",
    client: Any = None,
    partition_rows: int | None = None,
    on_error: Literal["raise", "record"] = "raise",
    overwrite: bool = False,
    **params: Any,
) -> WrittenParts:
    """Explain every row of ``X`` and write the explanations to ``output``, part by part.

    Only a few partitions are held in memory at a time, so more queries can be
    explained than their explanations would fill. Each part is written to a hidden
    temporary name and renamed into place (``os.replace``), so a reader never sees
    half a part; :data:`MANIFEST_NAME` is written last, once every part is on disk.
    A run stopped by an error leaves its finished parts and no manifest.

    Parameters
    ----------
    explainer : TabularExplainer
    X : DataFrame, 2-D array or dask DataFrame
        A dask DataFrame is read one of its partitions at a time (on the workers
        when a ``client`` is given).
    surrogate : str or surrogate family object, default "linear"
    output : path
        Folder for ``part-00000.jsonl`` (or ``.parquet``), ``part-00001...`` and the manifest.
    format : {"jsonl", "parquet"}
        jsonl: one canonical JSON explanation per line (``ExplanationSet.to_jsonl``);
        parquet: the summary frame plus each explanation's JSON (``ExplanationSet.to_parquet``),
        with ``query_index`` the row's position in the whole input.
    client : distributed.Client, optional
        Run the partitions on a Dask cluster (a few in flight at a time); results
        are written here, in row order.
    partition_rows : int, optional
        Queries per part file (default :data:`DEFAULT_STREAM_PARTITION_ROWS`; for a dask
        DataFrame, default one part per partition of its own).
    on_error : {"raise", "record"}
        As in ``explain_many``; recorded failures go into the manifest, with global positions.
    overwrite : bool, default False
        Replace part files and the manifest left in ``output`` by an earlier run
        (other files are never touched); without it such files are an error.
    **params
        Surrogate parameters, as in ``explain_many`` (``max_features=5``...).

    Returns
    -------
    WrittenParts

    Examples
    --------
    >>> written = explain_many_to(explainer, X_queries, output="explanations")  # doctest: +SKIP
    >>> sum(1 for _ in read_parts("explanations")) == written.n_explained  # doctest: +SKIP
    True
    """
    from .surrogates import make_surrogate

    _check_on_error(on_error)
    if format not in FORMATS:
        raise UnknownOptionError(f"format must be one of {list(FORMATS)}, got {format!r}.")
    if format == "parquet":
        require("pyarrow", "report")
    if client is not None:
        require("distributed", "dask")
        _check_client(client)
    family = make_surrogate(surrogate, **params)
    folder = _prepare_output(output, overwrite)
    pieces, chunk_rows = _pieces(explainer, X, partition_rows)
    results: Iterator[list[_PartResult]]
    if client is None:
        results = (
            _explain_piece(explainer, _materialise(p), family, on_error, chunk_rows) for p in pieces
        )
    else:
        results = _run_remote(client, explainer, pieces, family, on_error, chunk_rows)
    written = _write_parts(folder, format, (part for parts in results for part in parts))
    if written.n_rows == 0:
        raise DataError("The query set is empty: there is nothing to explain.")
    _write_manifest(folder, written)
    return written


@dataclass(frozen=True)
class PartInfo:
    """One part file: its name, the position of its first row in the input, its counts."""

    file: str
    first_row: int
    n_rows: int
    n_explained: int


@dataclass(frozen=True)
class WrittenParts:
    """What :func:`explain_many_to` wrote: the parts in row order, counts, failures (global positions)."""

    output: str
    format: str
    parts: tuple[PartInfo, ...]
    n_rows: int
    n_explained: int
    failures: tuple[Failure, ...]

    @property
    def files(self) -> list[Path]:
        """Paths of the part files, in row order (concatenated, they hold every explanation)."""
        return [Path(self.output) / part.file for part in self.parts]


def read_parts(output: str | os.PathLike) -> Iterator[Explanation]:
    """Read back, in row order, the explanations :func:`explain_many_to` wrote to ``output``."""
    folder = Path(output)
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise DataError(
            f"{folder} holds no {MANIFEST_NAME}: it is not a finished explain_many_to output "
            "(the run may have stopped part-way)."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["parts"]:
        path = folder / entry["file"]
        if manifest["format"] == "jsonl":
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    yield Explanation.from_json(line)
        else:
            import pandas as pd

            for text in pd.read_parquet(path, columns=["explanation_json"])["explanation_json"]:
                yield Explanation.from_json(text)


def default_partition_rows(explainer: Any, n_rows: int, n_threads: int) -> int:
    """Queries per Dask task: one explainer block, fewer when threads would sit idle."""
    block = max(1, explainer.blackbox.row_budget // explainer.n_samples)
    spread = max(1, -(-n_rows // (2 * max(1, n_threads))))  # at least two tasks per thread
    return min(block, spread)


def merge_parts(parts: Iterable[tuple[int, ExplanationSet]]) -> ExplanationSet:
    """One ExplanationSet from partitions given as (first row position, partition result)."""
    explanations: list[Explanation] = []
    indices: list[int] = []
    failures: list[Failure] = []
    for start, part in parts:
        explanations += list(part)
        indices += [start + i for i in part.indices]
        failures += [dataclasses.replace(f, index=start + f.index) for f in part.failures]
    return ExplanationSet(explanations, indices=indices, failures=failures)


# ---- the work each partition does (locally or on a worker) ---------------------------------------
def _explain_piece(
    explainer: Any, frame: Any, family: Any, on_error: str, chunk_rows: int | None
) -> list[_PartResult]:
    """Explain one piece in chunks of ``chunk_rows`` (all at once when None)."""
    n = len(frame)
    size = chunk_rows or max(1, n)
    return [
        (
            explainer.explain_many(frame.iloc[s : s + size], family, on_error=on_error),
            min(size, n - s),
        )
        for s in range(0, n, size)
    ]


def _pieces(explainer: Any, X: Any, partition_rows: int | None) -> tuple[Iterable[Any], int | None]:
    """The input as pieces (pandas frames, or dask delayed partitions) and the rows per part."""
    if _is_dask_frame(X):
        size = None if partition_rows is None else _check_partition_rows(partition_rows)
        return X.to_delayed(), size
    size = _check_partition_rows(
        DEFAULT_STREAM_PARTITION_ROWS if partition_rows is None else partition_rows
    )
    frame = explainer.schema.to_frame(X)
    return (frame.iloc[s : s + size] for s in range(0, len(frame), size)), None


def _materialise(piece: Any) -> Any:
    return piece.compute() if hasattr(piece, "compute") else piece


def _run_remote(
    client, explainer, pieces, family, on_error, chunk_rows
) -> Iterator[list[_PartResult]]:
    """Results in piece order, with a bounded number of pieces in flight."""
    remote = _send_explainer(client, explainer)
    window = 2 * _worker_threads(client)
    pending: deque = deque()
    try:
        for piece in pieces:
            data = client.compute(piece) if hasattr(piece, "compute") else piece
            pending.append(
                client.submit(
                    _explain_piece, remote, data, family, on_error, chunk_rows, pure=False
                )
            )
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        if pending:
            client.cancel(list(pending))


# ---- writing ---------------------------------------------------------------------------------------
def _prepare_output(output: Any, overwrite: bool) -> Path:
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"output must be a folder, got the existing file {str(folder)!r}.")
    folder.mkdir(parents=True, exist_ok=True)
    leftovers = sorted(p for p in folder.iterdir() if _is_ours(p.name))
    if leftovers and not overwrite:
        shown = [p.name for p in leftovers[:5]] + (["..."] if len(leftovers) > 5 else [])
        raise ParameterError(
            f"output folder {str(folder)!r} already holds part files from an earlier run ({shown}); "
            "choose an empty folder or pass overwrite=True to replace them."
        )
    for path in leftovers:
        path.unlink()
    return folder


def _is_ours(name: str) -> bool:
    stem, _, ext = name.partition(".")
    return name == MANIFEST_NAME or (
        stem.startswith("part-") and stem[5:].isdigit() and ext in FORMATS
    )


def _write_parts(folder: Path, format: str, parts: Iterable[_PartResult]) -> WrittenParts:
    infos: list[PartInfo] = []
    failures: list[Failure] = []
    n_rows = 0
    for part, rows in parts:
        if rows == 0:
            continue
        placed = merge_parts([(n_rows, part)])
        name = PART_TEMPLATE.format(number=len(infos), ext=format)
        _atomic_write(folder / name, placed, format)
        infos.append(PartInfo(file=name, first_row=n_rows, n_rows=rows, n_explained=len(placed)))
        failures += placed.failures
        n_rows += rows
    return WrittenParts(
        output=str(folder),
        format=format,
        parts=tuple(infos),
        n_rows=n_rows,
        n_explained=sum(p.n_explained for p in infos),
        failures=tuple(failures),
    )


def _atomic_write(path: Path, part: ExplanationSet, format: str) -> None:
    """Write to a hidden temporary name in the same folder, then rename into place."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    writers: dict[str, Callable[[Any], Any]] = {"jsonl": part.to_jsonl, "parquet": part.to_parquet}
    try:
        writers[format](temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _write_manifest(folder: Path, written: WrittenParts) -> None:
    document = {
        "library_version": _version.__version__,
        "format": written.format,
        "n_rows": written.n_rows,
        "n_explained": written.n_explained,
        "parts": [dataclasses.asdict(p) for p in written.parts],
        "failures": [dataclasses.asdict(f) for f in written.failures],
    }
    path = folder / MANIFEST_NAME
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(document, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


# ---- checks and Dask helpers ------------------------------------------------------------------------
def _check_on_error(on_error: Any) -> None:
    if on_error not in ON_ERROR:
        raise UnknownOptionError(f"on_error must be 'raise' or 'record', got {on_error!r}.")


def _check_partition_rows(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ParameterError(f"partition_rows must be a positive integer, got {size!r}.")
    return int(size)


def _check_client(client: Any) -> None:
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


def _is_dask_frame(X: Any) -> bool:
    return (
        type(X).__module__.startswith("dask") and hasattr(X, "to_delayed") and hasattr(X, "columns")
    )


__all__ = [
    "explain_many_dask",
    "explain_many_to",
    "read_parts",
    "WrittenParts",
    "PartInfo",
    "default_partition_rows",
    "merge_parts",
    "DEFAULT_STREAM_PARTITION_ROWS",
    "MANIFEST_NAME",
    "PART_TEMPLATE",
]
