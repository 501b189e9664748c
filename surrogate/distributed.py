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
#: written first: what this run is (explainer, surrogate, input digest, part size), so
#: ``resume=True`` only ever continues the very same run
RUN_NAME = "run.json"
#: beside each part, written after it: its row span, counts and failures
INFO_TEMPLATE = "part-{number:05d}.info.json"
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
    resume: bool = False,
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
    resume : bool, default False
        Continue a run that was stopped (even killed): parts already on disk are kept
        and not recomputed, the rest are written. Part boundaries are fixed by row
        position, and ``run.json`` must describe the same run (explainer, surrogate,
        input rows, part size, format), otherwise resuming is refused. In-memory
        inputs only (not a dask DataFrame).
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
    if resume and (overwrite or _is_dask_frame(X)):
        raise ParameterError(
            "resume=True continues an earlier run of in-memory rows; it cannot be combined with "
            "overwrite=True nor with a dask DataFrame input."
        )
    pieces, chunk_rows = _pieces(explainer, X, partition_rows)
    record = (
        None
        if _is_dask_frame(X)
        else _run_record(explainer, X, family, format, partition_rows, on_error)
    )
    if resume:
        folder, done = _resumable(output, record)
    else:
        folder, done = _prepare_output(output, overwrite), {}
        if record is not None:
            _atomic_text(folder / RUN_NAME, json.dumps(record, indent=1, sort_keys=True))
    pieces = (None if i in done else p for i, p in enumerate(pieces))
    results: Iterator[list[_PartResult] | None]
    if client is None:
        results = (
            None
            if p is None
            else _explain_piece(explainer, _materialise(p), family, on_error, chunk_rows)
            for p in pieces
        )
    else:
        results = _run_remote(client, explainer, pieces, family, on_error, chunk_rows)
    written = _write_parts(folder, format, results, done)
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
) -> Iterator[list[_PartResult] | None]:
    """Results in piece order, with a bounded number of pieces in flight."""
    remote = _send_explainer(client, explainer)
    window = 2 * _worker_threads(client)
    pending: deque = deque()
    try:
        for piece in pieces:
            if piece is None:  # finished by an earlier, resumed run
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


def _result(future: Any) -> list[_PartResult] | None:
    return None if future is None else future.result()


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
    return name in (MANIFEST_NAME, RUN_NAME) or (
        stem.startswith("part-") and stem[5:].isdigit() and ext in (*FORMATS, "info.json")
    )


def _write_parts(
    folder: Path, format: str, results: Iterable[list[_PartResult] | None], done: dict[int, dict]
) -> WrittenParts:
    """Write each piece's parts in row order; a piece given as None was finished earlier."""
    infos: list[PartInfo] = []
    failures: list[Failure] = []
    n_rows = 0
    for parts in results:
        if parts is None:  # resumed: this part is already on disk, with its info
            record = done[len(infos)]
            infos.append(PartInfo(**record["part"]))
            failures += [Failure(**f) for f in record["failures"]]
            n_rows += infos[-1].n_rows
            continue
        for part, rows in parts:
            if rows == 0:
                continue
            placed = merge_parts([(n_rows, part)])
            number = len(infos)
            name = PART_TEMPLATE.format(number=number, ext=format)
            _atomic_write(folder / name, placed, format)
            info = PartInfo(file=name, first_row=n_rows, n_rows=rows, n_explained=len(placed))
            _atomic_text(
                folder / INFO_TEMPLATE.format(number=number),
                json.dumps(
                    {
                        "part": dataclasses.asdict(info),
                        "failures": [dataclasses.asdict(f) for f in placed.failures],
                    },
                    sort_keys=True,
                ),
            )
            infos.append(info)
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


def _atomic_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _run_record(explainer, X, family, format: str, partition_rows, on_error: str) -> dict[str, Any]:
    """What identifies a streamed run: resuming is allowed only into the same one."""
    import hashlib

    values = explainer.schema.encode(X)
    return {
        "library_version": _version.__version__,
        "format": format,
        "partition_rows": partition_rows or DEFAULT_STREAM_PARTITION_ROWS,
        "on_error": on_error,
        "n_rows": int(len(values)),
        "input_sha256": hashlib.sha256(values.tobytes()).hexdigest(),
        "schema_fingerprint": explainer.schema_fingerprint,
        "model_fingerprint": explainer.model_fingerprint,
        "sampler": explainer.sampler.params(),
        "kernel": [explainer.kernel, explainer.kernel_width],
        "link": explainer.link,
        "sampling": explainer.sampling_plan(),
        "random_state_entropy": str(explainer.root.entropy),
        "surrogate": {"family": family.name, **family.params()},
    }


def _resumable(output: Any, record: dict[str, Any] | None) -> tuple[Path, dict[int, dict]]:
    """The folder of a stopped run, checked to be this run, and its finished parts."""
    folder = Path(output)
    run_path = folder / RUN_NAME
    if not run_path.is_file():
        raise ParameterError(
            f"Cannot resume: {str(folder)!r} holds no {RUN_NAME} from an earlier run."
        )
    earlier = json.loads(run_path.read_text(encoding="utf-8"))
    differing = sorted(
        k for k in set(earlier) | set(record or {}) if earlier.get(k) != (record or {}).get(k)
    )
    if differing:
        raise ParameterError(
            f"Cannot resume into {str(folder)!r}: the earlier run differs in {differing}; "
            "resume with exactly the same explainer, surrogate, rows and part size, or start afresh."
        )
    done: dict[int, dict] = {}
    number = 0
    while (folder / INFO_TEMPLATE.format(number=number)).is_file():
        info = json.loads(
            (folder / INFO_TEMPLATE.format(number=number)).read_text(encoding="utf-8")
        )
        if not (folder / info["part"]["file"]).is_file():
            break
        done[number] = info
        number += 1
    for leftover in folder.iterdir():  # parts past the last finished one are recomputed
        if (
            _is_ours(leftover.name)
            and leftover.name != RUN_NAME
            and _part_number(leftover.name) >= number
        ):
            leftover.unlink()
    return folder, done


def _part_number(name: str) -> int:
    digits = name[5:10]
    return int(digits) if name.startswith("part-") and digits.isdigit() else -1


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
    _atomic_text(folder / MANIFEST_NAME, json.dumps(document, indent=1, sort_keys=True))


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
